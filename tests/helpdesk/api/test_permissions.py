"""One test per cell of docs/permissions.md: (action × role) → the HTTP status the API
answers. `ok` cells assert the success status; denied cells 403; anonymous 401."""

import pytest

from helpdesk import roles
from tests.factories import (
    CallFactory,
    ComplaintFactory,
    EmailMessageFactory,
    EscalationFactory,
    InquiryFactory,
    SecurityIncidentFactory,
    UserFactory,
    tokyo,
)

pytestmark = pytest.mark.django_db

ROLES = ["agent", "supervisor", "admin", "reviewer", "anonymous"]


@pytest.fixture
def world(db):
    inquiry = InquiryFactory(received_at=tokyo(2026, 10, 1, 9, 0))
    return {
        "inquiry": inquiry,
        "colleague": UserFactory(username="colleague", roles=["agent"]),
        "escalation": EscalationFactory(inquiry=inquiry),
        "complaint": ComplaintFactory(inquiry=inquiry),
        "incident": SecurityIncidentFactory(),
        "call": CallFactory(),
        "email": EmailMessageFactory(),
    }


def _ref(w):
    return w["inquiry"].ref


ACTIONS = {
    "list inquiries": lambda c, w, me: c.get("/api/inquiries/"),
    "create inquiry": lambda c, w, me: c.post("/api/inquiries/", {"channel": "phone", "subject": "到達確認"}),
    "view inquiry (PII)": lambda c, w, me: c.get(f"/api/inquiries/{_ref(w)}/"),
    "update inquiry": lambda c, w, me: c.patch(f"/api/inquiries/{_ref(w)}/", {"category": "login", "version": 1}),
    "take inquiry (assign to self)": lambda c, w, me: c.post(
        f"/api/inquiries/{_ref(w)}/assign/", {"assignee": me.pk if me else None}
    ),
    "assign inquiry to another": lambda c, w, me: c.post(
        f"/api/inquiries/{_ref(w)}/assign/", {"assignee": w["colleague"].pk}
    ),
    "correct a contract figure": lambda c, w, me: c.post(
        f"/api/inquiries/{_ref(w)}/corrections/", {"ministry_guidance": True, "reason": "所管府省を案内していた"}
    ),
    "change status": lambda c, w, me: c.post(f"/api/inquiries/{_ref(w)}/transition/", {"status": "in_progress"}),
    "escalate internally (to SV)": lambda c, w, me: c.post(
        f"/api/inquiries/{_ref(w)}/escalations/", {"target": "internal"}
    ),
    "escalate outside the contractor": lambda c, w, me: c.post(
        f"/api/inquiries/{_ref(w)}/escalations/", {"target": "responsible_section"}
    ),
    "list escalations": lambda c, w, me: c.get("/api/escalations/"),
    "record escalation answer": lambda c, w, me: c.post(
        f"/api/escalations/{w['escalation'].pk}/return/", {"answer": "回答"}
    ),
    "list complaints": lambda c, w, me: c.get("/api/complaints/"),
    "record complaint": lambda c, w, me: c.post("/api/complaints/", {"inquiry": _ref(w), "description": "苦情"}),
    "classify complaint": lambda c, w, me: c.post(
        f"/api/complaints/{w['complaint'].pk}/classify/", {"cause": "operator_error"}
    ),
    "list security incidents": lambda c, w, me: c.get("/api/security-incidents/"),
    "view security incident": lambda c, w, me: c.get(f"/api/security-incidents/{w['incident'].pk}/"),
    "record security incident": lambda c, w, me: c.post(
        "/api/security-incidents/",
        {"occurred_at": "2026-10-05T10:00:00", "detected_at": "2026-10-05T11:00:00", "severity": "minor"},
    ),
    "update security incident": lambda c, w, me: c.patch(
        f"/api/security-incidents/{w['incident'].pk}/", {"severity": "major", "reason": "影響範囲の再評価"}
    ),
    "list calls": lambda c, w, me: c.get("/api/calls/"),
    "view call (caller number)": lambda c, w, me: c.get(f"/api/calls/{w['call'].call_id}/"),
    "list emails": lambda c, w, me: c.get("/api/emails/"),
    "view email (addresses, body)": lambda c, w, me: c.get(f"/api/emails/{w['email'].pk}/"),
}

