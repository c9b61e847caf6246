"""Summary metrics of one run, computed on the worker from its result (``solver.analysis``).

Each metric is one number per run (``activation_time``: one per probe point), NaN when it is
undefined for that run (no wave, no beat). Names and units:

====================  ======  ===========================================================
metric                units   what
====================  ======  ===========================================================
propagated            1       1 if at least ``min_fraction`` (default 0.9) of the tissue fired, else 0
fraction_activated    1       fraction of the tissue that fired
conduction_velocity   cm/s    median local conduction speed (solver.analysis)
activation_time       ms      first upstroke at each of ``points_um`` ([[x, y], ...])
apd90                 ms      median APD90 of the first beat over the tissue that fired
dominant_frequency    Hz      median dominant frequency over the tissue
spiral_count          1       phase singularities (spiral tips) in the run's last sample
====================  ======  ===========================================================
"""
from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass

import numpy as np
import xarray as xr

METRICS = {
    "propagated": ("1", "1 if the wave reached at least min_fraction of the tissue, else 0"),
    "fraction_activated": ("1", "fraction of the tissue that fired"),
    "conduction_velocity": ("cm/s", "median local conduction velocity"),
    "activation_time": ("ms", "activation time at the probe points"),
    "apd90": ("ms", "median action potential duration at 90% repolarisation (first beat)"),
    "dominant_frequency": ("Hz", "median dominant frequency over the tissue"),
    "spiral_count": ("1", "phase singularities (spiral tips) in the last sample"),
}
#: Options of each metric: name -> (default, check) ; "points_um" has no default (required).
_OPTIONS = {
    "propagated": {"min_fraction": 0.9},
    "activation_time": {"points_um": None},
}
#: Options of solver.analysis.analyse a sweep may set.
ANALYSIS_OPTIONS = ("threshold", "min_amplitude", "smooth_px", "smooth_frames", "hold", "cv_window_px", "min_r2",
                    "phase_lag_ms")


@dataclass(frozen=True)
class MetricSpec:
    name: str
    options: tuple[tuple[str, object], ...] = ()

    def option(self, key: str):
        return dict(self.options).get(key, _OPTIONS.get(self.name, {}).get(key))

    def to_json(self):
        return {"name": self.name, **{k: v for k, v in self.options}}


def check_metric(where: str, raw, base: dict | None, err) -> MetricSpec | None:
    """Read one entry of ``metrics`` (a name or ``{name: ..., options}``); report problems through ``err``."""
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        err(where, f"must be a metric name or {{name: ..., options}}; got {raw!r}")
        return None
    name = raw["name"]
    if name not in METRICS:
        err(where, f"unknown metric {name!r}; allowed: {', '.join(METRICS)}")
        return None
    allowed = _OPTIONS.get(name, {})
    ok = True
    for key in raw:
        if key != "name" and key not in allowed:
            err(f"{where}.{key}", f"unknown option of {name}; allowed: {', '.join(allowed) or 'none'}")
            ok = False
    opts = {k: v for k, v in raw.items() if k != "name"}
    if name == "propagated" and "min_fraction" in opts:
        f = opts["min_fraction"]
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f <= 1:
            err(f"{where}.min_fraction", f"{f!r} is not allowed; must be in (0, 1]")
            ok = False
    if name == "activation_time":
        pts = opts.get("points_um")
        if not isinstance(pts, list) or not pts:
            err(f"{where}.points_um", "missing or empty: give the probe points as [[x, y], ...] in µm")
            ok = False
        else:
            grid = (base or {}).get("grid", {})
            w = float(grid.get("nx", 0)) * float(grid.get("dx_um", 0))
            h = float(grid.get("ny", 0)) * float(grid.get("dx_um", 0))
            for j, p in enumerate(pts):
                if not (isinstance(p, list) and len(p) == 2 and all(
                        isinstance(c, (int, float)) and not isinstance(c, bool) and math.isfinite(c) for c in p)):
                    err(f"{where}.points_um[{j}]", f"{p!r} is not a point [x, y] in µm")
                    ok = False
                elif base is not None and not (0 <= p[0] < w and 0 <= p[1] < h):
                    err(f"{where}.points_um[{j}]", f"{p!r} lies outside the sheet (0 <= x < {w:g}, 0 <= y < {h:g} µm)")
                    ok = False
    return MetricSpec(name, tuple(sorted(opts.items()))) if ok else None


def metric_dims(m: MetricSpec) -> tuple[str, ...]:
    """Extra dimensions of a metric's value (beyond the sweep's)."""
    return ("probe",) if m.name == "activation_time" else ()


def metric_size(m: MetricSpec) -> int | None:
    return len(m.option("points_um")) if m.name == "activation_time" else None


def compute_metrics(ds: xr.Dataset, metrics, analysis: dict | None = None) -> dict[str, object]:
    """The metrics of one run's result Dataset: ``{name: float | list of float}`` (NaN when undefined)."""
    from solver.analysis import analyse

    names = {m.name for m in metrics}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN medians of runs without a wave
        r = analyse(ds.load(), frequency="dominant_frequency" in names, tips="spiral_count" in names,
                    **(analysis or {}))
        tissue = (ds["mask"].values > 0) if "mask" in ds else np.ones(r["activation_time"].shape, bool)
        out: dict[str, object] = {}
        for m in metrics:
            if m.name == "fraction_activated":
                out[m.name] = float(r["fraction_activated"])
            elif m.name == "propagated":
                out[m.name] = float(float(r["fraction_activated"]) >= m.option("min_fraction"))
            elif m.name == "conduction_velocity":
                out[m.name] = float(r["conduction_velocity"])
            elif m.name == "activation_time":
                act = r["activation_time"]
                out[m.name] = [float(act.sel(x=x, y=y, method="nearest")) for x, y in m.option("points_um")]
            elif m.name == "apd90":
                out[m.name] = _median(r["apd90"].values[tissue])
            elif m.name == "dominant_frequency":
                out[m.name] = _median(r["dominant_frequency"].values[tissue]) if "dominant_frequency" in r else math.nan
            elif m.name == "spiral_count":
                t_last = float(ds["time"].values[-1])
                out[m.name] = float(np.sum(r["spiral_tip_time"].values == t_last)) if "spiral_tip_time" in r else 0.0
    return out


def _median(a: np.ndarray) -> float:
    a = a[np.isfinite(a)]
    return float(np.median(a)) if a.size else math.nan


def metrics_key(metrics, analysis: dict) -> str:
    """Identity of what a run's record holds (a record is reused only when it matches)."""
    return json.dumps({"metrics": [m.to_json() for m in metrics], "analysis": analysis}, sort_keys=True)
