"""The admin's desk (/desk/admin/): FAQ review, IVR announcements, calendar and targets,
imports, users and roles. Views parse a form, call a service and render; a refusal of the
service is a form error (HTTP 400, or the service's own status such as 409), never a 500."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from faq import services as faq_services
from faq.models import ClusterSplit, FaqEntry, IvrAnnouncement
from helpdesk.desk.admin import forms, restatement, selectors
from helpdesk.desk.admin import services as desk_services
from helpdesk.desk.htmx import HtmxHttpRequest
from helpdesk.desk.permissions import admin_required
from helpdesk.errors import ApplicationError
from helpdesk.handover.uploads import records_import_enqueue
from helpdesk.mail.uploads import mail_import_enqueue
from helpdesk.models import ImportRun
from helpdesk.phone.uploads import calls_import_enqueue
from kpi.contract_settings import kpi_setting_months
from kpi.models import FiscalMonthPeriod, KpiTarget, PeriodType


def _apply_error(form: Form, exc: Exception) -> int:
    """Put a service's refusal on the form; the HTTP status to answer with."""
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            form.add_error(None, exc.messages)
        return 400
    form.add_error(None, getattr(exc, "message", str(exc)))
    return getattr(exc, "status_code", 400)


@require_GET
@admin_required
def home(request: HttpRequest) -> HttpResponse:
    board = selectors.ivr_board()
    return render(
        request,
        "desk/admin/home.html",
        {
            "faq_counts": selectors.faq_status_counts(),
            "ivr": board,
            "runs": list(selectors.import_runs()[:5]),
        },
    )


# --- FAQ review -------------------------------------------------------------------------------


@require_GET
@admin_required
def faq_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", FaqEntry.Status.DRAFT)
    if status not in FaqEntry.Status.values:
        status = FaqEntry.Status.DRAFT
    counts = selectors.faq_status_counts()
    return render(
        request,
        "desk/admin/faq_list.html",
        {
            "entries": list(selectors.faq_entries(status=status)),
            "status": status,
            "statuses": [(value, label, counts[value]) for value, label in FaqEntry.Status.choices],
        },
    )


def _split_context(
    entry: FaqEntry, form: forms.ClusterSplitForm | None = None, search: forms.SplitSearchForm | None = None
) -> dict[str, Any] | None:
    """The 「別の話題として分ける」 panel: for a draft whose cluster is in the latest run; with a
    valid search (「語で絞り込む」), the members holding its words."""
    cluster = entry.source_cluster
    if cluster is None or not _splittable(entry):
        return None
    form = form or forms.ClusterSplitForm()
    search = search or forms.SplitSearchForm()
    marked = {int(v) for v in form.data.getlist("marked") if v.isdigit()} if form.is_bound else set()
    words = search.cleaned_data["words"] if search.is_bound and search.is_valid() else ()
    candidates = selectors.faq_split_candidates(cluster, words=words)
    return {"candidates": candidates.listed, "found": candidates, "form": form, "search": search, "marked": marked}


def _splittable(entry: FaqEntry) -> bool:
    """A draft whose cluster is in the latest run: the only entries whose cluster can be split."""
    cluster = entry.source_cluster
    return entry.status == FaqEntry.Status.DRAFT and cluster is not None and cluster.active


# Said when the entry is no draft or its cluster is not in the latest run.
_SPLIT_REFUSED = gettext_lazy("公開前の下書きで、最新の集計にあるクラスタだけを分けられます。")


def _split_search(data) -> forms.SplitSearchForm | None:
    """The split panel's search, when the request carries one (the split's POST re-rendered
    with its error keeps the list the admin was marking)."""
    return forms.SplitSearchForm(data) if "words" in data else None


