"""Other apps add record types through the registry (helpdesk never imports them)."""

import json

import pytest
from django.db import transaction

from helpdesk.handover.registry import (
    UnresolvedReference,
    get_record_type,
    register_record_type,
    registered_types,
    unregister_record_type,
)
from helpdesk.models import ImportReject
from tests.factories import InquiryFactory
from tests.helpdesk.handover.conftest import export_text, import_file, jsonl

pytestmark = pytest.mark.django_db


@pytest.fixture
def dummy_type():
    """A stand-in for faq_entry: a store keyed by slug, optionally pointing at an inquiry."""
    store: dict[str, dict] = {"printer": {"slug": "printer", "title": "印刷できない", "inquiry": None}}

    def exporter():
        for entry in store.values():
            yield {"slug": entry["slug"], "title": entry["title"], "inquiry": entry["inquiry"]}

    def importer(data, ctx):
        if data.get("inquiry"):
            ctx.inquiry(data["inquiry"])  # raises UnresolvedReference until the inquiry exists
        entry = {"slug": data["slug"], "title": data["title"], "inquiry": data.get("inquiry")}
        old = store.get(entry["slug"])
        # Like a database write: kept only if the batch commits (importers may run twice).
        transaction.on_commit(lambda: store.__setitem__(entry["slug"], entry))
        return "created" if old is None else ("unchanged" if old == entry else "updated")

    register_record_type("dummy_entry", exporter, importer, order=100, counter=lambda: len(store))
    yield store
    unregister_record_type("dummy_entry")


def test_registered_type_is_exported_after_helpdesk_records(dummy_type):
    lines = [json.loads(line) for line in export_text().splitlines()]
    assert lines[0]["counts"]["dummy_entry"] == 1
    assert lines[-1] == {"type": "dummy_entry", "slug": "printer", "title": "印刷できない", "inquiry": None}
    names = [t.type_name for t in registered_types()]
    assert names.index("security_incident") < names.index("dummy_entry")


def test_registered_type_is_imported_with_deferred_references(dummy_type, tmp_path, django_capture_on_commit_callbacks):
    path = tmp_path / "f.jsonl"
    path.write_text(
        jsonl(
            {"type": "dummy_entry", "slug": "login", "title": "ログイン", "inquiry": {"ref": "EG-20261001-FAQ001"}},
            {"type": "dummy_entry", "slug": "printer", "title": "印刷できない", "inquiry": None},
            {"type": "dummy_entry", "slug": "ghost", "title": "x", "inquiry": {"ref": "EG-NONE"}},
            {"type": "inquiry", "ref": "EG-20261001-FAQ001", "channel": "form", "received_at": "2026-10-01T10:00:00"},
        ),
        encoding="utf-8",
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert import_file(path) == "4 read, 2 created, 0 updated, 1 unchanged, 1 rejected"
    assert dummy_type["login"]["title"] == "ログイン"
    assert "ghost" not in dummy_type
    assert ImportReject.objects.get().reason == "dummy_entry: reference to unknown inquiry ref=EG-NONE"


def test_unregistered_type_is_unknown(tmp_path):
    assert get_record_type("dummy_entry") is None
    path = tmp_path / "f.jsonl"
    path.write_text(jsonl({"type": "dummy_entry", "slug": "x"}), encoding="utf-8")
    assert import_file(path).endswith("1 rejected")
    assert ImportReject.objects.get().reason == "unknown record type 'dummy_entry'"


def test_header_name_is_reserved():
    with pytest.raises(ValueError):
        register_record_type("header", lambda: [], lambda d, c: "created", order=1)


def test_context_resolves_all_three_reference_forms(db):
    from helpdesk.handover.codec import ImportContext
    from tests.factories import EmailMessageFactory, PhoneInquiryFactory

    phone = PhoneInquiryFactory()
    message = EmailMessageFactory()
    mail = InquiryFactory(source_message=message)
    ctx = ImportContext()
    assert ctx.inquiry({"ref": phone.ref}) == phone
    assert ctx.inquiry({"call_id": phone.call.call_id}) == phone
    assert ctx.inquiry({"message_id": message.message_id}) == mail
    with pytest.raises(UnresolvedReference):
        ctx.inquiry({"call_id": "nope"})
    with pytest.raises(ValueError):
        ctx.inquiry({"ref": "a", "call_id": "b"})
