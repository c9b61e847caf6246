"""A design search through the server against the same search run here, on the same Dask cluster (not a test).

The threshold design of ``examples/design/spot_threshold.yaml`` (on an n² sheet) runs

1. here: ``optowave design --scheduler`` (a ``SweepEvaluator`` on the cluster, then the report), the baseline;
2. through a server (``optowave serve --scheduler``, its own process) pointed at the same scheduler: ``Client.design``, watched to its end, the report
   fetched into a local directory.

Each side simulates every run (separate run records); the two alternate ``--repeats`` times after one untimed
warm-up search. Prints the wall times, the ratio server / here (the issue's budget: <= 1.15) and the fraction of
each wall time that the search's critical path (the slowest run of each round, summed) accounts for.

Usage::

    PYTHONPATH=protos:. python benchmarks/design_server_bench.py [--size 128] [--workers 2] [--repeats 2] [--json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "protos"), str(ROOT)]

import yaml  # noqa: E402

from clients import Client  # noqa: E402
from service.runner import dask_client  # noqa: E402
from service.sweep import SweepEvaluator  # noqa: E402
from solver.design import load_design, run_design, write_report  # noqa: E402


def design_file(tmp: Path, size: int) -> Path:
    doc = yaml.safe_load((ROOT / "examples/design/spot_threshold.yaml").read_text())
    doc["base"] = str(ROOT / "examples/design" / doc["base"])
    doc["set"] = {"grid.nx": size, "grid.ny": size,
                  "numerics.duration_ms": float(round(10.0 + size * 10.0 * 0.75 / 45.0))}
    path = tmp / "design.json"
    path.write_text(json.dumps(doc))
    return path


def server_process(data: Path, scheduler: str):
    """``optowave serve --scheduler`` in a subprocess (its own process, as in production); returns it and its
    address."""
    cmd = [sys.executable, "-m", "clients.cli", "serve", "--listen", "127.0.0.1:0", "--data", str(data),
           "--scheduler", scheduler]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        if line.startswith("optowave serving on "):
            return proc, line.split()[3]
    proc.kill()
    raise RuntimeError("the server did not start")


def here(path: Path, out: Path, client) -> tuple[float, float]:
    """Wall time and critical path (s) of the search here, its rounds on ``client``."""
    t0 = time.perf_counter()
    design = load_design(path)
    ev = SweepEvaluator(out / "runs", client=client, base_dir=design.base_dir, analysis=design.doc.get("analysis"))
    result = run_design(design, ev)
    write_report(result, out, title=design.name)
    return time.perf_counter() - t0, result.critical_path_s()


def through_server(path: Path, out: Path, address: str) -> tuple[float, float]:
    t0 = time.perf_counter()
    with Client(address) as client:
        design = client.design(path).wait()
        paths = design.report(out)
    wall = time.perf_counter() - t0
    runs = json.loads(paths["report.json"].read_text())["runs"]
    by_round: dict[int, float] = {}
    for r in runs:
        by_round[r["round"]] = max(by_round.get(r["round"], 0.0), r["seconds"] or 0.0)
    return wall, sum(by_round.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="optowave-design-bench-") as tmp_name, \
            dask_client(workers=args.workers, numba_threads=1) as cluster:
        tmp = Path(tmp_name)
        path = design_file(tmp, args.size)
        here(path, tmp / "warm-up", cluster)              # the workers load the kernels once
        proc, address = server_process(tmp / "server", cluster.scheduler.address)
        try:
            local, remote = [], []
            for k in range(args.repeats):
                local.append(here(path, tmp / f"here-{k}", cluster))
                remote.append(through_server(path, tmp / f"there-{k}", address))
        finally:
            proc.terminate()
            proc.wait(60)
    t_here = statistics.median(w for w, _ in local)
    t_there = statistics.median(w for w, _ in remote)
    figures = {
        "size": args.size, "workers": args.workers, "repeats": args.repeats,
        "here_s": t_here, "server_s": t_there, "here_each_s": [w for w, _ in local],
        "server_each_s": [w for w, _ in remote], "ratio_server_to_here": t_there / t_here,
        "critical_path_fraction_here": statistics.median(c / w for w, c in local),
        "critical_path_fraction_server": statistics.median(c / w for w, c in remote),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"threshold design, {args.size}^2 sheet, {args.workers} Dask workers, median of {args.repeats}:")
    print(f"  here (optowave design --scheduler): {t_here:8.2f} s  (critical path "
          f"{100 * figures['critical_path_fraction_here']:.0f} % of it)")
    print(f"  through the server (Client.design): {t_there:8.2f} s  (critical path "
          f"{100 * figures['critical_path_fraction_server']:.0f} % of it)")
    print(f"  each: here {', '.join(f'{w:.2f}' for w, _ in local)} s; server "
          f"{', '.join(f'{w:.2f}' for w, _ in remote)} s")
    print(f"  ratio server / here: {figures['ratio_server_to_here']:.3f}  (budget <= 1.15)")


if __name__ == "__main__":
    main()
