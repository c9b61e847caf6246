"""The headline figures of the ring and spiral examples against their dt -> 0 limits.

    python benchmarks/examples_convergence.py [--examples ring,spiral] [--json]

Each example as written (one node per cell: the grid is the tissue, so the reference is the
dt -> 0 limit at its dx), run at its step, a half and a quarter of it; the limit is the Richardson
extrapolation (second order) of the two finer runs, and the observed order shows whether the runs
are in the asymptotic range. The figures (solver.numerics.headlines):

- ring: the circulation period, the last interval between beats at four probes on the ring's
  middle circle, averaged;
- spiral: when the longest-lived spiral forms and how long it lives (tips of analyse()), and its
  rotation period (the sheet's beat period while it turns).

The examples' descriptions state what this measured. It takes about 15 minutes on two cores; the
tests run reduced versions (tests/solver/test_examples_headlines.py).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import solver
from solver.numerics.headlines import richardson, ring_period, spiral_figures

ROOT = Path(__file__).resolve().parents[1]


def _example(name: str, dt: float, sample_ms: float) -> dict:
    spec = json.loads((ROOT / "examples" / f"{name}.json").read_text())
    spec["numerics"]["dt_ms"] = dt
    spec["output"] = {"variables": ["v"], "sample_interval_ms": sample_ms}
    return spec


def ring(dt: float) -> dict:
    spec = _example("ring", dt, 0.5)
    r = spec["tissue"]["mask"]["ring"]
    centre = (r["center_um"]["x"], r["center_um"]["y"])
    radius = 0.5 * (r["inner_radius_um"] + r["outer_radius_um"])
    return {"period_ms": ring_period(solver.simulate(spec), centre, radius)}


def spiral(dt: float) -> dict:
    return spiral_figures(solver.simulate(_example("spiral", dt, 1.0)))


def study(name: str) -> dict:
    base = json.loads((ROOT / "examples" / f"{name}.json").read_text())["numerics"]["dt_ms"]
    runs = {}
    for k in (1, 2, 4):
        t0 = time.perf_counter()
        runs[base / k] = {**(ring if name == "ring" else spiral)(base / k), "seconds": time.perf_counter() - t0}
    dts = sorted(runs, reverse=True)
    out = {"runs": runs, "limits": {}}
    for key in runs[dts[0]]:
        if key == "seconds":
            continue
        a, b, c = (runs[d][key] for d in dts)
        limit = richardson(b, c, order=2)
        order = math.log2(abs((a - b) / (b - c))) if (b - c) != 0 and (a - b) != 0 else math.nan
        out["limits"][key] = {"limit": limit, "error_at_example_dt": a / limit - 1 if limit else math.nan,
                              "observed_order": order}  # fmt: skip
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", default="ring,spiral")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    results = {}
    for name in args.examples.split(","):
        results[name] = s = study(name)
        print(f"{name}:")
        for dt, r in s["runs"].items():
            figs = ", ".join(f"{k} {v:.4g}" for k, v in r.items() if k != "seconds")
            print(f"  dt {dt:g} ms: {figs} ({r['seconds']:.0f} s)")
        for k, lim in s["limits"].items():
            if len({r[k] for r in s["runs"].values()}) == 1:
                print(f"  {k}: {lim['limit']:.4g} at every dt")
                continue
            noise = "" if abs(lim["observed_order"] - 2) < 0.5 else "; far from 2: the figure's own scatter, not the step's"
            print(f"  {k}: dt -> 0 limit {lim['limit']:.4g}, the example's dt {lim['error_at_example_dt']:+.2%} from it "
                  f"(observed order {lim['observed_order']:.2f}{noise})")
    if args.json:
        print(json.dumps(results, default=float))


if __name__ == "__main__":
    main()
