"""Which parts of a description the lookup-table kernel tabulates besides the gates: every expression of V alone.

An intermediate whose value depends on V and parameters only, and holds a costly function (``exp log
sqrt tanh pow``, ``^``), becomes one table column; so does every largest such sub-expression inside
the other intermediates, the currents and the derivatives (a Kir rectification ``1/(1+exp((v-E)/k))``
inside ``g*x*(v-E)/(1+exp(...))``, say). The kernel then reads it by interpolation in V, as a gate's
coefficients. Cheap ones (``v - E_K``) stay exact: a table read costs more than a subtraction.
The parameters these columns depend on are table parameters: a per-cell map of one needs the exact kernel.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from types import MappingProxyType

from .. import expr
from ..description import ModelDescription

__all__ = ["VOnlyPlan", "plan", "PLACEHOLDER"]

#: Prefix of the names standing for table columns in rewritten trees (no user name can start so).
PLACEHOLDER = "@t"
_COSTLY = frozenset({"exp", "log", "sqrt", "tanh", "pow"})
_BOOL = (expr.Compare, expr.BoolOp, expr.Not)


@dataclass(frozen=True)
class VOnlyPlan:
    """``columns``: (label, tree over V, parameters and intermediates) in column order; ``trees``: the
    rewritten tree of each key of ``desc.tree`` that changed (columns as ``Name(PLACEHOLDER + q)``);
    ``parameters``: the parameters the columns depend on."""

    columns: tuple[tuple[str, expr.Node], ...]
    trees: MappingProxyType
    parameters: frozenset[str]


def _costly(node) -> bool:
    if isinstance(node, expr.Call) and node.func in _COSTLY:
        return True
    if isinstance(node, expr.BinOp) and node.op == "^":
        return True
    return any(_costly(getattr(node, f.name)) for f in fields(node) if _is_node(getattr(node, f.name))) or any(
        _costly(a) for a in getattr(node, "args", ()))


def _is_node(x) -> bool:
    return isinstance(x, (expr.Num, expr.Name, expr.Neg, expr.BinOp, expr.Call, expr.Compare, expr.BoolOp,
                          expr.Not, expr.If))  # fmt: skip


def _tabulable(node, v_only: set[str], v_dep: set[str]) -> bool:
    # of V (a function of parameters alone is a constant: nothing to tabulate), of nothing else
    names = expr.names(node)
    return not isinstance(node, _BOOL) and names <= v_only and bool(names & v_dep) and _costly(node)


def _rewrite(node, v_only: set[str], v_dep: set[str], column):
    """``node`` with each largest costly sub-expression of V alone replaced by its column's name."""
    if not isinstance(node, (expr.Num, expr.Name)) and _tabulable(node, v_only, v_dep):
        return expr.Name(column(node))
    if isinstance(node, expr.Call):
        return expr.Call(node.func, tuple(_rewrite(a, v_only, v_dep, column) for a in node.args))
    kids = {f.name: _rewrite(getattr(node, f.name), v_only, v_dep, column) for f in fields(node)
            if _is_node(getattr(node, f.name))}  # fmt: skip
    return type(node)(**{f.name: kids.get(f.name, getattr(node, f.name)) for f in fields(node)})


def _param_closure(desc: ModelDescription, names: frozenset[str]) -> frozenset[str]:
    """The parameters ``names`` depend on, through intermediates."""
    inter = {x.name for x in desc.intermediates}
    out, todo, seen = set(), list(names), set()
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        if n in inter:
            todo.extend(expr.names(desc.tree(n)))
        elif n in desc.param_names:
            out.add(n)
    return frozenset(out)


@functools.lru_cache(maxsize=64)
def plan(desc: ModelDescription) -> VOnlyPlan:
    """The columns of V alone of ``desc`` and its trees rewritten to read them."""
    v_only = {desc.voltage.name, *desc.param_names}
    v_dep = {desc.voltage.name}
    columns: dict = {}

    def column(node) -> str:
        if node not in columns:
            columns[node] = f"{PLACEHOLDER}{len(columns)}"
        return columns[node]

    labels: dict = {}
    trees = {}
    for x in desc.intermediates:
        tree = desc.tree(x.name)
        if expr.names(tree) <= v_only:
            if _tabulable(tree, v_only, v_dep):
                trees[x.name] = expr.Name(column(tree))
                labels.setdefault(tree, x.name)
            v_only.add(x.name)  # later expressions of V alone may use it
            if expr.names(tree) & v_dep:
                v_dep.add(x.name)
            continue
        before = len(columns)
        new = _rewrite(tree, v_only, v_dep, column)
        if new != tree:
            trees[x.name] = new
        for node in list(columns)[before:]:
            labels.setdefault(node, x.name)
    keys = [c.name for c in desc.currents] + [f"{s.name}.derivative" for s in desc.states if s.gate is None]
    for key in keys:
        before = len(columns)
        tree = desc.tree(key)
        new = _rewrite(tree, v_only, v_dep, column)
        if new != tree:
            trees[key] = new
        for node in list(columns)[before:]:
            labels.setdefault(node, key.split(".")[0])
    cols = tuple((labels.get(node, "expression"), node) for node in columns)
    params = _param_closure(desc, frozenset().union(*(expr.names(n) for n in columns)) if columns else frozenset())
    return VOnlyPlan(cols, MappingProxyType(trees), params)
