"""Sweeps: the summary Dataset's layout, metrics equal to single runs, failures recorded, re-runs skipped,
bad sweep specs rejected naming the field."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import xarray as xr

import solver
from clients.cli import main as cli_main
from service.runner import dask_client
from service.sweep import SweepSpecError, compute_metrics, load_sweep, run_sweep, runs_dir_for

N = 20
A0 = [-0.05, -0.2, -0.5, -120.0]    # current[0] amplitude (A/F; negative depolarises)
A1 = [0.0, -0.1, -0.5, -120.0]      # current[1], on the same strip: only -120 + -120 is unstable
PROBES = [[2.0, 5.0], [9.0, 5.0]]


def point_spec(a0: float, a1: float, duration_ms: float = 16.0) -> dict:
    """One run written out by hand (not through the sweep's paths): two current pulses on the left edge."""
    strip = {"rectangle": {"min_um": {"x": 0, "y": 0}, "max_um": {"x": 1.5, "y": N * 0.5}}}
    pulse = {"pulse": {"start_ms": 1, "width_ms": 1}}
    return {
        "name": "sweep-test", "grid": {"nx": N, "ny": N, "dx_um": 0.5},
        "tissue": {"model": {"preset": "aliev_panfilov"}}, "coupling": {"diffusivity_um2_per_ms": 1.0},
        "current": [{"pattern": strip, "waveform": pulse, "amplitude_a_per_f": a0},
                    {"pattern": strip, "waveform": pulse, "amplitude_a_per_f": a1}],
        "numerics": {"dt_ms": 0.02, "duration_ms": duration_ms}, "output": {"sample_interval_ms": 0.5},
    }


METRICS = ["propagated", "fraction_activated", "conduction_velocity",
           {"name": "activation_time", "points_um": PROBES}, "apd90", "spiral_count"]


def sweep_spec(**over) -> dict:
    sweep = {
        "name": "two-stimuli",
        "base": point_spec(-0.5, 0.0),
        "axes": [{"path": "current[0].amplitude_a_per_f", "name": "a0", "values": A0},
                 {"path": "current[1].amplitude_a_per_f", "name": "a1", "values": A1}],
        "combine": "product",
        "metrics": METRICS,
    }
    sweep.update(over)
    return sweep


@pytest.fixture(scope="module")
def client():
    with dask_client(workers=2, numba_threads=1) as c:
        yield c


@pytest.fixture(scope="module")
def swept(tmp_path_factory, client):
    out = tmp_path_factory.mktemp("sweep") / "summary.zarr"
    events = []
    result = run_sweep(sweep_spec(), out, client=client, on_progress=events.append)
    return out, result, events


def test_sweep_summary_has_one_dimension_per_axis(swept):
    out, result, events = swept
    ds = result.summary
    assert dict(ds.sizes) == {"a0": 4, "a1": 4, "probe": 2}
    assert ds["a0"].values.tolist() == A0 and ds["a1"].values.tolist() == A1
    assert ds["a0"].attrs["path"] == "current[0].amplitude_a_per_f" and ds["a0"].attrs["units"] == "A/F"
    assert ds["activation_time"].dims == ("a0", "a1", "probe") and ds["activation_time"].attrs["units"] == "ms"
    assert ds["probe_x"].values.tolist() == [2.0, 9.0]
    assert result.ran == 16 and result.skipped == 0
    assert [e.done for e in events] == list(range(1, 17)) and events[-1].failed == 1
    stored = xr.open_zarr(out, consolidated=False).load()
    for name in ("propagated", "activation_time", "conduction_velocity", "failed"):
        xr.testing.assert_identical(stored[name], ds[name])
    assert stored["error"].values.tolist() == ds["error"].values.tolist()


def test_unstable_point_is_recorded_as_failed_and_the_others_ran(swept):
    ds = swept[1].summary
    failed = ds["failed"].values
    assert failed.sum() == 1 and failed[3, 3]
    err = str(ds["error"].values[3, 3])
    assert err.startswith("SimulationError: the run blew up at t = ") and "allowed |V| <= 500" in err
    assert np.isnan(ds["propagated"].values[3, 3]) and np.isnan(ds["activation_time"].values[3, 3]).all()
    assert ds.attrs["n_failed"] == 1 and swept[1].failures[0].startswith("a0=-120.0, a1=-120.0: SimulationError")
    assert all(e == "" for e in ds["error"].values.ravel()[:-1])


def test_sweep_metrics_equal_single_runs_of_the_same_points(swept):
    ds = swept[1].summary
    sweep = load_sweep(sweep_spec())
    for i, a0 in enumerate(A0):
        for j, a1 in enumerate(A1):
            if (i, j) == (3, 3):
                with pytest.raises(solver.SimulationError):
                    solver.simulate(point_spec(a0, a1))
                continue
            single = compute_metrics(solver.simulate(point_spec(a0, a1)), sweep.metrics)
            for name, value in single.items():
                np.testing.assert_array_equal(ds[name].values[i, j], np.asarray(value), err_msg=f"{name} at {a0}, {a1}")
    # and the numbers are physics, not placeholders: too weak a pulse does not fire, a strong one
    # sends a wave left to right that reaches the far probe later than the near one
    assert ds["propagated"].values[0, 0] == 0 and ds["fraction_activated"].values[0, 0] == 0
    assert (ds["propagated"].values[2:, :3] == 1).all()
    near, far = ds["activation_time"].values[2, 0]
    assert 1.0 < near < far
    cv = ds["conduction_velocity"].values[2, 0]
    assert cv > 0 and np.isfinite(cv)


def test_rerun_skips_runs_already_done(swept):
    out, first, _ = swept
    again = run_sweep(sweep_spec(), out)             # in process: nothing left to run
    assert again.ran == 0 and again.skipped == 16
    xr.testing.assert_identical(again.summary.drop_vars("error"), first.summary.drop_vars("error"))
    retried = run_sweep(sweep_spec(), out, retry_failed=True)
    assert retried.ran == 1 and retried.n_failed == 1   # the unstable point, run again, fails again


def test_zip_sweep_keeps_fields_beside_the_summary(tmp_path):
    sweep = sweep_spec(combine="zip", keep_fields=True, metrics=["propagated"],
                       axes=[{"path": "current[0].amplitude_a_per_f", "values": [-0.2, -0.5]},
                             {"path": "numerics.duration_ms", "name": "duration", "values": [4.0, 6.0]}])
    result = run_sweep(sweep, tmp_path / "zip.zarr")
    ds = result.summary
    assert dict(ds.sizes) == {"run": 2}
    assert ds["amplitude_a_per_f"].dims == ("run",) and ds["duration"].values.tolist() == [4.0, 6.0]
    for k, (a0, dur) in enumerate([(-0.2, 4.0), (-0.5, 6.0)]):
        kept = xr.open_zarr(runs_dir_for(tmp_path / "zip.zarr") / str(ds["run_store"].values[k]), consolidated=False)
        np.testing.assert_array_equal(kept.v.values, solver.simulate(point_spec(a0, 0.0, dur)).v.values)


def test_cli_sweep_on_an_existing_scheduler(tmp_path, client, capsys):
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps(sweep_spec(metrics=["fraction_activated"], axes=[
        {"path": "current[0].amplitude_a_per_f", "name": "a0", "values": [-0.05, -0.5]}])))
    rc = cli_main(["sweep", str(path), "-o", str(tmp_path / "s.zarr"), "--scheduler", client.scheduler.address,
                   "--quiet"])
    assert rc == 0
    assert "2 runs (0 already done, 0 failed) over a0 (2)" in capsys.readouterr().out
    ds = xr.open_zarr(tmp_path / "s.zarr", consolidated=False)
    assert ds["fraction_activated"].values.tolist() == [0.0, 1.0]


