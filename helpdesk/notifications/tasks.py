"""Celery beat task of the notifications. Thin: call a service. The mail copy's task is in
send_tasks.py, so the services (which queue it) never import this module back."""

from celery import shared_task

from helpdesk.notifications.services import notify_mail_due_soon

__all__ = ["notifications_mail_due_soon"]


@shared_task(name="helpdesk.notifications.tasks.notifications_mail_due_soon", ignore_result=True)
def notifications_mail_due_soon() -> int:
    """Beat: remind assignees of mail inquiries about to pass the 24-hour target (once each)."""
    return notify_mail_due_soon()
