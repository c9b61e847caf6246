"""Design files: a search written down (JSON or YAML), checked field by field, then run.

A design file is the JSON form of the ``DesignSpec`` message (YAML accepted), read by :mod:`optowave.files`
as the client reads it for a server; its fields are documented in ``service.proto`` and the README::

    name: least irradiance that paces from a 200 µm spot
    base: planar_wave.json              # a job spec file (relative to this file) or the spec inline
    set: {numerics.duration_ms: 350}    # optional: values put into the base first (spec paths)
    protocol: pacing                    # optional: solver.design.protocols
    protocol_parameters: {site: spot, radius_um: 100, pulse_ms: 5}
    search: threshold                   # threshold | strength_duration | window | minimise
    parameter: irradiance_mw_per_mm2    # a protocol parameter (with a protocol) or a spec path
    range: [0.05, 5]
    tolerance: 0.02                     # relative for threshold searches; absolute (parameter units) for windows
    scale: log                          # log (default for thresholds) or linear
    criterion: propagated >= 1          # or a list; or {metric: {name, options}, op, value}
    analysis: {}                        # options of solver.analysis.analyse

and per search: ``durations`` and ``duration_parameter`` (strength_duration, default ``pulse_ms``);
``values`` (window: a list, or ``{start, stop, num}``); ``space`` ({name: [lo, hi]}), ``log`` (names),
``objective`` (a metric), ``maximise``, ``points``, ``rounds`` (minimise). ``expand`` (threshold searches: how
often a range that misses the threshold may be widened, default 3).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
import numpy as np

from optowave import files
from optowave.v1 import service_pb2
from solver.spec import FieldViolation, SpecError, base_message, closest, read_base, read_mapping

from .evaluate import Evaluator, parse_criteria
from .protocols import PROTOCOLS, apply_protocol, protocol_parameters
from .search import DesignResult, find_threshold, find_window, minimise, spec_maker, strength_duration

__all__ = ["DesignSpec", "DesignSpecError", "load_design", "run_design"]

SEARCHES = ("threshold", "strength_duration", "window", "minimise")
#: Most runs in one round of a search (a window's values, a strength-duration curve's durations, a
#: minimisation's grid), and most rounds: checked before any round is planned.
MAX_ROUND_RUNS = 1000
MAX_ROUNDS = 100


class DesignSpecError(SpecError):
    """A design file that cannot run; ``violations`` name the fields."""

    what = "design"


@dataclass(frozen=True)
class DesignSpec:
    name: str
    base: dict
    base_dir: str
    search: str
    doc: dict = field(repr=False)


def load_design(source, *, base_dir: str = ".") -> DesignSpec:
    """Read and check a design (file path, text, dict or ``DesignSpec`` message); raise :class:`DesignSpecError`
    naming every problem of the file. ``base_dir``: where a message's base resolves."""
    if isinstance(source, DesignSpec):
        return source
    prior: list[FieldViolation] = []
    if isinstance(source, service_pb2.DesignSpec):
        msg, doc_dir = source, base_dir
    else:
        doc, doc_dir = read_mapping(source, what="design", error=DesignSpecError)
        msg, doc_dir, problems = files.design_message(doc, doc_dir=doc_dir, read_base=base_message)
        prior = [FieldViolation(*v) for v in problems]
    d = files.to_document(msg)
    errors: list[FieldViolation] = []
    err = lambda f, msg: errors.append(FieldViolation(f, msg))  # noqa: E731
    base, _, base_dir, base_errors = read_base(d.get("base"), doc_dir)
    errors += base_errors
    if base is not None and "set" in d:
        base = _apply_set(base, d["set"], err, base_dir)
    search = d.get("search")
    if search not in SEARCHES:
        err("search", f"missing; give one of {', '.join(SEARCHES)}")
    protocol = d.get("protocol")
    if protocol is not None and protocol not in PROTOCOLS:
        err("protocol", f"{protocol!r} is not a protocol{closest(protocol, PROTOCOLS)}; allowed: "
            f"{', '.join(PROTOCOLS)}")
        protocol = None
    fixed = d.get("protocol_parameters", {})
    if not isinstance(fixed, dict):
        err("protocol_parameters", f"must be a mapping of parameter names to values; got {fixed!r}")
        fixed = {}
    elif fixed and protocol is None and "protocol" not in d:
        err("protocol_parameters", "given without a protocol")
    elif protocol:
        allowed = protocol_parameters(protocol)
        for k in fixed:
            if k not in allowed:
                err(f"protocol_parameters.{k}", f"not a parameter of {protocol}{closest(k, allowed)}; allowed: "
                    f"{', '.join(allowed)}")
    try:
        parse_criteria(d.get("criterion", "propagated >= 1"))
    except ValueError as exc:
        err("criterion", str(exc))
    names = _searched_names(d, search, err)
    if base is not None and not errors:
        _check_parameters(base, base_dir, protocol, fixed, names, err)
    _check_numbers(d, search, err)
    if errors or prior:
        raise DesignSpecError(prior + files.without_named(errors, prior))
    return DesignSpec(str(d.get("name", "design")), base, base_dir, search, copy.deepcopy(d))


