"""Sweep and design files read here and sent to a server: one reading (optowave.files), the same answer,
nothing silently defaulted. A real server on loopback; nothing bad reaches it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from clients.cli import main
from clients.client import sweep_message
from optowave.files import FileError
from service.server import embedded
from service.sweep import SweepSpecError, load_sweep
from tests.service.test_server import ALICE, TOKENS

ROOT = Path(__file__).resolve().parents[2]
BASE = {"grid": {"nx": 8, "ny": 4, "dx_um": 0.5}, "tissue": {"model": {"preset": "nagumo"}},
        "coupling": {"diffusivity_um2_per_ms": 1.0}, "numerics": {"dt_ms": 0.02, "duration_ms": 1.0}}


def _sweep(**over) -> dict:
    return {"name": "d", "base": BASE, "axes": [{"path": "coupling.diffusivity_um2_per_ms", "values": [1.0, 2.0]},
                                               {"path": "numerics.duration_ms", "linspace": {"start": 1, "stop": 2,
                                                                                             "num": 3}}],
            "combine": "product", "metrics": ["propagated"], **over}


def _refused_here_and_there(tmp_path, capsys, command: str, doc: dict, server: str) -> tuple[str, str]:
    """stderr of ``optowave COMMAND FILE`` here and with ``--server``, each exiting 1 and writing nothing."""
    path = tmp_path / f"{command}.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert main([command, str(path), "-o", str(tmp_path / "here")]) == 1
    here = capsys.readouterr().err
    assert main([command, str(path), "-o", str(tmp_path / "there"), "--server", server, "--token", ALICE]) == 1
    there = capsys.readouterr().err
    assert not (tmp_path / "here").exists() and not (tmp_path / "there").exists()
    return here, there


def test_bad_files_are_refused_with_the_same_message_here_and_through_a_server(tmp_path, capsys):
    sweep = _sweep(combine="prodcut", keep_feilds=True)
    sweep["axes"][1]["linspace"]["num"] = -3
    design = {"base": BASE, "search": "treshold", "parameter": "coupling.diffusivity_um2_per_ms",
              "range": [0.5, 2], "scale": "lin"}
    with embedded(tmp_path / "data", workers=0, tokens=TOKENS) as address:
        here, there = _refused_here_and_there(tmp_path, capsys, "sweep", sweep, address)
        d_here, d_there = _refused_here_and_there(tmp_path, capsys, "design", design, address)
    assert here == there and d_here == d_there
    assert "invalid sweep spec (3 problems):" in here
    assert "combine: 'prodcut' is not allowed (did you mean 'product'?); allowed: product, zip" in here
    assert "keep_feilds: unknown field 'keep_feilds' (did you mean 'keep_fields'?)" in here
    assert "axes[1].linspace.num: -3 is not allowed; must be a whole number >= 1" in here
    assert "invalid design (2 problems):" in d_here
    assert "search: 'treshold' is not allowed (did you mean 'threshold'?)" in d_here
    assert "scale: 'lin' is not allowed (did you mean 'linear'?); allowed: log, linear" in d_here
    assert "Traceback" not in here + d_here
    assert not any((tmp_path / "data" / "sweeps").glob("*"))      # nothing reached the server
    assert not any((tmp_path / "data" / "designs").glob("*"))


def test_a_misspelt_combine_is_never_silently_product(tmp_path):
    """The bug this reading fixes: a server once got ``combine: prodcut`` as the default product."""
    with pytest.raises(FileError, match="did you mean 'product'"):
        sweep_message(_sweep(combine="prodcut"))
    with pytest.raises(SweepSpecError, match="did you mean 'product'"):
        load_sweep(_sweep(combine="prodcut"))


def test_schema_and_sweep_problems_are_reported_together_here():
    bad = _sweep(combine="zipp", analysis={"treshold": 0.5})
    bad["axes"][0]["valeus"] = bad["axes"][0].pop("values")
    bad["axes"][1]["path"] = "numerics.durration_ms"
    with pytest.raises(SweepSpecError) as info:
        load_sweep(bad)
    found = {v.field: v.description for v in info.value.violations}
    assert found["combine"] == "'zipp' is not allowed (did you mean 'zip'?); allowed: product, zip"
    assert found["axes[0].valeus"].startswith("unknown field 'valeus' (did you mean 'values'?)")
    assert found["analysis.treshold"].startswith("unknown option (did you mean 'threshold'?)")
    assert found["axes[1].path"].startswith("unknown parameter path: numerics.durration_ms: Numerics has no field "
                                            "'durration_ms' (did you mean 'duration_ms'?); allowed: ")
    assert set(found) == {"combine", "axes[0].valeus", "analysis.treshold", "axes[1].path"}, found


def test_the_message_reads_back_as_the_same_sweep(tmp_path):
    """File -> SweepSpec -> the server's reading gives the sweep the local reading gives: same axes, names,
    values, combination, metrics and analysis options (fields a server's sweeps once could not carry)."""
    sweep = _sweep(combine="zip", zip_dim="point", analysis={"threshold": 0.4},
                   axes=[{"path": "coupling.diffusivity_um2_per_ms", "values": [1.0, 2.0, 3.0], "name": "D"},
                         {"path": "numerics.duration_ms", "linspace": {"start": 1, "stop": 2, "num": 3}}],
                   metrics=["propagated", {"name": "activation_time", "points_um": [[1, 1]]}])
    (tmp_path / "s.json").write_text(json.dumps(sweep))
    here, there = load_sweep(tmp_path / "s.json"), load_sweep(sweep_message(tmp_path / "s.json"))
    assert there.json == here.json
    assert there.dims == ("point",) and there.n_runs == 3 and there.analysis == {"threshold": 0.4}
    assert [a.name for a in there.axes] == ["D", "duration_ms"]
    assert [a.values for a in there.axes] == [(1.0, 2.0, 3.0), (1.0, 1.5, 2.0)]
    assert [m.to_json() for m in there.metrics] == [{"name": "propagated"},
                                                    {"name": "activation_time", "points_um": [[1.0, 1.0]]}]


def test_schema_and_design_problems_are_reported_together_here():
    from solver.design import DesignSpecError, load_design

    bad = {"base": BASE, "search": "threshold", "parameter": "coupling.diffusivity_um2_per_ms", "range": [2, 0.5],
           "protocol": "pacin", "scale": "lin", "criterion": "propagted >= 1", "toleranse": 0.1}
    with pytest.raises(DesignSpecError) as info:
        load_design(bad)
    found = {v.field: v.description for v in info.value.violations}
    assert found["scale"] == "'lin' is not allowed (did you mean 'linear'?); allowed: log, linear"
    assert found["toleranse"].startswith("unknown field 'toleranse' (did you mean 'tolerance'?)")
    assert found["protocol"].startswith("'pacin' is not a protocol (did you mean 'pacing'?)")
    assert "'propagted' is not a metric (did you mean 'propagated'?)" in found["criterion"]
    assert found["range"] == "[2.0, 0.5] is not allowed; give [lo, hi] with lo < hi"


def test_yaml_and_json_design_files_read_the_same(tmp_path):
    from solver.design import load_design

    (tmp_path / "design").mkdir()       # the examples' layout: their bases are sheet.json and ../spiral.json
    (tmp_path / "design" / "sheet.json").write_text((ROOT / "examples" / "design" / "sheet.json").read_text())
    (tmp_path / "spiral.json").write_text((ROOT / "examples" / "spiral.json").read_text())
    for path in sorted((ROOT / "examples" / "design").glob("*.yaml")):
        twin = tmp_path / "design" / path.with_suffix(".json").name
        twin.write_text(json.dumps(yaml.safe_load(path.read_text())))
        here, there = load_design(path), load_design(twin)
        assert here.doc == there.doc and here.search == there.search, path.name


def test_an_enum_is_swept_by_its_numbers_and_a_bool_by_0_and_1():
    """A sweep axis holds numbers (SweepAxis.values): each point's spec gets the enum value of that number and
    the bool of 0 or 1; a number that names no value is refused with the numbers that do."""
    sweep = load_sweep(_sweep(axes=[{"path": "numerics.precision", "values": [1, 2]},
                                    {"path": "analysis.enabled", "values": [0, 1]}]))
    got = [(p.spec["numerics"]["precision"], p.spec["analysis"]["enabled"]) for p in sweep.points()]
    assert got == [("PRECISION_FLOAT64", False), ("PRECISION_FLOAT64", True), ("PRECISION_FLOAT32", False),
                   ("PRECISION_FLOAT32", True)]
    with pytest.raises(SweepSpecError) as info:
        load_sweep(_sweep(axes=[{"path": "numerics.precision", "values": [1, 5]},
                                {"path": "analysis.enabled", "values": [0, 2]}]))
    found = {v.field: v.description for v in info.value.violations}
    assert found["axes[0].values[1]"] == ("5.0 is not allowed at numerics.precision; must be the number of one of "
                                          "0 (PRECISION_UNSPECIFIED), 1 (PRECISION_FLOAT64), 2 (PRECISION_FLOAT32)")
    assert found["axes[1].values[1]"] == "2.0 is not allowed at analysis.enabled; must be 0 or 1 (false or true)"
