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


def test_the_patch_clamp_bench_refuses_a_definition_naming_the_field():
    from solver.cell.run import cell_from_spec

    with pytest.raises(ValueError, match=r"tissue.model.definition: the patch-clamp bench runs the preset models only"):
        cell_from_spec(solver.load_spec(_spec()))
