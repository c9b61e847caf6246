"""A sweep file (the form ``optowave sweep`` reads) as the ``SweepSpec`` message a server takes.

Strict, as the local reading (:func:`service.sweep.load_sweep`) is: an unknown field, a misspelt ``combine``
or a value of the wrong type is refused naming its path in the file's own spelling (``axes[1].linspace.num``),
with the closest allowed name, every problem at once, never silently replaced by a default. Fields that
``SweepSpec`` cannot carry (``analysis``, ``zip_dim``, axis ``name``) are refused with the reason: such a
sweep runs with ``optowave sweep`` here. Needs only protobuf (the lab client stands alone).
"""
from __future__ import annotations

import difflib
import math
import os
from pathlib import Path

from optowave.v1 import service_pb2

#: The sweep file's top-level fields, and those a ``SweepSpec`` message carries.
FILE_FIELDS = ("name", "base", "axes", "combine", "metrics", "keep_fields", "analysis", "zip_dim")
WIRE_FIELDS = ("name", "base", "axes", "combine", "metrics", "keep_fields")
AXIS_FIELDS = ("path", "values", "linspace", "logspace")
COMBINE = {"product": service_pb2.SWEEP_COMBINE_PRODUCT, "zip": service_pb2.SWEEP_COMBINE_ZIP}


class SweepFileError(ValueError):
    """A sweep file that cannot be sent; ``violations`` are ``(field, description)`` pairs."""

    def __init__(self, violations):
        self.violations = list(violations)
        lines = "\n".join(f"  {f}: {d}" for f, d in self.violations)
        n = len(self.violations)
        super().__init__(f"invalid sweep spec ({n} problem{'s' if n != 1 else ''}):\n{lines}")


def closest(name, allowed) -> str:
    """`` (did you mean 'x'?)`` for the allowed name closest to ``name`` (case and underscores aside), or ``""``."""
    folded = {str(a).lower().replace("_", ""): str(a) for a in allowed}
    match = difflib.get_close_matches(str(name).lower().replace("_", ""), list(folded), n=1, cutoff=0.6)
    return f" (did you mean {folded[match[0]]!r}?)" if match else ""


def sweep_message(sweep: dict, *, base_dir: str | os.PathLike = ".", spec_message=None) -> service_pb2.SweepSpec:
    """The ``SweepSpec`` of a sweep file's mapping; raises :class:`SweepFileError` listing every problem.

    ``spec_message(source)`` turns the ``base`` (a path relative to ``base_dir``, or the spec inline) into a
    ``JobSpec`` message (the client's, which inlines raster and image files).
    """
    errors: list[tuple[str, str]] = []
    err = lambda f, d: errors.append((f, d))  # noqa: E731
    if not isinstance(sweep, dict):
        raise SweepFileError([("sweep", f"must be a mapping of {', '.join(FILE_FIELDS)}; got {type(sweep).__name__}")])
    for key in sweep:
        if key not in FILE_FIELDS:
            err(str(key), f"unknown field {key!r}{closest(key, FILE_FIELDS)}; allowed: {', '.join(FILE_FIELDS)}")
        elif key not in WIRE_FIELDS:
            err(key, "a server's sweeps (SweepSpec) have no such field; run this sweep here with "
                     "'optowave sweep SWEEP -o OUT.zarr' (or leave the field out)")
    msg = service_pb2.SweepSpec()
    name = sweep.get("name", "")
    if not isinstance(name, str):
        err("name", f"{name!r} is not a string")
    else:
        msg.name = name
    keep = sweep.get("keep_fields", False)
    if not isinstance(keep, bool):
        err("keep_fields", f"{keep!r} is not allowed; must be true or false")
    else:
        msg.keep_fields = keep
    combine = sweep.get("combine", "product")
    if combine not in COMBINE:
        err("combine", f"{combine!r} is not allowed{closest(combine, COMBINE)}; allowed: {', '.join(COMBINE)}")
    else:
        msg.combine = COMBINE[combine]
    _axes(sweep.get("axes"), msg, err)
    _metrics(sweep.get("metrics", []), msg, err)
    base = sweep.get("base")
    if base is None:
        err("base", "missing: give the base job spec (a file name or the spec inline)")
    elif spec_message is not None:
        if isinstance(base, str) and not Path(base).is_absolute():
            base = Path(base_dir) / base
        try:
            msg.base.CopyFrom(spec_message(base))
        except (ValueError, FileNotFoundError) as exc:
            err("base", str(exc))
    if errors:
        raise SweepFileError(errors)
    return msg


