"""What every management command of the product shares: one exit-code convention, errors on
one line (never a traceback), and the report of an import run. The work itself stays in the
services; a command parses its arguments, calls one service and reports.

Exit codes (docs/commands.md), chosen for the cron script of a help-desk center, which has to
tell "all good" from "look at the rejects" from "nothing happened":

==  =========  =====================================================================================
0   OK         everything read was accepted (created, updated or unchanged)
1   FAILED     nothing (or not a whole file) was imported: missing path, unreadable, empty or
               binary file, wrong header, every record rejected, unwritable output, any other
               error. Python and Django exit 1 on an uncaught error too, so a crash before the
               command even starts (bad settings, no database) also reads as "failed".
2   USAGE      a bad argument: unknown option, codec, time zone, user or month. argparse's own code.
3   PARTIAL    the import ran and committed what it could, but some records were rejected: they
               are listed on stderr and kept with line and reason in the import run.
==  =========  =====================================================================================

With ``call_command``, a bad argument or a failure before or during the work raises
``CommandError`` (``returncode`` 2 or 1), as Django does. An import that ran to the end is not
an exception even when it read nothing or rejected everything: its outcome is
``command.exit_code`` (pass a ``Command()`` instance to read it), the same number manage.py
exits with."""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management.base import (
    BaseCommand,
    CommandError,
    CommandParser,
    SystemCheckError,
    handle_default_options,
)
from django.db import DatabaseError, connections

from helpdesk.errors import ApplicationError
from helpdesk.models import ImportRun


