"""The protocol file of the patch-clamp bench: ``optowave.v1.CellProtocol`` read with ``json_format`` and
checked, every problem naming its field (snake_case path), the value and what is allowed."""
from __future__ import annotations

import math

from google.protobuf import json_format

from optowave.v1 import cell_pb2

from ..spec import FieldViolation, SpecError
from ..spec._proto import _path_from_parse_error, read_mapping
from ..spec._schema import schema_violations
from ._system import CellSystem

__all__ = ["CellProtocolError", "CONTINUATION_PARAMETERS", "check_protocol", "load_protocol"]

#: Continuation parameters besides the model's own (each with its allowed closed range and unit).
CONTINUATION_PARAMETERS = {
    "irradiance_mw_per_mm2": ((0.0, 1.0e3), "mW/mm²"),
    "holding_current_a_per_f": ((-1.0e4, 1.0e4), "A/F"),
    "k_out_mm": ((0.01, 500.0), "mM"),
}
MAX_DURATION_MS = 60000.0
MAX_SAMPLES = 1_000_000
MAX_SWEEP_SAMPLES = 10_000_000
MAX_STEPS = 1000
MAX_TRAIN = 10000
MAX_IRRADIANCE = 1.0e3
MAX_CURRENT = 1.0e4
MAX_IV_POINTS = 1_000_000
MAX_CONTINUATION_POINTS = 5000


class CellProtocolError(SpecError):
    """A cell protocol that cannot run; ``violations`` name the fields."""

    what = "cell protocol"


def load_protocol(source) -> cell_pb2.CellProtocol:
    """Read a protocol (path, JSON/YAML text, dict or message) into a ``CellProtocol`` message; unknown
    fields and wrong types raise :class:`CellProtocolError` naming the field."""
    if isinstance(source, cell_pb2.CellProtocol):
        return source
    doc, _ = read_mapping(source, what="protocol", error=CellProtocolError)
    problems = schema_violations(doc, cell_pb2.CellProtocol.DESCRIPTOR)
    if problems:
        raise CellProtocolError(problems)
    msg = cell_pb2.CellProtocol()
    try:
        json_format.ParseDict(doc, msg, ignore_unknown_fields=False)
    except (json_format.ParseError, RecursionError) as exc:
        text = str(exc)
        raise CellProtocolError([(_path_from_parse_error(text, root="CellProtocol"),
                                  text.rsplit("field: ", 1)[-1])]) from None
    return msg


def _v_range(system: CellSystem) -> tuple[float, float, str]:
    return (-200.0, 200.0, "mV") if not system.dimensionless else (-10.0, 10.0, "model units")


class _Checker:
    def __init__(self) -> None:
        self.errors: list[FieldViolation] = []

    def err(self, where: str, text: str) -> None:
        self.errors.append(FieldViolation(where, text))

    def number(self, where: str, value: float, lo: float, hi: float, unit: str, *, open_lo: bool = False) -> bool:
        ok = math.isfinite(value) and (lo < value if open_lo else lo <= value) and value <= hi
        if not ok:
            left = "(" if open_lo else "["
            self.err(where, f"{value!r} is out of range; allowed {left}{lo:g}, {hi:g}] {unit}")
        return ok


def check_protocol(msg: cell_pb2.CellProtocol, system: CellSystem) -> None:
    """Raise :class:`CellProtocolError` listing every problem of ``msg`` for this cell."""
    c = _Checker()
    parts = [p for p in ("current_clamp", "voltage_clamp", "steady_state", "continuation") if msg.HasField(p)]
    if not parts:
        c.err("protocol", "nothing to do; give at least one of current_clamp, voltage_clamp, steady_state, "
                          "continuation")
    if c.number("irradiance_mw_per_mm2", msg.irradiance_mw_per_mm2, 0.0, MAX_IRRADIANCE, "mW/mm²") \
            and msg.irradiance_mw_per_mm2 > 0 and not system.has_opsin:
        c.err("irradiance_mw_per_mm2", f"{msg.irradiance_mw_per_mm2!r}: the cell has no opsin (the spec's "
                                       "opsin.preset is 'none' or the model takes none); allowed: 0")
    c.number("holding_current_a_per_f", msg.holding_current_a_per_f, -MAX_CURRENT, MAX_CURRENT, "A/F")
    if msg.HasField("current_clamp"):
        _check_current_clamp(c, msg.current_clamp, system)
    if msg.HasField("voltage_clamp"):
        _check_voltage_clamp(c, msg.voltage_clamp, system)
    if msg.HasField("steady_state"):
        s = msg.steady_state
        _check_window(c, "steady_state", s, system, MAX_IV_POINTS)
    if msg.HasField("continuation"):
        _check_continuation(c, msg.continuation, system)
    if c.errors:
        raise CellProtocolError(c.errors)


