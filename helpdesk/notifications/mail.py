"""The optional mail copy of a notification. It names the kind and the inquiry's reference
and links to the desk; it holds none of the citizen's personal information (staff mailboxes
are outside the help desk's access rules). Sent by the send task
(send_tasks.py) only; it imports no service, so the services may queue that task."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone, translation

from helpdesk.models import Notification


def notification_mail_send(*, pk: int) -> bool:
    notification = Notification.objects.select_related("recipient", "inquiry").filter(pk=pk).first()
    if notification is None or notification.emailed_at is not None or not notification.recipient.email:
        return False
    with translation.override(settings.LANGUAGE_CODE):
        context = {"n": notification, "desk_url": settings.HELPDESK_DESK_URL.rstrip("/")}
        subject = render_to_string("emails/notification_subject.txt", context).strip()
        body = render_to_string("emails/notification.txt", context)
    send_mail(subject, body, settings.HELPDESK_FROM_ADDRESS, [notification.recipient.email], fail_silently=False)
    Notification.objects.filter(pk=pk).update(emailed_at=timezone.now())
    return True
