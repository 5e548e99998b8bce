"""The helpdesk commands as a program calls them (`call_command`): the exit-code convention of
helpdesk/management/base.py and docs/commands.md — 0 ok, 1 failed, 2 bad argument, 3 some rows
rejected — and the one-line errors. tests/helpdesk/test_commands_cli.py runs the same cases
through `python manage.py`."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from helpdesk.management.base import ExitCode, import_outcome
from helpdesk.management.commands import export_records, import_calls, import_mail, import_records
from helpdesk.models import AuditEvent, Call, ImportRun, Inquiry

pytestmark = pytest.mark.django_db


def run(command, *args):
    """(exit code, stdout, stderr) of a command that ran to the end."""
    out, err = io.StringIO(), io.StringIO()
    cmd = command.Command()
    call_command(cmd, *map(str, args), stdout=out, stderr=err)
    return cmd.exit_code, out.getvalue(), err.getvalue()


def fails(command, *args) -> tuple[int, str]:
    """(returncode, message) of a command that stopped with a CommandError."""
    with pytest.raises(CommandError) as caught:
        call_command(command.Command(), *map(str, args), stdout=io.StringIO(), stderr=io.StringIO())
    return caught.value.returncode, str(caught.value)


# --- the convention -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "status", "code"),
    [
        ({"read": 5, "created": 5}, "done", ExitCode.OK),
        ({"read": 5, "unchanged": 5}, "done", ExitCode.OK),  # a re-import changes nothing: fine
        ({"read": 5, "created": 3, "rejected": 2}, "done", ExitCode.PARTIAL),
        ({"read": 2, "rejected": 2}, "done", ExitCode.FAILED),
        ({}, "done", ExitCode.FAILED),  # read nothing
        ({"read": 9, "created": 9}, "failed", ExitCode.FAILED),  # stopped half way
    ],
)
def test_import_outcome(counts, status, code):
    run_ = ImportRun(kind=ImportRun.Kind.MAIL, status=status, **counts)
    assert import_outcome(run_)[0] == code


def test_exit_codes_are_the_documented_numbers(test_data):
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3]
    doc = (test_data.parent.parent / "docs" / "commands.md").read_text(encoding="utf-8")
    for code in ExitCode:
        assert f"| {int(code)} | `{code.name}`" in doc


def test_an_unknown_option_is_a_usage_error(test_data):
    assert fails(import_calls, test_data / "commands" / "calls_ok.csv", "--format", "xml")[0] == 2


# --- import_calls ---------------------------------------------------------------------------


def test_import_calls_clean_file_is_0(test_data):
    code, out, err = run(import_calls, test_data / "commands" / "calls_ok.csv")
    assert (code, out.strip(), err) == (0, "2 read, 2 created, 0 updated, 0 unchanged, 0 rejected", "")


def test_import_calls_some_rejected_is_3_with_each_reject_on_stderr(test_data):
    code, out, err = run(import_calls, test_data / "calls" / "generic_day.csv")
    assert code == ExitCode.PARTIAL
    assert out.strip().endswith("10 created, 0 updated, 0 unchanged, 8 rejected")
    lines = err.strip().splitlines()
    assert lines[0].endswith("generic_day.csv:11: answered call without answered_at")
    assert len(lines) == 9 and lines[-1].startswith("8 of 18 records rejected: see import run")


def test_import_calls_every_row_rejected_is_1(test_data):
    code, out, err = run(import_calls, test_data / "commands" / "calls_all_rejected.csv")
    assert code == ExitCode.FAILED
    assert out.strip() == "2 read, 0 created, 0 updated, 0 unchanged, 2 rejected"
    assert "calls_all_rejected.csv:3: unknown outcome 'transferred'" in err
    assert err.strip().splitlines()[-1] == "import_calls: error: every record was rejected (2 of 2)"
    assert not Call.objects.exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.txt", "empty file: no header row"),
        ("garbage.bin", "the header line cannot be decoded"),
        ("wrong_header.csv", "header must name exactly the columns call_id,"),
    ],
)
def test_import_calls_unreadable_file_is_1(test_data, name, message):
    code, text = fails(import_calls, test_data / "commands" / name)
    assert code == 1 and message in text
    assert ImportRun.objects.get().status == ImportRun.Status.FAILED


def test_import_calls_missing_path_or_directory_is_1_before_any_run(test_data, tmp_path):
    assert fails(import_calls, tmp_path / "nope.csv") == (1, f"no such file: {tmp_path / 'nope.csv'}")
    assert fails(import_calls, tmp_path) == (1, f"{tmp_path} is a directory: give the files inside it")
    assert not ImportRun.objects.exists()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--encoding", "latin-9", "--encoding: unsupported encoding 'latin-9' (use utf-8 or cp932)"),
        ("--encoding", "no-such-codec", "--encoding: unsupported encoding 'no-such-codec' (use utf-8 or cp932)"),
        ("--cdr-timezone", "Mars/Olympus", "--cdr-timezone: unknown time zone 'Mars/Olympus'"),
    ],
)
def test_import_calls_bad_argument_is_2_before_any_run(test_data, option, value, message):
    code, text = fails(import_calls, test_data / "commands" / "calls_ok.csv", option, value)
    assert code == 2 and text.startswith(message)
    assert not ImportRun.objects.exists()


# --- import_mail ----------------------------------------------------------------------------


def test_import_mail_clean_is_0(test_data):
    code, out, _ = run(import_mail, test_data / "mail" / "maildir")
    assert (code, out.strip()) == (0, "1 read, 1 created, 0 updated, 0 unchanged, 0 rejected")


def test_import_mail_some_rejected_is_3(test_data):
    code, out, err = run(import_mail, test_data / "mail" / "sample.mbox")
    assert code == ExitCode.PARTIAL
    assert out.strip() == "4 read, 3 created, 0 updated, 0 unchanged, 1 rejected"
    assert "sample.mbox:41: not a mail message: no header fields" in err


def test_import_mail_directory_with_no_mail_is_1(tmp_path):
    code, out, err = run(import_mail, tmp_path)
    assert code == ExitCode.FAILED
    assert out.strip() == "0 read, 0 created, 0 updated, 0 unchanged, 0 rejected"
    assert err.strip() == "import_mail: error: nothing to import: the input holds no records"


@pytest.mark.parametrize("name", ["empty.txt", "garbage.bin"])
def test_import_mail_file_that_is_no_mail_is_1(test_data, name):
    code, _, err = run(import_mail, test_data / "commands" / name)
    assert code == ExitCode.FAILED
    assert "not a mail message" in err and "every record was rejected (1 of 1)" in err


def test_import_mail_missing_path_is_1_alone_and_3_beside_good_mail(test_data, tmp_path):
    code, _, err = run(import_mail, tmp_path / "nope")
    assert code == ExitCode.FAILED and f"{tmp_path / 'nope'}: no such file or directory" in err
    code, _, _ = run(import_mail, tmp_path / "nope", test_data / "mail" / "maildir")
    assert code == ExitCode.PARTIAL


# --- import_records -------------------------------------------------------------------------


def test_import_records_some_rejected_is_3(test_data):
    code, out, err = run(import_records, test_data / "commands" / "records_partial.jsonl")
    assert code == ExitCode.PARTIAL
    assert out.strip() == "2 read, 1 created, 0 updated, 0 unchanged, 1 rejected"
    assert "records_partial.jsonl:3: call: missing field 'outcome'" in err
    assert Inquiry.objects.filter(ref="EG-20261001-CMD001").exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.txt", "nothing to import: the input holds no records"),
        ("garbage.bin", "every record was rejected"),
        ("records_wrong_shape.jsonl", "every record was rejected (2 of 2)"),
    ],
)
def test_import_records_nothing_imported_is_1(test_data, name, message):
    code, _, err = run(import_records, test_data / "commands" / name)
    assert code == ExitCode.FAILED
    assert err.strip().splitlines()[-1].startswith(f"import_records: error: {message}")


def test_import_records_unknown_user_is_2_and_missing_file_is_1(test_data, tmp_path):
    good = test_data / "commands" / "records_partial.jsonl"
    assert fails(import_records, good, "--user", "ghost") == (2, "--user: no such user: ghost")
    assert fails(import_records, tmp_path / "nope.jsonl")[0] == 1
    assert fails(import_records, tmp_path)[0] == 1
    assert not ImportRun.objects.exists()


# --- export_records -------------------------------------------------------------------------


def test_export_records_to_a_file_reports_on_stdout(tmp_path, test_data):
    run(import_calls, test_data / "commands" / "calls_ok.csv")
    target = tmp_path / "handover.jsonl"
    code, out, err = run(export_records, "--output", target)
    assert code == 0 and err == ""
    assert out.strip().startswith("exported ") and "2 call" in out
    lines = target.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["type"] == "header"
    assert [p.name for p in tmp_path.iterdir()] == ["handover.jsonl"]  # no temporary file left


@pytest.mark.parametrize("where", ["missing-dir/out.jsonl", "a-file/out.jsonl", "."])
def test_export_records_unwritable_output_is_1_and_audits_nothing(tmp_path, where):
    (tmp_path / "a-file").write_text("x")
    target = tmp_path / where
    code, text = fails(export_records, "--output", target)
    assert code == 1 and text.startswith("--output: ")
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()


# --- seed_demo ------------------------------------------------------------------------------


def test_seed_demo_empty_password_is_2():
    from helpdesk.management.commands import seed_demo

    assert fails(seed_demo, "--password", " ") == (2, "--password must not be empty")
    assert not Inquiry.objects.exists()
