"""FAQ entries travel in the contractor handover file ("faq_entry") and round-trip."""

import pytest

from faq import handover, services
from faq.models import FaqCategory, FaqEntry

pytestmark = pytest.mark.django_db


def _snapshot():
    return sorted(
        (e.question, e.answer, e.status, e.category.slug if e.category else None, e.published_at, e.created_at)
        for e in FaqEntry.objects.select_related("category")
    )


def test_faq_entry_is_registered_with_the_handover_registry():
    from helpdesk.handover import registry

    assert registry._registry["faq_entry"].exporter is handover.export_entries


def test_export_import_round_trip_and_idempotent(admin_user):
    cat = FaqCategory.objects.create(name="ブラウザ", slug="browser", order=2)
    e1 = services.faq_entry_create(actor=admin_user, question="画面が白い", answer="キャッシュを削除", category=cat)
    services.faq_entry_publish(actor=admin_user, entry=e1)
    e2 = services.faq_entry_create(actor=admin_user, question="古いFAQ", answer="古い回答")
    services.faq_entry_publish(actor=admin_user, entry=e2)
    services.faq_entry_retire(actor=admin_user, entry=e2)
    services.faq_entry_create(actor=admin_user, question="下書き")
    before = _snapshot()
    lines = list(handover.export_entries())
    assert len(lines) == 3 and all(line["type"] == "faq_entry" for line in lines)

    FaqEntry.objects.all().delete()
    FaqCategory.objects.all().delete()
    assert [handover.import_entry(line) for line in lines] == ["created"] * 3
    assert _snapshot() == before
    assert FaqCategory.objects.get(slug="browser").order == 2
    assert [handover.import_entry(line) for line in lines] == ["unchanged"] * 3

    changed = dict(lines[0], answer="新しい回答")
    assert handover.import_entry(changed) == "updated"


def test_round_trip_through_the_handover_commands(admin_user, tmp_path):
    import io
    import json

    from django.core.management import call_command

    cat = FaqCategory.objects.create(name="納付", slug="payment", order=3)
    entry = services.faq_entry_create(
        actor=admin_user, question="ペイジーの納付期限は？", answer="納付番号の画面に表示されます。", category=cat
    )
    services.faq_entry_publish(actor=admin_user, entry=entry)
    before = _snapshot()
    out = io.StringIO()
    call_command("export_records", stdout=out, stderr=io.StringIO())
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0]["counts"]["faq_entry"] == 1
    assert [r["question"] for r in lines if r["type"] == "faq_entry"] == ["ペイジーの納付期限は？"]

    path = tmp_path / "handover.jsonl"
    path.write_text(out.getvalue(), encoding="utf-8")
    FaqEntry.objects.all().delete()
    FaqCategory.objects.all().delete()
    call_command("import_records", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    assert _snapshot() == before
    report = io.StringIO()
    call_command("import_records", str(path), stdout=report, stderr=io.StringIO())
    assert "0 created, 0 updated" in report.getvalue()


def _entry_line(n: int, **fields) -> dict:
    line = {
        "type": "faq_entry",
        "status": "published",
        "question": f"質問 {n}",
        "answer": f"回答 {n}",
        "category": {"slug": f"cat-{n % 3}", "name": f"分類 {n % 3}", "order": n % 3},
        "published_at": f"2026-10-01T10:{n % 60:02d}:00+09:00",
        "retired_at": None,
        "created_at": f"2026-09-01T09:{n % 60:02d}:{n // 60:02d}.123456+09:00",
        "version": 2,
    }
    line.update(fields)
    return line


def _import(tmp_path, lines) -> str:
    import io
    import json

    from django.core.management import call_command

    path = tmp_path / "handover.jsonl"
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    out = io.StringIO()
    call_command("import_records", str(path), "--show-rejects", "50", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _import_queries(tmp_path, lines) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        _import(tmp_path, lines)
    return len(queries)


def test_a_run_of_faq_entries_is_imported_in_a_few_queries_whatever_its_length(tmp_path):
    # Given files of 5 and of 45 FAQ entries (one batch each), into an empty database
    few = _import_queries(tmp_path, [_entry_line(n) for n in range(5)])
    FaqEntry.objects.all().delete()
    FaqCategory.objects.all().delete()
    many = _import_queries(tmp_path, [_entry_line(n) for n in range(45)])

    # Then 40 more entries cost a constant handful of queries, not several each
    assert FaqEntry.objects.count() == 45
    assert many - few <= 3, (few, many)


def test_faq_entries_in_bulk_are_the_same_rows_as_line_by_line(tmp_path):
    # Given 12 entries imported as one run (the bulk importer)
    lines = [_entry_line(n) for n in range(12)] + [_entry_line(12, status="draft", published_at=None, category=None)]
    assert "13 created" in _import(tmp_path, lines)
    bulk = _snapshot()
    updated_at = {e.question: e.updated_at for e in FaqEntry.objects.all()}

    # When the same lines go through the row importer into an empty table
    FaqEntry.objects.all().delete()
    FaqCategory.objects.all().delete()
    assert [handover.import_entry(line) for line in lines] == ["created"] * 13

    # Then every field is the same (created_at from the file), the categories too
    assert _snapshot() == bulk
    assert sorted(FaqCategory.objects.values_list("slug", "name", "order")) == [
        ("cat-0", "分類 0", 0),
        ("cat-1", "分類 1", 1),
        ("cat-2", "分類 2", 2),
    ]
    assert all(value is not None for value in updated_at.values())

    # And importing the file again, then a changed file, gives unchanged, then updated
    assert "0 created, 0 updated, 13 unchanged" in _import(tmp_path, lines)
    lines[3] = dict(lines[3], answer="新しい回答")
    assert "0 created, 1 updated, 12 unchanged" in _import(tmp_path, lines)
    assert FaqEntry.objects.get(question="質問 3").answer == "新しい回答"


def test_a_bad_faq_line_among_many_is_rejected_alone_with_the_row_reason(tmp_path):
    from helpdesk.models import ImportReject

    # Given a run whose third entry is published without a date (a check constraint) and
    # whose fifth is the second one again
    lines = [_entry_line(n) for n in range(6)]
    lines[2] = dict(lines[2], published_at=None)
    lines[4] = dict(lines[1])

    # When it is imported
    report = _import(tmp_path, lines)

    # Then that line alone is rejected, with the row importer's reason, and the repeated
    # line is unchanged, as line by line
    assert "6 read, 4 created, 0 updated, 1 unchanged, 1 rejected" in report
    reject = ImportReject.objects.get()
    assert reject.line == 3
    assert reject.reason.startswith("faq_entry: invalid value: ")
    assert "faq_entry_published_has_date" in reject.reason
    assert FaqEntry.objects.count() == 4
