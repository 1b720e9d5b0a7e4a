"""The diagnostics package's import graph, imports inside functions included.

It never imports the ticket side, it has no cycle, and its layers only import downward: checks
read the resolver, the shared vocabulary and the vendor interface; the verdict reads checks'
results; only the runner's callers (commands, the ticket side) import the runner.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "diagnostics"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    _module_name(path): path
    for path in sorted(PACKAGE.rglob("*.py"))
    if "migrations" not in path.parts
}


def _imported(module: str, path: Path) -> set[str]:
    """Every module `module` imports, anywhere in its body, as dotted names."""
    is_package = path.name == "__init__.py"
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # `from package import module` imports that module; anything else, `base`.
                dotted = f"{base}.{alias.name}"
                names.add(dotted if dotted in MODULES else base)
    return names


def _internal(name: str) -> str | None:
    """The diagnostics module a dotted name lands in (the longest that exists), or None."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in MODULES:
            return candidate
    return None


IMPORTS = {module: _imported(module, path) for module, path in MODULES.items()}
GRAPH = {
    module: {target for name in names if (target := _internal(name)) and target != module}
    for module, names in IMPORTS.items()
}


def _within(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_diagnostics_never_imports_the_ticket_side():
    offenders = {
        module: sorted(n for n in names if _within(n, "tickets"))
        for module, names in IMPORTS.items()
    }

    assert {m: n for m, n in offenders.items() if n} == {}


def test_the_import_graph_has_no_cycle():
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> None:
        if module in path:
            cycle = path[path.index(module) :] + [module]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        path.append(module)
        for target in sorted(GRAPH[module]):
            # A package's __init__ importing its own modules is how packages work.
            if not target.startswith(module + "."):
                visit(target)
        path.pop()
        done.add(module)

    for module in sorted(GRAPH):
        visit(module)


CHECKS_MAY_IMPORT = (
    "diagnostics.checks",
    "diagnostics.resolver",
    "diagnostics.spf",
    "diagnostics.types",
    "diagnostics.smtp_codes",
    "diagnostics.vendors.base",
    "diagnostics.bounces",  # the RCPT check reads a refusal the way a bounce is read
)


def test_checks_import_only_what_lies_below_them():
    wrong = {
        module: sorted(t for t in targets if not _within(t, *CHECKS_MAY_IMPORT))
        for module, targets in GRAPH.items()
        if _within(module, "diagnostics.checks")
    }

    assert {m: t for m, t in wrong.items() if t} == {}


def test_only_the_top_imports_the_runner():
    importers = {
        module
        for module, targets in GRAPH.items()
        if any(_within(t, "diagnostics.runner") for t in targets)
        and not _within(module, "diagnostics.runner")
    }

    assert importers == {"diagnostics.management.commands.diagnose"}


def test_the_vendor_interface_imports_no_adapter():
    assert GRAPH["diagnostics.vendors.base"] <= {"diagnostics.types"}
