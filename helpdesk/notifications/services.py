"""Writes on notifications. `notify` is the one writer; the `notify_*` triggers below are
what the other services call (one line each) when something happens that a staff member
must see. A trigger never raises a business error into the write that called it and never
waits for mail: the optional mail copy is queued after commit and a failure there is only
logged (helpdesk.notifications.send_tasks)."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from helpdesk.clock import Month
from helpdesk.errors import NotFoundError
from helpdesk.models import AuditEvent, EmailMessage, Escalation, Inquiry, Notification, NotificationPreference
from helpdesk.notifications.send_tasks import notification_send_mail
from kpi.selectors import kpi_target_for

logger = logging.getLogger(__name__)

Kind = Notification.Kind


def notify(
    recipient,
    kind: str,
    inquiry: Inquiry | None = None,
    *,
    actor=None,
    at: dt.datetime | None = None,
) -> Notification | None:
    """Tell `recipient` about `kind` (on `inquiry`). Nobody is told about their own action
    and an inactive account is told nothing: both return None. The 24-hour reminder exists
    once per inquiry (constraint `notification_due_soon_once`): a second one returns None."""
    if recipient is None or not getattr(recipient, "is_active", True):
        return None
    if actor is not None and getattr(actor, "pk", None) == recipient.pk:
        return None
    notification = Notification(
        recipient=recipient, kind=kind, inquiry=inquiry, actor=actor, created_at=at or timezone.now()
    )
    try:
        with transaction.atomic():
            notification.save(force_insert=True)
    except IntegrityError:
        if kind == Kind.MAIL_DUE_SOON:
            return None
        raise
    if _wants_mail(recipient):
        _mail_copy_on_commit(notification.pk)
    return notification


def _wants_mail(user) -> bool:
    return bool(user.email) and NotificationPreference.objects.filter(user=user, email_copy=True).exists()


def _mail_copy_on_commit(pk: int) -> None:
    def enqueue() -> None:
        try:
            notification_send_mail.delay(pk)
        except Exception:  # broker down: the in-app notification is there; the copy is optional
            logger.warning("notifications: could not queue the mail copy of %s", pk)

    transaction.on_commit(enqueue)


# --- triggers (called from the services that see the event) --------------------------------


def notify_assignment(*, inquiry: Inquiry, assignee, actor) -> Notification | None:
    """Called by inquiry_assign with the row as it was read (locked) before the change: the
    new assignee is told, unless they took it themselves or nothing changes."""
    if assignee is None or inquiry.assigned_to_id == assignee.pk:
        return None
    return notify(assignee, Kind.ASSIGNED, inquiry, actor=actor)


def notify_citizen_replied(*, inquiry: Inquiry, message: EmailMessage) -> Notification | None:
    """Called by the mail intake when a message threads into an existing inquiry: a citizen's
    own message (not our outbound copy, not an auto-reply) tells the assignee."""
    if message.direction != EmailMessage.Direction.INBOUND or message.is_auto_acknowledgement:
        return None
    if inquiry.assigned_to_id is None:
        return None
    return notify(inquiry.assigned_to, Kind.CITIZEN_REPLIED, inquiry)


def notify_escalation_returned(*, escalation: Escalation, actor) -> Notification | None:
    """Called when an escalation's answer is recorded: the inquiry's assignee is told, or,
    with nobody assigned, the agent who asked for the escalation."""
    inquiry = escalation.inquiry
    recipient = inquiry.assigned_to if inquiry.assigned_to_id else escalation.requested_by
    return notify(recipient, Kind.ESCALATION_RETURNED, inquiry, actor=actor)


def notify_reply_failed(*, message: EmailMessage) -> Notification | None:
    """Called when the outbox gives up on a message (retries exhausted, or delivery unknown):
    the inquiry's assignee is told, or, with nobody assigned, whoever wrote the reply."""
    if not message.inquiry_id:
        return None
    inquiry = Inquiry.objects.select_related("assigned_to").get(pk=message.inquiry_id)
    recipient = inquiry.assigned_to
    if recipient is None:
        author = (
            AuditEvent.objects.filter(
                object_type=EmailMessage._meta.label_lower,
                object_id=str(message.pk),
                action=AuditEvent.Action.CREATE,
                actor__isnull=False,
            )
            .select_related("actor")
            .first()
        )
        recipient = author.actor if author else None
    return notify(recipient, Kind.REPLY_FAILED, inquiry)


# --- the 24-hour reminder (Celery beat: helpdesk.notifications.tasks) --------------------------


def mail_due_soon_window() -> dt.timedelta:
    return dt.timedelta(minutes=settings.HELPDESK_NOTIFY_DUE_SOON_MINUTES)


def mail_target_seconds(now: dt.datetime) -> int:
    """The contract's mail target (kpi-rules.md §3: first answer in under 24 h, calendar
    time) for the month of `now`, as the KPI reads it (KpiTarget.email_max_seconds)."""
    return kpi_target_for(month=Month.of(now)).email_max_seconds


def mail_due_soon_candidates(*, now: dt.datetime | None = None):
    """Assigned, unanswered mail and form inquiries whose target time (received + target)
    falls in (now, now + window], that are in the §3 population (not handed over to the
    responsible section or its designee) and have had no reminder yet."""
    now = now or timezone.now()
    target = dt.timedelta(seconds=mail_target_seconds(now))
    handed_over = Escalation.objects.filter(inquiry=OuterRef("pk"), target__in=Escalation.RESPONSIBLE_SECTION_TARGETS)
    reminded = Notification.objects.filter(inquiry=OuterRef("pk"), kind=Kind.MAIL_DUE_SOON)
    return (
        Inquiry.objects.filter(
            channel__in=[Inquiry.Channel.EMAIL, Inquiry.Channel.FORM],
            status__in=[Inquiry.Status.NEW, Inquiry.Status.IN_PROGRESS, Inquiry.Status.ESCALATED],
            assigned_to__isnull=False,
            first_answered_at__isnull=True,
            received_at__gt=now - target,
            received_at__lte=now - target + mail_due_soon_window(),
        )
        .exclude(Exists(handed_over))
        .exclude(Exists(reminded))
        .select_related("assigned_to")
    )


def notify_mail_due_soon(*, now: dt.datetime | None = None) -> int:
    """Remind each assignee of their mail inquiries about to pass the target. Idempotent:
    one reminder per inquiry, whoever is assigned later and however often this runs.
    Returns how many reminders were written."""
    now = now or timezone.now()
    written = 0
    for inquiry in mail_due_soon_candidates(now=now).order_by("received_at", "id")[:500]:
        if notify(inquiry.assigned_to, Kind.MAIL_DUE_SOON, inquiry, at=now) is not None:
            written += 1
    return written


# --- the reader's own actions --------------------------------------------------------------


def notification_mark_read(*, user, pk: int) -> Notification:
    """Mark one of the user's notifications read (someone else's is 'not found')."""
    notification = Notification.objects.filter(pk=pk, recipient=user).first()
    if notification is None:
        raise NotFoundError("通知が見つかりません。")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notification_mark_all_read(*, user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())


def notification_preference_set(*, user, email_copy: bool) -> NotificationPreference:
    preference, _ = NotificationPreference.objects.update_or_create(user=user, defaults={"email_copy": email_copy})
    return preference
