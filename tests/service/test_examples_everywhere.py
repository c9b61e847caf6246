"""Every example, with the camera on, runs the whole way: through ``optowave run`` and through a real server,
and both give the same store, chunk file for chunk file (samples, camera frames and analysis maps).

The largest examples run for their first part only (:data:`MAX_CELL_STEPS`), to keep the suite's time."""
from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from clients import Client
from clients.cli import main as cli_main
from service.server import embedded
from tests.service.test_server import ALICE, TOKENS, store_files
from tests.specs import EXAMPLES

pytestmark = pytest.mark.slow

#: Media without a membrane potential in mV cannot carry the voltage dye (validate refuses the readout).
DIMENSIONLESS = {"nagumo", "fitzhugh_nagumo", "aliev_panfilov"}
#: An example longer than this many tissue cell-steps runs for its first part only (the whole suite has 15 minutes
#: on two cores; each example runs twice here): the same grid, model, light, camera and analysis, a shorter record.
MAX_CELL_STEPS = 1.0e8


def shortened(spec: dict) -> dict:
    """``spec`` cut to :data:`MAX_CELL_STEPS` (to a whole number of output samples), or as it is."""
    import solver

    problem = solver.prepare(spec)
    cells = int(problem.active.sum())
    if cells * problem.n_steps <= MAX_CELL_STEPS:
        return spec
    sample = problem.sample_every * problem.dt_ms
    keep = max(1, int(MAX_CELL_STEPS / cells * problem.dt_ms / sample)) * sample
    return {**spec, "numerics": {**spec["numerics"], "duration_ms": keep}}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with embedded(tmp_path_factory.mktemp("server-data"), workers=0, tokens=TOKENS) as address:
        yield address


@pytest.fixture(scope="module")
def runs(server, tmp_path_factory):
    """Each example filmed, run locally and on the server: {name: (local store, fetched store)}."""
    root = tmp_path_factory.mktemp("examples")
    out = {}
    with Client(server, token=ALICE) as client:
        for path in sorted(EXAMPLES.glob("*.json")):
            spec = shortened(json.loads(path.read_text()))
            if spec["tissue"]["model"].get("preset") not in DIMENSIONLESS:
                spec["readout"] = {"enabled": True}
            spec_file = root / f"{path.stem}.camera.json"       # the examples name no files of their own
            spec_file.write_text(json.dumps(spec))
            local, remote = root / f"{path.stem}.zarr", root / f"{path.stem}.fetched.zarr"
            assert cli_main(["run", str(spec_file), "-o", str(local), "--quiet"]) == 0
            client.submit(spec_file).result(remote)
            out[path.stem] = (local, remote)
    return out


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.json")))
def test_example_runs_alike_locally_and_on_a_server(runs, name):
    local, remote = runs[name]
    chunks = lambda root: {k: v for k, v in store_files(root).items() if "/c/" in k or k.endswith("/c")}  # noqa: E731
    a, b = chunks(local), chunks(remote)
    assert sorted(a) == sorted(b)
    assert [k for k in a if a[k] != b[k]] == []
    ds_a, ds_b = xr.open_zarr(local).load(), xr.open_zarr(remote).load()
    xr.testing.assert_identical(ds_a, ds_b)
    assert ds_a.attrs["optowave_complete"] is True
    assert "activation_time" in ds_a                                  # the analysis ran on V ...
    if "dff" in ds_a:
        assert "dff_activation_time" in ds_a and ds_a.sizes["frame"] > 0   # ... and on the camera's movie


def test_planar_wave_speed_stored_equals_a_fit_of_its_activation_map(runs):
    """The stored conduction velocity against a straight-line fit of activation time along the middle row,
    over the part of the strip the wave crosses freely (away from the lit bar and the far edge)."""
    ds = xr.open_zarr(runs["planar_wave"][0]).load()
    act = ds.activation_time.values
    x = ds.x.values
    row = act[act.shape[0] // 2]
    free = (x > 0.25 * x[-1]) & (x < 0.85 * x[-1])
    slope_ms_per_um = np.polyfit(x[free], row[free], 1)[0]
    fitted_cm_per_s = 1e-4 / slope_ms_per_um * 1e3        # µm/ms -> cm/s
    stored = float(ds.conduction_velocity)
    assert stored == pytest.approx(fitted_cm_per_s, rel=0.02)
    assert 3.0 < fitted_cm_per_s < 7.0                     # a plane wave at about 5 cm/s (MODEL.md), not noise
