"""The import structure docs/architecture.md promises: no import cycles, none hidden by a
function-local import, and in helpdesk/ no function-local import but the listed ones.
Runs scripts/import_graph.py's analysis (pure ast: nothing is imported)."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _import_graph():
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "scripts" / "import_graph.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


import_graph = _import_graph()

# (module, imported source): why the import has to run inside a function.
ALLOWED_LOCAL_IMPORTS = {
    ("helpdesk.apps", "from helpdesk.models.functions import nfkc"): "apps.py: models are not ready at import time",
    ("helpdesk.apps", "from helpdesk.roles import sync_role_permissions"): "apps.py: roles imports the models",
    ("helpdesk.apps", "from django.core.management import call_command"): "apps.py: a post_migrate handler",
    ("helpdesk.apps", "from helpdesk.accounts.tokens import connect_token_revocation"): "apps.py ready(): models",
    ("helpdesk.apps", "from helpdesk.handover import records"): "apps.py ready(): registers the record types",
    ("helpdesk.management.commands.import_calls", "from tqdm import tqdm"): "a progress bar for a terminal only",
}


def test_no_import_cycles():
    groups, hidden, _ = import_graph.analyse()
    assert groups == []
    assert hidden == [], "a function-local import hides these cycles"


def test_helpdesk_has_no_function_local_imports_but_the_listed_ones():
    _, _, local = import_graph.analyse()
    found = {(module, source) for module, _, source in local if module.split(".")[0] == "helpdesk"}
    assert found - ALLOWED_LOCAL_IMPORTS.keys() == set()
    assert ALLOWED_LOCAL_IMPORTS.keys() - found == set(), "an allowed import is gone: drop it from the list"


def test_the_analysis_finds_a_cycle_hidden_by_a_function_local_import(tmp_path):
    """The gate itself works: a → b at module level, b → a inside a function."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("from pkg import b\n")
    (tmp_path / "pkg" / "b.py").write_text("def f():\n    from pkg import a\n")
    modules = {"pkg": tmp_path / "pkg/__init__.py", "pkg.a": tmp_path / "pkg/a.py", "pkg.b": tmp_path / "pkg/b.py"}
    groups, hidden, local = import_graph.analyse(modules)
    assert groups == []
    assert hidden == [["pkg.a", "pkg.b"]]
    assert local == [("pkg.b", 2, "from pkg import a")]