OK, NO = "ok", "no"
# (agent, supervisor, admin, reviewer); anonymous is always 401.
MATRIX = {
    "list inquiries": (200, 200, 200, NO),
    "create inquiry": (201, 201, 201, NO),
    "view inquiry (PII)": (200, 200, 200, NO),
    "update inquiry": (200, 200, 200, NO),
    "take inquiry (assign to self)": (200, 200, 200, NO),
    "assign inquiry to another": (NO, 200, 200, NO),
    "correct a contract figure": (NO, 200, 200, NO),
    "change status": (200, 200, 200, NO),
    "escalate internally (to SV)": (201, 201, 201, NO),
    "escalate outside the contractor": (NO, 201, 201, NO),
    "list escalations": (200, 200, 200, NO),
    "record escalation answer": (NO, 200, 200, NO),
    "list complaints": (200, 200, 200, NO),
    "record complaint": (201, 201, 201, NO),
    "classify complaint": (NO, 200, 200, NO),
    "list security incidents": (NO, NO, 200, 200),
    "view security incident": (NO, NO, 200, 200),
    "record security incident": (NO, NO, 201, NO),
    "update security incident": (NO, NO, 200, NO),
    "list calls": (200, 200, 200, NO),
    "view call (caller number)": (200, 200, 200, NO),
    "list emails": (200, 200, 200, NO),
    "view email (addresses, body)": (200, 200, 200, NO),
}

CELLS = [(action, role, (row + (None,))[ROLES.index(role)]) for action, row in MATRIX.items() for role in ROLES]


@pytest.mark.parametrize(("action", "role", "expected"), CELLS, ids=[f"{a} / {r}" for a, r, _ in CELLS])
def test_api_permission_cell(api, world, action, role, expected):
    me = None if role == "anonymous" else UserFactory(username=f"matrix-{role}", roles=[role])
    client = api.as_user(me) if me else api
    client.default_format = "json"

    response = ACTIONS[action](client, world, me)

    if role == "anonymous":
        assert response.status_code == 401, response.content
    elif expected == NO:
        assert response.status_code == 403, response.content
    else:
        assert response.status_code == expected, response.content


def test_matrix_covers_every_action():
    assert set(MATRIX) == set(ACTIONS)


def test_user_without_a_role_is_refused_everywhere(api, world):
    nobody = UserFactory(username="norole-matrix", roles=[])
    client = api.as_user(nobody)
    client.default_format = "json"

    for action, do in ACTIONS.items():
        assert do(client, world, nobody).status_code == 403, action


# Rows served by other areas (kpi/, faq/, calendar pages) rest on these role predicates.
ROLE_RULES = {
    "read KPI reports and the monthly KPI API": (roles.can_read_kpi, (False, True, True, True, False)),
    "see personal information": (roles.can_see_pii, (True, True, True, False, False)),
    "manage users, calendar, targets, FAQ publishing": (roles.is_admin, (False, False, True, False, False)),
}
RULE_CELLS = [(rule, role, allowed[ROLES.index(role)]) for rule, (_, allowed) in ROLE_RULES.items() for role in ROLES]


@pytest.mark.parametrize(("rule", "role", "allowed"), RULE_CELLS, ids=[f"{a} / {r}" for a, r, _ in RULE_CELLS])
def test_role_rule_cell(rule, role, allowed):
    from django.contrib.auth.models import AnonymousUser

    user = AnonymousUser() if role == "anonymous" else UserFactory(username=f"rule-{role}", roles=[role])

    assert ROLE_RULES[rule][0](user) is allowed
