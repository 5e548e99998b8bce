"""The Japanese search is served by the pg_trgm GIN index on the NFKC search column on
PostgreSQL (EXPLAIN), and
Django's plain icontains would not be — the reason for the trgm_icontains lookup."""

import pytest
from django.db import connection

from helpdesk.inquiries.selectors import inquiry_list, inquiry_search
from helpdesk.models import Inquiry
from tests.factories import InquiryFactory

pytestmark = pytest.mark.django_db


def explain(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        # Tiny test tables favour scanning; forbid plain scans so the plan shows whether an
        # index *can* answer the condition (only bitmap scans of a matching index remain).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.fixture
def some_inquiries():
    for i in range(30):
        InquiryFactory(subject=f"電子証明書の更新 {i}", body="マイナンバーカードで署名できない")


def test_search_sql_matches_the_database():
    sql = str(inquiry_search(queryset=Inquiry.objects.all(), q="電子証明書").query)
    if connection.vendor == "postgresql":
        assert "ILIKE" in sql and "UPPER(" not in sql
    else:
        assert "LIKE" in sql


@pytest.mark.postgres
def test_trigram_index_serves_a_japanese_term(some_inquiries):
    if connection.vendor != "postgresql":
        pytest.skip("EXPLAIN of pg_trgm indexes is PostgreSQL-only")
    plan = explain(inquiry_search(queryset=inquiry_list(), q="証明書"))

    assert "inquiry_search_trgm" in plan


@pytest.mark.postgres
def test_plain_icontains_would_not_use_the_trigram_index(some_inquiries):
    if connection.vendor != "postgresql":
        pytest.skip("EXPLAIN of pg_trgm indexes is PostgreSQL-only")
    plan = explain(Inquiry.objects.filter(search_text__icontains="証明書"))

    assert "trgm" not in plan
