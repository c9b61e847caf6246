"""Lookup tables over V for the HEK gate coefficients (the standard technique of cardiac simulators).

Every voltage-dependent coefficient of one Rush–Larsen step is tabulated once per (parameters, dt) on
a uniform grid of V and linearly interpolated by the kernel. With ``c = 1 − exp(−dt/τ(V))`` a gate
steps as ``x + (x∞ − x)·c``; where two gates share x∞ (h1/h2, n1/n2) the table holds x∞ and both c,
where τ is constant (o, p, b) only ``B = x∞·c`` varies (``x_new = a·x + B``, a = 1 − c a scalar),
and m uses (c, B): twelve columns in all. The tables are built from the physics functions of
:mod:`hek` and :mod:`solver.models.opsin` (never from kernel code), so the lookup-table path and the exact
path share one definition of the model. Tabulating c rather than 1 − c keeps a slow gate's rate
exact to the last digit of its storage (1 − c is within 1e-4 of 1 for τ of hundreds of ms).

Layout: ``table[k, 0, j]`` is column ``j`` at ``V_k = v_lo + k·h`` and ``table[k, 1, j]`` its slope
to the next row, so one interpolation is one multiply-add within one row of the table. The kernel
reads :meth:`HekTable.packed`: each (value, slope) pair as two float32 in one 64-bit word, one
gathered load per column and cell-step. Their rounding (relative 6e-8) is far below the error of
the interpolation itself (~1e-5 at 0.1 mV), in float64 runs too.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from . import hek

__all__ = [
    "COLUMNS",
    "N_COLS",
    "V_LO_MV",
    "V_HI_MV",
    "STEP_MV",
    "HekTable",
    "GATE_PARAMS",
    "hek_table",
]

#: Tabulated range and spacing (mV). Outside the range the kernel clamps to the end rows: beyond
#: ±200 mV the run is already blowing up (the run loop stops at 500 mV).
V_LO_MV = -200.0
V_HI_MV = 200.0
STEP_MV = 0.1

#: Column order (the kernel's L_* indices follow it); ``opsin_drive`` is f_v(V)·(V − E) (mV), so that
#: I_opsin = g·O·opsin_drive.
COLUMNS = ("m_c", "m_b", "h_inf", "h1_c", "h2_c", "n_inf", "n1_c", "n2_c", "o_b", "p_b", "b_b",
           "opsin_drive")  # fmt: skip
N_COLS = len(COLUMNS)

#: HEK parameters the tables depend on: a map of any of them needs the exact kernel.
GATE_PARAMS = ("Vm1", "Vm2", "a_m", "b_m", "V_h", "k_h", "a1", "b1", "c1", "a2", "c2", "V_n",
               "p1", "p2", "p3", "q1", "q2", "q3", "tau_o", "tau_p", "V_p", "V_b", "k_b", "tau_b",
               "kir_instantaneous")  # fmt: skip


@dataclass(frozen=True, eq=False)  # hashed by identity: the packing cache keys on it
class HekTable:
    """A table and its grid: ``x = (V − v_lo)·inv_h`` clamped to ``[0, x_hi]`` picks the row.

    ``constant_decay`` holds a = exp(−dt/τ) of the gates with constant τ (o, p, b).
    """

    table: np.ndarray  # (n_rows, 2, N_COLS) float64
    v_lo: float
    inv_h: float
    x_hi: float
    constant_decay: tuple[float, float, float]

    def scalars(self, dtype) -> np.ndarray:
        """``[v_lo, inv_h, x_hi, a_o, a_p, a_b]`` in ``dtype`` (the kernel's ``lut_scalars``)."""
        return np.array([self.v_lo, self.inv_h, self.x_hi, *self.constant_decay], dtype=dtype)

    def packed(self) -> np.ndarray:
        """The table as the kernel reads it (cached): ``(n_rows·N_COLS,)`` uint64, entry ``k·N_COLS + j``
        holding column ``j`` of row ``k`` as float32 in its low 32 bits and its slope to row ``k + 1``
        as float32 in its high 32 bits (the slope between the rounded values, so that an
        interpolation at the far end lands on the next row's stored value)."""
        return _pack(self)


def _opsin_drive(v: np.ndarray, oparams: tuple[float, ...]) -> np.ndarray:
    from .opsin import HOLDING_POTENTIAL_MV, KERNEL_PARAM_NAMES, f_v

    p = dict(zip(KERNEL_PARAM_NAMES, oparams))
    assert HOLDING_POTENTIAL_MV == -70.0  # the kernels normalise at -70 mV
    return f_v(v, p) * (v - p["E"])


@functools.lru_cache(maxsize=16)
def _build(params: tuple[float, ...], oparams: tuple[float, ...], dt: float, v_lo: float, v_hi: float,
           h: float) -> HekTable:  # fmt: skip
    n = int(round((v_hi - v_lo) / h)) + 1
    v = v_lo + h * np.arange(n)
    p = dict(zip(hek.HEK_PARAM_NAMES, params))
    inf = hek.gate_steady_states(v, p)
    tau = hek.gate_time_constants(v, p)
    c = {gate: -np.expm1(-dt / tau[gate]) for gate in hek.HEK_STATE_NAMES[1:]}
    col = {
        "m_c": c["m"], "m_b": inf["m"] * c["m"], "h_inf": inf["h1"], "h1_c": c["h1"], "h2_c": c["h2"],
        "n_inf": inf["n1"], "n1_c": c["n1"], "n2_c": c["n2"], "o_b": inf["o"] * c["o"], "p_b": inf["p"] * c["p"],
        "b_b": inf["b"] * c["b"], "opsin_drive": _opsin_drive(v, oparams) if oparams else np.zeros(n),
    }  # fmt: skip
    values = np.stack([col[name] for name in COLUMNS], axis=1)
    table = np.zeros((n, 2, N_COLS))
    table[:, 0] = values
    table[:-1, 1] = np.diff(values, axis=0)
    table.setflags(write=False)
    decay = tuple(float(1.0 - c[gate][0]) for gate in ("o", "p", "b"))
    return HekTable(table, v_lo, 1.0 / h, float(n - 1), decay)


@functools.lru_cache(maxsize=16)
def _pack(t: HekTable) -> np.ndarray:
    value = t.table[:, 0].astype(np.float32)
    slope = np.zeros_like(value)
    slope[:-1] = np.diff(value.astype(np.float64), axis=0).astype(np.float32)
    bits = lambda a: a.view(np.uint32).astype(np.uint64)  # noqa: E731
    out = (bits(value) | (bits(slope) << np.uint64(32))).reshape(-1)
    out.setflags(write=False)
    return out


def hek_table(params: np.ndarray, oparams: np.ndarray | None, dt: float, *, v_lo: float = V_LO_MV,
              v_hi: float = V_HI_MV, h: float = STEP_MV) -> HekTable:  # fmt: skip
    """The (cached) lookup table of a HEK parameter set, opsin parameters and time step ``dt`` (ms).

    ``oparams`` None (no opsin) leaves the opsin column at zero. Tables are cached per argument set,
    so a run and its resumed pieces share one table (bit-exact resume).
    """
    op = tuple(float(x) for x in oparams) if oparams is not None else ()
    return _build(tuple(float(x) for x in params), op, float(dt), float(v_lo), float(v_hi), float(h))
