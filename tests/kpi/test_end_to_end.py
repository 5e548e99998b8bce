"""A month built through the real import commands — a generic call CSV, an mbox and a
handover JSONL — whose KPI JSON equals the answer computed by hand below; importing
everything again changes nothing."""

import io
import json
import mailbox
import re
from email.message import EmailMessage as Mime
from email.utils import format_datetime

import pytest
from django.core.management import call_command

from helpdesk.clock import Month
from kpi.selectors import kpi_month_compute
from tests.factories import tokyo

pytestmark = pytest.mark.django_db
CENTER = "support@e-gov-help.example.jp"

CALLS = """call_id,arrived_at,caller,outcome,queue,queued_at,answered_at,ended_at,agent,acw_seconds
c1,2026-10-01T10:00:00+09:00,0312340001,answered,egov,2026-10-01T10:00:05+09:00,2026-10-01T10:00:30+09:00,2026-10-01T10:05:30+09:00,op01,60
c2,2026-10-01T11:00:00+09:00,0312340002,answered,egov,2026-10-01T11:00:05+09:00,2026-10-01T11:00:30+09:00,2026-10-01T11:05:30+09:00,op02,60
c3,2026-10-02T10:00:00+09:00,0312340003,answered,egov,2026-10-02T10:00:05+09:00,2026-10-02T10:00:30+09:00,2026-10-02T10:05:30+09:00,op01,
c4,2026-10-02T11:00:00+09:00,0312340004,answered,egov,2026-10-02T11:00:05+09:00,2026-10-02T11:00:30+09:00,2026-10-02T11:05:30+09:00,op02,
c5,2026-10-05T10:00:00+09:00,0312340005,answered,egov,2026-10-05T10:00:05+09:00,2026-10-05T10:00:30+09:00,2026-10-05T10:05:30+09:00,op01,
c6,2026-10-05T11:00:00+09:00,0312340006,answered,egov,2026-10-05T11:00:05+09:00,2026-10-05T11:00:30+09:00,2026-10-05T11:05:30+09:00,op02,
c7,2026-10-06T10:00:00+09:00,0312340007,ivr_abandoned,,,,2026-10-06T10:00:40+09:00,,
c8,2026-10-06T10:10:00+09:00,0312340008,queue_timeout,egov,2026-10-06T10:10:10+09:00,,2026-10-06T10:15:10+09:00,,
c9,2026-10-06T10:20:00+09:00,0312340009,queue_abandoned,egov,2026-10-06T10:20:10+09:00,,2026-10-06T10:21:10+09:00,,
c10,2026-10-06T18:30:00+09:00,0312340010,out_of_hours,,,,2026-10-06T18:30:20+09:00,,
c11,2026-09-30T16:00:00+09:00,0312340011,answered,egov,2026-09-30T16:00:05+09:00,2026-09-30T16:00:30+09:00,2026-09-30T16:05:30+09:00,op01,0
"""


def _mail(mid, sender, date, subject, *, reply_to=None, auto=False, received=None):
    m = Mime()
    m["Message-ID"] = f"<{mid}@e2e.example>"
    m["From"] = sender
    m["To"] = CENTER if sender != CENTER else "citizen@example.com"
    m["Subject"] = subject
    m["Date"] = format_datetime(date)
    if received:
        m["Received"] = f"from mx.example by mail.center; {format_datetime(received)}"
    if reply_to:
        m["In-Reply-To"] = f"<{reply_to}@e2e.example>"
        m["References"] = f"<{reply_to}@e2e.example>"
    if auto:
        m["Auto-Submitted"] = "auto-replied"
    m.set_content("本文です。e-Govの申請についてお問い合わせします。")
    return m


