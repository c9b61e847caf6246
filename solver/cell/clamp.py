"""Current and voltage clamp of one cell, integrated with scipy's stiff solvers at tight tolerances.

The inputs are piecewise constant (steps, pulse trains) or linear (ramps); each piece is integrated on its own
so that the solver never steps across a discontinuity, and the output is sampled from each piece's dense output.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.integrate import solve_ivp

from ._system import CellSystem

__all__ = ["CLAMP_RTOL", "CLAMP_ATOL", "Pulse", "current_clamp", "voltage_clamp_step", "voltage_ramp",
           "pulse_edges", "pulse_value"]

#: Relative and absolute tolerances of every clamp integration (Radau).
CLAMP_RTOL = 1e-8
CLAMP_ATOL = 1e-10


@dataclass(frozen=True)
class Pulse:
    """A rectangular pulse or a train of ``count`` pulses every ``period_ms`` (``period_ms`` 0: one pulse)."""

    start_ms: float
    width_ms: float
    amplitude: float
    period_ms: float = 0.0
    count: int = 1

    def onsets(self) -> np.ndarray:
        n = self.count if self.period_ms > 0 else 1
        return self.start_ms + self.period_ms * np.arange(n)


def pulse_edges(pulses, t_end: float) -> np.ndarray:
    """Sorted times in (0, t_end) where any pulse switches."""
    edges = {0.0, float(t_end)}
    for p in pulses:
        for t0 in p.onsets():
            edges.update((float(t0), float(t0 + p.width_ms)))
    return np.array(sorted(e for e in edges if 0.0 <= e <= t_end))


def pulse_value(pulses, t) -> np.ndarray:
    """Sum of the pulses' amplitudes on at times ``t`` (a pulse is on in [onset, onset + width))."""
    t = np.asarray(t, dtype=np.float64)
    out = np.zeros_like(t)
    for p in pulses:
        for t0 in p.onsets():
            out += np.where((t >= t0) & (t < t0 + p.width_ms), p.amplitude, 0.0)
    return out


def _solve(fun, y0, t0, t1, t_eval):
    # vectorized: the finite-difference Jacobian is one call of the (vectorised) right-hand side
    sol = solve_ivp(fun, (t0, t1), y0, method="Radau", rtol=CLAMP_RTOL, atol=CLAMP_ATOL, dense_output=True,
                    vectorized=True)
    if not sol.success:
        raise RuntimeError(f"the clamp integration failed between {t0:g} and {t1:g} ms: {sol.message}")
    return sol


def current_clamp(
    system: CellSystem,
    y0,
    times,
    *,
    current=(),
    light=(),
    i_hold: float = 0.0,
    irradiance: float = 0.0,
) -> np.ndarray:
    """States (n_state, n_t) of a current-clamped cell at ``times`` (ms, from 0, increasing).

    Parameters
    ----------
    system : CellSystem
        The cell.
    y0 : array_like
        State at t = 0.
    times : array_like
        Sample times (ms).
    current, light : sequence of Pulse
        Injected current pulses (A/F, negative depolarises) and light pulses (mW/mm², added to ``irradiance``).
    i_hold, irradiance : float
        Steady current (A/F) and light (mW/mm²) throughout.
    """
    times = np.asarray(times, dtype=np.float64)
    edges = pulse_edges([*current, *light], float(times[-1]))
    out = np.empty((len(system.state_names), times.size))
    y = np.asarray(y0, dtype=np.float64)
    for t0, t1 in zip(edges[:-1], edges[1:]):
        if t1 <= t0:
            continue
        mid = np.array([0.5 * (t0 + t1)])
        i_ext = i_hold + float(pulse_value(current, mid)[0])
        irr = irradiance + float(pulse_value(light, mid)[0])
        sol = _solve(lambda t, s: system.rhs(s, i_ext=i_ext, irradiance=irr), y, t0, t1, None)
        sel = (times >= t0) & ((times < t1) | ((t1 == edges[-1]) & (times <= t1)))
        if sel.any():
            out[:, sel] = sol.sol(times[sel])
        y = sol.y[:, -1]
    return out


