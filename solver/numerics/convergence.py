"""Time-step convergence on a 1-D cable: the kernels against an implicit solve of the same cable.

A cable is one row of ``n`` cells at spacing ``dx_um`` with no-flux ends, stimulated by a current
pulse on its first cells. The same discrete equations (the 3-point coupling of the kernels, the
physics functions of :mod:`solver.models.hek` or :mod:`solver.models.generic`) are integrated by
scipy's BDF with tight tolerances: the dt -> 0 limit at that dx, the reference of the
convergence test (tests/solver/test_convergence.py), of ``benchmarks/convergence.py`` and of the
error model of ``validate`` (:mod:`solver.spec._accuracy`).

Measured on a run: the conduction velocity between two probe cells (activation = the upward
crossing of a threshold, interpolated linearly between samples), the largest dV/dt at the middle
probe and its APD90 (from the activation to the last crossing of 90 % repolarisation).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import solve_ivp
from scipy.sparse import lil_matrix

from ..models import generic, get_model, hek

__all__ = ["Cable", "CableMeasures", "run_kernel", "run_bdf"]


@dataclass(frozen=True)
class Cable:
    """A 1-D cable and its stimulus (units of the model: ms, µm, mV for HEK)."""

    model: str = "hek_gokhale2017_35c"
    n: int = 100
    dx_um: float = 10.0
    diffusivity_um2_per_ms: float = 1000.0
    stim_cells: int = 10
    stim_amplitude: float = -200.0      # A/F (model units for generic media)
    stim_ms: float = 1.0                # the pulse starts at t = 0
    t_end_ms: float = 40.0
    probes: tuple[int, int] = (30, 70)  # CV between these cells; dV/dt and APD90 at their middle
    threshold: float = -20.0            # activation: upward crossing (mV for HEK)
    parameters: dict = field(default_factory=dict)

    @property
    def middle(self) -> int:
        return (self.probes[0] + self.probes[1]) // 2


@dataclass(frozen=True)
class CableMeasures:
    """What a cable run gives: CV (cm/s for HEK; model units per unit time otherwise), max dV/dt
    (V/s for HEK) and APD90 (ms; NaN where the cell did not repolarise within the run)."""

    cv: float
    max_dvdt: float
    apd90: float
    activation: tuple[float, float]

    def errors(self, ref: "CableMeasures") -> dict[str, float]:
        """Relative errors against ``ref`` (signed)."""
        return {k: getattr(self, k) / getattr(ref, k) - 1.0 for k in ("cv", "max_dvdt", "apd90")}


def _crossing_up(t: np.ndarray, v: np.ndarray, level: float) -> float:
    k = np.flatnonzero((v[:-1] < level) & (v[1:] >= level))
    if k.size == 0:
        return float("nan")
    k = int(k[0])
    return float(t[k] + (level - v[k]) * (t[k + 1] - t[k]) / (v[k + 1] - v[k]))


def _apd90(t: np.ndarray, v: np.ndarray, t_act: float, v_rest: float) -> float:
    k_peak = int(np.argmax(v))
    level = v_rest + 0.1 * (v[k_peak] - v_rest)
    after = np.flatnonzero((v[k_peak:-1] >= level) & (v[k_peak + 1:] < level))
    if after.size == 0:
        return float("nan")  # never repolarised within the run
    k = k_peak + int(after[0])
    t_rep = t[k] + (level - v[k]) * (t[k + 1] - t[k]) / (v[k + 1] - v[k])
    return float(t_rep - t_act)


def _measures(c: Cable, t: np.ndarray, v: np.ndarray, dvdt: np.ndarray, v_rest: float) -> CableMeasures:
    """``v`` (3, n_t): the two probes and the middle; ``dvdt`` (n_t,) at the middle."""
    t1 = _crossing_up(t, v[0], c.threshold)
    t2 = _crossing_up(t, v[1], c.threshold)
    dist = (c.probes[1] - c.probes[0]) * c.dx_um
    scale = 0.1 if not get_model(c.model).dimensionless else 1.0  # µm/ms -> cm/s
    tm = _crossing_up(t, v[2], c.threshold)
    return CableMeasures(
        cv=float(dist / (t2 - t1) * scale),
        max_dvdt=float(np.max(dvdt)),
        apd90=_apd90(t, v[2], tm, v_rest),
        activation=(t1, t2),
    )


def _setup(c: Cable):
    model = get_model(c.model)
    params = model.params_array(c.parameters)
    rest = model.rest_state(c.parameters)
    y0 = np.array([rest[s] for s in model.state_names], dtype=np.float64)
    return model, params, y0


def run_kernel(c: Cable, dt: float, *, order: int, lookup_tables: bool = False) -> CableMeasures:
    """The cable through a kernel (exact, or lookup tables for HEK), one step per call."""
    model, params, y0 = _setup(c)
    n = c.n
    ya = np.repeat(y0[:, None, None], n, axis=2).copy()
    yb = ya.copy()
    w = c.diffusivity_um2_per_ms / c.dx_um**2
    wx = np.full((1, n), w)
    wx[0, -1] = 0.0
    wy = np.zeros((1, n))
    active = np.ones((1, n), np.uint8)
    pidx = np.full(params.size, -1, np.int64)
    pmaps = np.zeros((0, 1, n))
    on = np.zeros((1, n))
    on[0, : c.stim_cells] = c.stim_amplitude
    off = np.zeros((1, n))
    zero = np.zeros((1, n))
    step = model.lookup_tables.stepper() if lookup_tables else model.kernel
    n_on = int(round(c.stim_ms / dt))
    n_end = int(round(c.t_end_ms / dt))
    idx = [c.probes[0], c.probes[1], c.middle]
    v = np.empty((3, n_end + 1))
    v[:, 0] = ya[0, 0, idx]
    for k in range(n_end):
        iext = on if k < n_on else off
        if step(ya, yb, 1, dt, wx, wy, active, params, pidx, pmaps, iext, False, np.zeros(10), zero, zero,
                order=order):  # fmt: skip
            ya, yb = yb, ya
        v[:, k + 1] = ya[0, 0, idx]
    t = dt * np.arange(n_end + 1)
    dvdt = np.diff(v[2]) / dt  # mV/ms = V/s
    return _measures(c, t, v, np.concatenate([dvdt, [dvdt[-1]]]), float(y0[0]))


def _rhs_factory(c: Cable):
    model, params, y0 = _setup(c)
    n, ns = c.n, model.n_state
    p = dict(zip(model.param_names, params))
    w = c.diffusivity_um2_per_ms / c.dx_um**2
    names = model.state_names

    def coupling(v):
        out = np.zeros_like(v)
        out[:-1] += w * (v[1:] - v[:-1])
        out[1:] += w * (v[:-1] - v[1:])
        return out

    def rhs(t, y, amp):
        s = {name: y[k * n:(k + 1) * n] for k, name in enumerate(names)}
        iext = np.zeros(n)
        iext[: c.stim_cells] = amp
        out = np.empty_like(y)
        if model.dimensionless:
            out[:n] = coupling(s["u"]) - generic.ionic_current(c.model, s, p) - iext
            if ns > 1:
                out[n:] = generic.recovery_rate(c.model, s, p)
            return out
        v = s["v"]
        out[:n] = coupling(v) - hek.ionic_current(s, p) - iext
        inf, tau = hek.gate_steady_states(v, p), hek.gate_time_constants(v, p)
        for k, name in enumerate(names[1:], start=1):
            out[k * n:(k + 1) * n] = (inf[name] - s[name]) / tau[name]
        return out

    sparsity = lil_matrix((ns * n, ns * n), dtype=np.int8)
    for i in range(n):
        for a in range(ns):
            for b in range(ns):
                sparsity[a * n + i, b * n + i] = 1
        for j in (i - 1, i + 1):
            if 0 <= j < n:
                sparsity[i, j] = 1
    return model, rhs, np.repeat(y0, n), sparsity.tocsr(), float(y0[0])


def run_bdf(c: Cable, *, rtol: float = 1e-8, atol: float = 1e-10, sample_ms: float = 0.001) -> CableMeasures:
    """The cable by scipy's BDF (the dt -> 0 limit at this dx); V and dV/dt sampled from its dense
    output every ``sample_ms``."""
    model, rhs, y, sparsity, v_rest = _rhs_factory(c)
    n = c.n
    idx = [c.probes[0], c.probes[1], c.middle]
    ts, vs, dvs = [], [], []
    for t0, t1, amp in ((0.0, c.stim_ms, c.stim_amplitude), (c.stim_ms, c.t_end_ms, 0.0)):
        sol = solve_ivp(rhs, (t0, t1), y, method="BDF", rtol=rtol, atol=atol, jac_sparsity=sparsity,
                        dense_output=True, args=(amp,))  # fmt: skip
        if not sol.success:
            raise RuntimeError(f"the BDF reference failed: {sol.message}")
        tt = np.linspace(t0, t1, max(2, int(round((t1 - t0) / sample_ms)) + 1))
        yy = sol.sol(tt)
        ts.append(tt[:-1])
        vs.append(yy[idx, :-1])
        dvs.append(np.gradient(yy[c.middle], tt)[:-1])  # second-order differences of the dense output
        y = sol.y[:, -1]
    t, v, dvdt = np.concatenate(ts), np.concatenate(vs, axis=1), np.concatenate(dvs)
    return _measures(c, t, v, dvdt, v_rest)
