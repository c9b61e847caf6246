"""Nagumo, FitzHugh–Nagumo and Aliev–Panfilov (MODEL.md 3.4) as model descriptions, dimensionless.

The equations of :mod:`solver.models.generic` in the expression language, with the presets'
parameters and bounds; u is the membrane variable (units "1": no opsin), w a derivative state.
"""

from __future__ import annotations

from .. import generic

__all__ = ["description", "PRESETS"]

PRESETS = ("nagumo", "fitzhugh_nagumo", "aliev_panfilov")

_EQUATIONS = {
    # name -> (I_ion, dw/dt or None: no recovery variable)
    "nagumo": ("-k*u*(1 - u)*(u - a)", None),
    "fitzhugh_nagumo": ("-(u - u^3/3 - w)", "eps*(u + a - b*w)"),
    "aliev_panfilov": ("k*u*(u - a)*(u - 1) + u*w", "(eps0 + mu1*w/(u + mu2))*(-w - k*u*(u - a - 1))"),
}


def description(preset: str) -> dict:
    """The description (JSON form) of ``preset`` (one of :data:`PRESETS`), starting at its rest state."""
    if preset not in PRESETS:
        raise ValueError(f"preset {preset!r} has no description here; allowed: {', '.join(PRESETS)}")
    spec = generic.GENERIC_SPECS[preset]
    rest = generic.rest_state(preset, spec["defaults"])
    i_ion, dw = _EQUATIONS[preset]
    return {
        "name": f"{preset}_described",
        "description": f"{preset} (MODEL.md 3.4) written as a model description",
        "voltage": {"name": "u", "units": "1", "initial": float(rest["u"])},
        "parameters": [
            {"name": n, "value": float(v), "units": "1", "min": spec["bounds"][n][0], "max": spec["bounds"][n][1]}
            for n, v in spec["defaults"].items()
        ],
        "states": [{"name": "w", "units": "1", "initial": float(rest["w"]), "derivative": dw,
                    "description": spec["state_long_names"][1]}] if dw is not None else [],
        "currents": [{"name": "I_ion", "expression": i_ion, "units": "1"}],
    }  # fmt: skip
