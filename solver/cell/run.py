"""A protocol on the cell of a spec: every part's traces, curves and points in one ``xarray.Dataset``.

Variables are grouped by part, each on its own dimensions (names prefixed ``cc_``, ``vc_``, ``ramp_``, ``iv_``,
``fp_``, ``cont_``, ``sn_``, ``hopf_``); each channel's current is its own variable (``vc_I_Na``, ``iv_I_K1``,
...) because a result store holds numbers only, and the channel names are listed in the ``channels`` attribute.
"""
from __future__ import annotations

import json

import numpy as np
import xarray as xr

from ..engine.problem import model_values
from ..spec import JobSpec, load_spec
from ..spec._proto import to_json
from . import clamp, steady
from ._system import CellSystem, system_from_preset
from ..models.resolve import model_of
from .protocol import CellProtocolError, check_protocol, load_protocol, window_of

__all__ = ["CELL_KIND", "cell_from_spec", "continuation_at", "run_protocol"]

#: The ``optowave_kind`` attribute of a bench result (``optowave plot`` draws it as such).
CELL_KIND = "cell"


def cell_from_spec(spec) -> CellSystem:
    """The cell of a job spec: its tissue model (preset, bath, parameter overrides) and its opsin (preset,
    parameter overrides, density). Grid, maps, stimuli and readout are not used."""
    spec = _spec_of(spec)
    model = model_of(spec.tissue.model, spec.base_dir)
    values = model_values(model, spec.tissue.model.parameters, spec.tissue.model.ions.given())
    opsin_name = spec.opsin.preset or ("cheriff" if model.supports_opsin else "none")
    return system_from_preset(model, values, opsin=opsin_name, opsin_overrides=dict(spec.opsin.parameters),
                              opsin_density=spec.opsin.density)


def continuation_at(spec, system: CellSystem, parameter: str, irradiance: float, i_hold: float):
    """λ -> (system, irradiance, i_ext) for a continuation in ``parameter``."""
    spec = _spec_of(spec)
    if parameter == "irradiance_mw_per_mm2":
        return lambda lam: (system, lam, i_hold)
    if parameter == "holding_current_a_per_f":
        return lambda lam: (system, irradiance, lam)
    if parameter == "k_out_mm":
        ions = spec.tissue.model.ions.given()
        explicit = dict(spec.tissue.model.parameters)

        def at(lam):
            values = model_values(system.model, explicit, {**ions, "k_out_mm": lam})
            return CellSystem(system.model, values, system.opsin_params), irradiance, i_hold
        return at
    return lambda lam: (system.with_params(**{parameter: lam}), irradiance, i_hold)


def _spec_of(spec) -> JobSpec:
    """A checked spec object (one already made is taken as it is)."""
    return spec if isinstance(spec, JobSpec) else load_spec(spec)


def _channels(system: CellSystem, states: np.ndarray) -> dict[str, np.ndarray]:
    cur = system.currents(states)
    cur["i_total"] = sum(cur.values())
    return cur


def _attrs(units: str, long_name: str) -> dict:
    return {"units": units, "long_name": long_name}


def run_protocol(spec, protocol) -> xr.Dataset:
    """Run ``protocol`` (a path, text, dict or ``CellProtocol``) on the cell of ``spec``.

    Raises
    ------
    SpecError
        A bad spec; :class:`~solver.cell.protocol.CellProtocolError` for a bad protocol (every field named).
    """
    spec = _spec_of(spec)
    msg = load_protocol(protocol)
    system = cell_from_spec(spec)
    check_protocol(msg, system)
    v_unit, i_unit = ("1", "1") if system.dimensionless else ("mV", "A/F")
    irr, i_hold = msg.irradiance_mw_per_mm2, msg.holding_current_a_per_f
    ds = xr.Dataset(attrs={
        "optowave_kind": CELL_KIND, "title": msg.name or spec.name or system.model.name,
        "model": system.model.name, "opsin": spec.opsin.preset or ("cheriff" if system.model.supports_opsin
                                                                   else "none"),
        "channels": " ".join(system.channel_names), "protocol": to_json(msg), "spec": spec.json,
        "parameters": json.dumps(dict(system.params), sort_keys=True),
        "irradiance_mw_per_mm2": irr, "holding_current_a_per_f": i_hold,
    })
    fps = None
    if msg.HasField("steady_state") or msg.HasField("current_clamp"):
        window = window_of(msg.steady_state, system)
        fps = steady.fixed_points(system, irradiance=irr, i_ext=i_hold, v_window=window)
    if msg.HasField("current_clamp"):
        _current_clamp(ds, msg.current_clamp, system, fps, irr, i_hold, v_unit, i_unit)
    if msg.HasField("voltage_clamp"):
        _voltage_clamp(ds, msg.voltage_clamp, system, irr, v_unit, i_unit)
    if msg.HasField("steady_state"):
        _steady_state(ds, msg.steady_state, system, fps, irr, i_hold, v_unit, i_unit)
    if msg.HasField("continuation"):
        _continuation(ds, msg.continuation, spec, system, irr, i_hold, v_unit)
    return ds