def _mbox(path):
    box = mailbox.mbox(str(path))
    q = "電子申請について"
    citizen = "citizen{}@example.com"
    messages = [
        # m1: received 00:30 JST on the 1st (Received: wins over Date:), answered 10:00 → 9.5 h
        _mail("m1", citizen.format(1), tokyo(2026, 9, 30, 23, 58), q, received=tokyo(2026, 10, 1, 0, 30)),
        _mail("a1", CENTER, tokyo(2026, 10, 1, 10), "Re: " + q, reply_to="m1"),
        # m2: an automatic acknowledgement a minute later is no answer; answered 24 h exactly
        _mail("m2", citizen.format(2), tokyo(2026, 10, 5, 10), q),
        _mail("k2", CENTER, tokyo(2026, 10, 5, 10, 1), "受付 " + q, reply_to="m2", auto=True),
        _mail("a2", CENTER, tokyo(2026, 10, 6, 10), "Re: " + q, reply_to="m2"),
        # m3: Friday 16:00, answered next month Monday 09:30 → 65.5 h
        _mail("m3", citizen.format(3), tokyo(2026, 10, 30, 16), q),
        _mail("a3", CENTER, tokyo(2026, 11, 2, 9, 30), "Re: " + q, reply_to="m3"),
        # m4: handed to the responsible section (handover file): out of the email metric
        _mail("m4", citizen.format(4), tokyo(2026, 10, 20, 10), q),
        # m5: answered in 5 h; handed to the operations vendor and another org (FCR only)
        _mail("m5", citizen.format(5), tokyo(2026, 10, 21, 10), q),
        _mail("a5", CENTER, tokyo(2026, 10, 21, 15), "Re: " + q, reply_to="m5"),
        # m6: still unanswered
        _mail("m6", citizen.format(6), tokyo(2026, 10, 22, 10), q),
        # m7: September (23:50 JST on the 30th)
        _mail("m7", citizen.format(7), tokyo(2026, 9, 30, 23, 50), q),
        _mail("a7", CENTER, tokyo(2026, 10, 1, 9), "Re: " + q, reply_to="m7"),
    ]
    for m in messages:
        box.add(m)
    box.flush()
    box.close()


def _records(path):
    lines = [
        {"format_version": 1, "type": "header"},
        {
            "type": "inquiry",
            "ref": "EG-E2E-0001",
            "channel": "phone",
            "received_at": "2026-10-01T10:00:00+09:00",
            "call_id": "c1",
            "ministry_guidance": True,
            "wrapup_completed_at": "2026-10-01T10:20:00+09:00",
        },
        {
            "type": "inquiry",
            "ref": "EG-E2E-0002",
            "channel": "phone",
            "received_at": "2026-10-01T11:00:00+09:00",
            "call_id": "c2",
        },
        {
            "type": "inquiry",
            "ref": "EG-E2E-0003",
            "channel": "phone",
            "received_at": "2026-10-02T10:00:00+09:00",
            "call_id": "c3",
            "wrapup_completed_at": "2026-10-02T10:07:30+09:00",
        },
        {
            "type": "inquiry",
            "ref": "EG-E2E-0004",
            "channel": "phone",
            "received_at": "2026-10-02T11:00:00+09:00",
            "call_id": "c4",
            "wrapup_completed_at": "2026-10-02T11:05:30+09:00",
        },
        {
            "type": "inquiry",
            "ref": "EG-E2E-0005",
            "channel": "phone",
            "received_at": "2026-10-05T10:00:00+09:00",
            "call_id": "c5",
        },
        {
            "type": "escalation",
            "inquiry": {"call_id": "c2"},
            "target": "internal",
            "escalated_at": "2026-10-01T11:10:00+09:00",
        },
        {
            "type": "escalation",
            "inquiry": {"message_id": "<m4@e2e.example>"},
            "target": "responsible_section",
            "escalated_at": "2026-10-20T11:00:00+09:00",
        },
        {
            "type": "escalation",
            "inquiry": {"message_id": "<m5@e2e.example>"},
            "target": "operations_vendor",
            "escalated_at": "2026-10-21T11:00:00+09:00",
        },
        {
            "type": "escalation",
            "inquiry": {"message_id": "<m5@e2e.example>"},
            "target": "other_external",
            "escalated_at": "2026-10-21T12:00:00+09:00",
        },
        {
            "type": "complaint",
            "inquiry": {"call_id": "c3"},
            "received_at": "2026-10-10T10:00:00+09:00",
            "cause": "operator_error",
            "confirmed_at": "2026-10-12T10:00:00+09:00",
            "description": "聞き間違い",
        },
        {
            "type": "complaint",
            "inquiry": {"message_id": "<m6@e2e.example>"},
            "received_at": "2026-10-23T10:00:00+09:00",
            "cause": "unconfirmed",
        },
        {
            "type": "security_incident",
            "occurred_at": "2026-10-15T10:00:00+09:00",
            "detected_at": "2026-10-15T11:00:00+09:00",
            "severity": "minor",
            "kind": "other",
        },
        {
            "type": "security_incident",
            "occurred_at": "2026-09-30T23:00:00+09:00",
            "detected_at": "2026-10-01T09:00:00+09:00",
            "severity": "major",
            "kind": "personal_information",
        },
    ]
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")


