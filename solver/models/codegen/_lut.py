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
from dataclasses import fields

import numpy as np

from .. import expr
from ..description import ModelDescription
from ..opsin import KERNEL_PARAM_NAMES, f_v
from ._exact import FieldCache, cell_source, model_lines, module_source
from ._layout import gate_layout, instant_gates, kinetic_gates
from ._machinery import pack_columns
from ._vonly import PLACEHOLDER
from ._vonly import plan as vonly_plan

__all__ = ["GeneratedLut", "INTERPOLATION_FLOOR", "LutTable", "MAX_INTERPOLATION_ERROR", "gate_parameters", "lut_kernel_source",
           "lut_table", "packed_table"]

#: Prefix of the names standing for numbers in the kernel's trees (emitted in the compute type).
LITERAL = "@n"
#: Prefix of the names standing for an instantaneous gate's inf column.
INSTANT = "@i"

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
    """A table ``(n_rows, n_cols)`` float64 and its grid; columns ``c_k, b_k`` per gate, in state order, then
    the expressions of V alone, then ``inf`` of the gates that share theirs (``keys`` names them)."""

    def __init__(self, table: np.ndarray, v_lo: float, h: float, keys: tuple[str, ...] = ()) -> None:
        self.table = table
        self.keys = keys
        self.scalars = np.array([v_lo, 1.0 / h, float(table.shape[0] - 2)])


def gate_parameters(desc: ModelDescription) -> frozenset[str]:
    """The parameters the tables depend on (the gates' and the other expressions of V alone: a per-cell
    map of one of them needs the exact kernel)."""
    out: set[str] = set(vonly_plan(desc).parameters)
    for s in desc.states:
        if s.gate is not None:
            for key in s.gate.keys:
                out |= expr.names(desc.tree(f"{s.name}.{key}"))
    return frozenset(out & set(desc.param_names))


def _gate_columns(desc: ModelDescription, v: np.ndarray, p: Mapping, dt: float) -> dict[str, np.ndarray]:
    env = {**p, desc.voltage.name: v}
    cols = {}
    shared = {key.split(".")[0] for key in gate_layout(desc).columns if key.endswith(".inf")}
    with np.errstate(all="ignore"):
        for s in instant_gates(desc):
            if f"{s.name}.inf" in gate_layout(desc).columns:
                inf = expr.evaluate(desc.tree(f"{s.name}.inf"), env)
                cols[f"{s.name}.inf"] = np.broadcast_to(inf, v.shape).astype(np.float64)
        for s in kinetic_gates(desc):
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
            if s.name in shared:
                cols[f"{s.name}.inf"] = np.broadcast_to(inf, v.shape).astype(np.float64)
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
    return f"gate {name!r}" if kind in ("c", "b", "inf") else f"the expression of V alone in {name!r}"


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


def _check_interpolation(what: str, values: np.ndarray, exact_mid: np.ndarray, mid: np.ndarray) -> None:
    """The accuracy check of one column: ``values`` on the grid, interpolated at the row midpoints ``mid``,
    against the exact values there."""
    if not (np.isfinite(values).all() and np.isfinite(exact_mid).all()):
        at = mid[~(np.isfinite(values[:-1]) & np.isfinite(exact_mid))][0]
        raise ValueError(f"{what}: its lookup table is not finite near V = {at:g} mV (allowed: finite over "
                         f"[{V_LO_MV:g}, {V_HI_MV:g}] mV; use the exact kernel)")
    interp = 0.5 * (values[:-1] + values[1:])
    excess = np.abs(interp - exact_mid) - (MAX_INTERPOLATION_ERROR * np.abs(exact_mid) + INTERPOLATION_FLOOR)
    worst = int(np.argmax(excess))
    if excess[worst] > 0:
        raise ValueError(f"{what}: linear interpolation on a {STEP_MV:g} mV grid is off by "
                         f"{abs(interp[worst] - exact_mid[worst]):.2g} at V = {mid[worst]:g} mV, where the value is "
                         f"{exact_mid[worst]:.3g} (allowed: {MAX_INTERPOLATION_ERROR:g} of it + {INTERPOLATION_FLOOR:g}); "
                         "this model needs the exact kernel (numerics.lookup_tables: false)")


@functools.lru_cache(maxsize=32)
def _build(desc: ModelDescription, params: tuple, dt: float) -> LutTable:
    n = int(round((V_HI_MV - V_LO_MV) / STEP_MV)) + 1
    v = V_LO_MV + STEP_MV * np.arange(n)
    p = dict(zip(desc.param_names, params))
    cols = _columns(desc, v, p, dt)
    table = np.stack(list(cols.values()), axis=1) if cols else np.zeros((n, 1))
    keys = tuple(cols)
    # the accuracy check: interpolation at the row midpoints against the exact values there
    mid = v[:-1] + 0.5 * STEP_MV
    exact = _columns(desc, mid, p, dt)
    for k, (key, col) in enumerate(exact.items()):
        _check_interpolation(_what(key), table[:, k], col, mid)
    table = np.ascontiguousarray(table)
    table.setflags(write=False)
    return LutTable(table, V_LO_MV, STEP_MV, keys)


