"""Reads of the agent's desk: the queue (my open inquiries, unassigned ones, the ones near
or past the mail target), an inquiry's thread in time order, the requester's history and
what changed since a stale version. Each page costs a fixed number of queries whatever
the number of rows (tests/helpdesk/desk/agent/test_queries.py).

The mail target is the KPI rules' (docs/kpi-rules.md §3): an email or web-form inquiry
that is not handed to the responsible section (or its designee) is answered when a real
answer left (`helpdesk.mail.selectors.mail_real_answers`: no automatic acknowledgement, nothing still in
the outbox) or an answer by another channel was stamped (`first_answered_at`); until
then it is due at received + the contract's `email_max_seconds` (24 h, calendar time)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Case, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, When
from django.shortcuts import get_object_or_404
from django.utils import timezone

from helpdesk.clock import TOKYO, Month
from helpdesk.inquiries.selectors import inquiry_search
from helpdesk.mail.parse.message import sanitize_html
from helpdesk.mail.selectors import mail_real_answers
from helpdesk.models import Attachment, AuditEvent, Call, EmailMessage, Escalation, Inquiry, InquiryNote, Role
from helpdesk.requesters import email_key, email_key_expression, is_phone_number, phone_key, phone_key_expression
from kpi.metrics import EMAIL_CHANNELS
from kpi.selectors import kpi_target_for

OPEN_STATUSES = (
    Inquiry.Status.NEW,
    Inquiry.Status.IN_PROGRESS,
    Inquiry.Status.ESCALATED,
    Inquiry.Status.ANSWERED,
)
QUEUE_VIEWS = ("mine", "unassigned", "due", "all")
PAGE_SIZE = 25
# "Near" the mail target: due within this many seconds (the queue's 期限間近 list).
DUE_SOON_SECONDS = 6 * 3600
HISTORY_LIMIT = 10
# Columns a queue row shows; the body and the generated search column stay in the database.
_ROW_FIELDS = (
    "id",
    "ref",
    "channel",
    "status",
    "category",
    "subject",
    "requester_name",
    "received_at",
    "first_answered_at",
    "version",
    "assigned_to__id",
    "assigned_to__username",
)


class BadCursor(ValueError):
    """A `cursor` parameter that is not one this page wrote."""


# month → (read at, seconds): the target changes a few times a contract, the queue is read
# all day; a minute's staleness after an admin edits the contract period is harmless.
_TARGET_CACHE: dict[str, tuple[float, int]] = {}
TARGET_CACHE_SECONDS = 60.0


def mail_target_seconds(*, now: dt.datetime | None = None) -> int:
    """The contract's mail target in force this month (KpiTarget.email_max_seconds)."""
    month = Month.of(now or timezone.now())
    cached = _TARGET_CACHE.get(str(month))
    if cached and time.monotonic() - cached[0] < TARGET_CACHE_SECONDS:
        return cached[1]
    seconds = kpi_target_for(month=month).email_max_seconds
    _TARGET_CACHE[str(month)] = (time.monotonic(), seconds)
    return seconds


def _has_real_answer() -> Exists:
    return Exists(mail_real_answers().filter(inquiry=OuterRef("pk")))


def _handed_to_section() -> Exists:
    return Exists(Escalation.objects.filter(inquiry=OuterRef("pk"), target__in=Escalation.RESPONSIBLE_SECTION_TARGETS))


def awaiting_mail_answer_q() -> Q:
    """Inquiries the mail target still runs for (§3 population, no answer yet), open ones."""
    return (
        Q(channel__in=EMAIL_CHANNELS, first_answered_at__isnull=True, status__in=OPEN_STATUSES)
        & ~_has_real_answer()
        & ~_handed_to_section()
    )


def with_mail_due(queryset: QuerySet[Inquiry]) -> QuerySet[Inquiry]:
    """Annotate what `awaiting_mail_answer` needs: for an open, unanswered mail row, the id
    of a real answer and of a hand-over to the responsible section, if any. Correlated
    scalar subqueries with LIMIT 1 (not EXISTS, which PostgreSQL may turn into a hashed
    scan of every answer ever sent), evaluated by CASE only for such rows and only for the
    rows of the page (after the LIMIT): one index probe each."""
    candidate = Q(channel__in=EMAIL_CHANNELS, first_answered_at__isnull=True, status__in=OPEN_STATUSES)
    answer = mail_real_answers().filter(inquiry=OuterRef("pk")).order_by().values("id")[:1]
    section = (
        Escalation.objects.filter(inquiry=OuterRef("pk"), target__in=Escalation.RESPONSIBLE_SECTION_TARGETS)
        .order_by()
        .values("id")[:1]
    )
    return queryset.annotate(
        mail_answer_id=Case(When(candidate, then=Subquery(answer)), default=None, output_field=IntegerField()),
        section_handover_id=Case(When(candidate, then=Subquery(section)), default=None, output_field=IntegerField()),
    )


def awaiting_mail_answer(inquiry: Inquiry) -> bool:
    """The mail target still runs for this inquiry (annotated by `with_mail_due`)."""
    return (
        inquiry.channel in EMAIL_CHANNELS
        and inquiry.first_answered_at is None
        and inquiry.status in OPEN_STATUSES
        and getattr(inquiry, "mail_answer_id", None) is None
        and getattr(inquiry, "section_handover_id", None) is None
    )


@dataclass
class QueueFilters:
    view: str = "mine"
    status: list[str] = field(default_factory=list)
    channel: list[str] = field(default_factory=list)
    category: str = ""
    received_from: dt.date | None = None
    received_to: dt.date | None = None  # inclusive (the whole day)
    q: str = ""


@dataclass
class QueueRow:
    inquiry: Inquiry
    due_at: dt.datetime | None
    seconds_left: float | None

    @property
    def overdue(self) -> bool:
        return self.seconds_left is not None and self.seconds_left < 0

    @property
    def due_soon(self) -> bool:
        return self.seconds_left is not None and 0 <= self.seconds_left < DUE_SOON_SECONDS


@dataclass
class QueuePage:
    rows: list[QueueRow]
    next_cursor: str | None
    target_seconds: int


def _encode_cursor(received_at: dt.datetime, pk: int) -> str:
    raw = f"{received_at.astimezone(dt.UTC).isoformat()}|{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str) -> tuple[dt.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        at, _, pk = raw.partition("|")
        moment = dt.datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError
        return moment, int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError, OverflowError) as exc:
        raise BadCursor("cursor") from exc


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=TOKYO)


def queue_queryset(*, user, filters: QueueFilters, now: dt.datetime, target_seconds: int) -> QuerySet[Inquiry]:
    """The rows of one queue view, filtered and ordered (not yet paged)."""
    qs: QuerySet[Inquiry] = Inquiry.objects.all()
    statuses = filters.status or (list(OPEN_STATUSES) if filters.view != "all" else [])
    if statuses:
        # IN over the open statuses matches the partial index `inquiry_agent_open_recent`.
        qs = qs.filter(status__in=statuses)
    if filters.view == "mine":
        qs = qs.filter(assigned_to=user)
    elif filters.view == "unassigned":
        qs = qs.filter(assigned_to__isnull=True)
    elif filters.view == "due":
        qs = qs.filter(
            awaiting_mail_answer_q(), received_at__lt=now - dt.timedelta(seconds=target_seconds - DUE_SOON_SECONDS)
        )
    if filters.channel:
        qs = qs.filter(channel__in=filters.channel)
    if filters.category:
        qs = qs.filter(category=filters.category)
    if filters.received_from:
        qs = qs.filter(received_at__gte=_day_start(filters.received_from))
    if filters.received_to:
        qs = qs.filter(received_at__lt=_day_start(filters.received_to + dt.timedelta(days=1)))
    if filters.q:
        qs = inquiry_search(queryset=qs, q=filters.q)
    return qs


def queue_page(
    *, user, filters: QueueFilters, cursor: str = "", now: dt.datetime | None = None, size: int = PAGE_SIZE
) -> QueuePage:
    """One page of a queue view: newest first, except `due` (oldest — most overdue — first).
    Keyset paging on (received_at, id): page N costs what page 1 costs. BadCursor for a
    cursor this page did not write."""
    now = now or timezone.now()
    target = mail_target_seconds(now=now)
    qs = queue_queryset(user=user, filters=filters, now=now, target_seconds=target)
    ascending = filters.view == "due"
    if cursor:
        at, pk = decode_cursor(cursor)
        # The plain bound first: it gives the index scan its starting point (an OR alone
        # would walk the index from the top and filter, slower the deeper the page).
        if ascending:
            qs = qs.filter(Q(received_at__gte=at), Q(received_at__gt=at) | Q(received_at=at, id__gt=pk))
        else:
            qs = qs.filter(Q(received_at__lte=at), Q(received_at__lt=at) | Q(received_at=at, id__lt=pk))
    order = ("received_at", "id") if ascending else ("-received_at", "-id")
    qs = with_mail_due(qs.select_related("assigned_to").only(*_ROW_FIELDS)).order_by(*order)
    found = list(qs[: size + 1])
    more = len(found) > size
    found = found[:size]
    rows = [_row(inquiry, now=now, target_seconds=target) for inquiry in found]
    next_cursor = _encode_cursor(found[-1].received_at, found[-1].pk) if more else None
    return QueuePage(rows=rows, next_cursor=next_cursor, target_seconds=target)


def _row(inquiry: Inquiry, *, now: dt.datetime, target_seconds: int) -> QueueRow:
    if not awaiting_mail_answer(inquiry):
        return QueueRow(inquiry=inquiry, due_at=None, seconds_left=None)
    due_at = inquiry.received_at + dt.timedelta(seconds=target_seconds)
    return QueueRow(inquiry=inquiry, due_at=due_at, seconds_left=(due_at - now).total_seconds())


# --- the inquiry page ---------------------------------------------------------------------------


def desk_inquiry_get(*, ref: str) -> Inquiry:
    """The inquiry with what its header shows, and whether the mail target still runs."""
    qs = with_mail_due(Inquiry.objects.select_related("assigned_to", "call", "created_by"))
    return get_object_or_404(qs, ref=ref.upper())


def inquiry_due(inquiry: Inquiry, *, now: dt.datetime | None = None) -> QueueRow:
    now = now or timezone.now()
    return _row(inquiry, now=now, target_seconds=mail_target_seconds(now=now))


@dataclass
class ThreadItem:
    kind: str  # call | mail | note | escalation | escalation_return | status
    at: dt.datetime
    obj: object
    extra: dict = field(default_factory=dict)


def inquiry_thread(*, inquiry: Inquiry) -> list[ThreadItem]:
    """Everything that happened on the inquiry, oldest first: the PBX call, inbound and
    outbound mail (attachments listed, bytes never loaded), internal notes, escalations
    and their returned answers, status moves from the audit trail. Five queries."""
    items: list[ThreadItem] = []
    call: Call | None = inquiry.call
    if call is not None:
        wait = None
        if call.answered_at:
            wait = (call.answered_at - (call.queued_at or call.arrived_at)).total_seconds()
        items.append(ThreadItem("call", call.arrived_at, call, {"wait": wait, "talk": call.connected_seconds}))
    messages = (
        EmailMessage.objects.filter(inquiry=inquiry)
        .defer("raw", "references")
        .prefetch_related(
            Prefetch(
                "attachments",
                queryset=Attachment.objects.only("id", "message_id", "filename", "size", "truncated").order_by("id"),
            )
        )
        .order_by("received_at", "id")
    )
    for message in messages:
        at = message.sent_at or message.received_at or message.created_at
        attachments = [(n, a) for n, a in enumerate(message.attachments.all(), start=1)]
        # Stored already sanitised at intake; cleaned again here because a handover import
        # may bring HTML from another system (defence in depth, cheap for one thread).
        html = sanitize_html(message.body_html) if message.body_html else ""
        items.append(ThreadItem("mail", at, message, {"attachments": attachments, "html": html}))
    for note in InquiryNote.objects.filter(inquiry=inquiry).select_related("author").order_by("created_at", "id"):
        items.append(ThreadItem("note", note.created_at, note))
    escalations = Escalation.objects.filter(inquiry=inquiry).select_related("escalated_by").order_by("escalated_at")
    for escalation in escalations:
        items.append(ThreadItem("escalation", escalation.escalated_at, escalation))
        if escalation.returned_at:
            items.append(ThreadItem("escalation_return", escalation.returned_at, escalation))
    moves = AuditEvent.objects.filter(
        object_type="helpdesk.inquiry", object_id=inquiry.ref, action=AuditEvent.Action.TRANSITION
    ).only("at", "actor_label", "changes", "note")
    labels: dict[Any, str] = dict(Inquiry.Status.choices)
    for event in moves:
        change = (event.changes or {}).get("status") or {}
        items.append(
            ThreadItem(
                "status",
                event.at,
                event,
                {"old": labels.get(change.get("old"), change.get("old")), "new": labels.get(change.get("new"))},
            )
        )
    items.sort(key=lambda item: item.at)
    return items


def requester_history_queryset(*, inquiry: Inquiry) -> QuerySet[Inquiry] | None:
    """Other inquiries from the same address or phone number however written
    (`helpdesk.requesters`' keys: 03-1234-5678 is ０３（１２３４）５６７８ and +81 3 1234 5678),
    newest first; None when the inquiry names neither. A "number" that is not one (非通知,
    不明) matches nothing. Each side is served by its functional index."""
    match = Q()
    email, phone = email_key(inquiry.requester_email), phone_key(inquiry.requester_phone)
    if email:
        match |= Q(email_key=email) & ~Q(requester_email="")
    if is_phone_number(phone):
        match |= Q(phone_key=phone) & ~Q(requester_phone="")
    if not match:
        return None
    return (
        Inquiry.objects.alias(email_key=email_key_expression(), phone_key=phone_key_expression())
        .filter(match)
        .exclude(pk=inquiry.pk)
        .only("id", "ref", "channel", "status", "subject", "received_at", "requester_email", "requester_phone")
        .order_by("-received_at", "-id")
    )


def requester_history(*, inquiry: Inquiry, limit: int = HISTORY_LIMIT) -> list[Inquiry]:
    """The newest `limit` of `requester_history_queryset`, in one query."""
    queryset = requester_history_queryset(inquiry=inquiry)
    return [] if queryset is None else list(queryset[:limit])


def changes_since(*, inquiry: Inquiry, your_version: int) -> list[AuditEvent]:
    """What happened between the version the agent read and now: each write that bumps an
    inquiry's version leaves exactly one UPDATE or TRANSITION row, so these are its last
    (current − yours) such rows, oldest first."""
    missed = inquiry.version - your_version
    if missed <= 0:
        return []
    rows = AuditEvent.objects.filter(
        object_type="helpdesk.inquiry",
        object_id=inquiry.ref,
        action__in=[AuditEvent.Action.UPDATE, AuditEvent.Action.TRANSITION],
    ).order_by("-id")[: min(missed, 20)]
    return list(reversed(rows))


# How a changed field reads in the conflict box (the audit trail stores model field names).
FIELD_LABELS = {
    "status": "状態",
    "assigned_to": "担当",
    "category": "分類",
    "subject": "件名",
    "body": "お問い合わせ内容",
    "resolution": "対応内容",
    "ministry_guidance": "所管府省案内",
    "requester_name": "お名前",
    "requester_email": "メール",
    "requester_phone": "電話",
    "requester_organization": "所属",
    "first_answered_at": "初回回答",
    "wrapup_completed_at": "後処理完了",
    "resolved_at": "解決日時",
}


@dataclass
class ChangeLine:
    event: AuditEvent
    fields: list[tuple[str, str, str]]  # (label, old, new); old/new "" when not shown


def describe_changes(events: list[AuditEvent]) -> list[ChangeLine]:
    """The conflict box's lines: field labels, status labels and usernames instead of ids.
    Personal information is recorded as changed without values and is shown so."""
    user_ids = {
        value
        for event in events
        for key in ("old", "new")
        if isinstance(value := (event.changes.get("assigned_to") or {}).get(key), int)
    }
    names = dict(get_user_model().objects.filter(pk__in=user_ids).values_list("pk", "username")) if user_ids else {}
    statuses = dict(Inquiry.Status.choices)

    def shown(field: str, value) -> str:
        if value is None or value == "":
            return "—"
        if field == "assigned_to":
            return names.get(value, str(value))
        if field == "status":
            return str(statuses.get(value, value))
        if isinstance(value, str) and len(value) > 40:
            return value[:40] + "…"
        return str(value)

    lines = []
    for event in events:
        fields = []
        for name, change in (event.changes or {}).items():
            if name == "reason" or not isinstance(change, dict):
                continue
            label = FIELD_LABELS.get(name, name)
            if "new" in change:
                fields.append((label, shown(name, change.get("old")), shown(name, change.get("new"))))
            else:
                fields.append((label, "", ""))
        lines.append(ChangeLine(event=event, fields=fields))
    return lines


def assignable_users() -> QuerySet:
    """Staff operators a supervisor can assign (agents, supervisors, admins)."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(groups__name__in=[Role.AGENT, Role.SUPERVISOR, Role.ADMIN]) | Q(is_superuser=True))
        .distinct()
        .only("id", "username")
        .order_by("username")
    )
