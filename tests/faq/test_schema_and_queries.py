"""The FAQ API's OpenAPI schema validates without warnings; list endpoints do a fixed number
of queries however many rows there are (no N+1)."""

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from faq import services
from faq.models import FaqCategory

pytestmark = pytest.mark.django_db

FAQ_PATHS = [
    "/api/faq/entries/",
    "/api/faq/entries/{id}/",
    "/api/faq/entries/{id}/publish/",
    "/api/faq/entries/{id}/retire/",
    "/api/faq/categories/",
    "/api/faq/suggestions/",
    "/api/faq/usages/",
    "/api/faq/usage-share/",
    "/api/faq/clusters/",
    "/api/faq/surges/",
    "/api/faq/ivr/",
    "/api/faq/ivr/active/",
    "/api/faq/ivr/{id}/approve/",
    "/api/faq/ivr/{id}/close/",
    "/api/faq/settings/",
]


def test_schema_of_faq_endpoints_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--urlconf", "tests.faq.urls_faq_only", "--file", str(out)
    )
    text = out.read_text(encoding="utf-8")
    for path in FAQ_PATHS:
        assert f"  {path}:" in text, path


def _publish(admin_user, n, cat):
    for i in range(n):
        e = services.faq_entry_create(actor=admin_user, question=f"質問{i}", answer=f"回答{i}", category=cat)
        services.faq_entry_publish(actor=admin_user, entry=e)


def test_public_entry_list_query_count_does_not_grow(admin_user, django_assert_num_queries):
    cat = FaqCategory.objects.create(name="一般", slug="general")
    _publish(admin_user, 3, cat)
    client = APIClient()
    with django_assert_num_queries(2) as small:  # count + page (category joined)
        assert len(client.get(reverse("api-faq-entry-list")).json()["results"]) == 3
    _publish(admin_user, 12, cat)
    with django_assert_num_queries(len(small.captured_queries)):
        assert len(client.get(reverse("api-faq-entry-list")).json()["results"]) == 15


def test_public_page_query_count_does_not_grow(admin_user, client, django_assert_num_queries):
    cat = FaqCategory.objects.create(name="一般", slug="general")
    _publish(admin_user, 2, cat)
    with django_assert_num_queries(3) as small:  # categories + count + page
        assert client.get("/faq/").status_code == 200
    _publish(admin_user, 10, cat)
    with django_assert_num_queries(len(small.captured_queries)):
        assert client.get("/faq/").status_code == 200
