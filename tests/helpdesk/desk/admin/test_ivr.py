"""IVR announcements on the admin's desk: approve (now or scheduled), the active one shown,
reject / withdraw; bad dates are form errors."""

import pytest
import time_machine
from django.urls import reverse

from faq.models import IvrAnnouncement
from tests.factories import tokyo
from tests.factories.faq import IvrAnnouncementFactory, SurgeAlertFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(tokyo(2026, 10, 2, 10, 0), tick=False):
        yield


def _approve(client, ann, starts="2026-10-02T09:00", ends="2026-10-09T18:00", text=None):
    p = f"ivr{ann.pk}"
    return client.post(
        reverse("desk:admin:ivr-approve", args=[ann.pk]),
        {f"{p}-text": text or ann.text, f"{p}-starts_at": starts, f"{p}-ends_at": ends},
    )


def test_a_proposal_is_shown_with_its_surge_and_approved_it_is_active(admin_client, admin_user):
    surge = SurgeAlertFactory()
    ann = IvrAnnouncementFactory(source_surge=surge)
    page = admin_client.get(reverse("desk:admin:ivr")).content.decode()
    assert surge.explanation in page and "放送中の案内はありません" in page
    assert _approve(admin_client, ann).status_code == 302
    ann.refresh_from_db()
    assert ann.status == IvrAnnouncement.Status.APPROVED and ann.approved_by == admin_user
    assert ann.starts_at == tokyo(2026, 10, 2, 9, 0)
    page = admin_client.get(reverse("desk:admin:ivr")).content.decode()
    active = page.split('id="h-active"')[1].split("</section>")[0]
    assert ann.text in active


def test_a_future_start_is_scheduled_not_active(admin_client):
    ann = IvrAnnouncementFactory()
    assert _approve(admin_client, ann, starts="2026-10-05T09:00", ends="2026-10-06T09:00").status_code == 302
    page = admin_client.get(reverse("desk:admin:ivr")).content.decode()
    assert "放送中の案内はありません" in page
    assert ann.text in page.split('id="h-scheduled"')[1]


@pytest.mark.parametrize(
    ("starts", "ends", "field_error"),
    [
        ("2026-10-09T09:00", "2026-10-02T09:00", "終了日時は開始日時より後にしてください"),
        ("yesterday", "2026-10-02T09:00", "ivr"),
        ("", "", "ivr"),
    ],
)
def test_bad_dates_are_a_400(admin_client, starts, ends, field_error):
    ann = IvrAnnouncementFactory()
    response = _approve(admin_client, ann, starts=starts, ends=ends)
    assert response.status_code == 400
    assert field_error in response.content.decode()
    ann.refresh_from_db()
    assert ann.status == IvrAnnouncement.Status.PROPOSED


def test_reject_then_closing_again_is_a_409_not_a_500(admin_client):
    ann = IvrAnnouncementFactory()
    url = reverse("desk:admin:ivr-close", args=[ann.pk])
    assert admin_client.post(url).status_code == 302
    ann.refresh_from_db()
    assert ann.status == IvrAnnouncement.Status.REJECTED
    response = admin_client.post(url)
    assert response.status_code == 409
    assert "既に終了しています" in response.content.decode()


def test_withdrawing_the_active_one_stops_it(admin_client):
    ann = IvrAnnouncementFactory()
    _approve(admin_client, ann)
    assert admin_client.post(reverse("desk:admin:ivr-close", args=[ann.pk])).status_code == 302
    ann.refresh_from_db()
    assert ann.status == IvrAnnouncement.Status.WITHDRAWN
    assert "放送中の案内はありません" in admin_client.get(reverse("desk:admin:ivr")).content.decode()
