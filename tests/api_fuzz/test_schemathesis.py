"""Schemathesis against the project's own OpenAPI schema (`/api/schema/`), in-process over
WSGI, as admin, agent and reviewer. Three properties must hold for every generated request:

- no response is a 5xx (bad input is a 4xx naming the field);
- every documented response conforms to the schema (the schema is a public interface);
- no reviewer response carries personal data: none of the requester names, e-mail addresses,
  phone numbers, callers, mail from/to addresses or body texts seeded below appears in it.

Hypothesis is derandomized and bounded (a handful of examples per operation and role), so a
run is reproducible and the three roles together stay within a few minutes. Every example
runs in a savepoint that is rolled back, so writes never leak into the next example and the
seeded records stay what the GET endpoints return."""

import contextlib
import datetime as dt
import json
import os
import time
from dataclasses import dataclass, field

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from faq.models import FaqEntry
from helpdesk.accounts.tokens import api_token_issue
from helpdesk.models import CalendarDay, Call, EmailMessage, Role, SecurityIncident
from tests.factories import (
    CallFactory,
    ComplaintFactory,
    EmailMessageFactory,
    EscalationFactory,
    InquiryFactory,
    PhoneInquiryFactory,
    SecurityIncidentFactory,
    UserFactory,
    tokyo,
)

# Run once, in the PostgreSQL pass of `make test` (the production database): the SQLite pass
# deselects `postgres`, which keeps the suite's fuzz budget to one run of a few minutes.
pytestmark = [pytest.mark.django_db, pytest.mark.fuzz, pytest.mark.postgres]

ROLES = (Role.ADMIN, Role.AGENT, Role.REVIEWER)
# Per operation, mode and role. 77 operations × 3 roles × (positive + negative) × this many
# examples is what bounds the run; raise it locally (API_FUZZ_MAX_EXAMPLES=25) to dig deeper.
MAX_EXAMPLES = int(os.environ.get("API_FUZZ_MAX_EXAMPLES", "4"))
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: we count findings, not minimize them
    suppress_health_check=list(HealthCheck),
)

# The schema itself and the Swagger/ReDoc pages are not API data.
SKIP_PATHS = {"/api/schema/"}


@dataclass
class Seeded:
    """What the fuzz database holds: path parameters of real records, and the personal data a
    reviewer must never see."""

    path_parameters: dict[str, str] = field(default_factory=dict)
    personal_data: set[str] = field(default_factory=set)


def _seed() -> Seeded:
    seeded = Seeded()
    pii = seeded.personal_data
    inquiries = []
    for i in range(3):
        inquiry = InquiryFactory(
            received_at=tokyo(2026, 10, 1 + i, 10, 0),
            requester_name=f"佐藤 花子{i}",
            requester_email=f"hanako.sato{i}@example.org",
            requester_phone=f"080-5555-{1000 + i}",
            body=f"マイナンバーカードの読み取りに失敗します。連絡先は自宅です{i}。",
        )
        inquiries.append(inquiry)
        pii |= {inquiry.requester_name, inquiry.requester_email, inquiry.requester_phone, inquiry.body}
    for i in range(2):
        call = CallFactory(arrived_at=tokyo(2026, 10, 2, 11, i), caller=f"0455551{i:03d}")
        phone = PhoneInquiryFactory(
            call=call, requester_name=f"鈴木 一郎{i}", requester_phone=f"070-4444-{2000 + i}", body=f"電話の内容{i}番"
        )
        inquiries.append(phone)
        pii |= {call.caller, phone.requester_name, phone.requester_phone, phone.body}
    CallFactory(arrived_at=tokyo(2026, 10, 3, 9, 30), caller="0335559999", outcome=Call.Outcome.QUEUE_ABANDONED)
    pii.add("0335559999")
    inbound = EmailMessageFactory(
        inquiry=inquiries[0],
        from_address="hanako.sato0@example.org",
        from_name="佐藤 花子0",
        to_addresses="support@center.example.jp",
        body_text="添付の画面のとおりエラーになります。佐藤",
        received_at=tokyo(2026, 10, 1, 10, 0),
    )
    outbound = EmailMessageFactory(
        inquiry=inquiries[0],
        direction=EmailMessage.Direction.OUTBOUND,
        from_address="support@center.example.jp",
        to_addresses="hanako.sato0@example.org",
        body_text="佐藤様 お問い合わせありがとうございます。",
        received_at=None,
        sent_at=tokyo(2026, 10, 1, 11, 0),
    )
    pii |= {inbound.from_address, inbound.from_name, inbound.body_text, outbound.to_addresses, outbound.body_text}
    escalation = EscalationFactory(inquiry=inquiries[1])
    complaint = ComplaintFactory(inquiry=inquiries[2])
    incident = SecurityIncidentFactory(severity=SecurityIncident.Severity.MINOR)
    # A hand-written FAQ draft: no category, no source cluster or surge (all null in the answer).
    FaqEntry.objects.create(question="電子署名の付け方を教えてください", answer="手順は次のとおりです。")
    CalendarDay.objects.create(
        date=dt.date(2026, 10, 10), kind=CalendarDay.Kind.OPEN, opens_at=dt.time(9), closes_at=dt.time(12)
    )
    seeded.path_parameters = {
        "ref": inquiries[0].ref,
        "call_id": inquiries[3].call.call_id,
        "id": str(inbound.pk),
        "n": "0",
        "month": "2026-10",
        "date": "2026-10-10",
    }
    del escalation, complaint, incident
    # Whole values only: the phone numbers also in the digits-only form an API might show.
    pii |= {v.replace("-", "") for v in pii if v.replace("-", "").isdigit()}
    return seeded


