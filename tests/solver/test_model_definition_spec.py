"""A user's model in a job spec: ``tissue.model.definition`` runs through the whole solver path; bad
definitions, two model sources and a missing .mmt are refused naming the field."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

import solver
from solver.models.codegen import model_from_dict
from tests.solver.hh_definition import HH_DEFINITION
from tests.specs import small_hek_spec


@pytest.fixture(autouse=True)
def _kernel_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("OPTOWAVE_KERNEL_CACHE", str(tmp_path_factory.getbasetemp() / "kernels"))


def _spec(definition=HH_DEFINITION, **model) -> dict:
    spec = small_hek_spec(numerics={"dt_ms": 0.01, "duration_ms": 3.0, "time_scheme": "TIME_SCHEME_FIRST_ORDER"},
                          output={"sample_interval_ms": 0.5})  # fmt: skip
    spec["tissue"]["model"] = {"definition": definition, **model} if definition is not None else model
    return spec


def test_a_definition_runs_through_the_solver():
    """solver.simulate (validation, rasterising, run loop, store) on the generated kernel: the sheet
    stays at the description's rest until the light, and the lit strip fires through the opsin
    while the far edge has barely moved."""
    spec = solver.load_spec(_spec(parameters={"g_K": 36.0}))
    assert not solver.validate(spec).errors
    problem = solver.prepare(spec)
    assert problem.model.name == "hh_squid_axon" and problem.model.param_names[1] == "g_K"
    assert problem.model.kernel.desc == model_from_dict(HH_DEFINITION).kernel.desc
    v = np.asarray(solver.simulate(spec)["v"])  # (time, y, x), every 0.5 ms
    assert np.abs(v[:3] + 65.0).max() < 0.05  # before the light (1 ms): at rest
    assert v[-1, :, 0].min() > 0.0  # lit strip (x < 30 µm): an action potential
    assert v[-1, :, -1].max() < -60.0  # 110 µm away: not yet reached


def test_definition_json_file_round_trip_through_the_proto(tmp_path):
    """A spec file holding the definition parses into the same description (the proto's JSON form)."""
    path = tmp_path / "job.json"
    path.write_text(json.dumps(_spec()))
    spec = solver.load_spec(str(path))
    assert json.loads(spec.tissue.model.definition)["states"][3]["derivative"] == HH_DEFINITION["states"][3]["derivative"]
    assert spec.tissue.model.preset == ""


def _errors(spec: dict) -> list[tuple[str, str]]:
    try:
        report = solver.validate(solver.load_spec(spec))
    except solver.SpecError as err:
        return [(v.field, v.description) for v in err.violations]
    return [(e.field, e.description) for e in report.errors]


def test_errors_name_the_field():
    bad = copy.deepcopy(HH_DEFINITION)
    bad["states"][1]["gate"]["tau"] = "1/(0.07*exp(-(v+65)/20) + beta_h(v))"
    errs = _errors(_spec(bad))
    assert errs and errs[0][0] == "tissue.model.definition.states[1].gate.tau"
    assert "call of 'beta_h' is not allowed" in errs[0][1]

    errs = _errors(_spec(preset="hek_bistable"))
    assert errs[0][0] == "tissue.model" and "preset and definition are both given" in errs[0][1]

    errs = _errors(_spec(None, mmt_path="missing.mmt"))
    assert errs[0][0] == "tissue.model.mmt_path" and "missing.mmt" in errs[0][1]


def test_the_patch_clamp_bench_finds_the_rest_of_a_definition_as_an_ode_solver_does():
    """solver.cell on the HH definition: its one fixed point (gates at steady state, the ca pool solved by
    Newton's method) against a 4 s solve_ivp of the hand-written equations (the pool relaxes in 80 ms), stable by its eigenvalues."""
    from scipy.integrate import solve_ivp

    from solver import cell
    from tests.solver.hh_definition import hh_rhs

    system = cell.cell_from_spec(solver.load_spec(_spec()))
    assert system.channel_names == ("I_Na", "I_K", "I_L", "I_opsin")
    fps = cell.fixed_points(system)
    y0 = np.array([-65.0, 0.05, 0.6, 0.32, 1e-4])
    ref = solve_ivp(lambda _t, y: hh_rhs(y), (0, 4000.0), y0, method="Radau", rtol=1e-11, atol=1e-13).y[:, -1]
    assert len(fps) == 1 and fps[0].stable
    np.testing.assert_allclose(fps[0].state[:5], ref, rtol=1e-6, atol=1e-9)


def test_the_described_hek_preset_has_the_presets_fixed_point_and_iv_on_the_bench():
    """The HEK 35 C description (solver.models.presets) and the preset, both through solver.cell: the same
    rest (MODEL.md: -74.2 mV), the same stability, the same steady-state I-V (two independent codes)."""
    from solver import cell
    from solver.models.presets import hek_gokhale2017

    spec = small_hek_spec()
    preset = cell.cell_from_spec(solver.load_spec(spec))
    spec["tissue"]["model"] = {"definition": hek_gokhale2017.description()}
    described = cell.cell_from_spec(solver.load_spec(spec))
    a, b = cell.fixed_points(preset), cell.fixed_points(described)
    assert [f.stable for f in a] == [f.stable for f in b] and abs(a[0].v - (-74.2)) < 0.05
    np.testing.assert_allclose([f.v for f in b], [f.v for f in a], atol=1e-9)
    v = np.linspace(-100.0, 40.0, 29)
    np.testing.assert_allclose(described.steady_current(v), preset.steady_current(v), rtol=1e-12, atol=1e-12)


def test_an_instantaneous_gate_travels_through_the_proto(tmp_path):
    """The bistable HEK description (instantaneous Kir2.1 gates) in a spec file: the proto keeps the kind, and
    the description read back is the same model (same content hash)."""
    from solver.models.description import ModelDescription
    from solver.models.presets import hek_gokhale2017

    definition = hek_gokhale2017.description("hek_bistable")
    definition["name"] = "my_bistable"
    spec = _spec()
    spec["tissue"]["model"]["definition"] = definition
    path = tmp_path / "job.json"
    path.write_text(json.dumps(spec))
    loaded = json.loads(solver.load_spec(str(path)).tissue.model.definition)
    assert loaded["states"][4]["gate"] == {"inf": definition["states"][4]["gate"]["inf"], "instantaneous": True}
    assert loaded["states"][0]["gate"].keys() == {"inf", "tau"}
    assert (ModelDescription.from_dict(loaded).content_hash == ModelDescription.from_dict(definition).content_hash)
