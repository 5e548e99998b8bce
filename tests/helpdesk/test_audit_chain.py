"""The audit trail is tamper-evident: each row's hash covers the previous row's hash and its
own content, `verify_audit` names the first broken link (exit 0 intact, 1 broken), a published
KPI snapshot anchors the chain head, and concurrent writers never fork the chain."""

import contextlib
import datetime as dt
import io
import threading

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, connections, transaction

from helpdesk.audit import (
    AuditDraft,
    _as_stored,
    audit_chain_head,
    audit_chain_verify,
    audit_record,
    audit_record_many,
)
from helpdesk.clock import Month
from helpdesk.management.base import ExitCode
from helpdesk.management.commands import verify_audit
from helpdesk.models import AuditEvent
from helpdesk.models.audit import (
    GENESIS_HASH,
    audit_canonical,
    audit_canonical_with,
    audit_chain_hash,
    audit_changes_json,
)
from kpi import services as kpi_services
from tests.conftest import APP_ROLE

pytestmark = pytest.mark.django_db


def run_verify() -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    cmd = verify_audit.Command()
    call_command(cmd, stdout=out, stderr=err)
    return cmd.exit_code, out.getvalue(), err.getvalue()


@contextlib.contextmanager
def trigger_lifted():
    """What someone who owns the table can do: lift the append-only trigger. On PostgreSQL the
    test runs as the application role (tests/conftest.py), which may not: the owner steps in
    for the tampering and hands back."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT current_user <> session_user")
            app_role = cursor.fetchone()[0]
            cursor.execute("RESET ROLE")
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the inserts' deferred checks first
            cursor.execute("ALTER TABLE helpdesk_auditevent DISABLE TRIGGER helpdesk_auditevent_append_only")
        else:
            cursor.execute("DROP TRIGGER helpdesk_auditevent_no_update")
            cursor.execute("DROP TRIGGER helpdesk_auditevent_no_delete")
        yield cursor
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE helpdesk_auditevent ENABLE TRIGGER helpdesk_auditevent_append_only")
            if app_role:
                cursor.execute(f"SET ROLE {APP_ROLE}")
        else:
            cursor.execute(
                "CREATE TRIGGER helpdesk_auditevent_no_update BEFORE UPDATE ON helpdesk_auditevent "
                "BEGIN SELECT RAISE(ABORT, 'helpdesk_auditevent is append-only'); END;"
            )
            cursor.execute(
                "CREATE TRIGGER helpdesk_auditevent_no_delete BEFORE DELETE ON helpdesk_auditevent "
                "BEGIN SELECT RAISE(ABORT, 'helpdesk_auditevent is append-only'); END;"
            )


def write(n: int, actor=None) -> list[AuditEvent]:
    return [
        audit_record(
            actor=actor,
            action=AuditEvent.Action.UPDATE,
            object_type="helpdesk.inquiry",
            object_id=f"INQ-{i}",
            changes={"status": {"old": "new", "new": "open"}, "件名": "変更", "big": 1e20, "pair": (1, 2)},
            note="確認済み",
        )
        for i in range(n)
    ]


def test_each_row_links_to_the_one_before(agent):
    first, second, third = write(3, actor=agent)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.chain_hash and third.prev_hash == second.chain_hash
    stored = AuditEvent.objects.get(pk=second.pk)  # as read back: the same hash recomputes
    assert audit_chain_hash(stored.prev_hash, stored.canonical()) == stored.chain_hash
    assert audit_chain_head() == (third.pk, third.chain_hash)


def test_verify_audit_intact_exits_0(agent):
    write(5, actor=agent)
    code, out, err = run_verify()
    assert code == ExitCode.OK and err == ""
    assert "audit trail intact: 5 events" in out


def test_verify_audit_on_an_empty_trail():
    assert run_verify()[:2] == (ExitCode.OK, "audit trail intact: no events yet\n")


def test_a_changed_row_is_the_first_broken_link():
    events = write(6)
    with trigger_lifted() as cursor:
        cursor.execute("UPDATE helpdesk_auditevent SET note = '改ざん' WHERE id = %s", [events[3].pk])
    code, out, err = run_verify()
    assert code == ExitCode.FAILED
    assert f"first broken link: audit event {events[3].pk}: its content does not match its hash" in err


def test_a_removed_row_breaks_the_next_link():
    events = write(5)
    with trigger_lifted() as cursor:
        cursor.execute("DELETE FROM helpdesk_auditevent WHERE id = %s", [events[2].pk])
    code, _, err = run_verify()
    assert code == ExitCode.FAILED
    assert f"audit event {events[3].pk}: its link does not match audit event {events[1].pk}" in err


def test_a_rewritten_chain_is_caught_by_the_kpi_snapshot_anchor(admin_user):
    write(4)
    snap = kpi_services.kpi_snapshot_publish(month=Month(2026, 10), actor=admin_user)
    anchored = AuditEvent.objects.get(pk=snap.audit_head_id)
    assert snap.audit_head_hash == anchored.chain_hash
    # Whoever rewrites a row and recomputes every hash after it keeps the chain consistent…
    rows = list(AuditEvent.objects.order_by("id"))
    prev = GENESIS_HASH
    with trigger_lifted() as cursor:
        for row in rows:
            if row.pk == rows[1].pk:
                row.note = "書き換え"
            digest = audit_chain_hash(prev, row.canonical())
            cursor.execute(
                "UPDATE helpdesk_auditevent SET note = %s, prev_hash = %s, chain_hash = %s WHERE id = %s",
                [row.note, prev, digest, row.pk],
            )
            prev = digest
    # …but not with the head the published snapshot recorded.
    code, _, err = run_verify()
    assert code == ExitCode.FAILED
    assert f"audit event {anchored.pk}: its hash differs from the chain head recorded by KPI snapshot 2026-10 v1" in err


def test_a_trail_cut_after_a_snapshot_is_caught(admin_user):
    write(3)
    snap = kpi_services.kpi_snapshot_publish(month=Month(2026, 10), actor=admin_user)
    with trigger_lifted() as cursor:
        cursor.execute("DELETE FROM helpdesk_auditevent WHERE id >= %s", [snap.audit_head_id])
    code, _, err = run_verify()
    assert code == ExitCode.FAILED
    assert f"audit event {snap.audit_head_id}, the chain head recorded by KPI snapshot 2026-10 v1, is missing" in err


def test_verify_streams_in_chunks(django_assert_max_num_queries):
    write(30)
    with django_assert_max_num_queries(12):
        report = audit_chain_verify(chunk_size=5)
    assert report.intact and report.rows == 30


def test_a_rolled_back_write_leaves_no_gap_in_the_chain():
    write(2)
    with contextlib.suppress(RuntimeError), transaction.atomic():
        write(1)
        raise RuntimeError("the caller's transaction fails")
    write(1)
    assert audit_chain_verify().intact


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: the advisory lock")
    per_thread, threads, errors = 25, 4, []
    barrier = threading.Barrier(threads)

    def writer(n: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                # Each write in a transaction that lives on after the audit row, as services do.
                with transaction.atomic():
                    audit_record(actor=None, action=AuditEvent.Action.CREATE, object_type="t", object_id=f"{n}-{i}")
                    AuditEvent.objects.count()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    hashes = list(AuditEvent.objects.order_by("id").values_list("prev_hash", "chain_hash"))
    assert len(hashes) == per_thread * threads
    prevs = [p for p, _ in hashes]
    assert len(set(prevs)) == len(prevs), "two rows link to the same predecessor: the chain forked"
    assert audit_chain_verify().intact


def test_the_database_refuses_a_fork():
    first = write(1)[0]
    row = dict(at=first.at, action="create", object_type="x", prev_hash=GENESIS_HASH, chain_hash="a" * 64)
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.create(**row)  # a second successor of the start of the trail


@pytest.mark.db_owner  # a migration: run by the owner
def test_the_upgrade_migration_chains_the_rows_already_written():
    """helpdesk 0013 fills the hashes of the rows written before the chain, in id order, with
    the append-only trigger lifted only meanwhile."""
    import importlib
    from types import SimpleNamespace

    from django.apps import apps

    migration = importlib.import_module("helpdesk.migrations.0013_audit_chain")
    with connection.cursor() as cursor:  # rows as they stood before: the placeholder hashes
        for n in range(3):
            cursor.execute(
                "INSERT INTO helpdesk_auditevent (at, actor_label, action, object_type, object_id, changes, note,"
                " prev_hash, chain_hash) VALUES (CURRENT_TIMESTAMP, 'system', 'create', 'x', %s, '{\"n\": 1}', '',"
                " %s, %s)",
                [str(n), str(n + 1) * 64, GENESIS_HASH],
            )
    assert not audit_chain_verify().intact
    editor = SimpleNamespace(connection=connection, execute=lambda sql: connection.cursor().execute(sql))
    migration.chain_existing_rows(apps, editor)
    migration.restore_sqlite_triggers(apps, editor)
    write(1)  # the writer continues the migrated chain
    assert audit_chain_verify().intact and AuditEvent.objects.count() == 4
    with pytest.raises(Exception), transaction.atomic(), connection.cursor() as cursor:  # noqa: B017
        cursor.execute("UPDATE helpdesk_auditevent SET note = 'after'")  # append-only again


# --- audit_record_many: the changes encoded once for the hash and the insert


CHANGES = [
    {},
    {"status": {"old": "new", "new": "open"}, "件名": '変更\n"引用"\t\\', "n": 3, "ok": True, "none": None},
    {"list": [1, "two", [False, None]], "\u2028": "\u2029"},
    {"big": 1e20, "pair": (1, 2), 7: "int key", "f": 0.5},  # not plain: the round trip
]


@pytest.mark.parametrize("changes", CHANGES)
def test_the_canonical_text_from_encoded_changes_is_the_same(changes):
    at = dt.datetime(2026, 10, 5, 9, 0, 0, 123, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    stored = _as_stored(changes)
    for actor_id in (None, 42):
        fields = dict(at=at, actor_id=actor_id, actor_label='sys"tem', action="update",
                      object_type="helpdesk.inquiry", object_id="EG-20261005-ABC123", note="注\n")  # fmt: skip
        assert audit_canonical_with(changes_json=audit_changes_json(stored), **fields) == audit_canonical(
            changes=stored, **fields
        )


def test_plain_changes_are_stored_as_given_and_others_as_they_read_back():
    plain = CHANGES[1]
    assert _as_stored(plain) is plain
    assert _as_stored(CHANGES[3]) == {"big": 100000000000000000000, "pair": [1, 2], "7": "int key", "f": 0.5}


def test_many_rows_at_once_chain_and_read_back_as_hashed():
    audit_record(actor=None, action=AuditEvent.Action.CREATE, object_type="helpdesk.inquiry", object_id="first")
    drafts = [
        AuditDraft(AuditEvent.Action.UPDATE, "helpdesk.inquiry", f"INQ-{i}", c, "確認") for i, c in enumerate(CHANGES)
    ]

    assert audit_record_many(drafts) == len(CHANGES)

    rows = list(AuditEvent.objects.order_by("id").values_list("changes", flat=True))
    assert rows[1:] == [_as_stored(c) for c in CHANGES]
    report = audit_chain_verify()
    assert report.broken_at is None and report.rows == len(CHANGES) + 1
