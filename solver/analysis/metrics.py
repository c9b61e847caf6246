"""Summary metrics of one run: a few numbers that say what the run did (for sweeps and design searches).

Each metric is one number per run (``activation_time``: one per probe point), NaN when it is undefined for that
run (no wave, no beat). Names, units and options:

=====================  ======  ======================================================================
metric                 units   what (options)
=====================  ======  ======================================================================
propagated             1       1 if at least ``min_fraction`` (0.9) of the tissue fired, else 0
fraction_activated     1       fraction of the tissue that fired
conduction_velocity    cm/s    median local conduction speed
activation_time        ms      first upstroke at each of ``points_um`` ([[x, y], ...]; required)
apd90                  ms      median APD90 of the first beat over the tissue that fired
dominant_frequency     Hz      median dominant frequency over the tissue
spiral_count           1       phase singularities (spiral tips) in the run's last sample
spiral_lifetime        ms      the longest stretch of samples with a spiral tip, bridging gaps up to
                               ``max_gap_ms`` (15): first to last sample of it; 0 without tips
spiral_rotations       1       spiral_lifetime over the rotation period: the median, over the tissue, of the
                               interval between upstrokes (mid-swing crossings) during the spiral's life
single_tip_fraction    1       of the samples in that stretch, the fraction with exactly one tip
fraction_above         1       fraction of the tissue inside ``box_um`` ([x0, y0, x1, y1] µm; default all)
                               with V above ``threshold_mv`` (−30) at ``time_ms`` (default: the last sample)
light_energy           mJ      light sent onto the sheet: ∫∫ irradiance dA dt over the run (from the spec,
                               :func:`solver.pictures.preview.light_program`)
=====================  ======  ======================================================================
"""
from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass

import numpy as np
import xarray as xr

__all__ = ["METRICS", "METRIC_OPTIONS", "MetricSpec", "compute_metrics", "spiral_persistence"]

METRICS = {
    "propagated": ("1", "1 if the wave reached at least min_fraction of the tissue, else 0"),
    "fraction_activated": ("1", "fraction of the tissue that fired"),
    "conduction_velocity": ("cm/s", "median local conduction velocity"),
    "activation_time": ("ms", "activation time at the probe points"),
    "apd90": ("ms", "median action potential duration at 90% repolarisation (first beat)"),
    "dominant_frequency": ("Hz", "median dominant frequency over the tissue"),
    "spiral_count": ("1", "phase singularities (spiral tips) in the last sample"),
    "spiral_lifetime": ("ms", "lifetime of the longest-lived spiral (tip present, short gaps bridged)"),
    "spiral_rotations": ("1", "rotations completed by the longest-lived spiral"),
    "single_tip_fraction": ("1", "fraction of the spiral's samples with exactly one tip"),
    "fraction_above": ("1", "fraction of the tissue (in box_um) above threshold_mv"),
    "light_energy": ("mJ", "light energy sent onto the sheet over the run"),
}
#: Options of each metric and their defaults (None: required).
METRIC_OPTIONS = {
    "propagated": {"min_fraction": 0.9},
    "activation_time": {"points_um": None},
    "spiral_lifetime": {"max_gap_ms": 15.0},
    "spiral_rotations": {"max_gap_ms": 15.0},
    "single_tip_fraction": {"max_gap_ms": 15.0},
    "fraction_above": {"threshold_mv": -30.0, "box_um": [], "time_ms": None},
}
_TIPS = ("spiral_count", "spiral_lifetime", "spiral_rotations", "single_tip_fraction")
_NO_ANALYSIS = ("fraction_above", "light_energy")


@dataclass(frozen=True)
class MetricSpec:
    """A metric and its options (those not given take the defaults of :data:`METRIC_OPTIONS`)."""

    name: str
    options: tuple[tuple[str, object], ...] = ()

    def option(self, key: str):
        return dict(self.options).get(key, METRIC_OPTIONS.get(self.name, {}).get(key))

    def to_json(self):
        return {"name": self.name, **{k: v for k, v in self.options}}


def spiral_persistence(tip_times: np.ndarray, times: np.ndarray, max_gap_ms: float) -> tuple[float, float]:
    """``(lifetime_ms, single_fraction)`` of the longest-lived spiral of a run.

    ``tip_times`` holds one entry per tip found (a sample with two tips appears twice), ``times`` the sample
    times. A spiral lives through consecutive samples with a tip, bridging gaps up to ``max_gap_ms`` (a tip
    briefly lost on the boundary or between plaquettes); its lifetime runs from its first such sample to its
    last, and ``single_fraction`` is the fraction of the samples in between that hold exactly one tip.
    """
    times = np.asarray(times, dtype=np.float64)
    tips = np.asarray(tip_times, dtype=np.float64)
    if tips.size == 0:
        return 0.0, math.nan
    seen = np.unique(tips)
    breaks = np.flatnonzero(np.diff(seen) > max_gap_ms)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [seen.size - 1]))
    k = int(np.argmax(seen[ends] - seen[starts]))
    t0, t1 = seen[starts[k]], seen[ends[k]]
    window = times[(times >= t0) & (times <= t1)]
    counts = np.array([np.count_nonzero(tips == t) for t in window])
    return float(t1 - t0), float(np.mean(counts == 1))


