from pathlib import Path

import pytest

from helpdesk.imports.services import import_run_start
from helpdesk.models import ImportRun
from helpdesk.phone.importer import calls_import_run

DATA = Path(__file__).resolve().parents[2] / "data" / "calls"


@pytest.fixture
def calls_data() -> Path:
    return DATA


@pytest.fixture
def run_import():
    """run_import([paths], fmt="generic", **options) -> the finished ImportRun."""

    def _run(paths, fmt="generic", **options):
        kind = ImportRun.Kind.CALLS_ASTERISK if fmt == "asterisk" else ImportRun.Kind.CALLS_GENERIC
        run = import_run_start(kind=kind, source_name="test")
        return calls_import_run(run=run, paths=[str(p) for p in paths], fmt=fmt, **options)

    return _run
