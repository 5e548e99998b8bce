"""`make demo` shows a lived-in desk: canned responses, and notifications some read, some not."""

import pytest
from django.core.management import call_command
from django.db.models import F

from helpdesk.canned.services import canned_render
from helpdesk.models import CannedResponse, Inquiry, Notification

pytestmark = [pytest.mark.django_db, pytest.mark.slow]  # seeds the whole demo


def test_the_demo_has_canned_responses_and_notifications(capsys):
    call_command("seed_demo", "--password", "pw-for-tests-1")
    assert "canned responses" in capsys.readouterr().out

    assert CannedResponse.objects.filter(active=True).count() >= 3
    inquiry = Inquiry.objects.exclude(requester_name="").first()
    for canned in CannedResponse.objects.all():
        assert canned_render(canned.body, inquiry=inquiry).unknown == []
    kinds = set(Notification.objects.filter(recipient__username="agent").values_list("kind", flat=True))
    assert {Notification.Kind.ASSIGNED, Notification.Kind.ESCALATION_RETURNED} <= kinds
    unread = Notification.objects.filter(recipient__username="agent", read_at=None).count()
    assert 0 < unread < Notification.objects.filter(recipient__username="agent").count()
    # Everyone is told about what others did, never about their own action.
    assert not Notification.objects.filter(actor=F("recipient")).exists()
