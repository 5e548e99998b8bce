"""The inquiry API: queue filters, Japanese search, cursor pages, query counts, create,
detail with audit, optimistic concurrency, validation errors, assign, transitions."""

import datetime as dt

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from helpdesk.models import AuditEvent, Escalation, Inquiry
from tests.factories import CallFactory, EmailMessageFactory, InquiryFactory, PhoneInquiryFactory, UserFactory, tokyo

pytestmark = pytest.mark.django_db
URL = "/api/inquiries/"


def refs(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["ref"] for row in response.json()["results"]]


# --- list: filters --------------------------------------------------------------------


def test_list_filters_by_status_channel_category_and_assignee(api, agent, other_agent):
    wanted = InquiryFactory(status=Inquiry.Status.IN_PROGRESS, channel="phone", category="login", assigned_to=agent)
    InquiryFactory(status=Inquiry.Status.NEW, channel="phone", category="login", assigned_to=agent)
    InquiryFactory(status=Inquiry.Status.IN_PROGRESS, channel="email", category="login", assigned_to=agent)
    InquiryFactory(status=Inquiry.Status.IN_PROGRESS, channel="phone", category="send_error", assigned_to=agent)
    InquiryFactory(status=Inquiry.Status.IN_PROGRESS, channel="phone", category="login", assigned_to=other_agent)
    client = api.as_user(agent)

    got = refs(
        client.get(URL, {"status": "in_progress", "channel": "phone", "category": "login", "assigned_to": agent.pk})
    )

    assert got == [wanted.ref]


def test_status_filter_accepts_several_values(api, agent):
    new = InquiryFactory(status=Inquiry.Status.NEW)
    escalated = InquiryFactory(status=Inquiry.Status.ESCALATED)
    InquiryFactory(status=Inquiry.Status.CLOSED)

    got = refs(api.as_user(agent).get(URL + "?status=new&status=escalated"))

    assert sorted(got) == sorted([new.ref, escalated.ref])


def test_list_filters_compile_to_in_without_distinct(api, agent):
    """SELECT DISTINCT (django-filter's default for multiple choices) would stop the database
    from reading the newest-first index in order on millions of rows."""
    InquiryFactory(status=Inquiry.Status.NEW)
    client = api.as_user(agent)
    client.get(URL, {"page_size": 1})

    with CaptureQueriesContext(connection) as ctx:
        client.get(URL + "?status=new&status=in_progress&channel=email")

    sql = ctx.captured_queries[-1]["sql"]
    assert "DISTINCT" not in sql
    assert '"status" IN (' in sql and '"channel" IN (' in sql


def test_received_range_reads_naive_times_as_tokyo(api, agent):
    before = InquiryFactory(received_at=tokyo(2026, 10, 1, 8, 59))
    inside = InquiryFactory(received_at=tokyo(2026, 10, 1, 9, 0))
    after = InquiryFactory(received_at=tokyo(2026, 10, 1, 18, 0))

    got = refs(
        api.as_user(agent).get(URL, {"received_after": "2026-10-01T09:00:00", "received_before": "2026-10-01T18:00:00"})
    )

    assert got == [inside.ref]
    assert before.ref not in got and after.ref not in got


def test_unknown_filter_value_is_a_400_naming_the_field(api, agent):
    response = api.as_user(agent).get(URL, {"status": "bogus"})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "status" in body["errors"]


# --- list: search -----------------------------------------------------------------------


def test_search_finds_japanese_substring_in_subject_or_body(api, agent):
    in_subject = InquiryFactory(subject="電子証明書の有効期限について", body="更新方法を知りたい")
    in_body = InquiryFactory(subject="質問", body="添付した電子証明書が読み込めません")
    InquiryFactory(subject="パスワードを忘れた", body="ログインできません")

    got = refs(api.as_user(agent).get(URL, {"q": "電子証明書"}))

    assert sorted(got) == sorted([in_subject.ref, in_body.ref])


def test_search_with_two_character_term(api, agent):
    hit = InquiryFactory(subject="申請の取下げ", body="")
    InquiryFactory(subject="ログインできない", body="パスワード")

    assert refs(api.as_user(agent).get(URL, {"q": "申請"})) == [hit.ref]


