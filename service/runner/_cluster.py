"""Where chunks and sweep runs execute: a local Dask cluster sized to the machine, or an existing one.

One job per worker process, one Dask thread per worker, numba threads inside a job (DESIGN.md
"Scale"). Numba's thread count is per thread (``numba.set_num_threads``) under a per-process
ceiling (``NUMBA_NUM_THREADS``, read when numba is first imported). Local workers are told their
count through ``OPTOWAVE_NUMBA_THREADS`` and every task sets it in the thread it runs on
(:func:`apply_numba_threads`); ``NUMBA_NUM_THREADS`` itself is not passed to local workers, because
the Nanny sets the environment after the worker process may already have imported numba (when the
parent's ``__main__`` does), and numba refuses a changed ceiling once its threads run. The deploy
recipes set ``NUMBA_NUM_THREADS`` before the worker starts instead.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

#: Read by the tasks: numba threads to use in the task's thread.
THREADS_ENV = "OPTOWAVE_NUMBA_THREADS"
#: Environment of local worker processes besides THREADS_ENV: no nested BLAS pools beside numba's.
WORKER_ENV = {"MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def apply_numba_threads(n: int | None = None) -> int:
    """Use ``n`` numba threads (default: ``$OPTOWAVE_NUMBA_THREADS``, else numba's own default) in
    the calling thread, capped by the process's ceiling; return the count in effect."""
    import numba

    if n is None:
        given = os.environ.get(THREADS_ENV)
        n = int(given) if given else None
    if n:
        numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))
    return numba.get_num_threads()


def machine_cores() -> int:
    """Cores this process may use (the affinity mask, not the whole machine)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def worker_layout(workers: int | None = None, numba_threads: int | None = None) -> tuple[int, int]:
    """``(worker processes, numba threads per worker)``: by default one worker per core, and the
    cores shared out between the workers' numba pools."""
    cores = machine_cores()
    n = int(workers) if workers else cores
    if n < 1:
        raise ValueError(f"workers = {workers!r} is not allowed; must be >= 1")
    threads = int(numba_threads) if numba_threads else max(1, cores // n)
    if threads < 1:
        raise ValueError(f"numba_threads = {numba_threads!r} is not allowed; must be >= 1")
    return n, threads


@contextmanager
def dask_client(*, scheduler: str | None = None, workers: int | None = None, numba_threads: int | None = None,
                memory_limit: str | float = "auto", dashboard: bool = False) -> Iterator:
    """A ``distributed.Client``: on the scheduler at ``scheduler`` (``tcp://HOST:PORT``), or on a new
    ``LocalCluster`` of ``workers`` processes with one thread each (default: one per core).

    The local workers' tasks use ``numba_threads`` numba threads each (default: cores // workers).
    An existing cluster keeps its own settings (see ``deploy/README.md``).
    """
    from distributed import Client, LocalCluster

    if scheduler and workers:
        raise ValueError("give either scheduler (an existing cluster) or workers (a local one), not both")
    if scheduler:
        client = Client(scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    n, threads = worker_layout(workers, numba_threads)
    # the scheduler's HTTP server (health, metrics; the dashboard only if asked) on a free port: with none
    # given it takes 8787 and warns when another cluster on the machine holds that port
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, memory_limit=memory_limit,
                           dashboard_address=":0", scheduler_kwargs={"dashboard": dashboard},
                           env={**WORKER_ENV, THREADS_ENV: str(threads)})
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
