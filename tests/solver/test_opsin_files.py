"""The opsin presets are data: one file each in solver/models/presets/opsins/, checked when read."""

from __future__ import annotations

import json

import pytest

from solver.models import opsin, spectra
from solver.models.presets.opsins import OPSIN_DIR, OpsinFileError, read_opsin_files


def test_every_file_is_a_preset_with_its_spectrum():
    files = sorted(p.stem for p in OPSIN_DIR.glob("*.json"))
    assert files == ["cheriff", "chr2_h134r"]
    assert sorted(opsin.OPSINS) == sorted(files + ["none"])
    assert opsin.OPSINS["cheriff"].targets["off_time_constant_ms"] == opsin.CHERIFF_TARGET_OFF_TIME_CONSTANT_MS
    # the published ChR2 point at 520 nm (0.22 of the peak) times the photons per mW (520/470), over 470 nm's 1.0
    assert spectra.relative_drive("chr2_h134r", 520.0) == pytest.approx(0.22 * 520.0 / 470.0, rel=1e-12)
    # CheRiff: a Gaussian of FWHM 100 nm about 460 nm; at 510 nm (half a width off the peak) half the peak action
    expected = (510.0 / 470.0) * 0.5 / 2.0 ** (-(10.0 / 50.0) ** 2)
    assert spectra.relative_drive("cheriff", 510.0) == pytest.approx(expected, rel=1e-12)


_GTACR = {
    "name": "gtacr1_like", "kinetics": "three_state", "description": "an inhibitory chloride channel, for the test",
    "parameters": {"k_a": 2.0, "k_r": 0.05, "p": 1.0, "q": 0.5, "Gd": 0.02, "Gr0": 0.001, "phi_m": 1e16,
                   "v0": 43.0, "v1": 17.1, "E": -60.0, "g": 0.5},
    "spectrum": {"peak_nm": 515.0, "fwhm_nm": 110.0},
}


def test_an_opsin_is_one_file(tmp_path):
    """A file added to a folder is a preset: read, its parameters checked, its photocurrent reverses at its E."""
    (tmp_path / "gtacr1_like.json").write_text(json.dumps(_GTACR))
    d = read_opsin_files(tmp_path)["gtacr1_like"]
    preset = opsin.OpsinPreset(name="gtacr1_like", params=d["parameters"], spectrum=d["spectrum"])
    params = dict(preset.params)
    assert opsin.steady_photocurrent(1.0, -60.0, params) == 0.0
    assert opsin.steady_photocurrent(1.0, -30.0, params) > 0.0  # outward above E: it inhibits


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(kinetics="four_state"), "gtacr1_like.json.kinetics: 'four_state'; allowed: three_state"),
        (lambda d: d.update(name="other"), "gtacr1_like.json.name: 'other'; allowed: 'gtacr1_like', the file's stem"),
        (lambda d: d["parameters"].update(Gd="fast"), "gtacr1_like.json.parameters.Gd: 'fast'; allowed: a finite number"),
        (lambda d: d["spectrum"].update(fwhm_nm=0), "gtacr1_like.json.spectrum.fwhm_nm: 0; allowed: a positive number"),
        (lambda d: d["spectrum"].update(points=[[500, 1.0], [480, 0.5]]),
         "gtacr1_like.json.spectrum.points: wavelengths must increase"),
        (lambda d: d.update(colour="green"), "gtacr1_like.json: unknown field 'colour'"),
    ],
)
def test_a_malformed_file_is_refused_naming_the_field(tmp_path, change, message):
    d = json.loads(json.dumps(_GTACR))
    change(d)
    (tmp_path / "gtacr1_like.json").write_text(json.dumps(d))
    with pytest.raises(OpsinFileError) as err:
        read_opsin_files(tmp_path)
    assert message in str(err.value)


def test_a_parameter_out_of_its_bounds_is_refused_naming_it(tmp_path):
    d = json.loads(json.dumps(_GTACR))
    d["parameters"]["v0"] = 0.0
    (tmp_path / "gtacr1_like.json").write_text(json.dumps(d))
    read = read_opsin_files(tmp_path)["gtacr1_like"]
    with pytest.raises(ValueError, match=r"v0 = 0 is outside the allowed range \[1, 1000\] mV"):
        opsin.OpsinPreset(name="gtacr1_like", params=read["parameters"])