def lut_table(desc: ModelDescription, params: np.ndarray, dt: float) -> LutTable:
    """The (cached) table of ``desc`` for these parameters and ``dt``."""
    return _build(desc, tuple(float(x) for x in params), float(dt))


def _small_int(node) -> bool:
    return isinstance(node, expr.Num) and node.value == int(node.value) and abs(node.value) <= 16


def _typed_literals(node, lits: dict):
    """``node`` with every number a name (``lits``: value -> name) that the kernel emits as ``CT(value)``:
    a float64 literal would turn float32 arithmetic into float64. Small whole exponents stay numbers
    (numba multiplies in the base's type)."""
    if isinstance(node, expr.Num):
        return expr.Name(lits.setdefault(node.value, f"{LITERAL}{len(lits)}"))
    if isinstance(node, expr.Name):
        return node
    if isinstance(node, expr.BinOp) and node.op == "^" and _small_int(node.right):
        return expr.BinOp("^", _typed_literals(node.left, lits), node.right)
    if isinstance(node, expr.Call):
        args = [_typed_literals(a, lits) for a in node.args]
        if node.func == "pow" and _small_int(node.args[1]):
            args[1] = node.args[1]
        return expr.Call(node.func, tuple(args))
    kids = {f.name: _typed_literals(getattr(node, f.name), lits) for f in fields(node)
            if not isinstance(getattr(node, f.name), str)}  # fmt: skip
    return type(node)(**{f.name: kids.get(f.name, getattr(node, f.name)) for f in fields(node)})


def lut_kernel_source(desc: ModelDescription, dtype=np.float64) -> str:
    """Python source of a module whose ``kernel_tabulated`` is the lookup-table kernel, computing in ``dtype``
    (that of the state buffers: float32 runs stay float32)."""
    layout = gate_layout(desc)
    vp = vonly_plan(desc)
    first = len(layout.columns) - len(vp.columns)
    lits: dict = {}
    keys = [x.name for x in desc.intermediates] + [c.name for c in desc.currents]
    keys += [f"{s.name}.derivative" for s in desc.states if s.gate is None]
    trees = {key: _typed_literals(vp.trees.get(key) or desc.tree(key), lits) for key in keys}
    extra = {f"{PLACEHOLDER}{q}": f"interpolate_packed(tab[z_kb + {first + q}], z_f)" for q in range(len(vp.columns))}
    for k, q in layout.instant.items():
        # an instantaneous gate as the model reads it: its inf column at the state's V
        trees[f"{desc.states[k - 1].name}.inf"] = expr.Name(f"{INSTANT}{q}")
        extra[f"{INSTANT}{q}"] = f"interpolate_packed(tab[z_kb + {q}], z_f)"
    extra.update({name: f"CT({value!r})" for value, name in lits.items()})
    body, outs = model_lines(desc, target="numba", old=lambda k: f"z_o{k}", gates=False, trees=trees,
                             extra_names=extra)  # fmt: skip
    pre = [
        "z_zero = v_lo - v_lo",
        "z_x = (z_s0 - v_lo) * inv_h",
        "z_x = z_x if z_x > z_zero else z_zero  # NaN lands on row 0: V stays NaN and the run loop stops",
        "z_x = z_x if z_x < x_hi else x_hi",
        "z_xf = np.floor(z_x)  # np.floor keeps float32 float32",
        "z_kb = np.int64(z_xf) * N_COLS  # a cast, not int(): a call stops vectorisation",
        "z_f = z_x - z_xf",
    ]
    for k, (c, b, inf, decay) in layout.forms.items():
        c, b, inf = (f"interpolate_packed(tab[z_kb + {q}], z_f)" if q is not None else None for q in (c, b, inf))
        if decay is None:
            outs[k] = f"z_o{k} - z_o{k} * {c} + {b}" if inf is None else f"z_o{k} + ({inf} - z_o{k}) * {c}"
        else:
            outs[k] = f"z_ea{decay} * z_o{k} + " + (b if inf is None else f"z_ec{decay} * {inf}")
    if layout.instant:
        # stored at the new V: a second lookup (the index of z_vnew, which model_lines defines)
        body += [
            "z_xn = (z_vnew - v_lo) * inv_h",
            "z_xn = z_xn if z_xn > z_zero else z_zero",
            "z_xn = z_xn if z_xn < x_hi else x_hi",
            "z_xnf = np.floor(z_xn)",
            "z_kn = np.int64(z_xnf) * N_COLS",
            "z_fn = z_xn - z_xnf",
        ]
        for k, q in layout.instant.items():
            outs[k] = f"interpolate_packed(tab[z_kn + {q}], z_fn)"
    n_cols = len(layout.columns) + 1
    n_decay = sum(f[3] is not None for f in layout.forms.values())
    opsin = f"interpolate_packed(tab[z_kb + {n_cols - 1}], z_f)"
    # Ga·C with C = 1 - O - D, written without a literal 1 (it would be float64)
    cell = cell_source(desc, body, outs, pre=pre, opsin_drive=opsin,
                       opsin_rates="(z_ga - z_ga * z_oo - z_ga * z_od - gd * z_oo)")
    ct = "np.float32" if np.dtype(dtype) == np.float32 else "np.float64"
    return module_source(desc, cell, ct=ct, n_cols=n_cols, vectorised=True, wide=True, n_decay=n_decay)