def test_search_normalises_half_width_kana_and_full_width_latin(api, agent):
    hit = InquiryFactory(subject="マイナンバーカードでログインできない", body="エラーコードはE123です")
    InquiryFactory(subject="電子申請の送信", body="送信エラー")

    client = api.as_user(agent)
    assert refs(client.get(URL, {"q": "ﾏｲﾅﾝﾊﾞｰｶｰﾄﾞ"})) == [hit.ref]
    assert refs(client.get(URL, {"q": "Ｅ１２３"})) == [hit.ref]


def test_search_finds_half_width_kana_stored_as_typed(api, agent):
    stored_half = InquiryFactory(subject="gBizIDｱﾌﾟﾘ", body="機種変更")
    stored_full = InquiryFactory(subject="Mac版アプリ", body="")
    InquiryFactory(subject="到達確認", body="")
    client = api.as_user(agent)

    expected = sorted([stored_half.ref, stored_full.ref])
    assert sorted(refs(client.get(URL, {"q": "アプリ"}))) == expected
    assert sorted(refs(client.get(URL, {"q": "ｱﾌﾟﾘ"}))) == expected


def test_search_finds_words_stored_in_mixed_widths(api, agent):
    etax = InquiryFactory(subject="ｅ－Ｔａｘとの連携", body="")
    mixed_kana = InquiryFactory(subject="", body="ｱプリが起動しない")
    id_full = InquiryFactory(subject="ＧビズＩＤの再発行", body="")
    InquiryFactory(subject="到達確認", body="")
    client = api.as_user(agent)

    assert refs(client.get(URL, {"q": "e-Tax"})) == [etax.ref]
    assert refs(client.get(URL, {"q": "e-tax"})) == [etax.ref]
    assert refs(client.get(URL, {"q": "アプリ"})) == [mixed_kana.ref]
    assert refs(client.get(URL, {"q": "Gビズid"})) == [id_full.ref]


def test_search_terms_separated_by_full_width_space_must_all_match(api, agent):
    both = InquiryFactory(subject="電子申請の送信エラー", body="")
    InquiryFactory(subject="電子申請の操作方法", body="")

    assert refs(api.as_user(agent).get(URL, {"q": "電子申請\u3000エラー"})) == [both.ref]


def test_search_treats_like_wildcards_literally(api, agent):
    hit = InquiryFactory(subject="進捗100%で止まる", body="")
    InquiryFactory(subject="進捗100で止まる", body="")

    assert refs(api.as_user(agent).get(URL, {"q": "100%"})) == [hit.ref]


# --- list: pages, masking, query counts -------------------------------------------------


def test_cursor_pagination_walks_every_row_once_in_recent_first_order(api, agent):
    base = tokyo(2026, 10, 1, 9, 0)
    made = [InquiryFactory(received_at=base + dt.timedelta(minutes=i % 7)) for i in range(25)]  # ties on purpose
    client = api.as_user(agent)

    seen: list[str] = []
    url = URL + "?page_size=10"
    while url:
        body = client.get(url).json()
        seen += [r["ref"] for r in body["results"]]
        url = body["next"]

    expected = [i.ref for i in sorted(made, key=lambda i: (i.received_at, i.pk), reverse=True)]
    assert seen == expected
    assert "count" not in body  # a cursor page never counts millions of rows


def test_list_masks_personal_information_and_writes_no_audit(api, agent):
    InquiryFactory(requester_name="山田 太郎", requester_email="taro@example.com", requester_phone="090-1234-5678")
    before = AuditEvent.objects.count()

    row = api.as_user(agent).get(URL).json()["results"][0]

    assert row["requester_name"] == "山＊＊"
    assert row["requester_email"] == "t***@***.com"
    assert row["requester_phone"] == "*******5678"
    assert "body" not in row
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("size", [10, 100])
def test_list_query_count_does_not_grow_with_page_size(api, agent, size):
    users = [UserFactory(roles=["agent"]) for _ in range(5)]
    for i in range(110):
        InquiryFactory(assigned_to=users[i % 5], received_at=tokyo(2026, 10, 1, 9, 0) + dt.timedelta(minutes=i))
    client = api.as_user(agent)
    client.get(URL + "?page_size=1")  # warm: the user's roles are read once per user

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(URL, {"page_size": size})

    assert len(response.json()["results"]) == size
    assert len(ctx.captured_queries) == 1  # one SELECT … JOIN auth_user … LIMIT


