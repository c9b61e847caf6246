"""The import graph of the packages: the circles the design ruled out stay broken.

Imports are read from the source (module level, inside functions and under ``if TYPE_CHECKING`` alike), so
a lazy import or one for type hints that closes a circle counts as much as one at the top of a file.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("solver", "service", "clients")


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()

    def known(name: str | None) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        deps = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                deps.update(known(a.name) for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".")[: len(name.split(".")) - node.level + (path.name == "__init__.py")]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module
                deps.add(known(mod))
                deps.update(known(f"{mod}.{a.name}") for a in node.names if f"{mod}.{a.name}" in modules)
        graph[name] = {d for d in deps if d and d != name}
    return graph


def _reaches(graph, start: str, goal: str) -> list[str] | None:
    """A path of imports from ``start`` to ``goal``, or None."""
    seen, stack = {start}, [[start]]
    while stack:
        path = stack.pop()
        for nxt in sorted(graph.get(path[-1], ())):
            if nxt == goal:
                return path + [nxt]
            if nxt not in seen:
                seen.add(nxt)
                stack.append(path + [nxt])
    return None


def test_the_graph_sees_lazy_imports():
    graph = _graph()
    assert "solver.analysis" in graph["solver.pictures.plot"]          # imported inside plot_dataset only
    assert "clients.options" in graph["clients.design_cmd"]    # imported inside register only
    assert "clients._groups" in graph["clients.client"]         # imported at the end of the module


@pytest.mark.parametrize("a,b", [("clients.cli", "clients.design_cmd"), ("service.convert", "service.jobs"),
                                 ("solver.analysis.metrics", "solver.pictures.plot"),
                                 ("clients._groups", "clients.client")])
def test_no_import_circle(a, b):
    graph = _graph()
    there, back = _reaches(graph, a, b), _reaches(graph, b, a)
    assert there is None or back is None, f"{' -> '.join(there)} and {' -> '.join(back)}"
