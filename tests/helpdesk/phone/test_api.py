"""Phone API: uploads, linking a call to an inquiry, "my latest call", wrap-up, calls
missing wrap-up, with the permission of every role."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from helpdesk.models import AgentProfile, AuditEvent, Call, ImportRun, Inquiry
from tests.factories import CallFactory, InquiryFactory, PhoneInquiryFactory, tokyo

pytestmark = pytest.mark.django_db

ROLES = ["agent", "supervisor", "admin_user", "reviewer", "nobody"]


def upload(calls_data, name):
    return SimpleUploadedFile(name, (calls_data / name).read_bytes())


# --- import upload ------------------------------------------------------------------------


def test_admin_uploads_a_generic_file_and_follows_the_run(
    api, admin_user, calls_data, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_user(admin_user).post(
            "/api/calls/import/", {"file": upload(calls_data, "generic_day.csv")}, format="multipart"
        )
    assert response.status_code == 202, response.json()
    run_id = response.json()["id"]
    run = ImportRun.objects.get(pk=run_id)
    assert (run.kind, run.status, run.created_by) == ("calls_generic", "done", admin_user)
    assert run.summary() == "18 read, 10 created, 0 updated, 0 unchanged, 8 rejected"
    status = api.get(f"/api/import-runs/{run_id}/").json()
    assert status["progress"] == 1.0 and status["done"] == status["total"] == 19
    assert status["rejects"][0] == {
        "source_name": "generic_day.csv",
        "line": 11,
        "offset": status["rejects"][0]["offset"],
        "reason": "answered call without answered_at",
        "raw_size": status["rejects"][0]["raw_size"],
    }


def test_admin_uploads_an_asterisk_pair(api, admin_user, calls_data, django_capture_on_commit_callbacks):
    files = [upload(calls_data, n) for n in ("Master.csv", "queue_log", "queue_log-20261001")]
    with django_capture_on_commit_callbacks(execute=True):
        response = api.as_user(admin_user).post(
            "/api/calls/import/", {"file": files, "format": "asterisk"}, format="multipart"
        )
    assert response.status_code == 202
    run = ImportRun.objects.get(pk=response.json()["id"])
    assert (run.kind, run.status, run.created, run.rejected) == ("calls_asterisk", "done", 11, 6)
    assert Call.objects.filter(source="asterisk").count() == 11


def test_upload_files_are_removed_after_the_run(
    api, admin_user, calls_data, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    with django_capture_on_commit_callbacks(execute=True):
        api.as_user(admin_user).post(
            "/api/calls/import/", {"file": upload(calls_data, "generic_day.csv")}, format="multipart"
        )
    assert list((tmp_path / "imports" / "calls").iterdir()) == []


def test_upload_rejects_unknown_format(api, admin_user, calls_data):
    response = api.as_user(admin_user).post(
        "/api/calls/import/", {"file": upload(calls_data, "generic_day.csv"), "format": "avaya"}, format="multipart"
    )
    assert response.status_code == 400 and "format" in response.json()["errors"]


@pytest.mark.parametrize("role", ["agent", "supervisor", "reviewer", "nobody"])
def test_only_admins_upload(api, role, request, calls_data):
    response = api.as_user(request.getfixturevalue(role)).post(
        "/api/calls/import/", {"file": upload(calls_data, "generic_day.csv")}, format="multipart"
    )
    assert response.status_code == 403
    assert not ImportRun.objects.exists()


def test_anonymous_cannot_upload(api, calls_data):
    response = api.post("/api/calls/import/", {"file": upload(calls_data, "generic_day.csv")}, format="multipart")
    assert response.status_code in (401, 403)


# --- logging the inquiry for a call -------------------------------------------------------


def test_agent_logs_the_inquiry_for_a_call(api, agent):
    call = CallFactory(call_id="1790813100.101", caller="0312345678")
    response = api.as_user(agent).post(
        f"/api/calls/{call.call_id}/inquiry/", {"subject": "電子署名のエラー", "category": "signature"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    inquiry = Inquiry.objects.get(ref=body["ref"])
    assert (inquiry.channel, inquiry.call, inquiry.received_at, inquiry.assigned_to) == (
        "phone",
        call,
        call.arrived_at,
        agent,
    )
    assert inquiry.requester_phone == "0312345678"
    assert body["call_id"] == call.call_id and response["ETag"] == '"v1"'

    again = api.post(f"/api/calls/{call.call_id}/inquiry/", {"subject": "x"}, format="json")
    assert again.status_code == 409 and again.json()["extra"]["ref"] == inquiry.ref


def test_logging_for_an_unknown_call_is_404(api, agent):
    assert api.as_user(agent).post("/api/calls/nope/inquiry/", {}, format="json").status_code == 404


@pytest.mark.parametrize(
    ("role", "code"), [("agent", 201), ("supervisor", 201), ("admin_user", 201), ("reviewer", 403), ("nobody", 403)]
)
def test_who_may_log_a_call_inquiry(api, request, role, code):
    call = CallFactory()
    response = api.as_user(request.getfixturevalue(role)).post(f"/api/calls/{call.call_id}/inquiry/", {}, format="json")
    assert response.status_code == code


# --- my latest call -----------------------------------------------------------------------


def test_my_latest_call_by_pbx_login(api, agent):
    AgentProfile.objects.create(user=agent, pbx_login="op01")
    CallFactory(agent="op01", arrived_at=tokyo(2026, 10, 1, 9))
    latest = CallFactory(agent="op01", arrived_at=tokyo(2026, 10, 1, 11), caller="0312345678")
    CallFactory(agent="op02", arrived_at=tokyo(2026, 10, 1, 12))
    CallFactory(outcome="queue_abandoned", arrived_at=tokyo(2026, 10, 1, 13))

    response = api.as_user(agent).get("/api/calls/mine/latest/")

    assert response.status_code == 200
    assert response.json()["call_id"] == latest.call_id
    assert response.json()["caller"] == "0312345678"
    assert AuditEvent.objects.filter(action="view_pii", object_id=str(latest.pk), actor=agent).exists()


def test_my_latest_call_without_a_pbx_login_is_404(api, agent):
    response = api.as_user(agent).get("/api/calls/mine/latest/")
    assert response.status_code == 404 and "PBX" in response.json()["message"]


def test_my_latest_call_when_none_answered_yet(api, agent):
    AgentProfile.objects.create(user=agent, pbx_login="op09")
    assert api.as_user(agent).get("/api/calls/mine/latest/").status_code == 404


@pytest.mark.parametrize("role", ["reviewer", "nobody"])
def test_my_latest_call_is_for_staff(api, request, role):
    assert api.as_user(request.getfixturevalue(role)).get("/api/calls/mine/latest/").status_code == 403


# --- wrap-up ------------------------------------------------------------------------------


def test_wrapup_completes_once(api, agent, time_machine):
    inquiry = PhoneInquiryFactory()
    time_machine.move_to(tokyo(2026, 10, 1, 10, 8), tick=False)
    response = api.as_user(agent).post(f"/api/inquiries/{inquiry.ref}/wrapup/", {"version": 1}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["wrapup_completed_at"] == "2026-10-01T10:08:00+09:00"
    assert response["ETag"] == '"v2"'

    time_machine.move_to(tokyo(2026, 10, 1, 10, 30), tick=False)
    again = api.post(f"/api/inquiries/{inquiry.ref}/wrapup/", {}, format="json")
    assert again.json()["wrapup_completed_at"] == "2026-10-01T10:08:00+09:00"  # the first time stays


def test_wrapup_with_a_stale_version_conflicts(api, agent):
    inquiry = PhoneInquiryFactory(version=3)
    response = api.as_user(agent).post(f"/api/inquiries/{inquiry.ref}/wrapup/", {}, format="json", HTTP_IF_MATCH='"v2"')
    assert response.status_code == 412
    inquiry.refresh_from_db()
    assert inquiry.wrapup_completed_at is None


def test_wrapup_only_for_phone_inquiries(api, agent):
    inquiry = InquiryFactory()
    assert api.as_user(agent).post(f"/api/inquiries/{inquiry.ref}/wrapup/", {}, format="json").status_code == 409


@pytest.mark.parametrize(
    ("role", "code"), [("agent", 200), ("supervisor", 200), ("admin_user", 200), ("reviewer", 403), ("nobody", 403)]
)
def test_who_may_complete_wrapup(api, request, role, code):
    inquiry = PhoneInquiryFactory()
    assert (
        api.as_user(request.getfixturevalue(role))
        .post(f"/api/inquiries/{inquiry.ref}/wrapup/", {}, format="json")
        .status_code
        == code
    )


# --- missing wrap-up ----------------------------------------------------------------------


def test_supervisor_sees_answered_calls_without_wrapup(api, supervisor, django_assert_max_num_queries):
    no_inquiry = CallFactory(arrived_at=tokyo(2026, 10, 1, 10))
    open_wrapup = PhoneInquiryFactory(call=CallFactory(arrived_at=tokyo(2026, 10, 1, 11))).call
    PhoneInquiryFactory(
        call=CallFactory(arrived_at=tokyo(2026, 10, 1, 12)), wrapup_completed_at=tokyo(2026, 10, 1, 12, 10)
    )
    CallFactory(arrived_at=tokyo(2026, 10, 1, 13), acw_seconds=40)  # the PBX measured ACW
    CallFactory(arrived_at=tokyo(2026, 10, 1, 14), outcome="queue_abandoned")
    CallFactory(arrived_at=tokyo(2026, 10, 2, 10), agent="op02")

    client = api.as_user(supervisor)
    with django_assert_max_num_queries(4):
        body = client.get("/api/calls/missing-wrapup/").json()
    assert [r["call_id"] for r in body["results"]][1:] == [open_wrapup.call_id, no_inquiry.call_id]
    assert body["results"][1]["inquiry"] == open_wrapup.inquiry.ref
    day = client.get("/api/calls/missing-wrapup/?from=2026-10-01&to=2026-10-01").json()["results"]
    assert {r["call_id"] for r in day} == {open_wrapup.call_id, no_inquiry.call_id}
    assert len(client.get("/api/calls/missing-wrapup/?agent=op02").json()["results"]) == 1
    assert client.get("/api/calls/missing-wrapup/?from=yesterday").status_code == 400


@pytest.mark.parametrize(
    ("role", "code"), [("agent", 403), ("supervisor", 200), ("admin_user", 200), ("reviewer", 403), ("nobody", 403)]
)
def test_who_sees_missing_wrapup(api, request, role, code):
    assert api.as_user(request.getfixturevalue(role)).get("/api/calls/missing-wrapup/").status_code == code


def test_core_call_detail_still_routes(api, agent):
    call = CallFactory(call_id="1790813100.101")
    assert api.as_user(agent).get(f"/api/calls/{call.call_id}/").status_code == 200
