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

    registry._ensure_builtins()
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
