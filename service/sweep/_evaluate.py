"""Design searches on the sweep runner: each round of a search is a batch of runs, one Dask task each.

>>> from solver.design import find_threshold, spec_maker                                 # doctest: +SKIP
>>> ev = SweepEvaluator("out/threshold.runs", client=client)                          # doctest: +SKIP
>>> find_threshold(spec_maker(base, "light[0].irradiance_mw_per_mm2"), 0.01, 10, evaluator=ev)  # doctest: +SKIP

Runs are recorded in ``runs_dir`` by a hash of their spec, as a sweep's are: a search run again (or another
search that needs the same run) reads the record instead of running it.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Sequence

from solver.design.evaluate import RunResult

from ._run import SweepProgress, iter_runs, read_record
from ._spec import Point


class SweepEvaluator:
    """Evaluate batches of job specs with the sweep runner (``client``: a ``distributed.Client``; None: here).

    ``runs`` counts the runs requested, ``ran`` those actually simulated (the rest came from records)."""

    def __init__(self, runs_dir: str | Path, *, client=None, base_dir: str = ".", analysis: dict | None = None,
                 keep_fields: bool = False, on_progress: Callable[[SweepProgress], None] | None = None):
        self.runs_dir = Path(runs_dir)
        self.client = client
        self.base_dir = base_dir
        self.analysis = dict(analysis or {})
        self.keep_fields = keep_fields
        self.on_progress = on_progress
        self.runs = 0
        self.ran = 0

    def store_of(self, spec: dict) -> Path | None:
        """The result store of the run of ``spec`` (with ``keep_fields``), None if it has none."""
        rec = read_record(self.runs_dir, Point((0,), {}, spec), self.base_dir) or {}
        return self.runs_dir / rec["store"] if rec.get("store") else None

    def evaluate(self, specs: Sequence[dict], metrics) -> list[RunResult]:
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        points = [Point((i,), {"run": self.runs + i}, spec) for i, spec in enumerate(specs)]
        self.runs += len(points)
        for event in iter_runs(points, self.runs_dir, base_dir=self.base_dir, metrics=tuple(metrics),
                               analysis=self.analysis, keep_fields=self.keep_fields, client=self.client):
            self.ran += 1
            if self.on_progress is not None:
                self.on_progress(event)
        out = []
        for p in points:
            rec = read_record(self.runs_dir, p, self.base_dir) or {}
            out.append(RunResult(rec.get("status", "failed"), rec.get("metrics", {}),
                                 rec.get("error", "no record of the run"), float(rec.get("seconds", math.nan))))
        return out
