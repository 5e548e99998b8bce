"""The mail tasks through a real Celery worker process on Redis (PostgreSQL only: the
worker must see the test database)."""

import pytest

from helpdesk.mail.intake import mail_store
from helpdesk.models import EmailMessage
from tests.helpdesk.mail import builders as b
from tests.helpdesk.mail.test_imap import Mailbox, _messages
from tests.workers import REAL_WORKER, wait_for

pytestmark = REAL_WORKER


@pytest.fixture
def imap_env(monkeypatch):
    """Point the worker's settings (read from the environment) at a fresh Dovecot folder."""
    box = Mailbox()
    monkeypatch.setenv("IMAP_HOST", box.host)
    monkeypatch.setenv("IMAP_PORT", str(box.port))
    monkeypatch.setenv("IMAP_USER", box.user)
    monkeypatch.setenv("IMAP_PASSWORD", box.password)
    monkeypatch.setenv("IMAP_SECURITY", "none")  # loopback only
    monkeypatch.setenv("IMAP_FOLDER", box.folder)
    yield box
    box.cleanup()


def test_outbox_and_imap_tasks_in_a_real_worker(imap_env, celery_worker, api, agent):
    """One worker for both tasks (the shared fixture's worker cannot be restarted within
    one session: a second start in the same process gets no ping)."""
    from django.contrib.auth.models import Group

    from helpdesk.mail.tasks import mail_poll_imap
    from helpdesk.models import Role
    from helpdesk.roles import assign_roles

    # Earlier transactional tests flush the role groups the migrations created.
    for role in Role.values:
        Group.objects.get_or_create(name=role)
    assign_roles(agent, [Role.AGENT])

    # A reply queued through the API is sent by mail_send_message in the worker.
    inquiry = mail_store(raw=b.message(message_id="<w1@example.com>"), source="imap").message.inquiry
    response = api.as_user(agent).post(f"/api/inquiries/{inquiry.ref}/reply/", {"body": "回答です。"}, format="json")
    assert response.status_code == 202
    pk = response.json()["id"]
    assert wait_for(lambda: EmailMessage.objects.get(pk=pk).send_status == "sent")
    inquiry.refresh_from_db()
    assert inquiry.first_answered_at == EmailMessage.objects.get(pk=pk).sent_at

    # The beat task polls Dovecot from the worker (settings from the worker's environment).
    imap_env.append(*_messages(3))
    mail_poll_imap.delay()
    assert wait_for(lambda: EmailMessage.objects.filter(source="imap").count() == 4)
    flags = imap_env.flags()
    assert len(flags) == 3 and all("$EgHelpdeskImported" in f for f in flags.values())
