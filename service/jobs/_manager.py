"""The job manager: submissions, the queue, the drivers, and events for watchers, on one event loop.

Nothing here blocks the loop: the table is used from one database thread, checks and store
work run in an I/O pool, and each running job is followed by a driver thread of its own while
its chunks run on Dask (or in that thread). A driver reports each committed chunk back to the
loop and waits until the table has recorded it, so events reach watchers in commit order and a
chunk is advertised only after its write returned.

Layout of the data directory::

    jobs.sqlite                 the job, sweep and design table (WAL)
    jobs/<id>/result.zarr       a job's result store (one Zarr v3 store per job)
    jobs/<id>/result.zarr.runner    the runner's checkpoints and commit record
    jobs/<id>/stop              present: start no more chunks (cancelled, or the server stopping)
    sweeps/<id>/summary.zarr    a sweep's summary (its runs' records in summary.runs/)
    sweeps/<id>/stop            present: the sweep was cancelled (runs look for it)
    designs/<id>/runs/          a design's run records; designs/<id>/report/ its report; designs/<id>/stop
"""
from __future__ import annotations

import asyncio
import base64
import logging
import re
import secrets
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Iterator

from . import _states as st
from ._backend import Backend
from ._errors import BadArgument, Deleted, NotFound, NotTerminal, QuotaExceeded, RequestConflict, ShuttingDown, StartupError
from ._prepare import Limits, Prepared, canonical, prepare_job, remove_job_files
from ._runs import Outcome, drive_job, finite
from ._table import JobRecord, JobTable, NewJob

log = logging.getLogger("optowave.jobs")

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: Longest request_id accepted (a UUID is 36 characters).
MAX_REQUEST_ID = 128
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 50, 1000
#: How long a job's end is retried when the job table cannot be written.
END_RECORD_S = 120.0
#: How long a driver waits for the loop to record one of its events.
DRIVER_CALL_TIMEOUT_S = 120.0


def new_id() -> str:
    """An unguessable id (128 random bits, URL-safe)."""
    return secrets.token_urlsafe(16)


@dataclass
class _Active:
    stop: threading.Event
    task: asyncio.Task | None = None


class Subscription:
    """Events of one job (its row after each change) for one watcher; ``None`` means "wake up"."""

    def __init__(self):
        self.queue: asyncio.Queue = asyncio.Queue()

    async def next(self):
        return await self.queue.get()


