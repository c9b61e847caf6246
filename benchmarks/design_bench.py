"""Design-search benchmark: a propagation threshold to 2 % on a 256² sheet (not a test).

Prints, each against a baseline measured in the same run:

1. runs: the search's run count against what bisection needs, log2 of the range over the tolerance (on the
   log scale the search bisects in) plus the two ends of the bracket;
2. wall time with 2 Dask workers (one numba thread each) against the same search in this process with
   numba threads on every core, and against the search's critical path on the workers (the slowest run of
   each round, summed): the fraction of the wall time the cluster path adds;
3. the strength–duration curve (three pulse widths) on the 2 workers, whose rounds fill both workers, against
   three threshold searches one after another in this process.

Usage::

    PYTHONPATH=protos:. python benchmarks/design_bench.py [--size 256] [--tol 0.02] [--skip-sd]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "protos"), str(ROOT)]

from service.runner import dask_client, machine_cores  # noqa: E402
from service.sweep import SweepEvaluator  # noqa: E402
from solver.design import LocalEvaluator, find_threshold, protocols, strength_duration  # noqa: E402


def base(n: int) -> dict:
    """A HEK sheet of n² cells of 10 µm; long enough for a wave from the centre to reach the corners."""
    return {"name": "design bench", "grid": {"nx": n, "ny": n, "dx_um": 10.0},
            "tissue": {"model": {"preset": "hek_gokhale2017_35c"}}, "coupling": {"diffusivity_um2_per_ms": 1000.0},
            "numerics": {"dt_ms": 0.02, "duration_ms": float(round(10.0 + n * 10.0 * 0.75 / 45.0))},
            "output": {"variables": ["v"], "sample_interval_ms": 1.0}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--tol", type=float, default=0.02)
    ap.add_argument("--lo", type=float, default=0.05)
    ap.add_argument("--hi", type=float, default=5.0)
    ap.add_argument("--skip-sd", action="store_true", help="skip the strength-duration comparison")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    b = base(args.size)

    def make(v: float, pulse_ms: float = 2.0) -> dict:
        return protocols.pacing(b, site="spot", radius_um=100, pulse_ms=pulse_ms, irradiance_mw_per_mm2=v)

    out: dict = {"size": args.size, "cells": args.size**2, "duration_ms": b["numerics"]["duration_ms"],
                 "cores": machine_cores()}
    bound = 2 + math.ceil(math.log2(math.log(args.hi / args.lo) / -math.log(1 - args.tol)))

    make(1.0)   # nothing to compile in the timings: one run here first
    LocalEvaluator().evaluate([make(0.01)], ())
    t0 = time.perf_counter()
    here = find_threshold(make, args.lo, args.hi, rel_tol=args.tol, evaluator=LocalEvaluator())
    out["here_s"] = time.perf_counter() - t0
    out["threshold"] = here.summary["threshold"]
    out["bracket"] = here.summary["bracket"]
    out["runs"], out["bisection_bound"] = here.n_runs, bound

    with tempfile.TemporaryDirectory() as tmp, dask_client(workers=2, numba_threads=1) as client:
        warm = SweepEvaluator(Path(tmp) / "warm", client=client)
        warm.evaluate([make(0.01), make(0.011)], ())            # load the cached kernels on both workers
        ev = SweepEvaluator(Path(tmp) / "runs", client=client)
        t0 = time.perf_counter()
        there = find_threshold(make, args.lo, args.hi, rel_tol=args.tol, evaluator=ev)
        out["workers2_s"] = time.perf_counter() - t0
        out["workers2_critical_s"] = there.critical_path_s()
        assert there.summary["bracket"] == here.summary["bracket"]
        if not args.skip_sd:
            widths = [1.0, 2.0, 5.0]
            t0 = time.perf_counter()
            sd = strength_duration(lambda d, v: make(v, d), widths, args.lo, args.hi * 4, rel_tol=args.tol,
                                   evaluator=SweepEvaluator(Path(tmp) / "sd", client=client))
            out["sd_workers2_s"] = time.perf_counter() - t0
            out["sd_runs"] = sd.n_runs
            out["sd_curve"] = [(c["pulse_ms"], c["threshold"]) for c in sd.curve]
    if not args.skip_sd:
        t0 = time.perf_counter()
        for d in widths:
            find_threshold(lambda v, d=d: make(v, d), args.lo, args.hi * 4, rel_tol=args.tol,
                           evaluator=LocalEvaluator())
        out["sd_here_s"] = time.perf_counter() - t0

    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"threshold search, {args.size}² HEK sheet, {out['duration_ms']:.0f} ms per run, tolerance {args.tol:.0%}")
    print(f"  threshold {out['threshold']:.4g} mW/mm², bracket [{out['bracket'][0]:.4g}, {out['bracket'][1]:.4g}]")
    print(f"  runs: {out['runs']} (bisection needs at most {bound}: 2 ends + log2 of the range over the tolerance)")
    print(f"  wall time: {out['here_s']:.1f} s in process ({out['cores']} numba threads), "
          f"{out['workers2_s']:.1f} s on 2 workers = {out['workers2_s'] / out['here_s']:.2f}x")
    print(f"  critical path on the workers (slowest run of each round, summed) {out['workers2_critical_s']:.1f} s: "
          f"the cluster path adds {out['workers2_s'] / out['workers2_critical_s'] - 1:+.1%}; a bisection runs one run "
          f"per round, so one worker idles")
    if not args.skip_sd:
        print(f"strength-duration, 3 widths, {out['sd_runs']} runs: {out['sd_workers2_s']:.1f} s on 2 workers vs "
              f"{out['sd_here_s']:.1f} s for three searches in process = "
              f"{out['sd_here_s'] / out['sd_workers2_s']:.2f}x faster")
        print("  thresholds: " + ", ".join(f"{d:g} ms: {t:.4g}" for d, t in out["sd_curve"]))


if __name__ == "__main__":
    main()
