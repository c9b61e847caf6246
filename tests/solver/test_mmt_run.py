"""A Myokit file run through optowave: ``tissue.model.mmt_path`` on the generated kernel.

The single cell's trace equals the same model written by hand as a ``definition``, and agrees with Myokit's own
equations integrated by an independent stiff solver (SciPy's Radau on the right-hand sides Myokit writes with
``Variable.pyfunc``; Myokit's CVODE ``Simulation`` needs the SUNDIALS headers, which an installation of the
optional extra need not have). A sheet of it conducts.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import solver

myokit = pytest.importorskip("myokit")

DATA = Path(__file__).resolve().parent.parent / "data"
HH_MMT = DATA / "hh_squid.mmt"
HH_JSON = DATA / "hh_squid.model.json"
SAMPLE_MS, DURATION_MS = 0.05, 25.0
STIM_START_MS, STIM_WIDTH_MS, STIM_A_PER_F = 5.0, 0.5, -20.0   # the .mmt's own protocol: pace 1 × -20 uA/cm^2


@pytest.fixture(autouse=True)
def _kernel_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("OPTOWAVE_KERNEL_CACHE", str(tmp_path_factory.getbasetemp() / "kernels"))


def _cell_spec(model: dict) -> dict:
    return {
        "name": "squid axon, one cell", "grid": {"nx": 1, "ny": 1, "dx_um": 10.0}, "tissue": {"model": model},
        "opsin": {"preset": "none"},
        "current": [{"name": "stim", "amplitude_a_per_f": STIM_A_PER_F,
                     "waveform": {"pulse": {"start_ms": STIM_START_MS, "width_ms": STIM_WIDTH_MS}}}],
        "output": {"sample_interval_ms": SAMPLE_MS},
        "numerics": {"dt_ms": 0.005, "duration_ms": DURATION_MS, "time_scheme": "TIME_SCHEME_SECOND_ORDER"},
    }


def _myokit_trace(times: np.ndarray) -> np.ndarray:
    """V(times) of the .mmt as Myokit writes its equations, pacing on for the pulse, solved by Radau."""
    model = myokit.load_model(str(HH_MMT))
    states, pace = list(model.states()), model.binding("pace")
    funcs = [x.pyfunc(use_numpy=False, arguments=True) for x in states]
    funcs = [(f, [a.var() for a in args]) for f, args in funcs]

    def rhs(_t, y, p):
        values = dict(zip(states, y)) | {pace: p}
        return [f(*(values[a] for a in args)) for f, args in funcs]

    y = model.initial_values(as_floats=True)
    out = np.empty_like(times)
    stop = STIM_START_MS + STIM_WIDTH_MS
    for a, b, p in ((0.0, STIM_START_MS, 0.0), (STIM_START_MS, stop, 1.0), (stop, DURATION_MS, 0.0)):
        run = solve_ivp(rhs, (a, b), y, args=(p,), method="Radau", rtol=1e-10, atol=1e-12, dense_output=True)
        take = (times > a) & (times <= b)
        out[take] = run.sol(times[take])[0]
        y = run.y[:, -1]
    return out


def test_the_mmt_runs_as_the_hand_written_definition_and_as_myokit_s_equations(tmp_path):
    shutil.copy(HH_MMT, tmp_path / "squid.mmt")
    path = tmp_path / "job.json"
    path.write_text(json.dumps(_cell_spec({"mmt_path": "squid.mmt"})))   # relative to the spec file
    spec = solver.load_spec(str(path))
    assert not solver.validate(spec).errors
    problem = solver.prepare(spec)
    assert problem.model.name == "hh_squid_axon" and problem.model.state_names == ("V", "m", "h", "n")
    from_mmt = np.asarray(solver.simulate(spec)["v"])[:, 0, 0]
    hand = json.loads(HH_JSON.read_text())
    from_hand = np.asarray(solver.simulate(solver.load_spec(_cell_spec({"definition": hand})))["v"])[:, 0, 0]

    assert from_mmt.max() > 25.0 and from_mmt[-1] < -70.0   # an action potential, and back to rest
    # the same model written two ways (h's steady state written differently by hand): the same trace
    np.testing.assert_allclose(from_mmt, from_hand, rtol=0, atol=1e-6)

    times = np.arange(from_mmt.size) * SAMPLE_MS
    ref = _myokit_trace(times[1:])
    got = from_mmt[1:]
    assert ref.max() > 25.0
    # stated tolerance (second-order steps of 5 µs against Radau at rtol 1e-10): 0.25 mV everywhere (the
    # upstroke moves 100 mV/ms), the peak within 0.05 mV and at the same sample, 0.01 mV after the spike
    assert np.abs(got - ref).max() < 0.25
    assert abs(got.max() - ref.max()) < 0.05 and np.argmax(got) == np.argmax(ref)
    assert np.abs(got - ref)[times[1:] > 12.0].max() < 0.01


def test_a_sheet_of_the_mmt_conducts(tmp_path):
    """A strip paced at its left end: every cell fires, later with distance, at a steady speed."""
    shutil.copy(HH_MMT, tmp_path / "squid.mmt")
    spec = {
        "name": "squid axon strip", "grid": {"nx": 40, "ny": 4, "dx_um": 20.0},
        "tissue": {"model": {"mmt_path": "squid.mmt"}}, "opsin": {"preset": "none"},
        "coupling": {"diffusivity_um2_per_ms": 1000.0},
        "current": [{"name": "pace", "amplitude_a_per_f": -60.0, "waveform": {"pulse": {"start_ms": 0.5,
                     "width_ms": 1.0}}, "pattern": {"rectangle": {"min_um": {"x": 0, "y": 0},
                                                                  "max_um": {"x": 60, "y": 80}}}}],
        "output": {"sample_interval_ms": 0.1},
        "numerics": {"dt_ms": 0.01, "duration_ms": 16.0, "time_scheme": "TIME_SCHEME_FIRST_ORDER"},
    }
    path = tmp_path / "strip.json"
    path.write_text(json.dumps(spec))
    ds = solver.simulate(str(path))
    at = np.asarray(ds["activation_time"])   # ms, per cell
    assert np.isfinite(at).all(), "some cells never fired"
    row = at.mean(axis=0)
    x_um = np.arange(40) * 20.0
    middle = slice(8, 32)   # away from the stimulus and the sealed far end
    cv, _ = np.polyfit(row[middle], x_um[middle], 1)   # µm/ms
    assert np.all(np.diff(row[middle]) > 0) and row[-1] - row[0] > 2.0
    assert cv > 50.0
    residual = x_um[middle] - np.polyval(np.polyfit(row[middle], x_um[middle], 1), row[middle])
    assert np.abs(residual).max() < 0.5 * 20.0   # a steady speed: within half a cell of a straight line


@pytest.mark.parametrize("name", ["hh_squid.mmt", "hh_m_current.mmt"])
def test_the_lookup_table_kernel_of_an_mmt_keeps_the_single_cell_figures_within_half_a_percent(name):
    """Every gate of the imported model tabulated over V (the four-gate model whole): peak, max dV/dt and APD90
    of one stimulated cell within 0.5 % of the model's exact kernel (MODEL.md's single-cell figures)."""
    from solver.models.codegen import model_from_dict
    from solver.models.mmt import load_mmt
    from tests.solver.test_codegen_lut import _single_cell

    model = model_from_dict(load_mmt(DATA / name))
    exact = _single_cell(model, model.kernel)
    tabulated = _single_cell(model, model.lookup_tables.stepper())
    assert exact["peak"] > 25.0 and exact["apd90"] > 1.0   # an action potential
    for key in ("peak", "dvdt", "apd90"):
        assert abs(tabulated[key] - exact[key]) <= 0.005 * abs(exact[key]), (key, tabulated[key], exact[key])
    assert tabulated != exact   # the tables ran, not the exact kernel


def test_a_result_of_an_mmt_holds_the_model_that_ran(tmp_path):
    """``optowave run`` on a spec naming a .mmt: the store's ``model_definition`` attribute is the description the
    file gave (the spec names only the file), and a preset's store has none."""
    import xarray as xr

    from clients.cli import main
    from solver.models.mmt import load_mmt

    shutil.copy(HH_MMT, tmp_path / "squid.mmt")
    spec = _cell_spec({"mmt_path": "squid.mmt"})
    spec["numerics"]["duration_ms"] = 2.0
    (tmp_path / "job.json").write_text(json.dumps(spec))
    assert main(["run", str(tmp_path / "job.json"), "-o", str(tmp_path / "out.zarr"), "--quiet"]) == 0
    attrs = xr.open_zarr(tmp_path / "out.zarr", consolidated=False).attrs
    assert json.loads(attrs["model_definition"]) == load_mmt(tmp_path / "squid.mmt")
    assert json.loads(attrs["spec"])["tissue"]["model"]["mmt_path"] == "squid.mmt"

    preset = _cell_spec({"preset": "hek_gokhale2017_35c"})
    preset["numerics"]["duration_ms"] = 1.0
    (tmp_path / "preset.json").write_text(json.dumps(preset))
    assert main(["run", str(tmp_path / "preset.json"), "-o", str(tmp_path / "preset.zarr"), "--quiet"]) == 0
    assert "model_definition" not in xr.open_zarr(tmp_path / "preset.zarr", consolidated=False).attrs
