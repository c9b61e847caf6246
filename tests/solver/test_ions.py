"""Nernst, GHK and the presets' reversal-potential overrides against hand-computed references."""

from __future__ import annotations

import math

import numpy as np
import pytest

import solver

from solver.models.ions import (
    F,
    R,
    default_internal_concentrations,
    ghk_voltage_mv,
    nernst_mv,
    reversal_potentials,
)
from tests.specs import small_hek_spec

# The HEK presets (MODEL.md 3.1): temperature (degC), E_Na, E_K (mV).
HEK_PRESETS = [(35.0, 61.6, -75.3), (23.0, 59.2, -72.4)]


def test_constants_are_codata():
    assert R == pytest.approx(8.314462618, rel=1e-12)
    assert F == pytest.approx(96485.33212, rel=1e-12)


def test_e_k_at_37c_physiological():
    # MODEL.md 3.3 check: 26.73 mV * ln(5/140) = -89.06 mV.
    assert nernst_mv(1, 5.0, 140.0, 37.0) == pytest.approx(-89.0, abs=0.1)


def test_slope_per_decade_at_37c():
    per_decade = nernst_mv(1, 10.0, 1.0, 37.0)
    assert per_decade == pytest.approx(61.5, abs=0.1)
    # Divalent: half the slope; anion: opposite sign.
    assert nernst_mv(2, 10.0, 1.0, 37.0) == pytest.approx(per_decade / 2, rel=1e-12)
    assert nernst_mv(-1, 10.0, 1.0, 37.0) == pytest.approx(-per_decade, rel=1e-12)


@pytest.mark.parametrize(("temperature_c", "e_na", "e_k"), HEK_PRESETS)
def test_back_computed_internals_reproduce_published_e(temperature_c, e_na, e_k):
    na_in, k_in = default_internal_concentrations(e_na, e_k, temperature_c)
    assert nernst_mv(1, 140.0, na_in, temperature_c) == pytest.approx(e_na, abs=1e-10)
    assert nernst_mv(1, 5.4, k_in, temperature_c) == pytest.approx(e_k, abs=1e-10)
    # And they are cell-like: a few tens of mM Na+ at most, K+ well above the bath.
    assert 5.0 < na_in < 30.0
    assert 60.0 < k_in < 160.0


@pytest.mark.parametrize(("temperature_c", "e_na", "e_k"), HEK_PRESETS)
def test_reversal_potentials_without_overrides_are_the_published_ones(temperature_c, e_na, e_k):
    assert reversal_potentials(None, temperature_c, e_na, e_k) == (e_na, e_k, 5.4)
    # Restating the defaults goes through Nernst and lands on the same numbers.
    restated = reversal_potentials({"temperature_c": temperature_c, "k_out_mm": 5.4}, temperature_c, e_na, e_k)
    assert restated == pytest.approx((e_na, e_k, 5.4), abs=1e-10)


def test_ghk_with_only_k_permeable_is_nernst():
    kwargs = dict(k_out=5.4, k_in=140.0, na_out=140.0, na_in=12.0, cl_out=120.0, cl_in=10.0, temperature_c=35.0)
    v = ghk_voltage_mv(p_k=1.0, p_na=0.0, p_cl=0.0, **kwargs)
    assert v == pytest.approx(nernst_mv(1, 5.4, 140.0, 35.0), rel=1e-12)


def test_ghk_with_only_cl_permeable_is_nernst_for_an_anion():
    v = ghk_voltage_mv(
        p_k=0.0, p_na=0.0, p_cl=1.0, k_out=5.4, k_in=140.0, na_out=140.0, na_in=12.0, cl_out=120.0, cl_in=10.0,
        temperature_c=35.0,
    )
    assert v == pytest.approx(nernst_mv(-1, 120.0, 10.0, 35.0), rel=1e-12)


def test_ghk_mixed_permeability_hand_computed():
    # P_K:P_Na:P_Cl = 1:0.05:0.45 (the classic squid-axon ratios), 20 degC.
    rt_f = 1e3 * R * 293.15 / F
    expected = rt_f * math.log((1 * 20 + 0.05 * 440 + 0.45 * 60) / (1 * 400 + 0.05 * 50 + 0.45 * 560))
    v = ghk_voltage_mv(
        p_k=1.0, p_na=0.05, p_cl=0.45, k_out=20, k_in=400, na_out=440, na_in=50, cl_out=560, cl_in=60,
        temperature_c=20.0,
    )
    assert v == pytest.approx(expected, rel=1e-12)
    # A weighted compromise: between E_K and E_Na, and much nearer E_K since K+ dominates.
    e_k, e_na = nernst_mv(1, 20, 400, 20.0), nernst_mv(1, 440, 50, 20.0)
    assert e_k < v < 0.5 * (e_k + e_na)


def test_raising_k_out_to_20_depolarises_e_k_by_the_nernst_amount():
    temperature_c, e_na, e_k = HEK_PRESETS[0]
    e_na_new, e_k_new, k_out = reversal_potentials({"k_out_mm": 20.0}, temperature_c, e_na, e_k)
    rt_f = 1e3 * R * (temperature_c + 273.15) / F
    assert e_k_new - e_k == pytest.approx(rt_f * math.log(20.0 / 5.4), abs=1e-10)
    assert e_k_new - e_k == pytest.approx(34.8, abs=0.1)
    assert e_na_new == pytest.approx(e_na, abs=1e-10)
    assert k_out == 20.0


