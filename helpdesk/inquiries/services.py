"""Writes on inquiries: create, update (optimistic concurrency), assign, status moves,
wrap-up, corrections of the fields that feed a contract figure, and the automatic status
moves when an answer goes out or an escalation comes back. Every change bumps `version`
and leaves an audit row from here; API views, pages, commands, tasks and the admin all
call these functions (docs/api.md "Where the rules live").

Status rules (docs/api.md "Inquiry status"):
- an answer to the citizen (an agent's reply, or an outbound mail imported) moves a new,
  in-progress or escalated inquiry to `answered` (回答済: awaiting the citizen), except
  while an escalation is still waiting for its answer;
- the citizen writing back after the latest answer moves `answered` back to `in_progress`;
- a new escalation moves `new` / `in_progress` to `escalated`; the answer coming back
  moves `escalated` to `in_progress` (the agent now answers the citizen) once no other
  escalation of the inquiry is still open."""

import datetime as dt
import secrets
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from helpdesk.audit import audit_record, diff_fields
from helpdesk.errors import ConflictError, InvalidTransitionError, PermissionDeniedError
from helpdesk.inquiries.selectors import inquiry_by_idempotency_key
from helpdesk.models import AuditEvent, Call, EmailMessage, Escalation, Inquiry
from helpdesk.notifications.services import notify_assignment
from helpdesk.roles import is_staff_operator, is_supervisor

PII_FIELDS = frozenset({"requester_name", "requester_email", "requester_phone", "requester_organization", "body"})
UPDATABLE_FIELDS = frozenset(
    {
        "category",
        "subject",
        "body",
        "resolution",
        "ministry_guidance",
        "requester_name",
        "requester_email",
        "requester_phone",
        "requester_organization",
    }
)
# Fields that feed a contract figure (docs/kpi.md): channel and received time decide the
# month and the population, first_answered_at the mail response time, wrapup_completed_at
# the after-call work, ministry_guidance first-contact resolution. They change only through
# an audited correction with a reason (`inquiry_correct`, or `inquiry_update` given a
# `reason`), never by a bare save.
KPI_FIELDS = frozenset({"channel", "received_at", "first_answered_at", "wrapup_completed_at", "ministry_guidance"})
CORRECTABLE_FIELDS = KPI_FIELDS | {"resolved_at"}
# Statuses an answer to the citizen moves on to `answered`.
ANSWERABLE_STATUSES = (Inquiry.Status.NEW, Inquiry.Status.IN_PROGRESS, Inquiry.Status.ESCALATED)
# No 0/O/1/I/L: references are read out over the phone.
_REF_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


_ORDERED_TIMES = ("first_answered_at", "wrapup_completed_at", "resolved_at")


def _validate(inquiry: Inquiry, *, fields: Iterable[str] | None = None, stored: Iterable[str] = ()) -> None:
    """Field validation plus the model's check constraints, checked in Python. The database
    enforces the same constraints; Django would validate each with its own SELECT (seven per
    inquiry, the largest cost of a bulk mail import), so they are checked here instead, to give
    a ValidationError naming the field rather than an IntegrityError. `fields`: validate only
    these (an update), so a write never trips over a field it did not touch. `stored`: foreign
    keys whose object was just read from the database, which full_clean would look up again
    with a SELECT of its own (the key's constraint checks them at the insert all the same)."""
    exclude = list(stored) or None
    if fields is not None:
        wanted = set(fields)
        exclude = [f.name for f in Inquiry._meta.concrete_fields if f.name not in wanted or f.name in stored]
    inquiry.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    errors: dict[str, str] = {}
    for field in _ORDERED_TIMES:
        value = getattr(inquiry, field)
        if value is not None and value < inquiry.received_at:
            errors[field] = "受付日時より前の日時は指定できません。"
    if inquiry.call_id is not None and inquiry.channel != Inquiry.Channel.PHONE:
        errors["call"] = "通話を紐付けられるのは電話の問い合わせだけです。"
    if errors:
        raise ValidationError(errors)