class ExitCode(enum.IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    PARTIAL = 3


class UsageError(CommandError):
    """A bad argument: exit code 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message, returncode=ExitCode.USAGE)


class Failed(CommandError):
    """Nothing (or not a whole file) was done: exit code 1."""

    def __init__(self, message: str) -> None:
        super().__init__(message, returncode=ExitCode.FAILED)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:500] if text else type(exc).__name__


def describe_os_error(exc: OSError) -> str:
    """`nope.csv: No such file or directory` rather than `[Errno 2] No such file or directory: 'nope.csv'`."""
    if exc.strerror and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror}"
    return exc.strerror or first_line(exc)


def readable_files(names: Sequence[str]) -> None:
    """Each name is a regular file this process can read, else `Failed` with one line."""
    for name in names:
        path = Path(name)
        if path.is_dir():
            raise Failed(f"{name} is a directory: give the files inside it")
        if not path.exists():
            raise Failed(f"no such file: {name}")
        if not path.is_file():
            raise Failed(f"not a regular file: {name}")
        if not os.access(path, os.R_OK):
            raise Failed(f"cannot read {name}: permission denied")


def import_outcome(run) -> tuple[ExitCode, str]:
    """The exit code a finished `ImportRun` deserves, and why (for FAILED and PARTIAL)."""
    if run.status == ImportRun.Status.FAILED:
        error = (run.error.strip().splitlines() or [""])[0][:500]
        return ExitCode.FAILED, f"import failed: {error or 'see import run ' + str(run.pk)}"
    if run.read == 0:
        return ExitCode.FAILED, "nothing to import: the input holds no records"
    if run.rejected >= run.read:
        return ExitCode.FAILED, f"every record was rejected ({run.rejected} of {run.read})"
    if run.rejected:
        return ExitCode.PARTIAL, f"{run.rejected} of {run.read} records rejected"
    return ExitCode.OK, ""


class _OneLineParser(CommandParser):
    """argparse prints the whole usage block before its error; one line says enough."""

    def error(self, message):
        if self.called_from_command_line:
            command = self.prog.split()[-1]  # "manage.py import_calls" → the same prefix as other errors
            self.exit(ExitCode.USAGE, f"{command}: error: {message} (see --help)\n")
        raise UsageError(f"Error: {message}")


class _OneLineExceptions(logging.Filter):
    """A service may log an exception with its traceback (useful in a worker's log); on a
    terminal or in a cron mail the exception's first line is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(exc).__name__}: {first_line(exc)}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


@contextlib.contextmanager
def _one_line_log_exceptions(enabled: bool) -> Iterator[None]:
    handlers = logging.getLogger().handlers if enabled else []
    flt = _OneLineExceptions()
    for handler in handlers:
        handler.addFilter(flt)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(flt)


def _error_line(exc: Exception) -> tuple[str, int]:
    if isinstance(exc, CommandError):
        return f"error: {exc}", exc.returncode
    if isinstance(exc, ApplicationError | ValidationError):
        messages = exc.messages if isinstance(exc, ValidationError) else [first_line(exc)]
        return f"error: {' '.join(messages)}", ExitCode.FAILED
    if isinstance(exc, BrokenPipeError):
        return "error: the output was closed before everything was written", ExitCode.FAILED
    if isinstance(exc, OSError):
        return f"error: {describe_os_error(exc)}", ExitCode.FAILED
    if isinstance(exc, DatabaseError):
        return f"database error: {type(exc).__name__}: {first_line(exc)}", ExitCode.FAILED
    return (
        f"internal error: {type(exc).__name__}: {first_line(exc)} (run again with --traceback for details)",
        ExitCode.FAILED,
    )


class HelpdeskCommand(BaseCommand):
    """Base of every product command: see the module docstring for the exit codes."""

    exit_code: ExitCode = ExitCode.OK

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.__class__ = _OneLineParser  # same parser, only `error` differs
        return parser

    def execute(self, *args, **options):
        self.exit_code = ExitCode.OK
        return super().execute(*args, **options)

    def run_from_argv(self, argv):
        # BaseCommand.run_from_argv, but every failure ends as one line on stderr and the exit
        # code above; --traceback still shows the whole story for a developer.
        self._called_from_command_line = True
        parser = self.create_parser(argv[0], argv[1])
        options = parser.parse_args(argv[2:])
        cmd_options = vars(options)
        args = cmd_options.pop("args", ())
        handle_default_options(options)
        code: int = ExitCode.OK
        try:
            with _one_line_log_exceptions(enabled=not options.traceback):
                self.execute(*args, **cmd_options)
            code = self.exit_code
        except KeyboardInterrupt:
            self.stderr.write(f"{argv[1]}: interrupted")
            code = 130
        except Exception as exc:
            if options.traceback:
                raise
            if isinstance(exc, SystemCheckError):
                self.stderr.write(str(exc), lambda x: x)
                code = exc.returncode
            else:
                line, code = _error_line(exc)
                self.stderr.write(f"{argv[1]}: {line}")
                if isinstance(exc, BrokenPipeError):
                    _silence_stdout()
        finally:
            with contextlib.suppress(ImproperlyConfigured):
                connections.close_all()
        if code:
            sys.exit(int(code))

    # --- helpers for the commands ---------------------------------------------------------

    @property
    def name(self) -> str:
        """The command's name, as typed after manage.py."""
        return type(self).__module__.rsplit(".", 1)[-1]

    def finish_import(self, run, *, show_rejects: int = 20) -> None:
        """Report a finished import run: its rejects (where + why) on stderr, the count line
        on stdout, and the exit code. Raises `Failed` when the run stopped or could not read a
        whole file; an import that ran to the end but read nothing or rejected everything sets
        `exit_code` to FAILED instead (call_command returns; manage.py exits 1)."""
        rejects = list(run.rejects.order_by("source_name", "line", "id")[: max(show_rejects, 0)])
        for reject in rejects:
            if reject.reason in run.error:
                continue  # a whole-file error (wrong header, empty file): said once, by `Failed` below
            self.stderr.write(f"{_where(reject)}: {reject.reason}")
        shown = len(rejects)
        if run.rejected > shown:
            self.stderr.write(
                f"… {run.rejected - shown} more rejects: see import run {run.pk} (GET /api/import-runs/{run.pk}/)"
            )
        self.stdout.write(run.summary())
        code, why = import_outcome(run)
        if run.status == ImportRun.Status.FAILED:
            raise Failed(why)  # stopped, or a whole file unreadable: an error for call_command too
        if code == ExitCode.FAILED:
            self.stderr.write(f"{self.name}: error: {why}")
        elif code == ExitCode.PARTIAL:
            self.stderr.write(f"{why}: see import run {run.pk} (GET /api/import-runs/{run.pk}/)")
        self.exit_code = code


def _where(reject) -> str:
    where = reject.source_name or "input"
    if reject.line is not None:
        return f"{where}:{reject.line}"
    if reject.offset is not None:
        return f"{where} (byte {reject.offset})"
    return where


def _silence_stdout() -> None:
    # After a broken pipe the interpreter would complain again when it flushes stdout at exit.
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
