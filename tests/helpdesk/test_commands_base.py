"""helpdesk/management/base.py: how each kind of failure ends on the command line — one line on
stderr and the exit code of docs/commands.md."""

import errno
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError
from django.db import OperationalError

from helpdesk.errors import InvalidTransitionError
from helpdesk.management.base import ExitCode, Failed, HelpdeskCommand, UsageError


def _command(exc: BaseException | None = None, code: ExitCode = ExitCode.OK):
    class Command(HelpdeskCommand):
        requires_system_checks = []

        def handle(self, *args, **options):
            self.stdout.write("result")
            self.exit_code = code
            if exc is not None:
                raise exc

    out, err = io.StringIO(), io.StringIO()
    return Command(stdout=out, stderr=err), out, err


def _exit(command) -> int:
    with pytest.raises(SystemExit) as caught:
        command.run_from_argv(["manage.py", "demo_cmd"])
    return caught.value.code


@pytest.mark.parametrize(
    ("exc", "code", "line"),
    [
        (UsageError("--month: no such month"), 2, "demo_cmd: error: --month: no such month"),
        (Failed("no such file: a.csv"), 1, "demo_cmd: error: no such file: a.csv"),
        (CommandError("plain Django error"), 1, "demo_cmd: error: plain Django error"),
        (InvalidTransitionError("既に公開中です。"), 1, "demo_cmd: error: 既に公開中です。"),
        (ValidationError({"answer": ["回答を入力してください。"]}), 1, "demo_cmd: error: 回答を入力してください。"),
        (
            FileNotFoundError(errno.ENOENT, "No such file or directory", "calls.csv"),
            1,
            "demo_cmd: error: calls.csv: No such file or directory",
        ),
        (BrokenPipeError(), 1, "demo_cmd: error: the output was closed before everything was written"),
        (OperationalError("no such table: x\nmore"), 1, "demo_cmd: database error: OperationalError: no such table: x"),
        (
            KeyError("calls"),
            1,
            "demo_cmd: internal error: KeyError: 'calls' (run again with --traceback for details)",
        ),
        (KeyboardInterrupt(), 130, "demo_cmd: interrupted"),
    ],
)
def test_each_failure_is_one_line_and_its_exit_code(exc, code, line, monkeypatch):
    monkeypatch.setattr("helpdesk.management.base._silence_stdout", lambda: None)
    command, _, err = _command(exc)
    assert _exit(command) == code
    assert err.getvalue().strip() == line


def test_partial_exits_3_after_printing_and_ok_does_not_exit():
    command, out, _ = _command(code=ExitCode.PARTIAL)
    assert _exit(command) == 3
    assert out.getvalue() == "result\n"
    command, out, _ = _command()
    command.run_from_argv(["manage.py", "demo_cmd"])  # no SystemExit: 0
    assert out.getvalue() == "result\n"


def test_traceback_option_lets_the_exception_through():
    command, _, _ = _command(KeyError("calls"))
    with pytest.raises(KeyError):
        command.run_from_argv(["manage.py", "demo_cmd", "--traceback"])


def test_a_bad_option_is_one_line_and_2(capsys):
    command, _, _ = _command()
    with pytest.raises(SystemExit) as caught:
        command.run_from_argv(["manage.py", "demo_cmd", "--no-such-option"])
    assert caught.value.code == 2
    assert capsys.readouterr().err == "demo_cmd: error: unrecognized arguments: --no-such-option (see --help)\n"