def inquiry_new_ref(received_at: dt.datetime) -> str:
    local = timezone.localtime(received_at)
    # Six characters drawn at once: one number below 31⁶ (one read of the system's randomness,
    # not six: a bulk mail import draws thousands), written in the alphabet's digits.
    n, chars = secrets.randbelow(len(_REF_ALPHABET) ** 6), []
    for _ in range(6):
        n, digit = divmod(n, len(_REF_ALPHABET))
        chars.append(_REF_ALPHABET[digit])
    return f"EG-{local:%Y%m%d}-{''.join(chars)}"


def _check_new_inquiry(*, call: Call | None, assigned_to) -> None:
    """Rules of a new inquiry that need the database: one inquiry per call, and only staff
    operators can be its assignee."""
    errors: dict[str, str] = {}
    if call is not None and Inquiry.objects.filter(call=call).exists():
        errors["call"] = "この通話には既に問い合わせが記録されています。"
    if assigned_to is not None and not is_staff_operator(assigned_to):
        errors["assigned_to"] = "担当者にできるのはオペレーター・SV・管理者です。"
    if errors:
        raise ValidationError(errors)


def inquiry_create(
    *,
    channel: str,
    received_at: dt.datetime | None = None,
    subject: str = "",
    body: str = "",
    category: str = "",
    requester_name: str = "",
    requester_email: str = "",
    requester_phone: str = "",
    requester_organization: str = "",
    call: Call | None = None,
    source_message: EmailMessage | None = None,
    assigned_to=None,
    created_by=None,
    ref: str | None = None,
    **extra: Any,
) -> Inquiry:
    """Create an inquiry. A phone inquiry logged against a call takes the call's arrival
    as its received time unless told otherwise. A call carries at most one inquiry and the
    assignee must be a staff operator (ValidationError naming `call` / `assigned_to`)."""
    if received_at is None:
        received_at = call.arrived_at if call is not None else timezone.now()
    _check_new_inquiry(call=call, assigned_to=assigned_to)
    # The creator (the signed-in user, a command's operator) is a row read from the database:
    # validating it would read it once more (one SELECT per create).
    stored = ("created_by",) if created_by is not None and not created_by._state.adding else ()
    for attempt in range(5):
        inquiry = Inquiry(
            ref=ref or inquiry_new_ref(received_at),
            channel=channel,
            received_at=received_at,
            subject=subject,
            body=body,
            category=category,
            requester_name=requester_name,
            requester_email=requester_email,
            requester_phone=requester_phone,
            requester_organization=requester_organization,
            call=call,
            source_message=source_message,
            assigned_to=assigned_to,
            created_by=created_by,
            **extra,
        )
        _validate(inquiry, stored=stored)
        try:
            with transaction.atomic():
                inquiry.save(force_insert=True)
                if source_message is not None and source_message.inquiry_id is None:
                    EmailMessage.objects.filter(pk=source_message.pk).update(inquiry=inquiry)
                    source_message.inquiry = inquiry
                audit_record(
                    actor=created_by,
                    action=AuditEvent.Action.CREATE,
                    obj=inquiry,
                    changes={"channel": channel, "received_at": received_at.isoformat()},
                )
            return inquiry
        except IntegrityError:
            # A random ref collided (or the given ref/call is taken): retry only the former.
            if ref or not Inquiry.objects.filter(ref=inquiry.ref).exists() or attempt == 4:
                raise
    raise AssertionError("unreachable")


