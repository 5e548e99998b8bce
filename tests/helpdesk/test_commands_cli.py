"""Every command run as a user or a cron script runs it: `python manage.py ...` in a child
process, with the default settings and its own migrated SQLite database. Bad input gives the
exit code of docs/commands.md and a clear line on stderr — never a Python traceback."""

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import DATA, REPO

pytestmark = pytest.mark.slow  # every test runs manage.py in a child process

COMMANDS = DATA / "commands"


def _env(db) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)  # manage.py's default, as a user has it
    env.update(
        DATABASE_URL=f"sqlite:///{db}",
        REDIS_URL="",
        MEDIA_ROOT=str(db.parent / "media"),
        PYTHONIOENCODING="utf-8",
    )
    return env


def _run(db, *args, script: str | None = None) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-c", script] if script else [sys.executable, "manage.py", *map(str, args)]
    return subprocess.run(argv, cwd=REPO, env=_env(db), capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("cli-template") / "db.sqlite3"
    done = _run(db, "migrate", "--noinput", "-v", "0")
    assert done.returncode == 0, done.stderr
    return db


@pytest.fixture
def manage(migrated_db, tmp_path):
    """manage(*args) -> CompletedProcess, on a fresh copy of the migrated database."""
    db = tmp_path / "db.sqlite3"
    shutil.copy(migrated_db, db)

    def run(*args, script=None):
        done = _run(db, *args, script=script)
        assert "Traceback" not in done.stdout + done.stderr, done.stderr
        return done

    return run


def _one_line(done) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


# The three paths the issue names, then each kind of bad input, command by command.
ONE_LINE_ERRORS = [
    (
        ["import_calls", COMMANDS / "calls_ok.csv", "--encoding", "no-such-codec"],
        2,
        "import_calls: error: --encoding: unsupported encoding 'no-such-codec' (use utf-8 or cp932)",
    ),
    (
        ["kpi_month", "0000-01"],
        2,
        "kpi_month: error: 月は 1927-01〜9998-12 の範囲で指定してください: '0000-01' (month out of range)",
    ),
    (
        ["faq_refresh", "--as-of", "yesterday"],
        2,
        "faq_refresh: error: --as-of: Invalid isoformat string: 'yesterday' (YYYY-MM-DD, e.g. 2026-09-27)",
    ),
    (
        ["kpi_month", "2026-13"],
        2,
        "kpi_month: error: 月は YYYY-MM 形式（月は01〜12）で指定してください: '2026-13' (month must be YYYY-MM)",
    ),
    (["kpi_month"], 2, "kpi_month: error: the following arguments are required: month (see --help)"),
    (
        ["import_calls", COMMANDS / "calls_ok.csv", "--format", "xml"],
        2,
        "import_calls: error: argument --format: invalid choice: 'xml' (choose from 'generic', 'asterisk') (see --help)",
    ),
    (["import_calls", COMMANDS / "nope.csv"], 1, f"import_calls: error: no such file: {COMMANDS / 'nope.csv'}"),
    (
        ["import_calls", COMMANDS / "empty.txt"],
        1,
        f"import_calls: error: import failed: {COMMANDS / 'empty.txt'}: empty file: no header row",
    ),
    (["import_records", COMMANDS], 1, f"import_records: error: {COMMANDS} is a directory: give the files inside it"),
    (
        ["faq_clusters", "--from-jsonl", COMMANDS / "faq_missing_field.jsonl"],
        1,
        f"faq_clusters: error: {COMMANDS / 'faq_missing_field.jsonl'}: line 2: missing field 'received_at'",
    ),
    (["seed_demo", "--password", ""], 2, "seed_demo: error: --password must not be empty"),
]


@pytest.mark.parametrize(("args", "code", "line"), ONE_LINE_ERRORS, ids=lambda v: None)
def test_bad_input_is_one_line_and_its_exit_code(manage, args, code, line):
    done = manage(*args)
    assert done.returncode == code, done.stderr
    assert _one_line(done) == line


def test_wrong_header_and_every_row_rejected_exit_1(manage):
    done = manage("import_calls", COMMANDS / "wrong_header.csv")
    assert done.returncode == 1
    assert _one_line(done).startswith("import_calls: error: import failed: ")
    done = manage("import_calls", COMMANDS / "calls_all_rejected.csv")
    assert done.returncode == 1
    assert done.stdout.strip() == "2 read, 0 created, 0 updated, 0 unchanged, 2 rejected"
    assert done.stderr.strip().splitlines() == [
        f"{COMMANDS / 'calls_all_rejected.csv'}:2: bad timestamp in arrived_at: '2026/10/01 10:00'",
        f"{COMMANDS / 'calls_all_rejected.csv'}:3: unknown outcome 'transferred'",
        "import_calls: error: every record was rejected (2 of 2)",
    ]


def test_ok_then_partial(manage):
    done = manage("import_calls", COMMANDS / "calls_ok.csv")
    assert (done.returncode, done.stdout.strip(), done.stderr) == (
        0,
        "2 read, 2 created, 0 updated, 0 unchanged, 0 rejected",
        "",
    )
    done = manage("import_calls", DATA / "calls" / "generic_day.csv")
    assert done.returncode == 3
    assert done.stdout.strip() == "18 read, 10 created, 0 updated, 0 unchanged, 8 rejected"
    assert done.stderr.strip().splitlines()[-1].startswith("8 of 18 records rejected: see import run ")


def test_mail_directory_with_nothing_in_it_exits_1(manage, tmp_path):
    empty = tmp_path / "maildir"
    empty.mkdir()
    done = manage("import_mail", empty)
    assert done.returncode == 1
    assert _one_line(done) == "import_mail: error: nothing to import: the input holds no records"


def test_records_of_the_wrong_shape_exit_1_and_a_partial_file_3(manage):
    done = manage("import_records", COMMANDS / "records_wrong_shape.jsonl")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == "import_records: error: every record was rejected (2 of 2)"
    done = manage("import_records", COMMANDS / "records_partial.jsonl")
    assert done.returncode == 3
    assert "records_partial.jsonl:3: call: missing field 'outcome'" in done.stderr


def test_export_to_an_unwritable_place_exits_1(manage, tmp_path):
    target = tmp_path / "no-such-dir" / "handover.jsonl"
    done = manage("export_records", "--output", target)
    assert done.returncode == 1
    assert _one_line(done) == f"export_records: error: --output: cannot write {target}: No such file or directory"
    target = tmp_path / "handover.jsonl"
    done = manage("export_records", "--output", target)
    assert done.returncode == 0 and done.stdout.startswith("exported ")
    assert target.read_text(encoding="utf-8").startswith('{"type":"header"')


def test_an_unexpected_error_is_one_line_and_exit_1(manage, tmp_path):
    # An empty database (never migrated): the query fails inside the command.
    empty = tmp_path / "empty.sqlite3"
    done = subprocess.run(
        [sys.executable, "manage.py", "kpi_month", "2026-10"],
        cwd=REPO,
        env=_env(empty),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert _one_line(done).startswith("kpi_month: database error: OperationalError: no such table")


def test_a_logged_exception_and_a_bug_are_one_line_each(manage):
    # A service that logs an exception (the worker's log wants the traceback) and then a bug:
    # on the command line each is one line, and --traceback still shows everything.
    script = textwrap.dedent(
        """
        import logging, os, sys
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
        import django
        django.setup()
        from helpdesk.management.base import HelpdeskCommand

        class Command(HelpdeskCommand):
            def handle(self, *args, **options):
                try:
                    raise ValueError("row 7 is odd")
                except ValueError:
                    logging.getLogger("helpdesk.services").exception("import 7 failed")
                raise KeyError("calls")

        Command().run_from_argv(["manage.py", "boom", *sys.argv[1:]])
        """
    )
    done = manage(script=script)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "import 7 failed: ValueError: row 7 is odd",
        "boom: internal error: KeyError: 'calls' (run again with --traceback for details)",
    ]


def test_without_redis_every_process_shares_one_cache(manage):
    """`kpi_month --cached` in a new process finds what another process computed: the cache
    without Redis is a database table (created by migrate), not one process's memory."""
    import json

    computed = json.loads(manage("kpi_month", "2026-10", "--json").stdout)
    cached = json.loads(manage("kpi_month", "2026-10", "--json", "--cached").stdout)
    assert cached["computed_at"] == computed["computed_at"]
