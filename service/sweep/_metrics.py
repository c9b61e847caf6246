"""Checking the ``metrics`` of a sweep spec; the metrics themselves are :mod:`solver.analysis.metrics`.

A metric is a name or ``{name: ..., options}``; :func:`check_metric` names the field of every problem.
"""
from __future__ import annotations

import json
import math

from solver.spec import closest
from solver.analysis.metrics import METRIC_OPTIONS, METRICS, MetricSpec, compute_metrics

__all__ = ["ANALYSIS_OPTIONS", "METRICS", "MetricSpec", "check_metric", "compute_metrics", "metric_dims",
           "metric_size", "metrics_key"]

#: Options of solver.analysis.analyse a sweep may set.
ANALYSIS_OPTIONS = ("threshold", "min_amplitude", "smooth_px", "smooth_frames", "hold", "cv_window_px", "min_r2",
                    "phase_lag_ms")


def check_metric(where: str, raw, base: dict | None, err) -> MetricSpec | None:
    """Read one entry of ``metrics`` (a name or ``{name: ..., options}``); report problems through ``err``."""
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        err(where, f"must be a metric name or {{name: ..., options}}; got {raw!r}")
        return None
    name = raw["name"]
    if name not in METRICS:
        err(where, f"unknown metric {name!r}{closest(name, METRICS)}; allowed: {', '.join(METRICS)}")
        return None
    allowed = METRIC_OPTIONS.get(name, {})
    ok = True
    for key in raw:
        if key != "name" and key not in allowed:
            err(f"{where}.{key}", f"unknown option of {name}; allowed: {', '.join(allowed) or 'none'}")
            ok = False
    opts = {k: v for k, v in raw.items() if k != "name"}
    for key, value in opts.items():
        problem = _option_problem(key, value)
        if problem:
            err(f"{where}.{key}", f"{value!r} is not allowed; {problem}")
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


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _option_problem(key: str, v) -> str:
    """What is wrong with the metric option ``key`` = ``v`` ("" if nothing)."""
    if key == "min_fraction" and not (_number(v) and 0 < v <= 1):
        return "must be in (0, 1]"
    if key == "max_gap_ms" and not (_number(v) and v > 0):
        return "must be a time > 0 (ms)"
    if key == "threshold_mv" and not _number(v):
        return "must be a potential in mV"
    if key == "time_ms" and v is not None and not (_number(v) and v >= 0):
        return "must be a time >= 0 (ms), or null for the last sample"
    if key == "box_um" and not (isinstance(v, list) and (not v or (len(v) == 4 and all(map(_number, v))
                                                                   and v[0] < v[2] and v[1] < v[3]))):
        return "must be [x0, y0, x1, y1] in µm with x0 < x1 and y0 < y1 (or [] for all the tissue)"
    return ""


def metric_dims(m: MetricSpec) -> tuple[str, ...]:
    """Extra dimensions of a metric's value (beyond the sweep's)."""
    return ("probe",) if m.name == "activation_time" else ()


def metric_size(m: MetricSpec) -> int | None:
    return len(m.option("points_um")) if m.name == "activation_time" else None


def metrics_key(metrics, analysis: dict) -> str:
    """Identity of what a run's record holds (a record is reused only when it matches)."""
    return json.dumps({"metrics": [m.to_json() for m in metrics], "analysis": analysis}, sort_keys=True)
