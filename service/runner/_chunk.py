"""One time chunk of a job: the task a Dask worker (or this process) runs.

The task is idempotent: it starts from the checkpoint that the last commit names, and a chunk
that is already committed (a retry after the worker died between commit and reply) does nothing.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from optowave.store import DirectoryStore
from solver.engine.job import JobRun
from solver.engine.problem import Problem, build
from solver.spec import JobSpec

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
    """What a chunk task needs to know about its job (small and picklable): the spec as parsed and checked
    once, never its JSON again."""

    spec: JobSpec
    spec_sha256: str
    store: str
    runner_dir: str
    plan: ChunkPlan
    numba_threads: int | None = None


_PROBLEMS: OrderedDict[tuple[str, str], Problem] = OrderedDict()


def problem_for(ticket: JobTicket) -> Problem:
    """The rasterised problem of a job, cached per process, for a task that was not handed one."""
    key = (ticket.spec_sha256, ticket.spec.base_dir)
    if key not in _PROBLEMS:
        _PROBLEMS[key] = build(ticket.spec)
        while len(_PROBLEMS) > 2:
            _PROBLEMS.popitem(last=False)
    return _PROBLEMS[key]


def run_chunk(ticket: JobTicket, k: int, previous: dict | None = None, hook: ChunkHook | None = None,
              owner: str | None = None, problem: Problem | None = None) -> dict:
    """Advance chunk ``k`` from the last checkpoint, write its output, record it, checkpoint, commit.

    ``previous`` is the commit record of chunk ``k - 1`` (it only orders the tasks of a Dask chain).
    ``owner`` is the token of the attempt that submitted the chunk: a chunk of an attempt that has
    been superseded (its driver died and a new one resumed the job) stops before it writes.
    ``problem`` is the job's rasterised problem (the driver's, or scattered once to a Dask cluster);
    without it the task rasterises the ticket's spec once per process.
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
    problem = problem if problem is not None else problem_for(ticket)
    try:
        checkpoint = files.read_checkpoint_bytes(rdir, last)
    except files.IntegrityError as exc:
        raise RunnerError(str(exc)) from None
    run = JobRun(problem, plan)
    _check_owner(rdir, owner, k)
    outcome = run.run_chunk(k, checkpoint, DirectoryStore(ticket.store))
    if k == plan.n_chunks - 1:
        DirectoryStore(ticket.store).finish()
    if hook is not None:
        hook(k, "written")
    files.write_record(rdir, k, outcome.written)
    name, sha = files.write_checkpoint(rdir, outcome.step, outcome.checkpoint)
    if hook is not None:
        hook(k, "checkpointed")
    _check_owner(rdir, owner, k)
    commit = files.Commit(chunk=k, step=outcome.step, checkpoint=name, checkpoint_sha256=sha,
                          compute_s=outcome.compute_s, committed_at=files.now())
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
