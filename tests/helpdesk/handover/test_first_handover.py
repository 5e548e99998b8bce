"""The first handover (an empty database, the bulk path): the record tables' secondary indexes
are dropped, the file written, and the same indexes built again at the end; a run that dies
half-way leaves their definitions, and the next import builds them. And the parsing thread
that types batch N + 1 while PostgreSQL writes batch N hands its errors to the importer."""

import re
import uuid
from pathlib import Path

import pytest
from django.db import connection

from helpdesk.handover import indexes, services
from helpdesk.models import Call, DeferredIndex
from tests.helpdesk.handover.conftest import import_file, jsonl
from tests.helpdesk.handover.test_import_rejects import CALL, HEADER, INQUIRY

GRANTS = Path(__file__).resolve().parents[3] / "scripts" / "app_role.sql"

pytestmark = [pytest.mark.django_db, pytest.mark.postgres, pytest.mark.one_import_path, pytest.mark.db_owner]


def _indexes() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname = ANY(%s)",
            [list(indexes.TABLES)],
        )
        # The catalogue's text of a rebuilt index may differ in casts and parentheses only.
        return {name: re.sub(r"::[a-z ]+(\[\])?|[()\s]", "", text) for name, text in cursor.fetchall()}


def test_first_handover_builds_the_same_indexes_after_writing(tmp_path, monkeypatch, settings):
    # Given an empty database with every index of the record tables
    settings.HELPDESK_HANDOVER_BULK = True
    before = _indexes()
    assert "inquiry_search_trgm" in before
    seen_during: list[set[str]] = []
    write = services._Importer.run_batch_fast

    def spy(self, batch, **kwargs):
        seen_during.append(set(_indexes()))
        return write(self, batch, **kwargs)

    monkeypatch.setattr(services._Importer, "run_batch_fast", spy)
    path = tmp_path / "f.jsonl"
    path.write_text(jsonl(HEADER, CALL, INQUIRY), encoding="utf-8")

    # When the first handover is imported
    assert import_file(path) == "2 read, 2 created, 0 updated, 0 unchanged, 0 rejected"

    # Then the secondary indexes were gone while it wrote (the unique ones stayed), and are
    # all back, with the same definitions, nothing left to build
    assert seen_during
    during = seen_during[0]
    assert "inquiry_search_trgm" not in during
    assert {"helpdesk_inquiry_pkey", "helpdesk_inquiry_ref_key", "helpdesk_inquiry_call_id_key"} <= during
    assert _indexes() == before
    assert not DeferredIndex.objects.exists()


def test_an_import_into_a_database_with_records_keeps_its_indexes(tmp_path, settings):
    settings.HELPDESK_HANDOVER_BULK = True
    Call.objects.create(call_id="already-here", arrived_at="2026-10-01T09:00:00+09:00", outcome="queue_abandoned")
    path = tmp_path / "f.jsonl"
    path.write_text(jsonl(CALL), encoding="utf-8")

    assert indexes.first_handover_indexes_drop() == []  # not empty: nothing dropped
    assert import_file(path) == "1 read, 1 created, 0 updated, 0 unchanged, 0 rejected"
    assert "inquiry_search_trgm" in _indexes()


def test_the_row_path_and_the_setting_keep_the_indexes(tmp_path, settings, monkeypatch):
    calls: list = []
    monkeypatch.setattr(services, "first_handover_indexes_drop", lambda: calls.append(1) or [])
    path = tmp_path / "f.jsonl"
    path.write_text(jsonl(CALL), encoding="utf-8")

    settings.HELPDESK_HANDOVER_BULK = True
    settings.HELPDESK_HANDOVER_DEFER_INDEXES = False
    import_file(path)
    settings.HELPDESK_HANDOVER_DEFER_INDEXES = True
    import_file(path, row_by_row=True)
    assert calls == []


def test_a_run_that_died_leaves_its_indexes_to_the_next_import(tmp_path, monkeypatch, settings):
    # Given a first handover that dies half-way (after its indexes were dropped)
    settings.HELPDESK_HANDOVER_BULK = True
    before = _indexes()
    monkeypatch.setattr(indexes, "deferred_indexes_restore", lambda: [])
    monkeypatch.setattr(services, "deferred_indexes_restore", lambda: [])

    def die(self, batch, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(services._Importer, "run_batch_fast", die)
    path = tmp_path / "f.jsonl"
    path.write_text(jsonl(CALL), encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        import_file(path)
    assert "inquiry_search_trgm" not in _indexes()
    assert DeferredIndex.objects.filter(name="inquiry_search_trgm").exists()

    # When the next import runs
    monkeypatch.undo()
    settings.HELPDESK_HANDOVER_BULK = True
    assert import_file(path) == "1 read, 1 created, 0 updated, 0 unchanged, 0 rejected"

    # Then every index is back, as it was
    assert _indexes() == before
    assert not DeferredIndex.objects.exists()


def test_under_the_application_role_the_indexes_stay_and_the_import_goes_on(tmp_path, settings):
    # Given the role the application runs as (scripts/app_role.sql): not the tables' owner
    settings.HELPDESK_HANDOVER_BULK = True
    before = _indexes()
    role = f"helpdesk_app_test_{uuid.uuid4().hex[:8]}"
    path = tmp_path / "f.jsonl"
    path.write_text(jsonl(HEADER, CALL, INQUIRY), encoding="utf-8")
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} NOLOGIN NOSUPERUSER")  # rolled back with the test
        cursor.execute(GRANTS.read_text(encoding="utf-8").replace("helpdesk_app", role))
        cursor.execute(f"SET ROLE {role}")
        try:
            # When it imports the first handover
            report = import_file(path)
        finally:
            cursor.execute("RESET ROLE")

    # Then the lines are imported, every index kept, nothing left to build
    assert report == "2 read, 2 created, 0 updated, 0 unchanged, 0 rejected"
    assert _indexes() == before
    assert not DeferredIndex.objects.exists()


def test_a_consumer_that_stops_early_stops_the_parsing_thread():
    produced = []

    def make():
        for n in range(1000):
            produced.append(n)
            yield n

    for item in services._ahead(make):
        if item == 3:
            break
    assert len(produced) <= 6  # one item ahead, at most (and the one being put)