@dataclass
class Findings:
    server_errors: set[str] = field(default_factory=set)
    schema_violations: set[str] = field(default_factory=set)
    personal_data: set[str] = field(default_factory=set)
    requests: int = 0
    # Successful answers per role: the reviewer check means something only if some came back.
    ok_by_role: dict[str, int] = field(default_factory=dict)


def _classify(findings: Findings, key: str, exc: BaseException) -> None:
    failures = exc.exceptions if isinstance(exc, FailureGroup) else [exc]
    for failure in failures:
        title = getattr(failure, "title", type(failure).__name__)
        message = str(getattr(failure, "message", failure)).splitlines()[0:3]
        if "Server error" in title:
            findings.server_errors.add(f"{key}: {' '.join(message)[:300]}")
        else:
            findings.schema_violations.add(f"{key}: {title}: {' '.join(message)[:300]}")


def _fuzz_operation(app, operation, token: str, role: str, seeded: Seeded, findings: Findings) -> None:
    key = f"{role} {operation.method.upper()} {operation.path}"
    auth = {"Authorization": f"Token {token}"}
    names = {p.name for p in operation.path_parameters}
    known = {k: v for k, v in seeded.path_parameters.items() if k in names}
    strategies = [operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known or None)]
    strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))

    for strategy in strategies:

        @FUZZ
        @given(case=strategy)
        def run(case):
            findings.requests += 1
            with transaction.atomic():
                response = case.call(app=app, headers=auth)
                transaction.set_rollback(True)
            if response.status_code < 300:
                findings.ok_by_role[role] = findings.ok_by_role.get(role, 0) + 1
            try:
                case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
            except (AssertionError, FailureGroup) as exc:
                _classify(findings, key, exc)
            if role == Role.REVIEWER:
                text = response.text
                with contextlib.suppress(ValueError):  # JSON may escape non-ASCII: read it back too
                    text += json.dumps(json.loads(text), ensure_ascii=False)
                for value in seeded.personal_data:
                    if value and value in text:
                        findings.personal_data.add(f"{key}: {value!r}")

        with contextlib.suppress(Unsatisfiable):  # nothing to negate (no parameters, no body)
            run()


@pytest.fixture
def wsgi_app():
    """The project's WSGI application, called in-process. Like Django's test client, keep the
    handler from closing the test's database connection at the end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_api_fuzz_no_5xx_no_schema_violation_no_reviewer_pii(wsgi_app):
    app = wsgi_app
    seeded = _seed()
    schema = schemathesis.openapi.from_wsgi("/api/schema/", app)
    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [op for op in operations if op.path not in SKIP_PATHS]
    findings = Findings()
    started = time.monotonic()
    for role in ROLES:
        user = UserFactory(username=f"fuzz-{role}", roles=[role])
        token, _ = api_token_issue(user=user)
        for operation in operations:
            _fuzz_operation(app, operation, token, role, seeded, findings)
    elapsed = time.monotonic() - started
    report = "\n".join(
        [f"{findings.requests} requests over {len(operations)} operations × {len(ROLES)} roles in {elapsed:.0f} s"]
        + [f"2xx answers by role: {findings.ok_by_role}"]
        + [f"5xx ({len(findings.server_errors)}):"]
        + sorted(findings.server_errors)
        + [f"schema violations ({len(findings.schema_violations)}):"]
        + sorted(findings.schema_violations)
        + [f"reviewer personal data ({len(findings.personal_data)}):"]
        + sorted(findings.personal_data)
    )
    print(report)
    assert findings.ok_by_role.get(Role.REVIEWER, 0) > 0, report
    assert not (findings.server_errors or findings.schema_violations or findings.personal_data), report
