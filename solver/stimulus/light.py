"""Build light patterns, waveforms and stimuli in the job spec's own form (proto JSON dicts).

Every function returns the dict a spec file would hold (snake_case proto field names), so it
drops into a job-spec dict as is. Patterns come back as :class:`Shape`, a ``dict`` with
operators: ``a | b`` (union), ``a - b`` (difference), ``a + b`` (sum), ``k * a`` (scaled).
Lengths are in µm, times in ms, irradiance in mW/mm², angles in degrees counter-clockwise as
the sheet is drawn (x to the right, y downwards). Points are ``(x, y)`` pairs.

>>> from solver.stimulus import light
>>> spot = light.disk((200, 150), 40) - light.disk((200, 150), 15)
>>> dmd = light.image("mask.png", 2.5, rotation_deg=30, offset_um=(20, 40))  # doctest: +SKIP
>>> spec["light"] = [light.stimulus("spot", spot, light.pulse_train(5, 10, 200), 1.0),
...                  light.stimulus("gray", 0.5 * light.grating(50, duty_cycle=0.3), None, 0.2)]  # doctest: +SKIP
>>> light.rasterise(spot, {"nx": 40, "ny": 30, "dx_um": 10}).shape
(30, 40)
"""
from __future__ import annotations

import os
from typing import Any, Iterable

import numpy as np
import yaml

#: Half-length (µm) of a bar along the axis it spans: longer than any sheet.
FULL_SPAN_UM = 1e9

PointLike = Any   # (x, y) pair or {"x": .., "y": ..}


class Shape(dict):
    """A pattern in its proto-JSON form: a dict, usable wherever a spec takes a ``Pattern``.

    ``a | b`` is the union (pointwise maximum), ``a - b`` the difference (clipped at 0),
    ``a + b`` the sum and ``k * a`` the sum with scale ``k`` (sums are not clipped: a light
    weight above 1 means more than the stimulus's irradiance). ``sum(shapes)`` works too.
    """

    def __or__(self, other):
        return union(self, other)

    def __ror__(self, other):
        return union(other, self)

    def __ior__(self, other):
        return union(self, other)

    def __sub__(self, other):
        return difference(self, other)

    def __rsub__(self, other):
        return difference(other, self)

    def __add__(self, other):
        return scaled_sum(self, other)

    def __radd__(self, other):
        return Shape(self.to_dict()) if isinstance(other, (int, float)) and other == 0 else scaled_sum(other, self)

    def __mul__(self, k):
        if not isinstance(k, (int, float, np.number)) or isinstance(k, bool):
            return NotImplemented
        return Shape({"sum": {"terms": [{**term, "scale": float(k) * term["scale"]} for term in _terms(self)]}})

    __rmul__ = __mul__

    def to_dict(self) -> dict:
        """The pattern as plain nested dicts and lists."""
        return plain(self)


# spec dicts holding a Shape stay writable as YAML spec files
yaml.SafeDumper.add_representer(Shape, lambda dumper, shape: dumper.represent_dict(shape.to_dict()))


# ---------------------------------------------------------------- shapes


def everywhere() -> Shape:
    """The whole sheet (weight 1 in every cell)."""
    return Shape({"everywhere": {}})


def disk(center_um: PointLike, radius_um: float) -> Shape:
    """A disk of radius ``radius_um`` (µm) about ``center_um``."""
    return Shape({"disk": {"center_um": _point(center_um), "radius_um": float(radius_um)}})


def rectangle(min_um: PointLike, max_um: PointLike) -> Shape:
    """An axis-aligned rectangle from its top-left corner ``min_um`` to its bottom-right ``max_um`` (µm)."""
    return Shape({"rectangle": {"min_um": _point(min_um), "max_um": _point(max_um)}})


def bar(x0_um: float, x1_um: float) -> Shape:
    """A vertical strip ``x0_um <= x < x1_um`` over the sheet's full height.

    It is a rectangle reaching ``±FULL_SPAN_UM`` in y, so it needs no knowledge of the sheet.
    """
    return rectangle((x0_um, -FULL_SPAN_UM), (x1_um, FULL_SPAN_UM))


def bar_y(y0_um: float, y1_um: float) -> Shape:
    """A horizontal strip ``y0_um <= y < y1_um`` over the sheet's full width (reaching ``±FULL_SPAN_UM`` in x)."""
    return rectangle((-FULL_SPAN_UM, y0_um), (FULL_SPAN_UM, y1_um))


