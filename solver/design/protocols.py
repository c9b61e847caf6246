"""Stimulation protocols: named, parameterised templates that write the light program of a job spec.

Each protocol takes a base job spec (its JSON form: a dict, or a path / text that :func:`read_mapping` reads)
and keyword parameters, and returns a new spec dict whose ``light`` is the protocol's program (appended to the
base's own light with ``append=True``). The protocol and its parameters are recorded in the spec's ``labels``
(``protocol``, ``protocol.<name>``), so a result says how it was lit. Positions are in µm on the sheet (x to
the right, y down, origin at the top-left corner), times in ms, irradiance in mW/mm² at the sample.

==================  =========================================================================================
protocol            light program
==================  =========================================================================================
``pacing``          a spot (``site="spot"``) or a strip along one edge (``site="edge"``) pulsed ``count``
                    times every ``period_ms`` for ``pulse_ms``
``s1s2_spiral``     S1: a strip along ``s1_edge``; S2, ``interval_ms`` later: half of the sheet, cut across the
                    S1 wave's path (``s2="half"``), or the quarter of it next to the S1 edge
                    (``s2="quadrant"``): the S2 wave's free end meets the S1 wave's refractory tail and curls
                    into a spiral
``conduction_block`` a line of ``width_um`` switched on slowly (``ramp_ms``) from ``start_ms`` and held for
                    ``duration_ms`` (default: the whole run): the lit cells stay depolarised, their Na
                    channels inactivate, and waves stop there
``domain_flip``     a region lit for ``duration_ms`` at ``irradiance``: in bistable tissue (``hek_bistable``)
                    the dose (irradiance × duration, µJ/mm²) lifts the region into the depolarised state
``ring_oscillator`` an annulus of tissue (the mask, with ``set_mask``); a radial line across it held until
                    ``block_ms`` and a spot beside it on one side: the wave starts one way round and circulates
==================  =========================================================================================
"""
from __future__ import annotations

import copy
import inspect
import math
from typing import Callable

from solver.spec import read_mapping

__all__ = ["PROTOCOLS", "apply_protocol", "conduction_block", "domain_flip", "pacing", "protocol_parameters",
           "ring_oscillator", "s1s2_spiral"]

_EDGES = ("left", "right", "top", "bottom")


def _base(base) -> dict:
    if isinstance(base, dict):
        return copy.deepcopy(base)
    return read_mapping(base, what="base")[0]


def _sheet(spec: dict) -> tuple[float, float]:
    g = spec.get("grid", {})
    try:
        dx = float(g["dx_um"])
        return float(g["nx"]) * dx, float(g["ny"]) * dx
    except (KeyError, TypeError, ValueError):
        raise ValueError("the base spec needs grid.nx, grid.ny and grid.dx_um for a protocol to place its light") \
            from None


def _pt(x: float, y: float) -> dict:
    return {"x": float(x), "y": float(y)}


def _rect(x0: float, y0: float, x1: float, y1: float) -> dict:
    return {"rectangle": {"min_um": _pt(x0, y0), "max_um": _pt(x1, y1)}}


def _strip(edge: str, width: float, w: float, h: float, where: str) -> dict:
    if edge not in _EDGES:
        raise ValueError(f"{where} = {edge!r} is not allowed; use one of {', '.join(_EDGES)}")
    return {"left": _rect(0, 0, width, h), "right": _rect(w - width, 0, w, h),
            "top": _rect(0, 0, w, width), "bottom": _rect(0, h - width, w, h)}[edge]


def _pulse(start: float, width: float) -> dict:
    return {"pulse": {"start_ms": float(start), "width_ms": float(width)}}


def _stim(name: str, pattern: dict, waveform: dict, irradiance: float) -> dict:
    return {"name": name, "pattern": pattern, "waveform": waveform, "irradiance_mw_per_mm2": float(irradiance)}


def _positive(**values) -> None:
    for k, v in values.items():
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ValueError(f"{k} = {v!r} is not allowed; it must be a number > 0")


def _finish(base: dict, name: str, light: list[dict], params: dict, append: bool) -> dict:
    spec = base
    spec["light"] = (list(spec.get("light", [])) if append else []) + light
    labels = dict(spec.get("labels", {}))
    labels["protocol"] = name
    for k, v in params.items():
        labels[f"protocol.{k}"] = str(v)
    spec["labels"] = labels
    return spec


