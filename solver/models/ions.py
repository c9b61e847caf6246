"""Ion concentrations and reversal potentials: Nernst, Goldman-Hodgkin-Katz, and the presets' bath overrides.

MODEL.md section 3.3. Concentrations are in mM, temperatures in degrees Celsius, potentials in mV. A cell preset
publishes E_Na and E_K at its temperature; the internal Na+ and K+ that reproduce them at the default bath
(Na_o = 140 mM, K_o = 5.4 mM) are back-computed, so that a user who changes the bath or the temperature gets
reversal potentials that follow Nernst from the same cell.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

__all__ = [
    "ALLOWED_ION_KEYS",
    "CONCENTRATION_RANGE_MM",
    "DEFAULT_K_OUT_MM",
    "DEFAULT_NA_OUT_MM",
    "F",
    "R",
    "REVERSAL_RANGE_MV",
    "TEMPERATURE_RANGE_C",
    "InternalConcentrations",
    "default_internal_concentrations",
    "ghk_voltage_mv",
    "nernst_mv",
    "reversal_potentials",
]

#: Molar gas constant, J mol^-1 K^-1 (CODATA 2018, exact).
R = 8.314462618
#: Faraday constant, C mol^-1 (CODATA 2018, exact).
F = 96485.33212
_ZERO_CELSIUS_K = 273.15

#: Allowed temperatures (degrees C), inclusive.
TEMPERATURE_RANGE_C = (0.0, 45.0)
#: Allowed concentrations (mM): strictly positive, at most 1 M.
CONCENTRATION_RANGE_MM = (0.0, 1000.0)
DEFAULT_NA_OUT_MM = 140.0
#: The bath K+ at which the presets' E_K and the sqrt(K_o/5.4) factor of I_K1 are defined.
DEFAULT_K_OUT_MM = 5.4

#: Allowed directly given reversal potentials (mV), inclusive.
REVERSAL_RANGE_MV = (-150.0, 150.0)

#: Keys a spec's ``ions`` block may set.
ALLOWED_ION_KEYS = ("temperature_c", "na_out_mm", "na_in_mm", "k_out_mm", "k_in_mm", "e_na_mv", "e_k_mv")


def _number(name: str, value: object) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{name} = {value!r} is not a number")
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} = {value!r} is not a number")
    if not math.isfinite(x):
        raise ValueError(f"{name} = {x!r} is not a finite number")
    return x


def _temperature(name: str, value: object) -> float:
    t = _number(name, value)
    low, high = TEMPERATURE_RANGE_C
    if not low <= t <= high:
        raise ValueError(f"{name} = {t:g} degC is outside the allowed range [{low:g}, {high:g}] degC")
    return t


def _concentration(name: str, value: object) -> float:
    c = _number(name, value)
    low, high = CONCENTRATION_RANGE_MM
    if not low < c <= high:
        raise ValueError(f"{name} = {c:g} mM is outside the allowed range ({low:g}, {high:g}] mM (must be > 0)")
    return c


def _reversal(name: str, value: object) -> float:
    e = _number(name, value)
    low, high = REVERSAL_RANGE_MV
    if not low <= e <= high:
        raise ValueError(f"{name} = {e:g} mV is outside the allowed range [{low:g}, {high:g}] mV")
    return e


def _rt_over_f_mv(temperature_c: float) -> float:
    return 1e3 * R * (temperature_c + _ZERO_CELSIUS_K) / F


def nernst_mv(z: int, c_out_mm: float, c_in_mm: float, temperature_c: float) -> float:
    """Nernst reversal potential ``(R T / (z F)) ln(c_out / c_in)`` in mV.

    Parameters
    ----------
    z
        Valence of the ion (non-zero integer, e.g. 1 for K+, -1 for Cl-).
    c_out_mm, c_in_mm
        Extracellular and intracellular concentrations (mM, > 0).
    temperature_c
        Temperature (degrees C, 0 to 45).

    Raises
    ------
    ValueError
        Naming the argument, its value and the allowed range.
    """
    if isinstance(z, bool) or not isinstance(z, int) or z == 0 or abs(z) > 3:
        raise ValueError(f"z = {z!r} must be a non-zero integer valence in [-3, 3]")
    c_out = _concentration("c_out_mm", c_out_mm)
    c_in = _concentration("c_in_mm", c_in_mm)
    t = _temperature("temperature_c", temperature_c)
    return _rt_over_f_mv(t) / z * math.log(c_out / c_in)


def ghk_voltage_mv(
    *,
    p_k: float,
    p_na: float,
    p_cl: float,
    k_out: float,
    k_in: float,
    na_out: float,
    na_in: float,
    cl_out: float,
    cl_in: float,
    temperature_c: float,
) -> float:
    """Goldman-Hodgkin-Katz resting potential (mV) of a membrane permeable to K+, Na+ and Cl-.

    ``V = (R T / F) ln((P_K K_o + P_Na Na_o + P_Cl Cl_i) / (P_K K_i + P_Na Na_i + P_Cl Cl_o))``.
    Permeabilities are relative (any common unit, >= 0, not all zero); concentrations in mM (> 0); temperature in
    degrees C (0 to 45).
    """
    perms = {"p_k": p_k, "p_na": p_na, "p_cl": p_cl}
    checked = {}
    for name, value in perms.items():
        x = _number(name, value)
        if x < 0:
            raise ValueError(f"{name} = {x:g} must be >= 0 (a relative permeability)")
        checked[name] = x
    if not any(checked.values()):
        raise ValueError("p_k, p_na, p_cl are all 0: at least one permeability must be > 0")
    conc = {
        name: _concentration(name, value)
        for name, value in {
            "k_out": k_out,
            "k_in": k_in,
            "na_out": na_out,
            "na_in": na_in,
            "cl_out": cl_out,
            "cl_in": cl_in,
        }.items()
    }
    t = _temperature("temperature_c", temperature_c)
    numerator = checked["p_k"] * conc["k_out"] + checked["p_na"] * conc["na_out"] + checked["p_cl"] * conc["cl_in"]
    denominator = checked["p_k"] * conc["k_in"] + checked["p_na"] * conc["na_in"] + checked["p_cl"] * conc["cl_out"]
    return _rt_over_f_mv(t) * math.log(numerator / denominator)


class InternalConcentrations(NamedTuple):
    """Intracellular Na+ and K+ (mM)."""

    na_in_mm: float
    k_in_mm: float


def default_internal_concentrations(
    e_na_mv: float,
    e_k_mv: float,
    temperature_c: float,
    *,
    na_out_mm: float = DEFAULT_NA_OUT_MM,
    k_out_mm: float = DEFAULT_K_OUT_MM,
) -> InternalConcentrations:
    """Internal Na+ and K+ (mM) for which Nernst gives ``e_na_mv`` and ``e_k_mv`` at the given bath and temperature.

    Inverts ``E = (R T / F) ln(c_out / c_in)``: ``c_in = c_out exp(-E F / (R T))``.
    """
    e_na = _reversal("e_na_mv", e_na_mv)
    e_k = _reversal("e_k_mv", e_k_mv)
    t = _temperature("temperature_c", temperature_c)
    na_out = _concentration("na_out_mm", na_out_mm)
    k_out = _concentration("k_out_mm", k_out_mm)
    rt_f = _rt_over_f_mv(t)
    return InternalConcentrations(na_in_mm=na_out * math.exp(-e_na / rt_f), k_in_mm=k_out * math.exp(-e_k / rt_f))


def reversal_potentials(
    ions: Mapping[str, float] | None,
    preset_temperature_c: float,
    preset_e_na: float,
    preset_e_k: float,
) -> tuple[float, float, float]:
    """Reversal potentials ``(E_Na, E_K, K_o)`` (mV, mV, mM) for a preset with a user's ``ions`` overrides.

    With no overrides the preset's published E_Na and E_K and ``K_o = 5.4`` mM are returned unchanged. Otherwise the
    internal concentrations default to those back-computed from the preset (at Na_o = 140 mM, K_o = 5.4 mM and the
    preset temperature) and every E follows Nernst at ``temperature_c`` (default: the preset's) from the resulting
    concentrations, unless ``e_na_mv`` / ``e_k_mv`` give it directly. ``K_o`` is returned because I_K1 scales with
    ``sqrt(K_o / 5.4)``.

    Parameters
    ----------
    ions
        Optional keys: ``temperature_c``, ``na_out_mm``, ``na_in_mm``, ``k_out_mm``, ``k_in_mm``, ``e_na_mv``,
        ``e_k_mv``. A direct E may not be combined with that ion's internal concentration.
    preset_temperature_c, preset_e_na, preset_e_k
        The cell preset's temperature (degrees C) and published reversal potentials (mV).

    Raises
    ------
    ValueError
        On an unknown key, a conflicting pair, or a value out of range; the message names ``ions.<key>``.
    """
    preset_t = _temperature("preset_temperature_c", preset_temperature_c)
    e_na0 = _reversal("preset_e_na", preset_e_na)
    e_k0 = _reversal("preset_e_k", preset_e_k)
    if not ions:
        return e_na0, e_k0, DEFAULT_K_OUT_MM
    for key in ions:
        if key not in ALLOWED_ION_KEYS:
            raise ValueError(f"ions.{key}: unknown key; allowed: {', '.join(ALLOWED_ION_KEYS)}")
    for e_key, c_key in (("e_na_mv", "na_in_mm"), ("e_k_mv", "k_in_mm")):
        if e_key in ions and c_key in ions:
            raise ValueError(
                f"ions.{e_key} and ions.{c_key} both given: give the reversal potential or the internal "
                "concentration, not both"
            )

    internal = default_internal_concentrations(e_na0, e_k0, preset_t)
    t = _temperature("ions.temperature_c", ions.get("temperature_c", preset_t))
    na_out = _concentration("ions.na_out_mm", ions.get("na_out_mm", DEFAULT_NA_OUT_MM))
    k_out = _concentration("ions.k_out_mm", ions.get("k_out_mm", DEFAULT_K_OUT_MM))
    na_in = _concentration("ions.na_in_mm", ions.get("na_in_mm", internal.na_in_mm))
    k_in = _concentration("ions.k_in_mm", ions.get("k_in_mm", internal.k_in_mm))

    rt_f = _rt_over_f_mv(t)
    e_na = _reversal("ions.e_na_mv", ions["e_na_mv"]) if "e_na_mv" in ions else rt_f * math.log(na_out / na_in)
    e_k = _reversal("ions.e_k_mv", ions["e_k_mv"]) if "e_k_mv" in ions else rt_f * math.log(k_out / k_in)
    return e_na, e_k, k_out
