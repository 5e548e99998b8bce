"""`python manage.py import_calls FILE... [--format generic|asterisk] [--encoding cp932]`."""

import io

import pytest
from django.core.management import CommandError, call_command

from helpdesk.models import Call, ImportRun

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_calls", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_generic_prints_the_report_line(calls_data):
    out, err = run(calls_data / "generic_day.csv")
    assert out.strip().splitlines()[-1] == "18 read, 10 created, 0 updated, 0 unchanged, 8 rejected"
    assert "8 of 18 records rejected: see import run" in err
    assert "generic_day.csv:11: answered call without answered_at" in err
    out, _ = run(calls_data / "generic_day.csv")
    assert out.strip() == "18 read, 0 created, 0 updated, 10 unchanged, 8 rejected"


def test_cp932(calls_data):
    out, _ = run(calls_data / "generic_cp932.csv", "--encoding", "cp932")
    assert out.strip() == "2 read, 2 created, 0 updated, 0 unchanged, 0 rejected"


def test_asterisk_files(calls_data):
    out, _ = run(
        "--format", "asterisk", calls_data / "queue_log-20261001", calls_data / "queue_log", calls_data / "Master.csv"
    )
    lines = out.strip().splitlines()
    assert lines[0] == "calls: 11 created, 0 updated, 0 unchanged, 0 waiting for their other half"
    assert lines[-1].endswith("11 created, 0 updated, 0 unchanged, 6 rejected")
    assert ImportRun.objects.get().kind == "calls_asterisk"
    assert Call.objects.count() == 11


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run(tmp_path / "nope.csv")


def test_unknown_encoding_is_a_usage_error_before_any_run(calls_data):
    with pytest.raises(CommandError, match="--encoding: unsupported encoding 'latin-9'") as caught:
        run(calls_data / "generic_day.csv", "--encoding", "latin-9")
    assert caught.value.returncode == 2
    assert not ImportRun.objects.exists()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal(calls_data, capsys):
    out = _Terminal()
    call_command("import_calls", str(calls_data / "generic_day.csv"), stdout=out)
    bar = capsys.readouterr().err
    assert "import_calls: 100%" in bar and "19.0/19.0" in bar
    assert out.getvalue().strip().endswith("8 rejected")


def test_no_progress_bar_when_piped(calls_data, capsys):
    run(calls_data / "generic_day.csv")
    assert "import_calls:" not in capsys.readouterr().err
