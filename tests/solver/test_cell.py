"""The patch-clamp bench (solver.cell) against analytic solutions, independent solves and MODEL.md's figures."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize
from scipy.integrate import solve_ivp

import solver.cell as cell
from solver.cell.steady import default_v_window
from solver.models import hek
from solver.models.ions import F, R

from tests.specs import small_hek_spec


def _spec(preset="hek_gokhale2017_35c", parameters=None, opsin="none", ions=None):
    model = {"preset": preset, "parameters": parameters or {}}
    if ions:
        model["ions"] = ions
    return small_hek_spec(tissue={"model": model}, opsin={"preset": opsin}, light=[])


# ---------------------------------------------------------------- voltage clamp

def _exact_peak_i_na(p, v_hold, v_step, duration):
    """Peak I_Na of a step from the steady state at v_hold: at fixed V every gate relaxes exactly as
    x(t) = x_inf + (x0 - x_inf) exp(-t/tau) (the Rush-Larsen update is exact there)."""
    x0, inf = hek.gate_steady_states(v_hold, p), hek.gate_steady_states(v_step, p)
    tau = hek.gate_time_constants(v_step, p)

    def i_na(t):
        g = {k: inf[k] + (x0[k] - inf[k]) * np.exp(-t / tau[k]) for k in ("m", "h1", "h2")}
        return p["g_Na"] * g["m"] ** 3 * (0.9 * g["h1"] + 0.1 * g["h2"]) * (v_step - p["E_Na"])

    t = np.linspace(0.0, duration, 20001)
    k = int(np.argmax(np.abs(i_na(t))))
    res = optimize.minimize_scalar(lambda s: -abs(float(i_na(s))), bounds=(t[max(k - 1, 0)], t[k + 1]),
                                   method="bounded", options={"xatol": 1e-12})
    return float(i_na(res.x))


def test_voltage_clamp_peak_nav_current_of_the_hek_preset_equals_the_exact_gate_solution():
    steps = [-50.0, -30.0, -10.0, 10.0, 30.0]
    ds = cell.run_protocol(_spec(), {"voltage_clamp": {"holding_mv": -100.0, "hold_ms": 2.0, "step_mv": steps,
                                                       "step_ms": 10.0, "tail_ms": 1.0, "sample_interval_ms": 0.02}})
    p = dict(cell.cell_from_spec(_spec()).params)
    expected = [_exact_peak_i_na(p, -100.0, v, 10.0) for v in steps]
    np.testing.assert_allclose(ds.vc_peak_I_Na.values, expected, rtol=1e-6)
    assert ds.vc_peak_I_Na.attrs["units"] == "A/F"
    # the clamped potential is the command, and at the holding potential the channels sit at steady state
    assert np.all(ds.vc_v.values[:, ds.vc_time.values < 2.0] == -100.0)
    np.testing.assert_allclose(ds.vc_v.sel(vc_time=5.0).values, steps)
    i_hold = cell.steady_iv(cell.cell_from_spec(_spec()), -100.0)["i_total"]
    np.testing.assert_allclose(ds.vc_i_total.values[:, 0], i_hold, rtol=1e-9)


def test_the_kir_current_of_a_ramp_equals_its_gates_integrated_independently():
    """Under a ramp, I_K1 = g sqrt(K_o/5.4) (0.75 n1 + 0.25 n2)(V - E_K) with each n obeying
    n' = (n_inf(V(t)) - n)/tau(V(t)), integrated here on its own by an explicit Runge-Kutta (DOP853)."""
    v0, v1, dur = -120.0, -60.0, 20.0
    ds = cell.run_protocol(_spec(), {"voltage_clamp": {"ramp": {"from_mv": v0, "to_mv": v1, "duration_ms": dur}}})
    p = dict(cell.cell_from_spec(_spec()).params)
    v_of = lambda t: v0 + (v1 - v0) * t / dur                                            # noqa: E731

    def rhs(t, n):
        inf, tau = hek.gate_steady_states(v_of(t), p), hek.gate_time_constants(v_of(t), p)
        return [(inf["n1"] - n[0]) / tau["n1"], (inf["n2"] - n[1]) / tau["n2"]]

    n0 = hek.gate_steady_states(v0, p)
    t = ds.ramp_time.values
    sol = solve_ivp(rhs, (0.0, dur), [float(n0["n1"]), float(n0["n2"])], method="DOP853", t_eval=t,
                    rtol=1e-12, atol=1e-14)
    v = v_of(t)
    i_k1 = p["g_K1"] * math.sqrt(p["K_o"] / 5.4) * (0.75 * sol.y[0] + 0.25 * sol.y[1]) * (v - p["E_K"])
    np.testing.assert_allclose(ds.ramp_v.values, v, rtol=1e-12)
    np.testing.assert_allclose(ds.ramp_I_K1.values, i_k1, rtol=1e-6, atol=1e-9)