def _pulses(messages) -> list[clamp.Pulse]:
    return [clamp.Pulse(p.start_ms, p.width_ms, p.amplitude, p.period_ms, p.count if p.HasField("count") else 1)
            for p in messages]


def _current_clamp(ds, m, system, fps, irr, i_hold, v_unit, i_unit) -> None:
    dt = m.sample_interval_ms if m.HasField("sample_interval_ms") else 0.05
    times = np.arange(0.0, m.duration_ms + 0.5 * dt, dt)
    times = times[times <= m.duration_ms + 1e-9]
    current, light = _pulses(m.current), _pulses(m.light)
    # from the lowest stable fixed point under the steady inputs: the cell as it sits before the first pulse
    start = [fp for fp in fps if fp.stable] or fps
    if not start:
        raise CellProtocolError([("current_clamp", "the cell has no fixed point in the potential window searched "
                                                   "(steady_state.v_min_mv to v_max_mv): nothing to start from; "
                                                   "widen the window or change the steady inputs")])
    y0 = start[0].state
    states = clamp.current_clamp(system, y0, times, current=current, light=light, i_hold=i_hold, irradiance=irr)
    ds.coords["cc_time"] = ("cc_time", times, _attrs("ms", "current-clamp time"))
    for k, name in enumerate(system.state_names):
        unit = v_unit if k == system.v_index else "1"
        ds[f"cc_{name}"] = ("cc_time", states[k], _attrs(unit, f"current clamp: {name}"))
    ds["cc_i_ext"] = ("cc_time", i_hold + clamp.pulse_value(current, times),
                      _attrs(i_unit, "current clamp: injected current (negative depolarises)"))
    ds["cc_irradiance"] = ("cc_time", irr + clamp.pulse_value(light, times),
                           _attrs("mW/mm2", "current clamp: irradiance"))
    for name, trace in _channels(system, states).items():
        ds[f"cc_{name}"] = ("cc_time", trace, _attrs(i_unit, f"current clamp: {name}"))


def _voltage_clamp(ds, m, system, irr, v_unit, i_unit) -> None:
    dt = m.sample_interval_ms if m.HasField("sample_interval_ms") else 0.01
    if len(m.step_mv):
        total = m.hold_ms + m.step_ms + m.tail_ms
        times = np.arange(0.0, total + 0.5 * dt, dt)
        times = times[times <= total + 1e-9]
        segments = [(d, v) for d, v in ((m.hold_ms, m.holding_mv), (m.step_ms, None), (m.tail_ms, m.holding_mv))]
        light = _pulses(m.light)
        traces, peaks = {}, {}
        for k, v_step in enumerate(m.step_mv):
            seg = [(d, v_step if v is None else v) for d, v in segments if d > 0]
            window = (0.0, total) if len(m.light) else (m.hold_ms, m.hold_ms + m.step_ms)
            states, pk = clamp.voltage_clamp_step(system, seg, times, irradiance=irr, light=light,
                                                  peak_window=window)
            for name, trace in {"v": states[system.v_index], **_channels(system, states)}.items():
                traces.setdefault(name, []).append(trace)
            for name, value in pk.items():
                peaks.setdefault(name, []).append(value)
        ds.coords["vc_time"] = ("vc_time", times, _attrs("ms", "voltage-clamp time"))
        ds.coords["vc_step"] = ("vc_step", np.array(m.step_mv, dtype=np.float64),
                                _attrs(v_unit, "step potential"))
        for name, rows in traces.items():
            unit = v_unit if name == "v" else i_unit
            ds[f"vc_{name}"] = (("vc_step", "vc_time"), np.array(rows), _attrs(unit, f"voltage clamp: {name}"))
        for name, values in peaks.items():
            ds[f"vc_peak_{name}"] = ("vc_step", np.array(values),
                                     _attrs(i_unit, f"voltage clamp: peak {name} during the "
                                            f"{'sweep' if len(m.light) else 'step'} (largest magnitude)"))
    if m.HasField("ramp"):
        r = m.ramp
        times = np.arange(0.0, r.duration_ms + 0.5 * dt, dt)
        times = times[times <= r.duration_ms + 1e-9]
        states = clamp.voltage_ramp(system, r.from_mv, r.to_mv, r.duration_ms, times, irradiance=irr)
        ds.coords["ramp_time"] = ("ramp_time", times, _attrs("ms", "ramp time"))
        ds["ramp_v"] = ("ramp_time", states[system.v_index], _attrs(v_unit, "ramp: command potential"))
        for name, trace in _channels(system, states).items():
            ds[f"ramp_{name}"] = ("ramp_time", trace, _attrs(i_unit, f"ramp: {name}"))


