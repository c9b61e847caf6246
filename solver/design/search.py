"""Design searches: thresholds, strength–duration curves, windows, and a general constrained minimum.

Every search proposes its runs in rounds and hands each round to an evaluator as one batch
(:mod:`solver.design.evaluate`): several searches (the durations of a strength–duration curve, the two edges
of a window) share the rounds, so a cluster runs them side by side, while each single search makes no more
runs than bisection needs.

The spec of a run comes from ``make_spec(value)`` (one searched value) or ``make_spec(values)`` (a dict, for
:func:`minimise`); :func:`spec_maker` builds one from a base spec and a spec path
(``light[0].irradiance_mw_per_mm2``) or a protocol parameter.
"""
from __future__ import annotations

import copy
import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .evaluate import Criterion, Evaluator, LocalEvaluator, parse_criteria

__all__ = ["DesignError", "DesignResult", "Run", "find_threshold", "find_window", "minimise", "spec_maker",
           "strength_duration"]


class DesignError(RuntimeError):
    """A search that cannot go on (a run failed, the range does not bracket the threshold, ...)."""


@dataclass(frozen=True)
class Run:
    """One evaluated run: the searched ``values``, whether it met the criteria, its metrics."""

    values: dict
    success: bool
    metrics: dict
    status: str
    error: str
    round: int
    spec: dict = field(repr=False, compare=False)
    seconds: float = math.nan      # wall time of the run where it ran (NaN: taken from an earlier record)


@dataclass
class DesignResult:
    """The outcome of a search: ``kind``, the ``summary`` figures, the ``runs`` in order, the found ``spec``
    (None when nothing met the criteria) and, for curves, ``curve`` rows."""

    kind: str
    parameters: tuple[str, ...]
    criteria: tuple[str, ...]
    summary: dict
    runs: list[Run]
    spec: dict | None
    curve: list[dict] = field(default_factory=list)

    @property
    def n_runs(self) -> int:
        return len(self.runs)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "parameters": list(self.parameters), "criteria": list(self.criteria),
                "summary": self.summary, "curve": self.curve, "n_runs": self.n_runs,
                "runs": [{"round": r.round, **r.values, "success": r.success, "status": r.status,
                          "error": r.error, "seconds": r.seconds,
                          **{f"metric.{k}": v for k, v in r.metrics.items()}} for r in self.runs]}

    def critical_path_s(self) -> float:
        """Σ over rounds of the slowest run of the round: the wall time of the search on enough workers."""
        by_round: dict[int, float] = {}
        for r in self.runs:
            by_round[r.round] = max(by_round.get(r.round, 0.0), r.seconds if math.isfinite(r.seconds) else 0.0)
        return sum(by_round.values())


def spec_maker(base: dict, parameter: str, *, protocol: str | None = None,
               protocol_params: dict | None = None) -> Callable[[float], dict]:
    """``make_spec(value)``: the base spec with ``value`` at the spec path ``parameter``, or, with ``protocol``,
    the protocol applied to the base with ``parameter=value`` among ``protocol_params``."""
    from solver.spec.paths import assign, resolve

    if protocol is not None:
        from .protocols import apply_protocol

        fixed = dict(protocol_params or {})

        def make(value: float) -> dict:
            return apply_protocol(protocol, base, **{**fixed, parameter: value})

        make(1.0 if parameter not in fixed else fixed[parameter])  # unknown parameter: fail now, not per run
        return make
    resolved = resolve(parameter, base)
    return lambda value: assign(base, resolved, value)