# ---------------------------------------------------------------- current clamp

def test_a_passive_membrane_step_response_is_the_rc_curve():
    g, e_l, amp, t0, width = 0.5, -70.0, -2.0, 5.0, 20.0
    passive = {"g_Na": 0.0, "g_K1": 0.0, "g_Na_wt": 0.0, "g_K_wt": 0.0, "g_L": g, "E_L": e_l}
    ds = cell.run_protocol(_spec(parameters=passive), {"current_clamp": {
        "duration_ms": 50.0, "sample_interval_ms": 0.1,
        "current": [{"start_ms": t0, "width_ms": width, "amplitude": amp}]}})
    t = ds.cc_time.values
    # C dV/dt = -g (V - E_L) - I: V relaxes to E_L - I/g with tau = C/g = 2 ms, and back after the step
    v_end = e_l - amp / g * (1.0 - math.exp(-g * width))
    expected = np.where(t < t0, e_l, np.where(t < t0 + width, e_l - amp / g * (1.0 - np.exp(-g * (t - t0))),
                                              e_l + (v_end - e_l) * np.exp(-g * (t - t0 - width))))
    np.testing.assert_allclose(ds.cc_v.values, expected, atol=1e-6)
    np.testing.assert_allclose(ds.cc_i_ext.values, np.where((t >= t0) & (t < t0 + width), amp, 0.0))


def test_a_pulse_train_fires_one_action_potential_per_pulse_with_model_md_peak():
    ds = cell.run_protocol(_spec(), {"current_clamp": {
        "duration_ms": 100.0, "sample_interval_ms": 0.02,
        "current": [{"start_ms": 1.0, "width_ms": 0.5, "amplitude": -100.0, "period_ms": 45.0, "count": 2}]}})
    v = ds.cc_v.values
    upstrokes = np.flatnonzero((v[:-1] < 0.0) & (v[1:] >= 0.0))
    onsets = np.array([1.0, 46.0])
    assert upstrokes.size == 2 and np.all((ds.cc_time.values[upstrokes] - onsets > 0) &
                                          (ds.cc_time.values[upstrokes] - onsets < 1.0))
    assert abs(v[: upstrokes[0] + 200].max() - 43.4) < 0.1          # MODEL.md 3.1: peak +43.4 mV at 35 C
    assert abs(v[0] - (-74.2)) < 0.05                               # and rest -74.2 mV


def test_light_flips_a_bistable_cell_to_its_depolarised_fixed_point():
    spec = _spec("hek_bistable", opsin="cheriff")
    ds = cell.run_protocol(spec, {"steady_state": {"v_min_mv": -100, "v_max_mv": 20, "v_step_mv": 0.1},
                                  "current_clamp": {"duration_ms": 300.0, "sample_interval_ms": 0.5,
                                                    "light": [{"start_ms": 20.0, "width_ms": 20.0,
                                                               "amplitude": 1.0}]}})
    low, _, high = ds.fp_v.values
    assert abs(ds.cc_v.values[0] - low) < 1e-9 and abs(ds.cc_v.values[-1] - high) < 1e-3
    assert ds.cc_irradiance.sel(cc_time=30.0) == 1.0 and ds.cc_opsin_o.values.max() > 0.1


