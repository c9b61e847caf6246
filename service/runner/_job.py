"""A job run as a chain of checkpointed time chunks, in this process or on a Dask cluster."""
from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import xarray as xr

from optowave.store import DirectoryStore
from solver.engine.job import JobRun, encode_checkpoint
from solver.engine.problem import Problem, build
from solver.engine.run import State, initial_state as solver_initial_state
from solver.spec import JobSpec, load_spec

from . import _files as files
from ._chunk import ChunkHook, JobTicket, RunnerError, run_chunk
from ._plan import ChunkPlan, plan_chunks


@dataclass(frozen=True)
class Progress:
    """One event per committed chunk: where the run is, how fast it goes, when it should end."""

    chunk: int                # the chunk just committed (0-based)
    n_chunks: int
    step: int                 # solver step reached
    n_steps: int
    t_ms: float               # simulated time reached (ms)
    duration_ms: float
    elapsed_s: float          # wall time since this attempt started
    cell_steps_per_s: float   # tissue cells × steps per wall second, over this attempt
    eta_s: float              # wall seconds left at that rate
    resumed_from: int         # first chunk this attempt ran (0 unless resumed)

    @property
    def fraction(self) -> float:
        return self.step / self.n_steps if self.n_steps else 1.0


@dataclass(frozen=True)
class JobResult:
    store: Path
    runner_dir: Path
    n_chunks: int
    resumed_from: int         # first chunk this attempt ran (n_chunks when there was nothing left)
    chunks_run: int
    elapsed_s: float
    cell_steps_per_s: float


class ChunkedJob:
    """A job's store and bookkeeping, ready to run or resume (make one with :func:`open_job`)."""

    def __init__(self, spec: JobSpec, problem: Problem, plan: ChunkPlan, store: Path, runner_dir: Path,
                 *, numba_threads: int | None = None):
        self.spec, self.problem, self.plan = spec, problem, plan
        self.store, self.runner_dir = store, runner_dir
        self.ticket = JobTicket(spec=spec, spec_sha256=files.sha256(spec.json),
                                store=str(store), runner_dir=str(runner_dir), plan=plan, numba_threads=numba_threads)

    @property
    def n_chunks(self) -> int:
        return self.plan.n_chunks

    @property
    def next_chunk(self) -> int:
        """The first chunk not committed yet (``n_chunks`` when the job is done)."""
        commit = files.read_commit(self.runner_dir)
        return 0 if commit is None else commit.chunk + 1

    @property
    def done(self) -> bool:
        return self.next_chunk >= self.n_chunks

    def events(self, client=None, *, hook: ChunkHook | None = None) -> Iterator[Progress]:
        """Run the chunks not committed yet and yield a :class:`Progress` as each one commits.

        With a ``distributed.Client`` the chunks are a chain of Dask tasks (each depends on the
        one before); without, they run here. Either way the store ends up the same, bit for bit.
        Closing the iterator early cancels the chunks not started.
        """
        first = self.next_chunk
        owner = files.write_owner(self.runner_dir) if first < self.n_chunks else None
        t0 = time.perf_counter()
        start_step = self.plan.steps(first)[0] if first < self.n_chunks else self.plan.n_steps
        n_active = max(1, int(self.problem.active.sum()))
        dur = self.plan.n_steps * self.plan.dt_ms

        def event(record: dict) -> Progress:
            elapsed = time.perf_counter() - t0
            done = n_active * (record["step"] - start_step)
            rate = done / elapsed if elapsed > 0 else float("nan")
            left = n_active * (self.plan.n_steps - record["step"])
            eta = left / rate if rate > 0 else float("nan")
            return Progress(record["chunk"], self.n_chunks, record["step"], self.plan.n_steps,
                            record["step"] * self.plan.dt_ms, dur, elapsed, rate, eta, first)

        if client is None:
            for k in range(first, self.n_chunks):
                yield event(run_chunk(self.ticket, k, None, hook, owner, self.problem))
            return
        yield from (event(r) for r in _dask_chain(client, self.ticket, self.problem, first, self.n_chunks, hook,
                                                  owner))

    def run(self, client=None, *, on_progress: Callable[[Progress], None] | None = None,
            hook: ChunkHook | None = None) -> JobResult:
        """Run (or resume) to the end; ``on_progress`` gets each :class:`Progress`."""
        first = self.next_chunk
        t0 = time.perf_counter()
        last = None
        for last in self.events(client, hook=hook):
            if on_progress is not None:
                on_progress(last)
        return JobResult(self.store, self.runner_dir, self.n_chunks, first, self.n_chunks - first,
                         time.perf_counter() - t0, last.cell_steps_per_s if last else float("nan"))

    def dataset(self) -> xr.Dataset:
        """The store as a lazily loaded Dataset."""
        return DirectoryStore(self.store).open_dataset()


