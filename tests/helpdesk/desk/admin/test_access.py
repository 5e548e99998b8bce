"""Only admins open the admin's desk: every page and action is 403 for the other roles (with
no personal data in the answer) and a sign-in redirect for visitors."""

import pytest
from django.urls import reverse

from faq.models import ClusterSplit, FaqEntry
from helpdesk.imports.services import import_run_create_pending
from helpdesk.models import ImportRun
from tests.factories import InquiryFactory, UserFactory, tokyo
from tests.factories.faq import FaqEntryFactory, IvrAnnouncementFactory, TopicClusterFactory

pytestmark = pytest.mark.django_db

SECRET_NAME = "秘密 花子"
SECRET_PHONE = "03-9999-0000"


@pytest.fixture
def records(db):
    inquiry = InquiryFactory(requester_name=SECRET_NAME, subject=f"{SECRET_NAME}の申請", requester_phone=SECRET_PHONE)
    entry = FaqEntryFactory(
        question=f"{SECRET_PHONE}に折り返し", source_cluster=TopicClusterFactory(central_inquiries=[inquiry.pk])
    )
    ann = IvrAnnouncementFactory()
    split = ClusterSplit.objects.create(
        cluster=entry.source_cluster,
        new_cluster=TopicClusterFactory(),
        created_at=tokyo(2026, 9, 30, 10, 0),
        moved=1,
        stayed=1,
    )
    run = import_run_create_pending(kind=ImportRun.Kind.CALLS_GENERIC, source_name="x.csv")
    user = UserFactory(username="victim")
    return {"entry": entry, "ann": ann, "run": run, "user": user, "inquiry": inquiry, "split": split}


def _pages(r):
    return [
        reverse("desk:admin:home"),
        reverse("desk:admin:faq"),
        reverse("desk:admin:faq-detail", args=[r["entry"].pk]),
        reverse("desk:admin:faq-split-search", args=[r["entry"].pk]) + "?words=申請",
        reverse("desk:admin:ivr"),
        reverse("desk:admin:calendar"),
        reverse("desk:admin:imports"),
        reverse("desk:admin:import-run", args=[r["run"].pk]),
        reverse("desk:admin:import-run-progress", args=[r["run"].pk]),
        reverse("desk:admin:users"),
    ]


def _actions(r):
    return [
        (reverse("desk:admin:faq-detail", args=[r["entry"].pk]), {"action": "retire"}),
        (reverse("desk:admin:faq-check", args=[r["entry"].pk]), {"question": "q"}),
        (reverse("desk:admin:faq-split", args=[r["entry"].pk]), {"marked": [r["inquiry"].pk], "shown": [1]}),
        (reverse("desk:admin:faq-split-withdraw", args=[r["entry"].pk, r["split"].pk]), {"note": "x"}),
        (reverse("desk:admin:ivr-close", args=[r["ann"].pk]), {}),
        (reverse("desk:admin:ivr-approve", args=[r["ann"].pk]), {}),
        (reverse("desk:admin:calendar-month"), {"fiscal_year": 2026, "month": 9, "period_type": "busy", "reason": "x"}),
        (reverse("desk:admin:calendar-target-new"), {}),
        (reverse("desk:admin:calendar-day"), {}),
        (reverse("desk:admin:calendar-day-remove"), {"date": "2026-09-15"}),
        (reverse("desk:admin:calendar-hours"), {}),
        (reverse("desk:admin:imports"), {}),
        (reverse("desk:admin:users"), {"username": "x"}),
        (reverse("desk:admin:user-role", args=[r["user"].pk]), {"role": "admin"}),
        (reverse("desk:admin:user-active", args=[r["user"].pk]), {"active": "0"}),
    ]


def test_an_admin_opens_every_page(client, admin_user, records):
    client.force_login(admin_user)
    for url in _pages(records):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("who", ["agent", "supervisor", "reviewer", "nobody"])
def test_other_roles_get_403_without_personal_data(client, request, records, who):
    client.force_login(request.getfixturevalue(who))
    for url in _pages(records):
        response = client.get(url)
        assert response.status_code == 403, url
        body = response.content.decode()
        assert SECRET_NAME not in body and SECRET_PHONE not in body
    for url, data in _actions(records):
        response = client.post(url, data)
        assert response.status_code == 403, url
        assert SECRET_NAME not in response.content.decode()
    entry = FaqEntry.objects.get(pk=records["entry"].pk)
    assert entry.status == FaqEntry.Status.DRAFT
    assert records["user"].__class__.objects.get(pk=records["user"].pk).is_active
    assert list(ClusterSplit.objects.values_list("pk", "withdrawn_at")) == [(records["split"].pk, None)]


def test_visitors_are_sent_to_sign_in(client, records):
    for url in _pages(records):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


def test_wrong_methods_are_405_not_500(client, admin_user, records):
    client.force_login(admin_user)
    assert client.post(reverse("desk:admin:calendar")).status_code == 405
    assert client.get(reverse("desk:admin:calendar-month")).status_code == 405
    assert client.get(reverse("desk:admin:ivr-close", args=[records["ann"].pk])).status_code == 405
