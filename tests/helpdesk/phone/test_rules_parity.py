"""Each call rule is stated once (helpdesk/phone/rules.py) and run by two paths: row by row
in Python and set-wise in SQL on PostgreSQL. Every contradiction case and every reject
reason goes through both here; the reasons, the counts and the digests must be equal."""

import datetime as dt

import pytest
from django.db import DataError, connection

from helpdesk.models import Call, ImportReject
from helpdesk.phone import generic
from helpdesk.phone.rules import (
    CROSS_RULES,
    Typed,
    cross_case_sql,
    cross_field_error,
    digest_sql,
    text_digest,
    text_digest_sql,
    text_key,
    text_match_sql,
)

FILES = ("rules_parity_a.csv", "rules_parity_b.csv")


def _outcome_of_both(run_import, calls_data):
    runs = [run_import([calls_data / name]) for name in FILES]
    return {
        "summaries": [run.summary() for run in runs],
        "rejects": sorted(ImportReject.objects.values_list("run__source_name", "line", "reason")),
        "calls": sorted(
            Call.objects.values_list(
                "call_id", "content_hash", "outcome", "in_service_hours", "queue", "agent", "acw_seconds"
            )
        ),
    }


def _reset():
    ImportReject.objects.all().delete()
    Call.objects.all().delete()


@pytest.mark.postgres
@pytest.mark.django_db
def test_every_rule_gives_the_same_reasons_counts_and_digests_on_both_paths(calls_data, run_import, monkeypatch):
    sql = _outcome_of_both(run_import, calls_data)
    _reset()

    def python_only(*args, **kwargs):
        raise DataError("forced onto the Python path")

    monkeypatch.setattr(generic, "generic_batch_sql", python_only)
    python = _outcome_of_both(run_import, calls_data)

    assert sql == python
    reasons = {reason for _, _, reason in sql["rejects"]}
    for rule in CROSS_RULES:  # no rule left out of the comparison
        assert any(r.startswith(rule.message.split("{")[0]) for r in reasons), rule.message
    assert sql["summaries"] == [
        "32 read, 9 created, 0 updated, 0 unchanged, 23 rejected",
        "5 read, 1 created, 2 updated, 1 unchanged, 1 rejected",
    ]


def test_the_sql_case_is_built_from_the_rules_in_their_order():
    case = cross_case_sql()
    positions = [case.index(rule.sql) for rule in CROSS_RULES]
    assert positions == sorted(positions)


def test_the_first_rule_broken_is_the_reason():
    t = dt.datetime(2026, 10, 1, 10, tzinfo=dt.UTC)
    row = Typed("queue_abandoned", t, t - dt.timedelta(minutes=1), t, t - dt.timedelta(minutes=2), "", "", "op", "x")
    # answered_at on a non-answered call comes before the agent, the times and the ACW
    assert cross_field_error(row) == "answered_at on a call with outcome queue_abandoned"


TEXTS = (
    ("c-1", "2026-10-01 10:00:00", "0312345678", "answered", "相談窓口", "", "", "", "担当01", "30"),
    ("", "", "", "", "", "", "", "", "", ""),
    ("c,3", 'a "quoted" text', "\\", "\t", "", "", "", "", "", "😀"),
)


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("fields", TEXTS)
def test_the_text_digest_is_the_same_in_python_and_sql(fields):
    digest = "0123456789abcdef0123456789abcdef"
    columns = [f"%(f{i})s::text" for i in range(len(fields))]
    params = {f"f{i}": value for i, value in enumerate(fields)} | {"digest": digest, "key": text_key(fields)}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT stored.text_digest::text, {text_match_sql('%(key)s', 'stored')} FROM (SELECT "
            f"{text_digest_sql(columns, '%(digest)s')} AS text_digest, %(digest)s AS content_hash) stored",
            params,
        )
        stored, matches = cursor.fetchone()
        params["digest"] = "another content hash"
        cursor.execute(
            f"SELECT {text_match_sql('%(key)s', 'stored')} FROM (SELECT %(stored)s::uuid AS text_digest, "
            "%(digest)s AS content_hash) stored",
            params | {"stored": stored},
        )
        after_another_writer = cursor.fetchone()[0]
    assert stored.replace("-", "") == text_digest(fields, digest)
    assert matches is True
    assert after_another_writer is False


def test_a_field_holding_the_separator_gives_no_text_key():
    fields = ("c-1", "2026-10-01 10:00:00", "a\x1fb", "answered", "", "", "", "", "", "")
    assert text_key(fields) is None
    assert text_key(("a",) * 10) == "\x1f".join(("a",) * 10)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_century_digest_is_the_exact_one_from_2000_to_2099():
    """The generic path digests with float8 epochs (`digest_sql(century=True)`): the same
    digest as the exact numeric form for any microsecond of 2000–2099, whatever the offset
    (the edges, and 200,000 random instants)."""
    edges = [
        "2000-01-01 00:00:00+14",
        "2000-01-01 00:00:00.000001+14",
        "2038-01-19 03:14:07.999999+00",
        "2038-01-19 03:14:08.000001+00",
        "2041-10-01 00:00:00.499999+09",
        "2099-12-31 23:59:59.999999-12",
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE century <> exact) FROM ("
            f"SELECT {digest_sql(century=True)} AS century, {digest_sql()} AS exact FROM ("
            "SELECT 'c-1' AS call_id, arrived, '' AS caller, 'answered' AS outcome, '' AS queue, "
            "arrived + interval '1 microsecond' AS queued, arrived + interval '0.5 second' AS answered, "
            "NULL::timestamptz AS ended, '' AS agent, 7 AS acw FROM ("
            "SELECT unnest(%s::timestamptz[]) AS arrived UNION ALL "
            "SELECT timestamptz '2000-01-01 00:00:00+14' + (random() * 3155759999999999)::bigint * interval '1 microsecond' "
            "FROM generate_series(1, 200000)) a) t) d",
            [edges],
        )
        assert cursor.fetchone() == (200000 + len(edges), 0)
