"""One time chunk of a job: the task a Dask worker (or this process) runs.

The task is idempotent: it starts from the checkpoint that the last commit names, and a chunk
that is already committed (a retry after the worker died between commit and reply) does nothing.
"""
from __future__ import annotations

import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import zarr

from solver.problem import Problem, build
from solver.result import OutputTracker
from solver.run import advance
from solver.spec import from_proto, parse_proto

from . import _files as files
from ._cluster import apply_numba_threads
from ._plan import ChunkPlan

#: Called as ``hook(chunk, stage)`` at stages "start", "written" (samples in the store) and
#: "checkpointed" (checkpoint on disk, commit not yet written): a place to inject faults in tests.
ChunkHook = Callable[[int, str], None]


class RunnerError(RuntimeError):
    """The runner cannot go on (a store that holds another job, a broken chain of commits, ...)."""


@dataclass(frozen=True)
class JobTicket:
    """What a chunk task needs to know about its job (small and picklable)."""

    spec_json: str
    base_dir: str
    spec_sha256: str
    store: str
    runner_dir: str
    plan: ChunkPlan
    numba_threads: int | None = None


_PROBLEMS: OrderedDict[tuple[str, str], Problem] = OrderedDict()


def problem_for(ticket: JobTicket) -> Problem:
    """The rasterised problem of a job, cached per process (a worker runs a job's chunks one by one)."""
    key = (ticket.spec_sha256, ticket.base_dir)
    if key not in _PROBLEMS:
        msg, _ = parse_proto(json.loads(ticket.spec_json))
        _PROBLEMS[key] = build(from_proto(msg, base_dir=ticket.base_dir))
        while len(_PROBLEMS) > 2:
            _PROBLEMS.popitem(last=False)
    return _PROBLEMS[key]


def run_chunk(ticket: JobTicket, k: int, previous: dict | None = None, hook: ChunkHook | None = None,
              owner: str | None = None) -> dict:
    """Advance chunk ``k`` from the last checkpoint, write its samples, checkpoint, commit.

    ``previous`` is the commit record of chunk ``k - 1`` (it only orders the tasks of a Dask chain).
    ``owner`` is the token of the attempt that submitted the chunk: a chunk of an attempt that has
    been superseded (its driver died and a new one resumed the job) stops before it writes.
    Returns the commit record of chunk ``k`` as a dict.
    """
    rdir = Path(ticket.runner_dir)
    plan = ticket.plan
    _check_owner(rdir, owner, k)
    last = files.read_commit(rdir)
    if last is None:
        raise RunnerError(f"{rdir} holds no commit record: the job was not created (open_job) or was removed")
    if last.chunk >= k:
        return last.to_dict()
    if last.chunk != k - 1:
        raise RunnerError(f"chunk {k} cannot run: the last committed chunk is {last.chunk}")
    if hook is not None:
        hook(k, "start")
    apply_numba_threads(ticket.numba_threads)
    problem = problem_for(ticket)
    state = files.read_checkpoint(rdir, last.checkpoint)
    start, stop = plan.steps(k)
    if state.step != start:
        raise RunnerError(f"checkpoint {last.checkpoint} is at step {state.step}, chunk {k} starts at step {start}")

    t0 = time.perf_counter()
    out = OutputTracker(problem)
    new = advance(problem, state, stop - start, trackers=[out])
    compute_s = time.perf_counter() - t0

    steps, arrays = out.arrays()
    i0, i1 = plan.samples(k)
    keep = steps < stop if k < plan.n_chunks - 1 else np.ones(steps.size, bool)
    if not np.array_equal(steps[keep], np.arange(i0, i1) * plan.sample_every):
        raise RunnerError(f"chunk {k} sampled steps {steps[keep].tolist()}, expected samples {i0}..{i1 - 1}")
    _check_owner(rdir, owner, k)
    write_samples(ticket.store, {name: a[keep] for name, a in arrays.items()}, i0, i1)
    if hook is not None:
        hook(k, "written")

    name = files.write_checkpoint(rdir, new)
    if hook is not None:
        hook(k, "checkpointed")
    _check_owner(rdir, owner, k)
    commit = files.Commit(chunk=k, step=new.step, checkpoint=name, compute_s=compute_s, committed_at=files.now())
    files.write_commit(rdir, commit)
    files.prune(rdir, keep=name)
    return commit.to_dict()


def _check_owner(rdir: Path, owner: str | None, k: int) -> None:
    if owner is None:
        return
    current = files.read_owner(rdir)
    if current != owner:
        raise RunnerError(f"chunk {k}: the job has been taken over by another attempt (owner {current}, this task's "
                          f"{owner}); this task stops without writing")


def write_samples(store: str, arrays: dict[str, np.ndarray], i0: int, i1: int) -> None:
    """Write samples ``[i0, i1)`` of each variable into the store (whole Zarr chunks along time)."""
    for name, data in arrays.items():
        arr = zarr.open_array(store=store, path=name, mode="r+")
        arr[i0:i1] = data