class _Bisection:
    """Bisection for the edge between failure and success along one parameter.

    ``increasing``: success at and above the edge (a threshold); else success at and below it. Stops when the
    bracket is within ``rel_tol`` of the success-side value (or ``abs_tol``). ``scale="log"`` bisects at the
    geometric mean. With ``expand`` > 0 a range that does not bracket the edge is widened (× or ÷ ``factor``)
    up to ``expand`` times."""

    def __init__(self, lo: float, hi: float, *, increasing: bool = True, rel_tol: float = 0.0, abs_tol: float = 0.0,
                 scale: str = "linear", expand: int = 0, factor: float = 4.0, known: dict | None = None):
        if not lo < hi:
            raise ValueError(f"range = [{lo!r}, {hi!r}] is not allowed; it must be increasing")
        if scale == "log" and lo <= 0:
            raise ValueError(f"range = [{lo!r}, {hi!r}] is not allowed on a log scale; both ends must be > 0")
        if rel_tol <= 0 and abs_tol <= 0:
            raise ValueError("tolerance: give a relative (> 0) or an absolute (> 0) tolerance")
        self.lo, self.hi, self.increasing = float(lo), float(hi), increasing
        self.rel_tol, self.abs_tol, self.scale = rel_tol, abs_tol, scale
        self.expand, self.factor = expand, factor
        self.known: dict[float, bool] = dict(known or {})
        self.status = "running"
        self.bracket_runs = 0
        self.bisect_from: tuple[float, float] | None = None

    def _success_side(self) -> float:
        return self.hi if self.increasing else self.lo

    def _converged(self) -> bool:
        tol = max(self.abs_tol, self.rel_tol * abs(self._success_side()))
        return self.hi - self.lo <= tol * (1 + 1e-12)

    def propose(self) -> list[float]:
        if self.status != "running":
            return []
        todo = [v for v in (self.lo, self.hi) if v not in self.known]
        if todo:
            return todo
        ok_lo, ok_hi = self.known[self.lo], self.known[self.hi]
        want_lo, want_hi = (False, True) if self.increasing else (True, False)
        if ok_lo == ok_hi:
            # the edge is outside the range: widen on the side it must lie on
            below = ok_lo == want_hi
            if self.expand <= 0:
                self.status = "below_range" if below else "above_range"
                return []
            self.expand -= 1
            if below:
                new = self.lo / self.factor if self.scale == "log" else self.lo - (self.hi - self.lo) * (self.factor - 1)
                self.lo, self.hi = new, self.lo
            else:
                new = self.hi * self.factor if self.scale == "log" else self.hi + (self.hi - self.lo) * (self.factor - 1)
                self.lo, self.hi = self.hi, new
            self.bracket_runs += 1
            return [new]
        if ok_lo != want_lo:
            self.status = "not_monotone"
            return []
        if self.bisect_from is None:
            self.bisect_from = (self.lo, self.hi)
        if self._converged():
            self.status = "converged"
            return []
        mid = math.sqrt(self.lo * self.hi) if self.scale == "log" else 0.5 * (self.lo + self.hi)
        return [mid]

    def record(self, value: float, success: bool) -> None:
        self.known[value] = success
        if self.bisect_from is not None and value not in (self.lo, self.hi):
            if success == self.increasing:
                self.hi = value
            else:
                self.lo = value

    def bound(self) -> int:
        """The most bisection runs this bracket can need (from where bisection started)."""
        if self.bisect_from is None:
            return 0
        return self._bisections(*self.bisect_from)

    def remaining(self) -> int | None:
        """The most rounds this search can still need: the bisection bound of the present bracket (0 when it
        is done); None while the ends have not been run or the range is being widened."""
        if self.status != "running":
            return 0
        ends = [self.known.get(v) for v in (self.lo, self.hi)]
        if None in ends or ends[0] == ends[1]:
            return None
        return 0 if self._converged() else self._bisections(self.lo, self.hi)

    def _bisections(self, lo: float, hi: float) -> int:
        tol = max(self.abs_tol, self.rel_tol * abs(self._success_side()))
        if self.scale == "log":
            span = math.log(hi / lo)
            step = -math.log(1 - min(tol / self._success_side(), 0.999999)) if self.increasing else \
                math.log(1 + tol / self._success_side())
        else:
            span, step = hi - lo, tol
        return max(0, math.ceil(math.log2(span / step) - 1e-9)) if step > 0 else 0

    def summary(self) -> dict:
        edge = self._success_side()
        return {"status": self.status, "edge": edge, "bracket": [self.lo, self.hi],
                "relative_width": (self.hi - self.lo) / abs(edge) if edge else math.nan,
                "bracket_runs": 2 + self.bracket_runs, "bisection_bound": self.bound()}


