"""The repository stands alone: nothing tracked reads, imports or links to a folder beside it,
and every file the tests read lives under tests/data/."""

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Spelled in two pieces so this file does not match its own search.
OUTSIDE_PATTERNS = ["../" + "shared", '/ "' + 'shared"']


def _tracked_files() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.fail("the test suite runs from a git checkout (CI clones the repository)")
    return [name for name in out.decode().split("\0") if name]


def test_no_tracked_file_points_outside_the_repository():
    offenders = []
    for name in _tracked_files():
        path = REPO / name
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        offenders += [name for pattern in OUTSIDE_PATTERNS if pattern in text]
    assert offenders == []


def test_the_data_the_tests_read_is_in_the_repository(test_data):
    assert test_data == REPO / "tests" / "data"
    labelled = test_data / "faq" / "inquiries_dev.jsonl"
    assert len(labelled.read_text(encoding="utf-8").splitlines()) == 296
    issabel = test_data / "calls" / "asterisk_issabel"
    assert {p.name for p in issabel.iterdir()} >= {"Master.csv", "queue_log", "SOURCE.md"}
