"""IMAP intake against the real Dovecot server started by scripts/services.sh."""

import imaplib
import os
import ssl
import time
import uuid

import pytest

from helpdesk.mail import imap as intake
from helpdesk.models import EmailMessage, ImapMailbox, ImapReceipt, Inquiry
from tests.helpdesk.mail import builders as b

pytestmark = [pytest.mark.imap, pytest.mark.django_db]


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f'{name} is not set: run `eval "$(scripts/services.sh)"` first (Dovecot on loopback).')
    return value


def _ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Mailbox:
    """A fresh folder (and processed folder) on the real server for one test."""

    def __init__(self):
        self.host = _env("TEST_IMAP_HOST")
        self.port = int(_env("TEST_IMAP_PORT"))
        self.ssl_port = int(_env("TEST_IMAP_SSL_PORT"))
        self.user = _env("TEST_IMAP_USER")
        self.password = _env("TEST_IMAP_PASSWORD")
        self.folder = f"test-{uuid.uuid4().hex[:10]}"
        self.processed = f"{self.folder}-done"
        conn = self.connect()
        for name in (self.folder, self.processed):
            assert conn.create(name)[0] == "OK"
        conn.logout()

    def connect(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4_SSL(self.host, self.ssl_port, ssl_context=_ctx())
        conn.login(self.user, self.password)
        return conn

    def config(self, **overrides):
        base = {
            "HOST": self.host,
            "PORT": self.ssl_port,
            "USER": self.user,
            "PASSWORD": self.password,
            "SECURITY": "ssl",
            "FOLDER": self.folder,
            "PROCESSED_FOLDER": "",
            "INSECURE_SKIP_VERIFY": True,
        }
        base.update(overrides)
        return base

    def append(self, *messages: bytes) -> None:
        conn = self.connect()
        for raw in messages:
            typ, _ = conn.append(self.folder, None, imaplib.Time2Internaldate(time.time()), raw)
            assert typ == "OK"
        conn.logout()

    def flags(self, folder=None) -> dict[int, str]:
        conn = self.connect()
        conn.select(folder or self.folder, readonly=True)
        typ, data = conn.uid("FETCH", "1:*", "(FLAGS)")
        conn.logout()
        out = {}
        for line in data:
            if not line:
                continue
            text = line.decode()
            uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
            out[uid] = text.split("FLAGS (")[1].split(")")[0]
        return out

    def cleanup(self):
        conn = self.connect()
        for name in (self.folder, self.processed):
            conn.delete(name)
        conn.logout()


@pytest.fixture
def mailbox():
    box = Mailbox()
    yield box
    box.cleanup()


def _messages(n: int, start: int = 0) -> list[bytes]:
    charsets = ["iso-2022-jp", "shift_jis", "euc-jp", "utf-8"]
    return [
        b.message(
            message_id=f"<imap-{i}@example.com>",
            subject=f"問い合わせ{i} ①髙" if i % 4 == 0 else f"問い合わせ{i}",
            charset=charsets[i % 4],
            from_addr=f"citizen{i}@example.com",
        )
        for i in range(start, start + n)
    ]


def test_imaps_poll_stores_each_message_once_and_flags_it_after_commit(mailbox):
    mailbox.append(*_messages(3))

    result = intake.mail_poll_imap(config=mailbox.config())

    assert (result.fetched, result.created, result.marked) == (3, 3, 3)
    assert EmailMessage.objects.filter(source="imap").count() == 3
    assert Inquiry.objects.count() == 3
    assert EmailMessage.objects.get(message_id="<imap-0@example.com>").subject == "問い合わせ0 ①髙"
    flags = mailbox.flags()
    assert all("\\Seen" in f and intake.IMPORTED_KEYWORD in f for f in flags.values()), flags
    state = ImapMailbox.objects.get(folder=mailbox.folder)
    assert state.last_uid == max(flags) and state.uidvalidity > 0

    again = intake.mail_poll_imap(config=mailbox.config())
    assert again.fetched == 0 and EmailMessage.objects.count() == 3

    mailbox.append(*_messages(1, start=3))
    assert intake.mail_poll_imap(config=mailbox.config()).created == 1
    assert EmailMessage.objects.count() == 4


def test_starttls_with_processed_folder_moves_messages(mailbox):
    mailbox.append(*_messages(2))

    result = intake.mail_poll_imap(
        config=mailbox.config(PORT=mailbox.port, SECURITY="starttls", PROCESSED_FOLDER=mailbox.processed)
    )

    assert result.created == 2
    assert mailbox.flags() == {}
    assert len(mailbox.flags(mailbox.processed)) == 2


def test_crash_after_commit_before_flagging_loses_and_duplicates_nothing(mailbox):
    mailbox.append(*_messages(5))
    calls = []

    def die_on_third(uid):
        calls.append(uid)
        if len(calls) == 3:
            raise SystemExit("intake killed")

    with pytest.raises(SystemExit):
        intake.mail_poll_imap(config=mailbox.config(), after_commit=die_on_third)
    assert EmailMessage.objects.count() == 3  # committed before the crash
    assert sum(intake.IMPORTED_KEYWORD in f for f in mailbox.flags().values()) == 2
    assert ImapReceipt.objects.filter(flagged=False).count() == 1

    result = intake.mail_poll_imap(config=mailbox.config())

    assert result.fetched == 2  # the committed-but-unflagged one is marked without fetching
    assert EmailMessage.objects.count() == 5
    assert sorted(EmailMessage.objects.values_list("message_id", flat=True)) == sorted(
        f"<imap-{i}@example.com>" for i in range(5)
    )
    flags = mailbox.flags()
    assert len(flags) == 5 and all(intake.IMPORTED_KEYWORD in f for f in flags.values())
    assert ImapReceipt.objects.filter(flagged=True).count() == 5


def test_crash_before_commit_refetches_on_restart(mailbox, monkeypatch):
    mailbox.append(*_messages(4))
    real_store = intake.mail_store
    calls = []

    def failing_store(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise ConnectionError("database went away")
        return real_store(**kwargs)

    monkeypatch.setattr(intake, "mail_store", failing_store)
    with pytest.raises(ConnectionError):
        intake.mail_poll_imap(config=mailbox.config())
    assert EmailMessage.objects.count() == 1
    monkeypatch.setattr(intake, "mail_store", real_store)

    intake.mail_poll_imap(config=mailbox.config())

    assert EmailMessage.objects.count() == 4
    assert all(intake.IMPORTED_KEYWORD in f for f in mailbox.flags().values())


def test_new_uidvalidity_starts_over_without_duplicates(mailbox):
    mailbox.append(*_messages(2))
    intake.mail_poll_imap(config=mailbox.config())
    ImapMailbox.objects.filter(folder=mailbox.folder).update(uidvalidity=1, last_uid=0)

    result = intake.mail_poll_imap(config=mailbox.config())

    assert result.uidvalidity_reset and result.created == 0
    assert EmailMessage.objects.count() == 2


def test_overlapping_runs_are_refused(mailbox, settings):
    from django.core.cache import cache

    from helpdesk.mail.tasks import mail_poll_imap as task

    settings.HELPDESK_IMAP = mailbox.config()
    cache.add(intake.LOCK_KEY, "someone-else", timeout=60)
    try:
        with pytest.raises(intake.ImapIntakeBusy):
            intake.mail_poll_imap(config=mailbox.config())
        assert task.apply().get().startswith("skipped")
    finally:
        cache.delete(intake.LOCK_KEY)
    mailbox.append(*_messages(1))
    assert task.apply().get().startswith("1 fetched, 1 created")  # the beat task, once the lock is free


def test_not_mail_is_left_unmarked_and_the_rest_goes_on(mailbox):
    mailbox.append(b"\r\n", *_messages(1))
    result = intake.mail_poll_imap(config=mailbox.config())
    assert (result.rejected, result.created) == (1, 1)


KILLED_INTAKE = """
import json, os, time, django
django.setup()
from helpdesk.mail.imap import mail_poll_imap
mail_poll_imap(config=json.loads(os.environ["IMAP_CONFIG"]), after_commit=lambda uid: time.sleep(0.05))
"""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_intake_process_killed_mid_batch_then_restarted(mailbox):
    """SIGKILL a real intake process mid-batch; the restarted intake has every message
    exactly once and every message flagged on the server."""
    import json
    import signal
    import subprocess
    import sys

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("a second process cannot share SQLite's in-memory test database")
    total = 40
    mailbox.append(*_messages(total))
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.worker_test",
        TEST_DATABASE_NAME=connection.settings_dict["NAME"],
        REDIS_URL=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6390/0"),
        IMAP_CONFIG=json.dumps(mailbox.config()),
    )
    proc = subprocess.Popen([sys.executable, "-c", KILLED_INTAKE], env=env, cwd=os.getcwd())
    try:
        deadline = time.monotonic() + 60
        while EmailMessage.objects.count() < 8 and time.monotonic() < deadline:
            assert proc.poll() is None, "intake finished before it could be killed"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    stored_at_kill = EmailMessage.objects.count()
    assert 8 <= stored_at_kill < total

    intake.mail_poll_imap(config=mailbox.config())

    assert EmailMessage.objects.count() == total
    assert EmailMessage.objects.values("message_id").distinct().count() == total
    flags = mailbox.flags()
    assert len(flags) == total and all(intake.IMPORTED_KEYWORD in f for f in flags.values())
