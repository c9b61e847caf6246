"""``optowave bench``: kernel throughput against the NumPy reference and the memory bandwidth.

Every figure is measured in the same process: the NumPy reference step of the same problem is
the baseline, and a large array copy gives the machine's memory bandwidth, so a result reads as
"x times the reference" and "y % of the bandwidth limit implied by the bytes a cell-step moves".
"""
from __future__ import annotations

import os
import time

import numpy as np

from .models import MODELS
from .problem import build
from .run import advance, initial_state
from .spec import load_spec

ALL_MODELS = ("hek_gokhale2017_35c", "hek_gokhale2017_23c", "hek_bistable", "nagumo", "fitzhugh_nagumo",
              "aliev_panfilov")


def bench_spec(model: str, n: int, precision: str = "float64") -> dict:
    """A square sheet of ``model``; HEK models get CheRiff and light on the left half."""
    m = MODELS[model]
    spec = {
        "grid": {"nx": n, "ny": n, "dx_um": 10.0 if not m.dimensionless else 0.5},
        "tissue": {"model": {"preset": model}},
        "numerics": {"duration_ms": 1.0, "precision": f"PRECISION_{precision.upper()}"},
    }
    if m.supports_opsin:
        spec["opsin"] = {"preset": "cheriff"}
        spec["light"] = [{"pattern": {"rectangle": {"min_um": {"x": 0, "y": 0},
                                                    "max_um": {"x": n * 5.0, "y": n * 10.0}}},
                          "irradiance_mw_per_mm2": 0.1}]
        spec["numerics"]["dt_ms"] = 0.025
    else:
        spec["numerics"]["dt_ms"] = 0.02
    return spec


def bytes_per_cell_step(problem) -> int:
    """Bytes a cell-step must move at least: state in and out, face weights, mask, fields."""
    item = problem.dtype.itemsize
    n_state = len(problem.state_names)
    extra = 2 * 8 + 1 + 8                       # wx, wy, active, iext
    if problem.has_opsin:
        extra += 3 * 8                          # gop and the two light-dependent rates
    return 2 * n_state * item + extra


def copy_bandwidth(n_bytes: int = 256 * 2**20, repeats: int = 5) -> float:
    """Memory bandwidth (bytes/s, read + write) of a large array copy."""
    a = np.ones(n_bytes // 8)
    b = np.empty_like(a)
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - t0)
    return 2 * a.nbytes / best


def _time_kernel(problem, seconds: float) -> float:
    """Cell-steps per second of the kernel (median of repeated calls)."""
    import numba  # noqa: F401 - the kernel is already compiled; this only makes intent clear

    state = initial_state(problem)
    n_active = int(problem.active.sum())
    advance(problem, state, 2)                                   # load/compile outside the timing
    steps = 4
    while True:
        t0 = time.perf_counter()
        advance(problem, state, steps)
        dt = time.perf_counter() - t0
        if dt > seconds / 5 or steps > 1 << 20:
            break
        steps *= 2
    rates = []
    for _ in range(3):
        t0 = time.perf_counter()
        advance(problem, state, steps)
        rates.append(n_active * steps / (time.perf_counter() - t0))
    return float(np.median(rates))


def _time_reference(problem, seconds: float) -> float:
    """Cell-steps per second of the NumPy reference step on the same problem."""
    p = problem
    y = p.initial.astype(np.float64)
    flux = np.zeros((p.ny, p.nx))
    iext = np.zeros((p.ny, p.nx))
    n_active = int(p.active.sum())
    args = (p.wx, p.wy, p.active, p.params, p.pidx, p.pmaps, iext, p.has_opsin, p.oparams, p.gop, flux)
    t0 = time.perf_counter()
    n = 0
    while n < 2 or (time.perf_counter() - t0 < seconds and n < 50):
        y = p.model.reference_step(y, p.dt_ms, *args)
        n += 1
    return n_active * n / (time.perf_counter() - t0)


def run_bench(*, sizes=(256, 1024), models=None, seconds: float = 1.0, verbose: bool = True) -> dict:
    """Measure every model × size × precision × thread count; return (and print) the figures."""
    import numba

    models = list(models or ALL_MODELS)
    all_threads = numba.config.NUMBA_NUM_THREADS
    bw = copy_bandwidth()
    out = {"copy_bandwidth_gb_per_s": bw / 1e9, "cpu_count": os.cpu_count(), "threads_max": all_threads,
           "results": []}
    if verbose:
        print(f"memory bandwidth (large copy): {bw / 1e9:.2f} GB/s; threads: {all_threads}")
        print(f"{'model':22s} {'size':>6s} {'prec':>7s} {'thr':>3s} {'Mcell-steps/s':>14s} {'x NumPy':>8s} "
              f"{'B/cell-step':>11s} {'% bandwidth':>11s}")
    for model in models:
        for n in sizes:
            ref_rate = None
            for precision in ("float64", "float32"):
                problem = build(load_spec(bench_spec(model, n, precision)))
                if ref_rate is None:
                    ref_rate = _time_reference(problem, seconds)
                for threads in sorted({1, all_threads}):
                    numba.set_num_threads(threads)
                    rate = _time_kernel(problem, seconds)
                    nbytes = bytes_per_cell_step(problem)
                    row = {
                        "model": model, "size": n, "precision": precision, "threads": threads,
                        "cell_steps_per_s": rate, "numpy_reference_cell_steps_per_s": ref_rate,
                        "ratio_to_numpy": rate / ref_rate, "bytes_per_cell_step": nbytes,
                        "bandwidth_fraction": rate * nbytes / bw,
                    }
                    out["results"].append(row)
                    if verbose:
                        print(f"{model:22s} {n:6d} {precision:>7s} {threads:3d} {rate / 1e6:14.2f} "
                              f"{rate / ref_rate:8.1f} {nbytes:11d} {100 * rate * nbytes / bw:10.1f}%")
            numba.set_num_threads(all_threads)
    return out
