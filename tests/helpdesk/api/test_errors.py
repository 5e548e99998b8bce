"""One error shape for every API error, {message, code, errors, extra}: every error response
the schema documents refers to it, and errors of each package come back in it."""

import pytest

from helpdesk.models import Attachment
from tests.factories import EmailMessageFactory, InquiryFactory

pytestmark = pytest.mark.django_db

SHAPE = {"message", "code", "errors", "extra"}


def test_every_documented_error_response_is_the_one_error_shape(api, admin_user):
    schema = api.as_user(admin_user).get("/api/schema/?format=json").json()
    assert set(schema["components"]["schemas"]["Error"]["required"]) == SHAPE
    walked = 0
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            for status_code, response in operation.get("responses", {}).items():
                if str(status_code)[0] in "45":
                    walked += 1
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/Error", (method, path, status_code)
    assert walked > 20


def test_errors_of_every_package_come_back_in_the_one_shape(api, admin_user, agent):
    inquiry = InquiryFactory()
    message = EmailMessageFactory(inquiry=inquiry)
    Attachment.objects.create(message=message, filename="big.pdf", size=10**8, truncated=True)
    unauthenticated = api.get("/api/inquiries/")
    faq_404 = api.get("/api/faq/entries/999999/")
    as_agent = api.as_user(agent)
    answers = {
        "unauthenticated": unauthenticated,
        "inquiry 404": as_agent.get("/api/inquiries/EG-19990101-XXXXXX/"),
        "inquiry 400": as_agent.post("/api/inquiries/", {}, format="json"),
        "call 404": as_agent.get("/api/calls/no-such-call/"),
        "import run 404": as_agent.get("/api/import-runs/999999/"),
        "attachment 410": as_agent.get(f"/api/emails/{message.pk}/attachments/1/"),
        "kpi 400": as_agent.get("/api/kpi/months/2026-13/"),
        "faq 404": faq_404,
    }
    for name, response in answers.items():
        assert response.status_code >= 400, name
        assert set(response.json()) == SHAPE, (name, response.json())
    assert answers["attachment 410"].json()["code"] == "attachment_not_kept"