def _check_current_clamp(c: _Checker, m, system: CellSystem) -> None:
    ok = c.number("current_clamp.duration_ms", m.duration_ms, 0.0, MAX_DURATION_MS, "ms", open_lo=True)
    if m.HasField("sample_interval_ms"):
        if c.number("current_clamp.sample_interval_ms", m.sample_interval_ms, 0.0, MAX_DURATION_MS, "ms",
                    open_lo=True) and ok and m.duration_ms / m.sample_interval_ms > MAX_SAMPLES:
            c.err("current_clamp.sample_interval_ms", f"{m.sample_interval_ms!r} gives "
                  f"{m.duration_ms / m.sample_interval_ms:.0f} samples; allowed at most {MAX_SAMPLES}")
    elif ok and m.duration_ms / 0.05 > MAX_SAMPLES:
        c.err("current_clamp.duration_ms", f"{m.duration_ms!r} at the default 0.05 ms sampling gives more than "
                                           f"{MAX_SAMPLES} samples; set sample_interval_ms")
    _check_pulses(c, "current_clamp", m, system)


def _check_pulses(c: _Checker, part: str, m, system: CellSystem) -> None:
    kinds = (("current", (-MAX_CURRENT, MAX_CURRENT), "A/F"), ("light", (0.0, MAX_IRRADIANCE), "mW/mm²"))
    for kind, limit, unit in kinds:
        if kind not in m.DESCRIPTOR.fields_by_name:
            continue
        pulses = getattr(m, kind)
        if kind == "light" and len(pulses) and not system.has_opsin:
            c.err(f"{part}.light", "the cell has no opsin (the spec's opsin.preset is 'none' or the model "
                                   "takes none); allowed: no light pulses")
        for k, p in enumerate(pulses):
            where = f"{part}.{kind}[{k}]"
            c.number(f"{where}.start_ms", p.start_ms, 0.0, MAX_DURATION_MS, "ms")
            w_ok = c.number(f"{where}.width_ms", p.width_ms, 0.0, MAX_DURATION_MS, "ms", open_lo=True)
            c.number(f"{where}.amplitude", p.amplitude, *limit, unit)
            if p.period_ms != 0.0 and w_ok and not (math.isfinite(p.period_ms) and p.width_ms < p.period_ms
                                                    <= MAX_DURATION_MS):
                c.err(f"{where}.period_ms", f"{p.period_ms!r} is out of range; allowed 0 (one pulse) or "
                                            f"({p.width_ms:g}, {MAX_DURATION_MS:g}] ms (longer than width_ms)")
            if p.HasField("count") and not 1 <= p.count <= MAX_TRAIN:
                c.err(f"{where}.count", f"{p.count!r} is out of range; allowed [1, {MAX_TRAIN}]")


def _check_voltage_clamp(c: _Checker, m, system: CellSystem) -> None:
    lo, hi, unit = _v_range(system)
    c.number("voltage_clamp.holding_mv", m.holding_mv, lo, hi, unit)
    c.number("voltage_clamp.hold_ms", m.hold_ms, 0.0, MAX_DURATION_MS, "ms")
    c.number("voltage_clamp.tail_ms", m.tail_ms, 0.0, MAX_DURATION_MS, "ms")
    if len(m.step_mv) > MAX_STEPS:
        c.err("voltage_clamp.step_mv", f"{len(m.step_mv)} steps; allowed at most {MAX_STEPS}")
    for k, v in enumerate(m.step_mv):
        c.number(f"voltage_clamp.step_mv[{k}]", v, lo, hi, unit)
    if len(m.step_mv):
        c.number("voltage_clamp.step_ms", m.step_ms, 0.0, MAX_DURATION_MS, "ms", open_lo=True)
    elif len(m.light):
        c.err("voltage_clamp.light", "light pulses are given in the step sweeps: give step_mv (the holding "
                                     "potential itself may be one) and step_ms")
    elif not m.HasField("ramp"):
        c.err("voltage_clamp", "nothing to clamp; give step_mv (with step_ms) or a ramp")
    _check_pulses(c, "voltage_clamp", m, system)
    dt = m.sample_interval_ms if m.HasField("sample_interval_ms") else 0.01
    if c.number("voltage_clamp.sample_interval_ms", dt, 0.0, MAX_DURATION_MS, "ms", open_lo=True):
        sweep = m.hold_ms + m.step_ms + m.tail_ms
        n = (sweep / dt + 1) * max(1, len(m.step_mv))
        if math.isfinite(n) and n > MAX_SWEEP_SAMPLES:
            c.err("voltage_clamp.sample_interval_ms", f"{dt!r} gives {n:.0f} samples over the sweeps; allowed at "
                                                      f"most {MAX_SWEEP_SAMPLES}")
        if m.HasField("ramp") and math.isfinite(m.ramp.duration_ms) and m.ramp.duration_ms / dt > MAX_SAMPLES:
            c.err("voltage_clamp.sample_interval_ms", f"{dt!r} gives more than {MAX_SAMPLES} samples on the ramp")
    if m.HasField("ramp"):
        c.number("voltage_clamp.ramp.from_mv", m.ramp.from_mv, lo, hi, unit)
        c.number("voltage_clamp.ramp.to_mv", m.ramp.to_mv, lo, hi, unit)
        c.number("voltage_clamp.ramp.duration_ms", m.ramp.duration_ms, 0.0, MAX_DURATION_MS, "ms", open_lo=True)