def pacing(base, *, site: str = "spot", center_um: tuple[float, float] | None = None, radius_um: float = 100.0,
           edge: str = "left", width_um: float = 100.0, start_ms: float = 1.0, pulse_ms: float = 5.0,
           period_ms: float = 500.0, count: int = 1, irradiance_mw_per_mm2: float = 1.0,
           append: bool = False) -> dict:
    """Pace from a spot (``center_um``, default the sheet's centre; ``radius_um``) or an edge strip
    (``edge``: left/right/top/bottom, ``width_um`` deep): ``count`` pulses of ``pulse_ms`` every ``period_ms``
    from ``start_ms``."""
    spec = _base(base)
    w, h = _sheet(spec)
    _positive(pulse_ms=pulse_ms, period_ms=period_ms)
    if site == "spot":
        _positive(radius_um=radius_um)
        cx, cy = center_um if center_um is not None else (w / 2, h / 2)
        pattern = {"disk": {"center_um": _pt(cx, cy), "radius_um": float(radius_um)}}
    elif site == "edge":
        _positive(width_um=width_um)
        pattern = _strip(edge, width_um, w, h, "edge")
    else:
        raise ValueError(f"site = {site!r} is not allowed; use 'spot' or 'edge'")
    if not (isinstance(count, int) and count >= 1):
        raise ValueError(f"count = {count!r} is not allowed; it must be a whole number >= 1")
    wave = _pulse(start_ms, pulse_ms) if count == 1 else {"pulse_train": {
        "start_ms": float(start_ms), "width_ms": float(pulse_ms), "period_ms": float(period_ms), "count": count}}
    params = dict(site=site, pulse_ms=pulse_ms, period_ms=period_ms, count=count,
                  irradiance_mw_per_mm2=irradiance_mw_per_mm2)
    return _finish(spec, "pacing", [_stim(f"pacing {site}", pattern, wave, irradiance_mw_per_mm2)], params, append)


def s1s2_spiral(base, *, interval_ms: float, s1_edge: str = "left", s1_width_um: float = 100.0,
                s1_start_ms: float = 1.0, s2: str = "half", pulse_ms: float = 3.0,
                irradiance_mw_per_mm2: float = 1.0, append: bool = False) -> dict:
    """Cross-field S1–S2: S1 lights a strip along ``s1_edge`` at ``s1_start_ms``; S2 lights, ``interval_ms``
    later, half of the sheet cut parallel to the S1 wave's path (S1 on the left edge: the lower half; right: the
    upper half; top: the left half; bottom: the right half), or with ``s2="quadrant"`` the quarter of that half
    next to the S1 edge."""
    spec = _base(base)
    w, h = _sheet(spec)
    _positive(interval_ms=interval_ms, s1_width_um=s1_width_um, pulse_ms=pulse_ms)
    s1 = _strip(s1_edge, s1_width_um, w, h, "s1_edge")
    halves = {"left": _rect(0, h / 2, w, h), "right": _rect(0, 0, w, h / 2),
              "top": _rect(0, 0, w / 2, h), "bottom": _rect(w / 2, 0, w, h)}
    quadrants = {"left": _rect(0, h / 2, w / 2, h), "right": _rect(w / 2, 0, w, h / 2),
                 "top": _rect(0, 0, w / 2, h / 2), "bottom": _rect(w / 2, h / 2, w, h)}
    if s2 not in ("half", "quadrant"):
        raise ValueError(f"s2 = {s2!r} is not allowed; use 'half' or 'quadrant'")
    s2_pattern = (halves if s2 == "half" else quadrants)[s1_edge]
    light = [_stim(f"S1: {s1_edge} edge", s1, _pulse(s1_start_ms, pulse_ms), irradiance_mw_per_mm2),
             _stim(f"S2: {s2}-field after {interval_ms:g} ms", s2_pattern, _pulse(s1_start_ms + interval_ms, pulse_ms),
                   irradiance_mw_per_mm2)]
    params = dict(interval_ms=interval_ms, s1_edge=s1_edge, s2=s2, pulse_ms=pulse_ms,
                  irradiance_mw_per_mm2=irradiance_mw_per_mm2)
    return _finish(spec, "s1s2_spiral", light, params, append)


