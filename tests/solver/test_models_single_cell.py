"""Single HEK cell through the numba kernel against an independent stiff solve (scipy Radau).

The Gokhale 2017 equations are written out again below, separately from the package, and solved
with tight tolerances; the kernel (a 1x1 sheet at the model's default dt) must reproduce the
resting potential, peak, max dV/dt and APD90. The MODEL.md figures are checked loosely as well,
so that an error in the parameter tables is caught.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from solver.models import MODELS, get_model, hek

STIMULUS = {  # preset -> (amplitude A/F, MODEL.md figures: rest, peak, max dV/dt V/s, APD90 ms)
    "hek_gokhale2017_35c": (-100.0, (-74.2, 43.4, 311.0, 20.3)),
    "hek_gokhale2017_23c": (-150.0, (-72.2, 24.0, 150.0, 15.9)),
}
T_ON, T_OFF, T_END = 1.0, 1.5, 60.0


def _rhs(t, y, p, i_stim):
    """Gokhale 2017 (Table S2 form), written independently of solver.models; y may be (9, N)."""
    v, m, h1, h2, n1, n2, o, pg, b = y

    def sig(x):
        return 1.0 / (1.0 + np.exp(x))

    m_inf = 1.653 * sig(-(v + p["Vm1"]) / 7.984) - 0.9225 * sig(-(v + p["Vm2"]) / 11.44) + 0.0971
    h_inf = sig((v + p["V_h"]) / p["k_h"])
    n_inf = sig((v + p["V_n"]) / 14.32)
    o_inf = sig(-(v + 46.25) / 10.59)
    p_inf = 0.0708 + 0.9292 * sig((v + p["V_p"]) / 8.738)
    b_inf = sig(-(v + p["V_b"]) / p["k_b"])
    tau_m = p["a_m"] * np.exp(-((v + 53.87) ** 2) / 1136.0) + p["b_m"]
    tau_h1 = p["a1"] * np.exp(-((v + 83.17) ** 2) / 786.6) + p["b1"] * sig((v - 9.195) / 2.982) + p["c1"]
    tau_h2 = p["a2"] * np.exp(-((v + 87.77) ** 2) / 377.4) + p["c2"]
    tau_n1 = p["p1"] * np.exp(-((v + 106.8) ** 2) / 390.5) + p["p2"] * sig((v - 9.861) / 983.1) + p["p3"]
    tau_n2 = p["q1"] * np.exp(-((v + 96.75) ** 2) / 399.6) + p["q2"] * sig((v + 92.94) / 32.09) + p["q3"]
    i_na = p["g_Na"] * m**3 * (0.9 * h1 + 0.1 * h2) * (v - p["E_Na"])
    i_k1 = p["g_K1"] * np.sqrt(p["K_o"] / 5.4) * (0.75 * n1 + 0.25 * n2) * (v - p["E_K"])
    i_nawt = p["g_Na_wt"] * o**3 * pg * (v - p["E_Na"])
    i_kwt = p["g_K_wt"] * b**2 * (v - p["E_K"])
    return np.array(
        [
            -(i_na + i_k1 + i_nawt + i_kwt + i_stim),
            (m_inf - m) / tau_m,
            (h_inf - h1) / tau_h1,
            (h_inf - h2) / tau_h2,
            (n_inf - n1) / tau_n1,
            (n_inf - n2) / tau_n2,
            (o_inf - o) / p["tau_o"],
            (p_inf - pg) / p["tau_p"],
            (b_inf - b) / p["tau_b"],
        ]
    )


def _figures(t, v, dvdt, v_rest):
    """Rest, peak, max dV/dt (V/s) and APD90 (ms, from the time of max dV/dt)."""
    k_peak = int(np.argmax(v))
    k_up = int(np.argmax(dvdt[: k_peak + 1]))
    level = v_rest + 0.1 * (v[k_peak] - v_rest)
    k = k_peak + int(np.argmax(v[k_peak:] < level))
    t_rep = t[k - 1] + (level - v[k - 1]) * (t[k] - t[k - 1]) / (v[k] - v[k - 1])
    return {"rest": v_rest, "peak": float(v[k_peak]), "dvdt": float(dvdt[k_up]), "apd90": t_rep - t[k_up]}


@pytest.fixture(scope="module", params=sorted(STIMULUS))
def radau(request):
    """Reference figures from a Radau solve (rtol 1e-9) of the independent equations."""
    name = request.param
    p = dict(get_model(name).defaults)
    amp = STIMULUS[name][0]
    # rest: relax for 30 s (tau_h2 reaches 1.1 s at 23 C) from V = -73 mV with hand-set gates, then check it is stationary
    y0 = np.array([-73.0, 0.1, 0.2, 0.05, 0.45, 0.45, 0.07, 0.8, 0.1])
    rest = solve_ivp(_rhs, (0, 30000), y0, method="Radau", rtol=1e-10, atol=1e-12, args=(p, 0.0)).y[:, -1]
    assert abs(_rhs(0, rest, p, 0.0)[0]) < 1e-8
    ts, vs, dvs, y = [], [], [], rest
    for t0, t1, i_stim in ((0.0, T_ON, 0.0), (T_ON, T_OFF, amp), (T_OFF, T_END, 0.0)):
        sol = solve_ivp(_rhs, (t0, t1), y, method="Radau", rtol=1e-9, atol=1e-11, args=(p, i_stim),
                        dense_output=True)  # fmt: skip
        tt = np.linspace(t0, t1, int(round((t1 - t0) / 0.0005)) + 1)
        yy = sol.sol(tt)
        ts.append(tt), vs.append(yy[0]), dvs.append(_rhs(0, yy, p, i_stim)[0])
        y = sol.y[:, -1]
    figs = _figures(np.concatenate(ts), np.concatenate(vs), np.concatenate(dvs), rest[0])
    return name, rest, figs


def run_single_cell(name: str, dt: float) -> tuple[dict, np.ndarray]:
    """Drive a 1x1 sheet through the kernel one step per call; returns figures and the V trace."""
    model = get_model(name)
    amp = STIMULUS[name][0]
    rest = model.rest_state()
    ya = np.array([rest[s] for s in model.state_names], dtype=np.float64).reshape(-1, 1, 1)
    yb = ya.copy()
    zero = np.zeros((1, 1))
    common = dict(
        params=model.params_array(), pidx=np.full(len(hek.HEK_PARAM_NAMES), -1, np.int64), pmaps=np.zeros((0, 1, 1)),
    )  # fmt: skip
    n_on, n_off, n_end = (int(round(t / dt)) for t in (T_ON, T_OFF, T_END))
    v = [ya[0, 0, 0]]
    dvdt = []
    for step in range(n_end):
        iext = np.full((1, 1), amp if n_on <= step < n_off else 0.0)
        parity = model.kernel(ya, yb, 1, dt, zero, zero, np.ones((1, 1), np.uint8), common["params"],
                              common["pidx"], common["pmaps"], iext, False, np.zeros(10), zero, zero)  # fmt: skip
        assert parity == 1
        ya, yb = yb, ya
        dvdt.append((ya[0, 0, 0] - v[-1]) / dt)
        v.append(ya[0, 0, 0])
    v = np.array(v)
    t = dt * np.arange(v.size)
    # forward Euler: the increment of step n is dV/dt at t_n, so the upstroke time is t_n
    return _figures(t[:-1], v[:-1], np.array(dvdt), rest["v"]), v


def test_kernel_matches_radau_at_default_dt(radau):
    name, rest, ref = radau
    model = get_model(name)
    figs, v = run_single_cell(name, model.default_dt_ms)
    assert abs(figs["rest"] - ref["rest"]) < 0.5, (figs, ref)
    assert abs(v[: int(T_ON / model.default_dt_ms)] - ref["rest"]).max() < 0.01  # no drift at rest
    assert abs(figs["peak"] - ref["peak"]) < 2.0, (figs, ref)
    assert abs(figs["apd90"] / ref["apd90"] - 1) < 0.03, (figs, ref)
    assert abs(figs["dvdt"] / ref["dvdt"] - 1) < 0.10, (figs, ref)
    print(f"\n{name} dt={model.default_dt_ms}: kernel {figs}\n  radau {ref}")


@pytest.mark.parametrize("name", sorted(STIMULUS))
def test_segment_calls_equal_step_by_step(name):
    """Whole segments per call (stimulus on/off via iext) land exactly on the step-by-step trace."""
    model = get_model(name)
    dt = model.default_dt_ms
    _, v = run_single_cell(name, dt)
    rest = model.rest_state()
    ya = np.array([rest[s] for s in model.state_names]).reshape(-1, 1, 1)
    yb = ya.copy()
    zero, one = np.zeros((1, 1)), np.ones((1, 1), np.uint8)
    n_on, n_off, n_end = (int(round(t / dt)) for t in (T_ON, T_OFF, T_END))
    for n_steps, amp in ((n_on, 0.0), (n_off - n_on, STIMULUS[name][0]), (n_end - n_off, 0.0)):
        parity = model.kernel(ya, yb, n_steps, dt, zero, zero, one, model.params_array(),
                              np.full(len(hek.HEK_PARAM_NAMES), -1, np.int64), np.zeros((0, 1, 1)), np.full((1, 1), amp),
                              False, np.zeros(10), zero, zero)  # fmt: skip
        if parity:
            ya, yb = yb, ya
    assert ya[0, 0, 0] == v[-1]


def test_reference_matches_model_md_figures(radau):
    """The independent solve reproduces MODEL.md's table: catches an error in the parameter tables."""
    name, rest, ref = radau
    v_rest, peak, dvdt, apd90 = STIMULUS[name][1]
    assert abs(ref["rest"] - v_rest) < 0.2
    assert abs(ref["peak"] - peak) < 0.03 * abs(peak) + 0.5
    assert abs(ref["dvdt"] / dvdt - 1) < 0.05
    assert abs(ref["apd90"] / apd90 - 1) < 0.05