def _import_all(tmp_path) -> str:
    out = io.StringIO()
    call_command("import_calls", str(tmp_path / "calls.csv"), stdout=out, stderr=out)
    call_command("import_mail", str(tmp_path / "mail.mbox"), stdout=out, stderr=out)
    call_command("import_records", str(tmp_path / "records.jsonl"), stdout=out, stderr=out)
    return out.getvalue()


def _kpi(month: str) -> dict:
    data = kpi_month_compute(month=Month.parse(month), now=tokyo(2026, 11, 10, 12))
    data.pop("computed_at")
    return data


def test_month_from_real_imports_equals_hand_computed_answer(tmp_path):
    (tmp_path / "calls.csv").write_text(CALLS, encoding="utf-8")
    _mbox(tmp_path / "mail.mbox")
    _records(tmp_path / "records.jsonl")
    log = _import_all(tmp_path)
    summaries = re.findall(r"(\d+) read, (\d+) created, (\d+) updated, (\d+) unchanged, (\d+) rejected", log)
    assert [s[4] for s in summaries] == ["0", "0", "0"], log
    assert [s[1] for s in summaries] == ["11", "13", "13"], log

    oct_ = _kpi("2026-10")
    assert oct_["period_type"] == "normal"
    # §1: in hours c1–c9 (c10 out of hours; c11 September) → 6 answered of 9
    ar = oct_["answer_rate"]
    assert (ar["total_calls"], ar["answered_calls"], ar["ivr_abandoned"], ar["queue_abandoned"]) == (9, 6, 1, 2)
    assert ar["out_of_hours_calls"] == 1
    assert ar["queue_abandoned_by_reason"] == {
        "queue_abandoned": 1,
        "queue_timeout": 1,
        "queue_exit_key": 0,
        "queue_empty": 0,
    }
    assert ar["value"] == pytest.approx(6 / 9)
    assert (ar["display"], ar["met"]) == ("66.7%", False)
    # §2: 300 s connected each; ACW c1,c2 60 (PBX wins over c1's wrap-up), c3 120 (wrap-up),
    # c4 0 (wrap-up at the end); c5 (no wrap-up) and c6 (no inquiry) run to the 1800 s limit,
    # their agents taking no later call → 5640 / 6 = 940
    aht = oct_["average_handle_time"]
    assert (aht["seconds"], aht["display"], aht["met"]) == (940.0, "15分40秒", False)
    assert (aht["answered_calls"], aht["calls_missing_wrapup"], aht["calls_acw_capped"]) == (6, 2, 0)
    # §3: m1 9.5 h, m2 24 h, m3 65.5 h, m5 5 h → 104 h / 4 = 26 h; m4 excluded; m6 open
    em = oct_["email_average_response_time"]
    assert em["seconds"] == 93600.0
    assert (em["display"], em["met"]) == ("26時間00分", False)
    assert (em["answered"], em["unanswered"], em["excluded_handed_to_responsible_section"]) == (4, 1, 1)
    # business hours: 1 h + 8 h + 1.5 h + 5 h = 15.5 h / 4
    assert em["business_seconds"] == 13950.0
    # §4: 5 phone + 6 email inquiries; m4 and m5 handed over (m5 twice: once) → 9 / 11
    fcr = oct_["first_contact_resolution"]
    assert (fcr["inquiries"], fcr["handed_over"]) == (11, 2)
    assert (fcr["display"], fcr["met"]) == ("81.8%", True)
    assert oct_["inquiries_by_channel"] == {"phone": 5, "email": 6, "form": 0}
    # §5, §6
    assert (oct_["complaints"]["count"], oct_["complaints"]["recorded"], oct_["complaints"]["met"]) == (1, 2, True)
    assert (oct_["security_incidents"]["count"], oct_["security_incidents"]["minor"]) == (0, 1)

    sep = _kpi("2026-09")
    assert sep["answer_rate"]["total_calls"] == 1
    assert sep["email_average_response_time"]["seconds"] == 9 * 3600 + 10 * 60
    assert sep["security_incidents"]["count"] == 1 and sep["security_incidents"]["met"] is False

    # importing everything again changes nothing
    log2 = _import_all(tmp_path)
    again = re.findall(r"(\d+) read, (\d+) created, (\d+) updated, (\d+) unchanged, (\d+) rejected", log2)
    assert [(s[1], s[2], s[4]) for s in again] == [("0", "0", "0")] * 3, log2
    assert _kpi("2026-10") == oct_
    assert _kpi("2026-09") == sep
