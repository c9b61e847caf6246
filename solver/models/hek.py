"""HEK293 cells expressing NaV1.5 and Kir2.1 (Gokhale et al. 2017) and the Kir2.1 bistable preset.

Physics of MODEL.md sections 3.1 and 3.2 in plain, vectorised NumPy: parameter tables, gate steady
states and time constants, the membrane currents, the rest state, and the steady-state I-V with
its fixed points and the equal-area rule. The kernels are generated from the presets' description
(:mod:`solver.models.presets.hek_gokhale2017`); the one-step NumPy reference is in :mod:`reference`.

Units: mV, ms, nS/pF, A/F (= mV/ms), mM.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from types import MappingProxyType

import numpy as np
from scipy import integrate, optimize

__all__ = [
    "HEK_STATE_NAMES",
    "HEK_PARAM_NAMES",
    "HEK_PRESETS",
    "TAU_MIN_MS",
    "gate_steady_states",
    "gate_time_constants",
    "membrane_currents",
    "ionic_current",
    "steady_state_current",
    "steady_state_at",
    "rest_state",
    "resting_conductance",
    "fixed_points",
    "fixed_point_stability",
    "equal_area_integral",
    "equal_area_g_L",
    "KINETIC_Q10",
    "temperature_scaled",
]

#: Smallest time constant allowed (ms); the Kir2.1 formula goes negative under overdrive.
TAU_MIN_MS = 0.01

HEK_STATE_NAMES = ("v", "m", "h1", "h2", "n1", "n2", "o", "p", "b")
HEK_STATE_UNITS = ("mV",) + ("1",) * 8
HEK_STATE_LONG_NAMES = (
    "membrane potential",
    "NaV1.5 activation gate",
    "NaV1.5 fast inactivation gate",
    "NaV1.5 slow inactivation gate",
    "Kir2.1 fast activation gate",
    "Kir2.1 slow activation gate",
    "endogenous sodium current activation gate",
    "endogenous sodium current inactivation gate",
    "endogenous potassium current activation gate",
)

HEK_PARAM_NAMES = (
    "E_Na", "E_K", "K_o", "g_Na", "Vm1", "Vm2", "a_m", "b_m", "V_h", "k_h",
    "a1", "b1", "c1", "a2", "c2", "g_K1", "V_n", "p1", "p2", "p3",
    "q1", "q2", "q3", "g_Na_wt", "tau_o", "tau_p", "V_p", "g_K_wt", "V_b", "k_b",
    "tau_b", "g_L", "E_L", "kir_instantaneous",
)  # fmt: skip

_MV, _MS, _G = "mV", "ms", "nS/pF"
HEK_PARAM_UNITS = MappingProxyType(
    {
        "E_Na": _MV, "E_K": _MV, "K_o": "mM", "g_Na": _G, "Vm1": _MV, "Vm2": _MV,
        "a_m": _MS, "b_m": _MS, "V_h": _MV, "k_h": _MV, "a1": _MS, "b1": _MS, "c1": _MS,
        "a2": _MS, "c2": _MS, "g_K1": _G, "V_n": _MV, "p1": _MS, "p2": _MS, "p3": _MS,
        "q1": _MS, "q2": _MS, "q3": _MS, "g_Na_wt": _G, "tau_o": _MS, "tau_p": _MS,
        "V_p": _MV, "g_K_wt": _G, "V_b": _MV, "k_b": _MV, "tau_b": _MS, "g_L": _G,
        "E_L": _MV, "kir_instantaneous": "1",
    }
)  # fmt: skip


def _bound(name: str) -> tuple[float, float]:
    unit = HEK_PARAM_UNITS[name]
    if name in ("k_h", "k_b"):
        return (0.1, 100.0)  # slope factors: sign is fixed by the formula, zero is singular
    if name == "K_o":
        return (0.01, 500.0)
    if name == "kir_instantaneous":
        return (0.0, 1.0)
    if name == "p3":
        return (-1.0e4, 1.0e4)  # the published value is negative
    if unit == _MV:
        return (-200.0, 200.0)
    return (0.0, 1.0e4)  # conductances and time-constant coefficients


HEK_PARAM_BOUNDS = MappingProxyType({name: _bound(name) for name in HEK_PARAM_NAMES})

# Table S2 of Gokhale et al. 2017 (= MODEL.md 3.1); g_L = 0 in the published model.
_HEK_35C = dict(
    E_Na=61.6, E_K=-75.3, K_o=5.4, g_Na=90.34, Vm1=31.38, Vm2=20.15, a_m=0.2827, b_m=0.027,
    V_h=80.42, k_h=5.811, a1=8.582, b1=0.0269, c1=0.1886, a2=320.3, c2=0.872, g_K1=6.609,
    V_n=80.13, p1=0.1181, p2=0.9782, p3=-0.4241, q1=0.9973, q2=1.26, q3=0.0319,
    g_Na_wt=0.6976, tau_o=0.0797, tau_p=0.2663, V_p=58.91, g_K_wt=0.1332, V_b=24.96,
    k_b=36.58, tau_b=0.584, g_L=0.0, E_L=0.0, kir_instantaneous=0.0,
)  # fmt: skip
_HEK_23C = dict(
    E_Na=59.2, E_K=-72.4, K_o=5.4, g_Na=32.64, Vm1=36.54, Vm2=25.31, a_m=0.9685, b_m=0.0924,
    V_h=86.06, k_h=5.691, a1=29.4, b1=0.0922, c1=0.6461, a2=1097.0, c2=2.987, g_K1=4.664,
    V_n=71.88, p1=0.1927, p2=1.588, p3=-0.6923, q1=1.628, q2=2.057, q3=0.0521,
    g_Na_wt=0.22, tau_o=0.298, tau_p=0.9953, V_p=64.67, g_K_wt=0.1313, V_b=9.055,
    k_b=23.79, tau_b=1.6, g_L=0.0, E_L=0.0, kir_instantaneous=0.0,
)  # fmt: skip
# MODEL.md 3.2: 35 C Kir2.1 with instantaneous gates, NaV and endogenous currents off, leak to 0 mV.
_HEK_BISTABLE = dict(_HEK_35C, g_Na=0.0, g_Na_wt=0.0, g_K_wt=0.0, g_L=0.32, E_L=0.0,
                     kir_instantaneous=1.0)  # fmt: skip

HEK_PRESETS: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        "hek_gokhale2017_35c": MappingProxyType(_HEK_35C),
        "hek_gokhale2017_23c": MappingProxyType(_HEK_23C),
        "hek_bistable": MappingProxyType(_HEK_BISTABLE),
    }
)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(x))


def gate_steady_states(v, p: Mapping) -> dict[str, np.ndarray]:
    """Steady state of every gate at potential ``v`` (mV); keys are the gate state names."""
    v = np.asarray(v, dtype=np.float64)
    m_inf = (
        1.653 * _sigmoid((v + p["Vm1"]) / -7.984)
        - 0.9225 * _sigmoid((v + p["Vm2"]) / -11.44)
        + 0.0971
    )
    h_inf = _sigmoid((v + p["V_h"]) / p["k_h"])
    n_inf = _sigmoid((v + p["V_n"]) / 14.32)
    return {
        "m": m_inf,
        "h1": h_inf,
        "h2": h_inf,
        "n1": n_inf,
        "n2": n_inf,
        "o": _sigmoid((v + 46.25) / -10.59),
        "p": 0.0708 + 0.9292 * _sigmoid((v + p["V_p"]) / 8.738),
        "b": _sigmoid((v + p["V_b"]) / -p["k_b"]),
    }


def gate_time_constants(v, p: Mapping) -> dict[str, np.ndarray]:
    """Time constant (ms) of every gate at ``v`` (mV), clamped to at least :data:`TAU_MIN_MS`."""
    v = np.asarray(v, dtype=np.float64)
    one = np.ones_like(v)
    tau = {
        "m": p["a_m"] * np.exp((v + 53.87) ** 2 / -1136.0) + p["b_m"],
        "h1": p["a1"] * np.exp((v + 83.17) ** 2 / -786.6) + p["b1"] * _sigmoid((v - 9.195) / 2.982)
        + p["c1"],
        "h2": p["a2"] * np.exp((v + 87.77) ** 2 / -377.4) + p["c2"],
        "n1": p["p1"] * np.exp((v + 106.8) ** 2 / -390.5) + p["p2"] * _sigmoid((v - 9.861) / 983.1)
        + p["p3"],
        "n2": p["q1"] * np.exp((v + 96.75) ** 2 / -399.6) + p["q2"] * _sigmoid((v + 92.94) / 32.09)
        + p["q3"],
        "o": p["tau_o"] * one,
        "p": p["tau_p"] * one,
        "b": p["tau_b"] * one,
    }
    return {name: np.maximum(t, TAU_MIN_MS) for name, t in tau.items()}


def membrane_currents(state: Mapping, p: Mapping) -> dict[str, np.ndarray]:
    """The five membrane currents (A/F) for a state mapping of ``v`` and the gates.

    With ``kir_instantaneous`` >= 0.5 the Kir2.1 gates are taken at n_inf(V), whatever the state.
    """
    v = np.asarray(state["v"], dtype=np.float64)
    n1, n2 = state["n1"], state["n2"]
    inst = np.asarray(p["kir_instantaneous"]) >= 0.5
    if np.any(inst):
        n_inf = _sigmoid((v + p["V_n"]) / 14.32)
        n1 = np.where(inst, n_inf, n1)
        n2 = np.where(inst, n_inf, n2)
    return {
        "I_Na": p["g_Na"] * state["m"] ** 3 * (0.9 * state["h1"] + 0.1 * state["h2"]) * (v - p["E_Na"]),
        "I_K1": p["g_K1"] * np.sqrt(p["K_o"] / 5.4) * (0.75 * n1 + 0.25 * n2) * (v - p["E_K"]),
        "I_Na_wt": p["g_Na_wt"] * state["o"] ** 3 * state["p"] * (v - p["E_Na"]),
        "I_K_wt": p["g_K_wt"] * state["b"] ** 2 * (v - p["E_K"]),
        "I_L": p["g_L"] * (v - p["E_L"]),
    }


def ionic_current(state: Mapping, p: Mapping) -> np.ndarray:
    """Total ionic current I_ion (A/F)."""
    return sum(membrane_currents(state, p).values())


def steady_state_at(v: float, p: Mapping) -> dict[str, float]:
    """State with V = ``v`` and every gate at its steady state."""
    gates = gate_steady_states(v, p)
    return {"v": float(v), **{name: float(gates[name]) for name in HEK_STATE_NAMES[1:]}}


def steady_state_current(
    v, p: Mapping, *, extra_current: Callable[[np.ndarray], np.ndarray] | None = None
) -> np.ndarray:
    """Steady-state I-V: I_ion with every gate at steady state (A/F), plus ``extra_current(v)``."""
    v = np.asarray(v, dtype=np.float64)
    current = ionic_current({"v": v, **gate_steady_states(v, p)}, p)
    if extra_current is not None:
        current = current + extra_current(v)
    return current


def fixed_points(
    p: Mapping,
    *,
    extra_current: Callable[[np.ndarray], np.ndarray] | None = None,
    v_range_mv: tuple[float, float] = (-150.0, 100.0),
) -> np.ndarray:
    """Sorted potentials (mV) where the steady-state I-V crosses zero.

    Parameters
    ----------
    p : Mapping
        Full HEK parameter mapping (e.g. ``{**model.defaults, "g_L": 0.28}``).
    extra_current : callable, optional
        An extra steady current I(V) in A/F (e.g. a steady opsin current) added to the I-V.
    v_range_mv : tuple of float
        Search interval; sign changes are bracketed on a 0.05 mV grid and polished by Brent's method.
    """
    missing = [name for name in HEK_PARAM_NAMES if name not in p]
    if missing:
        raise ValueError(f"fixed_points needs every HEK parameter; missing: {', '.join(missing)}")

    def f(v):
        return steady_state_current(v, p, extra_current=extra_current)

    grid = np.arange(v_range_mv[0], v_range_mv[1] + 0.025, 0.05)
    values = f(grid)
    roots = [grid[k] for k in np.flatnonzero(values == 0.0)]
    for k in np.flatnonzero(values[:-1] * values[1:] < 0.0):
        roots.append(optimize.brentq(lambda x: float(f(x)), grid[k], grid[k + 1], xtol=1e-12))
    return np.array(sorted(roots), dtype=np.float64)


def fixed_point_stability(
    p: Mapping, v_fixed, *, extra_current: Callable[[np.ndarray], np.ndarray] | None = None
) -> tuple[str, ...]:
    """``"stable"`` or ``"unstable"`` for each fixed point, from the slope of the steady-state I-V.

    dV/dt = -I_ss(V) is stable where dI_ss/dV > 0. This is exact when the gates are instantaneous
    (the bistable preset) and a necessary condition for the full gated model.
    """
    v = np.asarray(v_fixed, dtype=np.float64)
    h = 1e-4
    slope = (
        steady_state_current(v + h, p, extra_current=extra_current)
        - steady_state_current(v - h, p, extra_current=extra_current)
    ) / (2 * h)
    return tuple("stable" if s > 0 else "unstable" for s in np.atleast_1d(slope))


def equal_area_integral(
    p: Mapping, *, extra_current: Callable[[np.ndarray], np.ndarray] | None = None
) -> float:
    """Integral of I_ss(V) dV (A/F·mV) from the lowest to the highest fixed point.

    For a domain wall between the two stable states of a bistable sheet, a negative value means the
    depolarised domain grows, a positive value that the hyperpolarised domain grows, and zero
    (the equal-area rule) that the wall is stationary. Needs three fixed points.
    """
    roots = fixed_points(p, extra_current=extra_current)
    if roots.size != 3:
        raise ValueError(
            f"equal-area rule needs three fixed points (a bistable I-V); found {roots.size}: "
            f"{np.round(roots, 3).tolist()} mV"
        )
    value, _ = integrate.quad(
        lambda x: float(steady_state_current(x, p, extra_current=extra_current)),
        roots[0], roots[2], points=[roots[1]], epsabs=1e-12, epsrel=1e-12,
    )  # fmt: skip
    return float(value)


def equal_area_g_L(p: Mapping, *, bracket: tuple[float, float] = (0.272, 0.363)) -> float:
    """Leak conductance g_L (nS/pF) at which the equal-area rule holds (a stationary wall)."""
    return float(
        optimize.brentq(lambda g: equal_area_integral({**p, "g_L": g}), *bracket, xtol=1e-12)
    )


@functools.lru_cache(maxsize=256)
def _rest_cached(items: tuple[tuple[str, float], ...]) -> tuple[tuple[str, float], ...]:
    p = dict(items)
    roots = fixed_points(p)
    if roots.size == 0:
        raise ValueError("this HEK parameter set has no resting potential in [-150, 100] mV")
    labels = fixed_point_stability(p, roots)
    stable = [v for v, label in zip(roots, labels) if label == "stable"]
    v_rest = stable[0] if stable else roots[0]
    return tuple(steady_state_at(v_rest, p).items())


def rest_state(p: Mapping) -> dict[str, float]:
    """The state a single cell settles to without stimulus (cached per parameter set).

    The model has no concentration dynamics, so its steady states are exactly the zeros of the
    steady-state I-V with every gate at steady state. Starting from a hyperpolarised cell (the
    published initial state, V = -74.28 mV at 35 C) the cell settles at the lowest stable zero,
    which is the one returned; for the bistable preset that is the hyperpolarised resting state.
    """
    return dict(_rest_cached(tuple(sorted((k, float(p[k])) for k in HEK_PARAM_NAMES))))


def resting_conductance(p: Mapping) -> float:
    """Slope conductance dI_ss/dV at rest (nS/pF): the membrane conductance for λ = sqrt(D/g_m).

    The steady-state slope is the one that sets the space constant of steady (subthreshold)
    inputs; at rest it is within a few percent of the instantaneous chord value.
    """
    v = rest_state(p)["v"]
    h = 1e-4
    return float((steady_state_current(v + h, p) - steady_state_current(v - h, p)) / (2 * h))


#: Q10 of the gating kinetics of each current, with the time-constant parameters (ms) it scales.
#: Source: Gokhale et al. 2017 (PLoS Comput Biol 13:e1005342), Table S2, which fits the same cells at
#: 23 and 35 C: every time constant of a current changes by one common factor r (within 0.6 %),
#: and Q10 = r^(10/12). I_Na: r = 3.426 (Q10 2.79); I_K1: r = 1.632 (1.50); I_Na,wt: r = 3.738 (3.00);
#: I_K,wt: r = 2.740 (2.32). Conductances and half-activation voltages are not scaled (the two fits
#: differ in those too, by more than a Q10 would say: only the presets hold them at their temperatures).
KINETIC_Q10 = {
    "I_Na": (("a_m", "b_m", "a1", "b1", "c1", "a2", "c2"), (0.9685 / 0.2827) ** (10 / 12)),
    "I_K1": (("p1", "p2", "p3", "q1", "q2", "q3"), (1.628 / 0.9973) ** (10 / 12)),
    "I_Na_wt": (("tau_o", "tau_p"), (0.9953 / 0.2663) ** (10 / 12)),
    "I_K_wt": (("tau_b",), (1.6 / 0.584) ** (10 / 12)),
}


def temperature_scaled(p: Mapping, from_c: float, to_c: float) -> dict:
    """``p`` with every gating time constant scaled from ``from_c`` to ``to_c`` (degrees C) by its
    current's :data:`KINETIC_Q10`: tau(T) = tau(T0)·Q10^((T0 − T)/10)."""
    out = dict(p)
    for names, q10 in KINETIC_Q10.values():
        factor = q10 ** ((from_c - to_c) / 10.0)
        for name in names:
            out[name] = out[name] * factor
    return out
