"""The ``optowave`` command line: run, validate (the solver subcommands)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

import solver
from clients.cli import main

from tests.specs import EXAMPLES, small_hek_spec


@pytest.fixture
def spec_file(tmp_path):
    path = tmp_path / "job.json"
    path.write_text(json.dumps(small_hek_spec(output={"variables": ["v", "irradiance"], "sample_interval_ms": 0.5})))
    return path


def test_run_writes_a_zarr_v3_store_equal_to_the_in_process_result(spec_file, tmp_path, capsys):
    out = tmp_path / "out.zarr"
    assert main(["run", str(spec_file), "-o", str(out), "--quiet"]) == 0
    assert "wrote" in capsys.readouterr().out
    meta = json.loads((out / "zarr.json").read_text())
    assert meta["zarr_format"] == 3
    ds = xr.open_zarr(out, consolidated=False)
    ref = solver.simulate(spec_file)
    np.testing.assert_array_equal(ds.v.values, ref.v.values)
    np.testing.assert_array_equal(ds.irradiance.values, ref.irradiance.values)
    assert ds.v.attrs["units"] == "mV" and ds.irradiance.attrs["long_name"]
    assert json.loads(ds.attrs["spec"]) == json.loads(ref.attrs["spec"])


def test_validate_reports_ok_with_a_cost_estimate(spec_file, capsys):
    """The cost counted by hand: 12 x 10 cells x (2 ms / 0.02 ms) steps; v and irradiance at 0, 0.5, ... 2 ms,
    5 samples of 120 float32 values each."""
    assert main(["validate", str(spec_file)]) == 0
    out = capsys.readouterr().out
    assert f"ok: {12 * 10 * 100:.3e} cell-steps" in out
    assert main(["validate", str(spec_file), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["errors"] == []
    assert report["cost"]["cell_steps"] == 12 * 10 * 100
    assert report["cost"]["output_bytes"] == 2 * 5 * 120 * 4


@pytest.mark.parametrize("name, says", [("single_cell", "a single cell: no conduction velocity"),
                                        ("bistable_domains", "hek_bistable has no CV error model"),
                                        ("ring", "one node per cell: the grid is the tissue")])  # fmt: skip
def test_validate_says_what_its_accuracy_estimate_means_or_why_there_is_none(name, says, capsys):
    assert main(["validate", str(EXAMPLES / f"{name}.json")]) == 0
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("accuracy: ")]
    assert says in line
    assert main(["validate", str(EXAMPLES / f"{name}.json"), "--json"]) == 0
    acc = json.loads(capsys.readouterr().out)["accuracy"]
    assert (says in acc["note"]) if "note" in acc else acc["one_node_per_cell"]


def test_validate_json_names_every_bad_field(tmp_path, capsys):
    bad = small_hek_spec()
    bad["grid"]["dx_um"] = 0
    bad["light"][0]["irradiance_mw_per_mm2"] = -2
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    assert main(["validate", str(path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert not report["ok"]
    assert {"grid.dx_um", "light[0].irradiance_mw_per_mm2"} <= {e["field"] for e in report["errors"]}


def test_unknown_field_in_a_file_is_an_error_naming_it(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(small_hek_spec(numerics={"dt_ms": 0.02, "duration_ms": 2.0, "steps": 5})))
    assert main(["validate", str(path)]) == 1
    assert "numerics.steps" in capsys.readouterr().out


def test_run_of_a_bad_spec_exits_1_with_the_message(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(small_hek_spec(numerics={"dt_ms": -1, "duration_ms": 2.0})))
    assert main(["run", str(path), "-o", str(tmp_path / "x.zarr")]) == 1
    assert "numerics.dt_ms" in capsys.readouterr().err
    assert not (tmp_path / "x.zarr").exists()


@pytest.mark.parametrize("name", ["single_cell", "planar_wave", "spiral", "ring", "bistable_domains", "nagumo_front"])
def test_every_example_validates(name):
    report = solver.validate(solver.load_spec(EXAMPLES / f"{name}.json", check_spec=False))
    assert report.ok, report.errors
    assert not report.warnings, report.warnings


@pytest.mark.parametrize("name", ["single_cell", "planar_wave", "spiral", "ring", "bistable_domains", "nagumo_front"])
def test_every_example_runs_with_optowave_run(name, tmp_path):
    """Each example runs end to end through the command line (cut to a few ms to keep CI quick)."""
    spec = json.loads((EXAMPLES / f"{name}.json").read_text())
    dt = spec["numerics"]["dt_ms"]
    spec["numerics"]["duration_ms"] = 40 * dt
    spec["output"]["sample_interval_ms"] = 10 * dt
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(spec))
    out = tmp_path / f"{name}.zarr"
    assert main(["run", str(path), "-o", str(out), "--quiet"]) == 0
    ds = xr.open_zarr(out, consolidated=False)
    assert ds.sizes["time"] == 5
    # the command line's chunked runner and the in-process solver are two paths to one answer
    np.testing.assert_array_equal(ds.v.values, solver.simulate(path).v.values)


def test_version_prints_the_distributions_version(capsys):
    import re

    from tests.specs import ROOT

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    declared = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert capsys.readouterr().out.strip() == f"optowave {declared}"


def test_plot_movie_writes_what_its_extension_says_or_refuses(spec_file, tmp_path, capsys):
    from solver.pictures.plot import _have_ffmpeg

    out = tmp_path / "out.zarr"
    assert main(["run", str(spec_file), "-o", str(out), "--quiet"]) == 0
    capsys.readouterr()
    rc = main(["plot", str(out), "-o", str(tmp_path / "fig.png"), "--movie", str(tmp_path / "x.mp4")])
    captured = capsys.readouterr()
    if _have_ffmpeg():
        assert rc == 0 and f"movie: {tmp_path / 'x.mp4'}" in captured.out
        assert (tmp_path / "x.mp4").read_bytes()[4:8] == b"ftyp"       # an MP4 container, not a GIF renamed
    else:
        assert rc == 1 and "writing MP4 needs imageio's ffmpeg plugin" in captured.err
        assert not (tmp_path / "x.gif").exists() and not (tmp_path / "fig.png").exists()
    assert main(["plot", str(out), "-o", str(tmp_path / "fig.png"), "--movie", str(tmp_path / "x.gif")]) == 0
    assert f"movie: {tmp_path / 'x.gif'}" in capsys.readouterr().out
    from PIL import Image

    with Image.open(tmp_path / "x.gif") as gif:
        assert gif.format == "GIF" and gif.n_frames == xr.open_zarr(out, consolidated=False).sizes["time"]
