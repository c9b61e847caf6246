"""The three-state opsin model and its presets against analytic and independent numerical references."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.linalg import expm

from solver.models.opsin import (
    CHERIFF_TARGET_EC50_STEADY_MW_PER_MM2,
    CHERIFF_TARGET_OFF_TIME_CONSTANT_MS,
    CHERIFF_TARGET_PEAK_PHOTOCURRENT_A_PER_F,
    CHR2_H134R_REFERENCE_PEAK_PHOTOCURRENT_A_PER_F,
    KERNEL_PARAM_NAMES,
    OPSIN_PARAM_NAMES,
    OPSINS,
    PEAK_PULSE_MS,
    REFERENCE_IRRADIANCE_MW_PER_MM2,
    current,
    ec50_steady,
    f_v,
    get_opsin,
    irradiance_to_flux,
    off_time_constant,
    opsin_params,
    opsin_params_array,
    peak_photocurrent,
    rates,
    steady_photocurrent,
    steady_state,
)

CHERIFF = dict(OPSINS["cheriff"].params)
CHR2 = dict(OPSINS["chr2_h134r"].params)
PLANCK = 6.62607015e-34  # J s (exact, SI 2019)
LIGHT_SPEED = 299792458.0  # m/s (exact)


# --- independent references ---------------------------------------------------------------------------------------


def _ga_gr(irradiance, params):
    """Ga, Gr written straight from MODEL.md: phi^p / (phi^p + phi_m^p), 1 mW/mm^2 = 2.37e15 photons mm^-2 s^-1."""
    phi = irradiance * 2.37e15
    ga = params["k_a"] * phi ** params["p"] / (phi ** params["p"] + params["phi_m"] ** params["p"])
    gr = params["k_r"] * phi ** params["q"] / (phi ** params["q"] + params["phi_m"] ** params["q"]) + params["Gr0"]
    return ga, gr


def _ode_run(ga, gr, gd, y0, t_end, t_eval=None):
    """Integrate the three-state model with all three states (no C = 1 - O - D elimination)."""

    def rhs(_t, y):
        c, o, d = y
        return [-ga * c + gr * d, ga * c - gd * o, gd * o - gr * d]

    return solve_ivp(rhs, (0.0, t_end), y0, method="LSODA", rtol=1e-11, atol=1e-13, t_eval=t_eval)


def _ode_steady_open(irradiance, params, t_end=20_000.0):
    if np.isinf(irradiance):
        ga, gr = params["k_a"], params["k_r"] + params["Gr0"]
    else:
        ga, gr = _ga_gr(irradiance, params)
    sol = _ode_run(ga, gr, params["Gd"], [1.0, 0.0, 0.0], t_end)
    return sol.y[1, -1], sol.y[2, -1]


def _expm_peak_open(irradiance, params, duration_ms, n=20_001):
    """Largest O of the exact linear solution y(t) = y* + expm(A t)(y0 - y*) on a fine grid, refined by a parabola."""
    ga, gr = _ga_gr(irradiance, params)
    gd = params["Gd"]
    a = np.array([[-(ga + gd), -ga], [gd, -gr]])
    y_star = np.linalg.solve(a, [-ga, 0.0])
    t = np.linspace(0.0, duration_ms, n)
    step = expm(a * (t[1] - t[0]))
    y = np.empty((n, 2))
    y[0] = -y_star
    for i in range(1, n):
        y[i] = step @ y[i - 1]
    o = y[:, 0] + y_star[0]
    i = int(np.argmax(o))
    if 0 < i < n - 1:
        # Vertex of the parabola through the three samples around the maximum.
        o0, o1, o2 = o[i - 1 : i + 2]
        return o1 + (o0 - o2) ** 2 / (8.0 * (2.0 * o1 - o0 - o2))
    return o[i]


# --- light, rectification, current ---------------------------------------------------------------------------------


def test_photon_flux_at_470nm_matches_h_c_over_lambda():
    photons_per_mw = 1e-3 / (PLANCK * LIGHT_SPEED / 470e-9)
    assert irradiance_to_flux(1.0) == pytest.approx(photons_per_mw, rel=2e-3)
    assert irradiance_to_flux(0.5) == pytest.approx(0.5 * 2.37e15, rel=1e-15)
    assert np.isinf(irradiance_to_flux(np.inf))
    with pytest.raises(ValueError, match=r"irradiance_mw_per_mm2 = -1.0 must be >= 0 mW/mm\^2"):
        irradiance_to_flux(-1.0)


def test_f_v_is_one_at_minus_70_and_follows_the_formula():
    assert f_v(-70.0, CHR2) == pytest.approx(1.0, abs=1e-15)
    v = np.array([-100.0, -40.0, 20.0, 60.0])
    x = v - CHR2["E"]
    raw = CHR2["v1"] / x * (1.0 - np.exp(-x / CHR2["v0"]))
    raw_70 = CHR2["v1"] / -70.0 * (1.0 - np.exp(70.0 / CHR2["v0"]))
    np.testing.assert_allclose(f_v(v, CHR2), raw / raw_70, rtol=1e-13)
    # PyRhO chose v1 = 17.1 mV so that the raw form is already ~1 at -70 mV.
    assert raw_70 == pytest.approx(1.0, abs=1e-3)
    # Inward rectification: the channel conducts less at positive potentials.
    assert f_v(40.0, CHR2) < 0.5


def test_f_v_is_finite_and_continuous_at_the_reversal_potential():
    params = {**CHR2, "E": 10.0}
    at_e = f_v(10.0, params)
    raw_70 = params["v1"] / -80.0 * (1.0 - np.exp(80.0 / params["v0"]))
    assert at_e == pytest.approx(params["v1"] / params["v0"] / raw_70, rel=1e-12)
    assert f_v(10.0 + 1e-4, params) == pytest.approx(at_e, rel=1e-5)
    assert f_v(10.0 - 1e-4, params) == pytest.approx(at_e, rel=1e-5)
    assert current(0.5, 10.0, 1.0, params) == 0.0


def test_current_is_g_o_f_v_times_driving_force():
    assert current(0.5, -70.0, 2.0, CHR2) == pytest.approx(-70.0, rel=1e-13)
    g_map = np.array([[0.0, 1.0], [2.0, 3.0]])
    np.testing.assert_allclose(current(0.25, -70.0, g_map, CHR2), -70.0 * 0.25 * g_map, rtol=1e-13)
    assert current(0.5, 30.0, 1.0, CHR2) > 0.0  # outward above E = 0


def test_rates_limits():
    ga, gr = rates(0.0, CHR2)
    assert (ga, gr) == (0.0, CHR2["Gr0"])
    ga, gr = rates(CHR2["phi_m"], CHR2)
    assert ga == pytest.approx(CHR2["k_a"] / 2, rel=1e-14)
    assert gr == pytest.approx(CHR2["k_r"] / 2 + CHR2["Gr0"], rel=1e-14)
    ga, gr = rates(np.inf, CHR2)
    assert (ga, gr) == (CHR2["k_a"], CHR2["k_r"] + CHR2["Gr0"])
    ga, gr = rates(irradiance_to_flux(3.0), CHR2)
    assert (ga, gr) == pytest.approx(_ga_gr(3.0, CHR2), rel=1e-13)


# --- steady state, EC50, off time, peak ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cheriff", "chr2_h134r"])
@pytest.mark.parametrize("irradiance", [0.0, 0.05, 0.22, 1.0, 10.0, 100.0])
def test_analytic_steady_state_matches_long_ode_integration(name, irradiance):
    params = dict(OPSINS[name].params)
    o, d = steady_state(irradiance_to_flux(irradiance), params)
    o_ode, d_ode = _ode_steady_open(irradiance, params)
    assert o == pytest.approx(o_ode, abs=1e-5)
    assert d == pytest.approx(d_ode, abs=1e-5)
    ga, gr = rates(irradiance_to_flux(irradiance), params)
    assert ga * (1 - o - d) - params["Gd"] * o == pytest.approx(0.0, abs=1e-15)
    assert params["Gd"] * o - gr * d == pytest.approx(0.0, abs=1e-15)


def test_steady_photocurrent_is_current_of_steady_open_fraction():
    o, _ = steady_state(irradiance_to_flux(1.0), CHERIFF)
    assert steady_photocurrent(1.0, -70.0, CHERIFF) == pytest.approx(-70.0 * CHERIFF["g"] * o, rel=1e-13)


def test_cheriff_meets_ec50_target():
    ec50 = ec50_steady(CHERIFF)
    assert ec50 == pytest.approx(CHERIFF_TARGET_EC50_STEADY_MW_PER_MM2, rel=0.10)
    # Cross-check by integrating the ODE: the steady current at the EC50 is half the infinite-light plateau ...
    o_half, _ = _ode_steady_open(ec50, CHERIFF)
    o_max, _ = _ode_steady_open(np.inf, CHERIFF)
    assert o_half / o_max == pytest.approx(0.5, abs=1e-4)
    # ... and the currents at -70 mV, computed by the current function, keep that ratio.
    assert steady_photocurrent(ec50, -70.0, CHERIFF) / steady_photocurrent(np.inf, -70.0, CHERIFF) == pytest.approx(
        0.5, abs=1e-12
    )


@pytest.mark.parametrize("name", ["cheriff", "chr2_h134r"])
def test_off_time_constant_matches_ode_decay_after_saturating_light(name):
    params = dict(OPSINS[name].params)
    ga, gr = _ga_gr(REFERENCE_IRRADIANCE_MW_PER_MM2, params)
    lit = _ode_run(ga, gr, params["Gd"], [1.0, 0.0, 0.0], 300.0)
    t = np.linspace(0.0, 60.0, 61)
    dark = _ode_run(0.0, params["Gr0"], params["Gd"], lit.y[:, -1], 60.0, t_eval=t)
    slope, _ = np.polyfit(t, np.log(dark.y[1]), 1)
    assert -1.0 / slope == pytest.approx(off_time_constant(params), rel=1e-6)
    if name == "cheriff":
        assert off_time_constant(params) == pytest.approx(CHERIFF_TARGET_OFF_TIME_CONSTANT_MS, rel=0.10)


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("cheriff", CHERIFF_TARGET_PEAK_PHOTOCURRENT_A_PER_F),
        ("chr2_h134r", CHR2_H134R_REFERENCE_PEAK_PHOTOCURRENT_A_PER_F),
    ],
)
def test_peak_photocurrent_meets_target_and_matches_exact_linear_solution(name, target):
    params = dict(OPSINS[name].params)
    peak = peak_photocurrent(REFERENCE_IRRADIANCE_MW_PER_MM2, -70.0, params, duration_ms=PEAK_PULSE_MS)
    assert peak < 0.0  # inward at -70 mV
    assert abs(peak) == pytest.approx(target, rel=0.10)
    o_peak = _expm_peak_open(REFERENCE_IRRADIANCE_MW_PER_MM2, params, 20.0)
    assert abs(peak) == pytest.approx(70.0 * params["g"] * o_peak, rel=1e-7)


def test_peak_at_low_light_rises_monotonically_to_the_end_of_a_short_step():
    # At 0.05 mW/mm^2 CheRiff is still rising after 2 ms: the peak is O at the end of the step.
    peak = peak_photocurrent(0.05, -70.0, CHERIFF, duration_ms=2.0)
    ga, gr = rates(irradiance_to_flux(0.05), CHERIFF)
    sol = _ode_run(float(ga), float(gr), CHERIFF["Gd"], [1.0, 0.0, 0.0], 2.0)
    assert peak == pytest.approx(-70.0 * CHERIFF["g"] * sol.y[1, -1], rel=1e-7)
    with pytest.raises(ValueError, match="duration_ms = 0.0 must be a finite number > 0 ms"):
        peak_photocurrent(1.0, -70.0, CHERIFF, duration_ms=0.0)


def test_cheriff_is_more_light_sensitive_and_slower_than_chr2():
    assert ec50_steady(CHERIFF) < ec50_steady(CHR2) / 10.0
    assert off_time_constant(CHERIFF) > off_time_constant(CHR2)


def test_fit_script_reproduces_the_pasted_preset():
    from solver.fitting.fit_cheriff import _chr2_params, fit_cheriff, fit_g_for_peak

    fitted = fit_cheriff()
    for name in OPSIN_PARAM_NAMES:
        assert CHERIFF[name] == pytest.approx(fitted[name], rel=1e-5), name
    g_chr2 = fit_g_for_peak(_chr2_params(), CHR2_H134R_REFERENCE_PEAK_PHOTOCURRENT_A_PER_F)
    assert CHR2["g"] == pytest.approx(g_chr2, rel=1e-5)


# --- presets and parameter handling --------------------------------------------------------------------------------


def test_chr2_preset_is_the_published_pyrho_fit():
    published = dict(k_a=5.0, k_r=0.1, p=0.8, q=0.25, Gd=0.104, Gr0=2e-4, phi_m=5e17, v0=43.0, v1=17.1, E=0.0)
    assert {k: CHR2[k] for k in published} == published


def test_get_opsin():
    assert get_opsin("none") is None
    assert get_opsin("cheriff") is OPSINS["cheriff"]
    with pytest.raises(ValueError) as excinfo:
        get_opsin("chronos")
    assert str(excinfo.value) == (
        "opsin = 'chronos' is not a known opsin preset; allowed: 'cheriff', 'chr2_h134r', 'none'"
    )


def test_presets_are_frozen():
    preset = OPSINS["cheriff"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        preset.name = "x"
    with pytest.raises(TypeError):
        preset.params["g"] = 2.0
    assert preset.units["phi_m"] == "photons/(mm^2 s)"
    assert set(preset.targets) == {"ec50_steady_mw_per_mm2", "off_time_constant_ms", "peak_photocurrent_a_per_f"}


def test_params_array_order_and_overrides():
    arr = opsin_params_array(OPSINS["cheriff"])
    assert arr.dtype == np.float64
    assert arr.tolist() == [CHERIFF[k] for k in ("k_a", "k_r", "p", "q", "Gd", "Gr0", "phi_m", "v0", "v1", "E")]
    assert KERNEL_PARAM_NAMES == ("k_a", "k_r", "p", "q", "Gd", "Gr0", "phi_m", "v0", "v1", "E")
    arr = opsin_params_array(OPSINS["cheriff"], {"Gd": 0.1, "g": 3.0})
    assert arr[4] == 0.1
    assert opsin_params(OPSINS["cheriff"], {"g": 3.0})["g"] == 3.0


@pytest.mark.parametrize(
    ("preset", "overrides", "message"),
    [
        ("cheriff", {"tau_off": 16.0}, "opsin.overrides: unknown opsin parameter 'tau_off'; allowed: k_a, k_r, p, q, "
         "Gd, Gr0, phi_m, v0, v1, E, g"),
        ("cheriff", {"Gd": -0.1}, "opsin.Gd = -0.1 is outside the allowed range [1e-06, 1000] 1/ms"),
        ("cheriff", {"v0": float("nan")}, "opsin.v0 = nan is outside the allowed range [1, 1000] mV"),
        ("chr2_h134r", {"g": "big"}, "opsin.g = 'big' is not a number; allowed range [0, 1000] nS/pF"),
        ("none", {}, "opsin: the opsin is 'none', which has no parameters"),
    ],
)
def test_override_errors_name_the_parameter_and_the_allowed(preset, overrides, message):
    with pytest.raises(ValueError) as excinfo:
        opsin_params_array(OPSINS[preset], overrides)
    assert message in str(excinfo.value)
