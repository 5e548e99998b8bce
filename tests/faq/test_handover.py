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