# ---------------------------------------------------------------- bad sweep specs


def _with(**over):
    return sweep_spec(**over)


def _axis(path, **kw):
    return {"path": path, **kw}


BAD = [
    (_with(axes=[_axis("tissue.model.parameters.g_Na", values=[1.0])]), "axes[0].path",
     "'g_Na' is not a parameter of the base spec's model; allowed: k, a, eps0, mu1, mu2"),
    (_with(axes=[_axis("current[2].amplitude_a_per_f", values=[1.0])]), "axes[0].path",
     "the base spec has 2 elements in current; index 2 does not exist"),
    (_with(axes=[_axis("tissue.modle.preset", values=["nagumo"])]), "axes[0].path",
     "Tissue has no field 'modle'"),
    (_with(axes=[_axis("coupling", values=[1.0])]), "axes[0].path", "coupling is a message (Coupling)"),
    (_with(axes=[_axis("current[0].amplitude_a_per_f", values=A0), _axis("numerics.dt_ms", values=[])]),
     "axes[1]", "no values: give a list of values"),
    (_with(axes=[_axis("numerics.dt_ms", linspace={"start": 0.01, "stop": 0.02, "num": 0})]),
     "axes[0].linspace.num", "empty axis"),
    (_with(axes=[], metrics=["propagated"]), "axes", "empty"),
    (_with(combine="zip", axes=[_axis("current[0].amplitude_a_per_f", values=A0),
                                _axis("numerics.dt_ms", values=[0.01, 0.02, 0.025])]),
     "axes[1]", "has 3 values but axes[0] has 4; combine: zip needs every axis the same length"),
    (_with(combine="diagonal"), "combine", "'diagonal' is not allowed; allowed: product, zip"),
    (_with(metrics=["propagated", "cv"]), "metrics[1]", "unknown metric 'cv'; allowed: propagated"),
    (_with(metrics=[{"name": "activation_time"}]), "metrics[0].points_um", "missing or empty"),
    (_with(metrics=[{"name": "activation_time", "points_um": [[50.0, 1.0]]}]), "metrics[0].points_um[0]",
     "lies outside the sheet"),
    (_with(axes=[_axis("tissue.model.parameters.k", values=[8.0, -1.0])]), "axes[0].values[1]",
     "tissue.model.parameters.k: -1.0 is not allowed"),
    (_with(axes=[_axis("grid.nx", values=[16, 16.5])]), "axes[0].values[1]", "must be a whole number"),
    (_with(base={**point_spec(0, 0), "numerics": {"dt_ms": 0.02}}), "base.numerics.duration_ms",
     "is not allowed; must be > 0"),
    (_with(bogus=1), "bogus", "unknown field 'bogus'"),
]


@pytest.mark.parametrize("sweep, field, message", BAD, ids=[b[1] + ":" + b[2][:30] for b in BAD])
def test_bad_sweep_spec_is_rejected_naming_the_field(sweep, field, message):
    with pytest.raises(SweepSpecError) as info:
        load_sweep(copy.deepcopy(sweep))
    found = {v.field: v.description for v in info.value.violations}
    assert field in found, found
    assert message in found[field]
    assert str(info.value).startswith("invalid sweep spec")
