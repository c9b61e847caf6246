"""Sweeps through the service: one run per Dask task (:mod:`service.sweep`), tracked in the job table.

A sweep starts as soon as it is submitted (its runs queue on the cluster, not behind jobs); after
a restart a sweep that was running continues, skipping the runs already recorded.
"""
from __future__ import annotations

import asyncio
import logging
import math
import threading
from pathlib import Path

from . import _states as st
from ._errors import NotFound, QuotaExceeded, RequestConflict, ShuttingDown
from ._prepare import canonical, check_spec
from ._runs import Outcome, drive_sweep
from ._table import JobTable, SweepRecord

log = logging.getLogger("optowave.jobs")


def check_sweep_size(msg, max_runs: int) -> None:
    """Refuse a sweep over ``max_runs`` from its axes' lengths alone, before any axis is expanded
    (3 axes of 1000 values are 10^9 runs in 200 bytes; a ``num`` of 2^32 - 1 is one axis of 4 × 10^9)."""
    lengths = [len(a.values) or max(a.linspace.num, a.logspace.num) for a in msg.axes]
    from optowave.v1 import service_pb2

    zip_ = msg.combine == service_pb2.SWEEP_COMBINE_ZIP
    runs = (max(lengths) if zip_ else math.prod(lengths)) if lengths else 0
    if runs > max_runs:
        raise QuotaExceeded([("axes", f"{runs:,} runs ({' × '.join(map(str, lengths))}); this server runs at most "
                                      f"{max_runs:,} per sweep (--max-sweep-runs)")])


class SweepManager:
    def __init__(self, jobs):
        self.jobs = jobs
        self._active: dict[str, tuple[threading.Event, asyncio.Task]] = {}

    def store_path(self, sweep_id: str) -> Path:
        return self.jobs.data_dir / "sweeps" / sweep_id / "summary.zarr"

    async def start(self) -> None:
        for state in (st.RUNNING, st.QUEUED):
            for rec in await self.jobs.db(JobTable.sweeps_in, state):
                self._launch(rec)

    async def stop(self) -> None:
        for stop, _ in self._active.values():
            stop.set()
        tasks = [t for _, t in self._active.values()]
        if tasks:
            await asyncio.wait(tasks, timeout=30)

    async def submit(self, client: str, msg, request_id: str = "") -> SweepRecord:
        from service.convert import sweep_dict
        from solver.spec import FieldViolation, SpecError

        from service.sweep import load_sweep

        if self.jobs.draining:
            raise ShuttingDown("the server is shutting down; submit again once it is back")
        check_sweep_size(msg, self.jobs.limits.max_sweep_runs)
        spec_json, sha = await self.jobs.io(canonical, msg)
        if request_id:
            existing = await self.jobs.db(JobTable.find_sweep_request, client, request_id)
            if existing is not None:
                if existing.spec_sha256 != sha:
                    raise RequestConflict(request_id, existing.id,
                                          f"was already used for sweep {existing.id} with another spec")
                return existing

        def check():
            try:
                check_spec(msg.base, self.jobs.limits)
            except SpecError as exc:
                raise SpecError([FieldViolation(f"base.{v.field}", v.description) for v in exc.violations]) from None
            except QuotaExceeded as exc:
                raise QuotaExceeded([(f"base.{s}", d) for s, d in exc.violations]) from None
            return load_sweep(sweep_dict(msg))

        sweep = await self.jobs.io(check)
        from ._manager import new_id

        rec = await self.jobs.db(JobTable.insert_sweep, sweep_id=new_id(), client=client, request_id=request_id,
                                 spec_json=spec_json, spec_sha256=sha, runs_total=sweep.n_runs)
        self._launch(rec)
        return rec

    async def get(self, client: str, sweep_id: str) -> SweepRecord:
        rec = await self.jobs.db(JobTable.get_sweep, sweep_id)
        if rec is None or rec.client != client:
            raise NotFound("sweep", sweep_id)
        return rec

    def _launch(self, rec: SweepRecord) -> None:
        stop = threading.Event()
        task = asyncio.create_task(self._run(rec, stop), name=f"optowave-sweep-{rec.id}")
        self._active[rec.id] = (stop, task)

    async def _run(self, rec: SweepRecord, stop: threading.Event) -> None:
        from google.protobuf import json_format

        from optowave.v1 import service_pb2
        from service.convert import sweep_dict

        jobs, sweep_id = self.jobs, rec.id
        if rec.state == st.QUEUED:
            rec = await jobs.db(JobTable.sweep_transition, sweep_id, st.RUNNING)
            if rec is None:
                return
            jobs.publish(rec)
        msg = json_format.Parse(rec.spec_json, service_pb2.SweepSpec())
        store = self.store_path(sweep_id)
        store.parent.mkdir(parents=True, exist_ok=True)

        async def progressed(done: int, failed: int) -> None:
            new = await jobs.db(JobTable.sweep_progress, sweep_id, runs_done=done, runs_failed=failed)
            if new is not None:
                jobs.publish(new)

        try:
            outcome: Outcome = await jobs.run_in_driver(
                drive_sweep, sweep_dict(msg), store, client=jobs.backend.client, stop=stop,
                on_progress=lambda d, f: jobs.call_from_driver(progressed(d, f)))
        except Exception as exc:  # noqa: BLE001
            outcome = Outcome("failed", f"{type(exc).__name__}: {exc}")
        new = None
        if outcome.kind == "done":
            new = await jobs.db(JobTable.sweep_transition, sweep_id, st.SUCCEEDED)
        elif outcome.kind == "failed" and not jobs.draining:
            log.warning("sweep %s failed: %s", sweep_id, outcome.error)
            new = await jobs.db(JobTable.sweep_transition, sweep_id, st.FAILED, error=outcome.error)
        if new is not None:
            jobs.publish(new)
        self._active.pop(sweep_id, None)
