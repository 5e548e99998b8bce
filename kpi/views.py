"""Report pages: the evaluation table for a range of months with charts, CSV and XLSX."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from helpdesk.models import AuditEvent
from helpdesk.roles import can_read_kpi
from helpdesk.services.audit import audit_record
from kpi import selectors
from kpi.metrics import Month, month_range
from kpi.reports import chart, exports, table

MAX_MONTHS = 60


def _range(request) -> tuple[Month, Month]:
    now = timezone.localtime()
    current = Month(now.year, now.month)
    default_first = Month(current.fiscal_year, 4)
    try:
        first = Month.parse(request.GET.get("from") or str(default_first))
        last = Month.parse(request.GET.get("to") or str(current))
    except ValueError:
        first, last = default_first, current
    if last < first:
        first, last = last, first
    months = month_range(first, last)
    if len(months) > MAX_MONTHS:
        first = months[-MAX_MONTHS]
    return first, last


def _guard(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not can_read_kpi(request.user):
        raise PermissionDenied
    return None


def _rows(request):
    first, last = _range(request)
    data = selectors.kpi_months_get(first=first, last=last)
    return first, last, data, table.evaluation_rows(data)


def report(request):
    if (resp := _guard(request)) is not None:
        return resp
    first, last, data, rows = _rows(request)
    months = [m["month"] for m in data]
    labels = chart.axis_labels(months)
    context = {
        "first": str(first),
        "last": str(last),
        "columns": table.COLUMNS,
        "targets": [table.TARGET_LABELS[k] for _, k in table.COLUMNS],
        "rows": rows,
        "summary": table.half_year_summary(rows),
        "channel_chart": chart.inquiries_by_channel_svg(months, labels, [m["inquiries_by_channel"] for m in data]),
        "rate_chart": chart.answer_rate_svg(
            labels, [m["answer_rate"]["value"] for m in data], [m["answer_rate"]["target"] for m in data]
        ),
        "query": request.GET.urlencode(),
    }
    return render(request, "kpi/report.html", context)


def _download(request, content: bytes, content_type: str, ext: str, first: Month, last: Month):
    audit_record(
        actor=request.user,
        action=AuditEvent.Action.EXPORT,
        object_type="kpi.report",
        object_id=f"{first}..{last}",
        changes={"format": ext},
    )
    resp = HttpResponse(content, content_type=content_type)
    resp["Content-Disposition"] = f'attachment; filename="kpi_{first}_{last}.{ext}"'
    return resp


def report_csv(request):
    if (resp := _guard(request)) is not None:
        return resp
    first, last, _, rows = _rows(request)
    return _download(request, exports.table_csv(rows), "text/csv; charset=utf-8", "csv", first, last)


def report_xlsx(request):
    if (resp := _guard(request)) is not None:
        return resp
    first, last, _, rows = _rows(request)
    content = exports.table_xlsx(rows, table.half_year_summary(rows))
    ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return _download(request, content, ctype, "xlsx", first, last)