def _steady_state(ds, m, system, fps, irr, i_hold, v_unit, i_unit) -> None:
    lo, hi, step = window_of(m, system)
    v = np.arange(lo, hi + 0.5 * step, step)
    v = v[v <= hi + 1e-9]
    ds.coords["iv_v"] = ("iv_v", v, _attrs(v_unit, "potential"))
    for name, curve in steady.steady_iv(system, v, irradiance=irr).items():
        ds[f"iv_{name}"] = ("iv_v", curve, _attrs(i_unit, f"steady-state I-V: {name}"))
    ds["iv_i_ext"] = ((), float(i_hold), _attrs(i_unit, "steady injected current (fixed points: i_total = -i_ext)"))
    ds["fp_v"] = ("fixed_point", np.array([fp.v for fp in fps]), _attrs(v_unit, "fixed point: potential"))
    ds["fp_stable"] = ("fixed_point", np.array([fp.stable for fp in fps], dtype=np.uint8),
                       _attrs("1", "fixed point: stable (every eigenvalue of the Jacobian has Re < 0)"))
    ds["fp_max_real_eigenvalue"] = ("fixed_point", np.array([fp.eigenvalues.real.max() for fp in fps]),
                                    _attrs("1/ms", "fixed point: largest real part of the Jacobian's eigenvalues"))
    ds["fp_slope"] = ("fixed_point", np.array([fp.slope for fp in fps]),
                      _attrs("1" if system.dimensionless else "nS/pF", "fixed point: slope of the steady-state I-V"))


def _continuation(ds, m, spec, system, irr, i_hold, v_unit) -> None:
    n = m.points if m.HasField("points") else 101
    values = np.geomspace(m.start, m.stop, n) if m.log_spacing else np.linspace(m.start, m.stop, n)
    at = continuation_at(spec, system, m.parameter, irr, i_hold)
    result = steady.continuation(m.parameter, values, at, v_window=window_of(m, system, continuation=True))
    unit = _parameter_unit(system, m.parameter)
    ds.attrs["continuation_parameter"] = m.parameter
    ds["cont_parameter"] = ("branch_point", result.points[:, 0], _attrs(unit, m.parameter))
    ds["cont_v"] = ("branch_point", result.points[:, 1], _attrs(v_unit, "fixed point: potential"))
    ds["cont_stable"] = ("branch_point", result.points[:, 2].astype(np.uint8), _attrs("1", "fixed point: stable"))
    ds["sn_parameter"] = ("saddle_node", result.saddle_nodes[:, 0], _attrs(unit, f"saddle-node: {m.parameter}"))
    ds["sn_v"] = ("saddle_node", result.saddle_nodes[:, 1], _attrs(v_unit, "saddle-node: potential"))
    ds["hopf_parameter"] = ("hopf_point", result.hopf_points[:, 0], _attrs(unit, f"Hopf point: {m.parameter}"))
    ds["hopf_v"] = ("hopf_point", result.hopf_points[:, 1], _attrs(v_unit, "Hopf point: potential"))
    ds["bistable_window"] = (("window", "bound"), result.bistable_windows,
                             _attrs(unit, f"{m.parameter} intervals with two or more stable fixed points"))


def _parameter_unit(system: CellSystem, parameter: str) -> str:
    from .protocol import CONTINUATION_PARAMETERS

    if parameter in CONTINUATION_PARAMETERS:
        return CONTINUATION_PARAMETERS[parameter][1].replace("²", "2")
    return system.model.param_units[parameter]

