import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpdesk.models import Call, Complaint, Escalation, Inquiry, SecurityIncident
from tests.factories import (
    CallFactory,
    ComplaintFactory,
    EscalationFactory,
    InquiryFactory,
    PhoneInquiryFactory,
    SecurityIncidentFactory,
    tokyo,
)
from tests.factories.kpi import email_inquiry

pytestmark = pytest.mark.django_db
BASE = "/api/kpi/months/2026-10/"
PII = ("0312345", "山田", "citizen", "@example.com", "e-Govアプリで申請データ", "説明が分かりにくかった", "誤送信")


def _no_pii(payload):
    text = json.dumps(payload, ensure_ascii=False)
    for needle in PII:
        assert needle not in text, needle


def test_abandoned_calls_with_reason_and_filters(api, reviewer):
    CallFactory(outcome=Call.Outcome.IVR_ABANDONED, arrived_at=tokyo(2026, 10, 1, 10))
    CallFactory(outcome=Call.Outcome.QUEUE_TIMEOUT, arrived_at=tokyo(2026, 10, 2, 10))
    CallFactory(outcome=Call.Outcome.QUEUE_EMPTY, arrived_at=tokyo(2026, 10, 2, 11))
    CallFactory()  # answered
    CallFactory(outcome=Call.Outcome.OUT_OF_HOURS)
    CallFactory(outcome=Call.Outcome.QUEUE_TIMEOUT, arrived_at=tokyo(2026, 11, 2, 10))  # next month
    c = api.as_user(reviewer)
    r = c.get(BASE + "abandoned-calls/")
    assert r.status_code == 200
    rows = r.json()["results"]
    assert [x["reason"] for x in rows] == ["queue_empty", "queue_timeout", "ivr_abandoned"]
    assert rows[0]["seconds_before_abandon"] == 40
    assert rows[0]["kind"] == "queue"
    _no_pii(r.json())
    assert [x["reason"] for x in c.get(BASE + "abandoned-calls/", {"reason": "queue_timeout"}).json()["results"]] == [
        "queue_timeout"
    ]
    assert len(c.get(BASE + "abandoned-calls/", {"kind": "queue"}).json()["results"]) == 2
    assert len(c.get(BASE + "abandoned-calls/", {"date": "2026-10-02"}).json()["results"]) == 2
    assert c.get(BASE + "abandoned-calls/", {"reason": "answered"}).status_code == 400


def test_answered_calls_longest_first_with_missing_wrapup(api, supervisor):
    CallFactory(acw_seconds=100)
    inq = PhoneInquiryFactory()
    inq.wrapup_completed_at = inq.call.ended_at + dt.timedelta(seconds=50)
    inq.save()
    PhoneInquiryFactory()
    r = api.as_user(supervisor).get(BASE + "answered-calls/")
    rows = r.json()["results"]
    # the missing wrap-up runs to the 1800 s limit (no next call of op01 after it)
    assert [(x["handle_seconds"], x["acw_source"]) for x in rows] == [(2100, "limit"), (400, "pbx"), (350, "wrapup")]
    assert rows[2]["inquiry_ref"] == inq.ref
    missing = api.get(BASE + "answered-calls/", {"missing_wrapup": "true"}).json()["results"]
    assert [x["handle_seconds"] for x in missing] == [2100]
    _no_pii(r.json())


def test_emails_slowest_unanswered_and_excluded(api, reviewer):
    email_inquiry(tokyo(2026, 10, 5, 10), dt.timedelta(hours=2))
    slow = email_inquiry(tokyo(2026, 10, 6, 10), dt.timedelta(hours=30))
    open_ = email_inquiry(tokyo(2026, 10, 7, 10))
    sect = email_inquiry(tokyo(2026, 10, 8, 10))
    EscalationFactory(inquiry=sect, target=Escalation.Target.RESPONSIBLE_SECTION)
    c = api.as_user(reviewer)
    r = c.get(BASE + "emails/")
    rows = r.json()["results"]
    assert [x["ref"] for x in rows][0] == slow.ref
    assert [x["response_display"] for x in rows] == ["30時間00分", "2時間00分"]
    _no_pii(r.json())
    assert [x["ref"] for x in c.get(BASE + "emails/", {"state": "unanswered"}).json()["results"]] == [open_.ref]
    assert [x["ref"] for x in c.get(BASE + "emails/", {"state": "excluded"}).json()["results"]] == [sect.ref]


def test_handovers_and_to_whom(api, reviewer):
    twice = InquiryFactory()
    EscalationFactory(inquiry=twice, target=Escalation.Target.RESPONSIBLE_SECTION, organization="労働保険適用係")
    EscalationFactory(inquiry=twice, target=Escalation.Target.OPERATIONS_VENDOR, organization="運用保守事業者A")
    EscalationFactory(target=Escalation.Target.INTERNAL)
    r = api.as_user(reviewer).get(BASE + "handovers/")
    rows = r.json()["results"]
    assert sorted((x["inquiry_ref"], x["target"], x["organization"]) for x in rows) == sorted(
        [
            (twice.ref, "responsible_section", "労働保険適用係"),
            (twice.ref, "operations_vendor", "運用保守事業者A"),
        ]
    )
    vendor = api.get(BASE + "handovers/", {"target": "operations_vendor"}).json()["results"]
    assert len(vendor) == 1
    _no_pii(r.json())


