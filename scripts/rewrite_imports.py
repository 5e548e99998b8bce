"""Rewrite imports and dotted paths after the issue-11 reslicing of `helpdesk/`.

    python scripts/rewrite_imports.py FILE_OR_DIR ...      # rewrite in place
    python scripts/rewrite_imports.py --check FILE_OR_DIR  # list what would change, exit 1 if any

Reads scripts/module_moves.txt: `old.module new.module` (a whole module moved) and
`old.module:Name new.module` (one public name moved out of a split module). It rewrites
`from X import a, b` (splitting it by destination), `import X`, and dotted strings such as
`"helpdesk.phone.importer.bulk_insert"` (patch targets, include() paths). Celery task names
(`name="helpdesk.tasks..."`, `"task": "helpdesk.tasks..."`) are wire names stored in queued
runs: they are left alone. Run `ruff check --fix . && ruff format .` afterwards to re-sort. A split module imported as
a module (`from helpdesk.api import serializers as s`, then `s.Name`) is named in a warning:
its attribute uses need a hand edit.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

MOVES = Path(__file__).resolve().parent / "module_moves.txt"
DOTTED = re.compile(r"\bhelpdesk(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
WARNINGS: list[str] = []
TASK_NAME = re.compile(r"""(name=|["']task["']\s*:\s*)["']$""")


def load(path: Path = MOVES) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    modules: dict[str, str] = {}
    symbols: dict[tuple[str, str], str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        old, new = line.split()
        if ":" in old:
            module, name = old.split(":")
            symbols[(module, name)] = new
            symbols[(module, "*")] = module  # marks a module some names left
        else:
            modules[old] = new
    return modules, symbols


def _module_of(module: str, modules: dict[str, str]) -> str:
    return modules.get(module, module)


def _dotted(match: re.Match, modules, symbols) -> str:
    text = match.group(0)
    parts = text.split(".")
    for cut in range(len(parts), 0, -1):
        head = ".".join(parts[:cut])
        rest = parts[cut:]
        if rest and (head, rest[0]) in symbols:
            return ".".join([symbols[(head, rest[0])], *rest])
        if head in modules:
            return ".".join([modules[head], *rest])
    return text


def _from_import(node: ast.ImportFrom, modules, symbols, indent: str) -> str | None:
    source = node.module or ""
    if node.level or not (source.startswith("helpdesk") or source in modules or (source, "*") in symbols):
        return None
    groups: dict[str, list[str]] = {}
    changed = False
    for alias in node.names:
        as_text = f"{alias.name} as {alias.asname}" if alias.asname else alias.name
        submodule = f"{source}.{alias.name}"
        if (source, alias.name) in symbols:
            target = symbols[(source, alias.name)]
        elif submodule in modules:
            # `from helpdesk.services import calls`: the module itself moved
            if (submodule, "*") in symbols:
                WARNINGS.append(f"{submodule} was split: check the uses of `{alias.asname or alias.name}.<name>`")
            new = modules[submodule]
            target, _, name = new.rpartition(".")
            as_text = f"{name} as {alias.asname or alias.name}" if (alias.asname or alias.name) != name else name
        else:
            target = _module_of(source, modules)
        changed |= target != source or as_text != (f"{alias.name} as {alias.asname}" if alias.asname else alias.name)
        groups.setdefault(target, []).append(as_text)
    if not changed:
        return None
    return "\n".join(f"{indent}from {target} import {', '.join(names)}" for target, names in groups.items())


def _import(node: ast.Import, modules, indent: str) -> str | None:
    if not any(a.name in modules for a in node.names):
        return None
    out = []
    for alias in node.names:
        name = modules.get(alias.name, alias.name)
        out.append(f"{indent}import {name}" + (f" as {alias.asname}" if alias.asname else ""))
    return "\n".join(out)


def rewrite(text: str, modules, symbols) -> str:
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            first = lines[node.lineno - 1]
            indent = first[: len(first) - len(first.lstrip())]
            new = (
                _from_import(node, modules, symbols, indent)
                if isinstance(node, ast.ImportFrom)
                else _import(node, modules, indent)
            )
            if new is not None:
                edits.append((node.lineno - 1, node.end_lineno, new + "\n"))
    for start, end, new in sorted(edits, reverse=True):
        lines[start:end] = [new]
    text = "".join(lines)

    def dotted(match: re.Match) -> str:
        before = text[max(0, match.start() - 20) : match.start()]
        if TASK_NAME.search(before) or match.group(0).startswith("helpdesk.tasks."):
            return match.group(0)
        return _dotted(match, modules, symbols)

    return DOTTED.sub(dotted, text)


SLASHED = re.compile(r"\bhelpdesk(?:/[A-Za-z_][A-Za-z0-9_]*)+(?:\.py)?/?")


def rewrite_doc(text: str, modules, symbols) -> str:
    """Markdown: dotted paths as in code, and file paths (`helpdesk/services/calls.py`)."""

    def slashed(match: re.Match) -> str:
        raw = match.group(0)
        suffix = ".py" if raw.endswith(".py") else ("/" if raw.endswith("/") else "")
        dotted = raw.removesuffix(".py").rstrip("/").replace("/", ".")
        if dotted in modules:
            return modules[dotted].replace(".", "/") + (suffix or "")
        return raw

    text = SLASHED.sub(slashed, text)
    return DOTTED.sub(
        lambda m: m.group(0) if m.group(0).startswith("helpdesk.tasks.") else _dotted(m, modules, symbols), text
    )


def main(argv: list[str]) -> int:
    check = "--check" in argv
    moves = MOVES
    if "--moves" in argv:  # another moves file (same format)
        at = argv.index("--moves")
        moves = Path(argv[at + 1])
        argv = argv[:at] + argv[at + 2 :]
    paths = [Path(a) for a in argv if a != "--check"]
    modules, symbols = load(moves)
    changed = 0
    for root in paths:
        files = (
            [root]
            if root.is_file()
            else sorted(p for p in root.rglob("*") if p.suffix in (".py", ".md") and ".venv" not in p.parts)
        )
        for path in files:
            text = path.read_text(encoding="utf-8")
            fix = rewrite_doc if path.suffix == ".md" else rewrite
            new = fix(text, modules, symbols)
            if new != text:
                changed += 1
                print(path)
                for warning in WARNINGS:
                    print(f"  warning: {warning}", file=sys.stderr)
                if not check:
                    path.write_text(new, encoding="utf-8")
            WARNINGS.clear()
    return 1 if (check and changed) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
