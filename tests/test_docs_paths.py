"""Docs that name a file or folder of the project name one that exists (docs/architecture.md's
table of old paths is history, and is left out)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATH = re.compile(r"`((?:helpdesk|kpi|faq|config|tests|scripts|bench|templates|static)/[A-Za-z0-9_./-]*)`")


def _named_paths():
    for doc in [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]:
        text = doc.read_text(encoding="utf-8")
        if doc.name == "architecture.md":
            text = text.split("### Whole modules")[0]
        for match in PATH.finditer(text):
            path = match.group(1).rstrip("/.")
            # Patterns, and the folder the browser tests write their screenshots into (it is
            # made by the run, so a fresh clone has none yet).
            if "*" in path or "<" in path or "{" in path or path == "tests/artifacts":
                continue
            yield doc.name, path


def test_every_path_the_docs_name_exists():
    missing = sorted({(doc, path) for doc, path in _named_paths() if not (ROOT / path).exists()})
    assert missing == []
