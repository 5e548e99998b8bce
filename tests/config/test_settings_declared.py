"""Every setting the code reads is declared in config/settings/base.py (so its default lives
in one place, not in a `getattr(settings, NAME, default)` at each reader) and listed in
.env.example (so an operator can find it). Django's own settings are Django's business."""

import ast
import re
from pathlib import Path

from django.conf import global_settings

ROOT = Path(__file__).resolve().parent.parent.parent
SCANNED = ("helpdesk", "kpi", "faq", "config", "bench", "scripts", "templates")
READ = re.compile(r"""\bsettings\.([A-Z][A-Z0-9_]*)\b|getattr\(\s*settings\s*,\s*["']([A-Z][A-Z0-9_]*)["']""")
ENV_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=", re.MULTILINE)
# Settings built from other variables rather than read from one of their own name.
DERIVED = {
    "HELPDESK_IMAP": ("IMAP_HOST", "IMAP_PORT", "IMAP_USER", "IMAP_PASSWORD", "IMAP_SECURITY", "IMAP_FOLDER"),
    "CELERY_TASK_ALWAYS_EAGER": ("REDIS_URL",),  # eager exactly when there is no Redis
}


def settings_read(text: str) -> set[str]:
    return {m.group(1) or m.group(2) for m in READ.finditer(text)}


def project_settings_read() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for package in SCANNED:
        for path in sorted((ROOT / package).rglob("*")):
            if path.suffix not in (".py", ".html", ".txt") or "migrations" in path.parts:
                continue
            if path.is_relative_to(ROOT / "config" / "settings"):
                continue
            for name in settings_read(path.read_text(encoding="utf-8")):
                if not hasattr(global_settings, name):
                    found.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return found


def declared_in_base() -> set[str]:
    tree = ast.parse((ROOT / "config" / "settings" / "base.py").read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def env_read(path: Path) -> set[str]:
    """The variables a settings module reads: env("X"), env.int("X"), …"""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            is_env = (isinstance(func, ast.Name) and func.id == "env") or (
                isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "env"
            )
            if is_env and isinstance(node.args[0].value, str):
                names.add(node.args[0].value)
    return names


ENV_EXAMPLE = set(ENV_LINE.findall((ROOT / ".env.example").read_text(encoding="utf-8")))


def test_every_setting_read_is_declared_in_base():
    undeclared = {name: paths for name, paths in project_settings_read().items() if name not in declared_in_base()}
    assert undeclared == {}


def test_every_setting_read_is_listed_in_env_example():
    missing = {}
    for name, paths in project_settings_read().items():
        variables = DERIVED.get(name, (name,))
        if not set(variables) <= ENV_EXAMPLE:
            missing[name] = paths
    assert missing == {}


def test_every_variable_the_settings_read_is_listed_in_env_example():
    settings_dir = ROOT / "config" / "settings"
    read = env_read(settings_dir / "base.py") | env_read(settings_dir / "production.py")
    assert read - ENV_EXAMPLE == set()


def test_no_setting_is_read_with_a_default_of_its_own():
    """getattr(settings, NAME, default) hides a missing declaration; read settings.NAME."""
    offenders = []
    for package in ("helpdesk", "kpi", "faq", "config"):
        for path in (ROOT / package).rglob("*.py"):
            if re.search(r"getattr\(\s*settings\s*,", path.read_text(encoding="utf-8")):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_scan_sees_both_spellings():
    text = 'a = settings.HELPDESK_X\nb = getattr(settings, "KPI_Y", 3)\nc = settings.configured\n'
    assert settings_read(text) == {"HELPDESK_X", "KPI_Y"}
