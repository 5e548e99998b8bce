"""FAQ API: public read, admin-only editing/publishing (each role), agents' suggestions and
usages, the monthly usage share, IVR approval and the PBX's active-announcement endpoint."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from faq import services
from faq.models import FaqCategory, FaqEntry
from helpdesk.models import AuditEvent
from tests.factories import InquiryFactory, tokyo

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(admin_user):
    cat = FaqCategory.objects.create(name="ブラウザ・環境", slug="browser", order=1)
    entries = []
    for q, a in [
        ("ブラウザで画面が真っ白になります", "キャッシュを削除し、Chrome・Edgeの最新版でお試しください。"),
        ("ペイジーで手数料を納付できません", "納付番号と確認番号をご確認ください。"),
        ("gBizIDでログインできません", "gBizIDアプリの設定をご確認ください。"),
    ]:
        e = services.faq_entry_create(actor=admin_user, question=q, answer=a, category=cat if "ブラウザ" in q else None)
        entries.append(services.faq_entry_publish(actor=admin_user, entry=e))
    draft = services.faq_entry_create(actor=admin_user, question="下書きの質問", answer="下書き")
    return entries, draft


def test_public_entries_list_shows_published_only_to_anyone(api, published):
    entries, draft = published
    res = api.get(reverse("api-faq-entry-list"))
    assert res.status_code == 200
    ids = {e["id"] for e in res.json()["results"]}
    assert ids == {e.pk for e in entries}
    assert "status" not in res.json()["results"][0]
    assert api.get(reverse("api-faq-entry-detail", args=[draft.pk])).status_code == 404


def test_public_entries_search_and_category(api, published):
    res = api.get(reverse("api-faq-entry-list"), {"q": "ペイジー 納付"})
    assert [e["question"] for e in res.json()["results"]] == ["ペイジーで手数料を納付できません"]
    res = api.get(reverse("api-faq-entry-list"), {"q": "ＣＨＲＯＭＥ"})  # full-width input is folded
    assert len(res.json()["results"]) == 1
    res = api.get(reverse("api-faq-entry-list"), {"category": "browser"})
    assert [e["category"]["slug"] for e in res.json()["results"]] == ["browser"]


@pytest.mark.parametrize("role", ["agent", "supervisor", "reviewer", "nobody"])
def test_non_admins_cannot_create_edit_publish_or_retire(api, role, request, published):
    entries, draft = published
    client = api.as_user(request.getfixturevalue(role))
    assert client.post(reverse("api-faq-entry-list"), {"question": "q"}, format="json").status_code == 403
    assert (
        client.patch(reverse("api-faq-entry-detail", args=[draft.pk]), {"question": "x", "version": 1}).status_code
        == 403
    )
    assert client.post(reverse("api-faq-entry-publish", args=[draft.pk])).status_code == 403
    assert client.post(reverse("api-faq-entry-retire", args=[entries[0].pk])).status_code == 403
    draft.refresh_from_db()
    entries[0].refresh_from_db()
    assert draft.status == "draft" and entries[0].status == "published"


def test_anonymous_cannot_publish(api, published):
    _, draft = published
    assert api.post(reverse("api-faq-entry-publish", args=[draft.pk])).status_code in (401, 403)


def test_admin_edits_publishes_and_retires(api, admin_user, published):
    entries, draft = published
    client = api.as_user(admin_user)
    res = client.patch(
        reverse("api-faq-entry-detail", args=[draft.pk]),
        {"question": "編集後の質問", "answer": "編集後の回答", "category": "browser", "version": draft.version},
        format="json",
    )
    assert res.status_code == 200 and res.json()["category"]["slug"] == "browser"
    stale = client.patch(reverse("api-faq-entry-detail", args=[draft.pk]), {"answer": "x", "version": 1}, format="json")
    assert stale.status_code == 409
    assert client.post(reverse("api-faq-entry-publish", args=[draft.pk])).json()["status"] == "published"
    assert client.post(reverse("api-faq-entry-retire", args=[draft.pk])).json()["status"] == "retired"
    res = client.get(reverse("api-faq-entry-list"), {"status": "retired"})
    assert [e["id"] for e in res.json()["results"]] == [draft.pk]
    assert AuditEvent.objects.filter(object_type="faq.faqentry", object_id=str(draft.pk)).count() == 4


def test_agents_get_the_nearest_published_entries(api, agent, published):
    entries, _ = published
    inquiry = InquiryFactory(subject="画面が白い", body="Chromeで申請画面を開くと真っ白で何も表示されません。")
    res = api.as_user(agent).get(reverse("api-faq-suggestions"), {"inquiry": inquiry.ref})
    assert res.status_code == 200
    assert res.json()[0]["entry"]["id"] == entries[0].pk
    anonymous = APIClient().get(reverse("api-faq-suggestions"), {"inquiry": inquiry.ref})
    assert anonymous.status_code in (401, 403)


def test_suggestions_for_a_reference_with_a_nul_byte_are_a_400_naming_it(api, agent):
    # found by the schemathesis run: PostgreSQL refuses NUL in text, so the look-up was a 500
    res = api.as_user(agent).get(reverse("api-faq-suggestions"), {"inquiry": "EG-\x00"})
    assert res.status_code == 400 and "inquiry" in res.json()["errors"], res.content


def test_usage_and_monthly_share(api, agent, supervisor, reviewer, published):
    entries, draft = published
    a = InquiryFactory(received_at=tokyo(2026, 10, 2, 10))
    InquiryFactory(received_at=tokyo(2026, 10, 3, 10))
    client = api.as_user(agent)
    res = client.post(reverse("api-faq-usage-create"), {"inquiry": a.ref, "entry": entries[1].pk}, format="json")
    assert res.status_code == 201
    again = client.post(reverse("api-faq-usage-create"), {"inquiry": a.ref, "entry": entries[1].pk}, format="json")
    assert again.status_code == 200
    not_published = client.post(reverse("api-faq-usage-create"), {"inquiry": a.ref, "entry": draft.pk}, format="json")
    assert not_published.status_code == 400
    assert (
        api.as_user(reviewer).post(reverse("api-faq-usage-create"), {"inquiry": a.ref, "entry": 1}).status_code == 403
    )
    share = api.as_user(reviewer).get(reverse("api-faq-usage-share"), {"month": "2026-10"}).json()
    assert share == {"month": "2026-10", "inquiries": 2, "answered_with_faq": 1, "share": 0.5}
    assert api.as_user(agent).get(reverse("api-faq-usage-share"), {"month": "2026-10"}).status_code == 403
    assert api.as_user(supervisor).get(reverse("api-faq-usage-share"), {"month": "10/2026"}).status_code == 400


def _client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user=user)
    return client


def test_ivr_approval_and_public_active_endpoint(admin_user, supervisor):
    pbx = _client()  # the PBX polls without credentials
    assert pbx.get(reverse("api-faq-ivr-active")).json()["active"] is False
    admin = _client(admin_user)
    ann = admin.post(
        reverse("api-faq-ivr-list"), {"text": "現在、ブラウザに関するお問い合わせが集中しております。"}, format="json"
    )
    assert ann.status_code == 201
    pk = ann.json()["id"]
    body = {"starts_at": "2020-01-01T09:00:00+09:00", "ends_at": "2099-01-01T09:00:00+09:00"}
    assert _client(supervisor).post(reverse("api-faq-ivr-approve", args=[pk]), body, format="json").status_code == 403
    assert pbx.post(reverse("api-faq-ivr-approve", args=[pk]), body, format="json").status_code in (401, 403)
    assert admin.post(reverse("api-faq-ivr-approve", args=[pk]), body, format="json").status_code == 200
    active = pbx.get(reverse("api-faq-ivr-active")).json()
    assert active["active"] is True and active["id"] == pk and "ブラウザ" in active["text"]
    assert admin.post(reverse("api-faq-ivr-close", args=[pk])).json()["status"] == "withdrawn"
    assert pbx.get(reverse("api-faq-ivr-active")).json()["active"] is False


def test_clusters_and_surges_are_for_supervisors_and_admins(api, agent, supervisor):
    assert api.as_user(agent).get(reverse("api-faq-cluster-list")).status_code == 403
    assert api.as_user(supervisor).get(reverse("api-faq-cluster-list")).status_code == 200
    assert api.as_user(supervisor).get(reverse("api-faq-surge-list")).status_code == 200


def test_settings_patch_admin_only(api, admin_user, supervisor):
    assert api.as_user(supervisor).patch(reverse("api-faq-settings"), {"surge_min_count": 3}).status_code == 403
    res = api.as_user(admin_user).patch(reverse("api-faq-settings"), {"surge_min_count": 3}, format="json")
    assert res.status_code == 200 and res.json()["surge_min_count"] == 3
    bad = api.as_user(admin_user).patch(reverse("api-faq-settings"), {"surge_alpha": 2}, format="json")
    assert bad.status_code == 400
    assert FaqEntry.objects.count() == 0


def test_publishing_personal_information_is_a_400_with_the_reason(api, admin_user):
    client = api.as_user(admin_user)
    entry = services.faq_entry_create(
        actor=admin_user, question="山田です。送信できません", answer="再送信してください。"
    )
    res = client.post(reverse("api-faq-entry-publish", args=[entry.pk]))
    assert res.status_code == 400
    assert "個人情報" in str(res.json()) and "氏名（山田）" in str(res.json())
    assert FaqEntry.objects.get(pk=entry.pk).status == FaqEntry.Status.DRAFT
    res = client.get(reverse("api-faq-entry-list"), {"status": "draft"})
    assert "pii_removed" in res.json()["results"][0]