def _apply_set(base: dict, values, err, base_dir: str) -> dict:
    """The base with ``set``'s values at their spec paths (each problem named ``set.<path>``)."""
    from solver.spec.paths import PathError, assign, resolve

    if not isinstance(values, dict):
        err("set", f"must be a mapping of spec paths to values; got {values!r}")
        return base
    for path, value in values.items():
        try:
            base = assign(base, resolve(path, base), value)
        except PathError as exc:
            err(f"set.{path}", str(exc))
    for v in read_base(base, base_dir, where="set")[3]:
        err(v.field, f"the base after set: {v.description}")
    return base


def _searched_names(d: dict, search, err) -> list[tuple[str, str, object]]:
    """``(field, name, a sample value)`` of each searched parameter."""
    if search == "minimise":
        space = d.get("space")
        if not isinstance(space, dict) or not space:
            err("space", "missing or empty: give {name: [lo, hi], ...}")
            return []
        out = []
        for k, v in space.items():
            if not (isinstance(v, list) and len(v) == 2 and all(_num(x) for x in v) and v[0] < v[1]):
                err(f"space.{k}", f"{v!r} is not allowed; give [lo, hi] with lo < hi")
            else:
                out.append((f"space.{k}", k, v[0]))
        return out
    p = d.get("parameter")
    if not isinstance(p, str) or not p:
        err("parameter", "missing: name the searched parameter (a protocol parameter or a spec path)")
        return []
    r = d.get("range")
    sample = r[0] if isinstance(r, list) and r and _num(r[0]) else 1.0
    if search == "window" and isinstance(d.get("values"), list) and d["values"]:
        sample = d["values"][0]
    out = [("parameter", p, sample)]
    if search == "strength_duration":
        ds = d.get("durations")
        out.append(("duration_parameter", d.get("duration_parameter", "pulse_ms"),
                    ds[0] if isinstance(ds, list) and ds else 1.0))
    return out


def _check_parameters(base, base_dir, protocol, fixed, names, err) -> None:
    """Each searched name must be a protocol parameter (with a protocol) or a spec path of the base; and the
    spec the search makes must be valid (checked at one sample point)."""
    from solver.spec.paths import PathError, resolve

    known = True
    for where, name, _ in names:
        if protocol:
            if name not in protocol_parameters(protocol):
                known = False
                err(where, f"{name!r} is not a parameter of {protocol}; allowed: "
                    f"{', '.join(protocol_parameters(protocol))}")
        else:
            try:
                resolve(name, base)
            except PathError as exc:
                err(where, str(exc))
    if not protocol or not known:
        return
    try:
        spec = apply_protocol(protocol, base, **{**fixed, **{name: v for _, name, v in names}})
    except (ValueError, TypeError) as exc:
        err("protocol_parameters", str(exc))
        return
    for v in read_base(spec, base_dir, where="protocol")[3]:
        err(v.field, f"the spec the protocol writes: {v.description}")