# ---------------------------------------------------------------- fixed points and continuation

def _kir_iv(v, g_l):
    """MODEL.md 3.2 written out independently: 35 C Kir2.1 with n = n_inf, plus a leak to 0 mV."""
    n_inf = 1.0 / (1.0 + np.exp((v + 80.13) / 14.32))
    return 6.609 * n_inf * (v + 75.3) + g_l * v


def _exact_folds():
    """Folds of I(V, g) = h(V) + g V: h(V) = V h'(V), then g = -h'(V) (h' by complex step: exact)."""
    h = lambda v: _kir_iv(v, 0.0)                                                  # noqa: E731
    dh = lambda v: float(np.imag(_kir_iv(v + 1e-20j, 0.0)) / 1e-20)               # noqa: E731
    grid = np.linspace(-100.0, 0.0, 2001)
    f = np.array([h(v) - v * dh(v) for v in grid])
    roots = [optimize.brentq(lambda v: h(v) - v * dh(v), grid[k], grid[k + 1], xtol=1e-13)
             for k in np.flatnonzero(f[:-1] * f[1:] < 0)]
    return sorted(-dh(v) for v in roots)


def test_bistable_window_of_hek_bistable_from_the_continuation_equals_model_md():
    ds = cell.run_protocol(_spec("hek_bistable"), {"continuation": {"parameter": "g_L", "start": 0.25,
                                                                     "stop": 0.40, "points": 31}})
    lo, hi = ds.bistable_window.values[0]
    assert ds.sizes["window"] == 1
    np.testing.assert_allclose(sorted(ds.sn_parameter.values), _exact_folds(), rtol=1e-7)
    np.testing.assert_allclose([lo, hi], _exact_folds(), rtol=1e-7)
    assert abs(lo - 0.271) <= 1e-3 and abs(hi - 0.364) <= 1e-3     # MODEL.md 3.2: "between 0.271 and 0.364"
    # three fixed points inside, one outside, by the independent I-V; the stable ones are the outer two
    g = ds.cont_parameter.values
    for g_l in (0.26, 0.30, 0.35, 0.39):
        here = np.isclose(g, g_l, rtol=1e-12)
        n = np.count_nonzero(np.diff(np.sign(_kir_iv(np.linspace(-150, 100, 250001), g_l))))
        assert np.count_nonzero(here) == n
        assert list(ds.cont_stable.values[here]) == ([1, 0, 1] if n == 3 else [1])


@pytest.mark.parametrize("g_l", [0.28, 0.32, 0.36])
def test_fixed_points_of_hek_bistable_and_their_stability_agree_with_the_slope_rule(g_l):
    system = cell.cell_from_spec(_spec("hek_bistable", parameters={"g_L": g_l}))
    fps = cell.fixed_points(system)
    np.testing.assert_allclose(_kir_iv(np.array([fp.v for fp in fps]), g_l), 0.0, atol=1e-9)
    # the Kir gates are instantaneous here: the slope rule decides, and the eigenvalues must agree with it
    assert [fp.stable for fp in fps] == [fp.slope > 0 for fp in fps] == [True, False, True]
    if g_l == 0.32:   # MODEL.md 3.2: "about -61.5, -36 and -10 mV"
        np.testing.assert_allclose([fp.v for fp in fps], [-61.5, -36.0, -10.0], atol=1.0)


def test_nagumo_eigenvalues_are_minus_the_slope_of_its_cubic():
    fps = cell.fixed_points(cell.cell_from_spec(_spec("nagumo")))
    k, a = 1.0, 0.1
    np.testing.assert_allclose([fp.v for fp in fps], [0.0, a, 1.0], atol=1e-10)
    # du/dt = k u (1 - u)(u - a): the derivative at each zero is the only eigenvalue
    np.testing.assert_allclose([fp.eigenvalues[0].real for fp in fps], [-k * a, k * a * (1 - a), -k * (1 - a)],
                               rtol=1e-6)
    assert [fp.stable for fp in fps] == [fp.slope > 0 for fp in fps] == [True, False, True]


