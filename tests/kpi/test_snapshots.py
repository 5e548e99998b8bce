"""Publishing, immutability, restatements traceable to records, and the nightly task."""

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from helpdesk.clock import Month
from helpdesk.complaints.services import complaint_classify
from helpdesk.models import AuditEvent, Complaint
from kpi import selectors, services
from kpi.models import KpiSnapshot
from tests.factories import CallFactory, ComplaintFactory, tokyo
from tests.factories.kpi import KpiSnapshotFactory, answer_mail, email_inquiry

pytestmark = pytest.mark.django_db
OCT = Month(2026, 10)


def test_publish_stores_the_month_and_audits(admin_user):
    CallFactory.create_batch(2)
    snap = services.kpi_snapshot_publish(month=OCT, actor=admin_user, note="10月分")
    assert (snap.month, snap.version) == ("2026-10", 1)
    assert snap.data["answer_rate"]["total_calls"] == 2
    assert services.kpi_snapshot_publish(month=OCT, actor=admin_user).version == 2
    event = AuditEvent.objects.filter(object_type="kpi.kpisnapshot").first()
    assert event.actor == admin_user and event.object_id == "2026-10 v2"


def test_snapshot_is_immutable(admin_user):
    snap = services.kpi_snapshot_publish(month=OCT, actor=admin_user)
    snap.note = "changed"
    with pytest.raises(ValidationError):
        snap.save()
    with pytest.raises(ValidationError):
        snap.delete()
    assert KpiSnapshot.objects.get().note == ""