def _num(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _check_numbers(d: dict, search, err) -> None:
    if search in ("threshold", "strength_duration"):
        r = d.get("range")
        if not (isinstance(r, list) and len(r) == 2 and all(_num(x) for x in r) and r[0] < r[1]):
            err("range", f"{r!r} is not allowed; give [lo, hi] with lo < hi")
        elif d.get("scale", "log") == "log" and r[0] <= 0:
            err("range", f"{r!r} is not allowed on a log scale; both ends must be > 0 (or set scale: linear)")
        tol = d.get("tolerance", 0.02)
        if not (_num(tol) and 0 < tol < 1):
            err("tolerance", f"{tol!r} is not allowed; a relative tolerance in (0, 1), e.g. 0.02")
    if d.get("scale", "log") not in ("log", "linear"):
        err("scale", f"{d.get('scale')!r} is not allowed; allowed: log, linear")
    if search == "strength_duration":
        ds = d.get("durations")
        if not (isinstance(ds, list) and ds and all(_num(x) and x > 0 for x in ds)):
            err("durations", f"{ds!r} is not allowed; give a list of pulse durations > 0 (ms)")
        elif len(ds) > MAX_ROUND_RUNS:
            err("durations", f"{len(ds):,} durations (runs per round); the limit is {MAX_ROUND_RUNS:,}")
    if search == "window":
        v = d.get("values")
        ok = (isinstance(v, list) and len(v) >= 2 and all(_num(x) for x in v)) or (
            isinstance(v, dict) and set(v) == {"start", "stop", "num"} and _num(v["start"]) and _num(v["stop"])
            and isinstance(v["num"], int) and v["num"] >= 2)
        if not ok:
            err("values", f"{v!r} is not allowed; give two or more values, or {{start, stop, num}}")
        elif (len(v) if isinstance(v, list) else v["num"]) > MAX_ROUND_RUNS:
            n = len(v) if isinstance(v, list) else v["num"]
            err("values", f"{n:,} values (runs in the first round); the limit is {MAX_ROUND_RUNS:,}")
        tol = d.get("tolerance")
        if not (_num(tol) and tol > 0):
            err("tolerance", f"{tol!r} is not allowed; a window needs an absolute tolerance > 0 in the parameter's "
                "units")
    if search == "minimise":
        from solver.analysis.metrics import METRICS

        if d.get("objective") not in METRICS:
            err("objective", f"{d.get('objective')!r} is not a metric{closest(d.get('objective', ''), METRICS)}; "
                f"allowed: {', '.join(METRICS)}")
        for k, lo in (("points", 2), ("rounds", 1)):
            v = d.get(k, 4 if k == "points" else 3)
            if not (isinstance(v, int) and not isinstance(v, bool) and v >= lo):
                err(k, f"{v!r} is not allowed; a whole number >= {lo}")
            elif k == "rounds" and v > MAX_ROUNDS:
                err(k, f"{v:,} rounds; the limit is {MAX_ROUNDS}")
        points, space = d.get("points", 4), d.get("space") or {}
        if isinstance(points, int) and not isinstance(points, bool) and points >= 2 and isinstance(space, dict):
            runs = points ** max(len(space), 1)     # counted before any grid is built
            if runs > MAX_ROUND_RUNS:
                err("points", f"{points} points on each of {len(space)} parameters make {runs:,} runs per round; "
                    f"the limit is {MAX_ROUND_RUNS:,}")
        logs = d.get("log", [])
        if not (isinstance(logs, list) and all(x in (d.get("space") or {}) for x in logs)):
            err("log", f"{logs!r} is not allowed; a list of names from space")


def run_design(design, evaluator: Evaluator | None = None, on_round=None) -> DesignResult:
    """Run a design (file, text, dict or :class:`DesignSpec`) with ``evaluator`` (default: here, serially)."""
    from .evaluate import LocalEvaluator

    ds = load_design(design)
    d = ds.doc
    evaluator = evaluator or LocalEvaluator(ds.base_dir, d.get("analysis"))
    protocol = d.get("protocol")
    fixed = dict(d.get("protocol_parameters", {}))
    crit = d.get("criterion", "propagated >= 1")

    def values_maker():
        from solver.spec.paths import assign, resolve

        def make(values: dict) -> dict:
            if protocol:
                return apply_protocol(protocol, ds.base, **{**fixed, **values})
            spec = ds.base
            for k, v in values.items():
                spec = assign(spec, resolve(k, spec), v)
            return spec
        return make

    if ds.search == "threshold":
        lo, hi = d["range"]
        make = spec_maker(ds.base, d["parameter"], protocol=protocol, protocol_params=fixed)
        return find_threshold(make, lo, hi, criterion=crit, rel_tol=d.get("tolerance", 0.02),
                              scale=d.get("scale", "log"), expand=d.get("expand", 3), parameter=d["parameter"],
                              evaluator=evaluator, on_round=on_round)
    if ds.search == "strength_duration":
        lo, hi = d["range"]
        dname = d.get("duration_parameter", "pulse_ms")
        mk = values_maker()
        return strength_duration(lambda dur, v: mk({dname: dur, d["parameter"]: v}), d["durations"], lo, hi,
                                 criterion=crit, rel_tol=d.get("tolerance", 0.02), scale=d.get("scale", "log"),
                                 expand=d.get("expand", 3), parameter=d["parameter"], duration_parameter=dname,
                                 evaluator=evaluator, on_round=on_round)
    if ds.search == "window":
        v = d["values"]
        values = np.linspace(v["start"], v["stop"], v["num"]).tolist() if isinstance(v, dict) else v
        make = spec_maker(ds.base, d["parameter"], protocol=protocol, protocol_params=fixed)
        return find_window(make, values, criterion=crit, tol=d["tolerance"], parameter=d["parameter"],
                           evaluator=evaluator, on_round=on_round)
    space = {k: tuple(v) for k, v in d["space"].items()}
    return minimise(values_maker(), space, objective=d["objective"], criterion=d.get("criterion", ()),
                    maximise=bool(d.get("maximise", False)), points=d.get("points", 4), rounds=d.get("rounds", 3),
                    log=tuple(d.get("log", ())), evaluator=evaluator, on_round=on_round)
