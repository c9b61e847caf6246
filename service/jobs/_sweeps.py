"""Sweeps through the service: one run per Dask task (:mod:`service.sweep`), tracked in the job table.

A sweep starts as soon as it is submitted (its runs queue on the cluster, not behind jobs); after
a restart a sweep that was running continues, skipping the runs already recorded. A cancelled sweep
keeps the runs that finished: its summary holds them (the others are "not run").
"""
from __future__ import annotations

import math
import threading
from pathlib import Path

from ._errors import QuotaExceeded, ShuttingDown
from ._groups import RunGroups
from ._prepare import canonical, check_spec
from ._runs import Outcome, drive_sweep, finite
from ._table import JobTable, SweepRecord


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


class SweepManager(RunGroups):
    kind = "sweep"
    _get, _find, _transition = JobTable.get_sweep, JobTable.find_sweep_request, JobTable.sweep_transition
    _mark_deleted, _page, _in_state = JobTable.mark_sweep_deleted, JobTable.sweep_page, JobTable.sweeps_in

    def store_path(self, sweep_id: str) -> Path:
        return self.dir(sweep_id) / "summary.zarr"

    async def submit(self, client: str, msg, request_id: str = "") -> SweepRecord:
        from solver.spec import FieldViolation, SpecError

        from service.sweep import load_sweep

        if self.jobs.draining:
            raise ShuttingDown("the server is shutting down; submit again once it is back")
        check_sweep_size(msg, self.jobs.limits.max_sweep_runs)
        spec_json, sha = await self.jobs.io(canonical, msg)
        existing = await self.existing(client, request_id, sha)
        if existing is not None:
            return existing

        def check():
            try:
                check_spec(msg.base, self.jobs.limits)
            except SpecError as exc:
                raise SpecError([FieldViolation(f"base.{v.field}", v.description) for v in exc.violations]) from None
            except QuotaExceeded as exc:
                raise QuotaExceeded([(f"base.{s}", d) for s, d in exc.violations]) from None
            return load_sweep(msg)

        sweep = await self.jobs.io(check)
        from ._manager import new_id

        rec = await self.jobs.db(JobTable.insert_sweep, sweep_id=new_id(), client=client, request_id=request_id,
                                 spec_json=spec_json, spec_sha256=sha, runs_total=sweep.n_runs)
        self._launch(rec)
        return rec

    async def _run(self, rec: SweepRecord, stop: threading.Event) -> None:
        from google.protobuf import json_format

        from optowave.v1 import service_pb2

        jobs, sweep_id = self.jobs, rec.id
        rec = await self._running(rec)
        if rec is None:
            return
        try:
            msg = json_format.Parse(rec.spec_json, service_pb2.SweepSpec())
        except json_format.ParseError as exc:   # stored by a server whose sweep schema differed
            await self._finish(sweep_id, Outcome("failed", f"this sweep was stored by another version of optowave "
                                                             f"and cannot be resumed ({exc}); submit its file again"))
            return
        store = self.store_path(sweep_id)
        store.parent.mkdir(parents=True, exist_ok=True)

        async def progressed(event) -> None:
            failure = None
            if event.status != "ok":
                failure = {"parameters": dict(event.coords), "error": event.error}
            rate = finite(event.runs_per_s)
            new = await jobs.db(JobTable.sweep_progress, sweep_id, runs_done=event.done, runs_failed=event.failed,
                                runs_per_s=rate, eta_s=finite(event.eta_s) if math.isfinite(rate) else 0.0,
                                failure=failure)
            if new is not None:
                jobs.publish(new)

        try:
            outcome: Outcome = await jobs.run_in_driver(
                drive_sweep, msg, store, client=jobs.backend.client, stop=stop,
                stop_file=self.stop_file(sweep_id), on_progress=lambda e: jobs.call_from_driver(progressed(e)))
        except Exception as exc:  # noqa: BLE001
            outcome = Outcome("failed", f"{type(exc).__name__}: {exc}")
        await self._finish(sweep_id, outcome)
