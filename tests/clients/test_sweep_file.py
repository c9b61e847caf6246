"""A sweep file read here and sent to a server: the same checks, the same answer, nothing silently defaulted."""
from __future__ import annotations

import json

import pytest

from clients.cli import main
from clients.client import spec_message
from clients.sweep_file import SweepFileError, sweep_message
from service.convert import sweep_dict
from service.server import embedded
from service.sweep import load_sweep
from tests.service.test_server import ALICE, TOKENS

BASE = {"grid": {"nx": 8, "ny": 4, "dx_um": 0.5}, "tissue": {"model": {"preset": "nagumo"}},
        "coupling": {"diffusivity_um2_per_ms": 1.0}, "numerics": {"dt_ms": 0.02, "duration_ms": 1.0}}


def _sweep(**over) -> dict:
    return {"name": "d", "base": BASE, "axes": [{"path": "coupling.diffusivity_um2_per_ms", "values": [1.0, 2.0]},
                                               {"path": "numerics.duration_ms", "linspace": {"start": 1, "stop": 2,
                                                                                             "num": 3}}],
            "combine": "product", "metrics": ["propagated"], **over}


def test_a_misspelt_combine_is_refused_here_and_with_server_alike(tmp_path, capsys):
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps(_sweep(combine="prodcut")))
    expected = "combine: 'prodcut' is not allowed (did you mean 'product'?); allowed: product, zip"
    assert main(["sweep", str(path), "-o", str(tmp_path / "here.zarr")]) == 1
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "here.zarr").exists()
    with embedded(tmp_path / "data", workers=0, tokens=TOKENS) as address:
        assert main(["sweep", str(path), "-o", str(tmp_path / "there.zarr"), "--server", address, "--token",
                     ALICE]) == 1
        assert expected in capsys.readouterr().err
    assert not (tmp_path / "there.zarr").exists()
    assert not any((tmp_path / "data" / "sweeps").glob("*"))      # nothing reached the server


def test_every_problem_of_a_sweep_file_at_once():
    bad = _sweep(combine="zipp", analysis={"threshold": 0.5})
    bad["axes"][0]["valeus"] = bad["axes"][0].pop("values")
    bad["axes"][1]["linspace"]["num"] = -3
    with pytest.raises(SweepFileError) as info:
        sweep_message(bad)
    found = dict(info.value.violations)
    assert found["combine"] == "'zipp' is not allowed (did you mean 'zip'?); allowed: product, zip"
    assert found["axes[0].valeus"].startswith("unknown field 'valeus' (did you mean 'values'?)")
    assert found["axes[1].linspace.num"].startswith("-3 is not allowed; must be a whole number from 1")
    assert "run this sweep here with 'optowave sweep" in found["analysis"]


def test_the_message_reads_back_as_the_same_sweep():
    """File -> SweepSpec -> the server's reading gives the sweep the local reading gives: same axes, values,
    combination and metrics."""
    sweep = _sweep(combine="zip", axes=[{"path": "coupling.diffusivity_um2_per_ms", "values": [1.0, 2.0, 3.0]},
                                        {"path": "numerics.duration_ms", "linspace": {"start": 1, "stop": 2,
                                                                                      "num": 3}}])
    msg = sweep_message(sweep, spec_message=spec_message)
    here, there = load_sweep(sweep), load_sweep(sweep_dict(msg))
    assert there.combine == here.combine == "zip" and there.n_runs == here.n_runs == 3
    assert [a.values for a in there.axes] == [a.values for a in here.axes] == [(1.0, 2.0, 3.0), (1.0, 1.5, 2.0)]
    assert [m.name for m in there.metrics] == [m.name for m in here.metrics] == ["propagated"]
