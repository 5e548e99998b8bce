"""The public FAQ page (no login): published entries by category, searchable."""

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from faq.models import FaqCategory, FaqEntry
from faq.selectors import faq_entry_list_published


def faq_index(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:200]
    category = request.GET.get("category", "").strip()[:64]
    entries = faq_entry_list_published(q=q, category=category)
    page = Paginator(entries, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "faq/index.html",
        {
            "q": q,
            "category": category,
            "categories": FaqCategory.objects.order_by("order", "name"),
            "page": page,
            "total": page.paginator.count,
        },
    )


def faq_detail(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(FaqEntry.objects.select_related("category"), pk=pk, status=FaqEntry.Status.PUBLISHED)
    return render(request, "faq/detail.html", {"entry": entry})
