"""/api/kpi/mail-waiting/?as_of=: the mail inquiries waiting for their first answer at a
moment — exactly `kpi.today.mail_waiting_at`, the set the supervisor's board counts."""

import datetime as dt

import pytest

from helpdesk.models import Escalation
from kpi.today import waiting_mail
from tests.factories import EscalationFactory, tokyo
from tests.factories.kpi import answer_mail, email_inquiry

pytestmark = pytest.mark.django_db
URL = "/api/kpi/mail-waiting/"
AS_OF = tokyo(2026, 10, 3, 12)


def _records():
    old = email_inquiry(tokyo(2026, 10, 2, 9))
    email_inquiry(tokyo(2026, 10, 3, 11))
    email_inquiry(tokyo(2026, 10, 3, 8), answered_after=dt.timedelta(hours=1))  # answered by then
    late = email_inquiry(tokyo(2026, 10, 3, 9))
    answer_mail(late, tokyo(2026, 10, 3, 13))  # answered after the moment: waiting at it
    phoned = email_inquiry(tokyo(2026, 10, 3, 10), first_answered_at=tokyo(2026, 10, 3, 10, 30))
    answer_mail(phoned, tokyo(2026, 10, 3, 13))  # the metric's answer is the mail's
    email_inquiry(tokyo(2026, 10, 3, 10), first_answered_at=tokyo(2026, 10, 3, 10, 30))  # phoned only
    handed = email_inquiry(tokyo(2026, 10, 1, 9))
    EscalationFactory(inquiry=handed, target=Escalation.Target.RESPONSIBLE_SECTION)  # out of §3
    email_inquiry(tokyo(2026, 7, 1, 9))  # before the board's 62-day lookback
    email_inquiry(tokyo(2026, 10, 3, 13))  # received after the moment
    return old, late, phoned


def _all(client, params):
    rows, url = [], URL
    while url:
        page = client.get(url, params if url == URL else None)
        assert page.status_code == 200, page.content
        rows += page.json()["results"]
        url = page.json()["next"]
    return rows


def test_the_list_is_exactly_the_set_the_board_counts(api, supervisor):
    old, late, phoned = _records()
    rows = _all(api.as_user(supervisor), {"as_of": AS_OF.isoformat(), "page_size": 2})
    counted = waiting_mail(as_of=AS_OF, email_max_seconds=86400)
    assert len(rows) == counted["waiting"] == 4
    assert rows[0]["ref"] == old.ref == counted["oldest_ref"]  # oldest first
    assert {late.ref, phoned.ref} <= {r["ref"] for r in rows}
    assert rows[0]["waiting_seconds"] == 27 * 3600 and rows[0]["waiting_display"]
    assert set(rows[0]) == {"id", "ref", "channel", "status", "received_at", "waiting_seconds", "waiting_display"}


def test_a_moment_without_an_offset_is_tokyo_time(api, reviewer):
    _records()
    rows = _all(api.as_user(reviewer), {"as_of": "2026-10-03T12:00:00"})
    assert len(rows) == 4


@pytest.mark.parametrize(
    "value",
    # the last two: offsets PostgreSQL cannot hold (found by the schemathesis run)
    [
        "",
        "yesterday",
        "2026-13-01T00:00:00",
        "0001-01-01T00:00:00+09:00",
        "2026-10-03T12:00:00-23:54",
        "2026-10-03T12:00:00+16:00",
    ],
)
def test_a_bad_moment_is_400_naming_the_field(api, supervisor, value):
    r = api.as_user(supervisor).get(URL, {"as_of": value})
    assert r.status_code == 400 and "as_of" in r.json()["errors"], r.content


def test_agents_get_403(api, agent):
    assert api.as_user(agent).get(URL, {"as_of": AS_OF.isoformat()}).status_code == 403
