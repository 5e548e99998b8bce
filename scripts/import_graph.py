"""Measure the import structure of the project packages (used for docs/architecture.md).

    python scripts/import_graph.py            # figures: largest module, cycles, function-local imports
    python scripts/import_graph.py --cycles   # also list each cycle (strongly connected group)
    python scripts/import_graph.py --local    # also list each function-local import

Pure `ast`: no import is executed. A module-level import is one not inside a function body;
`if TYPE_CHECKING:` blocks are left out (they never run). A cycle is a strongly connected group
of two or more modules in the graph of module-level imports, counting `from pkg import mod`
as an import of `pkg.mod` and every import of `a.b.c` as one of `a.b.c` only (packages'
`__init__` count as modules of their own).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("helpdesk", "kpi", "faq", "config")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            found[module_name(path)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(node: ast.Import | ast.ImportFrom, current: str, is_package: bool, modules: dict) -> set[str]:
    out: set[str] = set()
    if isinstance(node, ast.Import):
        for alias in node.names:
            out.add(alias.name)
        return out
    base = node.module or ""
    if node.level:
        parts = current.split(".")
        if not is_package:
            parts = parts[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join([*parts, base] if base else parts)
    out.add(base)
    for alias in node.names:
        candidate = f"{base}.{alias.name}"
        if candidate in modules:
            out.add(candidate)
    return out


def scan(
    modules: dict[str, Path],
) -> tuple[dict[str, set[str]], dict[str, set[str]], list[tuple[str, int, str]]]:
    graph: dict[str, set[str]] = {name: set() for name in modules}
    every: dict[str, set[str]] = {name: set() for name in modules}
    local: list[tuple[str, int, str]] = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_package = path.name == "__init__.py"

        def visit(node: ast.AST, in_function: bool, name=name, is_package=is_package) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and _is_type_checking(child):
                    for sub in child.orelse:
                        visit(sub, in_function)
                    continue
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    targets = {t for t in _targets(child, name, is_package, modules) if t in modules}
                    every[name] |= targets
                    if in_function:
                        local.append((name, child.lineno, ast.unparse(child)))
                    else:
                        graph[name] |= targets
                    continue
                visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

        visit(tree, False)
    return graph, every, local


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, keeping those of two or more modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10000)

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return groups


def analyse(
    modules: dict[str, Path] | None = None,
) -> tuple[list[list[str]], list[list[str]], list[tuple[str, int, str]]]:
    """(cycles of module-level imports, cycles once function-local imports count, every
    function-local import as (module, line, source)). tests/test_architecture.py asserts on it."""
    modules = project_modules() if modules is None else modules
    graph, every, local = scan(modules)
    # A package's own __init__ importing its submodules is not a cycle worth naming: drop the edge
    # from a module to the package that contains it (Python loads the package first anyway).
    for g in (graph, every):
        for name in g:
            g[name] = {t for t in g[name] if not name.startswith(t + ".")}
    # The cycles function-local imports hide: the same graph counting imports inside functions.
    return cycles(graph), cycles(every), local


def main(argv: list[str]) -> int:
    modules = project_modules()
    groups, hidden, local = analyse(modules)
    sizes = sorted(((len(p.read_text(encoding="utf-8").splitlines()), n) for n, p in modules.items()), reverse=True)
    print(f"modules: {len(modules)}")
    print(f"largest module: {sizes[0][1]} ({sizes[0][0]} lines)")
    print(f"import cycles (strongly connected groups): {len(groups)}")
    print(f"import cycles once function-local imports count (hidden cycles): {len(hidden)}")
    project_local = [x for x in local if x[2].split()[1].split(".")[0] in PACKAGES]
    print(f"function-local imports: {len(local)} (of project modules: {len(project_local)})")
    if "--cycles" in argv:
        for group in groups:
            print("  cycle:", " ".join(group))
        for group in hidden:
            print("  hidden cycle:", " ".join(group))
    if "--local" in argv:
        for name, line, text in local:
            print(f"  {name}:{line}: {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
