"""Which columns the lookup-table kernel of a description reads, and how it steps each gate from them.

As the hand-written HEK table it replaced: a gate whose τ does not depend on V needs no
``c`` column (its decay is a scalar), gates with one steady state share an ``inf`` column, and an
instantaneous gate has its ``inf`` column alone (read at V and again at the new V). Fewer columns,
fewer gathers per cell: the gathers bound the vectorised loop.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import MappingProxyType

from .. import expr
from ..description import ModelDescription
from ._vonly import plan as vonly_plan

__all__ = ["GateLayout", "gate_layout", "instant_gates", "kinetic_gates"]


@dataclass(frozen=True)
class GateLayout:
    """How the kernel reads the tables: ``columns`` the keys of the packed table's columns (the opsin's
    last, after these); ``forms[k]`` for gate state ``k``: ``(c, b, inf, decay)``, the packed column of
    its ``c``, ``b`` and shared ``inf`` (None where it has none) and the index of its constant decay
    among the scalars (None unless its τ does not depend on V).

    A gate whose τ does not depend on V needs no ``c`` column (its decay ``exp(−dt/τ)`` is a scalar), and
    gates with one steady state (HEK's h1 and h2) read one ``inf`` column and step as ``x + (inf − x)·c``:
    fewer gathers per cell. An instantaneous gate has its ``inf`` column alone, read at the state's V and,
    for the stored value, at the new V."""

    columns: tuple[str, ...]
    forms: MappingProxyType
    #: gate state k -> the column of its inf, for the instantaneous gates (read at V and at the new V)
    instant: MappingProxyType


def kinetic_gates(desc: ModelDescription) -> list:
    # the gates with kinetics (c and b columns); an instantaneous gate has its inf column alone
    return [s for s in desc.states if s.gate is not None and not s.gate.instantaneous]


def instant_gates(desc: ModelDescription) -> list:
    return [s for s in desc.states if s.gate is not None and s.gate.instantaneous]


def _depends_on_v(desc: ModelDescription, tree) -> bool:
    inter = {x.name for x in desc.intermediates}
    todo, seen = list(expr.names(tree)), set()
    while todo:
        n = todo.pop()
        if n == desc.voltage.name:
            return True
        if n in inter and n not in seen:
            seen.add(n)
            todo.extend(expr.names(desc.tree(n)))
    return False


@functools.lru_cache(maxsize=64)
def gate_layout(desc: ModelDescription) -> GateLayout:
    """The :class:`GateLayout` of ``desc``."""
    gates = [(k, s) for k, s in enumerate(desc.states, start=1) if s.gate is not None and not s.gate.instantaneous]
    instant = [(k, s) for k, s in enumerate(desc.states, start=1) if s.gate is not None and s.gate.instantaneous]
    by_inf: dict = {}
    for _, s in gates + instant:
        if s.gate.kind in ("inf_tau", "instantaneous"):
            by_inf.setdefault(desc.tree(f"{s.name}.inf"), []).append(s.name)
    owner = {name: names[0] for names in by_inf.values() if len(names) > 1 for name in names}
    owner.update({s.name: by_inf[desc.tree(f"{s.name}.inf")][0] for _, s in instant})
    columns: list[str] = []
    forms = {}
    n_decay = 0
    for k, s in gates:
        inf = f"{owner[s.name]}.inf" if s.name in owner else None
        if inf is not None and inf not in columns:
            columns.append(inf)
        const = s.gate.kind == "inf_tau" and not _depends_on_v(desc, desc.tree(f"{s.name}.tau"))
        c = b = decay = None
        if const:
            decay, n_decay = n_decay, n_decay + 1
        else:
            c = len(columns)
            columns.append(f"{s.name}.c")
        if inf is None:
            b = len(columns)
            columns.append(f"{s.name}.b")
        forms[k] = (c, b, None if inf is None else columns.index(inf), decay)
    instants = {}
    for k, s in instant:
        inf = f"{owner[s.name]}.inf"
        if inf not in columns:
            columns.append(inf)
        instants[k] = columns.index(inf)
    columns += [f"{label}.t{q}" for q, (label, _) in enumerate(vonly_plan(desc).columns)]
    return GateLayout(tuple(columns), MappingProxyType(forms), MappingProxyType(instants))
