"""The headline figures of the ring and spiral examples, measured on a run's result, and the
Richardson extrapolation that turns runs at dt, dt/2 (and dt/4) into the dt -> 0 limit.

Used by ``benchmarks/examples_convergence.py`` (the full examples, measured once) and by
tests/solver/test_examples_headlines.py (reduced examples, on every run of the suite).
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

__all__ = ["upstrokes", "ring_period", "beat_period", "spiral_figures", "richardson"]

#: Upstroke level of HEK action potentials (mV): mid-swing between rest (-74) and peak (+40).
UPSTROKE_MV = -20.0


def upstrokes(trace: np.ndarray, time_ms: np.ndarray, level: float = UPSTROKE_MV) -> np.ndarray:
    """Times (ms) of every upward crossing of ``level``, interpolated linearly between samples."""
    v = np.asarray(trace, dtype=np.float64)
    t = np.asarray(time_ms, dtype=np.float64)
    k = np.flatnonzero((v[:-1] < level) & (v[1:] >= level))
    return t[k] + (level - v[k]) * (t[k + 1] - t[k]) / (v[k + 1] - v[k])


def ring_period(ds: xr.Dataset, center_um: tuple[float, float], radius_um: float,
                angles_deg: tuple[float, ...] = (0.0, 90.0, 180.0, 270.0)) -> float:  # fmt: skip
    """The circulation period (ms) of a wave on a ring: at probes on the circle of ``radius_um``
    around ``center_um`` (x, y), the last interval between upstrokes, averaged over the probes
    (the last, for the period the ring settles to); NaN where a probe saw fewer than two beats."""
    t = ds["time"].values
    last = []
    for a in angles_deg:
        x = center_um[0] + radius_um * math.cos(math.radians(a))
        y = center_um[1] + radius_um * math.sin(math.radians(a))
        up = upstrokes(ds["v"].sel(x=x, y=y, method="nearest").values, t)
        if up.size < 2:
            return math.nan
        last.append(up[-1] - up[-2])
    return float(np.mean(last))


def beat_period(ds: xr.Dataset, t0: float, t1: float, *, stride: int = 4) -> float:
    """The median over the sheet (every ``stride``-th pixel each way) of the mean interval (ms)
    between upstrokes in [t0, t1], interpolated between samples; NaN where no pixel beat twice."""
    t = ds["time"].values
    v = ds["v"].transpose("time", "y", "x").values[:, ::stride, ::stride]
    per = []
    for trace in v.reshape(v.shape[0], -1).T:
        up = upstrokes(trace, t)
        up = up[(up >= t0) & (up <= t1)]
        if up.size >= 2:
            per.append((up[-1] - up[0]) / (up.size - 1))
    return float(np.median(per)) if per else math.nan


def spiral_figures(ds: xr.Dataset, *, max_gap_ms: float = 15.0) -> dict[str, float]:
    """The longest-lived spiral of a run (tips of analyse(), gaps up to ``max_gap_ms`` bridged):
    ``formed_ms`` and ``last_ms``, its first and last sample with a tip, ``lifetime_ms`` between
    them (cut short by the run's end where ``last_ms`` is its last sample) and ``period_ms``, the
    beat period of the sheet while it turned (:func:`beat_period`); NaN where no spiral formed."""
    from ..analysis import analyse
    from ..analysis.metrics import spiral_persistence

    r = analyse(ds, frequency=False)
    tips = r["spiral_tip_time"].values if "spiral_tip_time" in r else np.zeros(0)
    life, _ = spiral_persistence(tips, ds["time"].values, max_gap_ms)
    if tips.size == 0:
        return {"formed_ms": math.nan, "last_ms": math.nan, "lifetime_ms": 0.0, "period_ms": math.nan}
    seen = np.unique(tips)
    # the stretch spiral_persistence chose: the one of that length
    ends = [t for t in seen if np.any(np.isclose(seen, t - life))]
    last = float(ends[0])
    formed = last - life
    return {"formed_ms": formed, "last_ms": last, "lifetime_ms": life,
            "period_ms": beat_period(ds, formed, last)}  # fmt: skip


def richardson(coarse: float, fine: float, order: int) -> float:
    """The dt -> 0 limit from figures at dt and dt/2 of a scheme of ``order``."""
    return fine + (fine - coarse) / (2**order - 1)
