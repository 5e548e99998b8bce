"""The desk's notification badge: the unread count in one query, only for staff who handle
inquiries (the badge is in templates/desk/base.html, on every desk page)."""

from django import template
from django.conf import settings

from helpdesk.notifications.selectors import notifications_unread_count
from helpdesk.roles import is_staff_operator

register = template.Library()


@register.inclusion_tag("desk/notifications/_badge_link.html", takes_context=True)
def notification_badge(context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not is_staff_operator(user):
        return {"show": False}
    return {
        "show": True,
        "unread": notifications_unread_count(user=user),
        "poll_seconds": settings.HELPDESK_NOTIFICATION_POLL_SECONDS,
    }