def _dask_chain(client, ticket: JobTicket, problem: Problem, first: int, n_chunks: int, hook,
                owner: str | None) -> Iterator[dict]:
    """Submit chunks ``first..n_chunks-1`` as a chain of tasks and yield their commit records in order.

    The rasterised problem goes to the cluster once, as the result of a task that returns it (unlike
    scattered data, a task's result is recomputed, from the problem pickled in the task, when the worker
    holding it dies); every chunk task takes it from there.
    """
    from distributed import KilledWorker

    token = f"{ticket.spec_sha256[:10]}-{uuid.uuid4().hex[:8]}"
    shared = client.submit(_given, problem, key=f"optowave-problem-{token}", pure=False) if first < n_chunks else None
    futures, prev = {}, None
    for k in range(first, n_chunks):
        prev = futures[k] = client.submit(run_chunk, ticket, k, prev, hook, owner, shared,
                                          key=f"optowave-chunk-{token}-{k:06d}", pure=False)
    try:
        for k in range(first, n_chunks):
            try:
                record = futures.pop(k).result()
            except KilledWorker as exc:
                raise RunnerError(f"chunk {k} lost its worker too many times ({exc}); the job can resume from "
                                  f"chunk {k}") from exc
            yield record
    finally:
        if futures:
            client.cancel(list(futures.values()))


def _given(problem: Problem) -> Problem:
    return problem


# ---------------------------------------------------------------- opening a job


def open_job(spec, store: str | os.PathLike, *, chunk_ms: float | None = None, initial_state=None,
             overwrite: bool = False, runner_dir: str | os.PathLike | None = None,
             numba_threads: int | None = None) -> ChunkedJob:
    """Create a job's store and bookkeeping, or reopen them to resume.

    Parameters
    ----------
    spec
        A job spec (path, text, dict or message: validated here), or a spec object as
        :func:`solver.load_spec` made it (taken as it is: parsed and checked once).
    store
        The result Zarr store (a directory). Its bookkeeping goes to ``runner_dir``
        (default ``<store>.runner``): the store and that directory must be on a file system
        that every worker sees under the same path.
    chunk_ms
        Time chunk (ms); default the spec's ``numerics.chunk_ms``, else a cost-based default.
        A whole number of output sample intervals.
    initial_state
        Continue from another run's final state instead of the spec's initial state: a
        :class:`solver.State`, a finished run's store or bookkeeping directory, or a checkpoint
        ``.npz``. The new run starts at t = 0 from that state (same grid, model and opsin).
    overwrite
        Replace a store that holds another job (or was not written by the runner).
    numba_threads
        Numba threads each chunk task uses (default: the worker's own setting).

    Returns
    -------
    ChunkedJob
        ``job.next_chunk`` says where it will start: 0 for a new job, the chunk after the last
        committed one for an interrupted job, ``n_chunks`` for a finished one.
    """
    spec = spec if isinstance(spec, JobSpec) else load_spec(spec)   # a JobSpec object is parsed and checked
    problem = build(spec)
    plan = plan_chunks(problem, chunk_ms)
    store = Path(store)
    rdir = Path(runner_dir) if runner_dir is not None else files.runner_dir_for(store)
    y0, source = _initial(problem, initial_state)
    identity = {
        "format": files.FORMAT_VERSION,
        "spec_sha256": files.sha256(spec.json),
        "inputs_sha256": _inputs_sha256(problem),
        "plan": plan.to_dict(),
        "state_names": list(problem.state_names),
        "state_shape": list(y0.shape),
        "dtype": str(np.dtype(problem.dtype)),
        "initial_state_sha256": files.sha256(y0.tobytes()),
    }
    job = ChunkedJob(spec, problem, plan, store, rdir, numba_threads=numba_threads)
    recorded = files.read_json(rdir / files.JOB_FILE)
    if recorded is not None and recorded.get("identity") == identity and not overwrite:
        if files.read_commit(rdir) is not None and (store / "zarr.json").exists():
            return job          # resume (or nothing left to do)
    elif recorded is not None or store.exists():
        if not overwrite:
            if recorded is not None:
                old = recorded.get("identity", {})
                differ = sorted(k for k in set(old) | set(identity) if old.get(k) != identity.get(k))
                what = f"holds a different job ({', '.join(_IDENTITY_WORDS.get(k, k) for k in differ)} differ)"
            else:
                what = "exists and was not written by the runner"
            raise RunnerError(f"{store} {what}; choose another path or overwrite it (overwrite=True, "
                              f"optowave run --overwrite)")
    _create(job, identity, y0, source)
    return job