def _axes(raw, msg: service_pb2.SweepSpec, err) -> None:
    if not isinstance(raw, list) or not raw:
        err("axes", "empty: give at least one axis ({path, values | linspace | logspace})")
        return
    for k, a in enumerate(raw):
        where = f"axes[{k}]"
        if not isinstance(a, dict):
            err(where, f"must be a mapping {{path, values | linspace | logspace}}; got {a!r}")
            continue
        axis = msg.axes.add()
        for key, value in a.items():
            if key == "name":
                err(f"{where}.name", "a server's sweeps name each axis after its path; leave name out, or run "
                                     "the sweep here with 'optowave sweep'")
            elif key not in AXIS_FIELDS:
                err(f"{where}.{key}", f"unknown field {key!r}{closest(key, AXIS_FIELDS)}; allowed: "
                                      f"{', '.join(AXIS_FIELDS)}")
        path = a.get("path")
        if not isinstance(path, str) or not path:
            err(f"{where}.path", "missing: the spec field to sweep, e.g. tissue.model.parameters.g_Na")
        else:
            axis.path = path
        given = [key for key in ("values", "linspace", "logspace") if key in a]
        if len(given) != 1:
            err(where, "give exactly one of values, linspace, logspace" + (f" (got {', '.join(given)})" if given
                                                                          else ""))
            continue
        key = given[0]
        if key == "values":
            values = a["values"]
            if not isinstance(values, list) or not values:
                err(f"{where}.values", f"must be a list of at least one number; got {values!r}")
                continue
            for j, v in enumerate(values):
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    err(f"{where}.values[{j}]", f"{v!r} is not allowed; a server's sweep axes hold finite numbers")
                else:
                    axis.values.append(float(v))
            continue
        r = a[key]
        if not isinstance(r, dict) or set(r) != {"start", "stop", "num"}:
            err(f"{where}.{key}", f"must be {{start, stop, num}}; got {r!r}")
            continue
        num = r["num"]
        if isinstance(num, bool) or not isinstance(num, int) or not 1 <= num <= 2**32 - 1:
            err(f"{where}.{key}.num", f"{num!r} is not allowed; must be a whole number from 1 to {2**32 - 1}")
            continue
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
                   for x in (r["start"], r["stop"])):
            err(f"{where}.{key}", f"start and stop must be finite numbers; got {r['start']!r}, {r['stop']!r}")
            continue
        getattr(axis, key).CopyFrom(service_pb2.Range(start=r["start"], stop=r["stop"], num=num))


def _metrics(raw, msg: service_pb2.SweepSpec, err) -> None:
    if not isinstance(raw, list):
        err("metrics", f"must be a list of metric names or {{name: ..., points_um: ...}}; got {raw!r}")
        return
    for k, m in enumerate(raw):
        if isinstance(m, str):
            msg.metrics.append(m)
        elif isinstance(m, dict) and isinstance(m.get("name"), str):
            extra = set(m) - {"name", "points_um"}
            if extra:
                err(f"metrics[{k}]", f"{', '.join(sorted(extra))}: a server's sweeps take a metric's name and, for "
                                     "activation_time, points_um only")
            msg.metrics.append(m["name"])
            for j, p in enumerate(m.get("points_um", [])):
                if not (isinstance(p, (list, tuple)) and len(p) == 2):
                    err(f"metrics[{k}].points_um[{j}]", f"{p!r} is not a point [x, y] in µm")
                else:
                    msg.probes_um.add(x=p[0], y=p[1])
        else:
            err(f"metrics[{k}]", f"{m!r} is not a metric name or {{name: ..., points_um: ...}}")