def _held(start: float, ramp: float, end: float | None) -> dict:
    """On from ``start`` (reached linearly over ``ramp`` ms) until ``end`` (None: to the end of the run)."""
    if ramp <= 0:
        return _pulse(start, (end - start) if end is not None else 1e9)
    times, values = [start, start + ramp], [0.0, 1.0]
    if end is not None:
        times += [end, end + 1e-6]
        values += [1.0, 0.0]
    return {"sampled": {"times_ms": [float(t) for t in times], "values": values,
                        "interpolation": "INTERPOLATION_LINEAR"}}


def conduction_block(base, *, start_um: tuple[float, float], end_um: tuple[float, float], width_um: float = 100.0,
                     start_ms: float = 0.0, ramp_ms: float = 20.0, duration_ms: float | None = None,
                     irradiance_mw_per_mm2: float = 1.0, append: bool = True) -> dict:
    """A line from ``start_um`` to ``end_um``, ``width_um`` wide, switched on from ``start_ms`` over ``ramp_ms``
    and held for ``duration_ms`` (None: to the end of the run). Appends to the base's light by default (the waves
    it should block).

    The ramp lets the lit cells depolarise slowly, so that their Na channels inactivate before they reach
    threshold: a line switched on at once fires a wave of its own (both ways) before it blocks. Too bright or too
    wide a line fires even so, and in HEK tissue a held depolarised line also pulls its neighbours up over tens
    of ms; switch it on shortly before the wave it should stop."""
    spec = _base(base)
    _sheet(spec)
    _positive(width_um=width_um, irradiance_mw_per_mm2=irradiance_mw_per_mm2)
    if ramp_ms < 0:
        raise ValueError(f"ramp_ms = {ramp_ms!r} is not allowed; it must be >= 0")
    if duration_ms is not None:
        _positive(duration_ms=duration_ms)
    end = None if duration_ms is None else start_ms + duration_ms
    line = {"line": {"start_um": _pt(*start_um), "end_um": _pt(*end_um), "width_um": float(width_um)}}
    stim = _stim("conduction block", line, _held(start_ms, ramp_ms, end), irradiance_mw_per_mm2)
    params = dict(width_um=width_um, start_ms=start_ms, ramp_ms=ramp_ms, duration_ms=duration_ms,
                  irradiance_mw_per_mm2=irradiance_mw_per_mm2)
    return _finish(spec, "conduction_block", [stim], params, append)


def domain_flip(base, *, region: dict, start_ms: float = 10.0, duration_ms: float = 50.0,
                irradiance_mw_per_mm2: float = 5.0, append: bool = False) -> dict:
    """Light ``region`` (a pattern, e.g. ``solver.stimulus.light.rectangle(...)``) for ``duration_ms`` from ``start_ms``;
    the dose is irradiance × duration (mW/mm² × ms = µJ/mm²)."""
    spec = _base(base)
    _sheet(spec)
    _positive(duration_ms=duration_ms, irradiance_mw_per_mm2=irradiance_mw_per_mm2)
    if not isinstance(region, dict) or len(region) != 1:
        raise ValueError(f"region = {region!r} is not a pattern; give one, e.g. {{'rectangle': {{...}}}}")
    params = dict(start_ms=start_ms, duration_ms=duration_ms, irradiance_mw_per_mm2=irradiance_mw_per_mm2,
                  dose_uj_per_mm2=duration_ms * irradiance_mw_per_mm2)
    stim = _stim("domain flip", copy.deepcopy(region), _pulse(start_ms, duration_ms), irradiance_mw_per_mm2)
    return _finish(spec, "domain_flip", [stim], params, append)


