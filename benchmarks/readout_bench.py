"""What the camera costs a run: the same 512² HEK job with the readout off and on, in the same process.

    python benchmarks/readout_bench.py [--n 512] [--duration-ms 20] [--rounds 3] [--json]

Both jobs run the same way as ``optowave run`` does (one chunked job into a Zarr store in a temporary
directory, analysis off so that only the camera differs), taking turns round by round so that a busy minute
of the machine hits both; figures are medians. The camera films at 500 Hz with the default exposure, PSF
blur of 8 µm, 2x2 binning, shot and read noise. Printed: seconds each way, the camera's added fraction
(goal < 20 %), and the solver's rate in cell-steps/s against the machine's copy bandwidth limit (the bytes
of the state read and written per step over a plain NumPy copy's bandwidth).

Not a test: it never fails for being slow.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "protos"))


def sheet(n: int, duration_ms: float, camera: bool) -> dict:
    spec = {
        "name": "readout-bench", "grid": {"nx": n, "ny": n, "dx_um": 10.0},
        "tissue": {"model": {"preset": "hek_gokhale2017_35c"}}, "coupling": {"diffusivity_um2_per_ms": 1000.0},
        "light": [{"pattern": {"rectangle": {"min_um": {"x": 0, "y": 0}, "max_um": {"x": 40, "y": 10.0 * n}}},
                   "waveform": {"pulse": {"start_ms": 1, "width_ms": 2}}, "irradiance_mw_per_mm2": 2.0}],
        "numerics": {"dt_ms": 0.02, "duration_ms": duration_ms},
        "output": {"sample_interval_ms": 1.0},
        "analysis": {"enabled": False},
    }
    if camera:
        spec["readout"] = {"enabled": True, "camera": {"psf_sigma_um": 8.0, "binning": 2}}
    return spec


def copy_bandwidth_gb_per_s(nbytes: int = 256 * 2**20) -> float:
    a = np.ones(nbytes // 8)
    b = np.empty_like(a)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - t0)
    return 2 * nbytes / best / 1e9


def run_once(spec: dict, store: Path) -> float:
    from service.runner import run_job

    t0 = time.perf_counter()
    run_job(spec, store, overwrite=True)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=512)
    p.add_argument("--duration-ms", type=float, default=20.0)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    import solver

    off, on = sheet(args.n, args.duration_ms, False), sheet(args.n, args.duration_ms, True)
    times = {"off": [], "on": []}
    with tempfile.TemporaryDirectory(prefix="optowave-readout-bench-") as d:
        tmp = Path(d)
        run_once(sheet(32, 2.0, True), tmp / "warm.zarr")          # compile everything once
        for _ in range(args.rounds):
            times["off"].append(run_once(off, tmp / "off.zarr"))
            times["on"].append(run_once(on, tmp / "on.zarr"))
    problem = solver.prepare(off)
    cell_steps = args.n * args.n * problem.n_steps
    med = {k: statistics.median(v) for k, v in times.items()}
    state_bytes = problem.initial.nbytes * 2          # read and written once per step
    limit = copy_bandwidth_gb_per_s() * 1e9 / state_bytes * args.n * args.n
    out = {"grid": f"{args.n}x{args.n}", "duration_ms": args.duration_ms, "seconds": times,
           "median_off_s": med["off"], "median_on_s": med["on"], "camera_adds": med["on"] / med["off"] - 1,
           "cell_steps_per_s_off": cell_steps / med["off"], "copy_limit_cell_steps_per_s": limit,
           "fraction_of_copy_limit_off": cell_steps / med["off"] / limit}
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{out['grid']}, {args.duration_ms:g} ms, medians of {args.rounds}: camera off {med['off']:.2f} s, on "
          f"{med['on']:.2f} s: the camera adds {100 * out['camera_adds']:.1f} % (goal < 20 %)")
    print(f"solver without the camera: {out['cell_steps_per_s_off']:.3g} cell-steps/s = "
          f"{100 * out['fraction_of_copy_limit_off']:.0f} % of the copy-bandwidth limit "
          f"({out['copy_limit_cell_steps_per_s']:.3g} cell-steps/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