_IDENTITY_WORDS = {"spec_sha256": "spec", "inputs_sha256": "rasterised inputs", "plan": "time chunks",
                   "initial_state_sha256": "initial state", "state_names": "state variables",
                   "state_shape": "state shape", "dtype": "precision", "format": "runner format"}


def _inputs_sha256(problem: Problem) -> str:
    """Hash of what the kernel sees besides the spec text (rasters read from files relative to the spec)."""
    parts = (problem.active, problem.wx, problem.wy, problem.pmaps, problem.gop, problem.light_weights,
             problem.current_weights, problem.initial)
    return files.sha256(b"".join(np.ascontiguousarray(a).tobytes() for a in parts))


def _create(job: ChunkedJob, identity: dict, y0: np.ndarray, source: str | None) -> None:
    for p in (job.store, job.runner_dir):
        if p.exists():
            shutil.rmtree(p)
    job.runner_dir.mkdir(parents=True)
    files.write_json(job.runner_dir / files.JOB_FILE, {"identity": identity, "spec": json.loads(job.spec.json),
                                                       "base_dir": job.spec.base_dir, "initial_state_from": source})
    store = DirectoryStore(job.store)
    written = JobRun(job.problem, job.plan).initialise(store)
    if source is not None:
        store.set_attrs(initial_state_from=source)
        store.consolidate()
    files.write_record(job.runner_dir, None, written)
    name, sha = files.write_checkpoint(job.runner_dir, 0, encode_checkpoint(State(0, y0)))
    files.write_commit(job.runner_dir, files.Commit(chunk=-1, step=0, checkpoint=name, checkpoint_sha256=sha,
                                                    committed_at=files.now()))


def _initial(problem: Problem, initial_state) -> tuple[np.ndarray, str | None]:
    """The state at step 0 and a description of where it came from (None: the spec's own)."""
    if initial_state is None:
        return solver_initial_state(problem).y, None
    if isinstance(initial_state, State):
        state, source, names = initial_state, "a State given in the API", None
    else:
        state, source, names = _final_state_and_names(initial_state)
    expected = problem.initial.shape
    if tuple(state.y.shape) != tuple(expected):
        raise RunnerError(f"initial_state from {source} has shape {tuple(state.y.shape)} (state, y, x); this job needs "
                          f"{tuple(expected)} ({', '.join(problem.state_names)} on a {problem.ny}×{problem.nx} grid)")
    if names is not None and tuple(names) != tuple(problem.state_names):
        raise RunnerError(f"initial_state from {source} has state variables {', '.join(names)}; this job needs "
                          f"{', '.join(problem.state_names)} (same model and opsin)")
    return np.ascontiguousarray(state.y, dtype=problem.dtype), source


def final_state(source: str | os.PathLike) -> State:
    """The final state of a finished chunked run (its store, bookkeeping directory or a checkpoint ``.npz``)."""
    return _final_state_and_names(source)[0]


def _final_state_and_names(source) -> tuple[State, str, list[str] | None]:
    p = Path(source)
    if p.is_file():
        return State.from_bytes(p.read_bytes()), str(p), None
    rdir = p if (p / files.JOB_FILE).exists() else files.runner_dir_for(p)
    job = files.read_json(rdir / files.JOB_FILE)
    commit = files.read_commit(rdir)
    if job is None or commit is None:
        raise RunnerError(f"initial_state: {p} is neither a checkpoint file nor a run written by the chunked runner "
                          f"(no {rdir / files.JOB_FILE})")
    plan = ChunkPlan(**job["identity"]["plan"])
    if commit.chunk != plan.n_chunks - 1:
        raise RunnerError(f"initial_state: the run at {p} is not finished ({commit.chunk + 1} of {plan.n_chunks} "
                          f"chunks committed); resume it first")
    return files.read_checkpoint(rdir, commit.checkpoint), str(p), job["identity"]["state_names"]


def run_job(spec, store, *, client=None, chunk_ms: float | None = None, initial_state=None, overwrite: bool = False,
            on_progress: Callable[[Progress], None] | None = None, hook: ChunkHook | None = None) -> JobResult:
    """Open (or resume) a job and run it to the end: :func:`open_job` then :meth:`ChunkedJob.run`."""
    job = open_job(spec, store, chunk_ms=chunk_ms, initial_state=initial_state, overwrite=overwrite)
    return job.run(client, on_progress=on_progress, hook=hook)