def test_the_rest_of_the_full_hek_model_is_stable_by_its_eigenvalues_and_by_the_slope_rule():
    system = cell.cell_from_spec(_spec())
    rest = cell.fixed_points(system)[0]
    assert abs(rest.v - (-74.2)) < 0.05 and rest.stable and rest.slope > 0
    # the Jacobian's entries against their analytic values: dV'/dV is minus the chord conductance at fixed
    # gates, dx'/dx is -1/tau_x
    p, s = system.params, dict(zip(system.state_names, rest.state))
    chord = (p["g_Na"] * s["m"] ** 3 * (0.9 * s["h1"] + 0.1 * s["h2"])
             + p["g_K1"] * math.sqrt(p["K_o"] / 5.4) * (0.75 * s["n1"] + 0.25 * s["n2"])
             + p["g_Na_wt"] * s["o"] ** 3 * s["p"] + p["g_K_wt"] * s["b"] ** 2 + p["g_L"])
    jac = cell.jacobian(system, rest.state)
    tau = hek.gate_time_constants(rest.v, p)
    np.testing.assert_allclose(jac[0, 0], -chord, rtol=1e-7)
    np.testing.assert_allclose(np.diag(jac)[1:], [-1.0 / tau[n] for n in system.state_names[1:]], rtol=1e-7)


def test_a_continuation_in_k_out_follows_nernst():
    spec = _spec("hek_bistable", ions={"k_out_mm": 5.4})
    ds = cell.run_protocol(spec, {"continuation": {"parameter": "k_out_mm", "start": 2.0, "stop": 40.0,
                                                   "points": 9, "log_spacing": True}})
    base = dict(cell.cell_from_spec(_spec("hek_bistable")).params)
    rt_f = R * (35.0 + 273.15) / F * 1e3
    for k_o in np.geomspace(2.0, 40.0, 9):
        p = {**base, "K_o": k_o, "E_K": base["E_K"] + rt_f * math.log(k_o / 5.4)}
        here = np.isclose(ds.cont_parameter.values, k_o, rtol=1e-12)
        np.testing.assert_allclose(ds.cont_v.values[here], hek.fixed_points(p, v_range_mv=(-150, 100)), atol=1e-8)


def test_the_default_window_of_dimensionless_media():
    assert default_v_window(cell.cell_from_spec(_spec("fitzhugh_nagumo")))[:2] == (-3.0, 3.0)


# ---------------------------------------------------------------- bad protocols

