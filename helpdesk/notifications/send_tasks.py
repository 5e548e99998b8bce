"""The task sending a notification's optional mail copy, queued by the services after commit.
Apart from tasks.py (which calls the services) so the services import it without a cycle.
Its name is a wire name (queued messages carry it): kept from when it lived in tasks.py."""

import logging

from celery import shared_task

from helpdesk.notifications.mail import notification_mail_send

logger = logging.getLogger(__name__)

__all__ = ["notification_send_mail"]


@shared_task(name="helpdesk.notifications.tasks.notification_send_mail", ignore_result=True)
def notification_send_mail(pk: int) -> str:
    """The optional mail copy of one notification, through the project's mail backend (the
    one the outbox sends with). Mail down: logged, the in-app notification stands."""
    try:
        return "sent" if notification_mail_send(pk=pk) else "skipped"
    except Exception as exc:
        logger.warning("notifications: mail copy of %s failed: %s", pk, type(exc).__name__)
        return "failed"