def ring(center_um: PointLike, inner_radius_um: float, outer_radius_um: float) -> Shape:
    """An annulus ``inner_radius_um <= r < outer_radius_um`` (µm) about ``center_um``."""
    return Shape({"ring": {"center_um": _point(center_um), "inner_radius_um": float(inner_radius_um),
                           "outer_radius_um": float(outer_radius_um)}})


def polygon(vertices_um: Iterable[PointLike]) -> Shape:
    """A polygon through ``vertices_um`` (at least 3, in order; even-odd rule)."""
    return Shape({"polygon": {"vertices_um": [_point(v) for v in vertices_um]}})


def line(start_um: PointLike, end_um: PointLike, width_um: float) -> Shape:
    """The segment ``start_um``→``end_um`` drawn ``width_um`` wide (µm), with round ends."""
    return Shape({"line": {"start_um": _point(start_um), "end_um": _point(end_um), "width_um": float(width_um)}})


def checkerboard(square_um: float, *, origin_um: PointLike = (0.0, 0.0), region=None) -> Shape:
    """Squares of side ``square_um`` (µm), alternately lit; the one right of and below ``origin_um`` is lit.

    ``region``: a pattern limiting it (weight = lit × region); None: the whole sheet.
    """
    body = {"square_um": float(square_um), "origin_um": _point(origin_um)}
    if region is not None:
        body["region"] = plain(region)
    return Shape({"checkerboard": body})


def grating(period_um: float, *, duty_cycle: float = 0.5, angle_deg: float = 0.0, phase_um: float = 0.0,
            region=None) -> Shape:
    """Stripes of period ``period_um`` (µm), lit over ``duty_cycle`` of each period.

    ``angle_deg`` is the direction of the stripes' normal (0: stripes vary along x), counter-clockwise
    as drawn; ``phase_um`` shifts them along the normal. ``region`` limits it (None: the whole sheet).
    """
    body = {"period_um": float(period_um), "duty_cycle": float(duty_cycle), "angle_deg": float(angle_deg),
            "phase_um": float(phase_um)}
    if region is not None:
        body["region"] = plain(region)
    return Shape({"grating": body})


def image(pixels_or_path, pixel_pitch_um: float, *, rotation_deg: float = 0.0,
          offset_um: PointLike = (0.0, 0.0)) -> Shape:
    """An image (DMD mask, camera frame) mapped onto the sheet.

    ``pixels_or_path``: a 2-D array of values in [0, 1] (row 0 at the top), or the path of a
    ``.png`` (gray or colour, read as luminance) or ``.npy`` file, relative to the spec file.
    Each pixel is ``pixel_pitch_um`` (µm) wide on the sheet; the image turns ``rotation_deg``
    counter-clockwise (as drawn) about its top-left corner, which lands at ``offset_um``.
    """
    body: dict = {}
    if isinstance(pixels_or_path, (str, os.PathLike)):
        path = os.fspath(pixels_or_path)
        if path.lower().endswith(".png"):
            body["png_path"] = path
        elif path.lower().endswith(".npy"):
            body["pixels"] = {"npy_path": path}
        else:
            raise ValueError(f"{path!r}: an image file must be a .png or a .npy")
    else:
        a = np.asarray(pixels_or_path, dtype=np.float64)
        if a.ndim != 2:
            raise ValueError(f"image pixels must be a 2-D array [rows, columns], got shape {list(a.shape)}")
        body["pixels"] = {"shape": list(a.shape), "values": a.ravel().tolist()}
    body.update(pixel_pitch_um=float(pixel_pitch_um), rotation_deg=float(rotation_deg), offset_um=_point(offset_um))
    return Shape({"image": body})


def union(*patterns) -> Shape:
    """The pointwise maximum of ``patterns`` (nested unions are flattened)."""
    parts = []
    for p in patterns:
        p = plain(p)
        parts += p["union"]["patterns"] if set(p) == {"union"} else [p]
    return Shape({"union": {"patterns": parts}})


def difference(first, *others) -> Shape:
    """``first`` minus all ``others``, clipped at 0 (``(a - b) - c`` becomes one difference)."""
    first = plain(first)
    parts = first["difference"]["patterns"] if set(first) == {"difference"} else [first]
    return Shape({"difference": {"patterns": parts + [plain(p) for p in others]}})


def scaled_sum(*terms) -> Shape:
    """``Σ scale·pattern``, not clipped. Each term is a pattern (scale 1) or a ``(scale, pattern)`` pair."""
    out = []
    for term in terms:
        if isinstance(term, tuple):
            k, p = term
            out += [{**u, "scale": float(k) * u["scale"]} for u in _terms(p)]
        else:
            out += _terms(term)
    return Shape({"sum": {"terms": out}})


# ---------------------------------------------------------------- waveforms and stimuli