def inquiry_create_idempotent(*, created_by, idempotency_key: str = "", **fields: Any) -> tuple[Inquiry, bool]:
    """Create an inquiry once per (creator, `Idempotency-Key`): a retry with the same key
    returns the inquiry the first request stored, whatever the retried fields say.
    Returns (inquiry, replayed). A concurrent retry that loses the insert (unique constraint
    `inquiry_idempotency_key_per_user`) gets the stored one too."""
    key = (idempotency_key or "").strip()
    if len(key) > 128:
        raise ValidationError({"Idempotency-Key": "Idempotency-Key は128文字以内で指定してください。"})
    if key and (stored := inquiry_by_idempotency_key(user=created_by, key=key)):
        return stored, True
    try:
        with transaction.atomic():
            return inquiry_create(**fields, created_by=created_by, idempotency_key=key), False
    except IntegrityError:
        stored = inquiry_by_idempotency_key(user=created_by, key=key) if key else None
        if stored is None:
            raise
        return stored, True


def _check_version(inquiry: Inquiry, expected_version: int | None) -> None:
    if expected_version is not None and inquiry.version != expected_version:
        raise ConflictError(
            "この問い合わせは他のユーザーによって更新されています。再読み込みしてください。",
            extra={"current_version": inquiry.version, "your_version": expected_version},
        )


def _lock(inquiry_id: int) -> Inquiry:
    """The row, locked, with what the detail response shows beside it (the lock is on the
    inquiry only: `of=("self",)`)."""
    return Inquiry.objects.select_for_update(of=("self",)).select_related("assigned_to", "call").get(pk=inquiry_id)


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "契約指標に関わる項目の訂正には理由が必要です。"})
    return reason


def _write(
    locked: Inquiry, *, actor, data: dict[str, Any], action: str = AuditEvent.Action.UPDATE, reason: str = "", note=""
) -> Inquiry:
    """The one place an inquiry row is changed after it was created: apply `data`, bump
    the version, validate, save and leave the audit row (old/new values, personal
    information masked; a correction's reason in `changes` and `note`)."""
    changes = diff_fields(locked, data, pii_fields=PII_FIELDS)
    if not changes:
        return locked
    for field, value in data.items():
        setattr(locked, field, value)
    locked.version += 1
    _validate(locked, fields=data)
    locked.save(update_fields=[*data.keys(), "version", "updated_at"])
    audit_record(actor=actor, action=action, obj=locked, changes=changes, note=note, reason=reason)
    return locked


@transaction.atomic
def inquiry_update(
    *, inquiry: Inquiry, actor, data: dict[str, Any], expected_version: int | None, reason: str = ""
) -> Inquiry:
    """Change editable fields. `expected_version` is the version the client read: a stale
    one raises ConflictError instead of overwriting someone else's change. Changing a field
    that feeds a contract figure (`ministry_guidance`) is a correction: it needs `reason`."""
    if not is_staff_operator(actor):
        raise PermissionDeniedError("問い合わせを更新する権限がありません。")
    unknown = set(data) - UPDATABLE_FIELDS
    if unknown:
        raise InvalidTransitionError(f"更新できない項目です: {', '.join(sorted(unknown))}")
    locked = _lock(inquiry.pk)
    _check_version(locked, expected_version)
    if any(f in KPI_FIELDS and getattr(locked, f) != v for f, v in data.items()):
        reason = _require_reason(reason)
    return _write(locked, actor=actor, data=data, reason=reason)


@transaction.atomic
def inquiry_correct(
    *, inquiry: Inquiry, actor, data: dict[str, Any], reason: str, expected_version: int | None = None
) -> Inquiry:
    """A supervisor corrects a field that feeds a contract figure (CORRECTABLE_FIELDS:
    channel, received_at, first_answered_at, wrapup_completed_at, resolved_at,
    ministry_guidance). The reason is required and kept in the audit row with the old and
    new values; the version is bumped. The model's rules still hold (no answer before the
    question, a call only on a phone inquiry)."""
    if not is_supervisor(actor):
        raise PermissionDeniedError("契約指標に関わる項目を訂正できるのはSVのみです。")
    unknown = set(data) - CORRECTABLE_FIELDS
    if unknown:
        raise ValidationError({f: "この項目は訂正の対象ではありません。" for f in sorted(unknown)})
    reason = _require_reason(reason)
    locked = _lock(inquiry.pk)
    _check_version(locked, expected_version)
    return _write(locked, actor=actor, data=data, reason=reason)