@pytest.mark.parametrize(("protocol", "field", "text"), [
    ({}, "protocol", "give at least one of current_clamp"),
    ({"voltage_clamp": {"holding_mv": 500, "step_mv": [0.0], "step_ms": 5}}, "voltage_clamp.holding_mv",
     "500.0 is out of range; allowed [-200, 200] mV"),
    ({"voltage_clamp": {"holding_mv": -80, "step_mv": [0.0]}}, "voltage_clamp.step_ms", "allowed (0, 60000] ms"),
    ({"current_clamp": {"duraton_ms": 5}}, "current_clamp.duraton_ms", "duration_ms"),
    ({"current_clamp": {"duration_ms": "long"}}, "current_clamp.duration_ms", "long"),
    ({"current_clamp": {"duration_ms": 10, "current": [{"start_ms": 1, "width_ms": 2, "amplitude": -5,
                                                        "period_ms": 1}]}},
     "current_clamp.current[0].period_ms", "longer than width_ms"),
    ({"current_clamp": {"duration_ms": 10, "light": [{"start_ms": 1, "width_ms": 2, "amplitude": 1}]}},
     "current_clamp.light", "no opsin"),
    ({"continuation": {"parameter": "g_Kr", "start": 0, "stop": 1}}, "continuation.parameter",
     "allowed: irradiance_mw_per_mm2, holding_current_a_per_f, k_out_mm, E_Na"),
    ({"continuation": {"parameter": "g_L", "start": 0.3, "stop": 0.2}}, "continuation.stop", "must be above start"),
    ({"continuation": {"parameter": "g_L", "start": -1, "stop": 0.2}}, "continuation.start",
     "allowed [0, 10000] nS/pF"),
    ({"steady_state": {"v_min_mv": 0, "v_max_mv": -10}}, "steady_state.v_max_mv", "must be above v_min_mv"),
    ({"irradiance_mw_per_mm2": 0.1, "steady_state": {}}, "irradiance_mw_per_mm2", "no opsin"),
    ({"voltage_clamp": {"holding_mv": -70, "step_mv": [-70], "step_ms": 5,
                        "light": [{"start_ms": 1, "width_ms": 1, "amplitude": 1}]}}, "voltage_clamp.light", "no opsin"),
    ({"voltage_clamp": {"holding_mv": -70, "ramp": {"from_mv": -70, "to_mv": 0, "duration_ms": 5},
                        "light": [{"start_ms": 1, "width_ms": 1, "amplitude": 1}]}}, "voltage_clamp.light",
     "give step_mv"),
])
def test_a_bad_protocol_is_refused_naming_the_field_and_the_allowed_range(protocol, field, text):
    with pytest.raises(cell.CellProtocolError) as err:
        cell.run_protocol(_spec(), protocol)
    found: dict[str, str] = {}
    for v in err.value.violations:
        found[v.field] = found.get(v.field, "") + v.description + "\n"
    assert field in found, found
    assert text in found[field]


def test_a_current_clamp_without_a_fixed_point_to_start_from_names_the_window():
    with pytest.raises(cell.CellProtocolError) as err:
        cell.run_protocol(_spec(), {"steady_state": {"v_min_mv": 0, "v_max_mv": 10},
                                    "current_clamp": {"duration_ms": 5}})
    assert err.value.violations[0].field == "current_clamp"
    assert "no fixed point in the potential window" in err.value.violations[0].description


def _lit_kir_iv(v, g_l, irradiance):
    """MODEL.md 3.2 plus CheRiff's steady photocurrent (MODEL.md 4), written out independently."""
    from solver.models.opsin import OPSINS, PHOTONS_PER_MW_MM2_470NM

    q = OPSINS["cheriff"].params
    phi = irradiance * PHOTONS_PER_MW_MM2_470NM
    ga = q["k_a"] * phi ** q["p"] / (phi ** q["p"] + q["phi_m"] ** q["p"])
    gr = q["k_r"] * phi ** q["q"] / (phi ** q["q"] + q["phi_m"] ** q["q"]) + q["Gr0"]
    o = ga * gr / (q["Gd"] * gr + ga * gr + ga * q["Gd"])
    fv = lambda x: (q["v1"] / x) * (1.0 - np.exp(-x / q["v0"]))                    # noqa: E731
    return _kir_iv(v, g_l) + q["g"] * o * fv(v) / fv(-70.0) * v


def test_a_continuation_in_irradiance_finds_the_light_that_ends_bistability():
    g_l = 0.32
    spec = _spec("hek_bistable", parameters={"g_L": g_l}, opsin="cheriff")
    ds = cell.run_protocol(spec, {"continuation": {"parameter": "irradiance_mw_per_mm2", "start": 1e-5,
                                                   "stop": 1e-2, "points": 13, "log_spacing": True,
                                                   "v_min_mv": -100, "v_max_mv": 20}})
    grid = np.linspace(-100.0, 20.0, 240001)
    grid = grid[np.abs(grid) > 1e-9]
    for irr in np.geomspace(1e-5, 1e-2, 13):
        here = np.isclose(ds.cont_parameter.values, irr, rtol=1e-12)
        np.testing.assert_allclose(_lit_kir_iv(ds.cont_v.values[here], g_l, irr), 0.0, atol=1e-8)
        assert np.count_nonzero(here) == np.count_nonzero(np.diff(np.sign(_lit_kir_iv(grid, g_l, irr))))
    (sn,) = ds.sn_parameter.values
    count = lambda irr: np.count_nonzero(np.diff(np.sign(_lit_kir_iv(grid, g_l, irr))))   # noqa: E731
    assert count(sn * (1 - 1e-4)) == 3 and count(sn * (1 + 1e-4)) == 1
    np.testing.assert_allclose(ds.bistable_window.values, [[1e-5, sn]], rtol=1e-12)


