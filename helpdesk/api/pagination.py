from rest_framework.pagination import CursorPagination


class DefaultCursorPagination(CursorPagination):
    """Keyset pagination: page N costs the same as page 1 on millions of rows, and rows
    inserted while a client pages do not shift or repeat entries."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering: tuple[str, ...] = ("-id",)


class RecentFirstCursorPagination(DefaultCursorPagination):
    ordering = ("-received_at", "-id")
