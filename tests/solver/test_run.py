"""The run loop: cutting a run into pieces changes nothing, state serialises exactly, blow-ups stop."""
from __future__ import annotations

import numpy as np
import pytest

import solver
from solver.engine.run import SimulationError, State

from tests.specs import small_hek_spec


def _spec():
    spec = small_hek_spec(numerics={"dt_ms": 0.02, "duration_ms": 6.0})
    spec["current"] = [{"pattern": {"disk": {"center_um": {"x": 100, "y": 50}, "radius_um": 20}},
                        "waveform": {"pulse_train": {"start_ms": 0.5, "width_ms": 0.3, "period_ms": 2.0}},
                        "amplitude_a_per_f": -60.0}]
    spec["tissue"]["model"]["maps"] = [{"parameter": "g_K1", "field": {"random": {"cv": 0.2}}}]
    return spec


@pytest.mark.parametrize("cuts", [[300], [1, 299], [17, 100, 183], [50] * 6])
def test_a_run_cut_in_pieces_equals_the_uncut_run_bit_for_bit(cuts):
    problem = solver.prepare(_spec())
    whole = solver.advance(problem, solver.initial_state(problem), sum(cuts))
    state = solver.initial_state(problem)
    for n in cuts:
        state = State.from_bytes(solver.advance(problem, state, n).to_bytes())   # checkpoint and restore
    assert state.step == whole.step == 300
    assert state.y.dtype == whole.y.dtype
    assert np.array_equal(state.y, whole.y)
    assert not np.array_equal(whole.y, problem.initial), "the run must have done something"


def test_state_round_trips_exactly_in_float32():
    spec = _spec()
    spec["numerics"]["precision"] = "PRECISION_FLOAT32"
    problem = solver.prepare(spec)
    s = solver.advance(problem, solver.initial_state(problem), 37)
    back = State.from_bytes(s.to_bytes())
    assert back.step == 37 and back.y.dtype == np.float32 and np.array_equal(back.y, s.y)


def test_light_drives_the_illuminated_cells_and_the_irradiance_is_recorded():
    spec = small_hek_spec(output={"variables": ["v", "irradiance", "opsin_o"], "sample_interval_ms": 0.5})
    ds = solver.simulate(spec)
    lit = ds.irradiance.sel(time=1.5).values
    # the bar covers x < 30 µm (3 columns) at 1 mW/mm² during 1 <= t < 3 ms
    assert np.allclose(lit[:, :3], 1.0) and np.allclose(lit[:, 3:], 0.0)
    assert np.allclose(ds.irradiance.sel(time=0.5).values, 0.0)
    assert float(ds.opsin_o.sel(time=2.0)[:, 0].min()) > 0.01
    assert float(ds.opsin_o.sel(time=2.0)[:, -1].max()) == 0.0


def test_a_blow_up_stops_the_run_naming_the_time_and_the_cell():
    spec = {"grid": {"nx": 8, "ny": 4, "dx_um": 0.5},
            "tissue": {"model": {"preset": "nagumo"}},
            "coupling": {"diffusivity_um2_per_ms": 1.0},
            "current": [{"pattern": {"rectangle": {"min_um": {"x": 2, "y": 1}, "max_um": {"x": 2.5, "y": 1.5}}},
                         "amplitude_a_per_f": -1e6}],
            "numerics": {"dt_ms": 0.02, "duration_ms": 2.0}}
    with pytest.raises(SimulationError) as info:
        solver.simulate(spec)
    msg = str(info.value)
    assert "row 2, column 4" in msg and "t = " in msg and "x = 2.25 µm" in msg


def test_result_layout_has_cf_attributes_and_the_spec():
    import json

    spec = small_hek_spec(output={"variables": ["v", "m", "irradiance"], "sample_interval_ms": 0.5})
    ds = solver.simulate(spec)
    assert ds.v.attrs == {"units": "mV", "long_name": "membrane potential"}
    assert ds.irradiance.attrs["units"] == "mW/mm2"
    assert ds.time.attrs["units"] == "ms" and ds.x.attrs["units"] == "um"
    assert list(ds.time.values) == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert np.allclose(ds.x.values, (np.arange(12) + 0.5) * 10.0)
    assert json.loads(ds.attrs["spec"])["grid"] == {"nx": 12, "ny": 10, "dx_um": 10.0}
    assert ds.attrs["model"] == "hek_gokhale2017_35c" and ds.attrs["opsin"] == "cheriff"
    params = json.loads(ds.attrs["model_parameters"])
    assert params["g_Na"] == pytest.approx(90.34)
