"""Generic excitable media for analytic checks and benchmarks (MODEL.md section 3.4).

``nagumo`` (u), ``fitzhugh_nagumo`` (u, w) and ``aliev_panfilov`` (u, w), all dimensionless.
The membrane variable u obeys du/dt = coupling - I_ion - iext with

- nagumo:          I_ion = -k u (1 - u) (u - a)
- fitzhugh_nagumo: I_ion = -(u - u^3/3 - w),        dw/dt = eps (u + a - b w)
- aliev_panfilov:  I_ion = k u (u - a)(u - 1) + u w, dw/dt = (eps0 + mu1 w/(u + mu2)) (-w - k u (u - a - 1))

The numba kernels are generated from their descriptions (:mod:`presets.generic_media`), the NumPy
reference steps are in :mod:`reference`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

__all__ = ["GENERIC_SPECS", "ionic_current", "recovery_rate", "rest_state", "steady_state_at",
           "resting_conductance"]  # fmt: skip

# name -> (state names, long names, params with defaults, bounds)
GENERIC_SPECS: Mapping[str, dict] = MappingProxyType(
    {
        "nagumo": dict(
            state_names=("u",),
            state_long_names=("excitation variable",),
            defaults={"k": 1.0, "a": 0.1},
            bounds={"k": (0.0, 1.0e3), "a": (0.0, 1.0)},
            dt_max=0.1,
            default_dt=0.05,
        ),
        "fitzhugh_nagumo": dict(
            state_names=("u", "w"),
            state_long_names=("excitation variable", "recovery variable"),
            defaults={"eps": 0.08, "a": 0.7, "b": 0.8},
            bounds={"eps": (0.0, 10.0), "a": (-10.0, 10.0), "b": (0.0, 10.0)},
            dt_max=0.1,
            default_dt=0.05,
        ),
        "aliev_panfilov": dict(
            state_names=("u", "w"),
            state_long_names=("excitation variable", "recovery variable"),
            defaults={"k": 8.0, "a": 0.1, "eps0": 0.002, "mu1": 0.2, "mu2": 0.3},
            bounds={
                "k": (0.0, 100.0),
                "a": (0.0, 1.0),
                "eps0": (0.0, 1.0),
                "mu1": (0.0, 10.0),
                "mu2": (1.0e-3, 10.0),
            },
            dt_max=0.05,
            default_dt=0.02,
        ),
    }
)


def ionic_current(name: str, state: Mapping, p: Mapping) -> np.ndarray:
    """I_ion of generic model ``name`` (so that du/dt = coupling - I_ion - iext)."""
    u = np.asarray(state["u"], dtype=np.float64)
    if name == "nagumo":
        return -p["k"] * u * (1.0 - u) * (u - p["a"])
    if name == "fitzhugh_nagumo":
        return -(u - u**3 / 3.0 - state["w"])
    if name == "aliev_panfilov":
        return p["k"] * u * (u - p["a"]) * (u - 1.0) + u * state["w"]
    raise ValueError(f"unknown generic model {name!r}; allowed: {', '.join(GENERIC_SPECS)}")


def recovery_rate(name: str, state: Mapping, p: Mapping) -> np.ndarray:
    """dw/dt of the recovery variable (fitzhugh_nagumo and aliev_panfilov)."""
    u = np.asarray(state["u"], dtype=np.float64)
    w = state["w"]
    if name == "fitzhugh_nagumo":
        return p["eps"] * (u + p["a"] - p["b"] * w)
    if name == "aliev_panfilov":
        return (p["eps0"] + p["mu1"] * w / (u + p["mu2"])) * (-w - p["k"] * u * (u - p["a"] - 1.0))
    raise ValueError(f"generic model {name!r} has no recovery variable")


def _fhn_rest(p: Mapping) -> tuple[float, float]:
    # intersection of u - u^3/3 - w = 0 and u + a - b w = 0: b(u - u^3/3) - u - a = 0
    a, b = p["a"], p["b"]
    if b == 0.0:
        return -a, -a + a**3 / 3.0
    roots = np.roots([-b / 3.0, 0.0, b - 1.0, -a])
    real = np.sort(roots[np.abs(roots.imag) < 1e-9].real)
    u = float(real[0])  # the lowest crossing is the excitable rest state
    return u, (u + a) / b


def rest_state(name: str, p: Mapping) -> dict[str, float]:
    """Rest state: u = 0 (nagumo, aliev_panfilov) or the FHN fixed point."""
    if name == "fitzhugh_nagumo":
        u, w = _fhn_rest(p)
        return {"u": u, "w": w}
    if name == "aliev_panfilov":
        return {"u": 0.0, "w": 0.0}
    return {"u": 0.0}


def steady_state_at(name: str, u: float, p: Mapping) -> dict[str, float]:
    """u given, recovery variable on its nullcline (FHN: (u + a)/b; AP: k u (1 + a - u))."""
    if name == "fitzhugh_nagumo":
        w = (u + p["a"]) / p["b"] if p["b"] != 0.0 else rest_state(name, p)["w"]
        return {"u": u, "w": float(w)}
    if name == "aliev_panfilov":
        return {"u": u, "w": float(p["k"] * u * (1.0 + p["a"] - u))}
    return {"u": u}


def resting_conductance(name: str, p: Mapping) -> float:
    """dI_ion/du at rest with the recovery variable frozen (model units)."""
    if name == "fitzhugh_nagumo":
        u, _ = _fhn_rest(p)
        return float(u * u - 1.0)
    return float(p["k"] * p["a"])  # nagumo and aliev_panfilov at u = w = 0