def test_query_count_equal_for_small_and_large_pages(api, agent, django_assert_num_queries):
    for i in range(105):
        InquiryFactory(assigned_to=agent, received_at=tokyo(2026, 10, 1, 9, 0) + dt.timedelta(minutes=i))
    client = api.as_user(agent)
    client.get(URL, {"page_size": 1})  # warm: roles are read once per user object
    with CaptureQueriesContext(connection) as small:
        client.get(URL, {"page_size": 10, "status": "new", "q": "送信"})
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(URL, {"page_size": 100, "status": "new", "q": "送信"})
    assert len(response.json()["results"]) == 100


# --- create ------------------------------------------------------------------------------


def test_create_phone_inquiry_against_a_call(api, agent):
    call = CallFactory(arrived_at=tokyo(2026, 10, 2, 11, 0))

    response = api.as_user(agent).post(
        URL,
        {"channel": "phone", "call_id": call.call_id, "subject": "ログインできない", "requester_name": "佐藤 花子"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["ref"].startswith("EG-20261002-")
    assert body["call_id"] == call.call_id
    assert response["ETag"] == '"v1"'
    inquiry = Inquiry.objects.get(ref=body["ref"])
    assert inquiry.received_at == call.arrived_at
    assert inquiry.created_by == agent
    assert AuditEvent.objects.filter(action="create", object_id=inquiry.ref, actor=agent).exists()


def test_create_and_its_replay_return_the_stored_record_without_reading_the_creator_again(api, agent):
    """The response is the stored row's generic record; the creator (the signed-in user) is not
    looked up again to validate the key, nor is the source mail read with the replay's row."""
    from helpdesk.inquiries.serializers import InquiryDetailSerializer

    payload = {"channel": "phone", "subject": "署名できない", "requester_phone": "0312345678", "category": "login"}
    client = api.as_user(agent)
    client.get(URL)  # warm: the user's roles are read once per user
    users = agent._meta.db_table

    with CaptureQueriesContext(connection) as created:
        first = client.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-create")
    with CaptureQueriesContext(connection) as replayed:
        retry = client.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-create")

    assert (first.status_code, retry.status_code) == (201, 200)
    stored = Inquiry.objects.select_related("assigned_to", "call").get(ref=first.json()["ref"])
    assert first.json() == retry.json() == InquiryDetailSerializer().generic_representation(stored)
    assert stored.created_by_id == agent.pk
    assert not [q for q in created.captured_queries if q["sql"].startswith(f'SELECT 1 AS "a" FROM "{users}"')]
    assert not [q for q in replayed.captured_queries if "helpdesk_emailmessage" in q["sql"]]
    rows = AuditEvent.objects.filter(object_id=stored.ref).order_by("id").values_list("action", "actor", "changes")
    assert list(rows) == [
        ("create", agent.pk, {"channel": "phone", "received_at": stored.received_at.isoformat()}),
        ("view_pii", agent.pk, {"fields": ["requester_phone"]}),
    ]


def test_create_for_a_creator_no_longer_stored_is_refused_by_the_key(agent):
    """The creator is not validated by a SELECT any more: the foreign key still refuses a row
    that names a user who does not exist."""
    from django.db import IntegrityError, transaction

    from helpdesk.inquiries.services import inquiry_create

    ghost = UserFactory.build(pk=987654)
    ghost._state.adding = False  # as if read, then deleted
    with pytest.raises(IntegrityError), transaction.atomic():
        inquiry_create(channel="phone", subject="幽霊", created_by=ghost)
        connection.check_constraints(table_names=[Inquiry._meta.db_table])  # PostgreSQL defers it to the commit


def test_create_with_idempotency_key_stores_one_inquiry_for_retries(api, agent, other_agent):
    payload = {"channel": "form", "subject": "到達確認", "requester_email": "a@example.com"}
    client = api.as_user(agent)

    first = client.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-123")
    retry = client.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-123")
    other = client.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-456")
    someone_else = api.as_user(other_agent).post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="k-123")

    assert (first.status_code, retry.status_code, other.status_code, someone_else.status_code) == (201, 200, 201, 201)
    assert retry.json()["ref"] == first.json()["ref"]
    assert retry["Idempotent-Replayed"] == "true"
    assert Inquiry.objects.filter(subject="到達確認").count() == 3


def test_concurrent_retry_that_loses_the_insert_gets_the_stored_inquiry(api, agent, monkeypatch):
    from helpdesk.inquiries import services as service
    from helpdesk.inquiries.selectors import inquiry_by_idempotency_key

    stored = InquiryFactory(created_by=agent, idempotency_key="k-race", subject="先に登録")
    calls = []

    def lookup_misses_once(**kwargs):  # the other request commits between our check and insert
        calls.append(kwargs)
        return None if len(calls) == 1 else inquiry_by_idempotency_key(**kwargs)

    monkeypatch.setattr(service, "inquiry_by_idempotency_key", lookup_misses_once)

    response = api.as_user(agent).post(URL, {"channel": "form"}, format="json", HTTP_IDEMPOTENCY_KEY="k-race")

    assert response.status_code == 200
    assert response.json()["ref"] == stored.ref
    assert Inquiry.objects.filter(idempotency_key="k-race").count() == 1


def test_idempotency_key_over_128_characters_is_400(api, agent):
    response = api.as_user(agent).post(URL, {"channel": "form"}, format="json", HTTP_IDEMPOTENCY_KEY="k" * 129)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
    assert not Inquiry.objects.exists()


def test_create_validation_error_is_400_with_field_and_message(api, agent):
    response = api.as_user(agent).post(URL, {"channel": "fax", "requester_email": "not-an-address"}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["message"]
    assert set(body["errors"]) == {"channel", "requester_email"}
    assert all(isinstance(m, str) and m for msgs in body["errors"].values() for m in msgs)


def test_create_refuses_a_call_already_logged(api, agent):
    inquiry = InquiryFactory(channel="phone", call=CallFactory())

    response = api.as_user(agent).post(URL, {"channel": "phone", "call_id": inquiry.call.call_id}, format="json")

    assert response.status_code == 400
    assert "call_id" in response.json()["errors"]


# --- detail and PII ----------------------------------------------------------------------


def test_detail_shows_personal_information_and_audits_the_view(api, agent):
    inquiry = InquiryFactory(requester_name="山田 太郎", requester_email="taro@example.com", version=3)

    response = api.as_user(agent).get(f"{URL}{inquiry.ref}/")

    assert response.status_code == 200
    assert response["ETag"] == '"v3"'
    assert response.json()["requester_email"] == "taro@example.com"
    event = AuditEvent.objects.get(action=AuditEvent.Action.VIEW_PII, object_id=inquiry.ref)
    assert event.actor == agent
    assert "requester_email" in event.changes["fields"]
    assert "taro@example.com" not in str(event.changes)


def test_detail_of_unknown_ref_is_404_in_the_error_shape(api, agent):
    response = api.as_user(agent).get(f"{URL}EG-00000000-XXXXXX/")

    assert response.status_code == 404
    assert set(response.json()) >= {"message", "code", "errors"}


# --- update: optimistic concurrency ------------------------------------------------------


def test_patch_with_current_version_updates_and_bumps_etag(api, agent):
    inquiry = InquiryFactory(category="send_error")

    response = api.as_user(agent).patch(f"{URL}{inquiry.ref}/", {"category": "login", "version": 1}, format="json")

    assert response.status_code == 200, response.content
    assert response["ETag"] == '"v2"'
    inquiry.refresh_from_db()
    assert (inquiry.category, inquiry.version) == ("login", 2)


def test_patch_with_stale_body_version_is_409_and_changes_nothing(api, agent):
    inquiry = InquiryFactory(category="send_error", version=4)

    response = api.as_user(agent).patch(f"{URL}{inquiry.ref}/", {"category": "login", "version": 3}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "ConflictError"
    assert response.json()["extra"]["current_version"] == 4
    inquiry.refresh_from_db()
    assert inquiry.category == "send_error"


def test_patch_with_stale_if_match_is_412(api, agent):
    inquiry = InquiryFactory(category="send_error", version=2)
    client = api.as_user(agent)

    stale = client.patch(f"{URL}{inquiry.ref}/", {"category": "login"}, format="json", HTTP_IF_MATCH='"v1"')
    fresh = client.patch(f"{URL}{inquiry.ref}/", {"category": "login"}, format="json", HTTP_IF_MATCH='"v2"')

    assert stale.status_code == 412
    assert fresh.status_code == 200
    assert fresh["ETag"] == '"v3"'


def test_two_agents_editing_the_same_version_one_wins_one_conflicts(api, agent, other_agent):
    inquiry = InquiryFactory()
    etag = api.as_user(agent).get(f"{URL}{inquiry.ref}/")["ETag"]

    first = api.as_user(agent).patch(f"{URL}{inquiry.ref}/", {"subject": "A"}, format="json", HTTP_IF_MATCH=etag)
    second = api.as_user(other_agent).patch(f"{URL}{inquiry.ref}/", {"subject": "B"}, format="json", HTTP_IF_MATCH=etag)

    assert (first.status_code, second.status_code) == (200, 412)
    inquiry.refresh_from_db()
    assert inquiry.subject == "A"


def test_patch_without_any_version_is_428(api, agent):
    inquiry = InquiryFactory()

    response = api.as_user(agent).patch(f"{URL}{inquiry.ref}/", {"subject": "x"}, format="json")

    assert response.status_code == 428


def test_patch_validation_error_names_the_field(api, agent):
    inquiry = InquiryFactory()

    response = api.as_user(agent).patch(f"{URL}{inquiry.ref}/", {"requester_email": "@@", "version": 1}, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["requester_email"]


def test_patch_of_a_field_with_its_own_endpoint_is_400_not_ignored(api, agent):
    inquiry = InquiryFactory(status=Inquiry.Status.NEW)

    response = api.as_user(agent).patch(f"{URL}{inquiry.ref}/", {"status": "closed", "version": 1}, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["status"]
    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.version) == (Inquiry.Status.NEW, 1)


def test_patch_audits_changed_pii_fields_without_values(api, agent):
    inquiry = InquiryFactory(requester_phone="090-1111-2222")

    api.as_user(agent).patch(f"{URL}{inquiry.ref}/", {"requester_phone": "03-9999-0000", "version": 1}, format="json")

    event = AuditEvent.objects.get(action=AuditEvent.Action.UPDATE, object_id=inquiry.ref)
    assert event.changes == {"requester_phone": {"changed": True}}


@pytest.mark.postgres  # the flush after a transactional test meets SQLite's append-only trigger
@pytest.mark.django_db(transaction=True)
def test_patch_writes_its_two_audit_rows_in_one_transaction(api, agent, monkeypatch):
    """The update's row and the view of the record it returns: the same two rows in the same
    order as before, now committed together (the audit chain's lock taken for one transaction,
    not two — bench/README.md "Writes")."""
    inquiry = InquiryFactory(category="send_error", requester_phone="090-1111-2222")
    commits: list[bool] = []
    wrapper = type(connections["default"])
    real_commit = wrapper.commit

    def counting_commit(self):
        commits.append(True)
        return real_commit(self)

    client = api.as_user(agent)
    client.get(f"{URL}{inquiry.ref}/")  # warm: the user's roles are read once per user
    before = AuditEvent.objects.count()
    monkeypatch.setattr(wrapper, "commit", counting_commit)
    response = client.patch(f"{URL}{inquiry.ref}/", {"category": "login", "version": 1}, format="json")
    monkeypatch.undo()

    assert response.status_code == 200, response.content
    assert len(commits) == 1  # two before: the update, then the view's audit row
    rows = list(AuditEvent.objects.order_by("id")[before:].values_list("action", "object_id", "changes", "note"))
    assert rows == [
        (AuditEvent.Action.UPDATE, inquiry.ref, {"category": {"old": "send_error", "new": "login"}}, ""),
        (AuditEvent.Action.VIEW_PII, inquiry.ref, {"fields": _shown(inquiry)}, "api inquiry update"),
    ]
    assert response.json()["category"] == "login" and response["ETag"] == '"v2"'


def test_a_refused_patch_leaves_no_audit_row(api, agent):
    inquiry = InquiryFactory(category="send_error", version=4)
    before = AuditEvent.objects.count()

    response = api.as_user(agent).patch(f"{URL}{inquiry.ref}/", {"category": "login", "version": 3}, format="json")

    assert response.status_code == 409
    assert AuditEvent.objects.count() == before


def _shown(inquiry: Inquiry) -> list[str]:
    return [f for f in ("requester_name", "requester_email", "requester_phone", "requester_organization", "body")
            if getattr(inquiry, f)]  # fmt: skip


# --- assign, transition, escalate --------------------------------------------------------


def test_agent_takes_an_inquiry_but_cannot_assign_someone_else(api, agent, other_agent):
    inquiry = InquiryFactory()
    client = api.as_user(agent)

    mine = client.post(f"{URL}{inquiry.ref}/assign/", {"assignee": agent.pk}, format="json")
    theirs = client.post(f"{URL}{inquiry.ref}/assign/", {"assignee": other_agent.pk}, format="json")

    assert mine.status_code == 200
    assert mine.json()["assigned_to"]["username"] == agent.username
    assert theirs.status_code == 403


def test_supervisor_assigns_anyone_but_not_a_reviewer(api, supervisor, agent, reviewer):
    inquiry = InquiryFactory()
    client = api.as_user(supervisor)

    ok = client.post(f"{URL}{inquiry.ref}/assign/", {"assignee": agent.pk, "version": 1}, format="json")
    bad = client.post(f"{URL}{inquiry.ref}/assign/", {"assignee": reviewer.pk}, format="json")

    assert ok.status_code == 200
    assert bad.status_code == 400
    assert "assignee" in bad.json()["errors"]


def test_transition_follows_the_workflow(api, agent):
    inquiry = InquiryFactory(status=Inquiry.Status.NEW)
    client = api.as_user(agent)

    ok = client.post(f"{URL}{inquiry.ref}/transition/", {"status": "resolved"}, format="json")
    bad = client.post(f"{URL}{inquiry.ref}/transition/", {"status": "escalated"}, format="json")

    assert ok.status_code == 200 and ok.json()["status"] == "resolved"
    assert ok.json()["resolved_at"] is not None
    assert bad.status_code == 409
    assert bad.json()["code"] == "InvalidTransitionError"


def test_transition_with_stale_if_match_is_412(api, agent):
    inquiry = InquiryFactory(version=5)

    response = api.as_user(agent).post(
        f"{URL}{inquiry.ref}/transition/", {"status": "in_progress"}, format="json", HTTP_IF_MATCH='"v4"'
    )

    assert response.status_code == 412


def test_agent_escalates_internally_only(api, agent):
    inquiry = InquiryFactory(received_at=tokyo(2026, 10, 1, 9, 0))
    client = api.as_user(agent)

    internal = client.post(f"{URL}{inquiry.ref}/escalations/", {"target": "internal", "note": "SV確認"}, format="json")
    external = client.post(f"{URL}{inquiry.ref}/escalations/", {"target": "operations_vendor"}, format="json")

    assert internal.status_code == 201
    assert internal.json()["is_external"] is False
    assert external.status_code == 403
    assert Escalation.objects.filter(inquiry=inquiry).count() == 1
    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.ESCALATED


def test_supervisor_escalates_to_the_responsible_section(api, supervisor):
    inquiry = InquiryFactory(received_at=tokyo(2026, 10, 1, 9, 0))

    response = api.as_user(supervisor).post(
        f"{URL}{inquiry.ref}/escalations/",
        {"target": "responsible_section", "organization": "総務省 行政管理局"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["is_external"] is True
    assert response.json()["inquiry"] == inquiry.ref


def test_detail_query_count_is_pinned(api, agent, django_assert_num_queries):
    """The record with its assignee and call in one query, then the VIEW_PII audit row (the
    chain's lock, the linked insert): nothing else, whatever the record links to."""
    inquiry = PhoneInquiryFactory(call=CallFactory(), assigned_to=agent)
    EmailMessageFactory(inquiry=inquiry)
    client = api.as_user(agent)
    client.get(f"{URL}{inquiry.ref}/")  # warm: the user's roles are read once per user

    with django_assert_num_queries(3):  # SQLite: the head is read instead of the lock taken
        response = client.get(f"{URL}{inquiry.ref}/")

    assert response.status_code == 200
    assert response.json()["call_id"] == inquiry.call.call_id
    assert AuditEvent.objects.filter(action=AuditEvent.Action.VIEW_PII, object_id=inquiry.ref).count() == 2
