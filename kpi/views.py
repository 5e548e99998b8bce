"""Report pages: the evaluation table for a range of months with charts, CSV and XLSX."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone

from helpdesk.audit import audit_record
from helpdesk.clock import Month, month_range
from helpdesk.models import AuditEvent
from helpdesk.roles import can_read_kpi
from kpi import selectors
from kpi.reports import chart, exports, table

MAX_MONTHS = 60


class RangeError(ValueError):
    """A `from`/`to` the report cannot show, with the field it concerns."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _range(request: HttpRequest) -> tuple[Month, Month]:
    """The requested months; the current fiscal year to date when none is given. A month
    that does not exist (`2026-13`), a reversed or too long range is an error the page
    shows — never silently another range."""
    now = timezone.localtime()
    current = Month(now.year, now.month)
    bounds = {}
    for field, default in (("from", Month(current.fiscal_year, 4)), ("to", current)):
        raw = request.GET.get(field, "")
        try:
            bounds[field] = Month.parse(raw) if raw else default
        except ValueError as exc:
            label = "開始月" if field == "from" else "終了月"
            raise RangeError(field, f"{label}（{field}）: {exc}") from exc
    first, last = bounds["from"], bounds["to"]
    if last < first:
        raise RangeError("to", f"終了月（to）{last} が開始月（from）{first} より前です。")
    if len(month_range(first, last)) > MAX_MONTHS:
        raise RangeError("to", f"一度に表示できるのは{MAX_MONTHS}か月までです（{first}〜{last}）。")
    return first, last


def _guard(request: HttpRequest) -> HttpResponseRedirect | None:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not can_read_kpi(request.user):
        raise PermissionDenied
    return None


def _rows(request: HttpRequest) -> tuple[Month, Month, list[dict[str, Any]], list[table.Row]]:
    first, last = _range(request)
    data = selectors.kpi_months_get(first=first, last=last)
    return first, last, data, table.evaluation_rows(data)


def _range_error(request: HttpRequest, exc: RangeError) -> HttpResponse:
    """The page with the error and the values as typed, status 400: no table of another range."""
    context = {
        "error": str(exc),
        "error_field": exc.field,
        "first": request.GET.get("from", ""),
        "last": request.GET.get("to", ""),
        "columns": table.COLUMNS,
        "rows": None,
        "query": "",
    }
    return render(request, "kpi/report.html", context, status=400)


def report(request: HttpRequest) -> HttpResponse:
    if (resp := _guard(request)) is not None:
        return resp
    try:
        first, last, data, rows = _rows(request)
    except RangeError as exc:
        return _range_error(request, exc)
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
        "acw_limits": sorted({m["average_handle_time"]["acw_limit_seconds"] for m in data}),
        "acw_capped": sum(m["average_handle_time"]["calls_acw_capped"] for m in data),
        "acw_missing": sum(m["average_handle_time"]["calls_missing_wrapup"] for m in data),
        "query": request.GET.urlencode(),
    }
    return render(request, "kpi/report.html", context)


def _download(
    request: HttpRequest, content: bytes, content_type: str, ext: str, first: Month, last: Month
) -> HttpResponse:
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


def _bad_range(exc: RangeError) -> HttpResponse:
    return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")


def report_csv(request: HttpRequest) -> HttpResponse:
    if (resp := _guard(request)) is not None:
        return resp
    try:
        first, last, _, rows = _rows(request)
    except RangeError as exc:
        return _bad_range(exc)
    return _download(request, exports.table_csv(rows), "text/csv; charset=utf-8", "csv", first, last)


def report_xlsx(request: HttpRequest) -> HttpResponse:
    if (resp := _guard(request)) is not None:
        return resp
    try:
        first, last, _, rows = _rows(request)
    except RangeError as exc:
        return _bad_range(exc)
    content = exports.table_xlsx(rows, table.half_year_summary(rows))
    ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return _download(request, content, ctype, "xlsx", first, last)
