"""Sweep specs: a base job spec, axes over parameter paths, how to combine them, what to keep.

A sweep file is the JSON form of the ``SweepSpec`` message (YAML accepted), read by :mod:`optowave.files`
as the client reads it for a server; its fields and shorthands are documented in ``service.proto`` and the
README. For example::

    name: gna-vs-light
    base: planar_wave.json                 # a job spec file (relative to this file) or the spec inline
    axes:
      - path: tissue.model.parameters.g_Na
        values: [5, 10, 20, 40]
      - path: light[0].irradiance_mw_per_mm2
        logspace: {start: 0.1, stop: 10, num: 4}   # or linspace: {start, stop, num}
    combine: product                       # or zip (all axes the same length, one shared dimension)
    metrics: [propagated, conduction_velocity, {name: activation_time, points_um: [[50, 50]]}]
    keep_fields: false                     # true: keep each run's store beside the summary
    analysis: {threshold: 0.5}             # options of solver.analysis.analyse (optional)

Validation reports every problem, each naming its field (``axes[1].path``, ``metrics[2]``,
``base.grid.nx``); every point of the sweep is validated as a job spec before anything runs.
"""
from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from optowave import files
from optowave.v1 import service_pb2
from solver.spec import (FieldViolation, SpecError, base_message, closest, from_proto, parse_proto, read_base,
                         read_mapping, validate)

from ._metrics import METRICS, ANALYSIS_OPTIONS, MetricSpec, check_metric
from solver.spec.paths import PathError, ResolvedPath, assign, resolve

COMBINE = ("product", "zip")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED = {"probe", "failed", "error", "run_seconds", "run_store"}
#: Most runs of a sweep read here (a server sets its own, lower limit: ``optowave serve --max-sweep-runs``);
#: checked from the axes' lengths before any axis is expanded or any point built.
MAX_RUNS = 1_000_000


class SweepSpecError(SpecError):
    """A sweep spec that cannot run; ``violations`` name the fields (``axes[0].path``, ...)."""

    what = "sweep spec"


@dataclass(frozen=True)
class Axis:
    """One swept parameter: the dimension ``name``, the spec ``path`` and its ``values``."""

    name: str
    path: str
    values: tuple
    resolved: ResolvedPath = field(repr=False, compare=False)


@dataclass(frozen=True)
class Point:
    """One run of the sweep: its position on the axes and its job spec (JSON form)."""

    index: tuple[int, ...]     # position along each dimension (zip: one index)
    coords: dict[str, Any]     # axis name -> value
    spec: dict                 # the job spec, proto field names


@dataclass(frozen=True)
class SweepSpec:
    name: str
    base: dict                 # the base job spec, proto field names
    base_dir: str              # where the base spec's relative paths resolve
    axes: tuple[Axis, ...]
    combine: str
    metrics: tuple[MetricSpec, ...]
    keep_fields: bool
    analysis: dict
    zip_dim: str
    json: str = field(default="{}", repr=False, compare=False)   # canonical JSON of the sweep

    @property
    def dims(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.axes) if self.combine == "product" else (self.zip_dim,)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(a.values) for a in self.axes) if self.combine == "product" else (len(self.axes[0].values),)

    @property
    def n_runs(self) -> int:
        return int(np.prod(self.shape))

    def points(self) -> list[Point]:
        """Every run, in row-major order of :attr:`shape`."""
        if self.combine == "product":
            combos = itertools.product(*(range(len(a.values)) for a in self.axes))
            picks = [(idx, idx) for idx in combos]
        else:
            picks = [((j,), (j,) * len(self.axes)) for j in range(len(self.axes[0].values))]
        out = []
        for index, per_axis in picks:
            spec = self.base
            coords = {}
            for a, j in zip(self.axes, per_axis):
                spec = assign(spec, a.resolved, a.values[j])
                coords[a.name] = a.values[j]
            out.append(Point(index, coords, spec))
        return out