def ring_oscillator(base, *, center_um: tuple[float, float] | None = None, inner_radius_um: float,
                    outer_radius_um: float, angle_deg: float = -90.0, direction: str = "clockwise",
                    block_width_um: float = 100.0, spot_width_um: float = 60.0, ramp_ms: float = 20.0,
                    block_ms: float = 50.0, spot_start_ms: float = 25.0, pulse_ms: float = 3.0,
                    block_irradiance_mw_per_mm2: float = 1.0, irradiance_mw_per_mm2: float = 2.0,
                    set_mask: bool = True, append: bool = False) -> dict:
    """A wave sent one way round an annulus (``center_um``, default the sheet's centre).

    A radial line across the ring at ``angle_deg`` (0 = +x; angles grow clockwise as drawn, y pointing down)
    is switched on over ``ramp_ms`` (slowly, so that it blocks without firing, see :func:`conduction_block`)
    and held until ``block_ms``; a spot of ``spot_width_um`` beside it on the ``direction`` side fires at
    ``spot_start_ms``. The wave that would go the other way meets the block and dies; the block is off before
    the wave comes round (``block_ms`` < ``spot_start_ms`` + 2π·r / CV), and the wave then circulates if the
    circuit time exceeds the refractory period."""
    spec = _base(base)
    w, h = _sheet(spec)
    _positive(inner_radius_um=inner_radius_um, outer_radius_um=outer_radius_um, block_width_um=block_width_um,
              spot_width_um=spot_width_um, block_ms=block_ms, pulse_ms=pulse_ms)
    if inner_radius_um >= outer_radius_um:
        raise ValueError(f"inner_radius_um = {inner_radius_um!r} is not allowed; it must be below outer_radius_um "
                         f"= {outer_radius_um!r}")
    if direction not in ("clockwise", "counterclockwise"):
        raise ValueError(f"direction = {direction!r} is not allowed; use 'clockwise' or 'counterclockwise'")
    if not ramp_ms <= spot_start_ms < block_ms:
        raise ValueError(f"spot_start_ms = {spot_start_ms!r} is not allowed; the spot must fire once the block is "
                         f"up (after ramp_ms = {ramp_ms!r}) and before it goes off (block_ms = {block_ms!r})")
    cx, cy = center_um if center_um is not None else (w / 2, h / 2)
    r0, r1 = max(inner_radius_um - 20.0, 0.0), outer_radius_um + 20.0     # reach a little past both rims
    mid = 0.5 * (inner_radius_um + outer_radius_um)

    def radial(theta: float, width: float) -> dict:
        c, s = math.cos(theta), math.sin(theta)
        return {"line": {"start_um": _pt(cx + r0 * c, cy + r0 * s), "end_um": _pt(cx + r1 * c, cy + r1 * s),
                         "width_um": float(width)}}

    sign = 1.0 if direction == "clockwise" else -1.0
    theta = math.radians(angle_deg)
    gap = 0.5 * block_width_um + 0.5 * spot_width_um + 20.0     # arc length between the block's and spot's centres
    light = [_stim("one-sided block", radial(theta, block_width_um), _held(0.0, ramp_ms, block_ms),
                   block_irradiance_mw_per_mm2),
             _stim(f"initiation ({direction})", radial(theta + sign * gap / mid, spot_width_um),
                   _pulse(spot_start_ms, pulse_ms), irradiance_mw_per_mm2)]
    if set_mask:
        spec.setdefault("tissue", {})["mask"] = {"ring": {"center_um": _pt(cx, cy),
                                                          "inner_radius_um": float(inner_radius_um),
                                                          "outer_radius_um": float(outer_radius_um)}}
    params = dict(inner_radius_um=inner_radius_um, outer_radius_um=outer_radius_um, angle_deg=angle_deg,
                  direction=direction, block_ms=block_ms, spot_start_ms=spot_start_ms)
    return _finish(spec, "ring_oscillator", light, params, append)


PROTOCOLS: dict[str, Callable[..., dict]] = {
    "pacing": pacing, "s1s2_spiral": s1s2_spiral, "conduction_block": conduction_block,
    "domain_flip": domain_flip, "ring_oscillator": ring_oscillator,
}


def protocol_parameters(name: str) -> dict[str, object]:
    """The parameters of protocol ``name`` and their defaults (``inspect.Parameter.empty`` when required)."""
    return {k: p.default for k, p in inspect.signature(_protocol(name)).parameters.items() if k != "base"}


def _protocol(name: str) -> Callable[..., dict]:
    if name not in PROTOCOLS:
        raise ValueError(f"protocol = {name!r} is not known; allowed: {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]


def apply_protocol(name: str, base, **params) -> dict:
    """``PROTOCOLS[name](base, **params)``, with an error naming an unknown parameter."""
    allowed = protocol_parameters(name)
    for k in params:
        if k not in allowed:
            raise ValueError(f"{k!r} is not a parameter of protocol {name}; allowed: {', '.join(allowed)}")
    missing = [k for k, d in allowed.items() if d is inspect.Parameter.empty and k not in params]
    if missing:
        raise ValueError(f"protocol {name} needs {', '.join(missing)}")
    return _protocol(name)(base, **params)