def test_complaints_counted_filter(api, reviewer):
    ComplaintFactory(cause=Complaint.Cause.OPERATOR_ERROR)
    ComplaintFactory(cause=Complaint.Cause.POLICY)
    ComplaintFactory()
    # A cause never confirmed (a handover file may carry one) is not counted.
    ComplaintFactory(cause=Complaint.Cause.OPERATOR_ERROR, confirmed_at=None)
    c = api.as_user(reviewer)
    r = c.get(BASE + "complaints/", {"counted": "true"})
    assert [(x["cause"], x["counted"]) for x in r.json()["results"]] == [("operator_error", True)]
    assert len(c.get(BASE + "complaints/").json()["results"]) == 4
    uncounted = c.get(BASE + "complaints/", {"counted": "false"}).json()["results"]
    assert sorted((x["cause"], x["counted"]) for x in uncounted) == [
        ("operator_error", False),
        ("policy", False),
        ("unconfirmed", False),
    ]
    _no_pii(c.get(BASE + "complaints/").json())


def test_incidents_major_filter(api, reviewer):
    SecurityIncidentFactory(severity=SecurityIncident.Severity.MAJOR)
    SecurityIncidentFactory()
    r = api.as_user(reviewer).get(BASE + "incidents/", {"severity": "major"})
    assert [x["severity"] for x in r.json()["results"]] == ["major"]
    _no_pii(r.json())


def test_cursor_pagination_walks_every_row_once(api, reviewer):
    for i in range(7):
        CallFactory(
            outcome=Call.Outcome.QUEUE_ABANDONED, arrived_at=tokyo(2026, 10, 3, 10) + dt.timedelta(minutes=i % 3)
        )
    c = api.as_user(reviewer)
    seen, url = [], BASE + "abandoned-calls/?page_size=3"
    while url:
        body = c.get(url).json()
        seen += [x["id"] for x in body["results"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) == 7


@pytest.mark.parametrize(
    "endpoint", ["abandoned-calls/", "answered-calls/", "emails/", "handovers/", "complaints/", "incidents/"]
)
def test_drilldown_query_count_constant(api, reviewer, endpoint):
    def build(n):
        for _ in range(n):
            CallFactory(outcome=Call.Outcome.IVR_ABANDONED)
            PhoneInquiryFactory()
            email_inquiry(tokyo(2026, 10, 5, 10), dt.timedelta(hours=1))
            EscalationFactory(target=Escalation.Target.OTHER_EXTERNAL)
            ComplaintFactory(inquiry=InquiryFactory(channel=Inquiry.Channel.FORM))
            SecurityIncidentFactory()

    c = api.as_user(reviewer)
    build(2)
    c.get(BASE + endpoint)  # warm role lookups
    with CaptureQueriesContext(connection) as small:
        assert c.get(BASE + endpoint).status_code == 200
    build(8)
    with CaptureQueriesContext(connection) as large:
        assert len(c.get(BASE + endpoint).json()["results"]) >= 10
    assert len(small) == len(large)


def test_drilldown_refused_for_agents(api, agent):
    assert api.as_user(agent).get(BASE + "abandoned-calls/").status_code == 403


def test_email_answered_state_agrees_with_the_response_time():
    """`answered` (what the state filter reads, without the answer lookup) is exactly
    `response_s IS NOT NULL`: mail answers, answers by other channels, acknowledgements and
    unsent outbox mail."""
    from helpdesk.clock import Month
    from helpdesk.models import EmailMessage
    from kpi.selectors import drill_emails
    from tests.factories.kpi import answer_mail

    at = tokyo(2026, 10, 5, 10)
    email_inquiry(at, dt.timedelta(hours=1))  # answered by mail
    email_inquiry(at, first_answered_at=at + dt.timedelta(hours=2))  # answered by phone
    email_inquiry(at)  # open
    ack_only = email_inquiry(at)
    answer_mail(ack_only, at + dt.timedelta(minutes=1), is_auto_acknowledgement=True)
    queued = email_inquiry(at)
    answer_mail(queued, at + dt.timedelta(minutes=5), send_status=EmailMessage.SendStatus.FAILED)
    mail_without_stamp = email_inquiry(at, first_answered_at=None)
    answer_mail(mail_without_stamp, at + dt.timedelta(hours=3))

    rows = list(drill_emails(month=Month.parse("2026-10")).values_list("answered", "response_s", "answered_by_mail"))

    assert len(rows) == 6
    assert all(answered == (response is not None) for answered, response, _ in rows)
    assert sorted((a, m) for a, _, m in rows) == [(False, False)] * 3 + [(True, False), (True, True), (True, True)]
