"""API tokens: issuing one is a login, audit-logged like any other."""

from rest_framework.authtoken.models import Token

from helpdesk.models import AuditEvent
from helpdesk.services.audit import audit_record


def auth_token_issue(*, user) -> Token:
    """The user's API token (created on first use) and a LOGIN audit row."""
    token, _ = Token.objects.get_or_create(user=user)
    audit_record(actor=user, action=AuditEvent.Action.LOGIN, object_type="auth.token", object_id=str(user.pk))
    return token