def _opsin_column(v: np.ndarray, oparams: tuple) -> np.ndarray:
    # the last column: f_v(V)·(V − E), f_v normalised at −70 mV
    p = dict(zip(KERNEL_PARAM_NAMES, oparams))
    return f_v(v, p) * (v - p["E"])


@functools.lru_cache(maxsize=32)
def _packed(desc: ModelDescription, params: tuple, oparams: tuple | None, dt: float) -> tuple[np.ndarray, np.ndarray]:
    t = _build(desc, params, dt)
    n = t.table.shape[0]
    v = V_LO_MV + STEP_MV * np.arange(n)
    layout = gate_layout(desc)
    cols = [t.table[:, t.keys.index(key)] for key in layout.columns]
    if oparams is not None:
        mid = v[:-1] + 0.5 * STEP_MV
        with np.errstate(all="ignore"):
            opsin, opsin_mid = _opsin_column(v, oparams), _opsin_column(mid, oparams)
        _check_interpolation("the opsin's f_v(V)·(V − E)", opsin, opsin_mid, mid)
    cols.append(opsin if oparams is not None else np.zeros(n))
    decays = []
    for k, (_, _, _, decay) in layout.forms.items():  # gate order: the decays' order
        if decay is not None:
            c = float(t.table[0, t.keys.index(f"{desc.states[k - 1].name}.c")])
            decays += [1.0 - c, c]
    return pack_columns(np.column_stack(cols)), np.concatenate([t.scalars, decays])


def packed_table(desc: ModelDescription, params, oparams, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's table of ``desc`` (cached): the columns of :func:`gate_layout` and the opsin's
    f_v(V)·(V − E) (zero when ``oparams`` is None), packed by :func:`._machinery.pack_columns`; and the
    scalars ``[v_lo, 1/h, rows − 2, then (exp(−dt/τ), 1 − exp(−dt/τ)) per gate of constant τ]``."""
    op = tuple(float(x) for x in oparams) if oparams is not None else None
    return _packed(desc, tuple(float(x) for x in params), op, float(dt))


class GeneratedLut:
    """The lookup-table path of a described model: which parameters the tables hold, and its stepper."""

    def __init__(self, desc: ModelDescription, load) -> None:
        self.desc = desc
        self.gate_params = gate_parameters(desc)
        self._load = load  # (stem, source) -> module: the disk cache of solver.models.codegen
        self._modules: dict = {}

    def module(self, dtype):
        """The generated module computing in ``dtype`` (float32, else float64); generated once per instance
        (writing the source costs milliseconds: not per call)."""
        tag = "f32" if np.dtype(dtype) == np.float32 else "f64"
        hit = self._modules.get(tag)
        if hit is None:
            ct = np.float32 if tag == "f32" else np.float64
            hit = self._modules[tag] = self._load(f"lut_{tag}_{self.desc.name}", lut_kernel_source(self.desc, ct))
        return hit

    def stepper(self):
        """A callable with the ``CellModel.kernel`` signature that steps on the tables (fields converted to
        the compute dtype once per distinct input array). Parameters after the description's (a preset's own,
        such as the HEK presets' ``kir_instantaneous``) are not the kernel's: they are left out."""
        desc = self.desc
        n = len(desc.parameters)
        fields = FieldCache()

        def step(ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams, gop, flux,
                 order=1):  # fmt: skip
            params, pidx = np.asarray(params)[:n], np.asarray(pidx)[:n]
            module = self.module(ya.dtype)
            op = oparams if has_opsin else None
            tab, scalars = packed_table(desc, params, op, dt)
            half, half_scalars = packed_table(desc, params, op, 0.5 * dt) if order == 2 else (tab, scalars)
            got = fields.get(module, wx, wy, iext, has_opsin, oparams, gop, flux, ya.dtype)
            return module.kernel_tabulated(ya, yb, n_steps, dt, active, params, pidx, pmaps, has_opsin, oparams,
                                           got, tab, half, scalars, half_scalars, order=order)  # fmt: skip

        return step