def test_rest_state_is_the_radau_rest(radau):
    name, rest, _ = radau
    r = get_model(name).rest_state()
    got = np.array([r[s] for s in hek.HEK_STATE_NAMES])
    np.testing.assert_allclose(got, rest, rtol=1e-6, atol=1e-8)


def test_kernel_parameter_order_matches_names():
    """The description's parameter order: the generated kernels read the description's parameters, which come
    first; the preset's last, kir_instantaneous, is the description's gate kind."""
    for name in ("hek_gokhale2017_35c", "hek_bistable"):
        assert get_model(name).description.param_names == hek.HEK_PARAM_NAMES[:-1]
    assert hek.HEK_PARAM_NAMES[-1] == "kir_instantaneous"


def test_params_array_rejects_unknown_and_out_of_range_names():
    model = get_model("hek_gokhale2017_35c")
    with pytest.raises(ValueError, match=r"unknown parameter 'g_Nav'.*allowed: E_Na, E_K"):
        model.params_array({"g_Nav": 1.0})
    with pytest.raises(ValueError, match=r"'g_K1'.*-1\.0.*\[0\.0, 10000\.0\] nS/pF"):
        model.params_array({"g_K1": -1.0})
    arr = model.params_array({"g_K1": 3.0})
    assert arr.dtype == np.float64 and arr[hek.HEK_PARAM_NAMES.index("g_K1")] == 3.0


def test_get_model_names_the_allowed_presets():
    with pytest.raises(ValueError, match="unknown cell model 'hek'; allowed: aliev_panfilov, .*hek_bistable"):
        get_model("hek")
    with pytest.raises(KeyError):
        get_model("hek")
    assert set(MODELS) == {"hek_gokhale2017_35c", "hek_gokhale2017_23c", "hek_bistable", "nagumo",
                           "fitzhugh_nagumo", "aliev_panfilov"}  # fmt: skip


def test_steady_state_and_conductance_agree_with_the_current():
    model = get_model("hek_gokhale2017_35c")
    rest = model.rest_state()
    state = {k: np.array(val) for k, val in rest.items()}
    assert abs(float(model.ionic_current(state))) < 1e-9  # at rest the currents balance
    s = model.steady_state_at(-74.0)
    assert s["v"] == -74.0 and s["n1"] == s["n2"]
    # slope of the steady-state I-V by a wide central difference
    p = dict(model.defaults)
    g = (hek.steady_state_current(rest["v"] + 0.01, p) - hek.steady_state_current(rest["v"] - 0.01, p)) / 0.02
    assert model.resting_conductance() == pytest.approx(float(g), rel=1e-4)
