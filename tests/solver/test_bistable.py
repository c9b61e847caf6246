"""Kir2.1 bistability (MODEL.md 3.2): fixed points of the steady-state I-V, stability, domain walls."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from solver.models import get_model, hek

MODEL = get_model("hek_bistable")
DEFAULTS = dict(MODEL.defaults)


def _i_ss(v, g_l):
    """Steady-state I-V written out independently: 35 C Kir2.1 with n = n_inf, plus a leak to 0 mV."""
    n_inf = 1.0 / (1.0 + np.exp((v + 80.13) / 14.32))
    return 6.609 * n_inf * (v + 75.3) + g_l * v


@pytest.mark.parametrize(("g_l", "n_roots"), [(0.25, 1), (0.28, 3), (0.32, 3), (0.36, 3), (0.38, 1)])
def test_three_fixed_points_only_inside_the_leak_window(g_l, n_roots):
    roots = hek.fixed_points({**DEFAULTS, "g_L": g_l})
    assert roots.size == n_roots
    assert np.all(np.diff(roots) > 0)
    np.testing.assert_allclose(_i_ss(roots, g_l), 0.0, atol=1e-9)
    # every zero of the independent I-V on a fine grid is found
    grid = np.linspace(-150, 100, 250001)
    assert np.count_nonzero(np.diff(np.sign(_i_ss(grid, g_l)))) == n_roots


def test_fixed_points_and_stability_at_g_l_032():
    p = {**DEFAULTS, "g_L": 0.32}
    roots = hek.fixed_points(p)
    np.testing.assert_allclose(roots, [-61.5, -36.0, -10.0], atol=1.0)
    assert hek.fixed_point_stability(p, roots) == ("stable", "unstable", "stable")
    assert MODEL.rest_state(p)["v"] == pytest.approx(roots[0], abs=1e-9)


def test_equal_area_leak_matches_an_independent_integral():
    g_eq = hek.equal_area_g_L(DEFAULTS)

    def area(g_l):
        roots = np.sort([optimize.brentq(_i_ss, a, b, args=(g_l,)) for a, b in ((-75, -50), (-50, -25), (-25, 0))])
        v = np.linspace(roots[0], roots[2], 20001)
        f = _i_ss(v, g_l)
        return float(np.sum(0.5 * (f[1:] + f[:-1]) * np.diff(v)))

    assert area(g_eq) == pytest.approx(0.0, abs=1e-4)
    assert hek.equal_area_integral({**DEFAULTS, "g_L": 0.32}) == pytest.approx(area(0.32), rel=1e-6)
    assert 0.271 < g_eq < 0.364


def _run_wall(g_l: float, t_end: float = 200.0, nx: int = 80):
    """4 x nx strip, D = 1000 µm²/ms, dx = 10 µm, left half at the low and right half at the high state."""
    p = {**DEFAULTS, "g_L": g_l}
    ny, dt, w = 4, 0.02, 1000.0 / 10.0**2
    roots = hek.fixed_points(p)
    low, high = MODEL.steady_state_at(roots[0], p), MODEL.steady_state_at(roots[2], p)
    y = np.empty((MODEL.n_state, ny, nx))
    for k, s in enumerate(MODEL.state_names):
        y[k, :, : nx // 2], y[k, :, nx // 2 :] = low[s], high[s]
    wx, wy = np.full((ny, nx), w), np.full((ny, nx), w)
    wx[:, -1], wy[-1, :] = 0.0, 0.0
    zero = np.zeros((ny, nx))
    ya, yb = y.copy(), y.copy()
    parity = MODEL.kernel(ya, yb, int(round(t_end / dt)), dt, wx, wy, np.ones((ny, nx), np.uint8),
                          MODEL.params_array(p), np.full(len(MODEL.param_names), -1, np.int64),
                          np.zeros((0, ny, nx)), zero, False, np.zeros(10), zero, zero)  # fmt: skip
    v = (yb if parity else ya)[0]
    mid = 0.5 * (roots[0] + roots[2])
    crossings = np.flatnonzero(np.diff(np.sign(v[0] - mid)))
    return v, roots, crossings


def test_domain_wall_is_stationary_at_the_equal_area_leak():
    v, roots, crossings = _run_wall(hek.equal_area_g_L(DEFAULTS))
    assert np.ptp(v, axis=0).max() < 1e-9  # still a 1-D problem
    assert abs(v[0, 0] - roots[0]) < 2.0 and abs(v[0, -1] - roots[2]) < 2.0
    assert crossings.size == 1 and abs(crossings[0] + 0.5 - 40) < 2  # one wall, where it started


@pytest.mark.parametrize(("g_l", "grows"), [(0.30, "low"), (0.34, "high")])
def test_domain_wall_moves_as_the_equal_area_rule_predicts(g_l, grows):
    """Positive ∫I_ss dV: the hyperpolarised domain grows; negative: the depolarised one does."""
    integral = hek.equal_area_integral({**DEFAULTS, "g_L": g_l})
    assert (integral > 0) == (grows == "low")
    v, roots, crossings = _run_wall(g_l, t_end=40.0)
    assert crossings.size == 1
    moved = crossings[0] + 0.5 - 40
    assert moved > 3 if grows == "low" else moved < -3