def _check_window(c: _Checker, where: str, m, system: CellSystem, max_points: int) -> None:
    lo, hi, unit = _v_range(system)
    v_min = m.v_min_mv if m.HasField("v_min_mv") else None
    v_max = m.v_max_mv if m.HasField("v_max_mv") else None
    ok = all(c.number(f"{where}.{name}", v, lo, hi, unit) for name, v in (("v_min_mv", v_min), ("v_max_mv", v_max))
             if v is not None)
    if m.HasField("v_step_mv"):
        ok &= c.number(f"{where}.v_step_mv", m.v_step_mv, 0.0, hi - lo, unit, open_lo=True)
    if ok:
        w = window_of(m, system, continuation=where == "continuation")
        if w[1] <= w[0]:
            c.err(f"{where}.v_max_mv", f"{w[1]!r} must be above v_min_mv ({w[0]!r})")
        elif (w[1] - w[0]) / w[2] > max_points:
            c.err(f"{where}.v_step_mv", f"{w[2]!r} gives {(w[1] - w[0]) / w[2]:.0f} points; allowed at most "
                                        f"{max_points}")


def window_of(m, system: CellSystem, *, continuation: bool = False) -> tuple[float, float, float]:
    """(low, high, step) of a SteadyState or Continuation message, defaults filled in."""
    from .steady import default_v_window

    lo, hi, step = default_v_window(system)
    if continuation:
        step *= 2.0   # every grid point of the continuation scans the window: a coarser bracket grid
    return (m.v_min_mv if m.HasField("v_min_mv") else lo, m.v_max_mv if m.HasField("v_max_mv") else hi,
            m.v_step_mv if m.HasField("v_step_mv") else step)


def _check_continuation(c: _Checker, m, system: CellSystem) -> None:
    allowed = [*CONTINUATION_PARAMETERS, *system.model.param_names]
    if m.parameter in CONTINUATION_PARAMETERS:
        (lo, hi), unit = CONTINUATION_PARAMETERS[m.parameter]
    elif m.parameter in system.model.param_names:
        (lo, hi), unit = system.model.param_bounds[m.parameter], system.model.param_units[m.parameter]
    else:
        c.err("continuation.parameter", f"{m.parameter!r} is not a continuation parameter; allowed: "
                                        f"{', '.join(allowed)}")
        return
    if m.parameter == "irradiance_mw_per_mm2" and not system.has_opsin:
        c.err("continuation.parameter", "'irradiance_mw_per_mm2': the cell has no opsin (the spec's opsin.preset "
                                        "is 'none' or the model takes none)")
    if m.parameter == "k_out_mm" and "K_o" not in system.params:
        c.err("continuation.parameter", f"'k_out_mm': cell model {system.model.name!r} has no potassium current")
    ok = c.number("continuation.start", m.start, lo, hi, unit)
    ok &= c.number("continuation.stop", m.stop, lo, hi, unit)
    if ok and not m.stop > m.start:
        c.err("continuation.stop", f"{m.stop!r} must be above start ({m.start!r})")
    if ok and m.log_spacing and not m.start > 0:
        c.err("continuation.start", f"{m.start!r}: log_spacing needs start > 0")
    if m.HasField("points") and not 2 <= m.points <= MAX_CONTINUATION_POINTS:
        c.err("continuation.points", f"{m.points!r} is out of range; allowed [2, {MAX_CONTINUATION_POINTS}]")
    _check_window(c, "continuation", m, system, MAX_IV_POINTS // 10)
