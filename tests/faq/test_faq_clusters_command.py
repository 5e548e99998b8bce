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


def _failure(path) -> tuple[int, str]:
    with pytest.raises(CommandError) as caught:
        _run("--from-jsonl", str(path), "--json")
    return caught.value.returncode, str(caught.value)


def test_missing_field_is_named(test_data):
    path = test_data / "commands" / "faq_missing_field.jsonl"
    assert _failure(path) == (1, f"{path}: line 2: missing field 'received_at'")


def test_a_line_that_is_not_an_object_is_named(tmp_path):
    path = tmp_path / "list.jsonl"
    path.write_text("[1, 2]\n")
    assert _failure(path) == (1, f"{path}: line 1: not a JSON object")


def test_nothing_to_read_is_an_error(test_data, tmp_path):
    # exit code 1 (docs/commands.md): an empty file, a directory, a missing file, binary bytes
    assert _failure(test_data / "commands" / "empty.txt")[0] == 1
    assert "no inquiries in the file" in _failure(test_data / "commands" / "empty.txt")[1]
    assert _failure(tmp_path) == (1, f"{tmp_path} is a directory: give a .jsonl file")
    assert _failure(tmp_path / "nope.jsonl") == (1, f"{tmp_path / 'nope.jsonl'}: No such file or directory")
    code, message = _failure(test_data / "commands" / "garbage.bin")
    assert code == 1 and "not UTF-8 text" in message