@transaction.atomic
def inquiry_assign(*, inquiry: Inquiry, actor, assignee, expected_version: int | None = None) -> Inquiry:
    """Agents take inquiries for themselves; supervisors assign anyone. Only staff
    operators can be assignees."""
    if not is_staff_operator(actor):
        raise PermissionDeniedError("担当者を変更する権限がありません。")
    if assignee is not None and not is_staff_operator(assignee):
        raise ValidationError({"assignee": "担当者にできるのはオペレーター・SV・管理者です。"})
    if assignee is not None and assignee != actor and not is_supervisor(actor):
        raise PermissionDeniedError("他の担当者への割当はSVのみ行えます。")
    locked = _lock(inquiry.pk)
    _check_version(locked, expected_version)
    notify_assignment(inquiry=locked, assignee=assignee, actor=actor)
    return _write(locked, actor=actor, data={"assigned_to": assignee})


def _move(locked: Inquiry, *, actor, status: str, at: dt.datetime | None = None, note: str = "") -> Inquiry:
    """Apply one status move (already checked against Inquiry.TRANSITIONS) to a locked row:
    resolving stamps `resolved_at`, reopening clears it; version bumped, TRANSITION row."""
    at = at or timezone.now()
    old = locked.status
    locked.status = status
    fields = ["status", "version", "updated_at"]
    if status in (Inquiry.Status.RESOLVED, Inquiry.Status.CLOSED) and locked.resolved_at is None:
        locked.resolved_at = max(at, locked.received_at)
        fields.append("resolved_at")
    if status == Inquiry.Status.IN_PROGRESS and old in (Inquiry.Status.RESOLVED, Inquiry.Status.CLOSED):
        locked.resolved_at = None  # reopened
        fields.append("resolved_at")
    locked.version += 1
    locked.save(update_fields=fields)
    audit_record(
        actor=actor,
        action=AuditEvent.Action.TRANSITION,
        obj=locked,
        changes={"status": {"old": old, "new": status}},
        note=note,
    )
    return locked


@transaction.atomic
def inquiry_transition(
    *, inquiry: Inquiry, actor, status: str, expected_version: int | None = None, at: dt.datetime | None = None
) -> Inquiry:
    """Move an inquiry along its workflow (Inquiry.TRANSITIONS). Resolving stamps
    `resolved_at`; a phone inquiry's wrap-up is completed no later than its resolution."""
    if not is_staff_operator(actor):
        raise PermissionDeniedError("状態を変更する権限がありません。")
    locked = _lock(inquiry.pk)
    _check_version(locked, expected_version)
    if not locked.can_transition_to(status):
        raise InvalidTransitionError(
            f"「{locked.get_status_display()}」から「{Inquiry.Status(status).label}」へは変更できません。",
            extra={"from": locked.status, "to": status, "allowed": list(Inquiry.TRANSITIONS[locked.status])},
        )
    return _move(locked, actor=actor, status=status, at=at)


# The automatic status moves below run inside the write that caused them (a mail import's
# per-message savepoint, a reply, an escalation) and raise no business error of their own:
# they join that transaction instead of opening a savepoint each (two round trips saved
# per move, which a mail import makes once per answer).
_system_move = transaction.atomic(savepoint=False)


def _has_open_escalation(inquiry: Inquiry) -> bool:
    return Escalation.objects.filter(inquiry_id=inquiry.pk, returned_at__isnull=True).exists()


@_system_move
def inquiry_mark_answered(*, inquiry: Inquiry, actor=None, note: str = "") -> Inquiry:
    """An answer went to the citizen: `new` / `in_progress` → `answered` (回答済, awaiting the
    citizen); `escalated` → `answered` only when no escalation is still waiting for its
    answer (until then the inquiry is still with the other party). Other statuses (already
    answered, resolved, closed) stay. Callers check who may answer; this is the rule."""
    locked = _lock(inquiry.pk)
    if locked.status not in ANSWERABLE_STATUSES:
        return locked
    if locked.status == Inquiry.Status.ESCALATED and _has_open_escalation(locked):
        return locked
    return _move(locked, actor=actor, status=Inquiry.Status.ANSWERED, note=note or "answer sent")