def _drive(searches: Sequence[tuple[_Bisection, Callable[[float], dict], dict]], evaluator: Evaluator,
           criteria: tuple[Criterion, ...], metrics, runs: list[Run], on_round=None) -> None:
    """Run the searches' proposals round by round (one evaluator batch per round) until all are done."""
    rnd = max((r.round for r in runs), default=-1) + 1
    while True:
        batch = [(s, make, label, v) for s, make, label in searches for v in dict.fromkeys(s.propose())]
        if not batch:
            return
        n0 = len(runs)
        specs = [make(v) for _, make, _, v in batch]
        results = evaluator.evaluate(specs, metrics)
        for (s, _, label, v), spec, res in zip(batch, specs, results):
            ok = res.status == "ok" and all(c.holds(res.metrics) for c in criteria)
            runs.append(Run({**label["fixed"], label["name"]: v}, ok, res.metrics, res.status, res.error, rnd, spec,
                            res.seconds))
            if res.status != "ok":
                raise DesignError(f"the run at {label['name']} = {v:g} failed: {res.error}")
            s.record(v, ok)
        if on_round is not None:
            left = [s.remaining() for s, _, _ in searches]
            on_round(rnd, len(runs), {
                "runs": [round_run(r) for r in runs[n0:]], "rounds_left": None if None in left else max(left),
                "brackets": [{"parameter": label["name"], "fixed": dict(label["fixed"]), "low": s.lo, "high": s.hi,
                              "status": s.status} for s, _, label in searches]})
        rnd += 1


def round_run(r: Run) -> dict:
    """A run as a round's progress reports it (its scalar metrics only)."""
    return {"round": r.round, "parameters": dict(r.values), "success": r.success, "status": r.status,
            "error": r.error, "seconds": r.seconds,
            "metrics": {k: float(v) for k, v in r.metrics.items() if isinstance(v, (int, float))}}


def _metrics_for(criteria: tuple[Criterion, ...], extra=()) -> tuple:
    from solver.analysis.metrics import MetricSpec

    seen = {}
    for m in [c.metric for c in criteria] + [MetricSpec(e) if isinstance(e, str) else e for e in extra]:
        seen.setdefault(json.dumps(m.to_json(), sort_keys=True), m)
    return tuple(seen.values())


def find_threshold(make_spec: Callable[[float], dict], lo: float, hi: float, *, criterion="propagated >= 1",
                   rel_tol: float = 0.02, abs_tol: float = 0.0, scale: str = "log", increasing: bool = True,
                   expand: int = 3, parameter: str = "value", evaluator: Evaluator | None = None,
                   record: Sequence[str] = (), on_round=None) -> DesignResult:
    """The least value of a parameter (irradiance, pulse width, dose) whose run meets ``criterion``.

    The first round runs both ends of ``[lo, hi]`` (widened up to ``expand`` times by a factor 4 if they do
    not bracket the threshold); then one run per round bisects (at the geometric mean with ``scale="log"``)
    until the bracket is within ``rel_tol`` of the threshold. ``summary["threshold"]`` is the least value seen
    to succeed and ``summary["bracket"]`` = [highest failure, threshold]. With ``increasing=False`` success lies
    below the edge and the greatest succeeding value is found. ``record`` names more metrics to compute and keep
    with each run (in the report), beyond those the criterion needs.
    """
    criteria = parse_criteria(criterion)
    evaluator = evaluator or LocalEvaluator()
    s = _Bisection(lo, hi, increasing=increasing, rel_tol=rel_tol, abs_tol=abs_tol, scale=scale, expand=expand)
    runs: list[Run] = []
    _drive([(s, make_spec, {"name": parameter, "fixed": {}})], evaluator, criteria,
           _metrics_for(criteria, record), runs, on_round)
    info = s.summary()
    if info["status"] != "converged":
        raise DesignError(_range_message(parameter, info["status"], s, criteria))
    spec = next(r.spec for r in reversed(runs) if r.values[parameter] == info["edge"])
    summary = {"threshold": info["edge"], "bracket": info["bracket"], "relative_width": info["relative_width"],
               "n_runs": len(runs), "bracket_runs": info["bracket_runs"], "bisection_bound": info["bisection_bound"],
               "run_bound": info["bracket_runs"] + info["bisection_bound"], "scale": scale, "rel_tol": rel_tol,
               "abs_tol": abs_tol}
    return DesignResult("threshold", (parameter,), tuple(map(str, criteria)), summary, runs, spec)


