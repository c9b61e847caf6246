"""Start a Dask cluster on SLURM with dask-jobqueue and run an optowave sweep (or serve) on it.

    pip install dask-jobqueue            # on the login node, in the same environment as optowave
    sbatch deploy/slurm/sweep.sbatch sweeps/gna.yaml /scratch/$USER/gna.zarr

or interactively, keeping the cluster up for `optowave serve --scheduler` / `optowave sweep --scheduler`:

    python deploy/slurm/cluster.py --jobs 8 --keep

Every SLURM job is one node running ``--processes`` worker processes; each worker runs one task (one
Dask thread) with ``cores / processes`` numba threads. Sweeps want one core per worker (processes =
cores, NUMBA_NUM_THREADS = 1); a few long single runs want fewer, wider workers. Stores and
checkpoints must be on a file system every node mounts under the same path (the scratch or project
file system, not node-local /tmp).
"""
from __future__ import annotations

import argparse
import os
import sys
import time


def make_cluster(args):
    from dask_jobqueue import SLURMCluster

    threads = max(1, args.cores // args.processes)
    numba_cache = os.path.expandvars(args.numba_cache)
    return SLURMCluster(
        queue=args.partition,
        account=args.account,
        cores=args.cores,                 # cores per SLURM job (one node)
        processes=args.processes,         # Dask worker processes per job, one thread each
        memory=args.memory,               # per job; each worker gets memory / processes
        walltime=args.walltime,
        job_name="optowave-worker",
        local_directory=os.path.expandvars(args.local_directory),   # spill and scratch: node-local
        log_directory=os.path.expandvars(args.log_directory),
        worker_extra_args=["--nthreads", "1"],
        job_script_prologue=[
            f"export NUMBA_NUM_THREADS={threads}",
            f"export NUMBA_CACHE_DIR={numba_cache}",   # shared: compiled once, loaded by every worker
            "export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1",
            *(f"module load {m}" for m in args.module),
            *([f"source {args.venv}/bin/activate"] if args.venv else []),
        ],
        job_extra_directives=[f"--cpus-per-task={args.cores}", "--ntasks=1"],
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("sweep", nargs="?", help="sweep spec to run (omit with --keep to just hold the cluster)")
    p.add_argument("-o", "--output", help="summary Zarr store (on the shared file system)")
    p.add_argument("--jobs", type=int, default=4, help="SLURM jobs (nodes) to start (default 4)")
    p.add_argument("--partition", default=os.environ.get("OPTOWAVE_PARTITION"), help="SLURM partition")
    p.add_argument("--account", default=os.environ.get("OPTOWAVE_ACCOUNT"), help="SLURM account")
    p.add_argument("--cores", type=int, default=32, help="cores per job (default 32)")
    p.add_argument("--processes", type=int, default=32, help="worker processes per job (default: one per core)")
    p.add_argument("--memory", default="120GB", help="memory per job (default 120GB)")
    p.add_argument("--walltime", default="12:00:00", help="per job (default 12 h: overnight)")
    p.add_argument("--numba-cache", default="$HOME/.cache/optowave-numba")
    p.add_argument("--local-directory", default="$TMPDIR")
    p.add_argument("--log-directory", default="$HOME/optowave-logs")
    p.add_argument("--module", action="append", default=[], help="module to load on the nodes (repeatable)")
    p.add_argument("--venv", default=os.environ.get("VIRTUAL_ENV"), help="virtualenv to activate on the nodes")
    p.add_argument("--adapt", action="store_true", help="scale between 1 and --jobs jobs with the queue")
    p.add_argument("--keep", action="store_true", help="keep the cluster up (Ctrl-C to stop)")
    args = p.parse_args(argv)

    from distributed import Client

    cluster = make_cluster(args)
    if args.adapt:
        cluster.adapt(minimum_jobs=1, maximum_jobs=args.jobs)
    else:
        cluster.scale(jobs=args.jobs)
    client = Client(cluster)
    print(f"scheduler {cluster.scheduler_address}  (optowave sweep/serve --scheduler {cluster.scheduler_address})",
          flush=True)
    print(cluster.job_script(), file=sys.stderr)
    try:
        if args.sweep:
            from clients.progress import ProgressBar
            from service.sweep import run_sweep

            bar = ProgressBar("sweep", unit="runs", enabled=True)
            result = run_sweep(args.sweep, args.output, client=client, on_progress=lambda e: bar(e.done, e.total))
            print(f"{result.n_runs} runs, {result.skipped} already done, {result.n_failed} failed, "
                  f"{result.runs_per_s:.2f} runs/s; summary in {args.output}")
        while args.keep:
            time.sleep(60)
    except KeyboardInterrupt:
        pass
    finally:
        client.close()
        cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
