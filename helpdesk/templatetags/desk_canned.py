"""Canned responses for the reply box, rendered for the inquiry at hand (one query)."""

from django import template

from helpdesk.canned.selectors import canned_responses_for
from helpdesk.canned.services import canned_render

register = template.Library()


@register.simple_tag(takes_context=True)
def canned_for(context, inquiry) -> list[dict]:
    request = context.get("request")
    agent = getattr(request, "user", None)
    return [
        {"canned": c, "rendered": canned_render(c.body, inquiry=inquiry, agent=agent)}
        for c in canned_responses_for(inquiry=inquiry)
    ]
