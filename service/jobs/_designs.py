"""Design searches through the service: the rounds of ``optowave design`` on the server's workers.

A design's directory holds its runs (``runs/``, recorded by spec as a local design's are) and, once it
succeeded, its report (``report/``: report.json, found.json, runs.csv, report.png). After a restart a design
that was running starts its search again: every run recorded already is read, not run, so it goes on from its
last finished round.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Callable

from ._errors import QuotaExceeded
from ._groups import RunGroups
from ._prepare import canonical, check_spec
from ._runs import Outcome
from ._table import JobTable
from ._table_designs import DesignRecord

#: The report files, in the order they are streamed.
REPORT_FILES = ("report.json", "found.json", "runs.csv", "report.png")


class DesignManager(RunGroups):
    kind = "design"
    _get, _find, _transition = JobTable.get_design, JobTable.find_design_request, JobTable.design_transition
    _mark_deleted, _page, _in_state = JobTable.mark_design_deleted, JobTable.design_page, JobTable.designs_in

    def report_dir(self, design_id: str) -> Path:
        return self.dir(design_id) / "report"

    async def submit(self, client: str, msg, request_id: str = "") -> DesignRecord:
        spec_json, sha = await self.jobs.io(canonical, msg)
        existing = await self.existing(client, request_id, sha)
        if existing is not None:
            return existing
        design = await self.jobs.io(_check, msg, self.jobs.limits)
        from ._manager import new_id

        rec = await self.jobs.db(JobTable.insert_design, design_id=new_id(), client=client, request_id=request_id,
                                 spec_json=spec_json, spec_sha256=sha, name=design.name, search=design.search)
        self._launch(rec)
        return rec

    async def report_files(self, rec: DesignRecord) -> list[tuple[str, bytes]]:
        """The report's files (name, bytes) of a SUCCEEDED design."""
        def read():
            out = []
            for name in REPORT_FILES:
                path = self.report_dir(rec.id) / name
                if path.exists():
                    out.append((name, path.read_bytes()))
            return out
        return await self.jobs.io(read)

    async def _run(self, rec: DesignRecord, stop: threading.Event) -> None:
        jobs, design_id = self.jobs, rec.id
        rec = await self._running(rec)
        if rec is None:
            return

        async def rounded(rnd: int, n_runs: int, state: dict) -> None:
            new = await jobs.db(JobTable.design_progress, design_id, rounds_done=rnd + 1, runs_done=n_runs,
                                progress=state)
            if new is not None:
                jobs.publish(new)

        try:
            outcome, summary = await jobs.run_in_driver(
                drive_design, rec.spec_json, self.dir(design_id), client=jobs.backend.client, stop=stop,
                stop_file=self.stop_file(design_id),
                on_round=lambda r, n, s: jobs.call_from_driver(rounded(r, n, s)))
        except Exception as exc:  # noqa: BLE001
            outcome, summary = Outcome("failed", f"{type(exc).__name__}: {exc}"), None
        await self._finish(design_id, outcome, **({"result_json": summary} if outcome.kind == "done" else {}))


def _check(msg, limits):
    """The design a message describes, checked as a submission is (errors name ``base.<field>`` or the design's
    own field)."""
    from solver.design import load_design
    from solver.spec import FieldViolation, SpecError

    try:
        check_spec(msg.base, limits)
    except SpecError as exc:
        raise SpecError([FieldViolation(f"base.{v.field}", v.description) for v in exc.violations]) from None
    except QuotaExceeded as exc:
        raise QuotaExceeded([(f"base.{s}", d) for s, d in exc.violations]) from None
    return load_design(msg)


def drive_design(spec_json: str, root: Path, *, client, stop: threading.Event, stop_file: Path,
                 on_round: Callable[[int, int, dict], None]) -> tuple[Outcome, str | None]:
    """Run (or resume) a design search with its runs in ``root/runs`` and write its report to ``root/report``;
    returns the outcome and, when done, the report's summary as JSON. Never raises."""
    from google.protobuf import json_format

    from optowave.v1 import service_pb2
    from service.sweep import RunsStopped, SweepEvaluator
    from solver.design import DesignError, load_design, run_design, write_report

    try:
        msg = json_format.Parse(spec_json, service_pb2.DesignSpec())
        design = load_design(msg)
        ev = SweepEvaluator(root / "runs", client=client, base_dir=design.base_dir,
                            analysis=design.doc.get("analysis"), stop_file=str(stop_file), stop=stop)
        result = run_design(design, ev, on_round=on_round)
    except RunsStopped:
        return Outcome("stopped"), None
    except DesignError as exc:
        return Outcome("failed", str(exc)), None
    except Exception as exc:  # noqa: BLE001 - a failed design is a state, not a crash of the server
        return Outcome("failed", f"{type(exc).__name__}: {exc}"), None
    if stop.is_set():
        return Outcome("stopped"), None
    try:
        write_report(result, root / "report", title=design.name)
    except Exception as exc:  # noqa: BLE001
        return Outcome("failed", f"writing the report: {type(exc).__name__}: {exc}"), None
    doc = json.loads((root / "report" / "report.json").read_text())
    return Outcome("done"), json.dumps({k: doc[k] for k in ("title", "kind", "parameters", "criteria", "summary",
                                                              "curve", "n_runs") if k in doc})