def test_temperature_override_scales_e_with_absolute_temperature():
    temperature_c, e_na, e_k = HEK_PRESETS[1]
    e_na_new, e_k_new, _ = reversal_potentials({"temperature_c": 37.0}, temperature_c, e_na, e_k)
    ratio = (37.0 + 273.15) / (temperature_c + 273.15)
    assert e_na_new == pytest.approx(e_na * ratio, rel=1e-12)
    assert e_k_new == pytest.approx(e_k * ratio, rel=1e-12)


def test_direct_reversal_potentials_and_internal_overrides():
    e_na, e_k, k_out = reversal_potentials({"e_k_mv": -80.0, "na_in_mm": 14.0}, 35.0, 61.6, -75.3)
    assert e_k == -80.0
    assert e_na == pytest.approx(nernst_mv(1, 140.0, 14.0, 35.0), rel=1e-12)
    assert k_out == 5.4


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: nernst_mv(1, 0.0, 140.0, 37.0), "c_out_mm = 0 mM is outside the allowed range (0, 1000] mM"),
        (lambda: nernst_mv(1, 5.0, -1.0, 37.0), "c_in_mm = -1 mM is outside the allowed range (0, 1000] mM"),
        (lambda: nernst_mv(1, 5.0, 140.0, 50.0), "temperature_c = 50 degC is outside the allowed range [0, 45] degC"),
        (lambda: nernst_mv(1, 5.0, 140.0, -5.0), "temperature_c = -5 degC is outside the allowed range [0, 45] degC"),
        (lambda: nernst_mv(0, 5.0, 140.0, 37.0), "z = 0 must be a non-zero integer valence"),
        (
            lambda: default_internal_concentrations(61.6, -75.3, 35.0, k_out_mm=0.0),
            "k_out_mm = 0 mM is outside the allowed range (0, 1000] mM",
        ),
        (
            lambda: reversal_potentials({"k_out_mm": -2.0}, 35.0, 61.6, -75.3),
            "ions.k_out_mm = -2 mM is outside the allowed range (0, 1000] mM",
        ),
        (
            lambda: reversal_potentials({"temperature_c": 46.0}, 35.0, 61.6, -75.3),
            "ions.temperature_c = 46 degC is outside the allowed range [0, 45] degC",
        ),
        (
            lambda: reversal_potentials({"k_o": 20.0}, 35.0, 61.6, -75.3),
            "ions.k_o: unknown key; allowed: temperature_c, na_out_mm, na_in_mm, k_out_mm, k_in_mm, e_na_mv, e_k_mv",
        ),
        (
            lambda: reversal_potentials({"e_k_mv": -80.0, "k_in_mm": 140.0}, 35.0, 61.6, -75.3),
            "ions.e_k_mv and ions.k_in_mm both given",
        ),
        (
            lambda: ghk_voltage_mv(
                p_k=1.0, p_na=0.0, p_cl=0.0, k_out=5.4, k_in=140.0, na_out=140.0, na_in=0.0, cl_out=120.0,
                cl_in=10.0, temperature_c=35.0,
            ),
            "na_in = 0 mM is outside the allowed range (0, 1000] mM",
        ),
        (
            lambda: ghk_voltage_mv(
                p_k=-1.0, p_na=0.0, p_cl=0.0, k_out=5.4, k_in=140.0, na_out=140.0, na_in=12.0, cl_out=120.0,
                cl_in=10.0, temperature_c=35.0,
            ),
            "p_k = -1 must be >= 0",
        ),
    ],
)
def test_errors_name_argument_value_and_range(call, message):
    with pytest.raises(ValueError) as excinfo:
        call()
    assert message in str(excinfo.value)


def test_temperature_scales_the_gating_kinetics_by_the_published_q10():
    """The 35 C preset at 23 C: every gating time constant becomes the 23 C preset's (Gokhale 2017
    fitted both temperatures; the Q10s are read off that table), conductances stay."""
    from solver.models import get_model, hek

    spec = small_hek_spec()
    spec["tissue"]["model"]["ions"] = {"temperature_c": 23.0}
    p = solver.prepare(spec)
    cold = dict(zip(p.model.param_names, p.params))
    published = get_model("hek_gokhale2017_23c").defaults
    for names, q10 in hek.KINETIC_Q10.values():
        assert 1.4 < q10 < 3.1
        for name in names:
            assert cold[name] == pytest.approx(published[name], rel=6e-3), name
    warm = dict(zip(p.model.param_names, solver.prepare(small_hek_spec()).params))
    assert cold["a_m"] / warm["a_m"] == pytest.approx(3.4258, rel=1e-3)
    assert cold["g_Na"] == warm["g_Na"]  # conductances stay the preset's
    # at the preset's own temperature the kinetics are the preset's
    spec["tissue"]["model"]["ions"] = {"temperature_c": 35.0}
    same = dict(zip(p.model.param_names, solver.prepare(spec).params))
    assert all(same[n] == warm[n] for names, _ in hek.KINETIC_Q10.values() for n in names)