def _splits_context(
    entry: FaqEntry,
    failed: tuple[ClusterSplit, forms.SplitWithdrawForm] | None = None,
    withdrawn: faq_services.WithdrawOutcome | None = None,
) -> dict[str, Any] | None:
    """The 「この分割を取り消す」 panel: the splits in force that made the entry's cluster or were
    made on it (who, when, note), each with its withdraw form; after a withdrawal, its outcome;
    after a refusal, the refused split with its error (also one no longer in force)."""
    splits = selectors.faq_splits_in_force(entry.source_cluster)
    if failed is not None and failed[0].pk not in {s.pk for s in splits}:
        splits.append(failed[0])
    if not splits and withdrawn is None:
        return None
    rows = [
        (s, failed[1] if failed is not None and failed[0].pk == s.pk else forms.SplitWithdrawForm()) for s in splits
    ]
    return {"rows": rows, "withdrawn": withdrawn}


def _faq_page(
    request,
    entry: FaqEntry,
    form: forms.FaqEntryForm,
    status: int = 200,
    split_form: forms.ClusterSplitForm | None = None,
    withdraw_failed: tuple[ClusterSplit, forms.SplitWithdrawForm] | None = None,
    split_search: forms.SplitSearchForm | None = None,
) -> HttpResponse:
    if form.is_bound and form.is_valid():
        question, answer = form.cleaned_data["question"], form.cleaned_data["answer"]
    elif form.is_bound:
        question, answer = form.data.get("question", ""), form.data.get("answer", "")
    else:
        question, answer = entry.question, entry.answer
    return render(
        request,
        "desk/admin/faq_detail.html",
        {
            "entry": entry,
            "form": form,
            "warnings": selectors.faq_pii_warnings(question=question, answer=answer),
            "evidence": selectors.faq_evidence(entry),
            "split": _split_context(entry, split_form, split_search),
            "splits": _splits_context(entry, withdraw_failed),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@admin_required
def faq_detail(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(
        FaqEntry.objects.select_related("source_cluster", "source_surge", "published_by", "retired_by"), pk=pk
    )
    if request.method == "GET":
        initial = {"question": entry.question, "answer": entry.answer, "version": entry.version}
        return _faq_page(request, entry, forms.FaqEntryForm(initial=initial))
    form = forms.FaqEntryForm(request.POST)
    action = request.POST.get("action", "save")
    if action not in ("save", "publish", "retire"):
        form.add_error(None, _("操作を選んでください。"))
        return _faq_page(request, entry, form, 400)
    if action == "retire":
        try:
            faq_services.faq_entry_retire(actor=request.user, entry=entry)
        except (ApplicationError, ValidationError) as exc:
            form = forms.FaqEntryForm(
                initial={"question": entry.question, "answer": entry.answer, "version": entry.version}
            )
            return _faq_page(request, entry, form, _apply_error(form, exc))
        messages.success(request, _("公開を終了しました。"))
        return redirect("desk:admin:faq-detail", pk=entry.pk)
    if not form.is_valid():
        return _faq_page(request, entry, form, 400)
    data = form.cleaned_data
    try:
        with transaction.atomic():
            entry = faq_services.faq_entry_update(
                actor=request.user,
                entry=entry,
                version=data["version"],
                question=data["question"],
                answer=data["answer"],
            )
            if action == "publish":
                entry = faq_services.faq_entry_publish(actor=request.user, entry=entry)
    except (ApplicationError, ValidationError) as exc:
        entry.refresh_from_db()
        return _faq_page(request, entry, form, _apply_error(form, exc))
    messages.success(request, _("公開しました。") if action == "publish" else _("保存しました。"))
    return redirect("desk:admin:faq-detail", pk=entry.pk)


@require_POST
@admin_required
def faq_check(request: HttpRequest, pk: int) -> HttpResponse:
    """The warnings partial, re-checked while the admin edits (htmx, nothing saved)."""
    get_object_or_404(FaqEntry, pk=pk)
    question, answer = request.POST.get("question", "")[:500], request.POST.get("answer", "")[:20000]
    warnings = selectors.faq_pii_warnings(question=question, answer=answer)
    return render(request, "desk/admin/_faq_warnings.html", {"warnings": warnings})


@require_POST
@admin_required
def faq_split(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """「別の話題として分ける」: the checked inquiries become a cluster of their own (with a
    draft), the cluster's draft is written again from what stays. htmx swaps the panel (the two
    drafts, or the form with its error); without htmx, the page."""
    entry = get_object_or_404(FaqEntry.objects.select_related("source_cluster"), pk=pk)
    form = forms.ClusterSplitForm(request.POST)
    status = 400
    if not _splittable(entry):
        refused = _SPLIT_REFUSED
        if not request.htmx:
            messages.error(request, refused)
            initial = {"question": entry.question, "answer": entry.answer, "version": entry.version}
            return _faq_page(request, entry, forms.FaqEntryForm(initial=initial), 400)
        form.is_valid()
        form.add_error(None, refused)
    elif form.is_valid():
        assert entry.source_cluster is not None  # _split_context checked it
        try:
            outcome = faq_services.faq_cluster_split(
                actor=request.user,
                cluster=entry.source_cluster,
                marked=form.cleaned_data["marked"],
                kept=form.kept,
                note=form.cleaned_data["note"],
            )
        except (ApplicationError, ValidationError) as exc:
            status = _split_error(form, exc)
        else:
            if not request.htmx:
                messages.success(request, _("別の話題として分けました。下書きは公開されていません。"))
                return redirect("desk:admin:faq-detail", pk=entry.pk)
            drafts = [e for e in (outcome.kept_entry, outcome.new_entry) if e is not None]
            return render(request, "desk/admin/_faq_split.html", {"entry": entry, "outcome": outcome, "drafts": drafts})
    search = _split_search(request.POST)
    if request.htmx:
        context = {"entry": entry, "split": _split_context(entry, form, search)}
        if context["split"] is None:
            context["split"] = {"candidates": [], "form": form, "search": forms.SplitSearchForm(), "marked": set()}
        return render(request, "desk/admin/_faq_split.html", context, status=status)
    initial = {"question": entry.question, "answer": entry.answer, "version": entry.version}
    return _faq_page(request, entry, forms.FaqEntryForm(initial=initial), status, split_form=form, split_search=search)


@require_GET
@admin_required
def faq_split_search(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """「語で絞り込む」: the split panel listing the cluster's members that hold the words (htmx
    swaps the panel; without htmx, the page with the panel so listed). A search with no word to
    search by is a 400 naming the field."""
    entry = get_object_or_404(FaqEntry.objects.select_related("source_cluster"), pk=pk)
    search = forms.SplitSearchForm(request.GET)
    splittable = _splittable(entry)
    status = 200 if search.is_valid() and splittable else 400
    if not request.htmx:
        if not splittable:
            messages.error(request, _SPLIT_REFUSED)
        initial = {"question": entry.question, "answer": entry.answer, "version": entry.version}
        return _faq_page(request, entry, forms.FaqEntryForm(initial=initial), status, split_search=search)
    split = _split_context(entry, search=search)
    if split is None:
        refused = forms.ClusterSplitForm({})
        refused.is_valid()
        refused.add_error(None, _SPLIT_REFUSED)
        split = {"candidates": [], "form": refused, "search": search, "marked": set()}
    return render(request, "desk/admin/_faq_split.html", {"entry": entry, "split": split}, status=status)


def _split_error(form: forms.ClusterSplitForm, exc: Exception) -> int:
    """The split service's refusal on the form: the seeds it names ("kept": every listed inquiry
    checked) are the checkboxes' error."""
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error("marked" if name in ("marked", "kept") else None, errors)
        return 400
    return _apply_error(form, exc)


@require_POST
@admin_required
def faq_split_withdraw(request: HtmxHttpRequest, pk: int, split_pk: int) -> HttpResponse:
    """「この分割を取り消す」: the split is withdrawn (no later nightly run applies it); with both
    clusters in the latest run the members go back at once, the cluster's draft is written again
    and the new cluster's draft is not adopted. htmx swaps the panel (the outcome, or the form
    with its refusal: 400, 409 already withdrawn); without htmx, the page."""
    entry = get_object_or_404(FaqEntry.objects.select_related("source_cluster"), pk=pk)
    cluster_id = entry.source_cluster_id
    split = get_object_or_404(
        ClusterSplit.objects.select_related("cluster", "new_cluster", "created_by", "withdrawn_by"),
        Q(cluster_id=cluster_id) | Q(new_cluster_id=cluster_id),
        pk=split_pk,
    )
    form = forms.SplitWithdrawForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            outcome = faq_services.faq_cluster_split_withdraw(
                actor=request.user, split=split, note=form.cleaned_data["note"]
            )
        except (ApplicationError, ValidationError) as exc:
            status = _apply_error(form, exc)
        else:
            if not request.htmx:
                messages.success(request, _("分割を取り消しました。公開されたものはありません。"))
                return redirect("desk:admin:faq-detail", pk=entry.pk)
            entry.refresh_from_db()
            context = {"entry": entry, "splits": _splits_context(entry, withdrawn=outcome)}
            return render(request, "desk/admin/_faq_splits.html", context)
    split.refresh_from_db(fields=["withdrawn_at", "withdrawn_by", "withdrawn_note"])
    if request.htmx:
        context = {"entry": entry, "splits": _splits_context(entry, failed=(split, form))}
        return render(request, "desk/admin/_faq_splits.html", context, status=status)
    initial = {"question": entry.question, "answer": entry.answer, "version": entry.version}
    return _faq_page(request, entry, forms.FaqEntryForm(initial=initial), status, withdraw_failed=(split, form))


# --- IVR announcements ------------------------------------------------------------------------


def _ivr_page(request, status: int = 200, failed: tuple[int, Form] | None = None) -> HttpResponse:
    board = selectors.ivr_board()
    forms_by_pk = {}
    now = timezone.localtime()
    for ann in board.proposed + board.scheduled:
        forms_by_pk[ann.pk] = forms.IvrApproveForm(
            initial={
                "text": ann.text,
                "starts_at": ann.starts_at or now.replace(second=0, microsecond=0),
                "ends_at": ann.ends_at or (now + dt.timedelta(days=7)).replace(second=0, microsecond=0),
            },
            prefix=f"ivr{ann.pk}",
        )
    if failed:
        forms_by_pk[failed[0]] = failed[1]
    for ann in board.proposed + board.scheduled:
        ann.form = forms_by_pk[ann.pk]
    return render(request, "desk/admin/ivr.html", {"board": board}, status=status)


@require_GET
@admin_required
def ivr(request: HttpRequest) -> HttpResponse:
    return _ivr_page(request)


@require_POST
@admin_required
def ivr_approve(request: HttpRequest, pk: int) -> HttpResponse:
    ann = get_object_or_404(IvrAnnouncement, pk=pk)
    form = forms.IvrApproveForm(request.POST, prefix=f"ivr{ann.pk}")
    if not form.is_valid():
        return _ivr_page(request, 400, (ann.pk, form))
    try:
        faq_services.ivr_announcement_approve(actor=request.user, announcement=ann, **form.cleaned_data)
    except (ApplicationError, ValidationError) as exc:
        return _ivr_page(request, _apply_error(form, exc), (ann.pk, form))
    messages.success(request, _("案内を承認しました。"))
    return redirect("desk:admin:ivr")


@require_POST
@admin_required
def ivr_close(request: HttpRequest, pk: int) -> HttpResponse:
    ann = get_object_or_404(IvrAnnouncement, pk=pk)
    try:
        faq_services.ivr_announcement_close(actor=request.user, announcement=ann)
    except (ApplicationError, ValidationError) as exc:
        messages.error(request, getattr(exc, "message", " ".join(getattr(exc, "messages", [str(exc)]))))
        return _ivr_page(request, getattr(exc, "status_code", 400))
    messages.success(request, _("案内を終了しました。"))
    return redirect("desk:admin:ivr")


# --- calendar and targets ---------------------------------------------------------------------


def _fiscal_year(request) -> int:
    try:
        fy = int(request.GET.get("fy") or request.POST.get("fiscal_year") or selectors.current_fiscal_year())
    except ValueError:
        fy = selectors.current_fiscal_year()
    return min(max(fy, 2000), 2100)


def _calendar_page(request, status: int = 200, **bound: Form) -> HttpResponse:
    fy = _fiscal_year(request)
    target_forms = [(t, forms.TargetForm(instance=t, prefix=f"t{t.pk}")) for t in selectors.targets()]
    target_forms = [(t, bound.get(f"t{t.pk}", f)) for t, f in target_forms]
    hours = {h.weekday: h for h in selectors.service_hours()}
    hours_initial = {}
    for wd, h in hours.items():
        hours_initial[f"opens_{wd}"], hours_initial[f"closes_{wd}"] = h.opens_at, h.closes_at
    context = {
        "fy": fy,
        "months": selectors.fiscal_year_months(fy),
        "period_types": PeriodType.choices,
        "month_form": bound.get("month", forms.MonthPeriodForm(initial={"fiscal_year": fy})),
        "target_forms": target_forms,
        "new_target_form": bound.get("tnew", forms.TargetForm(prefix="tnew")),
        "hours_form": bound.get("hours", forms.ServiceHoursForm(initial=hours_initial, prefix="h")),
        "day_form": bound.get("day", forms.CalendarDayForm(prefix="d")),
        "days": selectors.calendar_days(fiscal_year=fy),
    }
    return render(request, "desk/admin/calendar.html", context, status=status)


@require_GET
@admin_required
def calendar(request: HttpRequest) -> HttpResponse:
    return _calendar_page(request)


def _confirm(request, *, title: str, preview: restatement.Preview, summary: list[str]) -> HttpResponse:
    """The confirm step: the months the change restates, the same POST again with confirm=1."""
    fields = [
        (k, v) for k, values in request.POST.lists() for v in values if k not in ("csrfmiddlewaretoken", "confirm")
    ]
    return render(
        request,
        "desk/admin/confirm.html",
        {"title": title, "preview": preview, "summary": summary, "fields": fields, "action": request.path},
    )


def _saved(request, text: str, fy: int | None = None) -> HttpResponse:
    messages.success(request, text)
    url = reverse("desk:admin:calendar")
    return redirect(f"{url}?fy={fy}" if fy else url)


@require_POST
@admin_required
def calendar_month(request: HttpRequest) -> HttpResponse:
    form = forms.MonthPeriodForm(request.POST)
    if not form.is_valid():
        return _calendar_page(request, 400, month=form)
    d = form.cleaned_data
    args = {"fiscal_year": d["fiscal_year"], "month": d["month"], "period_type": d["period_type"]}
    if request.POST.get("confirm") != "1":
        probe = FiscalMonthPeriod(**args)
        preview = restatement.preview(
            months=kpi_setting_months(probe), apply=lambda: desk_services.month_period_apply(**args)
        )
        label = dict(PeriodType.choices)[d["period_type"]]
        return _confirm(
            request,
            title=_("期区分の変更"),
            preview=preview,
            summary=[_("%(fy)s年度 %(m)s月 → %(label)s") % {"fy": d["fiscal_year"], "m": d["month"], "label": label}],
        )
    try:
        desk_services.month_period_save(actor=request.user, reason=d["reason"], **args)
    except (ApplicationError, ValidationError) as exc:
        return _calendar_page(request, _apply_error(form, exc), month=form)
    return _saved(request, _("期区分を保存しました。"), d["fiscal_year"])


@require_POST
@admin_required
def calendar_target(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    target = None if pk is None else get_object_or_404(KpiTarget, pk=pk)
    prefix = "tnew" if target is None else f"t{target.pk}"
    form = forms.TargetForm(
        request.POST, instance=KpiTarget() if target is None else KpiTarget.objects.get(pk=pk), prefix=prefix
    )
    if not form.is_valid():
        return _calendar_page(request, 400, **{prefix: form})
    data = {k: form.cleaned_data[k] for k in desk_services.TARGET_FIELDS}
    if request.POST.get("confirm") != "1":
        probe = KpiTarget(**data)
        months = kpi_setting_months(probe) | (kpi_setting_months(target) if target else set())
        preview = restatement.preview(months=months, apply=lambda: desk_services.target_apply(target=target, data=data))
        return _confirm(request, title=_("契約期間の目標"), preview=preview, summary=[str(probe)])
    try:
        desk_services.target_save(actor=request.user, target=target, data=data, reason=form.cleaned_data["reason"])
    except (ApplicationError, ValidationError) as exc:
        return _calendar_page(request, _apply_error(form, exc), **{prefix: form})
    return _saved(request, _("目標を保存しました。"))


@require_POST
@admin_required
def calendar_day(request: HttpRequest) -> HttpResponse:
    form = forms.CalendarDayForm(request.POST, prefix="d")
    if not form.is_valid():
        return _calendar_page(request, 400, day=form)
    d = form.cleaned_data
    args = {k: d[k] for k in ("date", "kind", "opens_at", "closes_at", "note")}
    if request.POST.get("confirm") != "1":
        preview = restatement.preview(
            months=[restatement.month_of(d["date"])], apply=lambda: desk_services.calendar_day_apply(**args)
        )
        return _confirm(request, title=_("特別日"), preview=preview, summary=[f"{d['date']:%Y-%m-%d} {d['kind']}"])
    try:
        desk_services.calendar_day_save(actor=request.user, **args)
    except (ApplicationError, ValidationError) as exc:
        return _calendar_page(request, _apply_error(form, exc), day=form)
    return _saved(request, _("特別日を保存しました。"), selectors.current_fiscal_year(d["date"]))


@require_POST
@admin_required
def calendar_day_remove(request: HttpRequest) -> HttpResponse:
    form = forms.CalendarDayRemoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("日付を正しく指定してください。"))
        return _calendar_page(request, 400)
    day = form.cleaned_data["date"]
    if request.POST.get("confirm") != "1":
        preview = restatement.preview(
            months=[restatement.month_of(day)], apply=lambda: desk_services.calendar_day_remove_apply(date=day)
        )
        return _confirm(request, title=_("特別日の削除"), preview=preview, summary=[f"{day:%Y-%m-%d}"])
    try:
        desk_services.calendar_day_remove(actor=request.user, date=day)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return _saved(request, _("特別日を削除しました。"), selectors.current_fiscal_year(day))


@require_POST
@admin_required
def calendar_hours(request: HttpRequest) -> HttpResponse:
    form = forms.ServiceHoursForm(request.POST, prefix="h")
    if not form.is_valid():
        return _calendar_page(request, 400, hours=form)
    weekly = form.weekly()
    if request.POST.get("confirm") != "1":
        months = restatement.months_with_calls()
        computed = months[-restatement.MAX_PREVIEW_MONTHS :]  # only these are reclassified in the preview
        start = end = None
        if computed:
            start, end = computed[0].start, computed[-1].end
        preview = restatement.preview(
            months=months, apply=lambda: desk_services.service_hours_apply(weekly=weekly, start=start, end=end)
        )
        summary = [f"{forms.WEEKDAYS[w['weekday']]} {w['opens_at']:%H:%M}–{w['closes_at']:%H:%M}" for w in weekly]
        return _confirm(request, title=_("サービス時間"), preview=preview, summary=summary or [_("全曜日休業")])
    try:
        desk_services.service_hours_save(actor=request.user, weekly=weekly)
    except (ApplicationError, ValidationError) as exc:
        return _calendar_page(request, _apply_error(form, exc), hours=form)
    return _saved(request, _("サービス時間を保存しました。"))


# --- imports ----------------------------------------------------------------------------------


def _enqueue(kind: str, upload, encoding: str, actor) -> ImportRun:
    if kind in (ImportRun.Kind.CALLS_GENERIC, ImportRun.Kind.CALLS_ASTERISK):
        fmt = "asterisk" if kind == ImportRun.Kind.CALLS_ASTERISK else "generic"
        return calls_import_enqueue(uploads=[upload], fmt=fmt, encoding=encoding, actor=actor)
    if kind == ImportRun.Kind.MAIL:
        return mail_import_enqueue(uploads=[upload], created_by=actor)
    return records_import_enqueue(upload=upload, actor=actor)


def _imports_page(request, form: forms.ImportForm, status: int = 200) -> HttpResponse:
    return render(
        request, "desk/admin/imports.html", {"form": form, "runs": list(selectors.import_runs())}, status=status
    )


@require_http_methods(["GET", "POST"])
@admin_required
def imports(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _imports_page(request, forms.ImportForm())
    form = forms.ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _imports_page(request, form, 400)
    d = form.cleaned_data
    try:
        run = _enqueue(d["kind"], d["file"], d["encoding"], request.user)
    except (ApplicationError, ValidationError, LookupError) as exc:
        if isinstance(exc, LookupError):
            exc = ValidationError({"encoding": str(exc)})
        return _imports_page(request, form, _apply_error(form, exc))
    return redirect("desk:admin:import-run", pk=run.pk)


def _run_context(run: ImportRun) -> dict[str, Any]:
    finished = run.status in (ImportRun.Status.DONE, ImportRun.Status.FAILED)
    return {
        "run": run,
        "percent": selectors.import_percent(run),
        "finished": finished,
        "rejects": list(selectors.import_rejects(run)) if finished else [],
    }


@require_GET
@admin_required
def import_run(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(ImportRun.objects.select_related("created_by"), pk=pk)
    return render(request, "desk/admin/import_run.html", _run_context(run))


@require_GET
@admin_required
def import_run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress partial htmx polls every second until the run has finished."""
    run = get_object_or_404(ImportRun, pk=pk)
    return render(request, "desk/admin/_import_progress.html", _run_context(run))


# --- users and roles --------------------------------------------------------------------------


def _users_page(request, form: forms.UserCreateForm, status: int = 200) -> HttpResponse:
    return render(
        request,
        "desk/admin/users.html",
        {"form": form, "users": selectors.staff_users(), "roles": forms.Role.choices},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@admin_required
def users(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _users_page(request, forms.UserCreateForm())
    form = forms.UserCreateForm(request.POST)
    if not form.is_valid():
        return _users_page(request, form, 400)
    try:
        desk_services.desk_user_create(actor=request.user, **form.cleaned_data)
    except (ApplicationError, ValidationError) as exc:
        return _users_page(request, form, _apply_error(form, exc))
    messages.success(request, _("ユーザーを作成しました。"))
    return redirect("desk:admin:users")


def _user_change(request, pk: int, form: Form, change) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=pk)
    if not form.is_valid():
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
        return _users_page(request, forms.UserCreateForm(), 400)
    try:
        change(user, form.cleaned_data)
    except (ApplicationError, ValidationError) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else exc.message
        messages.error(request, f"{user.get_username()}: {text}")
        return _users_page(request, forms.UserCreateForm(), getattr(exc, "status_code", 400))
    messages.success(request, _("%(user)s を更新しました。") % {"user": user.get_username()})
    return redirect("desk:admin:users")


@require_POST
@admin_required
def user_role(request: HttpRequest, pk: int) -> HttpResponse:
    return _user_change(
        request,
        pk,
        forms.UserRoleForm(request.POST),
        lambda user, d: desk_services.desk_user_set_role(actor=request.user, user=user, role=d["role"]),
    )


@require_POST
@admin_required
def user_active(request: HttpRequest, pk: int) -> HttpResponse:
    return _user_change(
        request,
        pk,
        forms.UserActiveForm(request.POST),
        lambda user, d: desk_services.desk_user_set_active(actor=request.user, user=user, active=d["active"]),
    )
