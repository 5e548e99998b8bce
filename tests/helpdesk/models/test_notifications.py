"""The notification and canned-response tables hold their rules themselves."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from helpdesk.models import CannedResponse, Notification
from tests.factories import InquiryFactory

pytestmark = pytest.mark.django_db


def test_one_due_soon_reminder_per_inquiry(agent, other_agent):
    inquiry = InquiryFactory()
    Notification.objects.create(recipient=agent, kind="mail_due_soon", inquiry=inquiry, created_at=timezone.now())
    Notification.objects.create(recipient=agent, kind="assigned", inquiry=inquiry, created_at=timezone.now())
    Notification.objects.create(recipient=agent, kind="assigned", inquiry=inquiry, created_at=timezone.now())
    second = Notification(recipient=other_agent, kind="mail_due_soon", inquiry=inquiry, created_at=timezone.now())
    with pytest.raises(ValidationError):
        second.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()


def test_an_unknown_kind_is_refused(agent):
    note = Notification(recipient=agent, kind="gossip", created_at=timezone.now())
    with pytest.raises(ValidationError):
        note.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        note.save()


@pytest.mark.parametrize("field", ["title", "body"])
def test_a_canned_response_needs_a_title_and_a_body(field):
    canned = CannedResponse(**{"title": "t", "body": "b", field: ""})
    with pytest.raises(ValidationError):
        canned.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        canned.save()
