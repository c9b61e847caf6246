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


class RunsStopped(RuntimeError):
    """A batch that was asked to stop (its stop file appeared, or ``stop`` was set) before it finished."""


class SweepEvaluator:
    """Evaluate batches of job specs with the sweep runner (``client``: a ``distributed.Client``; None: here).

    ``runs`` counts the runs requested, ``ran`` those actually simulated (the rest came from records). With
    ``stop_file`` (see :func:`service.sweep.run_point`) or ``stop`` (a ``threading.Event``) a batch can be stopped:
    :meth:`evaluate` then raises :class:`RunsStopped`, and the runs that finished stay recorded."""

    def __init__(self, runs_dir: str | Path, *, client=None, base_dir: str = ".", analysis: dict | None = None,
                 keep_fields: bool = False, on_progress: Callable[[SweepProgress], None] | None = None,
                 stop_file: str | None = None, stop=None):
        self.runs_dir = Path(runs_dir)
        self.client = client
        self.base_dir = base_dir
        self.analysis = dict(analysis or {})
        self.keep_fields = keep_fields
        self.on_progress = on_progress
        self.stop_file, self.stop = stop_file, stop
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
        events = iter_runs(points, self.runs_dir, base_dir=self.base_dir, metrics=tuple(metrics),
                           analysis=self.analysis, keep_fields=self.keep_fields, client=self.client,
                           stop_file=self.stop_file)
        try:
            for event in events:
                if event.status == "cancelled" or (self.stop is not None and self.stop.is_set()):
                    raise RunsStopped(f"stopped after {self.ran} runs")
                self.ran += 1
                if self.on_progress is not None:
                    self.on_progress(event)
        finally:
            events.close()
        out = []
        for p in points:
            rec = read_record(self.runs_dir, p, self.base_dir) or {}
            out.append(RunResult(rec.get("status", "failed"), rec.get("metrics", {}),
                                 rec.get("error", "no record of the run"), float(rec.get("seconds", math.nan))))
        return out
