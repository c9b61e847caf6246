"""Steady states of one cell: the steady-state I-V, its fixed points with their stability, and their
continuation in one parameter.

Every variable of the models but V has a single steady state at a given V (and light), so the fixed points of the
full system are the states :meth:`CellSystem.steady_state` at the zeros of the steady-state I-V, I_ss(V) + I_ext.
Their stability is read from the eigenvalues of the full system's Jacobian (central finite differences), not from
the slope of the I-V, which decides it only when every other variable is fast.

Continuation follows the zero set of F(V, λ) = I_ss(V; λ) + I_ext on a grid of λ rather than by pseudo-arclength
on the full system: at each λ every zero in the potential window is found by bracketing (so branches that are not
connected to the start are found too), and the saddle-nodes are the folds of that curve, where F = ∂F/∂V = 0 —
these are exactly the zeros of the full Jacobian's determinant, which equals −∂F/∂V times the (nonzero) product
of the other variables' relaxation rates. A fold is located to ~1e-10 by root-finding on the value of F at its
local extremum in V as λ varies. A stability change on a branch through a complex pair of eigenvalues is a Hopf
point, located where the pair's real part crosses zero (what grows there, a limit cycle, is for the clamp to show).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from ._system import CellSystem

__all__ = ["Continuation", "FixedPoint", "continuation", "default_v_window", "fixed_points", "jacobian",
           "steady_iv"]


def default_v_window(system: CellSystem) -> tuple[float, float, float]:
    """Potential window and grid step searched for fixed points: (-150, 100, 0.05) mV for HEK models,
    (-3, 3, 0.001) model units for the dimensionless media."""
    return (-150.0, 100.0, 0.05) if not system.dimensionless else (-3.0, 3.0, 0.001)


def steady_iv(system: CellSystem, v, *, irradiance: float = 0.0) -> dict[str, np.ndarray]:
    """The steady-state I-V: each membrane current (A/F) at each potential ``v`` with every other variable at
    steady state, and their sum ``i_total``."""
    y = system.steady_state(np.asarray(v, dtype=np.float64), irradiance)
    out = system.currents(y)
    out["i_total"] = sum(out.values())
    return out


def jacobian(system: CellSystem, y, *, i_ext: float = 0.0, irradiance: float = 0.0) -> np.ndarray:
    """∂(dy/dt)/∂y of the full system at state ``y`` (central differences, step 1e-6 relative)."""
    y = np.asarray(y, dtype=np.float64)
    n = y.size
    steps = 1e-6 * np.maximum(1.0, np.abs(y))
    plus = y[:, None] + np.diag(steps)
    minus = y[:, None] - np.diag(steps)
    f = system.rhs(np.concatenate([plus, minus], axis=1), i_ext=i_ext, irradiance=irradiance)
    return (f[:, :n] - f[:, n:]) / (2.0 * steps[None, :])


@dataclass(frozen=True)
class FixedPoint:
    """A fixed point of one cell.

    Attributes
    ----------
    v : float
        Potential (mV).
    state : np.ndarray
        Full state.
    eigenvalues : np.ndarray
        Of the full Jacobian (1/ms), sorted by decreasing real part.
    slope : float
        dI_ss/dV there (nS/pF); the slope rule calls a zero stable when it is positive.
    """

    v: float
    state: np.ndarray
    eigenvalues: np.ndarray
    slope: float

    @property
    def stable(self) -> bool:
        """Every eigenvalue has a negative real part."""
        return bool(self.eigenvalues.real.max() < 0.0)


def _zeros(f: Callable[[np.ndarray], np.ndarray], grid: np.ndarray) -> list[float]:
    values = f(grid)
    roots = [float(grid[k]) for k in np.flatnonzero(values == 0.0)]
    for k in np.flatnonzero(values[:-1] * values[1:] < 0.0):
        roots.append(optimize.brentq(lambda x: float(f(np.array(x))), grid[k], grid[k + 1], xtol=1e-12))
    return sorted(roots)


def fixed_points(
    system: CellSystem,
    *,
    irradiance: float = 0.0,
    i_ext: float = 0.0,
    v_window: tuple[float, float, float] | None = None,
) -> list[FixedPoint]:
    """Every fixed point with its potential in the window, lowest first.

    Parameters
    ----------
    system : CellSystem
        The cell.
    irradiance : float
        Steady light (mW/mm²).
    i_ext : float
        Steady injected current (A/F; negative depolarises).
    v_window : (low, high, step), optional
        Where zeros of the steady-state I-V are bracketed (default :func:`default_v_window`).
    """
    lo, hi, step = v_window or default_v_window(system)
    grid = np.arange(lo, hi + 0.5 * step, step)
    out = []
    for v in _zeros(lambda x: system.steady_current(x, irradiance=irradiance, i_ext=i_ext), grid):
        y = system.steady_state(np.float64(v), irradiance)
        eig = np.linalg.eigvals(jacobian(system, y, i_ext=i_ext, irradiance=irradiance))
        eig = eig[np.argsort(-eig.real)]
        h = 1e-6 if system.dimensionless else 1e-4   # mV: well above roundoff, well below curvature
        slope = float((system.steady_current(v + h, irradiance=irradiance)
                       - system.steady_current(v - h, irradiance=irradiance)) / (2 * h))
        out.append(FixedPoint(float(v), y, eig, slope))
    return out


@dataclass(frozen=True)
class Continuation:
    """Fixed points along one parameter.

    Attributes
    ----------
    parameter : str
        What was varied.
    values : np.ndarray
        The parameter grid.
    points : np.ndarray
        (n, 3): parameter value, V (mV), stable (1.0) or not (0.0) of every fixed point found.
    saddle_nodes : np.ndarray
        (n_sn, 2): parameter value and V of every fold.
    bistable_windows : np.ndarray
        (n_w, 2): parameter intervals where two or more stable fixed points coexist, bounded by folds (or by the
        grid's end, where the window runs past it).
    hopf_points : np.ndarray
        (n_h, 2): parameter value and V where a fixed point changes stability through a complex pair of
        eigenvalues (a Hopf point), located where the pair's real part crosses zero.
    """

    parameter: str
    values: np.ndarray
    points: np.ndarray
    saddle_nodes: np.ndarray
    bistable_windows: np.ndarray
    hopf_points: np.ndarray


def continuation(
    parameter: str,
    values,
    at: Callable[[float], tuple[CellSystem, float, float]],
    *,
    v_window: tuple[float, float, float] | None = None,
) -> Continuation:
    """Fixed points of the cell ``at(λ)`` for each λ of ``values``, folds and bistable windows.

    Parameters
    ----------
    parameter : str
        Name of λ (for the record).
    values : array_like
        Increasing grid of λ.
    at : callable
        λ -> (system, irradiance, i_ext): the cell and its steady inputs at λ.
    v_window : (low, high, step), optional
        Where zeros are bracketed (default :func:`default_v_window` of the first system).
    """
    values = np.asarray(values, dtype=np.float64)
    window = v_window or default_v_window(at(float(values[0]))[0])
    grid = np.arange(window[0], window[1] + 0.5 * window[2], window[2])

    def F(lam: float, v):
        system, irr, i_ext = at(lam)
        return system.steady_current(v, irradiance=irr, i_ext=i_ext)

    def fps_at(lam: float) -> list[FixedPoint]:
        system, irr, i_ext = at(lam)
        return fixed_points(system, irradiance=irr, i_ext=i_ext, v_window=window)

    points, n_stable, curves, found = [], [], [], []
    for lam in values:
        fps = fps_at(float(lam))
        points += [(lam, fp.v, float(fp.stable)) for fp in fps]
        n_stable.append(sum(fp.stable for fp in fps))
        curves.append(F(float(lam), grid))
        found.append(fps)
    folds: list[tuple[int, float, float]] = []   # (interval index, λ, V)
    for k in range(len(values) - 1):
        folds += [(k, *fold) for fold in _folds_between(F, values[k], values[k + 1], grid, curves[k], curves[k + 1])]
    hopf = []
    for k in range(len(values) - 1):
        hopf += _hopfs_between(fps_at, values[k], values[k + 1], found[k], found[k + 1])
    windows = []
    bistable = np.array(n_stable) >= 2
    for run in _runs(bistable):
        i, j = run
        lo = next((lam for k, lam, _ in folds if k == i - 1), values[i]) if i > 0 else values[i]
        hi = next((lam for k, lam, _ in folds if k == j), values[j]) if j < len(values) - 1 else values[j]
        windows.append((lo, hi))
    return Continuation(
        parameter=parameter, values=values, points=np.array(points, dtype=np.float64).reshape(-1, 3),
        saddle_nodes=np.array([(lam, v) for _, lam, v in folds], dtype=np.float64).reshape(-1, 2),
        hopf_points=np.array(hopf, dtype=np.float64).reshape(-1, 2),
        bistable_windows=np.array(windows, dtype=np.float64).reshape(-1, 2),
    )


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    out, start = [], None
    for k, on in enumerate(mask):
        if on and start is None:
            start = k
        if not on and start is not None:
            out.append((start, k - 1))
            start = None
    if start is not None:
        out.append((start, len(mask) - 1))
    return out


def _extrema(curve: np.ndarray) -> np.ndarray:
    """Grid indices of the local extrema of a sampled curve."""
    d = np.diff(curve)
    return np.flatnonzero(d[:-1] * d[1:] < 0.0) + 1


def _folds_between(F, lam_a: float, lam_b: float, grid: np.ndarray, curve_a: np.ndarray, curve_b: np.ndarray):
    """Folds with λ in (lam_a, lam_b): a local extremum of F(·, λ) whose value changes sign there."""
    out = []
    ext_b = _extrema(curve_b)
    for ia in _extrema(curve_a):
        if not ext_b.size:
            break
        ib = ext_b[np.argmin(np.abs(ext_b - ia))]
        if abs(ib - ia) > 20 or curve_a[ia] * curve_b[ib] > 0.0:
            continue
        is_max = curve_a[ia] > curve_a[ia - 1]
        lo_i, hi_i = max(0, min(ia, ib) - 20), min(grid.size - 1, max(ia, ib) + 20)

        def extremum(lam: float) -> tuple[float, float]:
            sign = -1.0 if is_max else 1.0
            res = optimize.minimize_scalar(lambda v: sign * float(F(lam, np.array(v))), bounds=(grid[lo_i], grid[hi_i]),
                                           method="bounded", options={"xatol": 1e-9})
            return float(res.x), float(F(lam, np.array(res.x)))

        g_a, g_b = extremum(lam_a)[1], extremum(lam_b)[1]
        if g_a * g_b > 0.0:
            continue
        lam = optimize.brentq(lambda x: extremum(x)[1], lam_a, lam_b, xtol=1e-12, rtol=1e-12)
        out.append((float(lam), extremum(lam)[0]))
    return out


def _hopfs_between(fps_at, lam_a: float, lam_b: float, fps_a, fps_b) -> list[tuple[float, float]]:
    """Hopf points with λ in (lam_a, lam_b): the same branch (same count of fixed points, same order) changes
    stability while its leading eigenvalues are a complex pair."""
    out = []
    if len(fps_a) != len(fps_b):
        return out
    for i, (a, b) in enumerate(zip(fps_a, fps_b)):
        if a.stable == b.stable or not (abs(a.eigenvalues[0].imag) > 0 and abs(b.eigenvalues[0].imag) > 0):
            continue

        def lead(lam: float, i=i) -> float:
            fps = fps_at(lam)
            return float(fps[i].eigenvalues.real.max()) if len(fps) == len(fps_a) else np.nan

        lam = optimize.brentq(lead, lam_a, lam_b, xtol=1e-12, rtol=1e-10)
        out.append((float(lam), fps_at(lam)[i].v))
    return out