def _range_message(parameter: str, status: str, s: _Bisection, criteria) -> str:
    crit = " and ".join(map(str, criteria))
    if status == "below_range":
        return (f"{parameter}: every value tried down to {s.lo:g} meets {crit}; the threshold lies below the "
                f"range: lower its start")
    if status == "above_range":
        return (f"{parameter}: no value tried up to {s.hi:g} meets {crit}; the threshold lies above the range "
                f"(or the criterion cannot be met): raise its end")
    return f"{parameter}: the outcome is not monotone in [{s.lo:g}, {s.hi:g}] (success on the wrong side)"


def strength_duration(make_spec: Callable[[float, float], dict], durations: Sequence[float], lo: float, hi: float, *,
                      criterion="propagated >= 1", rel_tol: float = 0.02, scale: str = "log", expand: int = 3,
                      parameter: str = "irradiance_mw_per_mm2", duration_parameter: str = "pulse_ms",
                      evaluator: Evaluator | None = None, on_round=None) -> DesignResult:
    """The threshold (``make_spec(duration, value)``) for each pulse duration, all searched in the same rounds.

    ``curve`` rows: duration, threshold, bracket. ``summary``: the rheobase (the threshold of the longest pulse,
    the plateau when the durations reach it) and the chronaxie (the duration whose threshold is twice the
    rheobase, interpolated on log-log axes; NaN when the curve does not reach twice the rheobase). Opsin
    kinetics make short-pulse thresholds rise faster than Weiss's 1/duration, so no such law is fitted."""
    criteria = parse_criteria(criterion)
    evaluator = evaluator or LocalEvaluator()
    durations = [float(d) for d in durations]
    if not durations or any(d <= 0 for d in durations):
        raise ValueError(f"durations = {durations!r}: give one or more durations > 0 (ms)")
    searches = [(_Bisection(lo, hi, rel_tol=rel_tol, scale=scale, expand=expand),
                 (lambda v, d=d: make_spec(d, v)), {"name": parameter, "fixed": {duration_parameter: d}})
                for d in durations]
    runs: list[Run] = []
    _drive(searches, evaluator, criteria, _metrics_for(criteria), runs, on_round)
    curve = []
    for (s, _, label), d in zip(searches, durations):
        info = s.summary()
        curve.append({duration_parameter: d, "threshold": info["edge"] if info["status"] == "converged" else math.nan,
                      "bracket": info["bracket"], "status": info["status"]})
    good = sorted((c[duration_parameter], c["threshold"]) for c in curve if math.isfinite(c["threshold"]))
    summary = {"n_runs": len(runs), "rel_tol": rel_tol, "scale": scale}
    if good:
        d = np.array([g[0] for g in good])
        thr = np.array([g[1] for g in good])
        rheobase = float(thr[-1])       # the threshold of the longest pulse: the plateau, if it was reached
        summary["rheobase"] = rheobase
        above = np.flatnonzero(thr >= 2 * rheobase)
        if above.size and above[-1] + 1 < d.size:   # log-log interpolation to threshold = 2 × rheobase
            k = above[-1]
            f = math.log(2 * rheobase / thr[k]) / math.log(thr[k + 1] / thr[k])
            summary["chronaxie_ms"] = float(math.exp(math.log(d[k]) + f * math.log(d[k + 1] / d[k])))
        else:
            summary["chronaxie_ms"] = math.nan
    best = min((c for c in curve if math.isfinite(c["threshold"])), key=lambda c: c["threshold"], default=None)
    spec = make_spec(best[duration_parameter], best["threshold"]) if best else None
    return DesignResult("strength_duration", (duration_parameter, parameter), tuple(map(str, criteria)), summary, runs,
                        spec, curve)