def voltage_clamp_step(
    system: CellSystem,
    segments,
    times,
    *,
    irradiance: float = 0.0,
    light=(),
    peak_window: tuple[float, float] | None = None,
) -> tuple[np.ndarray, dict[str, float]]:
    """A voltage-clamp sweep of constant potentials, from the steady state at the first one (under the
    steady light).

    Parameters
    ----------
    system : CellSystem
        The cell.
    segments : sequence of (duration_ms, v_mv)
        The command potential, piece by piece.
    times : array_like
        Sample times (ms, from 0).
    irradiance : float
        Steady light (mW/mm²).
    light : sequence of Pulse
        Light pulses (mW/mm², added to ``irradiance``): photocurrents under clamp.
    peak_window : (t0, t1), optional
        Where each channel's peak (the value of largest magnitude) is sought; located to 1e-9 ms on the
        dense output, not only at the samples.

    Returns
    -------
    states : np.ndarray
        (n_state, n_t), with the clamped potential in the V row.
    peaks : dict
        Channel -> signed peak current (A/F) in ``peak_window`` (``i_total`` included); empty without a window.
    """
    times = np.asarray(times, dtype=np.float64)
    y = system.steady_state(np.float64(segments[0][1]), irradiance)
    out = np.empty((len(system.state_names), times.size))
    # pieces of constant command and constant light: the command's segments cut at the light's edges
    starts = np.cumsum([0.0, *[d for d, _ in segments]])
    t_end = float(starts[-1])
    cuts = np.union1d(starts, pulse_edges(light, t_end))
    pieces = []
    for t0, t1 in zip(cuts[:-1], cuts[1:]):
        if t1 <= t0:
            continue
        mid = 0.5 * (t0 + t1)
        v = segments[min(int(np.searchsorted(starts, mid, side="right")) - 1, len(segments) - 1)][1]
        irr = irradiance + float(pulse_value(light, np.array([mid]))[0])
        sol = _solve(lambda t, s, v=v, irr=irr: system.rhs(s, v_clamp=v, irradiance=irr), y, t0, t1, None)
        sel = (times >= t0) & ((times < t1) | ((t1 == t_end) & (times <= t1)))
        if sel.any():
            out[:, sel] = sol.sol(times[sel])
            out[system.v_index, sel] = v
        y = sol.y[:, -1].copy()
        pieces.append((t0, t1, v, sol))
    peaks: dict[str, float] = {}
    if peak_window is not None:
        for t_a, t_b, v, sol in pieces:
            lo, hi = max(t_a, peak_window[0]), min(t_b, peak_window[1])
            if hi > lo:
                for name, value in _peaks(system, sol, v, lo, hi).items():
                    if abs(value) > abs(peaks.get(name, 0.0)):
                        peaks[name] = value
                    peaks.setdefault(name, value)
    return out, peaks


def _channel(system: CellSystem, sol, v: float, t) -> dict[str, np.ndarray]:
    y = np.atleast_2d(sol.sol(np.atleast_1d(t)).T).T.copy()
    y[system.v_index] = v
    cur = system.currents(y)
    cur["i_total"] = sum(cur.values())
    return cur


def _peaks(system: CellSystem, sol, v: float, lo: float, hi: float) -> dict[str, float]:
    grid = np.linspace(lo, hi, 2001)
    values = _channel(system, sol, v, grid)
    peaks = {}
    for name, trace in values.items():
        k = int(np.argmax(np.abs(trace)))
        a, b = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
        if 0 < k < grid.size - 1:
            sign = np.sign(trace[k]) or 1.0
            res = optimize.minimize_scalar(lambda t: -sign * float(_channel(system, sol, v, t)[name][0]),
                                           bounds=(a, b), method="bounded", options={"xatol": 1e-9})
            peaks[name] = float(_channel(system, sol, v, res.x)[name][0])
        else:
            peaks[name] = float(trace[k])
    return peaks


def voltage_ramp(
    system: CellSystem, v_from: float, v_to: float, duration_ms: float, times, *, irradiance: float = 0.0
) -> np.ndarray:
    """States (n_state, n_t) under a linear ramp of the command from ``v_from`` to ``v_to`` (mV) over
    ``duration_ms``, starting from the steady state at ``v_from``."""
    times = np.asarray(times, dtype=np.float64)
    rate = (v_to - v_from) / duration_ms
    y0 = system.steady_state(np.float64(v_from), irradiance)
    sol = _solve(lambda t, s: system.rhs(s, v_clamp=v_from + rate * t, irradiance=irradiance), y0, 0.0,
                 duration_ms, None)
    out = sol.sol(times)
    out[system.v_index] = v_from + rate * times
    return out