def test_snapshot_unique_per_month_and_version():
    KpiSnapshotFactory(month="2026-10", version=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        KpiSnapshotFactory(month="2026-10", version=1)


def test_snapshot_month_format_constraint():
    with pytest.raises(IntegrityError), transaction.atomic():
        KpiSnapshotFactory(month="2026-13")


def test_unchanged_month_is_not_restated(admin_user):
    CallFactory()
    services.kpi_snapshot_publish(month=OCT, actor=admin_user)
    data = selectors.kpi_month_get(month=OCT, fresh=True)
    assert data["restated"] is False
    assert data["publication"]["version"] == 1
    assert "difference" not in data


def test_late_email_answer_restates_the_published_month_traceably(admin_user):
    with time_machine.travel(tokyo(2026, 11, 1, 10), tick=False):  # records written before publication
        email_inquiry(tokyo(2026, 10, 5, 10), dt.timedelta(hours=2))
        late = email_inquiry(tokyo(2026, 10, 30, 10))
    with time_machine.travel(tokyo(2026, 11, 5, 10), tick=False):
        services.kpi_snapshot_publish(month=OCT, actor=admin_user)
    with time_machine.travel(tokyo(2026, 11, 6, 10), tick=False):
        answer_mail(late, tokyo(2026, 11, 6, 10))  # answered after publication: 7 days
        data = selectors.kpi_month_get(month=OCT, fresh=True)
    assert data["restated"] is True
    em_pub = data["published"]["email_average_response_time"]
    assert (em_pub["answered"], em_pub["unanswered"], em_pub["seconds"]) == (1, 1, 7200)
    cur = data["email_average_response_time"]
    assert (cur["answered"], cur["unanswered"]) == (2, 0)
    assert cur["seconds"] == (7200 + 7 * 86400) / 2
    diff = data["difference"]["email_average_response_time"]
    assert diff["answered"] == 1 and diff["unanswered"] == -1
    assert diff["seconds"] == cur["seconds"] - 7200
    assert diff["met"] == {"published": True, "current": False}
    assert data["changed_records"]["emails"] == 1
    assert data["changed_records"]["calls"] == 0


def test_confirmed_complaint_restates_and_changes_endpoint_names_it(api, admin_user, supervisor, reviewer):
    with time_machine.travel(tokyo(2026, 11, 1, 10), tick=False):
        c = ComplaintFactory()
    with time_machine.travel(tokyo(2026, 11, 5, 10), tick=False):
        services.kpi_snapshot_publish(month=OCT, actor=admin_user)
    with time_machine.travel(tokyo(2026, 11, 6, 10), tick=False):
        complaint_classify(complaint=c, actor=supervisor, cause=Complaint.Cause.OPERATOR_ERROR)
        r = api.as_user(reviewer).get("/api/kpi/months/2026-10/", {"fresh": "1"})
        changes = api.get("/api/kpi/months/2026-10/changes/").json()
    body = r.json()
    assert body["restated"] is True
    assert body["difference"]["complaints"]["count"] == 1
    assert body["published"]["complaints"]["count"] == 0
    assert changes["records"]["complaints"] == {"count": 1, "items": [{"id": c.id}]}


def test_snapshot_published_before_the_acw_keys_is_not_restated_by_them(admin_user):
    CallFactory(acw_seconds=60)
    data = selectors.kpi_month_compute(month=OCT)
    for key in ("calls_acw_capped", "acw_limit_seconds"):
        del data["average_handle_time"][key]
    KpiSnapshotFactory(month="2026-10", version=1, data=data, published_at=tokyo(2026, 11, 5, 10))
    current = selectors.kpi_month_get(month=OCT, fresh=True)
    assert current["restated"] is False
    assert current["average_handle_time"]["calls_acw_capped"] == 0


def test_wrapup_completed_months_after_publication_moves_counts_not_the_figure(admin_user, agent):
    from helpdesk.inquiries.services import inquiry_complete_wrapup
    from tests.factories import PhoneInquiryFactory

    with time_machine.travel(tokyo(2026, 10, 30, 18), tick=False):
        inq = PhoneInquiryFactory(call=CallFactory(arrived_at=tokyo(2026, 10, 30, 16)))
    with time_machine.travel(tokyo(2026, 11, 5, 10), tick=False):
        snap = services.kpi_snapshot_publish(month=OCT, actor=admin_user)
    published = snap.data["average_handle_time"]
    assert (published["calls_missing_wrapup"], published["calls_acw_capped"], published["acw_limit_seconds"]) == (
        1,
        0,
        1800,
    )
    with time_machine.travel(tokyo(2027, 1, 20, 10), tick=False):
        inquiry_complete_wrapup(inquiry=inq, actor=agent)
        data = selectors.kpi_month_get(month=OCT, fresh=True)
    # missing → capped, both at the 1800 s limit: the AHT did not move, the counts say why
    assert data["average_handle_time"]["seconds"] == 2100
    assert data["restated"] is True
    assert data["difference"] == {"average_handle_time": {"calls_missing_wrapup": -1, "calls_acw_capped": 1}}
    assert data["changed_records"]["inquiries"] == 1


def test_reimported_call_changes_restate(admin_user):
    with time_machine.travel(tokyo(2026, 11, 1, 10), tick=False):
        call = CallFactory()
    with time_machine.travel(tokyo(2026, 11, 5, 10), tick=False):
        services.kpi_snapshot_publish(month=OCT, actor=admin_user)
    with time_machine.travel(tokyo(2026, 11, 6, 10), tick=False):
        call.outcome, call.answered_at, call.agent = "queue_timeout", None, ""
        call.save()
        data = selectors.kpi_month_get(month=OCT, fresh=True)
    assert data["difference"]["answer_rate"]["answered_calls"] == -1
    assert data["changed_records"]["calls"] == 1


def test_publish_api_admin_only_and_published_read(api, admin_user, supervisor, reviewer):
    CallFactory()
    assert api.as_user(supervisor).post("/api/kpi/months/2026-10/publish/").status_code == 403
    assert api.as_user(reviewer).post("/api/kpi/months/2026-10/publish/").status_code == 403
    assert api.as_user(reviewer).get("/api/kpi/months/2026-10/published/").status_code == 404
    r = api.as_user(admin_user).post("/api/kpi/months/2026-10/publish/", {"note": "確定"}, format="json")
    assert r.status_code == 201 and r.json()["version"] == 1
    pub = api.as_user(reviewer).get("/api/kpi/months/2026-10/published/").json()
    assert pub["version"] == 1 and pub["data"]["answer_rate"]["total_calls"] == 1
    assert api.get("/api/kpi/months/2026-10/published/", {"version": 2}).status_code == 404


def test_open_months_include_recent_and_months_with_unanswered_mail():
    email_inquiry(tokyo(2026, 3, 10, 10))  # unanswered, long ago
    email_inquiry(tokyo(2026, 5, 10, 10), dt.timedelta(hours=1))  # answered: closed
    months = services.kpi_open_months(today=dt.date(2026, 11, 20))
    assert [str(m) for m in months] == ["2026-03", "2026-09", "2026-10", "2026-11"]


def test_nightly_recompute_fills_the_cache_and_is_guarded(monkeypatch):
    CallFactory()
    result = services.kpi_recompute_open_months(today=dt.date(2026, 11, 20))
    assert result["months"] == ["2026-09", "2026-10", "2026-11"]
    assert cache.get(selectors.cache_key(OCT))["answer_rate"]["total_calls"] == 1
    cache.add(services.RECOMPUTE_LOCK, "1")
    assert services.kpi_recompute_open_months(today=dt.date(2026, 11, 20))["months"] == []


def test_celery_task_runs_the_recompute(settings):
    from kpi.tasks import kpi_recompute_month, kpi_recompute_open_months

    CallFactory()
    assert kpi_recompute_month.delay("2026-10").get()["months"] == ["2026-10"]
    assert cache.get(selectors.cache_key(OCT))["answer_rate"]["total_calls"] == 1
    assert "months" in kpi_recompute_open_months.delay().get()


def test_beat_schedule_names_the_nightly_task():
    from config.celery import app
    from kpi.tasks import kpi_recompute_open_months

    entry = app.conf.beat_schedule["kpi-recompute-open-months"]
    assert entry["task"] == kpi_recompute_open_months.name == "kpi.tasks.kpi_recompute_open_months"


def test_publish_records_the_audit_chain_head(admin_user):
    from helpdesk.audit import audit_record

    assert services.kpi_snapshot_publish(month=OCT, actor=admin_user).audit_head_id is None  # empty trail
    last = audit_record(actor=admin_user, action=AuditEvent.Action.UPDATE, object_type="x", object_id="1")
    snap = services.kpi_snapshot_publish(month=OCT, actor=admin_user)
    # The head the figures were computed against: before this publication's own audit row.
    assert (snap.audit_head_id, snap.audit_head_hash) == (last.pk, last.chain_hash)
    assert KpiSnapshot.objects.get(pk=snap.pk).audit_head_hash == last.chain_hash


@pytest.mark.parametrize("body", [["確定"], "確定", 3])
def test_publish_with_a_body_that_is_not_an_object_is_a_400(api, admin_user, body):
    CallFactory()
    r = api.as_user(admin_user).post("/api/kpi/months/2026-10/publish/", body, format="json")
    assert r.status_code == 400
    assert not KpiSnapshot.objects.exists()


def test_publish_note_too_long_is_a_400_naming_the_field(api, admin_user):
    r = api.as_user(admin_user).post("/api/kpi/months/2026-10/publish/", {"note": "あ" * 256}, format="json")
    assert r.status_code == 400 and "note" in r.content.decode()