def find_window(make_spec: Callable[[float], dict], values: Sequence[float], *, criterion, tol: float,
                parameter: str = "value", evaluator: Evaluator | None = None, record: Sequence[str] = (),
                on_round=None) -> DesignResult:
    """The interval of a parameter (an S2 coupling interval, say) inside which runs meet ``criterion``.

    Round one runs every value of the scan ``values`` (in one batch); the longest run of consecutive
    successes is the window, and its two edges are then bisected side by side to within ``tol`` (absolute).
    ``summary``: ``window`` [least, greatest succeeding value], ``outer`` [greatest failure below, least failure
    above] (None where the scan ends inside the window), ``center``; the found ``spec`` is the succeeding run
    nearest the centre. ``record``: more metrics to keep with each run, as for :func:`find_threshold`."""
    criteria = parse_criteria(criterion)
    evaluator = evaluator or LocalEvaluator()
    vals = sorted(float(v) for v in values)
    if len(vals) < 2:
        raise ValueError(f"values = {values!r}: give at least two values to scan")
    if not tol > 0:
        raise ValueError(f"tol = {tol!r} is not allowed; it must be > 0")
    metrics = _metrics_for(criteria, record)
    runs: list[Run] = []
    label = {"name": parameter, "fixed": {}}
    specs = [make_spec(v) for v in vals]
    ok = []
    for v, spec, res in zip(vals, specs, evaluator.evaluate(specs, metrics)):
        good = res.status == "ok" and all(c.holds(res.metrics) for c in criteria)
        runs.append(Run({parameter: v}, good, res.metrics, res.status, res.error, 0, spec, res.seconds))
        if res.status != "ok":
            raise DesignError(f"the run at {parameter} = {v:g} failed: {res.error}")
        ok.append(good)
    if on_round is not None:
        on_round(0, len(runs), {"runs": [round_run(r) for r in runs], "rounds_left": None, "brackets": []})
    if not any(ok):
        return DesignResult("window", (parameter,), tuple(map(str, criteria)),
                            {"window": None, "outer": None, "center": None, "n_runs": len(runs), "tol": tol,
                             "message": f"no value of {parameter} in the scan meets the criterion"}, runs, None)
    best_len, i0 = 0, 0
    for k, g in itertools.groupby(enumerate(ok), key=lambda p: p[1]):
        idx = [i for i, _ in g]
        if k and len(idx) > best_len:
            best_len, i0 = len(idx), idx[0]
    i1 = i0 + best_len - 1
    searches = []
    if i0 > 0:
        searches.append((_Bisection(vals[i0 - 1], vals[i0], abs_tol=tol, known={vals[i0 - 1]: False, vals[i0]: True}),
                         make_spec, label))
    if i1 < len(vals) - 1:
        searches.append((_Bisection(vals[i1], vals[i1 + 1], increasing=False, abs_tol=tol,
                                    known={vals[i1]: True, vals[i1 + 1]: False}), make_spec, label))
    _drive(searches, evaluator, criteria, metrics, runs, on_round)
    lo_s = searches[0][0] if i0 > 0 else None
    hi_s = searches[-1][0] if i1 < len(vals) - 1 else None
    w_lo = lo_s.hi if lo_s else vals[i0]
    w_hi = hi_s.lo if hi_s else vals[i1]
    center = 0.5 * (w_lo + w_hi)
    inside = [r for r in runs if r.success and w_lo <= r.values[parameter] <= w_hi]
    best = min(inside, key=lambda r: abs(r.values[parameter] - center))
    summary = {"window": [w_lo, w_hi], "outer": [lo_s.lo if lo_s else None, hi_s.hi if hi_s else None],
               "center": center, "best": best.values[parameter], "n_runs": len(runs), "tol": tol}
    return DesignResult("window", (parameter,), tuple(map(str, criteria)), summary, runs, best.spec)


