"""Wavelength: the opsins' action spectra against their published peaks, and the drive of a stimulus."""
from __future__ import annotations

import numpy as np
import pytest

import solver
from solver.models.spectra import ACTION_SPECTRA, MEASURED_SPECTRA, action_spectrum, relative_drive
from tests.specs import small_hek_spec

PUBLISHED_PEAK_NM = {"cheriff": 460.0, "chr2_h134r": 470.0}  # Hochbaum 2014; Nagel 2003 / Lin 2011


@pytest.mark.parametrize("opsin", sorted(PUBLISHED_PEAK_NM))
def test_action_spectrum_peaks_at_the_published_wavelength(opsin):
    lam = np.arange(380.0, 700.0, 0.5)
    s = action_spectrum(opsin, lam)
    assert lam[np.argmax(s)] == PUBLISHED_PEAK_NM[opsin] and s.max() == pytest.approx(1.0)
    peak, fwhm = ACTION_SPECTRA[opsin]
    assert relative_drive(opsin, 470.0) == pytest.approx(1.0, rel=1e-12)
    assert relative_drive(opsin, 640.0) < 1e-2  # red imaging light barely drives a blue opsin
    if opsin in MEASURED_SPECTRA:
        return
    assert action_spectrum(opsin, peak - fwhm / 2) == pytest.approx(0.5, rel=1e-9)
    assert action_spectrum(opsin, peak + fwhm / 2) == pytest.approx(0.5, rel=1e-9)
    # photons per mW grow with the wavelength: at the peak's mirror image the action is equal,
    # the drive is not
    assert relative_drive(opsin, peak + 30) / relative_drive(opsin, peak - 30) == pytest.approx((peak + 30) / (peak - 30))


def test_chr2_follows_nagels_published_spectrum():
    """Nagel 2003 Fig. 4a (digitised): half maximum near 411 and 504 nm, the red side steeper; the
    spectrum is continuous where the measured points end and falls on beyond them."""
    lam = np.arange(380.0, 620.0, 0.25)
    s = action_spectrum("chr2_h134r", lam)
    above = lam[s >= 0.5]
    assert abs(above[0] - 411.4) < 1.0 and abs(above[-1] - 504.0) < 1.0
    assert 470.0 - above[0] > 1.5 * (above[-1] - 470.0)  # not symmetric: the blue side is wider
    assert action_spectrum("chr2_h134r", 520.0) == pytest.approx(0.22)  # a published point
    for edge in (400.0, 560.0):
        assert action_spectrum("chr2_h134r", edge - 1e-9) == pytest.approx(action_spectrum("chr2_h134r", edge + 1e-9),
                                                                           rel=1e-6)  # fmt: skip
    assert np.all(np.diff(s[lam > 473.0]) <= 0) and np.all(np.diff(s[lam < 470.0]) >= 0)


def _opsin_state(wavelength_nm: float, irradiance: float) -> np.ndarray:
    spec = small_hek_spec(numerics={"dt_ms": 0.02, "duration_ms": 2.0})
    spec["light"][0]["irradiance_mw_per_mm2"] = irradiance
    spec["light"][0]["wavelength_nm"] = wavelength_nm
    p = solver.prepare(spec)
    return solver.advance(p, solver.initial_state(p), p.n_steps).y[9]


def test_a_stimulus_off_the_peak_drives_cheriff_as_the_spectrum_says():
    """Green light at 1 mW/mm² opens CheRiff exactly as relative_drive(560) mW/mm² of 470 nm light."""
    green = _opsin_state(560.0, 1.0)
    equivalent = _opsin_state(470.0, float(relative_drive("cheriff", 560.0)))
    blue = _opsin_state(470.0, 1.0)
    assert np.allclose(green, equivalent, rtol=1e-12, atol=1e-15)
    assert green.max() < 0.5 * blue.max()  # and it is a real reduction


def test_imaging_light_crosstalk_follows_the_spectrum():
    spec = small_hek_spec()
    spec["readout"] = {"enabled": True, "camera": {"crosstalk_fraction": 1.0, "imaging_irradiance_mw_per_mm2": 10.0,
                                                   "imaging_wavelength_nm": 640.0}}
    p = solver.prepare(spec)
    dark = p.opsin_irradiance(np.zeros(len(spec["light"])))
    assert np.allclose(dark, 10.0 * relative_drive("cheriff", 640.0))
    assert np.allclose(p.irradiance(np.zeros(1)), 10.0)  # the recorded irradiance is what reaches the sample


def test_wavelength_out_of_range_is_rejected_naming_the_field():
    spec = small_hek_spec()
    spec["light"][0]["wavelength_nm"] = 900.0
    with pytest.raises(solver.SpecError, match=r"light\[0\]\.wavelength_nm: 900\.0 is not allowed; must be <= 750 nm"):
        solver.prepare(spec)


def test_a_spec_brings_its_own_spectrum():
    """opsin.spectrum replaces the preset's (measured points too) by a Gaussian about its peak: the drive of
    light at λ is (λ / 470) · G(λ) / G(470), G the Gaussian of that peak and width (computed here), and a
    red-shifted opsin's green light then opens it as that much 470 nm light would."""
    spec = small_hek_spec()
    spec["opsin"] = {"preset": "chr2_h134r", "spectrum": {"peak_nm": 560.0, "fwhm_nm": 120.0}}
    spec["light"][0]["wavelength_nm"] = 560.0
    p = solver.prepare(spec)
    sigma = 120.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    want = (560.0 / 470.0) / np.exp(-0.5 * ((470.0 - 560.0) / sigma) ** 2)
    assert p.light_drive[0] == pytest.approx(want, rel=1e-12)
    assert relative_drive("chr2_h134r", 560.0) < 0.2 < 1.0 < want  # the preset's spectrum is not used
    assert p.opsin_spectrum == (560.0, 120.0)
    default = solver.prepare(small_hek_spec())
    assert default.opsin_spectrum is None and default.light_drive[0] == pytest.approx(1.0)


@pytest.mark.parametrize(("spectrum", "message"), [
    ({"peak_nm": 900.0, "fwhm_nm": 100.0}, r"opsin\.spectrum\.peak_nm: 900\.0 is not allowed; must be <= 750 nm"),
    ({"peak_nm": 520.0, "fwhm_nm": 0.0}, r"opsin\.spectrum\.fwhm_nm: 0\.0 is not allowed; must be >= 10 nm"),
])
def test_a_bad_spectrum_is_rejected_naming_the_field(spectrum, message):
    spec = small_hek_spec()
    spec["opsin"] = {"preset": "cheriff", "spectrum": spectrum}
    with pytest.raises(solver.SpecError, match=message):
        solver.prepare(spec)
    spec["opsin"] = {"preset": "none", "spectrum": {"peak_nm": 520.0, "fwhm_nm": 100.0}}
    with pytest.raises(solver.SpecError, match=r"opsin\.spectrum: is given but the opsin is 'none'"):
        solver.prepare(spec)
