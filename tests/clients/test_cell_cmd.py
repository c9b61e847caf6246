"""``optowave cell``: writes the bench's dataset through the result store, and ``optowave plot`` draws it."""
from __future__ import annotations

import json

import numpy as np
import xarray as xr
from PIL import Image

from clients.cli import main
from solver.models import hek

from tests.specs import small_hek_spec


def _files(tmp_path, protocol, preset="hek_bistable", opsin="cheriff"):
    spec = small_hek_spec(tissue={"model": {"preset": preset}}, opsin={"preset": opsin}, light=[])
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    if isinstance(protocol, str):    # YAML text
        (tmp_path / "protocol.yaml").write_text(protocol)
        return str(tmp_path / "spec.json"), str(tmp_path / "protocol.yaml")
    (tmp_path / "protocol.json").write_text(json.dumps(protocol))
    return str(tmp_path / "spec.json"), str(tmp_path / "protocol.json")


def test_cell_writes_a_store_of_the_fixed_points_and_continuation_and_plot_draws_it(tmp_path, capsys):
    spec, protocol = _files(tmp_path, {
        "steady_state": {"v_min_mv": -100, "v_max_mv": 20, "v_step_mv": 0.5},
        "continuation": {"parameter": "g_L", "start": 0.25, "stop": 0.40, "points": 16},
        "voltage_clamp": {"holding_mv": -80, "hold_ms": 1, "step_mv": [-120, -40], "step_ms": 2, "tail_ms": 1,
                          "sample_interval_ms": 0.05},
        "current_clamp": {"duration_ms": 200, "sample_interval_ms": 1.0,
                          "light": [{"start_ms": 5, "width_ms": 10, "amplitude": 1.0}]}})
    out = tmp_path / "cell.zarr"
    assert main(["cell", spec, "--protocol", protocol, "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    ds = xr.open_zarr(out)
    assert ds.attrs["optowave_kind"] == "cell" and ds.attrs["optowave_complete"] is True
    # the stored fixed points are the zeros of the preset's own steady-state I-V (solver.models.hek)
    np.testing.assert_allclose(ds.fp_v.values, hek.fixed_points(dict(hek.HEK_PRESETS["hek_bistable"])), atol=1e-8)
    assert ds.fp_stable.values.tolist() == [1, 0, 1]
    assert ds.vc_I_K1.dims == ("vc_step", "vc_time") and ds.vc_I_K1.attrs["units"] == "A/F"
    lo, hi = ds.bistable_window.values[0]
    assert abs(lo - 0.271) <= 1e-3 and abs(hi - 0.364) <= 1e-3
    assert f"bistable window: g_L in [{lo:.6g}, {hi:.6g}] nS/pF" in printed
    assert "-61.250 (stable), -36.814 (unstable), -9.989 (stable)" in printed
    # light through the opsin flips the cell to its depolarised state
    assert abs(float(ds.cc_v[0]) - float(ds.fp_v[0])) < 1e-9 and abs(float(ds.cc_v[-1]) - float(ds.fp_v[2])) < 0.01

    png = tmp_path / "cell.png"
    assert main(["plot", str(out), "-o", str(png)]) == 0
    with Image.open(png) as img:
        assert img.format == "PNG" and img.size[0] > 1000
    assert "figure:" in capsys.readouterr().out
    assert main(["plot", str(out), "-o", str(png), "--movie", str(tmp_path / "m.gif")]) == 1
    assert "a cell-bench result has no movie" in capsys.readouterr().err


def test_a_bad_protocol_exits_1_naming_the_field_without_a_traceback(tmp_path, capsys):
    spec, protocol = _files(tmp_path, {"continuation": {"parameter": "g_L", "start": 0.3, "stop": 0.2},
                                       "voltage_clamp": {"holding_mv": -300, "ramp": {"from_mv": 0, "to_mv": 10,
                                                                                      "duration_ms": 0}}})
    assert main(["cell", spec, "--protocol", protocol, "-o", str(tmp_path / "x.zarr")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: invalid cell protocol (3 problems)")
    assert "continuation.stop: 0.2 must be above start (0.3)" in err
    assert "voltage_clamp.holding_mv: -300.0 is out of range; allowed [-200, 200] mV" in err
    assert "voltage_clamp.ramp.duration_ms: 0.0 is out of range; allowed (0, 60000] ms" in err
    assert "Traceback" not in err and not (tmp_path / "x.zarr").exists()


def test_an_existing_output_is_kept_unless_overwrite_is_given(tmp_path, capsys):
    spec, protocol = _files(tmp_path, "name: a YAML protocol\nsteady_state: {}\n", preset="nagumo", opsin="none")
    out = tmp_path / "cell.zarr"
    out.mkdir()
    (out / "keep").write_text("x")
    assert main(["cell", spec, "--protocol", protocol, "-o", str(out)]) == 1
    assert "exists; give --overwrite" in capsys.readouterr().err and (out / "keep").exists()
    assert main(["cell", spec, "--protocol", protocol, "-o", str(out), "--overwrite"]) == 0
    np.testing.assert_allclose(xr.open_zarr(out).fp_v.values, [0.0, 0.1, 1.0], atol=1e-10)
