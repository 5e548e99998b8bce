"""FAQ admin pages write through the faq services (or the audited correction service): every
edit leaves an audit row with old and new values; entries are retired, not deleted."""

import pytest

from faq.models import FaqCategory, FaqEntry, FaqSettings
from helpdesk.models import AuditEvent
from tests.admin_forms import post_admin_form
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = UserFactory(username="faq-admin", roles=["admin"])
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)
    return client


def _update(label: str) -> AuditEvent:
    return AuditEvent.objects.get(object_type=label, action=AuditEvent.Action.UPDATE)


def test_entry_edit_goes_through_the_service_and_is_audited(admin_client):
    entry = FaqEntry.objects.create(question="パスワードを忘れた", answer="旧回答")

    response = post_admin_form(admin_client, f"/admin/faq/faqentry/{entry.pk}/change/", "faqentry", answer="新回答")

    assert response.status_code == 302
    entry.refresh_from_db()
    assert (entry.answer, entry.version) == ("新回答", 2)
    assert _update("faq.faqentry").changes == {"answer": {"old": "旧回答", "new": "新回答"}}


def test_entries_are_not_deleted_in_the_admin(admin_client):
    entry = FaqEntry.objects.create(question="Q", answer="A")

    assert admin_client.post(f"/admin/faq/faqentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert "delete_selected" not in admin_client.get("/admin/faq/faqentry/").content.decode()
    assert FaqEntry.objects.filter(pk=entry.pk).exists()


def test_category_add_and_edit_are_audited(admin_client):
    added = post_admin_form(
        admin_client, "/admin/faq/faqcategory/add/", "faqcategory", name="電子署名", slug="signature", order="1"
    )
    assert added.status_code == 302
    category = FaqCategory.objects.get()
    assert AuditEvent.objects.filter(object_type="faq.faqcategory", action=AuditEvent.Action.CREATE).exists()

    post_admin_form(admin_client, f"/admin/faq/faqcategory/{category.pk}/change/", "faqcategory", order="5")

    assert _update("faq.faqcategory").changes == {"order": {"old": 1, "new": 5}}


def test_settings_edit_is_audited(admin_client):
    settings = FaqSettings.objects.create()
    url = f"/admin/faq/faqsettings/{settings.pk}/change/"

    response = post_admin_form(admin_client, url, "faqsettings", window_weeks="8")

    assert response.status_code == 302
    assert _update("faq.faqsettings").changes == {"window_weeks": {"old": 12, "new": 8}}
