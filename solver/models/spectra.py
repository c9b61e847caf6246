"""Action spectra of the opsins: how strongly light of a wavelength drives them, relative to 470 nm.

The opsin presets are calibrated with 470 nm light (``opsin.irradiance_to_flux``); light of another
wavelength drives an opsin as ``relative_drive(λ)`` times as much 470 nm light would, from two factors:
the action spectrum per photon (published points where held, else a Gaussian in wavelength about the
published peak with the published full width at half maximum), and the photons per mW, which grow as
λ/470 nm.

Published figures:

- CheRiff: peak 460 nm (Hochbaum et al., Nature Methods 11:825, 2014, doi 10.1038/nmeth.3000, Fig. 1:
  action spectrum in HEK cells); FWHM about 100 nm, *unconfirmed*: the paper's abstract (the text
  found) says only that CheRiff is blue-excited and spectrally orthogonal to the red-excited QuasArs;
  the width was read off the figure and is not checked to better than ±10 nm. Its drive by 640 nm
  imaging light is small but not zero.
- ChR2: Nagel et al., PNAS 100:13940, 2003, Fig. 4a, the action spectrum of wild-type ChR2 (as
  digitised in the Cleo simulator, siplab-gt/cleo, ``cleo/opto/opsin_library.py``): peak 470 nm,
  half maximum at about 411 and 504 nm (FWHM about 93 nm), not symmetric: the red side falls twice
  as fast. ``chr2_h134r`` uses these points (:data:`MEASURED_SPECTRA`, linear between them), taking
  the H134R mutant to share the wild type's spectrum (Lin, Exp. Physiol. 96:19, 2011, Table 1, gives
  the same peak); beyond the measured range a Gaussian tail of that width continues it.

Each opsin's figures are held in its file (``solver/models/presets/opsins/<name>.json``, ``spectrum``).

Where no measured points are held, the spectrum is a Gaussian in wavelength about the published
peak; tails beyond ~1.5 widths of a real spectrum are not Gaussian, so treat far-off figures as
order-of-magnitude.
"""

from __future__ import annotations

import math

import numpy as np

from .opsin import OPSINS

__all__ = ["REFERENCE_WAVELENGTH_NM", "ACTION_SPECTRA", "MEASURED_SPECTRA", "action_spectrum", "relative_drive"]

#: The wavelength the opsin presets are calibrated at (nm).
REFERENCE_WAVELENGTH_NM = 470.0

#: Opsin preset -> (peak nm, full width at half maximum nm): each preset's file (solver/models/presets/opsins/).
ACTION_SPECTRA: dict[str, tuple[float, float]] = {}
#: Opsin preset -> published action spectrum, (nm, action relative to the peak) pairs, where its file holds them.
MEASURED_SPECTRA: dict[str, tuple[tuple[float, float], ...]] = {}
for _name, _preset in OPSINS.items():
    if _preset is not None:
        ACTION_SPECTRA[_name] = (_preset.spectrum["peak_nm"], _preset.spectrum["fwhm_nm"])
        if "points" in _preset.spectrum:
            MEASURED_SPECTRA[_name] = _preset.spectrum["points"]


def action_spectrum(opsin: str, wavelength_nm, spectrum: tuple[float, float] | None = None):
    """Action per photon at ``wavelength_nm``, 1 at the opsin's peak (Gaussian in wavelength); ``spectrum``
    ``(peak nm, FWHM nm)`` replaces the preset's (its measured points too)."""
    if spectrum is None and opsin not in ACTION_SPECTRA:
        raise ValueError(f"no action spectrum for opsin {opsin!r}; known: {', '.join(sorted(ACTION_SPECTRA))}")
    peak, fwhm = ACTION_SPECTRA[opsin] if spectrum is None else spectrum
    sigma = fwhm / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    lam = np.asarray(wavelength_nm, dtype=np.float64)

    def gauss(x):
        return np.exp(-0.5 * ((x - peak) / sigma) ** 2)

    points = MEASURED_SPECTRA.get(opsin) if spectrum is None else None
    if points is None:
        return gauss(lam)[()]
    x, y = np.array(points).T
    inside = np.interp(lam, x, y)
    # beyond the measured range: the Gaussian's fall, from the last measured point on
    below = y[0] * gauss(lam) / gauss(x[0])
    above = y[-1] * gauss(lam) / gauss(x[-1])
    return np.where(lam < x[0], below, np.where(lam > x[-1], above, inside))[()]


def relative_drive(opsin: str, wavelength_nm, spectrum: tuple[float, float] | None = None) -> float:
    """Drive of 1 mW/mm² at ``wavelength_nm`` over that of 1 mW/mm² at 470 nm (photons × action); ``spectrum``
    as :func:`action_spectrum`."""
    lam = np.asarray(wavelength_nm, dtype=np.float64)
    ratio = (lam / REFERENCE_WAVELENGTH_NM) * (action_spectrum(opsin, lam, spectrum)
                                               / action_spectrum(opsin, REFERENCE_WAVELENGTH_NM, spectrum))
    return ratio[()]
