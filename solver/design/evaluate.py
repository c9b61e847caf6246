"""What a design search asks for: run a batch of job specs, return the metrics of each; and what counts as success.

A search proposes its runs in rounds; all the runs of a round go to the evaluator at once, so an evaluator on a
cluster (``service.sweep.SweepEvaluator``: the sweep runner, one Dask task per run, runs cached by spec) runs
them side by side. :class:`LocalEvaluator` runs them here, one after another.
"""
from __future__ import annotations

import math
import operator
import re
import time
from dataclasses import dataclass
from typing import Protocol, Sequence

from solver.analysis.metrics import METRIC_OPTIONS, METRICS, MetricSpec
from solver.spec import closest

__all__ = ["Criterion", "Evaluator", "LocalEvaluator", "RunResult", "parse_criteria"]

_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}
_TEXT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|==|>|<)\s*([-+0-9.eE]+)\s*$")


@dataclass(frozen=True)
class RunResult:
    """One run: ``status`` "ok" or "failed" (with ``error``), and its metrics."""

    status: str
    metrics: dict
    error: str = ""
    seconds: float = math.nan


class Evaluator(Protocol):
    def evaluate(self, specs: Sequence[dict], metrics: Sequence[MetricSpec]) -> list[RunResult]:
        """Run every spec (job-spec dicts) and compute ``metrics`` on each; the results in the same order."""


@dataclass(frozen=True)
class Criterion:
    """``metric op value``: what a run must show to count as a success (e.g. ``propagated >= 1``)."""

    metric: MetricSpec
    op: str
    value: float

    def holds(self, metrics: dict) -> bool:
        got = metrics.get(self.metric.name, math.nan)
        return isinstance(got, (int, float)) and math.isfinite(got) and _OPS[self.op](got, self.value)

    def __str__(self) -> str:
        return f"{self.metric.name} {self.op} {self.value:g}"


def parse_criteria(raw, where: str = "criterion") -> tuple[Criterion, ...]:
    """Criteria from ``"propagated >= 1"``, ``{"metric": NAME or {name: ..., options}, "op": ">=", "value": 1}``,
    or a list of those (all must hold). Raises ValueError naming ``where`` and what is allowed."""
    items = raw if isinstance(raw, (list, tuple)) else [raw]
    if not items:
        raise ValueError(f"{where}: empty; give at least one, e.g. 'propagated >= 1'")
    out = []
    for k, item in enumerate(items):
        here = f"{where}[{k}]" if isinstance(raw, (list, tuple)) else where
        if isinstance(item, Criterion):
            out.append(item)
            continue
        if isinstance(item, str):
            m = _TEXT.match(item)
            if not m:
                raise ValueError(f"{here} = {item!r} is not a criterion; write METRIC OP VALUE with OP one of "
                                 f"{' '.join(_OPS)}, e.g. 'propagated >= 1'")
            item = {"metric": m.group(1), "op": m.group(2), "value": float(m.group(3))}
        if not isinstance(item, dict) or set(item) - {"metric", "op", "value"}:
            raise ValueError(f"{here} = {item!r} is not a criterion; give 'METRIC OP VALUE' or "
                             "{metric, op, value}")
        metric = item.get("metric")
        opts = {}
        if isinstance(metric, dict):
            opts = {k2: v for k2, v in metric.items() if k2 != "name"}
            metric = metric.get("name")
        if metric not in METRICS:
            raise ValueError(f"{here}.metric = {metric!r} is not a metric{closest(str(metric), METRICS)}; allowed: "
                             f"{', '.join(METRICS)}")
        for key in opts:
            if key not in METRIC_OPTIONS.get(metric, {}):
                raise ValueError(f"{here}.metric.{key}: not an option of {metric}"
                                 f"{closest(key, METRIC_OPTIONS.get(metric, {}))}; allowed: "
                                 f"{', '.join(METRIC_OPTIONS.get(metric, {})) or 'none'}")
        op, value = item.get("op"), item.get("value")
        if op not in _OPS:
            raise ValueError(f"{here}.op = {op!r} is not allowed; use one of {' '.join(_OPS)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{here}.value = {value!r} is not a finite number")
        out.append(Criterion(MetricSpec(metric, tuple(sorted(opts.items()))), op, float(value)))
    return tuple(out)


class LocalEvaluator:
    """Runs each spec here, one after another (``solver.simulate``), and computes the metrics."""

    def __init__(self, base_dir: str = ".", analysis: dict | None = None):
        self.base_dir = base_dir
        self.analysis = dict(analysis or {})
        self.runs = 0

    def evaluate(self, specs: Sequence[dict], metrics: Sequence[MetricSpec]) -> list[RunResult]:
        from solver.analysis.metrics import compute_metrics
        from solver.engine.simulate import simulate
        from solver.spec import from_proto, parse_proto

        out = []
        for spec in specs:
            t0 = time.perf_counter()
            self.runs += 1
            try:
                msg, _ = parse_proto(spec)
                values = compute_metrics(simulate(from_proto(msg, base_dir=self.base_dir)), metrics, self.analysis)
                out.append(RunResult("ok", values, "", time.perf_counter() - t0))
            except Exception as exc:  # noqa: BLE001 - a failed run is data for the search
                out.append(RunResult("failed", {}, f"{type(exc).__name__}: {exc}", time.perf_counter() - t0))
        return out
