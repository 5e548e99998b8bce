"""`manage.py faq_clusters --from-jsonl FILE --json`: the public offline evaluation interface."""

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

SMALL = Path(__file__).resolve().parent.parent / "data" / "faq" / "small.jsonl"


def _run(*args) -> dict:
    out = io.StringIO()
    call_command("faq_clusters", *args, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def test_prints_the_documented_shape_without_touching_the_database():
    # No `db` fixture: pytest-django makes any database access in this test an error.
    data = _run("--from-jsonl", str(SMALL), "--json")
    assert set(data) >= {"clusters", "unclustered", "surges"}
    ids = [json.loads(line)["id"] for line in SMALL.read_text(encoding="utf-8").splitlines()]
    seen = [m for c in data["clusters"] for m in c["members"]] + data["unclustered"]
    assert sorted(seen) == sorted(ids)  # every record once
    for c in data["clusters"]:
        assert {"id", "keywords", "members"} <= set(c)
        assert isinstance(c["id"], int) and c["keywords"] and c["members"]
    # three topics of six inquiries each: payeasy, gbizid, kobunsho
    topics = {json.loads(line)["id"]: json.loads(line)["topic"] for line in SMALL.read_text().splitlines()}
    for c in data["clusters"]:
        assert len({topics[m] for m in c["members"]}) == 1
    assert len(data["clusters"]) >= 3


def test_makes_no_database_queries(django_assert_num_queries, db):
    with django_assert_num_queries(0):
        _run("--from-jsonl", str(SMALL), "--json")


def test_surges_have_the_documented_fields(test_data):
    data = _run("--from-jsonl", str(test_data / "faq" / "inquiries_dev.jsonl"), "--json")
    assert data["surges"]
    for s in data["surges"]:
        assert {"cluster", "week_start", "count", "baseline", "p_value"} <= set(s)
    assert [s["week_start"] for s in data["surges"]] == ["2026-09-07", "2026-09-14"]


def test_unreadable_line_is_an_error_with_its_line_number(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "subject": "s", "body": "b", "received_at": "2026-08-03T10:00:00"}\nnot json\n')
    with pytest.raises(CommandError, match="line 2"):
        _run("--from-jsonl", str(bad), "--json")