class JobManager:
    """The jobs of one server: table, queue, drivers, events.

    Parameters
    ----------
    data_dir
        Where the table and the stores live (every Dask worker must see it under the same path).
    backend
        Where chunks run (opened by :meth:`start`, closed by :meth:`stop`).
    max_concurrent
        Jobs running at once; queued jobs start in submission order as slots free up.
    limits
        Per-job and per-client limits (:class:`Limits`).
    """

    def __init__(self, data_dir: str | Path, *, backend: Backend | None = None, max_concurrent: int = 2,
                 limits: Limits = Limits(), io_threads: int = 4):
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent = {max_concurrent} is not allowed; must be >= 1")
        self.data_dir = Path(data_dir).resolve()
        self.backend = backend or Backend(workers=0)
        self.max_concurrent = max_concurrent
        self.limits = limits
        self._db_pool = ThreadPoolExecutor(1, thread_name_prefix="optowave-db")
        self._io_pool = ThreadPoolExecutor(io_threads, thread_name_prefix="optowave-io")
        self._run_pool = ThreadPoolExecutor(max_concurrent + 4, thread_name_prefix="optowave-driver")
        self._table: JobTable | None = None
        self._active: dict[str, _Active] = {}
        self._prepared: dict[str, object] = {}   # queued jobs as submit parsed and rasterised them
        self._resume: list[str] = []
        self._subs: dict[str, set[Subscription]] = {}
        self._submit_lock: asyncio.Lock | None = None
        self._wake: asyncio.Event | None = None
        self._dispatcher: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.draining = False
        self.sweeps = None   # a SweepManager, attached by start()
        self.designs = None  # a DesignManager, attached by start()

    # ------------------------------------------------------------ paths

    def store_path(self, job_id: str) -> Path:
        return self.data_dir / "jobs" / job_id / "result.zarr"

    def stop_file(self, job_id: str) -> Path:
        return self.data_dir / "jobs" / job_id / "stop"

    # ------------------------------------------------------------ plumbing

    async def db(self, fn, *args, **kwargs):
        """Run ``fn(table, ...)`` on the database thread."""
        return await self._loop.run_in_executor(self._db_pool, partial(fn, self._table, *args, **kwargs))

    async def io(self, fn, *args, **kwargs):
        """Run CPU or disk work in the I/O pool."""
        return await self._loop.run_in_executor(self._io_pool, partial(fn, *args, **kwargs))

    async def run_in_driver(self, fn, *args, **kwargs):
        return await self._loop.run_in_executor(self._run_pool, partial(fn, *args, **kwargs))

    def call_from_driver(self, coro) -> None:
        """From a driver thread: run ``coro`` on the loop and wait for it (keeps events in order; a
        loop that is gone raises here, and the driver ends)."""
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=DRIVER_CALL_TIMEOUT_S)

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Open the table and the backend, resume jobs that were running, start the queue."""
        from ._designs import DesignManager
        from ._sweeps import SweepManager

        self._loop = asyncio.get_running_loop()
        self._submit_lock, self._wake = asyncio.Lock(), asyncio.Event()
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            (self.data_dir / "jobs").mkdir(exist_ok=True)
        except OSError as exc:
            raise StartupError(f"data directory {str(self.data_dir)!r} cannot be used: {exc.strerror or exc}") from None
        db_path = self.data_dir / "jobs.sqlite"
        try:     # the table is opened and read before any cluster is started
            self._table = await self._loop.run_in_executor(self._db_pool, JobTable, db_path)
            running = await self.db(JobTable.in_state, st.RUNNING)
            queued = await self.db(JobTable.in_state, st.QUEUED)
        except sqlite3.Error as exc:
            raise StartupError(f"job table {str(db_path)!r} is damaged or not an optowave job table ({exc}); move it "
                               "aside to start with an empty table") from None
        await self.io(self.backend.open)
        await self.io(self._clear_stop_files, [r.id for r in running + queued])
        await self.io(self._remove_orphans, await self.db(JobTable.all_ids))
        self._resume = [r.id for r in running]
        if running:
            log.info("resuming %d job(s) that were running: %s", len(running), ", ".join(self._resume))
        self.sweeps, self.designs = SweepManager(self), DesignManager(self)
        await self.sweeps.start()
        await self.designs.start()
        self._dispatcher = asyncio.create_task(self._dispatch(), name="optowave-dispatch")
        self._wake.set()

    async def drain(self) -> None:
        """Start no more jobs or chunks; wake every watcher and stream so that they end (UNAVAILABLE,
        resumable) once they have sent what is committed. Running jobs stop after their chunk in flight."""
        if self.draining:
            return
        self.draining = True
        if self._wake is not None:
            self._wake.set()
        for job_id, active in list(self._active.items()):
            active.stop.set()
            await self.io(_touch, self.stop_file(job_id))
        self._wake_all()

    async def stop(self, *, timeout: float = 30.0) -> None:
        """Drain, wait for the drivers, close the backend, the pools and the table.

        Jobs stay RUNNING in the table: the next start resumes them from their last committed chunk.
        """
        await self.drain()
        for groups in (self.sweeps, self.designs):
            if groups is not None:
                await groups.stop()
        tasks = [a.task for a in self._active.values() if a.task is not None]
        if tasks:
            done, pending = await asyncio.wait(tasks, timeout=timeout)
            if pending:
                log.warning("%d job driver(s) still busy after %.0f s; their jobs resume on the next start",
                            len(pending), timeout)
        if self._dispatcher is not None:
            self._dispatcher.cancel()
        await self.io(self.backend.close)
        self._io_pool.shutdown(wait=False)
        self._run_pool.shutdown(wait=False)
        if self._table is not None:
            await self._loop.run_in_executor(self._db_pool, self._table.close)
        self._db_pool.shutdown(wait=True)

    async def close_unstarted(self) -> None:
        """Release what a manager holds when :meth:`start` failed part way or was never called."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.backend.close)
        self._io_pool.shutdown(wait=False)
        self._run_pool.shutdown(wait=False)
        if self._table is not None:
            await loop.run_in_executor(self._db_pool, self._table.close)
        self._db_pool.shutdown(wait=True)

    def _clear_stop_files(self, ids) -> None:
        for job_id in ids:
            self.stop_file(job_id).unlink(missing_ok=True)

    def _remove_orphans(self, known: set[str]) -> None:
        """Directories of submissions that never reached the table (the server died mid-submit)."""
        for sub in ("jobs", "tmp"):
            root = self.data_dir / sub
            if root.is_dir():
                for d in root.iterdir():
                    if sub == "tmp" or d.name not in known:
                        remove_job_files(d / "result.zarr")

    # ------------------------------------------------------------ events

    @contextmanager
    def subscribe(self, job_id: str) -> Iterator[Subscription]:
        sub = Subscription()
        self._subs.setdefault(job_id, set()).add(sub)
        try:
            yield sub
        finally:
            subs = self._subs.get(job_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[job_id]

    def publish(self, rec) -> None:
        for sub in self._subs.get(rec.id, ()):
            sub.queue.put_nowait(rec)

    def _wake_all(self) -> None:
        for subs in self._subs.values():
            for sub in subs:
                sub.queue.put_nowait(None)

    # ------------------------------------------------------------ requests

    async def validate(self, msg):
        """``(errors, warnings, cost)`` of a spec as a submission would find them (nothing is kept)."""
        from solver.spec import SpecError

        scratch = self.data_dir / "tmp" / new_id() / "result.zarr"
        try:
            prepared = await self.io(prepare_job, msg, scratch, self.limits)
        except SpecError as exc:
            return list(exc.violations), [], None
        except QuotaExceeded as exc:
            from solver.spec import FieldViolation

            return [FieldViolation(s, d) for s, d in exc.violations], [], None
        finally:
            await self.io(remove_job_files, scratch)
        return [], list(prepared.warnings), prepared.cost

    async def submit(self, client: str, msg, request_id: str = "", *,
                     job_id: str | None = None) -> tuple[JobRecord, tuple]:
        """Queue a job; the same ``request_id`` and spec return the same job (and no warnings). ``job_id``: the id
        to give it (a live session's, stored as a job), instead of a new one."""
        if self.draining:
            raise ShuttingDown("the server is shutting down; submit again once it is back")
        if len(request_id) > MAX_REQUEST_ID:
            raise BadArgument("request_id", f"{len(request_id)} characters; at most {MAX_REQUEST_ID} allowed")
        if request_id:
            _, sha = await self.io(canonical, msg)
            existing = await self.db(JobTable.find_request, client, request_id)
            if existing is not None:
                return self._same_request(existing, sha, request_id), ()
        await self._check_queue(client)
        job_id = job_id or new_id()
        prepared: Prepared = await self.io(prepare_job, msg, self.store_path(job_id), self.limits)
        async with self._submit_lock:
            try:
                if request_id:
                    existing = await self.db(JobTable.find_request, client, request_id)
                    if existing is not None:
                        return self._same_request(existing, prepared.spec_sha256, request_id), ()
                await self._check_queue(client)
                rec = await self.db(JobTable.insert, NewJob(
                    id=job_id, client=client, request_id=request_id, spec_json=prepared.spec_json,
                    spec_sha256=prepared.spec_sha256, chunks_total=prepared.n_chunks,
                    duration_ms=prepared.duration_ms, plan=prepared.plan, variables=prepared.variables,
                    labels=prepared.labels))
            except BaseException:
                await self.io(remove_job_files, self.store_path(job_id))
                raise
        self._prepared[job_id] = prepared.job
        log.info("job %s queued for %s: %d chunk(s), %.3g cell-steps", job_id, client or "(local)",
                 prepared.n_chunks, prepared.cost.cell_steps)
        self._wake.set()
        return rec, prepared.warnings

    def _same_request(self, existing: JobRecord, sha: str, request_id: str) -> JobRecord:
        if existing.spec_sha256 != sha:
            raise RequestConflict(request_id, existing.id, f"was already used for job {existing.id} with another spec")
        if existing.deleted:
            raise RequestConflict(request_id, existing.id, f"belongs to job {existing.id}, which was deleted")
        return existing

    async def _check_queue(self, client: str) -> None:
        n = await self.db(JobTable.count, client=client, state=st.QUEUED)
        if n >= self.limits.max_queued_per_client:
            raise QuotaExceeded([(f"client:{client or '(local)'}",
                                  f"{n} jobs already queued; this server queues at most "
                                  f"{self.limits.max_queued_per_client} per client (wait for some to start)")])

    async def get(self, client: str, job_id: str) -> JobRecord:
        """The client's job; :class:`NotFound` for an unknown id or another client's job."""
        rec = await self.db(JobTable.get, job_id) if _ID.match(job_id or "") else None
        if rec is None or rec.client != client:
            raise NotFound("job", job_id)
        if rec.deleted:
            raise Deleted(job_id)
        return rec

    def token_after(self, rec: JobRecord) -> str:
        """The page token that lists the jobs after ``rec``."""
        return _encode_token(rec.seq)

    async def list(self, client: str, *, page_size: int = 0, page_token: str = "", state: str | None = None,
                   labels: dict | None = None) -> tuple[list[JobRecord], str]:
        size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        after = _decode_token(page_token)
        page = await self.db(JobTable.page, client, after_seq=after, limit=size, state=state, labels=labels or None)
        token = _encode_token(page[-1].seq) if len(page) == size else ""
        return page, token

    async def cancel(self, client: str, job_id: str) -> JobRecord:
        """Cancel a queued or running job (a no-op on a terminal one); its chunk in flight may still commit."""
        rec = await self.get(client, job_id)
        if rec.terminal:
            return rec
        await self.io(_touch, self.stop_file(job_id))
        self._prepared.pop(job_id, None)
        new = await self.db(JobTable.transition, job_id, st.CANCELLED)
        active = self._active.get(job_id)
        if active is not None:
            active.stop.set()
        if new is not None:
            self.publish(new)
            log.info("job %s cancelled", job_id)
            return new
        return await self.get(client, job_id)

    async def delete(self, client: str, job_id: str) -> None:
        """Forget a terminal job and remove its files (its id stays known as deleted)."""
        rec = await self.get(client, job_id)
        if not rec.terminal:
            raise NotTerminal(job_id, rec.state)
        active = self._active.get(job_id)
        if active is not None and active.task is not None:   # a cancelled job's last chunk
            await asyncio.wait([active.task], timeout=60)
        new = await self.db(JobTable.mark_deleted, job_id)
        await self.io(remove_job_files, self.store_path(job_id))
        if new is not None:
            self.publish(new)

    # ------------------------------------------------------------ the queue

    async def _dispatch(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while not self.draining and len(self._active) < self.max_concurrent:
                rec = await self._next_job()
                if rec is None:
                    break
                await self._start(rec)

    async def _next_job(self) -> JobRecord | None:
        while self._resume:
            rec = await self.db(JobTable.get, self._resume.pop(0))
            if rec is not None and rec.state == st.RUNNING and rec.id not in self._active:
                return rec
        return await self.db(JobTable.next_queued)

    async def _start(self, rec: JobRecord) -> None:
        if rec.state == st.QUEUED:
            rec = await self.db(JobTable.transition, rec.id, st.RUNNING)
            if rec is None:          # cancelled meanwhile
                return
            self.publish(rec)
        active = _Active(stop=threading.Event())
        self._active[rec.id] = active
        active.task = asyncio.create_task(self._run(rec, active), name=f"optowave-job-{rec.id}")

    async def _run(self, rec: JobRecord, active: _Active) -> None:
        job_id = rec.id
        plan = rec.plan
        try:
            outcome: Outcome = await self.run_in_driver(
                drive_job, rec.spec_json, self.store_path(job_id), client=self.backend.client,
                job=self._prepared.pop(job_id, None), disk_reserve_bytes=self.limits.disk_reserve_bytes,
                stop_file=self.stop_file(job_id), stop=active.stop,
                on_open=lambda k: self.call_from_driver(self._opened(job_id, k, plan)),
                on_progress=lambda p: self.call_from_driver(self._progressed(job_id, p)))
        except Exception as exc:  # noqa: BLE001 - e.g. the pool shut down under us
            outcome = Outcome("failed", f"{type(exc).__name__}: {exc}")
        new = None               # cancelled (already terminal) or stopped with the server (resumes)
        if outcome.kind == "done":
            new = await self._record_end(job_id, st.SUCCEEDED)
        elif outcome.kind == "failed" and not self.draining:
            log.warning("job %s failed: %s", job_id, outcome.error)
            new = await self._record_end(job_id, st.FAILED, error=outcome.error)
        if new is not None:
            self.publish(new)
        self._active.pop(job_id, None)
        self._wake.set()

    async def _record_end(self, job_id: str, state: str, error: str | None = None):
        """Record a job's end, retrying while the table cannot be written (its disk full, say) for up to
        :data:`END_RECORD_S`; a job is never left RUNNING with no driver because one write failed."""
        deadline = self._loop.time() + END_RECORD_S
        while True:
            try:
                return await self.db(JobTable.transition, job_id, state, error=error)
            except sqlite3.Error as exc:
                if self._loop.time() > deadline:
                    log.error("job %s ended %s but the job table cannot record it (%s); it resumes at the next "
                              "start", job_id, state, exc)
                    return None
                log.warning("job %s: cannot record %s yet (%s); retrying", job_id, state, exc)
                await asyncio.sleep(2.0)

    async def _opened(self, job_id: str, next_chunk: int, plan: dict) -> None:
        """The driver opened the store: record what is committed already (after a restart)."""
        t = min(next_chunk * plan["chunk_steps"], plan["n_steps"]) * plan["dt_ms"]
        new = await self.db(JobTable.progress, job_id, chunks_committed=next_chunk, simulated_ms=t,
                            cell_steps_per_s=0.0, eta_s=0.0)
        if new is not None:
            self.publish(new)

    async def _progressed(self, job_id: str, p) -> None:
        new = await self.db(JobTable.progress, job_id, chunks_committed=p.chunk + 1, simulated_ms=p.t_ms,
                            cell_steps_per_s=finite(p.cell_steps_per_s), eta_s=finite(p.eta_s))
        if new is not None:
            self.publish(new)


def _touch(path: Path) -> None:
    if path.parent.is_dir():
        path.touch()


def _encode_token(seq: int) -> str:
    return base64.urlsafe_b64encode(f"after:{seq}".encode()).decode()


def _decode_token(token: str) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        kind, _, value = text.partition(":")
        if kind != "after":
            raise ValueError(text)
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise BadArgument("page_token", f"{token!r} is not a token this server returned") from None

