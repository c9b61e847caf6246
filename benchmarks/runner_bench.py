"""Runner benchmark: the cost of chunking, and how a sweep scales with workers (not a test).

Prints, each against a baseline measured in the same run:

1. chunking overhead: a HEK sheet run in one piece (``solver.simulate`` + ``write_zarr``) against
   the same run in checkpointed chunks at the default chunk size, in process and on one Dask
   worker; the ratio (goal <= 1.1);
2. sweep scaling: a 16-point sweep (4 × 4) on one worker against two; the speed-up (goal >= 1.7
   on 2 cores) and runs per second;
3. the per-run cost of a 256² HEK sheet on one core (cell-steps/s), the number deploy/README.md
   turns into a worker count for an overnight sweep.

Usage::

    PYTHONPATH=protos:. python benchmarks/runner_bench.py [--size 128] [--duration-ms 300] [--skip-sweep]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "protos"), str(ROOT)]

import numpy as np  # noqa: E402

import solver  # noqa: E402
from service.runner import dask_client, machine_cores, open_job, plan_chunks  # noqa: E402
from service.sweep import load_sweep, run_point, run_sweep  # noqa: E402
from solver.engine.cost import NOMINAL_RATE  # noqa: E402
from solver.engine.result import write_zarr  # noqa: E402

MODEL = "hek_gokhale2017_35c"
DT_MS = 0.02          # below the diffusion limit dx²/(4D) = 0.025 ms at dx 10 µm, D 1000 µm²/ms
OVERNIGHT_RUN_MS = 500.0


def hek_sheet(nx: int, ny: int, duration_ms: float, *, dx_um: float = 10.0, irradiance: float = 2.0) -> dict:
    """The planar-wave example, resized: HEK sheet, light bar on the left edge for 3 ms."""
    return {
        "name": "runner bench", "grid": {"nx": nx, "ny": ny, "dx_um": dx_um},
        "tissue": {"model": {"preset": MODEL}}, "coupling": {"diffusivity_um2_per_ms": 1000.0},
        "light": [{"pattern": {"rectangle": {"min_um": {"x": 0, "y": 0}, "max_um": {"x": 60, "y": ny * dx_um}}},
                   "waveform": {"pulse": {"start_ms": 1.0, "width_ms": 3.0}}, "irradiance_mw_per_mm2": irradiance}],
        "output": {"variables": ["v"], "sample_interval_ms": 1.0},
        "numerics": {"dt_ms": DT_MS, "duration_ms": duration_ms},
    }


def best_of(n: int, fn) -> tuple[float, float]:
    """Best wall time of ``n`` calls, and the CPU time of this process during that call."""
    best = (float("inf"), float("nan"))
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        best = min(best, (time.perf_counter() - t0, time.process_time() - c0))
    return best


def chunking_overhead(size: int, duration_ms: float, repeats: int, work: Path, threads: int) -> dict:
    spec = hek_sheet(size, size, duration_ms)
    problem = solver.prepare(spec)
    plan = plan_chunks(problem)
    cell_steps = int(problem.active.sum()) * problem.n_steps
    solver.simulate(hek_sheet(8, 8, 1.0))  # load the kernel before timing

    def one_piece():
        write_zarr(solver.simulate(spec), work / "one.zarr", time_chunk=plan.time_chunk)

    def chunked(client=None):
        def go():
            open_job(spec, work / "chunked.zarr", overwrite=True).run(client)
        return go

    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        t_one, c_one = best_of(repeats, one_piece)
        t_chunked, c_chunked = best_of(repeats, chunked())
    finally:
        numba.set_num_threads(before)
    with dask_client(workers=1, numba_threads=threads) as client:
        client.submit(solver.simulate, hek_sheet(8, 8, 1.0), pure=False).result()  # import + kernel on the worker
        w0 = sum(client.run(time.process_time).values())
        t_dask, c_driver = best_of(repeats, chunked(client))
        c_dask = (sum(client.run(time.process_time).values()) - w0) / repeats + c_driver
    rate = cell_steps / t_one
    nominal = NOMINAL_RATE[MODEL] * threads
    out = {"grid": f"{size}x{size}", "duration_ms": duration_ms, "n_steps": problem.n_steps, "numba_threads": threads,
           "default_chunk_ms": plan.chunk_ms, "n_chunks": plan.n_chunks, "one_piece_s": t_one,
           "chunked_in_process_s": t_chunked, "chunked_dask_s": t_dask, "ratio_in_process": t_chunked / t_one,
           "ratio_dask": t_dask / t_one, "cpu_ratio_in_process": c_chunked / c_one, "cpu_ratio_dask": c_dask / c_one,
           "cell_steps_per_s": rate, "fraction_of_nominal": rate / nominal}
    print(f"chunking overhead, {size}×{size} HEK, {duration_ms:g} ms ({problem.n_steps} steps), default chunk "
          f"{plan.chunk_ms:g} ms = {plan.n_chunks} chunks, {threads} numba thread(s):")
    print(f"  one piece (simulate + write_zarr)  {t_one:7.2f} s wall {c_one:7.2f} s CPU   {rate:.3g} cell-steps/s "
          f"({rate / nominal:.0%} of solver.engine.cost's nominal {nominal:.3g} on {threads} thread(s))")
    print(f"  chunked, in process                {t_chunked:7.2f} s wall {c_chunked:7.2f} s CPU   ratio "
          f"{t_chunked / t_one:.3f} wall, {c_chunked / c_one:.3f} CPU")
    print(f"  chunked, one Dask worker           {t_dask:7.2f} s wall {c_dask:7.2f} s CPU   ratio "
          f"{t_dask / t_one:.3f} wall, {c_dask / c_one:.3f} CPU   (goal <= 1.1; CPU: worker + driver)")
    return out


def sweep_scaling(work: Path, nx: int, ny: int, duration_ms: float) -> dict:
    g_na = solver.models.get_model(MODEL).defaults["g_Na"]
    sweep = {
        "name": "bench", "base": hek_sheet(nx, ny, duration_ms),
        "axes": [{"path": "tissue.model.parameters.g_Na", "values": [g_na * f for f in (0.5, 0.75, 1.0, 1.25)]},
                 {"path": "light[0].irradiance_mw_per_mm2", "logspace": {"start": 0.5, "stop": 4.0, "num": 4}}],
        "metrics": ["propagated", "conduction_velocity", {"name": "activation_time",
                                                          "points_um": [[30.0, ny * 5.0], [nx * 10.0 - 30.0, ny * 5.0]]}],
    }
    times, cpu, share = {}, {}, {}
    for workers in (1, 2):
        with dask_client(workers=workers, numba_threads=1) as client:
            # imports, kernels and analysis functions loaded on every worker before the clock starts
            metrics = load_sweep(sweep).metrics
            client.run(run_point, hek_sheet(16, 8, 5.0), ".", metrics, {}, None)
            out = work / f"sweep{workers}.zarr"
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(work / f"sweep{workers}.runs", ignore_errors=True)
            t0 = time.perf_counter()
            result = run_sweep(sweep, out, client=client)
            times[workers] = time.perf_counter() - t0
            assert result.ran == 16, result
            per_run = float(np.nanmean(result.summary["run_seconds"].values))
            cpu[workers] = float(np.nanmean(result.summary["run_cpu_seconds"].values))
            share[workers] = float(np.nansum(result.summary["run_cpu_seconds"].values)) / (times[workers] * workers)
            print(f"  {workers} worker{'s' if workers > 1 else ' '}  {times[workers]:6.2f} s   "
                  f"{16 / times[workers]:.2f} runs/s   mean run {per_run:.2f} s wall, {cpu[workers]:.2f} s CPU; "
                  f"the workers got {share[workers]:.0%} of their cores")
    speedup = times[1] / times[2]
    print(f"  speed-up 1 -> 2 workers: {speedup:.2f}x (goal >= 1.7 on 2 cores; ideal {min(2, machine_cores())}x)")
    return {"grid": f"{nx}x{ny}", "duration_ms": duration_ms, "seconds_1_worker": times[1],
            "seconds_2_workers": times[2], "speedup": speedup, "runs_per_s_2_workers": 16 / times[2],
            "cpu_seconds_per_run": cpu[1], "core_share_1": share[1], "core_share_2": share[2]}


def per_run_cost(size: int, duration_ms: float) -> dict:
    """Cell-steps per second of one core on a size² HEK sheet (one numba thread), by wall and CPU time."""
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        solver.simulate(hek_sheet(8, 8, 1.0))  # load the kernel before timing
        spec = hek_sheet(size, size, duration_ms)
        problem = solver.prepare(spec)
        c0, t0 = time.process_time(), time.perf_counter()
        solver.simulate(spec)
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    finally:
        numba.set_num_threads(before)
    cell_steps = int(problem.active.sum()) * problem.n_steps
    rate = cell_steps / cpu
    run_cell_steps = 256 * 256 * round(OVERNIGHT_RUN_MS / DT_MS)
    print(f"per-run cost: {size}×{size} HEK, {duration_ms:g} ms ({cell_steps:.3g} cell-steps) on one core: "
          f"{wall:.2f} s wall, {cpu:.2f} s CPU = {rate:.3g} cell-steps per CPU-second")
    print(f"  a {OVERNIGHT_RUN_MS:g} ms run of a 256² sheet (dt {DT_MS:g} ms, {run_cell_steps:.3g} cell-steps) "
          f"= {run_cell_steps / rate:.0f} core-seconds")
    return {"grid": f"{size}x{size}", "duration_ms": duration_ms, "wall_s": wall, "cpu_s": cpu,
            "cell_steps_per_cpu_s": rate, "core_seconds_256sq_run": run_cell_steps / rate, "run_ms": OVERNIGHT_RUN_MS}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=128, help="sheet side for the chunking overhead (default 128)")
    p.add_argument("--duration-ms", type=float, default=400.0, help="simulated time for the overhead (default 400)")
    p.add_argument("--repeats", type=int, default=1, help="best of this many runs (default 1)")
    p.add_argument("--numba-threads", type=int, default=1,
                   help="numba threads for the overhead runs (default 1: steadier on a shared machine)")
    p.add_argument("--skip-overhead", action="store_true")
    p.add_argument("--skip-sweep", action="store_true")
    p.add_argument("--skip-per-run", action="store_true")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = p.parse_args(argv)
    figures = {"cores": machine_cores(), "load_average_before": os.getloadavg()}
    print(f"{machine_cores()} cores; load average {os.getloadavg()[0]:.2f} (other processes share these cores: "
          "ratios are only meaningful on a quiet machine)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not args.skip_overhead:
            figures["chunking"] = chunking_overhead(args.size, args.duration_ms, args.repeats, work,
                                                    args.numba_threads)
        if not args.skip_sweep:
            print("sweep scaling, 16 runs (4 g_Na × 4 irradiances) of a 128×48 HEK sheet, 100 ms each:")
            figures["sweep"] = sweep_scaling(work, 128, 48, 100.0)
        if not args.skip_per_run:
            figures["per_run"] = per_run_cost(256, 20.0)
    figures["load_average_after"] = os.getloadavg()
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    sys.exit(main())
