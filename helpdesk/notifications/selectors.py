"""Reads of notifications: the badge's count (one query) and the list page."""

from django.db.models import QuerySet

from helpdesk.models import Notification, NotificationPreference

LIST_LIMIT = 100


def notifications_unread_count(*, user) -> int:
    """One COUNT on the partial index `notification_unread`."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notifications_for(*, user, unread_only: bool = False, limit: int = LIST_LIMIT) -> QuerySet[Notification]:
    """The user's latest notifications, newest first, with what the list shows joined in
    (a constant number of queries however many rows)."""
    rows = Notification.objects.filter(recipient=user).select_related("inquiry", "actor")
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    return rows.order_by("-created_at", "-id")[:limit]


def notification_wants_mail(*, user) -> bool:
    return NotificationPreference.objects.filter(user=user, email_copy=True).exists()
