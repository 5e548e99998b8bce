import socket
import threading

import pytest

from helpdesk.mail.intake import mail_store
from tests.helpdesk.mail import builders as b


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """What the loopback SMTP server received."""

    def __init__(self):
        self.envelopes = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, port: int):
        self.port = port
        self.inbox = Inbox()
        self.controller = None

    def start(self):
        from aiosmtpd.controller import Controller

        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server (aiosmtpd) on loopback; Django's SMTP backend points at it."""
    server = SmtpServer(free_port())
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.stop()


_TRIGGER_SQL = (
    "CREATE TRIGGER IF NOT EXISTS helpdesk_auditevent_no_delete BEFORE DELETE ON helpdesk_auditevent "
    "BEGIN SELECT RAISE(ABORT, 'helpdesk_auditevent is append-only'); END;"
)


@pytest.fixture
def audit_flushable(request, django_db_blocker):
    """For live-server (transactional) tests on SQLite: the audit trail's append-only
    trigger refuses the DELETE that the test-database flush runs after the test. The
    trigger is lifted just before that flush and put back right after it (see
    pytest_runtest_teardown below). PostgreSQL flushes with TRUNCATE, which its row
    trigger does not see, so nothing changes there."""
    from django.db import connection

    yield
    if connection.vendor == "sqlite":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER IF EXISTS helpdesk_auditevent_no_delete")
        request.node.stash[_TRIGGER_DROPPED] = True


_TRIGGER_DROPPED = pytest.StashKey[bool]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield
    if item.stash.get(_TRIGGER_DROPPED, False):
        from django.db import connection
        from pytest_django.plugin import blocking_manager_key

        with item.config.stash[blocking_manager_key].unblock(), connection.cursor() as cursor:
            cursor.execute(_TRIGGER_SQL)


@pytest.fixture(params=["row", "bulk"])
def mail_path(request, settings):
    """Runs a mail file import test on the row path and on the bulk path (chosen by size: every
    source is large enough, parsing in the test's process). test_bulk.py compares the rows."""
    settings.HELPDESK_MAIL_BULK_MIN_BYTES = 1 if request.param == "bulk" else 0
    settings.HELPDESK_MAIL_BULK_WORKERS = 0
    return request.param


@pytest.fixture
def question(db):
    """A citizen's question by mail (IMAP), part of an older thread: what the reply tests answer."""
    raw = b.message(
        message_id="<q1@example.com>",
        subject="マイナポータル連携について",
        references="<older@example.com>",
        date="Thu, 01 Oct 2026 10:00:00 +0900",
    )
    return mail_store(raw=raw, source="imap").message.inquiry
