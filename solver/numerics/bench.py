"""``optowave bench``: kernel throughput against baselines and the machine's limits, in one run.

Every figure is measured in the same process: the NumPy reference step of the same problem is the
baseline, a large array copy gives the memory bandwidth (one thread and all threads; the larger is
the limit), so a result reads as "x times the reference" and "y % of the bandwidth limit implied by
the bytes a cell-step moves". Two byte counts are reported: the state alone (read and written once
per step: the issue's measure) and the state plus every field a step reads. The summary gives the
ratios the performance targets are stated in: thread scaling, float32 over float64, lookup tables
over the exact kernel, and (where a CUDA device is present) the GPU against its own bandwidth.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..engine import backends
from ..models import MODELS
from ..engine.problem import build
from ..engine.run import initial_state
from ..spec import load_spec

ALL_MODELS = ("hek_gokhale2017_35c", "hek_gokhale2017_23c", "hek_bistable", "nagumo", "fitzhugh_nagumo",
              "aliev_panfilov")


def bench_spec(model: str, n: int, precision: str = "float64", *, lookup_tables: bool | None = None,
               backend: str = "cpu") -> dict:  # fmt: skip
    """A square sheet of ``model``; HEK models get CheRiff and light on the left half."""
    m = MODELS[model]
    spec = {
        "grid": {"nx": n, "ny": n, "dx_um": 10.0 if not m.dimensionless else 0.5},
        "tissue": {"model": {"preset": model}},
        "numerics": {"duration_ms": 1.0, "precision": f"PRECISION_{precision.upper()}",
                     "backend": f"BACKEND_{backend.upper()}"},
    }
    if lookup_tables is not None:
        spec["numerics"]["lookup_tables"] = lookup_tables
    if m.supports_opsin:
        spec["opsin"] = {"preset": "cheriff"}
        spec["light"] = [{"pattern": {"rectangle": {"min_um": {"x": 0, "y": 0},
                                                    "max_um": {"x": n * 5.0, "y": n * 10.0}}},
                          "irradiance_mw_per_mm2": 0.1}]
    # 0.02 ms: 80 % of the diffusion limit dx²/(4·D) = 0.025 ms at dx 10 µm. At the limit itself the
    # upstroke's conductance tips the lit sheet into a checkerboard blow-up within ~40 ms, and a
    # kernel timed on that garbage (huge or NaN values) is not timed on the work a user runs.
    spec["numerics"]["dt_ms"] = 0.02
    return spec


def state_bytes_per_cell_step(problem) -> int:
    """Bytes of state a cell-step must move: every state variable read once and written once."""
    return 2 * len(problem.state_names) * problem.dtype.itemsize


def bytes_per_cell_step(problem) -> int:
    """State plus the fields a step reads: face weights, mask, current, opsin conductance and rates."""
    extra = 2 * 8 + 1 + 8                       # wx, wy, active, iext
    if problem.has_opsin:
        extra += 3 * 8                          # gop and the two light-dependent rates
    return state_bytes_per_cell_step(problem) + extra


def copy_bandwidth(n_bytes: int = 256 * 2**20, repeats: int = 5, threads: int = 1) -> float:
    """Memory bandwidth (bytes/s, read + write) of a large array copy on ``threads`` threads."""
    a = np.ones(n_bytes // 8)
    b = np.empty_like(a)
    chunks = [(k * a.size // threads, (k + 1) * a.size // threads) for k in range(threads)]
    pool = ThreadPoolExecutor(threads) if threads > 1 else None

    def part(lo_hi):
        lo, hi = lo_hi
        np.copyto(b[lo:hi], a[lo:hi])           # NumPy releases the GIL while it copies

    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        if pool is None:
            part(chunks[0])
        else:
            list(pool.map(part, chunks))
        best = min(best, time.perf_counter() - t0)
    if pool is not None:
        pool.shutdown()
    return 2 * a.nbytes / best


def _kernel_args(problem):
    p = problem
    flux = np.zeros((p.ny, p.nx))
    if p.light_weights.shape[0]:
        from ..models.opsin import irradiance_to_flux

        flux = np.ascontiguousarray(irradiance_to_flux(p.opsin_irradiance(np.ones(p.light_weights.shape[0]))))
    iext = np.zeros((p.ny, p.nx))
    return (p.dt_ms, p.wx, p.wy, p.active, p.params, p.pidx, p.pmaps, iext, p.has_opsin, p.oparams, p.gop, flux)


class _Timed:
    """One problem's stepper, state and step count, timed call by call (see :func:`_time_interleaved`).

    The step count is set on ``threads`` threads (the fewest a run will time: the slowest calls)
    so that a call lasts about ``seconds``.
    """

    def __init__(self, problem, threads: int, seconds: float) -> None:
        import numba

        numba.set_num_threads(threads)
        self.step = backends.stepper(problem)
        self.order = problem.time_order
        self.ya = np.ascontiguousarray(initial_state(problem).y).copy()
        self.yb = self.ya.copy()
        self.args = _kernel_args(problem)
        self.n_active = int(problem.active.sum())
        t0 = time.perf_counter()
        self._call(2)                                           # load/compile outside the timing
        self.first = time.perf_counter() - t0
        self.steps = 2
        while True:
            t0 = time.perf_counter()
            self._call(self.steps)
            if time.perf_counter() - t0 > seconds or self.steps > 1 << 20:
                break
            self.steps *= 2

    def _call(self, n: int) -> None:
        if self.step(self.ya, self.yb, n, *self.args, order=self.order):
            self.ya, self.yb = self.yb, self.ya

    def rate(self, threads: int) -> float:
        """Cell-steps per second of one call on ``threads`` threads."""
        import numba

        numba.set_num_threads(threads)
        t0 = time.perf_counter()
        self._call(self.steps)
        return self.n_active * self.steps / (time.perf_counter() - t0)


def _time_interleaved(timed: list[tuple[_Timed, int]], rounds: int = 5,
                      bandwidth=None) -> tuple[list[float], list[float]]:  # fmt: skip
    """Median cell-steps/s of each ``(timed, threads)``, taken in ``rounds`` rounds that each time every one once.

    On a shared machine the speed drifts by tens of percent within a minute; measured one after
    the other, two configurations would be compared at different moments. Interleaved, each ratio
    is between neighbours in time. ``bandwidth`` (a callable) is measured once per round too; the
    second list holds its values.
    """
    rates: list[list[float]] = [[] for _ in timed]
    bws: list[float] = []
    for _ in range(rounds):
        for k, (t, threads) in enumerate(timed):
            rates[k].append(t.rate(threads))
        if bandwidth is not None:
            bws.append(bandwidth())
    return [float(np.median(r)) for r in rates], bws


def _time_kernel(problem, seconds: float) -> tuple[float, float]:
    """(cell-steps per second, first-call seconds) of the problem's stepper, called directly.

    The stepper is what ``advance`` resolves from the spec (exact, lookup tables or CUDA); timing
    it directly leaves out the run loop's state copies. Median of five timed calls.
    """
    import numba

    threads = numba.get_num_threads()
    t = _Timed(problem, threads, seconds / 5)
    return float(np.median([t.rate(threads) for _ in range(5)])), t.first


def _time_reference(problem, seconds: float) -> float:
    """Cell-steps per second of the NumPy reference step on the same problem."""
    p = problem
    y = p.initial.astype(np.float64)
    args = _kernel_args(p)[1:]
    n_active = int(p.active.sum())
    t0 = time.perf_counter()
    n = 0
    while n < 2 or (time.perf_counter() - t0 < seconds and n < 50):
        y = p.model.reference_step(y, p.dt_ms, *args, order=p.time_order)
        n += 1
    return n_active * n / (time.perf_counter() - t0)


def _paths(model: str) -> list[bool | None]:
    # tabulated models: both paths (tables first: the default); others: their one kernel
    return [True, False] if backends.lookup_tables_default(MODELS[model]) else [None]


def run_bench(*, sizes=(256, 1024), models=None, seconds: float = 1.0, verbose: bool = True,
              threads=None, gpu: bool | None = None, rounds: int = 7) -> dict:  # fmt: skip
    """Measure every model × size × precision × path × thread count; return (and print) the figures.

    ``threads``: thread counts to measure (default 1 and all). ``gpu``: also measure the CUDA
    backend (default: when a real device is present; never on the simulator). ``seconds``: the
    time of one measurement, cut into ``rounds`` calls interleaved with the other configurations
    of the same model and size (and with the copy bandwidth); each figure is a median.
    """
    import numba

    models = list(models or ALL_MODELS)
    all_threads = numba.config.NUMBA_NUM_THREADS
    threads = sorted(set(threads or (1, all_threads)))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    one_and_all = lambda: (copy_bandwidth(repeats=2),  # noqa: E731
                           copy_bandwidth(repeats=2, threads=all_threads) if all_threads > 1 else 0.0)
    bws = [one_and_all()]
    out = {"cpu_count": os.cpu_count(), "threads_max": all_threads, "load_average_1min": load,
           "rounds": rounds, "results": []}  # fmt: skip
    if verbose:
        print(f"load average (1 min): {load:.2f}; each figure the median of {rounds} calls, the configurations of "
              f"a model and size taken in turn, round by round, with the copy bandwidth")
        print(f"{'model':20s} {'size':>5s} {'prec':>7s} {'path':>5s} {'thr':>3s} {'Mcell-st/s':>10s} "
              f"{'x NumPy':>8s} {'B state':>7s} {'% bw st':>7s} {'B all':>5s} {'% bw all':>8s} {'1st call s':>10s}")
    for model in models:
        for n in sizes:
            configs = []
            for precision in ("float64", "float32"):
                for lut_choice in _paths(model):
                    problem = build(load_spec(bench_spec(model, n, precision, lookup_tables=lut_choice)))
                    path = "lut" if backends.uses_lookup_tables(problem) else "exact"
                    configs += [(problem, precision, path, th) for th in threads]
            ref_rate = _time_reference(configs[0][0], seconds)
            # one state per problem, stepped on by every thread count in turn
            per_problem = {}
            for problem, _, _, _ in configs:
                if id(problem) not in per_problem:
                    per_problem[id(problem)] = _Timed(problem, threads[0], seconds / rounds)
            timed = [(per_problem[id(problem)], th) for problem, _, _, th in configs]
            rates, round_bws = _time_interleaved(timed, rounds, one_and_all)
            numba.set_num_threads(all_threads)
            bws += round_bws
            bw = max(np.median([b[0] for b in round_bws]), np.median([b[1] for b in round_bws]))
            for (problem, precision, path, th), (t, _), rate in zip(configs, timed, rates):
                out["results"].append(_row(problem, model, n, precision, path, th, "cpu", rate, t.first, ref_rate, bw,
                                           verbose))  # fmt: skip
    bw1, bw_all = (float(np.median([b[k] for b in bws])) for k in (0, 1))
    bw = max(bw1, bw_all)
    out.update({"copy_bandwidth_gb_per_s": bw / 1e9, "copy_bandwidth_one_thread_gb_per_s": bw1 / 1e9,
                "copy_bandwidth_all_threads_gb_per_s": (bw_all or bw1) / 1e9})  # fmt: skip
    if verbose:
        print(f"memory bandwidth (large copy, median of {len(bws)}): {bw1 / 1e9:.2f} GB/s on 1 thread, "
              f"{(bw_all or bw1) / 1e9:.2f} GB/s on {all_threads}")
    if gpu is None:
        gpu = backends.cuda_usable() and os.environ.get("NUMBA_ENABLE_CUDASIM", "0") in ("", "0")
    if gpu:
        out["gpu"] = _bench_gpu(models, seconds, verbose)
    out["summary"] = summarise(out)
    if verbose:
        for key, value in out["summary"].items():
            print(f"{key}: {value:.3g}" if isinstance(value, float) else f"{key}: {value}")
    return out


def _row(problem, model, n, precision, path, threads, device, rate, first, ref_rate, bw, verbose) -> dict:
    st_bytes = state_bytes_per_cell_step(problem)
    all_bytes = bytes_per_cell_step(problem)
    row = {
        "model": model, "size": n, "precision": precision, "path": path, "threads": threads, "device": device,
        "cell_steps_per_s": rate, "first_call_s": first, "numpy_reference_cell_steps_per_s": ref_rate,
        "ratio_to_numpy": rate / ref_rate, "state_bytes_per_cell_step": st_bytes,
        "bandwidth_fraction_state": rate * st_bytes / bw, "bytes_per_cell_step": all_bytes,
        "bandwidth_fraction": rate * all_bytes / bw,
    }  # fmt: skip
    if verbose:
        print(f"{model:20s} {n:5d} {precision:>7s} {path:>5s} {threads:3d} {rate / 1e6:10.2f} {rate / ref_rate:8.1f} "
              f"{st_bytes:7d} {100 * rate * st_bytes / bw:6.1f}% {all_bytes:5d} {100 * rate * all_bytes / bw:7.1f}% "
              f"{first:10.2f}")
    return row


def summarise(out: dict) -> dict:
    """The ratios the performance targets are stated in, from the rows of one run."""
    rows = out["results"]

    def rate(**kw):
        hits = [r for r in rows if all(r.get(k) == v for k, v in kw.items())]
        return hits[0]["cell_steps_per_s"] if hits else None

    s = {}
    big = max((r["size"] for r in rows), default=None)
    tmax = out["threads_max"]
    hek = "hek_gokhale2017_35c"
    for path in ("lut", "exact"):
        r = [x for x in rows if x["model"] == hek and x["size"] == big and x["precision"] == "float64"
             and x["path"] == path and x["threads"] == tmax]  # fmt: skip
        if r:
            s[f"{hek} {big}² float64 {path} {tmax} threads: % of the state-bytes bandwidth limit"] = \
                100 * r[0]["bandwidth_fraction_state"]
            s[f"{hek} {big}² float64 {path} {tmax} threads: % of that limit from the one-thread copy"] = \
                100 * r[0]["cell_steps_per_s"] * r[0]["state_bytes_per_cell_step"] / (
                    out["copy_bandwidth_one_thread_gb_per_s"] * 1e9)
            s[f"{hek} {big}² float64 {path} {tmax} threads: % of the state+fields bandwidth limit"] = \
                100 * r[0]["bandwidth_fraction"]
        f64 = rate(model=hek, size=big, precision="float64", path=path, threads=tmax)
        f32 = rate(model=hek, size=big, precision="float32", path=path, threads=tmax)
        if f64 and f32:
            s[f"{hek} {big}² {path} float32 / float64"] = f32 / f64
    for model in sorted({r["model"] for r in rows}):
        path = "lut" if backends.lookup_tables_default(MODELS[model]) else "exact"
        one = rate(model=model, size=big, precision="float64", path=path, threads=1)
        many = rate(model=model, size=big, precision="float64", path=path, threads=tmax)
        if one and many and tmax > 1:
            s[f"{model} {big}² float64 thread scaling 1 -> {tmax}"] = many / one
    for size in sorted({r["size"] for r in rows}):
        lut_r = rate(model=hek, size=size, precision="float64", path="lut", threads=tmax)
        ex_r = rate(model=hek, size=size, precision="float64", path="exact", threads=tmax)
        if lut_r and ex_r:
            s[f"{hek} {size}² float64 lookup tables / exact"] = lut_r / ex_r
    for g in out.get("gpu", {}).get("results", []):
        s[f"GPU {g['model']} {g['size']}² {g['precision']}: % of device bandwidth (state bytes)"] = \
            100 * g["bandwidth_fraction_state"]
        s[f"GPU {g['model']} {g['size']}² {g['precision']}: ratio to the CPU kernel of this run"] = \
            g.get("ratio_to_cpu", float("nan"))
    s["load average (1 min) at the start"] = out["load_average_1min"]
    return s


def _device_bandwidth() -> float:
    from numba import cuda

    a = cuda.device_array(2**27)                # 1 GiB of float64
    b = cuda.device_array_like(a)
    best = np.inf
    for _ in range(5):
        cuda.synchronize()
        t0 = time.perf_counter()
        b.copy_to_device(a)
        cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return 2 * a.nbytes / best


def _bench_gpu(models, seconds: float, verbose: bool) -> dict:
    """The CUDA backend on 2048² sheets, against the device's copy bandwidth of the same run."""
    dbw = _device_bandwidth()
    res = {"device_copy_bandwidth_gb_per_s": dbw / 1e9, "results": []}
    if verbose:
        print(f"GPU copy bandwidth: {dbw / 1e9:.1f} GB/s")
    for model in models:
        for precision in ("float64", "float32"):
            problem = build(load_spec(bench_spec(model, 2048, precision, backend="cuda")))
            rate, first = _time_kernel(problem, seconds)
            row = _row(problem, model, 2048, precision, "cuda", 0, "cuda", rate, first, float("nan"), dbw, verbose)
            cpu = build(load_spec(bench_spec(model, 2048, precision)))
            row["cpu_cell_steps_per_s"], _ = _time_kernel(cpu, seconds)
            row["ratio_to_cpu"] = rate / row["cpu_cell_steps_per_s"]
            res["results"].append(row)
    return res


if __name__ == "__main__":  # pragma: no cover - python -m solver.numerics.bench [sizes] [models]
    import json
    import sys

    sizes = tuple(int(x) for x in sys.argv[1].split(",")) if len(sys.argv) > 1 else (256, 1024)
    models = sys.argv[2].split(",") if len(sys.argv) > 2 else None
    result = run_bench(sizes=sizes, models=models)
    print(json.dumps(result["summary"], indent=1))
