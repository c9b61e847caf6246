"""Fit the ``cheriff`` opsin preset (and the ``chr2_h134r`` conductance) to their named targets.

Run ``python -m solver.fitting.fit_cheriff``; it prints the fitted parameters, ready to paste into
``solver/models/presets/opsins/cheriff.json``, and how each target is met.

The PyRhO three-state ChR2 fit is rescaled, one parameter per target, each solved with ``scipy.optimize.brentq``
(deterministic, no random start):

1. ``Gd`` from the off time constant: after light off ``Ga = 0`` and O decays with ``1/Gd``.
2. ``phi_m`` from the half-maximal steady irradiance (``Gd`` fixed); the EC50 scales monotonically with ``phi_m``.
3. ``g`` from the peak photocurrent at the reference irradiance and -70 mV (the current is linear in ``g``).

The kinetic shape (``k_a``, ``k_r``, ``p``, ``q``, ``Gr0``) and the rectification (``v0``, ``v1``, ``E``) are
ChR2's: CheRiff's published figures do not constrain them.
"""

from __future__ import annotations

from collections.abc import Mapping

from scipy.optimize import brentq

from solver.models.opsin import (
    CHERIFF_TARGET_EC50_STEADY_MW_PER_MM2,
    CHERIFF_TARGET_OFF_TIME_CONSTANT_MS,
    CHERIFF_TARGET_PEAK_PHOTOCURRENT_A_PER_F,
    CHR2_H134R_REFERENCE_PEAK_PHOTOCURRENT_A_PER_F,
    HOLDING_POTENTIAL_MV,
    OPSIN_PARAM_NAMES,
    OPSINS,
    PEAK_PULSE_MS,
    REFERENCE_IRRADIANCE_MW_PER_MM2,
    ec50_steady,
    off_time_constant,
    peak_photocurrent,
)

__all__ = ["fit_cheriff", "fit_g_for_peak", "main", "target_report"]


def _chr2_params() -> dict[str, float]:
    """The PyRhO ChR2 fit (the ``chr2_h134r`` preset) that the CheRiff fit starts from."""
    preset = OPSINS["chr2_h134r"]
    assert preset is not None
    return dict(preset.params)


def fit_g_for_peak(params: Mapping[str, float], peak_a_per_f: float) -> float:
    """Conductance density (nS/pF) that gives a peak photocurrent of magnitude ``peak_a_per_f`` (A/F).

    Evaluated at :data:`REFERENCE_IRRADIANCE_MW_PER_MM2`, :data:`HOLDING_POTENTIAL_MV`, over :data:`PEAK_PULSE_MS`.
    """

    def peak_error(g: float) -> float:
        trial = {**params, "g": g}
        peak = peak_photocurrent(
            REFERENCE_IRRADIANCE_MW_PER_MM2, HOLDING_POTENTIAL_MV, trial, duration_ms=PEAK_PULSE_MS
        )
        return abs(peak) - peak_a_per_f

    return brentq(peak_error, 1e-6, 1e3, xtol=1e-12, rtol=1e-12)


def fit_cheriff() -> dict[str, float]:
    """Fit the CheRiff preset; returns all parameters of :data:`~solver.models.opsin.OPSIN_PARAM_NAMES`."""
    params = _chr2_params()

    params["Gd"] = brentq(
        lambda gd: off_time_constant({**params, "Gd": gd}) - CHERIFF_TARGET_OFF_TIME_CONSTANT_MS,
        1e-4,
        1e2,
        xtol=1e-14,
        rtol=1e-14,
    )

    def log_ec50_error(log10_phi_m: float) -> float:
        return ec50_steady({**params, "phi_m": 10.0**log10_phi_m}) / CHERIFF_TARGET_EC50_STEADY_MW_PER_MM2 - 1.0

    params["phi_m"] = 10.0 ** brentq(log_ec50_error, 12.0, 20.0, xtol=1e-13, rtol=1e-13)
    params["g"] = fit_g_for_peak(params, CHERIFF_TARGET_PEAK_PHOTOCURRENT_A_PER_F)
    return {name: float(params[name]) for name in OPSIN_PARAM_NAMES}


def target_report(params: Mapping[str, float]) -> list[tuple[str, float, float]]:
    """``(target name, achieved, target)`` for each CheRiff target."""
    peak = peak_photocurrent(REFERENCE_IRRADIANCE_MW_PER_MM2, HOLDING_POTENTIAL_MV, params, duration_ms=PEAK_PULSE_MS)
    return [
        ("ec50_steady_mw_per_mm2", ec50_steady(params), CHERIFF_TARGET_EC50_STEADY_MW_PER_MM2),
        ("off_time_constant_ms", off_time_constant(params), CHERIFF_TARGET_OFF_TIME_CONSTANT_MS),
        ("peak_photocurrent_a_per_f", abs(peak), CHERIFF_TARGET_PEAK_PHOTOCURRENT_A_PER_F),
    ]


def _round(x: float) -> float:
    return float(f"{x:.6g}")


def main() -> None:
    """Print the fitted CheRiff parameters, how the targets are met, and the chr2_h134r conductance."""
    fitted = {name: _round(value) for name, value in fit_cheriff().items()}
    print("cheriff parameters, 6 significant figures (paste into solver/models/presets/opsins/cheriff.json):")
    print("    params={")
    for name in OPSIN_PARAM_NAMES:
        print(f'        "{name}": {fitted[name]!r},')
    print("    },")
    print(
        f"targets (unconfirmed) met by the rounded parameters; peak at {REFERENCE_IRRADIANCE_MW_PER_MM2:g} mW/mm^2, "
        f"{HOLDING_POTENTIAL_MV:g} mV, {PEAK_PULSE_MS:g} ms step:"
    )
    for name, achieved, target in target_report(fitted):
        error = achieved / target - 1.0
        print(f"    {name:28s} achieved {achieved:10.6g}   target {target:8.4g}   (relative error {error:+.1e})")
    g_chr2 = _round(fit_g_for_peak(_chr2_params(), CHR2_H134R_REFERENCE_PEAK_PHOTOCURRENT_A_PER_F))
    print(
        f"chr2_h134r g = {g_chr2!r} nS/pF for a peak of {CHR2_H134R_REFERENCE_PEAK_PHOTOCURRENT_A_PER_F:g} A/F "
        f"at {REFERENCE_IRRADIANCE_MW_PER_MM2:g} mW/mm^2, {HOLDING_POTENTIAL_MV:g} mV"
    )


if __name__ == "__main__":
    main()