def load_sweep(source, *, base_dir: str = ".") -> SweepSpec:
    """Read and validate a sweep spec (path, JSON/YAML text, dict or ``SweepSpec`` message); raise
    :class:`SweepSpecError` listing every problem of the file. ``base_dir``: where a message's base resolves."""
    if isinstance(source, SweepSpec):
        return source
    if isinstance(source, service_pb2.SweepSpec):
        return _build(files.to_document(source), base_dir, [])
    doc, doc_dir = read_mapping(source, what="sweep", error=SweepSpecError)
    msg, base_dir, problems = files.sweep_message(doc, doc_dir=doc_dir, read_base=base_message)
    return _build(files.to_document(msg), base_dir, [FieldViolation(*v) for v in problems])


def _build(d: dict, sweep_dir: str, prior: list[FieldViolation]) -> SweepSpec:
    """The sweep of a file's form ``d`` (:func:`optowave.files.to_document`); ``prior``: the problems its
    reading found, reported with these."""
    errors: list[FieldViolation] = []
    err = lambda f, msg: errors.append(FieldViolation(f, msg))  # noqa: E731

    def refuse(found: list[FieldViolation]):
        return SweepSpecError(prior + files.without_named(found, prior))

    # base: a job spec file or the spec inline
    base, spec, base_dir, base_errors = read_base(d.get("base"), sweep_dir)
    errors += base_errors
    model = None
    if spec is not None:
        from solver.models.resolve import model_of

        model = model_of(spec.tissue.model, spec.base_dir)

    combine = d.get("combine", "product")
    if combine not in COMBINE:
        err("combine", f"{combine!r} is not allowed{closest(combine, COMBINE)}; allowed: {', '.join(COMBINE)}")
    zip_dim = d.get("zip_dim", "run")
    if not (isinstance(zip_dim, str) and _NAME.match(zip_dim)):
        err("zip_dim", f"{zip_dim!r} is not a name (letters, digits, _)")

    n_runs = planned_runs(d.get("axes"), combine)
    if n_runs > MAX_RUNS:
        lengths = " × ".join(map(str, axis_lengths(d.get("axes"))))
        raise refuse([FieldViolation("axes", f"{n_runs:,} runs ({lengths}); the limit is {MAX_RUNS:,} runs per "
                                             "sweep")])
    axes = _axes(d.get("axes"), base, model, err)
    if combine == "zip" and len(axes) > 1:
        n0 = len(axes[0].values)
        for k, a in enumerate(axes[1:], start=1):
            if len(a.values) != n0:
                err(f"axes[{k}]", f"has {len(a.values)} values but axes[0] has {n0}; combine: zip needs every axis "
                    "the same length (or use combine: product)")

    metrics: list[MetricSpec] = []
    raw_metrics = d.get("metrics", [])
    if not isinstance(raw_metrics, list):
        err("metrics", f"must be a list of metric names or {{name: ..., options}}; got {type(raw_metrics).__name__}")
        raw_metrics = []
    for k, m in enumerate(raw_metrics):
        spec_m = check_metric(f"metrics[{k}]", m, base, err)
        if spec_m is not None:
            if any(x.name == spec_m.name for x in metrics):
                err(f"metrics[{k}]", f"{spec_m.name!r} is listed twice")
            else:
                metrics.append(spec_m)
    keep = d.get("keep_fields", False)
    if not isinstance(keep, bool):
        err("keep_fields", f"{keep!r} is not allowed; must be true or false")
    if not raw_metrics and keep is False:
        err("metrics", f"empty: name at least one metric ({', '.join(METRICS)}) or set keep_fields: true")
    analysis = d.get("analysis", {}) or {}
    if not isinstance(analysis, dict):
        err("analysis", f"must be a mapping of options of solver.analysis.analyse; got {type(analysis).__name__}")
        analysis = {}
    for key, value in analysis.items():
        if key not in ANALYSIS_OPTIONS:
            err(f"analysis.{key}", f"unknown option{closest(key, ANALYSIS_OPTIONS)}; allowed: "
                f"{', '.join(ANALYSIS_OPTIONS)}")
        elif not (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)):
            err(f"analysis.{key}", f"{value!r} is not a finite number")
    names = [a.name for a in axes] + [m.name for m in metrics] + ([zip_dim] if combine == "zip" else [])
    for n in set(names):
        if names.count(n) > 1 or n in _RESERVED:
            err("axes", f"the name {n!r} is used twice (axes, metrics, zip_dim) or is reserved "
                f"({', '.join(sorted(_RESERVED))}); give the axis another name with axes[i].name")
    name = d.get("name", "")
    if not isinstance(name, str):
        err("name", f"{name!r} is not a string")

    if errors or prior:
        raise refuse(errors)
    sweep = SweepSpec(name=name or "sweep", base=base, base_dir=base_dir, axes=tuple(axes), combine=combine,
                      metrics=tuple(metrics), keep_fields=keep, analysis=dict(analysis), zip_dim=zip_dim)
    canonical = json.dumps({
        "name": sweep.name, "base": base, "combine": combine, "keep_fields": keep, "analysis": sweep.analysis,
        "zip_dim": zip_dim, "axes": [{"name": a.name, "path": a.path, "values": list(a.values)} for a in axes],
        "metrics": [m.to_json() for m in metrics]}, sort_keys=True)
    sweep = SweepSpec(**{**sweep.__dict__, "json": canonical})
    _check_points(sweep)
    return sweep