def minimise(make_spec: Callable[[dict], dict], space: dict[str, tuple[float, float]], *, objective: str,
             criterion=(), maximise: bool = False, points: int = 4, rounds: int = 3, log: Sequence[str] = (),
             objective_fn: Callable[[dict], float] | None = None, evaluator: Evaluator | None = None,
             on_round=None) -> DesignResult:
    """The point of ``space`` ({name: (lo, hi)}) with the least ``objective`` metric (most, with ``maximise``)
    among the runs that meet ``criterion``: a grid of ``points`` per parameter (log-spaced for names in ``log``),
    then ``rounds - 1`` finer grids, each half as wide (in each parameter) as the last, around the best so far.
    ``objective_fn(values)`` instead of a metric computes the objective from the parameters alone."""
    from solver.analysis.metrics import METRICS

    criteria = parse_criteria(criterion) if criterion else ()
    if objective_fn is None and objective not in METRICS:
        raise ValueError(f"objective = {objective!r} is not a metric; allowed: {', '.join(METRICS)}")
    if not space:
        raise ValueError("space: name at least one parameter with its range")
    for name, (a, b) in space.items():
        if not a < b or (name in log and a <= 0):
            raise ValueError(f"space.{name} = [{a!r}, {b!r}] is not allowed; it must be increasing"
                             + (" and > 0 (log scale)" if name in log else ""))
    if points < 2 or rounds < 1:
        raise ValueError(f"points = {points!r}, rounds = {rounds!r}: need points >= 2 and rounds >= 1")
    evaluator = evaluator or LocalEvaluator()
    metrics = _metrics_for(criteria, () if objective_fn else (objective,))
    box = {k: (float(a), float(b)) for k, (a, b) in space.items()}
    runs: list[Run] = []
    seen: dict[tuple, Run] = {}
    sign = -1.0 if maximise else 1.0

    def score(r: Run) -> float:
        v = objective_fn(r.values) if objective_fn else r.metrics.get(objective, math.nan)
        return sign * v if isinstance(v, (int, float)) and math.isfinite(v) else math.inf

    best: Run | None = None
    for rnd in range(rounds):
        axes = {k: (np.geomspace(a, b, points) if k in log else np.linspace(a, b, points)) for k, (a, b) in box.items()}
        grid = [dict(zip(axes, map(float, p))) for p in itertools.product(*axes.values())]
        todo = [g for g in grid if tuple(g.values()) not in seen]
        specs = [make_spec(g) for g in todo]
        for g, spec, res in zip(todo, specs, evaluator.evaluate(specs, metrics)):
            ok = res.status == "ok" and all(c.holds(res.metrics) for c in criteria)
            run = Run(g, ok, res.metrics, res.status, res.error, rnd, spec, res.seconds)
            runs.append(run)
            seen[tuple(g.values())] = run
        feasible = [r for r in runs if r.success and math.isfinite(score(r))]
        if feasible:
            best = min(feasible, key=score)
        if on_round is not None:
            on_round(rnd, len(runs), {
                "runs": [round_run(r) for r in runs[-len(todo):]] if todo else [], "rounds_left": rounds - rnd - 1 if feasible else 0,
                "best": dict(best.values) if best else None,
                "best_objective": sign * score(best) if best else None})
        if not feasible:
            break
        new = {}
        for k, (a, b) in box.items():
            lo0, hi0 = space[k]
            c = best.values[k]
            if k in log:
                half = math.sqrt(b / a) ** 0.5
                new[k] = (max(lo0, c / half), min(hi0, c * half))
            else:
                half = (b - a) / 4
                new[k] = (max(lo0, c - half), min(hi0, c + half))
        box = new
    summary = {"best": best.values if best else None, "objective": objective,
               "best_objective": (sign * score(best)) if best else None, "n_runs": len(runs),
               "feasible_runs": sum(r.success for r in runs), "maximise": maximise, "log": list(log)}
    return DesignResult("minimise", tuple(space), tuple(map(str, criteria)), summary, runs,
                        copy.deepcopy(best.spec) if best else None)