def test_fitzhugh_nagumo_under_a_holding_current_has_its_hopf_points_where_the_trace_vanishes():
    """du/dt = u - u^3/3 - w - I, dw/dt = eps (u + a - b w): the Jacobian [[1 - u^2, -1], [eps, -eps b]] has a
    complex pair crossing zero where its trace 1 - u^2 - eps b vanishes (its determinant is positive there)."""
    eps, a, b = 0.08, 0.7, 0.8
    ds = cell.run_protocol(_spec("fitzhugh_nagumo"), {"continuation": {
        "parameter": "holding_current_a_per_f", "start": -2.0, "stop": 0.5, "points": 26}})
    u = np.array([-1.0, 1.0]) * math.sqrt(1.0 - eps * b)
    current = u - u**3 / 3.0 - (u + a) / b               # the holding current of the fixed point at u
    order = np.argsort(ds.hopf_v.values)
    np.testing.assert_allclose(ds.hopf_v.values[order], u, atol=1e-6)
    np.testing.assert_allclose(ds.hopf_parameter.values[order], current, atol=1e-6)
    # between them the one fixed point is unstable (the cell fires repetitively), outside stable
    i = ds.cont_parameter.values
    inside = (i > current.min()) & (i < current.max())
    assert ds.sizes["saddle_node"] == 0 and np.all(ds.cont_stable.values == ~inside)


@pytest.mark.parametrize(("protocol", "spec"), [
    ("hek_voltage_steps.json", "single_cell.json"), ("hek_k_out.json", "single_cell.json"),
    ("bistable_gl.json", "bistable_domains.json"), ("bistable_light.json", "bistable_domains.json"),
    ("cheriff_photocurrent.json", "planar_wave.json")])
def test_the_example_protocols_are_valid_for_their_specs(protocol, spec):
    from tests.specs import EXAMPLES

    system = cell.cell_from_spec(EXAMPLES / spec)
    cell.check_protocol(cell.load_protocol(EXAMPLES / "cell" / protocol), system)   # raises on any problem


def test_a_light_pulse_under_voltage_clamp_gives_the_opsins_peak_photocurrent():
    """CheRiff at 10 mW/mm² and -70 mV: the peak of I_opsin under clamp equals the opsin module's own peak
    (its three-state ODE solved on its own, solver.models.opsin.peak_photocurrent), about 65 A/F (MODEL.md 4)."""
    from solver.models import opsin

    ds = cell.run_protocol(_spec(opsin="cheriff"), {"voltage_clamp": {
        "holding_mv": -70.0, "hold_ms": 5.0, "step_mv": [-70.0], "step_ms": 100.0, "tail_ms": 50.0,
        "sample_interval_ms": 0.1, "light": [{"start_ms": 5.0, "width_ms": 100.0, "amplitude": 10.0}]}})
    params = opsin.opsin_params(opsin.get_opsin("cheriff"))
    expected = opsin.peak_photocurrent(10.0, -70.0, params, duration_ms=100.0)
    np.testing.assert_allclose(ds.vc_peak_I_opsin.values, [expected], rtol=1e-5)
    assert abs(expected + 65.0) < 6.5
    # before the light no photocurrent; after it the current decays with the off time constant 1/Gd
    trace = ds.vc_I_opsin.sel(vc_step=-70.0)
    assert float(abs(trace.sel(vc_time=4.0))) < 1e-12
    ratio = float(trace.sel(vc_time=135.0) / trace.sel(vc_time=115.0))
    np.testing.assert_allclose(ratio, math.exp(-20.0 * params["Gd"]), rtol=1e-4)
