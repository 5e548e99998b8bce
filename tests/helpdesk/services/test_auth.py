import pytest

from helpdesk.models import AuditEvent
from helpdesk.services.auth import auth_token_issue

pytestmark = pytest.mark.django_db


def test_issuing_a_token_is_an_audited_login_and_reuses_the_token(agent):
    first = auth_token_issue(user=agent)
    again = auth_token_issue(user=agent)

    assert first.key == again.key
    events = AuditEvent.objects.filter(action="login", object_type="auth.token", actor=agent)
    assert events.count() == 2
