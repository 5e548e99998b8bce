"""Live intake from the center's IMAP mailbox (Celery beat task `mail_poll_imap`).

Per message, in UID order:

1. FETCH BODY.PEEK[] (peek: the server's \\Seen is not touched by reading);
2. in ONE transaction: store the message (idempotent by Message-ID), write its
   `ImapReceipt` (UIDVALIDITY, UID) and advance `ImapMailbox.last_uid`; commit;
3. only then mark it on the server: MOVE to settings.HELPDESK_IMAP["PROCESSED_FOLDER"] if
   set, else STORE +FLAGS (\\Seen $EgHelpdeskImported).

A crash between 2 and 3 leaves a receipt without `flagged`: the next run marks those
without fetching them again. A crash before 2 commits nothing; the next run fetches the
message again (UID > last_uid). Nothing is lost and, because the receipt and the row
commit together and Message-ID is unique, nothing is stored twice. A changed UIDVALIDITY
starts the folder over. Runs never overlap: a cache lock (Redis in production) is held
for the run and refreshed as it goes."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import imaplib
import logging
import re
import ssl
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from helpdesk.mail.intake import mail_store
from helpdesk.mail.parse.message import NotAMailMessage
from helpdesk.models import EmailMessage, ImapMailbox, ImapReceipt

logger = logging.getLogger(__name__)

IMPORTED_KEYWORD = "$EgHelpdeskImported"
LOCK_KEY = "helpdesk:mail_poll_imap:lock"
LOCK_SECONDS = 600
BATCH = 200


class ImapIntakeBusy(Exception):
    """Another poll holds the lock."""


@dataclasses.dataclass
class PollResult:
    fetched: int = 0
    created: int = 0
    unchanged: int = 0
    rejected: int = 0
    marked: int = 0
    uidvalidity_reset: bool = False

    def summary(self) -> str:
        return (
            f"{self.fetched} fetched, {self.created} created, {self.unchanged} unchanged, "
            f"{self.rejected} rejected, {self.marked} marked on the server"
        )


def imap_connect(config: dict[str, Any]) -> imaplib.IMAP4:
    security = (config.get("SECURITY") or "ssl").lower()
    host, port = config["HOST"], int(config["PORT"])
    context = ssl.create_default_context()
    if config.get("CA_FILE"):
        context.load_verify_locations(cafile=config["CA_FILE"])
    if config.get("INSECURE_SKIP_VERIFY"):  # tests against a self-signed loopback server only
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    timeout = config.get("TIMEOUT", 60)
    if security == "ssl":
        conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=timeout)
    else:
        conn = imaplib.IMAP4(host, port, timeout=timeout)
        if security == "starttls":
            conn.starttls(ssl_context=context)
        elif security != "none":
            raise ValueError(f"unknown IMAP security {security!r}")
    conn.login(config["USER"], config["PASSWORD"])
    return conn


def _check(response: tuple[str, list], what: str) -> list:
    typ, data = response
    if typ != "OK":
        raise imaplib.IMAP4.error(f"{what} failed: {typ}")
    return data


def _uids(data: list) -> list[int]:
    if not data or not data[0]:
        return []
    return sorted(int(x) for x in data[0].split())


_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')


def _fetch(conn: imaplib.IMAP4, uid: int) -> tuple[bytes | None, Any]:
    data = _check(conn.uid("FETCH", str(uid), "(INTERNALDATE BODY.PEEK[])"), "FETCH")
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            internal = None
            m = _INTERNALDATE.search(item[0])
            if m:
                try:
                    internal = imaplib.Internaldate2tuple(b'INTERNALDATE "' + m.group(1) + b'"')
                except Exception:
                    internal = None
            when = None
            if internal is not None:
                when = dt.datetime.fromtimestamp(time.mktime(internal), tz=dt.UTC)
            return item[1], when
    return None, None


def _mark(conn: imaplib.IMAP4, uids: list[int], processed_folder: str) -> None:
    if not uids:
        return
    uid_set = ",".join(str(u) for u in uids)
    if processed_folder:
        typ, _ = conn.uid("MOVE", uid_set, processed_folder)
        if typ != "OK":  # a server without MOVE: copy, then delete
            _check(conn.uid("COPY", uid_set, processed_folder), "COPY")
            _check(conn.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Deleted)"), "STORE")
            conn.expunge()
    else:
        _check(conn.uid("STORE", uid_set, "+FLAGS.SILENT", f"(\\Seen {IMPORTED_KEYWORD})"), "STORE")


def _acquire_lock() -> str | None:
    token = uuid.uuid4().hex
    return token if cache.add(LOCK_KEY, token, timeout=LOCK_SECONDS) else None


def _refresh_lock(token: str) -> None:
    if cache.get(LOCK_KEY) == token:
        cache.touch(LOCK_KEY, LOCK_SECONDS)


def _release_lock(token: str) -> None:
    if cache.get(LOCK_KEY) == token:
        cache.delete(LOCK_KEY)


def mail_poll_imap(
    *,
    config: dict[str, Any] | None = None,
    limit: int | None = None,
    after_commit: Callable[[int], None] | None = None,
) -> PollResult:
    """One poll of the mailbox. `after_commit(uid)` is a test hook called after each row is
    committed and before the server is told (where a crash hurts most)."""
    config = {**settings.HELPDESK_IMAP, **(config or {})}
    if not config.get("HOST"):
        logger.info("IMAP intake: no IMAP host configured")
        return PollResult()
    token = _acquire_lock()
    if token is None:
        raise ImapIntakeBusy("another IMAP poll is running")
    try:
        return _poll(config, token=token, limit=limit, after_commit=after_commit)
    finally:
        _release_lock(token)


def _poll(config: dict[str, Any], *, token: str, limit: int | None, after_commit) -> PollResult:
    result = PollResult()
    folder = config.get("FOLDER") or "INBOX"
    processed = config.get("PROCESSED_FOLDER") or ""
    conn = imap_connect(config)
    try:
        _check(conn.select(_quote(folder)), "SELECT")
        uidvalidity_raw = conn.untagged_responses.get("UIDVALIDITY", [b"0"])[0]
        assert isinstance(uidvalidity_raw, bytes)  # an untagged UIDVALIDITY response is one number
        uidvalidity = int(uidvalidity_raw)
        mailbox, _ = ImapMailbox.objects.get_or_create(host=config["HOST"], user=config["USER"], folder=folder)
        if mailbox.uidvalidity != uidvalidity:
            result.uidvalidity_reset = mailbox.uidvalidity != 0
            mailbox.uidvalidity = uidvalidity
            mailbox.last_uid = 0
            mailbox.save(update_fields=["uidvalidity", "last_uid"])

        # 1. Committed here but not yet marked on the server (a crash after commit).
        unmarked = list(
            ImapReceipt.objects.filter(mailbox=mailbox, uidvalidity=uidvalidity, flagged=False)
            .order_by("uid")
            .values_list("uid", flat=True)
        )
        if unmarked:
            _mark(conn, unmarked, processed)
            ImapReceipt.objects.filter(mailbox=mailbox, uidvalidity=uidvalidity, uid__in=unmarked).update(flagged=True)
            result.marked += len(unmarked)

        # 2. New mail: every UID above the last committed one (in flag mode, skip anything
        #    already carrying our keyword, e.g. after a UIDVALIDITY reset).
        criteria = f"UID {mailbox.last_uid + 1}:*"
        if not processed:
            criteria += f" UNKEYWORD {IMPORTED_KEYWORD}"
        # charset None is what imaplib documents for SEARCH; typeshed types the argument as str.
        found = conn.uid("SEARCH", None, criteria)  # type: ignore[arg-type]
        uids = [u for u in _uids(_check(found, "SEARCH")) if u > mailbox.last_uid]
        if limit is not None:
            uids = uids[:limit]
        for i, uid in enumerate(uids):
            raw, internal_date = _fetch(conn, uid)
            if raw is None:
                continue  # expunged meanwhile
            result.fetched += 1
            with transaction.atomic():
                try:
                    stored = mail_store(raw=raw, source=EmailMessage.Source.IMAP, fallback_received_at=internal_date)
                    message = stored.message
                    created = stored.created
                except NotAMailMessage:
                    message, created = None, False
                if message is not None:
                    ImapReceipt.objects.get_or_create(
                        mailbox=mailbox, uidvalidity=uidvalidity, uid=uid, defaults={"message": message}
                    )
                ImapMailbox.objects.filter(pk=mailbox.pk).update(last_uid=uid, last_polled_at=timezone.now())
                mailbox.last_uid = uid
            if message is None:
                result.rejected += 1
                logger.warning("IMAP intake: UID %s rejected; left unmarked on the server", uid)
                continue
            if created:
                result.created += 1
            else:
                result.unchanged += 1
            if after_commit is not None:
                after_commit(uid)
            _mark(conn, [uid], processed)
            ImapReceipt.objects.filter(mailbox=mailbox, uidvalidity=uidvalidity, uid=uid).update(flagged=True)
            result.marked += 1
            if i % 20 == 0:
                _refresh_lock(token)
        ImapMailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=timezone.now())
    finally:
        with contextlib.suppress(Exception):
            conn.logout()
    logger.info("IMAP intake: %s", result.summary())
    return result


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


__all__ = ["ImapIntakeBusy", "PollResult", "imap_connect", "mail_poll_imap"]