@_system_move
def inquiry_mark_citizen_replied(*, inquiry: Inquiry, actor=None, note: str = "") -> Inquiry:
    """The citizen wrote back after our answer: `answered` (or `new`, when the answer was
    imported after the follow-up) → `in_progress`: the ball is back with the agents. Other
    statuses stay (a resolved inquiry is reopened by hand)."""
    locked = _lock(inquiry.pk)
    if locked.status not in (Inquiry.Status.ANSWERED, Inquiry.Status.NEW):
        return locked
    return _move(locked, actor=actor, status=Inquiry.Status.IN_PROGRESS, note=note or "citizen replied")


@_system_move
def inquiry_mark_escalated(*, inquiry: Inquiry, actor=None, note: str = "") -> Inquiry:
    """A new escalation: `new` / `in_progress` → `escalated`; other statuses stay."""
    locked = _lock(inquiry.pk)
    if locked.status not in (Inquiry.Status.NEW, Inquiry.Status.IN_PROGRESS):
        return locked
    return _move(locked, actor=actor, status=Inquiry.Status.ESCALATED, note=note or "escalated")


@_system_move
def inquiry_mark_escalation_returned(*, inquiry: Inquiry, actor=None, note: str = "") -> Inquiry:
    """An escalation's answer came back: `escalated` → `in_progress` so the agent answers
    the citizen — once no other escalation of the inquiry is still open."""
    locked = _lock(inquiry.pk)
    if locked.status != Inquiry.Status.ESCALATED or _has_open_escalation(locked):
        return locked
    return _move(locked, actor=actor, status=Inquiry.Status.IN_PROGRESS, note=note or "escalation answered")


@transaction.atomic
def inquiry_complete_wrapup(
    *, inquiry: Inquiry, actor, at: dt.datetime | None = None, expected_version: int | None = None
) -> Inquiry:
    """The agent finished the record for a phone call: the end of after-call work when the
    PBX does not measure it (kpi.md §2). Completing twice keeps the first time (changing it
    is a correction, `inquiry_correct`). Only a phone inquiry logged against a call has a
    wrap-up."""
    if not is_staff_operator(actor):
        raise PermissionDeniedError("後処理を完了する権限がありません。")
    locked = _lock(inquiry.pk)
    if locked.channel != Inquiry.Channel.PHONE or locked.call_id is None:
        raise InvalidTransitionError("後処理は通話に紐づく電話の問い合わせにのみ記録できます。")
    _check_version(locked, expected_version)
    if locked.wrapup_completed_at is not None:
        return locked
    return _write(locked, actor=actor, data={"wrapup_completed_at": max(at or timezone.now(), locked.received_at)})


@transaction.atomic
def inquiry_mark_first_answer(*, inquiry: Inquiry, at: dt.datetime, actor=None, note: str = "") -> bool:
    """Set first_answered_at if it is unset or later than `at` (mail may be imported out of
    order). The row is locked, so concurrent answers cannot race; a change bumps the version
    and leaves an audit row like every other write. Returns whether it changed."""
    if inquiry.first_answered_at is not None and inquiry.first_answered_at <= at:
        # Already answered no later than `at`: nothing to lock or write. (Outside a
        # correction the stamp only moves earlier, so the row is no later than this copy.)
        return False
    locked = _lock(inquiry.pk)
    if locked.first_answered_at is not None and locked.first_answered_at <= at:
        return False
    _write(locked, actor=actor, data={"first_answered_at": at}, note=note or "first answer")
    inquiry.first_answered_at, inquiry.version = locked.first_answered_at, locked.version
    return True
