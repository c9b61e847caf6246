"""The lookup-table kernel of a description: every gate's Rush–Larsen coefficients tabulated over V.

A gate is a function of V and parameters only, so for one parameter set and one step ``dt`` its step
``x_new = x + (x∞ − x)·c`` with ``c = 1 − exp(−dt/τ)`` needs two numbers per V: ``c`` and ``b = x∞·c``.
Both are tabulated on a uniform grid (:data:`V_LO_MV` to :data:`V_HI_MV` by :data:`STEP_MV`, the
HEK tables' grid), and interpolated linearly by the kernel. So is every costly expression of V alone
inside the intermediates, currents and derivatives (:mod:`._vonly`): one column each after the
gates'; the rest (the states' products, the opsin) is computed exactly.
The tables are evaluated from the expression trees (:func:`solver.models.expr.evaluate`), never
from the kernel's source. Accuracy check on every table: each column interpolated at the midpoints
of the rows must stay within :data:`MAX_INTERPOLATION_ERROR` of its exact value there (relative), else the
table is refused naming the gate (a coarse grid for a steep gate would silently change the model).
A removable singularity on a grid point (HH's ``(v+40)/(1-exp(-(v+40)/10))`` at −40 mV) takes the
mean of the values just either side.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np

from .. import expr
from ..description import ModelDescription
from ._exact import _local, model_lines
from ._template import MODULE_TEMPLATE
from ._vonly import PLACEHOLDER
from ._vonly import plan as vonly_plan

__all__ = ["GeneratedLut", "INTERPOLATION_FLOOR", "LutTable", "MAX_INTERPOLATION_ERROR", "gate_parameters", "lut_kernel_source",
           "lut_table"]

V_LO_MV = -200.0
V_HI_MV = 200.0
STEP_MV = 0.1
TAU_MIN = 0.01
#: Allowed |interpolated − exact| of a column at the row midpoints: relative to the exact value (c is
#: about dt/τ, tiny for a slow gate, so an absolute bound would say nothing there), plus an absolute
#: floor far below a step's change of a gate (where x∞ and with it b vanish). A τ clamped at TAU_MIN
#: puts a kink in c; interpolated across it c is off by a few 1e-4 of its value.
MAX_INTERPOLATION_ERROR = 1e-3
INTERPOLATION_FLOOR = 1e-7


class LutTable:
    """A table ``(n_rows, n_cols)`` float64 and its grid; columns ``c_k, b_k`` per gate, in state order."""

    def __init__(self, table: np.ndarray, v_lo: float, h: float) -> None:
        self.table = table
        self.scalars = np.array([v_lo, 1.0 / h, float(table.shape[0] - 2)])


def _tabulated_gates(desc: ModelDescription) -> list:
    # an instantaneous gate is computed exactly, at the state's V and at the new V
    return [s for s in desc.states if s.gate is not None and not s.gate.instantaneous]


def gate_parameters(desc: ModelDescription) -> frozenset[str]:
    """The parameters the tables depend on (the gates' and the other expressions of V alone: a per-cell
    map of one of them needs the exact kernel)."""
    out: set[str] = set(vonly_plan(desc).parameters)
    for s in _tabulated_gates(desc):
        for key in s.gate.keys:
            out |= expr.names(desc.tree(f"{s.name}.{key}"))
    return frozenset(out & set(desc.param_names))


def _gate_columns(desc: ModelDescription, v: np.ndarray, p: Mapping, dt: float) -> dict[str, np.ndarray]:
    env = {**p, desc.voltage.name: v}
    cols = {}
    with np.errstate(all="ignore"):
        for s in _tabulated_gates(desc):
            if s.gate.kind == "inf_tau":
                inf = expr.evaluate(desc.tree(f"{s.name}.inf"), env)
                tau = expr.evaluate(desc.tree(f"{s.name}.tau"), env)
            else:
                a = expr.evaluate(desc.tree(f"{s.name}.alpha"), env)
                b = expr.evaluate(desc.tree(f"{s.name}.beta"), env)
                tau = 1.0 / (a + b)
                inf = a * tau
            c = -np.expm1(-dt / np.maximum(tau, TAU_MIN))
            cols[f"{s.name}.c"] = np.broadcast_to(c, v.shape).astype(np.float64)
            cols[f"{s.name}.b"] = np.broadcast_to(inf * c, v.shape).astype(np.float64)
        columns = vonly_plan(desc).columns
        if columns:
            for x in desc.intermediates:
                tree = desc.tree(x.name)
                if expr.names(tree) <= env.keys():
                    env[x.name] = expr.evaluate(tree, env)
            for q, (label, tree) in enumerate(columns):
                cols[f"{label}.t{q}"] = np.broadcast_to(expr.evaluate(tree, env), v.shape).astype(np.float64)
    return cols


def _what(key: str) -> str:
    name, kind = key.rsplit(".", 1)
    return f"gate {name!r}" if kind in ("c", "b") else f"the expression of V alone in {name!r}"


def _columns(desc, v, p, dt) -> dict[str, np.ndarray]:
    cols = _gate_columns(desc, v, p, dt)
    # removable singularities: a non-finite value on a grid point becomes the mean just either side
    bad = np.zeros(v.shape, bool)
    for col in cols.values():
        bad |= ~np.isfinite(col)
    if bad.any():
        eps = 1e-6 * STEP_MV
        lo = _gate_columns(desc, v[bad] - eps, p, dt)
        hi = _gate_columns(desc, v[bad] + eps, p, dt)
        for key, col in cols.items():
            col = col.copy()
            col[bad] = 0.5 * (lo[key] + hi[key])
            cols[key] = col
    for key, col in cols.items():
        if not np.isfinite(col).all():
            at = v[~np.isfinite(col)][0]
            raise ValueError(f"{_what(key)}: its lookup table is not finite at V = {at:g} mV "
                             f"(allowed: finite gate kinetics over [{V_LO_MV:g}, {V_HI_MV:g}] mV; use the exact "
                             "kernel)")
    return cols


@functools.lru_cache(maxsize=32)
def _build(desc: ModelDescription, params: tuple, dt: float) -> LutTable:
    n = int(round((V_HI_MV - V_LO_MV) / STEP_MV)) + 1
    v = V_LO_MV + STEP_MV * np.arange(n)
    p = dict(zip(desc.param_names, params))
    cols = _columns(desc, v, p, dt)
    table = np.stack(list(cols.values()), axis=1) if cols else np.zeros((n, 1))
    # the accuracy check: interpolation at the row midpoints against the exact values there
    mid = v[:-1] + 0.5 * STEP_MV
    exact = _columns(desc, mid, p, dt)
    for k, (key, col) in enumerate(exact.items()):
        interp = 0.5 * (table[:-1, k] + table[1:, k])
        excess = np.abs(interp - col) - (MAX_INTERPOLATION_ERROR * np.abs(col) + INTERPOLATION_FLOOR)
        worst = int(np.argmax(excess))
        if excess[worst] > 0:
            raise ValueError(f"{_what(key)}: linear interpolation on a {STEP_MV:g} mV grid is off by "
                             f"{abs(interp[worst] - col[worst]):.2g} at V = {mid[worst]:g} mV, where the value is "
                             f"{col[worst]:.3g} (allowed: {MAX_INTERPOLATION_ERROR:g} of it + {INTERPOLATION_FLOOR:g}); "
                             "this model needs the exact kernel (numerics.lookup_tables: false)")
    table = np.ascontiguousarray(table)
    table.setflags(write=False)
    return LutTable(table, V_LO_MV, STEP_MV)


def lut_table(desc: ModelDescription, params: np.ndarray, dt: float) -> LutTable:
    """The (cached) table of ``desc`` for these parameters and ``dt``."""
    return _build(desc, tuple(float(x) for x in params), float(dt))


def lut_kernel_source(desc: ModelDescription) -> str:
    """Python source of a module whose ``kernel_tabulated(..., tab, tab_half, lut_s)`` is the lookup-table kernel."""
    n_state = len(desc.state_names)
    tabulated = _tabulated_gates(desc)
    gates = [k for k, s in enumerate(desc.states, start=1) if s in tabulated]
    col = {k: 2 * q for q, k in enumerate(gates)}
    lines = [f"{_local('p', k)} = pc[i, {k}]" for k in range(len(desc.parameters))]
    vp = vonly_plan(desc)
    first = 2 * len(gates)
    extra = {f"{PLACEHOLDER}{q}": f"_lut_at(tab, z_k, z_f, {first + q})" for q in range(len(vp.columns))}
    body, outs = model_lines(desc, target="numba", old=lambda k: f"np.float64(base[{k}, bi, bj])",
                             gates=False, trees=vp.trees, extra_names=extra)  # fmt: skip
    lines.append("z_k, z_f = _lut_index(z_s0, lut_s)")
    lines += body
    for k in gates:
        lines.append(f"z_old{k} = np.float64(base[{k}, bi, bj])")
        outs[k] = f"z_old{k} - z_old{k} * _lut_at(tab, z_k, z_f, {col[k]}) + _lut_at(tab, z_k, z_f, {col[k] + 1})"
    lines.append("return (" + ", ".join(outs) + ",)")
    return MODULE_TEMPLATE.format(
        name=desc.name, hash=desc.content_hash[:16], n_state=n_state, n_params=len(desc.parameters),
        state_args=", ".join(_local("s", k) for k in range(n_state)), body="\n".join("    " + ln for ln in lines),
        src_args=", ".join(f"np.float64(src[{k}, i, j])" for k in range(n_state)),
    )  # fmt: skip


class GeneratedLut:
    """The lookup-table path of a described model: which parameters the tables hold, and its stepper."""

    def __init__(self, desc: ModelDescription, load) -> None:
        self.desc = desc
        self.gate_params = gate_parameters(desc)
        self._load = load  # (stem, source) -> module: the disk cache of solver.models.codegen

    def stepper(self):
        """A callable with the ``CellModel.kernel`` signature that steps on the tables."""
        module = self._load(f"lut_{self.desc.name}", lut_kernel_source(self.desc))
        desc = self.desc

        def step(ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams, gop, flux,
                 order=1):  # fmt: skip
            tab = lut_table(desc, params, dt)
            half = lut_table(desc, params, 0.5 * dt) if order == 2 else tab
            return module.kernel_tabulated(ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin,
                                           oparams, gop, flux, tab.table, half.table, tab.scalars, order=order)  # fmt: skip

        return step