def axis_lengths(raw_axes) -> list[int]:
    """How many values each axis of a sweep file's ``axes`` has, read without expanding any (0: not told)."""
    out = []
    for a in raw_axes if isinstance(raw_axes, list) else []:
        n = 0
        if isinstance(a, dict):
            if isinstance(a.get("values"), list):
                n = len(a["values"])
            for key in ("linspace", "logspace"):
                r = a.get(key)
                if isinstance(r, dict) and isinstance(r.get("num"), int) and not isinstance(r.get("num"), bool):
                    n = max(n, r["num"])
        out.append(n)
    return out


def planned_runs(raw_axes, combine: str = "product") -> int:
    """The runs a sweep file's axes make (a product, or the longest axis with ``zip``), before expanding them."""
    lengths = [n for n in axis_lengths(raw_axes) if n > 0]
    if not lengths:
        return 0
    return max(lengths) if combine == "zip" else math.prod(lengths)


def _axes(raw, base, model, err) -> list[Axis]:
    if not isinstance(raw, list) or not raw:
        err("axes", "empty: give at least one axis ({path, values | linspace | logspace})")
        return []
    out = []
    for k, a in enumerate(raw):
        where = f"axes[{k}]"
        if not isinstance(a, dict):
            err(where, f"must be a mapping {{path, values | linspace | logspace}}; got {a!r}")
            continue
        for key in a:
            if key not in ("path", "name", "values", "linspace", "logspace"):
                err(f"{where}.{key}", "unknown field; allowed: path, name, values, linspace, logspace")
        path = a.get("path")
        resolved = None
        if path is None:
            err(f"{where}.path", "missing: the spec field to sweep, e.g. tissue.model.parameters.g_Na")
        elif base is not None:
            try:
                resolved = resolve(path, base, parameter_names=tuple(model.param_names) if model else (),
                                   opsin_parameter_names=_opsin_names())
            except PathError as exc:
                err(f"{where}.path", f"unknown parameter path: {exc}")
        values = _values(where, a, resolved, err)
        name = a.get("name") or (_default_name(path) if isinstance(path, str) else f"axis{k}")
        if not (isinstance(name, str) and _NAME.match(name)):
            err(f"{where}.name", f"{name!r} is not a dimension name (letters, digits, _)")
        if resolved is not None and values:
            out.append(Axis(name, path, tuple(values), resolved))
        elif values is not None:
            out.append(Axis(name, str(path), tuple(values), None))  # reported already; keeps zip checks going
    return out


