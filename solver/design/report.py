"""The report of a design search: the found spec, the curve or window, every run, and a figure.

``write_report(result, outdir)`` writes::

    OUTDIR/report.json     kind, criteria, summary figures, curve, and every run with its metrics
    OUTDIR/found.json      the found pattern as a job spec (when one was found)
    OUTDIR/runs.csv        one row per run: round, searched values, success, metrics
    OUTDIR/report.png      the figure (:func:`report_figure`)
"""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from .search import DesignResult  # noqa: E402

__all__ = ["report_figure", "write_report"]

_OK, _NO = "#1b9e77", "#d95f02"


def _json_default(x):
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    raise TypeError(type(x).__name__)


def write_report(result: DesignResult, outdir: str | Path, *, title: str = "") -> dict[str, Path]:
    """Write the report files into ``outdir`` (created); returns their paths by name."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"report": out / "report.json", "runs": out / "runs.csv", "figure": out / "report.png"}
    doc = {"title": title, **result.to_dict()}
    paths["report"].write_text(json.dumps(doc, indent=2, default=_json_default, allow_nan=True))
    if result.spec is not None:
        paths["found"] = out / "found.json"
        paths["found"].write_text(json.dumps(result.spec, indent=2))
    rows = doc["runs"]
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(paths["runs"], "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: json.dumps(v) if isinstance(v, list) else v for k, v in r.items()})
    report_figure(result, title=title).savefig(paths["figure"], dpi=110)
    return paths


def report_figure(result: DesignResult, *, title: str = "") -> Figure:
    """One figure: outcome against the searched value (threshold, window), the strength–duration curve, or
    the objective over the parameters (minimise); successes green, failures orange."""
    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    crit = " and ".join(result.criteria)
    if result.kind == "strength_duration":
        _sd(ax, result)
    elif result.kind == "minimise":
        _minimise(ax, result)
    else:
        _outcomes(ax, result)
    ax.set_title(f"{title or result.kind}\nsuccess: {crit}" if crit else (title or result.kind), fontsize=10)
    return fig


def _outcomes(ax, result: DesignResult) -> None:
    name = result.parameters[0]
    for r in result.runs:
        ax.plot(r.values[name], r.round, "o", color=_OK if r.success else _NO, ms=7)
    s = result.summary
    if result.kind == "threshold":
        lo, hi = s["bracket"]
        ax.axvspan(lo, hi, color="0.85", zorder=0)
        ax.axvline(s["threshold"], color="k", lw=1, label=f"threshold {s['threshold']:.4g} "
                   f"(bracket [{lo:.4g}, {hi:.4g}])")
        if s.get("scale") == "log":
            ax.set_xscale("log")
        ax.set_xlabel(f"{name}   ({s['n_runs']} runs, bound {s['run_bound']})")
    else:
        if s.get("window"):
            a, b = s["window"]
            ax.axvspan(a, b, color="#c7e9c0", zorder=0)
            ax.axvline(s["center"], color="k", lw=1, label=f"window [{a:.4g}, {b:.4g}], centre {s['center']:.4g}")
        ax.set_xlabel(f"{name}   ({s['n_runs']} runs)")
    ax.set_ylabel("round")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.invert_yaxis()
    ax.plot([], [], "o", color=_OK, label="meets the criterion")
    ax.plot([], [], "o", color=_NO, label="does not")
    ax.legend(loc="best", fontsize=8)


def _sd(ax, result: DesignResult) -> None:
    dname, pname = result.parameters
    d = np.array([c[dname] for c in result.curve], float)
    t = np.array([c["threshold"] for c in result.curve], float)
    lo = np.array([c["bracket"][0] for c in result.curve], float)
    ax.fill_between(d, lo, t, color="0.85", step=None, label="bracket")
    ax.plot(d, t, "o-", color="k", label="threshold")
    s = result.summary
    if math.isfinite(s.get("rheobase", math.nan)):
        ax.axhline(s["rheobase"], ls="--", color="C0", lw=1, label=f"rheobase {s['rheobase']:.3g}")
    if math.isfinite(s.get("chronaxie_ms", math.nan)):
        ax.axvline(s["chronaxie_ms"], ls=":", color="C0", lw=1, label=f"chronaxie {s['chronaxie_ms']:.3g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(dname)
    ax.set_ylabel(f"threshold {pname}")
    ax.legend(fontsize=8)


def _minimise(ax, result: DesignResult) -> None:
    names = result.parameters
    obj = result.summary["objective"]
    x = [r.values[names[0]] for r in result.runs]
    if len(names) >= 2:
        y = [r.values[names[1]] for r in result.runs]
        ylabel = names[1]
    else:
        y = [r.metrics.get(obj, math.nan) for r in result.runs]
        ylabel = obj
    ax.scatter(x, y, c=[_OK if r.success else _NO for r in result.runs], s=30)
    best = result.summary.get("best")
    if best:
        by = best[names[1]] if len(names) >= 2 else result.summary["best_objective"]
        ax.plot(best[names[0]], by, "*", color="k", ms=16, label=f"best: {obj} = {result.summary['best_objective']:.4g}")
        ax.legend(fontsize=8)
    log = result.summary.get("log", [])
    if names[0] in log:
        ax.set_xscale("log")
    if len(names) >= 2 and names[1] in log:
        ax.set_yscale("log")
    ax.set_xlabel(names[0])
    ax.set_ylabel(ylabel)
