"""Phase maps and phase singularities (spiral-wave tips) with topological charge.

Phase is reconstructed by time-delay embedding (Gray et al., Nature 1998): for each pixel,

    φ(t) = atan2(x(t − τ) − c, x(t) − c),

with c the middle of the pixel's swing, ``(min + max)/2``. It increases with time through every beat (for
x = cos ωt and τ a quarter period it is exactly ωt, the Hilbert phase). τ must be shorter than the action
potential, so that the trajectory circles c; :func:`solver.analysis.analyse` uses half the median APD50.

A singularity sits inside a 2×2 plaquette of pixels around which the phase winds: the charge is the sum of the
four wrapped phase differences, taken counter-clockwise in the (x, y) plane — (i, j) → (i, j+1) → (i+1, j+1)
→ (i+1, j), with i the y index and y increasing with i — divided by 2π. It is +1 when the phase increases
counter-clockwise. Pictures draw y downwards (:mod:`solver.pictures.plot`), so on screen the phase around a +1
singularity increases clockwise. Its position is the plaquette centre. A phase that winds by 2π around four points
cannot keep them all in one half-plane (some step would have to exceed π), so the exact sum is only evaluated where
the points' quadrants are not confined to one or two adjacent quadrants.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._signal import as_movie

__all__ = ["time_delay_phase", "plaquette_charge", "phase_singularities"]

_TWO_PI = 2.0 * math.pi


def time_delay_phase(movie: np.ndarray, *, lag: int, centre: np.ndarray) -> np.ndarray:
    """Phase movie (rad, in (−π, π]) by time-delay embedding with ``lag`` samples; NaN for the first ``lag``.

    Parameters
    ----------
    movie : ndarray, shape (n_t, ny, nx)
        The signal.
    lag : int
        τ in samples, >= 1.
    centre : ndarray (ny, nx)
        The embedding centre c per pixel (NaN where the pixel is not analysed).
    """
    m = as_movie(movie)
    if lag < 1 or lag >= m.shape[0]:
        raise ValueError(f"lag = {lag!r} is out of range: allowed 1 <= lag < {m.shape[0]} (the frame count)")
    out = np.full(m.shape, np.nan, dtype=np.float32)
    out[lag:] = np.arctan2(m[:-lag] - centre, m[lag:] - centre)
    return out


@njit(cache=True, inline="always")
def _wrap(d):  # pragma: no cover - compiled
    return d - _TWO_PI * math.floor(d / _TWO_PI + 0.5)


@njit(cache=True)
def _charge4(p1, p2, p3, p4):  # pragma: no cover - compiled
    total = _wrap(p2 - p1) + _wrap(p3 - p2) + _wrap(p4 - p3) + _wrap(p1 - p4)
    return int(math.floor(total / _TWO_PI + 0.5))


@njit(cache=True)
def _plaquettes(phase):  # pragma: no cover - compiled
    ny, nx = phase.shape
    out = np.zeros((ny - 1, nx - 1), np.int64)
    for i in range(ny - 1):
        for j in range(nx - 1):
            p1, p2, p3, p4 = phase[i, j], phase[i, j + 1], phase[i + 1, j + 1], phase[i + 1, j]
            if math.isfinite(p1) and math.isfinite(p2) and math.isfinite(p3) and math.isfinite(p4):
                out[i, j] = _charge4(p1, p2, p3, p4)
    return out


def plaquette_charge(phase: np.ndarray) -> np.ndarray:
    """Topological charge of every 2×2 plaquette of a phase image (rad): int array ``(ny − 1, nx − 1)``."""
    p = np.asarray(phase, dtype=np.float64)
    if p.ndim != 2 or min(p.shape) < 2:
        raise ValueError(f"phase must be a 2-D image of at least 2×2 pixels; got shape {p.shape}")
    return _plaquettes(p)


@njit(cache=True)
def _quadrant(u, w):  # pragma: no cover - compiled
    if u >= 0.0:
        return 0 if w >= 0.0 else 3
    return 1 if w >= 0.0 else 2


@njit(cache=True)
def _tips(x, lag, c, valid, frames):  # pragma: no cover - compiled
    nt, ny, nx = x.shape
    cap = 64
    rec = np.empty((cap, 4), np.int64)
    n = 0
    quad = np.zeros((ny, nx), np.int64)
    for k in frames:
        for i in range(ny):
            for j in range(nx):
                if valid[i, j]:
                    quad[i, j] = 1 << _quadrant(x[k, i, j] - c[i, j], x[k - lag, i, j] - c[i, j])
        for i in range(ny - 1):
            for j in range(nx - 1):
                if not (valid[i, j] and valid[i, j + 1] and valid[i + 1, j + 1] and valid[i + 1, j]):
                    continue
                bits = quad[i, j] | quad[i, j + 1] | quad[i + 1, j + 1] | quad[i + 1, j]
                if bits in (1, 2, 4, 8, 3, 6, 12, 9):
                    continue  # all four phases in one half-plane: the phase cannot wind here
                ph = np.empty(4)
                for q, (a, b) in enumerate(((i, j), (i, j + 1), (i + 1, j + 1), (i + 1, j))):
                    ph[q] = math.atan2(x[k - lag, a, b] - c[a, b], x[k, a, b] - c[a, b])
                ch = _charge4(ph[0], ph[1], ph[2], ph[3])
                if ch != 0:
                    if n == cap:
                        cap *= 2
                        bigger = np.empty((cap, 4), np.int64)
                        bigger[:n] = rec[:n]
                        rec = bigger
                    rec[n, 0] = k
                    rec[n, 1] = i
                    rec[n, 2] = j
                    rec[n, 3] = ch
                    n += 1
    return rec[:n]


def phase_singularities(movie: np.ndarray, *, lag: int, centre: np.ndarray,
                        frames: np.ndarray | None = None) -> np.ndarray:
    """Phase singularities of a movie, by time-delay phase and plaquette winding.

    Parameters
    ----------
    movie : ndarray, shape (n_t, ny, nx)
        The signal, NaN off tissue.
    lag : int
        τ in samples.
    centre : ndarray (ny, nx)
        Embedding centre per pixel; NaN excludes the pixel (off tissue, or never fired).
    frames : ndarray of int, optional
        Frames to examine (default: every frame from ``lag`` on).

    Returns
    -------
    ndarray of int, shape (n_tips, 4)
        Rows ``(frame, i, j, charge)``: the plaquette with corners (i, j) and (i+1, j+1).
    """
    m = as_movie(movie)
    if lag < 1 or lag >= m.shape[0]:
        raise ValueError(f"lag = {lag!r} is out of range: allowed 1 <= lag < {m.shape[0]} (the frame count)")
    frames = np.arange(lag, m.shape[0]) if frames is None else np.asarray(frames, dtype=np.int64)
    if frames.size and (frames.min() < lag or frames.max() >= m.shape[0]):
        raise ValueError(f"frames must lie in {lag}..{m.shape[0] - 1} (from the lag to the last frame)")
    c = np.asarray(centre, dtype=np.float64)
    valid = np.isfinite(c) & np.all(np.isfinite(m[[0, -1]]), axis=0)
    return _tips(m, int(lag), c, valid, frames.astype(np.int64))
