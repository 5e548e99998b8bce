"""Celery tasks of the notifications. Thin: call a service, never fail the caller."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)

__all__ = ["notification_send_mail", "notifications_mail_due_soon"]


@shared_task(name="helpdesk.notifications.tasks.notifications_mail_due_soon", ignore_result=True)
def notifications_mail_due_soon() -> int:
    """Beat: remind assignees of mail inquiries about to pass the 24-hour target (once each)."""
    from helpdesk.notifications.services import notify_mail_due_soon

    return notify_mail_due_soon()


@shared_task(name="helpdesk.notifications.tasks.notification_send_mail", ignore_result=True)
def notification_send_mail(pk: int) -> str:
    """The optional mail copy of one notification, through the project's mail backend (the
    one the outbox sends with). Mail down: logged, the in-app notification stands."""
    from helpdesk.notifications.mail import notification_mail_send

    try:
        return "sent" if notification_mail_send(pk=pk) else "skipped"
    except Exception as exc:
        logger.warning("notifications: mail copy of %s failed: %s", pk, type(exc).__name__)
        return "failed"
