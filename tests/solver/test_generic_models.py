"""Generic media: the Nagumo front speed against its exact value, and the rest states."""

from __future__ import annotations

import numpy as np
import pytest

from solver.models import get_model


def _run(model, ya, wx, wy, params, dt, n_steps):
    ny, nx = ya.shape[1:]
    yb = ya.copy()
    zero = np.zeros((ny, nx))
    parity = model.kernel(ya, yb, n_steps, dt, wx, wy, np.ones((ny, nx), np.uint8), params,
                          np.full(params.size, -1, np.int64), np.zeros((0, ny, nx)), zero, False,
                          np.zeros(10), zero, zero)  # fmt: skip
    return yb if parity else ya


@pytest.mark.parametrize(("k", "a", "diff"), [(1.0, 0.1, 1.0), (2.0, 0.3, 0.5)])
def test_nagumo_front_speed_is_exact(k, a, diff):
    """c = sqrt(D k / 2) (1 - 2a) for du/dt = D u'' + k u (1 - u)(u - a)."""
    model = get_model("nagumo")
    dx, nx, dt = 0.1, 400, 0.002  # front width sqrt(2D/k) >= 0.7 spans >= 7 cells
    x = dx * np.arange(nx)
    y = np.zeros((1, 1, nx))
    y[0, 0] = 1.0 / (1.0 + np.exp((x - 5.0) * np.sqrt(k / (2 * diff))))
    wx = np.full((1, nx), diff / dx**2)
    wx[0, -1] = 0.0
    wy = np.zeros((1, nx))
    params = model.params_array({"k": k, "a": a})
    c_exact = np.sqrt(diff * k / 2) * (1 - 2 * a)
    t_chunk = 1.0
    times, fronts = [], []
    for n in range(1, 41):
        y = _run(model, y, wx, wy, params, dt, int(round(t_chunk / dt)))
        u = y[0, 0]
        j = int(np.argmax(u < 0.5))
        fronts.append(x[j - 1] + (u[j - 1] - 0.5) / (u[j - 1] - u[j]) * dx)
        times.append(n * t_chunk)
    times, fronts = np.array(times), np.array(fronts)
    use = times >= 10.0
    speed = np.polyfit(times[use], fronts[use], 1)[0]
    assert fronts[-1] < x[-1] - 5.0  # still far from the end of the strip
    print(f"\nnagumo k={k} a={a} D={diff}: speed {speed:.5f}, exact {c_exact:.5f}, "
          f"error {speed / c_exact - 1:+.2%}")  # fmt: skip
    assert speed == pytest.approx(c_exact, rel=0.02)


@pytest.mark.parametrize("name", ["nagumo", "fitzhugh_nagumo", "aliev_panfilov"])
def test_rest_state_is_stationary_and_conductance_is_the_slope(name):
    model = get_model(name)
    rest = model.rest_state()
    y = np.array([rest[s] for s in model.state_names]).reshape(-1, 1, 1)
    zero = np.zeros((1, 1))
    final = _run(model, y.copy(), zero, zero, model.params_array(), model.default_dt_ms, 1000)
    np.testing.assert_allclose(final, y, atol=1e-12)
    u0 = rest["u"]
    h = 1e-6
    plus = model.ionic_current({**rest, "u": np.array(u0 + h)})
    minus = model.ionic_current({**rest, "u": np.array(u0 - h)})
    assert model.resting_conductance() == pytest.approx(float(plus - minus) / (2 * h), rel=1e-6)
    assert model.dimensionless and not model.supports_opsin
    assert model.state_names[0] == "u"


def test_fitzhugh_nagumo_rest_matches_the_benchmark_fixed_point():
    """u - u³/3 - w = 0 and u + 0.7 - 0.8 w = 0 meet at u ≈ -1.1994, w ≈ -0.6243."""
    rest = get_model("fitzhugh_nagumo").rest_state()
    assert rest["u"] == pytest.approx(-1.19941, abs=1e-5)
    assert rest["w"] == pytest.approx(-0.62426, abs=1e-5)
    on_nullcline = get_model("fitzhugh_nagumo").steady_state_at(0.5)
    assert on_nullcline["w"] == pytest.approx((0.5 + 0.7) / 0.8)


def test_aliev_panfilov_fires_and_recovers():
    """A supra-threshold kick on a single cell gives an action potential that returns to rest."""
    model = get_model("aliev_panfilov")
    y = np.array([0.2, 0.0]).reshape(2, 1, 1)  # above the threshold a = 0.1
    zero = np.zeros((1, 1))
    peak = 0.0
    for _ in range(100):
        y = _run(model, y, zero, zero, model.params_array(), model.default_dt_ms, 100)
        peak = max(peak, float(y[0, 0, 0]))
    assert peak > 0.9
    assert abs(y[0, 0, 0]) < 0.05  # back near rest after 200 time units
