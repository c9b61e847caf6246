"""A Hodgkin–Huxley squid axon (6.3 °C, rest near −65 mV) written as a model description.

Gate m and n by rates, h by steady state and time constant (both gate forms), one intermediate,
and an observer state ``ca`` with a derivative (an intracellular sodium-driven pool that does not
feed back), so that every kind of variable of the description is exercised.
"""

from __future__ import annotations

import math

import numpy as np

HH_DEFINITION = {
    "name": "hh_squid_axon",
    "description": "Hodgkin & Huxley 1952, squid giant axon, 6.3 C",
    "voltage": {"name": "v", "units": "mV", "initial": -65.0},
    "parameters": [
        {"name": "g_Na", "value": 120.0, "units": "mS/cm^2", "min": 0.0, "max": 1000.0},
        {"name": "g_K", "value": 36.0, "units": "mS/cm^2", "min": 0.0, "max": 1000.0},
        {"name": "g_L", "value": 0.3, "units": "mS/cm^2", "min": 0.0, "max": 100.0},
        {"name": "E_Na", "value": 50.0, "units": "mV", "min": -200.0, "max": 200.0},
        {"name": "E_K", "value": -77.0, "units": "mV", "min": -200.0, "max": 200.0},
        {"name": "E_L", "value": -54.387, "units": "mV", "min": -200.0, "max": 200.0},
        {"name": "C_m", "value": 1.0, "units": "uF/cm^2", "min": 0.01, "max": 100.0},
    ],
    "states": [
        {"name": "m", "units": "1", "initial": 0.0529,
         "gate": {"alpha": "0.1*(v+40)/(1-exp(-(v+40)/10))", "beta": "4*exp(-(v+65)/18)"}},
        {"name": "h", "units": "1", "initial": 0.5961,
         "gate": {"inf": "0.07*exp(-(v+65)/20) / (0.07*exp(-(v+65)/20) + 1/(1+exp(-(v+35)/10)))",
                  "tau": "1 / (0.07*exp(-(v+65)/20) + 1/(1+exp(-(v+35)/10)))"}},
        {"name": "n", "units": "1", "initial": 0.3177,
         "gate": {"alpha": "0.01*(v+55)/(1-exp(-(v+55)/10))", "beta": "0.125*exp(-(v+65)/80)"}},
        {"name": "ca", "units": "mM", "initial": 1e-4, "derivative": "-0.001*I_Na - (ca - 1e-4)/80"},
    ],
    "intermediates": [{"name": "inv_C", "expression": "1/C_m", "units": "cm^2/uF"}],
    "currents": [
        {"name": "I_Na", "expression": "g_Na*m^3*h*(v - E_Na)*inv_C", "units": "A/F"},
        {"name": "I_K", "expression": "g_K*n^4*(v - E_K)*inv_C", "units": "A/F"},
        {"name": "I_L", "expression": "g_L*(v - E_L)*inv_C", "units": "A/F"},
    ],
}  # fmt: skip


def hh_rhs(y: np.ndarray, i_ext: float = 0.0) -> np.ndarray:
    """d/dt of (v, m, h, n, ca), written by hand from the 1952 paper (the independent reference)."""
    v, m, h, n, ca = y
    am = 0.1 * (v + 40) / (1 - math.exp(-(v + 40) / 10))
    bm = 4 * math.exp(-(v + 65) / 18)
    ah = 0.07 * math.exp(-(v + 65) / 20)
    bh = 1 / (1 + math.exp(-(v + 35) / 10))
    an = 0.01 * (v + 55) / (1 - math.exp(-(v + 55) / 10))
    bn = 0.125 * math.exp(-(v + 65) / 80)
    i_na = 120.0 * m**3 * h * (v - 50.0)
    i_k = 36.0 * n**4 * (v + 77.0)
    i_l = 0.3 * (v + 54.387)
    return np.array([-(i_na + i_k + i_l) - i_ext, am * (1 - m) - bm * m, ah * (1 - h) - bh * h,
                     an * (1 - n) - bn * n, -0.001 * i_na - (ca - 1e-4) / 80])  # fmt: skip
