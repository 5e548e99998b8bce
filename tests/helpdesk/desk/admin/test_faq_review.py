"""FAQ review on the admin's desk: evidence, personal-information warnings, edit, publish
(who and when recorded), retire; bad input is a form error, never a 500."""

import pytest
import time_machine
from django.urls import reverse

from faq.models import FaqEntry
from helpdesk.models import AuditEvent
from tests.factories import InquiryFactory, tokyo
from tests.factories.faq import FaqEntryFactory, SurgeAlertFactory, TopicClusterFactory

pytestmark = pytest.mark.django_db

PHONE_QUESTION = "証明書の期限が切れました。折り返しは090-1234-5678までお願いします。"


def _url(entry, name="desk:admin:faq-detail"):
    return reverse(name, args=[entry.pk])


def _post(client, entry, action, **data):
    body = {"question": entry.question, "answer": entry.answer, "version": entry.version, "action": action}
    return client.post(_url(entry), {**body, **data})


def test_the_list_shows_drafts_with_their_keywords_and_surge(admin_client):
    surge = SurgeAlertFactory()
    FaqEntryFactory(source_cluster=surge.cluster, source_surge=surge)
    body = admin_client.get(reverse("desk:admin:faq")).content.decode()
    assert "電子証明書の有効期限が切れたら" in body
    assert "証明書・有効期限・更新" in body
    assert surge.explanation in body


def test_the_review_page_shows_the_evidence(admin_client):
    inquiry = InquiryFactory(subject="証明書の期限切れで署名できない")
    cluster = TopicClusterFactory(central_inquiries=[inquiry.pk])
    surge = SurgeAlertFactory(cluster=cluster)
    entry = FaqEntryFactory(source_cluster=cluster, source_surge=surge)
    body = admin_client.get(_url(entry)).content.decode()
    assert "証明書・有効期限・更新" in body
    assert "証明書の期限切れで署名できない" in body and inquiry.ref in body
    assert "2026-09-21" in body and 'value="9"' in body  # the weekly counts, with a meter
    assert surge.explanation in body


def test_the_review_page_says_where_the_proposed_answer_came_from(admin_client):
    """An answer made from phone notes' advice asks the admin to check it answers the question
    and to fill in the steps; an entry written by hand says nothing."""
    entry = FaqEntryFactory(answer="提出先へご確認ください。", answer_source=FaqEntry.AnswerSource.PHONE_NOTES)
    body = admin_client.get(_url(entry)).content.decode()
    assert 'id="answer-source"' in body and "電話メモの案内内容" in body and "補ってから公開してください" in body
    entry = FaqEntryFactory(answer="手で書いた回答です。", source_cluster=None)
    assert 'id="answer-source"' not in admin_client.get(_url(entry)).content.decode()


def test_personal_information_is_warned_about_and_blocks_publishing(admin_client):
    entry = FaqEntryFactory(question=PHONE_QUESTION)
    body = admin_client.get(_url(entry)).content.decode()
    assert "個人情報と思われる記載が残っています" in body
    assert "電話番号" in body and "090-1234-5678" in body

    response = _post(admin_client, entry, "publish")
    assert response.status_code == 400
    assert "個人情報と思われる記載があるため公開できません" in response.content.decode()
    entry.refresh_from_db()
    assert entry.status == FaqEntry.Status.DRAFT and entry.question == PHONE_QUESTION


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("問い合わせは taro.yamada@example.jp へ", "メールアドレス"),
        ("番号 1234 5678 9012 を入力", "12桁の番号"),
        ("東京都千代田区霞が関1-2-3 の窓口", "住所"),
        ("担当の鈴木です。", "氏名"),
    ],
)
def test_each_kind_of_personal_information_is_warned_about(admin_client, text, label):
    entry = FaqEntryFactory(answer=text)
    body = admin_client.get(_url(entry)).content.decode()
    assert "個人情報と思われる記載が残っています" in body and label in body


@time_machine.travel(tokyo(2026, 10, 2, 10, 0), tick=False)
def test_edit_out_the_phone_number_and_publish_records_who_and_when(admin_client, admin_user, client):
    entry = FaqEntryFactory(question=PHONE_QUESTION)
    response = _post(admin_client, entry, "publish", question="証明書の期限が切れたときの手続は？")
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.status == FaqEntry.Status.PUBLISHED
    assert entry.published_by == admin_user and entry.published_at == tokyo(2026, 10, 2, 10, 0)
    assert AuditEvent.objects.filter(object_type="faq.faqentry", object_id=str(entry.pk), actor=admin_user).count() == 2
    client.logout()
    assert "証明書の期限が切れたときの手続は？" in client.get("/faq/").content.decode()


def test_save_keeps_a_draft_a_draft(admin_client):
    entry = FaqEntryFactory()
    assert _post(admin_client, entry, "save", answer="新しい回答").status_code == 302
    entry.refresh_from_db()
    assert entry.status == FaqEntry.Status.DRAFT and entry.answer == "新しい回答"


def test_retire_records_who(admin_client, admin_user):
    entry = FaqEntryFactory()
    assert _post(admin_client, entry, "retire").status_code == 302
    entry.refresh_from_db()
    assert entry.status == FaqEntry.Status.RETIRED and entry.retired_by == admin_user


def test_a_stale_version_is_a_409_with_the_message(admin_client):
    entry = FaqEntryFactory()
    response = _post(admin_client, entry, "save", version=entry.version + 5, answer="x")
    assert response.status_code == 409
    assert "他の管理者が更新済みです" in response.content.decode()


@pytest.mark.parametrize(
    "data",
    [{"question": ""}, {"version": "abc"}, {"action": "delete"}, {"question": "x" * 501}],
)
def test_bad_input_is_a_400_form_error(admin_client, data):
    entry = FaqEntryFactory()
    response = _post(admin_client, entry, data.pop("action", "save"), **data)
    assert response.status_code == 400
    entry.refresh_from_db()
    assert entry.version == 1


def test_publishing_without_an_answer_names_the_field(admin_client):
    entry = FaqEntryFactory(answer="")
    response = _post(admin_client, entry, "publish")
    assert response.status_code == 400
    assert "回答を入力してから公開してください" in response.content.decode()


def test_the_live_check_answers_with_the_warnings(admin_client):
    entry = FaqEntryFactory()
    response = admin_client.post(_url(entry, "desk:admin:faq-check"), {"question": "q", "answer": "TEL 03-5521-8890"})
    assert response.status_code == 200
    assert "電話番号" in response.content.decode()
    clean = admin_client.post(_url(entry, "desk:admin:faq-check"), {"question": "q", "answer": "更新してください"})
    assert "見つかりません" in clean.content.decode()


def test_an_unknown_entry_is_a_404(admin_client):
    assert admin_client.get(reverse("desk:admin:faq-detail", args=[999999])).status_code == 404