def compute_metrics(ds: xr.Dataset, metrics, analysis: dict | None = None) -> dict[str, object]:
    """The metrics of one run's result Dataset: ``{name: float | list of float}`` (NaN when undefined).

    ``metrics`` are :class:`MetricSpec` (or names); ``analysis`` holds options of :func:`solver.analysis.analyse`.
    """
    from .dataset import analyse

    metrics = [MetricSpec(m) if isinstance(m, str) else m for m in metrics]
    names = {m.name for m in metrics}
    r = None
    if names - set(_NO_ANALYSIS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN medians of runs without a wave
            r = analyse(ds.load(), frequency="dominant_frequency" in names,
                        tips=bool(names & set(_TIPS)), **(analysis or {}))
    tissue = (ds["mask"].values > 0) if "mask" in ds else np.ones((ds.sizes["y"], ds.sizes["x"]), bool)
    out: dict[str, object] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for m in metrics:
            out[m.name] = _one(m, ds, r, tissue)
    return out


def _one(m: MetricSpec, ds: xr.Dataset, r: xr.Dataset | None, tissue: np.ndarray):
    if m.name == "fraction_activated":
        return float(r["fraction_activated"])
    if m.name == "propagated":
        return float(float(r["fraction_activated"]) >= m.option("min_fraction"))
    if m.name == "conduction_velocity":
        return float(r["conduction_velocity"])
    if m.name == "activation_time":
        act = r["activation_time"]
        return [float(act.sel(x=x, y=y, method="nearest")) for x, y in m.option("points_um")]
    if m.name == "apd90":
        return _median(r["apd90"].values[tissue])
    if m.name == "dominant_frequency":
        return _median(r["dominant_frequency"].values[tissue]) if "dominant_frequency" in r else math.nan
    if m.name == "spiral_count":
        t_last = float(ds["time"].values[-1])
        return float(np.sum(r["spiral_tip_time"].values == t_last)) if "spiral_tip_time" in r else 0.0
    if m.name in ("spiral_lifetime", "spiral_rotations", "single_tip_fraction"):
        tips = r["spiral_tip_time"].values if "spiral_tip_time" in r else np.zeros(0)
        life, single = spiral_persistence(tips, ds["time"].values, float(m.option("max_gap_ms")))
        if m.name == "spiral_lifetime":
            return life
        if m.name == "single_tip_fraction":
            return single
        if life <= 0:
            return 0.0
        t1 = float(tips.max()) if tips.size else 0.0
        period = _beat_period(ds, tissue, t1 - life, t1)
        return life / period if period > 0 else math.nan
    if m.name == "fraction_above":
        return _fraction_above(ds, tissue, m)
    if m.name == "light_energy":
        from solver.pictures.preview import light_program

        return float(light_program(json.loads(ds.attrs["spec"])).light_energy_mj.sum())
    raise ValueError(f"metric = {m.name!r} is not known; allowed: {', '.join(METRICS)}")


def _beat_period(ds: xr.Dataset, tissue: np.ndarray, t0: float, t1: float) -> float:
    """Median over the tissue of the mean interval between upstrokes (rising mid-swing crossings of V) in
    [t0, t1]; NaN where no pixel beat twice."""
    v = np.asarray(ds["v"].transpose("time", "y", "x").values, dtype=np.float32)
    t = np.asarray(ds["time"].values, dtype=np.float64)
    mid = 0.5 * (v.min(axis=0) + v.max(axis=0))
    above = v >= mid
    up = above[1:] & ~above[:-1]
    tu = t[1:]
    up &= ((tu >= t0) & (tu <= t1))[:, None, None]
    count = up.sum(axis=0)
    first = np.where(up.any(axis=0), tu[np.argmax(up, axis=0)], np.nan)
    last = np.where(up.any(axis=0), tu[up.shape[0] - 1 - np.argmax(up[::-1], axis=0)], np.nan)
    ok = tissue & (count >= 2)
    if not ok.any():
        return math.nan
    return float(np.median((last[ok] - first[ok]) / (count[ok] - 1)))


def _fraction_above(ds: xr.Dataset, tissue: np.ndarray, m: MetricSpec) -> float:
    t = m.option("time_ms")
    v = ds["v"].isel(time=-1) if t is None else ds["v"].sel(time=float(t), method="nearest")
    sel = tissue.copy()
    box = m.option("box_um")
    if box:
        x0, y0, x1, y1 = (float(c) for c in box)
        X, Y = np.meshgrid(ds["x"].values, ds["y"].values)
        sel &= (X >= x0) & (X < x1) & (Y >= y0) & (Y < y1)
    if not sel.any():
        return math.nan
    return float(np.mean(v.values[sel] > float(m.option("threshold_mv"))))


def _median(a: np.ndarray) -> float:
    a = a[np.isfinite(a)]
    return float(np.median(a)) if a.size else math.nan