def pulse(start_ms: float, width_ms: float) -> dict:
    """On (factor 1) for ``start_ms <= t < start_ms + width_ms``."""
    return {"pulse": {"start_ms": float(start_ms), "width_ms": float(width_ms)}}


def pulse_train(start_ms: float, width_ms: float, period_ms: float, count: int = 0) -> dict:
    """``count`` pulses of ``width_ms`` every ``period_ms`` from ``start_ms`` (count 0: forever)."""
    return {"pulse_train": {"start_ms": float(start_ms), "width_ms": float(width_ms), "period_ms": float(period_ms),
                            "count": int(count)}}


def ramp(start_ms: float, end_ms: float) -> dict:
    """A factor rising linearly from 0 at ``start_ms`` to 1 at ``end_ms``, then held at 1."""
    return {"ramp": {"start_ms": float(start_ms), "end_ms": float(end_ms)}}


def sine(frequency_hz: float, amplitude: float, offset: float, *, phase_deg: float = 0.0, start_ms: float = 0.0,
         duration_ms: float = 0.0) -> dict:
    """The factor ``offset + amplitude·sin(2π·f·(t − start)/1000 + phase)`` (f in Hz, t in ms).

    On from ``start_ms`` for ``duration_ms`` (0: forever), 0 before. For light the factor must stay >= 0: ``offset >= |amplitude|``.
    """
    return {"sine": {"frequency_hz": float(frequency_hz), "amplitude": float(amplitude), "offset": float(offset),
                     "phase_deg": float(phase_deg), "start_ms": float(start_ms), "duration_ms": float(duration_ms)}}


def sampled(times_ms: Iterable[float], values: Iterable[float], *, interpolation: str = "step") -> dict:
    """Samples of the factor at increasing ``times_ms``; ``interpolation`` "step" (held) or "linear"."""
    if interpolation not in ("step", "linear"):
        raise ValueError(f"interpolation {interpolation!r}; allowed: 'step', 'linear'")
    return {"sampled": {"times_ms": [float(x) for x in times_ms], "values": [float(v) for v in values],
                        "interpolation": f"INTERPOLATION_{interpolation.upper()}"}}


def stimulus(name: str, pattern, waveform: dict | None, irradiance_mw_per_mm2: float) -> dict:
    """A ``LightStimulus``: irradiance (mW/mm²) = ``irradiance_mw_per_mm2`` × pattern weight × waveform factor.

    ``waveform`` None: always on.
    """
    out = {"name": name, "pattern": plain(pattern), "irradiance_mw_per_mm2": float(irradiance_mw_per_mm2)}
    if waveform is not None:
        out["waveform"] = plain(waveform)
    return out


# ---------------------------------------------------------------- preview


def rasterise(pattern, grid, *, base_dir: str = ".") -> np.ndarray:
    """The pattern's weights, ``(ny, nx)``, on ``grid`` (``{"nx", "ny", "dx_um"}`` or a spec's grid).

    The pattern goes through the spec's own conversion and validation, so this is what a job
    with this pattern gets; a bad pattern raises :class:`solver.SpecError` naming its field.
    """
    from google.protobuf import json_format

    from optowave.v1 import spec_pb2

    from .patterns import rasterise as _rasterise
    from ..spec import SpecError, parse_pattern, pattern_from_proto, validate_pattern
    from ..spec import _types as t

    if not isinstance(grid, t.Grid):
        msg = spec_pb2.Grid()
        try:
            json_format.ParseDict(plain(grid), msg, ignore_unknown_fields=False)
        except json_format.ParseError as exc:
            raise SpecError([("grid", str(exc))]) from None
        grid = t.Grid(nx=msg.nx, ny=msg.ny, dx_um=msg.dx_um)
    p = pattern_from_proto(parse_pattern(plain(pattern)))
    report = validate_pattern(p, grid, base_dir=base_dir)
    if report.errors:
        raise SpecError(report.errors)
    return _rasterise(p, grid.ny, grid.nx, grid.dx_um, base_dir=base_dir)


# ---------------------------------------------------------------- helpers


def _point(p: PointLike) -> dict:
    if isinstance(p, dict):
        return {"x": float(p["x"]), "y": float(p["y"])}
    x, y = p
    return {"x": float(x), "y": float(y)}


def _terms(p) -> list[dict]:
    p = plain(p)
    if set(p) == {"sum"}:
        return [{**term, "scale": float(term.get("scale", 1.0))} for term in p["sum"].get("terms", [])]
    return [{"pattern": p, "scale": 1.0}]


def plain(obj):
    """``obj`` as plain JSON types (dicts, lists, Python numbers): a spec document built here or by a user."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj
