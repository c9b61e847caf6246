"""Light-gated channel (opsin) presets and the NumPy physics of the three-state model.

The model is the PyRhO three-state cycle closed -> open -> desensitised -> closed (MODEL.md section 4)::

    dO/dt = Ga(phi) * C - Gd * O
    dD/dt = Gd * O - Gr(phi) * D,            C = 1 - O - D
    Ga = k_a * phi**p / (phi**p + phi_m**p)
    Gr = k_r * phi**q / (phi**q + phi_m**q) + Gr0
    I_opsin = g * O * f_v(V) * (V - E)        (A/F, positive outward)
    f_v(V) = (v1 / (V - E)) * (1 - exp(-(V - E) / v0)),  normalised so f_v(-70 mV) = 1

Rates are per ms, the photon flux ``phi`` is in photons mm^-2 s^-1, potentials are in mV and the conductance density
``g`` is in nS/pF at expression density 1. The functions here are the obviously-right reference that the fast
kernels are tested against; the kernel receives :func:`opsin_params_array` (ten numbers, ``g`` excluded because it
is passed as a per-cell map).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

__all__ = [
    "CHERIFF_TARGET_EC50_STEADY_MW_PER_MM2",
    "CHERIFF_TARGET_OFF_TIME_CONSTANT_MS",
    "CHERIFF_TARGET_PEAK_PHOTOCURRENT_A_PER_F",
    "CHR2_H134R_REFERENCE_PEAK_PHOTOCURRENT_A_PER_F",
    "HOLDING_POTENTIAL_MV",
    "KERNEL_PARAM_NAMES",
    "OPSINS",
    "OPSIN_PARAM_BOUNDS",
    "OPSIN_PARAM_NAMES",
    "OPSIN_PARAM_UNITS",
    "PEAK_PULSE_MS",
    "PHOTONS_PER_MW_MM2_470NM",
    "REFERENCE_IRRADIANCE_MW_PER_MM2",
    "OpsinPreset",
    "current",
    "ec50_steady",
    "f_v",
    "get_opsin",
    "irradiance_to_flux",
    "kernel_fv_holding",
    "kernel_rates",
    "off_time_constant",
    "opsin_params",
    "opsin_params_array",
    "peak_photocurrent",
    "rates",
    "steady_photocurrent",
    "steady_state",
    "validate_opsin_params",
]

#: Photon flux (photons mm^-2 s^-1) per mW/mm^2 at 470 nm: 1e-3 W / (h c / 470 nm) = 2.366e15.
PHOTONS_PER_MW_MM2_470NM = 2.37e15

OPSIN_PARAM_NAMES = ("k_a", "k_r", "p", "q", "Gd", "Gr0", "phi_m", "v0", "v1", "E", "g")
#: The order of the array the kernel receives (``g`` travels separately, as a per-cell map).
KERNEL_PARAM_NAMES = OPSIN_PARAM_NAMES[:10]

OPSIN_PARAM_UNITS: Mapping[str, str] = MappingProxyType(
    {
        "k_a": "1/ms",
        "k_r": "1/ms",
        "p": "1",
        "q": "1",
        "Gd": "1/ms",
        "Gr0": "1/ms",
        "phi_m": "photons/(mm^2 s)",
        "v0": "mV",
        "v1": "mV",
        "E": "mV",
        "g": "nS/pF",
    }
)

#: Closed intervals [low, high] accepted for each parameter. Gd > 0 keeps the off time finite, v0 > 0 keeps f_v
#: defined; the other limits are generous physical ranges, not fits.
OPSIN_PARAM_BOUNDS: Mapping[str, tuple[float, float]] = MappingProxyType(
    {
        "k_a": (1e-6, 1e3),
        "k_r": (0.0, 1e2),
        "p": (0.1, 10.0),
        "q": (0.1, 10.0),
        "Gd": (1e-6, 1e3),
        "Gr0": (0.0, 1e1),
        "phi_m": (1e10, 1e22),
        "v0": (1.0, 1e3),
        "v1": (1.0, 1e3),
        "E": (-100.0, 100.0),
        "g": (0.0, 1e3),
    }
)

#: Potential at which f_v is normalised and at which peak and half-maximal currents are quoted (mV).
HOLDING_POTENTIAL_MV = -70.0
#: Bright-light reference at which peak photocurrents are quoted (mW/mm^2 = 1 W/cm^2), *unconfirmed*: the top of a
#: widefield blue-LED range. The fitted CheRiff peak there is within 3 % of its infinite-light limit; the PyRhO
#: ChR2 fit, far less light-sensitive, reaches about 66 % of its limit.
REFERENCE_IRRADIANCE_MW_PER_MM2 = 10.0
#: Length of the light step over which the peak is taken (ms); the peak itself comes within a few ms.
PEAK_PULSE_MS = 100.0

# CheRiff and ChR2 targets: the figures their files (solver/models/presets/opsins/) were fitted to.
#: Irradiance of half-maximal steady photocurrent at -70 mV (mW/mm^2), relative to the infinite-light plateau
#: (Hochbaum et al., Nature Methods 2014; *unconfirmed* working value, MODEL.md section 4).
CHERIFF_TARGET_EC50_STEADY_MW_PER_MM2 = 0.22
#: Time constant of the photocurrent decay after light off (ms).
CHERIFF_TARGET_OFF_TIME_CONSTANT_MS = 16.0
#: Magnitude of the peak photocurrent at the reference irradiance and -70 mV (A/F): 1 nA in a 15 pF cell.
CHERIFF_TARGET_PEAK_PHOTOCURRENT_A_PER_F = 65.0
#: chr2_h134r: magnitude of the peak photocurrent at the reference irradiance and -70 mV (A/F), *unconfirmed*:
#: 0.6 nA in a 15 pF cell, the order of published HEK293 ChR2(H134R) peak currents (several hundred pA to ~1 nA).
CHR2_H134R_REFERENCE_PEAK_PHOTOCURRENT_A_PER_F = 40.0


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def validate_opsin_params(params: Mapping[str, float], *, path: str = "opsin") -> dict[str, float]:
    """Check a complete opsin parameter set against :data:`OPSIN_PARAM_BOUNDS`.

    Parameters
    ----------
    params
        Mapping with every name in :data:`OPSIN_PARAM_NAMES`.
    path
        Field path used in error messages, e.g. ``"opsin.params"``.

    Returns
    -------
    dict
        The parameters as plain floats, in :data:`OPSIN_PARAM_NAMES` order.

    Raises
    ------
    ValueError
        On a missing or unknown name, a non-finite value or a value outside its bounds.
    """
    unknown = [name for name in params if name not in OPSIN_PARAM_NAMES]
    if unknown:
        raise ValueError(f"{path}: unknown opsin parameter {unknown[0]!r}; allowed: {', '.join(OPSIN_PARAM_NAMES)}")
    missing = [name for name in OPSIN_PARAM_NAMES if name not in params]
    if missing:
        raise ValueError(f"{path}: missing opsin parameter(s) {', '.join(missing)}")
    out: dict[str, float] = {}
    for name in OPSIN_PARAM_NAMES:
        out[name] = _check_param(name, params[name], path)
    return out


def _check_param(name: str, value: object, path: str) -> float:
    low, high = OPSIN_PARAM_BOUNDS[name]
    unit = OPSIN_PARAM_UNITS[name]
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{path}.{name} = {value!r} is not a number; allowed range [{_fmt(low)}, {_fmt(high)}] {unit}")
    if not (math.isfinite(x) and low <= x <= high):
        raise ValueError(f"{path}.{name} = {_fmt(x)} is outside the allowed range [{_fmt(low)}, {_fmt(high)}] {unit}")
    return x


@dataclass(frozen=True)
class OpsinPreset:
    """A named opsin: its three-state parameters, action spectrum and provenance (one file of
    ``solver/models/presets/opsins/``).

    Attributes
    ----------
    name
        Preset name, a key of :data:`OPSINS`.
    params
        Every parameter of :data:`OPSIN_PARAM_NAMES` (units in ``units``).
    units
        Unit of each parameter.
    targets
        Named experimental figures the preset was fitted to (empty when it is a published fit taken as is).
    description
        Where the numbers come from.
    spectrum
        ``peak_nm``, ``fwhm_nm``, optional measured ``points`` ((nm, relative action) pairs) and their ``source``
        (:mod:`solver.models.spectra`).
    """

    name: str
    params: Mapping[str, float]
    units: Mapping[str, str] = field(default_factory=lambda: OPSIN_PARAM_UNITS)
    targets: Mapping[str, float] = field(default_factory=dict)
    description: str = ""
    spectrum: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        checked = validate_opsin_params(self.params, path=f"OPSINS[{self.name!r}].params")
        object.__setattr__(self, "params", MappingProxyType(checked))
        object.__setattr__(self, "units", MappingProxyType(dict(self.units)))
        object.__setattr__(self, "targets", MappingProxyType({k: float(v) for k, v in self.targets.items()}))
        object.__setattr__(self, "spectrum", MappingProxyType(dict(self.spectrum)))


def _presets() -> dict[str, OpsinPreset | None]:
    from .presets.opsins import read_opsin_files

    out: dict[str, OpsinPreset | None] = {}
    for name, d in read_opsin_files().items():
        out[name] = OpsinPreset(name=name, params=d["parameters"], targets=d["targets"], description=d["description"],
                                spectrum=d["spectrum"])  # fmt: skip
    out["none"] = None
    return out


#: The opsin presets (the files of solver/models/presets/opsins/), and "none".
OPSINS: dict[str, OpsinPreset | None] = _presets()


def get_opsin(name: str) -> OpsinPreset | None:
    """Return the preset called ``name`` (``None`` for ``"none"``).

    Raises
    ------
    ValueError
        If ``name`` is not a key of :data:`OPSINS`; the message lists the allowed names.
    """
    if not isinstance(name, str) or name not in OPSINS:
        allowed = ", ".join(repr(k) for k in OPSINS)
        raise ValueError(f"opsin = {name!r} is not a known opsin preset; allowed: {allowed}")
    return OPSINS[name]


def opsin_params(
    preset: OpsinPreset | None, overrides: Mapping[str, float] | None = None, *, path: str = "opsin"
) -> dict[str, float]:
    """All eleven parameters of ``preset`` with ``overrides`` applied and checked against the bounds.

    Raises
    ------
    ValueError
        If ``preset`` is None (there are no parameters to take), an override name is unknown or a value is out of
        bounds; the message names the parameter and the allowed names or range.
    """
    if preset is None:
        raise ValueError(f"{path}: the opsin is 'none', which has no parameters to take or override")
    merged = dict(preset.params)
    for name, value in (overrides or {}).items():
        if name not in OPSIN_PARAM_NAMES:
            raise ValueError(
                f"{path}.overrides: unknown opsin parameter {name!r}; allowed: {', '.join(OPSIN_PARAM_NAMES)}"
            )
        merged[name] = value
    return validate_opsin_params(merged, path=path)


def opsin_params_array(preset: OpsinPreset | None, overrides: Mapping[str, float] | None = None) -> np.ndarray:
    """The kernel's parameter vector: ``k_a, k_r, p, q, Gd, Gr0, phi_m, v0, v1, E`` as float64.

    ``g`` may be overridden (it is a known name) but is not part of the vector: the kernel takes it as a per-cell
    map. See :func:`opsin_params` for the errors.
    """
    merged = opsin_params(preset, overrides)
    return np.array([merged[name] for name in KERNEL_PARAM_NAMES], dtype=np.float64)


# --- physics ------------------------------------------------------------------------------------------------------


def irradiance_to_flux(irradiance_mw_per_mm2):
    """Photon flux (photons mm^-2 s^-1) of 470 nm light of the given irradiance (mW/mm^2); ``inf`` passes through."""
    irr = np.asarray(irradiance_mw_per_mm2, dtype=np.float64)
    if np.any(np.isnan(irr)) or np.any(irr < 0):
        raise ValueError(f"irradiance_mw_per_mm2 = {irradiance_mw_per_mm2!r} must be >= 0 mW/mm^2")
    return (irr * PHOTONS_PER_MW_MM2_470NM)[()]


def _hill(phi: np.ndarray, phi_m: float, n: float) -> np.ndarray:
    # phi^n / (phi^n + phi_m^n) written as 1 / (1 + (phi_m/phi)^n): exact at phi = 0 and at phi = inf.
    with np.errstate(divide="ignore"):
        return 1.0 / (1.0 + (phi_m / phi) ** n)


def rates(phi, params: Mapping[str, float]):
    """Light-dependent rates ``(Ga, Gr)`` in 1/ms at photon flux ``phi`` (photons mm^-2 s^-1, ``inf`` allowed)."""
    phi = np.asarray(phi, dtype=np.float64)
    if np.any(np.isnan(phi)) or np.any(phi < 0):
        raise ValueError(f"phi = {phi!r} must be >= 0 photons/(mm^2 s)")
    ga = params["k_a"] * _hill(phi, params["phi_m"], params["p"])
    gr = params["k_r"] * _hill(phi, params["phi_m"], params["q"]) + params["Gr0"]
    return ga[()], gr[()]


def _f_v_raw(v: np.ndarray, params: Mapping[str, float]) -> np.ndarray:
    # (v1/x)(1 - exp(-x/v0)) with x = V - E equals (v1/v0) * expm1(u)/u with u = -x/v0; expm1(u)/u -> 1 at u = 0.
    u = -(np.asarray(v, dtype=np.float64) - params["E"]) / params["v0"]
    small = np.abs(u) < 1e-6
    safe_u = np.where(small, 1.0, u)
    ratio = np.where(small, 1.0 + u / 2.0 + u * u / 6.0, np.expm1(safe_u) / safe_u)
    return params["v1"] / params["v0"] * ratio


def kernel_rates(flux, oparams) -> tuple[np.ndarray, np.ndarray]:
    """:func:`rates` per cell from the kernels' parameter vector (:func:`opsin_params_array`), float64: the
    light-dependent rates every kernel reads (computed on the host, once per light field)."""
    ga, gr = rates(flux, dict(zip(KERNEL_PARAM_NAMES, np.asarray(oparams, dtype=np.float64))))
    return np.asarray(ga, dtype=np.float64), np.asarray(gr, dtype=np.float64)


def kernel_fv_holding(oparams) -> float:
    """The unnormalised rectification at the holding potential, ``f_v``'s divisor, from the kernels' vector."""
    return float(_f_v_raw(HOLDING_POTENTIAL_MV, dict(zip(KERNEL_PARAM_NAMES, np.asarray(oparams, np.float64)))))


def f_v(v, params: Mapping[str, float]):
    """Voltage rectification ``f_v(V)`` (dimensionless), normalised so ``f_v(-70 mV) = 1``; finite at ``V = E``.

    The normalisation divides out ``v1``, so only ``v0`` and ``E`` shape the rectification.
    """
    return (_f_v_raw(v, params) / _f_v_raw(HOLDING_POTENTIAL_MV, params))[()]


def current(o, v, g, params: Mapping[str, float]):
    """Opsin current density ``g * O * f_v(V) * (V - E)`` in A/F (negative = inward).

    Parameters
    ----------
    o
        Open fraction (0..1).
    v
        Membrane potential (mV).
    g
        Conductance density (nS/pF).
    params
        Opsin parameters (``v0``, ``v1``, ``E`` are used).
    """
    v = np.asarray(v, dtype=np.float64)
    return (np.asarray(g) * np.asarray(o) * f_v(v, params) * (v - params["E"]))[()]


def steady_state(phi, params: Mapping[str, float]):
    """Analytic steady state ``(O, D)`` under constant flux ``phi`` (photons mm^-2 s^-1).

    Setting both derivatives to zero gives ``O = Ga Gr / S`` and ``D = Ga Gd / S`` with
    ``S = Gd Gr + Ga Gr + Ga Gd``. In the dark with ``Gr0 = 0`` (S = 0) the dark-adapted state ``(0, 0)`` is returned.
    """
    ga, gr = rates(phi, params)
    gd = params["Gd"]
    s = np.asarray(gd * gr + ga * gr + ga * gd)
    s_safe = np.where(s > 0, s, 1.0)
    o = np.where(s > 0, ga * gr / s_safe, 0.0)
    d = np.where(s > 0, ga * gd / s_safe, 0.0)
    return o[()], d[()]


def steady_photocurrent(irradiance, v, params: Mapping[str, float]):
    """Steady photocurrent (A/F) under constant 470 nm light of ``irradiance`` mW/mm^2 at potential ``v`` (mV).

    Uses ``params["g"]`` as the conductance density.
    """
    o, _ = steady_state(irradiance_to_flux(irradiance), params)
    return current(o, v, params["g"], params)


def _peak_open_fraction(phi: float, params: Mapping[str, float], duration_ms: float) -> tuple[float, float]:
    """Largest O over a light step of ``duration_ms`` from the dark state C = 1: ``(t_peak_ms, O_peak)``."""
    ga, gr = (float(x) for x in rates(phi, params))
    gd = params["Gd"]

    def rhs(_t, y):
        o, d = y
        return [ga * (1.0 - o - d) - gd * o, gd * o - gr * d]

    def do_dt(_t, y):
        return ga * (1.0 - y[0] - y[1]) - gd * y[0]

    do_dt.direction = -1.0  # dO/dt crossing from + to -: a maximum of O
    sol = solve_ivp(rhs, (0.0, duration_ms), [0.0, 0.0], method="Radau", rtol=1e-10, atol=1e-13, events=do_dt)
    # The first maximum of a damped linear 2-state response from rest is its largest; otherwise O still rises at
    # the end of the step.
    candidates = [(float(sol.t[-1]), float(sol.y[0, -1]))]
    candidates += [(float(t), float(y[0])) for t, y in zip(sol.t_events[0], sol.y_events[0])]
    return max(candidates, key=lambda tc: tc[1])


def peak_photocurrent(irradiance, v, params: Mapping[str, float], *, duration_ms: float) -> float:
    """Peak photocurrent (A/F, signed) of a light step from the dark-adapted state (C = 1).

    Integrates the three-state ODE (scipy Radau, tight tolerances) at constant ``irradiance`` (mW/mm^2, ``inf``
    allowed) for ``duration_ms`` and returns the current at the largest open fraction, at clamped ``v`` (mV).
    """
    if not (math.isfinite(duration_ms) and duration_ms > 0):
        raise ValueError(f"duration_ms = {duration_ms!r} must be a finite number > 0 ms")
    _, o_peak = _peak_open_fraction(float(irradiance_to_flux(irradiance)), params, float(duration_ms))
    return float(current(o_peak, v, params["g"], params))


def off_time_constant(params: Mapping[str, float]) -> float:
    """Time constant (ms) of the photocurrent decay after light off.

    In the dark ``Ga = 0`` exactly, so ``dO/dt = -Gd O``: O decays as a single exponential with time constant
    ``1/Gd`` whatever the prior light (D recovers separately at ``Gr0`` and does not feed O).
    """
    return 1.0 / params["Gd"]


def ec50_steady(params: Mapping[str, float]) -> float:
    """Irradiance (mW/mm^2) of half-maximal steady photocurrent at -70 mV.

    Half of the infinite-light plateau ``O(phi -> inf)`` (``Ga = k_a``, ``Gr = k_r + Gr0``); steady O rises
    monotonically with light, so the root is unique. At fixed V the current is proportional to O, so the holding
    potential does not enter.
    """
    o_max, _ = steady_state(np.inf, params)
    half = 0.5 * float(o_max)

    def excess(log10_irradiance: float) -> float:
        return float(steady_state(irradiance_to_flux(10.0**log10_irradiance), params)[0]) - half

    return 10.0 ** brentq(excess, -15.0, 20.0, xtol=1e-13, rtol=1e-13)
