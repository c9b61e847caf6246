"""Action spectra of the opsins: how strongly light of a wavelength drives them, relative to 470 nm.

The opsin presets are calibrated with 470 nm light (``opsin.irradiance_to_flux``); light of another
wavelength drives an opsin as ``relative_drive(λ)`` times as much 470 nm light would, from two factors:
the action spectrum per photon, a Gaussian in wavelength about the published peak with the published
full width at half maximum, and the photons per mW, which grow as λ/470 nm.

Published figures (the widths are read off the published spectra, *unconfirmed* to better than
±10 nm; the tails beyond ~1.5 widths of a real spectrum are not Gaussian, so treat far-off figures as
order-of-magnitude):

- CheRiff: peak 460 nm (Hochbaum et al., Nature Methods 11:825, 2014, Fig. 1: action spectrum in HEK
  cells); FWHM about 100 nm; its drive by 640 nm imaging light is small but not zero.
- ChR2 (H134R): peak 470 nm (Nagel et al., PNAS 100:13940, 2003; Lin, Exp. Physiol. 96:19, 2011,
  Table 1); FWHM about 110 nm.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["REFERENCE_WAVELENGTH_NM", "ACTION_SPECTRA", "action_spectrum", "relative_drive"]

#: The wavelength the opsin presets are calibrated at (nm).
REFERENCE_WAVELENGTH_NM = 470.0

#: Opsin preset -> (peak nm, full width at half maximum nm), with the sources above.
ACTION_SPECTRA = {"cheriff": (460.0, 100.0), "chr2_h134r": (470.0, 110.0)}


def action_spectrum(opsin: str, wavelength_nm):
    """Action per photon at ``wavelength_nm``, 1 at the opsin's peak (Gaussian in wavelength)."""
    if opsin not in ACTION_SPECTRA:
        raise ValueError(f"no action spectrum for opsin {opsin!r}; known: {', '.join(sorted(ACTION_SPECTRA))}")
    peak, fwhm = ACTION_SPECTRA[opsin]
    sigma = fwhm / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    lam = np.asarray(wavelength_nm, dtype=np.float64)
    return np.exp(-0.5 * ((lam - peak) / sigma) ** 2)[()]


def relative_drive(opsin: str, wavelength_nm) -> float:
    """Drive of 1 mW/mm² at ``wavelength_nm`` over that of 1 mW/mm² at 470 nm (photons × action)."""
    lam = np.asarray(wavelength_nm, dtype=np.float64)
    ratio = (lam / REFERENCE_WAVELENGTH_NM) * action_spectrum(opsin, lam) / action_spectrum(opsin,
                                                                                      REFERENCE_WAVELENGTH_NM)
    return ratio[()]