def _values(where: str, a: dict, resolved: ResolvedPath | None, err) -> list | None:
    given = [key for key in ("values", "linspace", "logspace") if key in a]
    if not given:       # an empty list of values is no values (the message cannot tell them apart)
        err(where, "no values: give a list of values, or linspace or logspace {start, stop, num}")
        return None
    if len(given) != 1:
        err(where, f"give only one of values, linspace, logspace (got {', '.join(given)})")
        return None
    key = given[0]
    if key == "values":
        vals = a["values"]
        if not isinstance(vals, list):
            err(f"{where}.values", f"must be a list; got {vals!r}")
            return None
        if not vals:
            err(f"{where}.values", "empty axis: give at least one value")
            return None
    else:
        r = a[key]
        if not isinstance(r, dict) or set(r) - {"start", "stop", "num"} or not {"start", "stop", "num"} <= set(r):
            err(f"{where}.{key}", f"must be {{start, stop, num}}; got {r!r}")
            return None
        start, stop, num = r["start"], r["stop"], r["num"]
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in (start, stop)):
            err(f"{where}.{key}", f"start and stop must be finite numbers; got {start!r}, {stop!r}")
            return None
        if not isinstance(num, int) or isinstance(num, bool) or num < 1:
            err(f"{where}.{key}.num", f"{num!r} is not allowed; must be a whole number >= 1 (empty axis)")
            return None
        if key == "logspace" and not (start > 0 and stop > 0):
            err(f"{where}.logspace", f"start and stop must be > 0 (values spaced evenly in log); "
                f"got {start!r}, {stop!r}")
            return None
        vals = (np.linspace(start, stop, num) if key == "linspace" else np.geomspace(start, stop, num)).tolist()
    if resolved is None:
        return vals
    kind = resolved.kind
    out = []
    for j, v in enumerate(vals):
        bad = None
        if kind in ("number", "integer"):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                bad = "a finite number"
            elif kind == "integer" and float(v) != int(v):
                bad = "a whole number"
            else:
                v = int(v) if kind == "integer" else float(v)
        elif kind == "bool":            # a sweep's values are numbers (SweepAxis.values): 0 and 1 for a bool
            if v in (0, 1) and not isinstance(v, str):
                v = bool(v)
            else:
                bad = "0 or 1 (false or true)"
        elif kind == "string":
            bad = "a number, and this field holds text (a sweep axis holds numbers)"
        elif kind == "enum":            # an enum is swept by its numbers
            numbers = {val.number: val.name for val in resolved.leaf.enum_type.values}
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v in numbers:
                v = numbers[int(v)]
            else:
                bad = f"the number of one of {', '.join(f'{n} ({name})' for n, name in numbers.items())}"
        if bad:
            err(f"{where}.values[{j}]" if key == "values" else f"{where}.{key}",
                f"{v!r} is not allowed at {resolved.path}; must be {bad}")
        else:
            out.append(v)
    if len(set(map(repr, out))) != len(out):
        err(f"{where}.{key}", "repeats a value; each value of an axis must be different")
    return out


def _default_name(path: str) -> str:
    last = path.split(".")[-1]
    return re.sub(r"\W", "_", last)


def _opsin_names() -> tuple[str, ...]:
    from solver.models.opsin import OPSIN_PARAM_NAMES

    return tuple(OPSIN_PARAM_NAMES)


def _check_points(sweep: SweepSpec) -> None:
    """Validate the job spec of every point; a problem names the axis value that causes it."""
    errors: list[FieldViolation] = []
    seen = set()
    for point in sweep.points():
        try:
            msg, _ = parse_proto(point.spec)
            report = validate(from_proto(msg, base_dir=sweep.base_dir))
            problems = report.errors
        except SpecError as exc:
            problems = exc.violations
        for v in problems:
            field_ = f"base.{v.field}"
            for k, a in enumerate(sweep.axes):
                if v.field == a.path or v.field.startswith(a.path + "."):
                    j = a.values.index(point.coords[a.name])
                    field_ = f"axes[{k}].values[{j}]"
            at = ", ".join(f"{n} = {val!r}" for n, val in point.coords.items())
            key = (field_, v.description)
            if key not in seen:
                seen.add(key)
                errors.append(FieldViolation(field_, f"{v.field}: {v.description} (at {at})"))
    if errors:
        raise SweepSpecError(errors)
