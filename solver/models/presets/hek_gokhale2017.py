"""The HEK293 NaV1.5 + Kir2.1 model of Gokhale et al. 2017 (MODEL.md 3.1, 3.2) as a model description.

The equations of :mod:`solver.models.hek` in the expression language, with the parameters of
:data:`solver.models.hek.HEK_PRESETS`. The bistable preset's Kir2.1 gates are instantaneous (always at
n∞(V), MODEL.md 3.2); the 35 and 23 °C presets' are kinetic. The switch
``kir_instantaneous`` of :mod:`solver.models.hek`'s NumPy physics is the preset's choice of gate kind, not a
parameter of the description.
"""

from __future__ import annotations

from .. import hek

__all__ = ["description", "PRESETS"]

#: The presets this file describes.
PRESETS = ("hek_gokhale2017_35c", "hek_gokhale2017_23c", "hek_bistable")

_SIG = "1/(1+exp({}))"  # the logistic of the kernels: 1/(1 + exp(x))


def _sig(x: str) -> str:
    return _SIG.format(x)


_N_INF = _sig("(v+V_n)/14.32")
_H_INF = _sig("(v+V_h)/k_h")
_GATES = {
    "m": (f"1.653*{_sig('(v+Vm1)/-7.984')} - 0.9225*{_sig('(v+Vm2)/-11.44')} + 0.0971",
          "a_m*exp((v+53.87)^2/-1136) + b_m"),
    "h1": (_H_INF, f"a1*exp((v+83.17)^2/-786.6) + b1*{_sig('(v-9.195)/2.982')} + c1"),
    "h2": (_H_INF, "a2*exp((v+87.77)^2/-377.4) + c2"),
    "n1": (_N_INF, f"p1*exp((v+106.8)^2/-390.5) + p2*{_sig('(v-9.861)/983.1')} + p3"),
    "n2": (_N_INF, f"q1*exp((v+96.75)^2/-399.6) + q2*{_sig('(v+92.94)/32.09')} + q3"),
    "o": (_sig("(v+46.25)/-10.59"), "tau_o"),
    "p": (f"0.0708 + 0.9292*{_sig('(v+V_p)/8.738')}", "tau_p"),
    "b": (_sig("(v+V_b)/-k_b"), "tau_b"),
}  # fmt: skip
_CURRENTS = (
    # written with the parameters' products first: they do not change from cell to cell, and the compiler
    # computes them once per row (it may not reorder a product of floats itself)
    ("I_Na", "(0.9*g_Na*h1 + 0.1*g_Na*h2)*m^3*(v - E_Na)", "NaV1.5"),
    ("I_K1", "(0.75*g_K1*sqrt(K_o/5.4)*n1 + 0.25*g_K1*sqrt(K_o/5.4)*n2)*(v - E_K)", "Kir2.1"),
    ("I_Na_wt", "g_Na_wt*o^3*p*(v - E_Na)", "endogenous sodium current"),
    ("I_K_wt", "g_K_wt*b^2*(v - E_K)", "endogenous potassium current"),
    ("I_L", "g_L*(v - E_L)", "leak"),
)


def description(preset: str = "hek_gokhale2017_35c") -> dict:
    """The description (JSON form) of ``preset`` (one of :data:`PRESETS`), its rest state as initial values."""
    if preset not in PRESETS:
        raise ValueError(f"preset {preset!r} has no description here; allowed: {', '.join(PRESETS)}")
    values = dict(hek.HEK_PRESETS[preset])
    instant = values["kir_instantaneous"] >= 0.5
    rest = hek.rest_state(values)
    names = [n for n in hek.HEK_PARAM_NAMES if n != "kir_instantaneous"]

    def gate(s: str, inf: str, tau: str) -> dict:
        if instant and s in ("n1", "n2"):
            return {"inf": inf, "instantaneous": True}
        return {"inf": inf, "tau": tau}

    return {
        "name": f"{preset}_described",
        "description": f"Gokhale et al. 2017 ({preset}) written as a model description",
        "voltage": {"name": "v", "units": "mV", "initial": float(rest["v"])},
        "parameters": [
            {"name": n, "value": float(values[n]), "units": hek.HEK_PARAM_UNITS[n],
             "min": hek.HEK_PARAM_BOUNDS[n][0], "max": hek.HEK_PARAM_BOUNDS[n][1]} for n in names
        ],
        "states": [
            {"name": s, "units": "1", "initial": float(rest[s]), "gate": gate(s, inf, tau),
             "description": long}
            for (s, (inf, tau)), long in zip(_GATES.items(), hek.HEK_STATE_LONG_NAMES[1:])
        ],
        "intermediates": [],
        "currents": [{"name": n, "expression": e, "units": "A/F", "description": d} for n, e, d in _CURRENTS],
    }  # fmt: skip
