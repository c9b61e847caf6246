"""Bad specs are rejected with a message that names the field, the value and what is allowed."""
from __future__ import annotations

import json

import numpy as np
import pytest

import solver
from solver.spec import SpecError

from tests.specs import small_hek_spec


def _set(spec: dict, path: str, value):
    """Set ``a.b[0].c`` in a nested dict/list (creating dicts on the way)."""
    cur = spec
    parts = path.replace("]", "").replace("[", ".").split(".")
    for p in parts[:-1]:
        key = int(p) if p.isdigit() else p
        if isinstance(cur, list):
            cur = cur[key]
        else:
            cur = cur.setdefault(key, {})
    last = parts[-1]
    if isinstance(cur, list):
        cur[int(last)] = value
    else:
        cur[last] = value
    return spec


def _pulse_light(pattern=None, waveform=None, irr=1.0):
    return {"pattern": pattern or {"everywhere": {}}, "waveform": waveform or {"pulse": {"start_ms": 0, "width_ms": 1}},
            "irradiance_mw_per_mm2": irr}


NAN = "NaN"
# (case id, path to set, value, field named in the error, fragment of the message)
CASES = [
    ("grid nx zero", "grid.nx", 0, "grid.nx", "must be >= 1"),
    ("grid ny zero", "grid.ny", 0, "grid.ny", "must be >= 1"),
    ("grid dx negative", "grid.dx_um", -1.0, "grid.dx_um", "must be > 0"),
    ("grid dx NaN", "grid.dx_um", NAN, "grid.dx_um", "not a finite number"),
    ("grid dx infinite", "grid.dx_um", "Infinity", "grid.dx_um", "not a finite number"),
    ("unknown preset", "tissue.model.preset", "hek_2099", "tissue.model.preset", "allowed: aliev_panfilov"),
    ("unknown parameter", "tissue.model.parameters", {"g_Xx": 1.0}, "tissue.model.parameters.g_Xx", "unknown parameter"),
    ("negative conductance", "tissue.model.parameters", {"g_Na": -5.0}, "tissue.model.parameters.g_Na", "must be >= 0"),
    ("NaN parameter", "tissue.model.parameters", {"g_K1": NAN}, "tissue.model.parameters.g_K1", "not a finite number"),
    ("map unknown parameter", "tissue.model.maps", [{"parameter": "nope", "field": {"random": {"cv": 0.1}}}],
     "tissue.model.maps[0].parameter", "unknown parameter"),
    ("map raster wrong shape", "tissue.model.maps",
     [{"parameter": "g_Na", "field": {"raster": {"shape": [3, 4], "values": [1.0] * 12}}}],
     "tissue.model.maps[0].field.raster.shape", "does not match the grid [ny, nx] = [10, 12]"),
    ("map raster too few values", "tissue.model.maps",
     [{"parameter": "g_Na", "field": {"raster": {"shape": [10, 12], "values": [1.0] * 5}}}],
     "tissue.model.maps[0].field.raster.values", "5 values do not fill shape"),
    ("map random negative cv", "tissue.model.maps", [{"parameter": "g_Na", "field": {"random": {"cv": -0.2}}}],
     "tissue.model.maps[0].field.random.cv", "must be >= 0"),
    ("map gradient degenerate", "tissue.model.maps",
     [{"parameter": "g_Na", "field": {"gradient": {"start_um": {"x": 1, "y": 1}, "end_um": {"x": 1, "y": 1},
                                                   "start_value": 1, "end_value": 2}}}],
     "tissue.model.maps[0].field.gradient.end_um", "two distinct points"),
    ("empty tissue", "tissue.mask", {"disk": {"center_um": {"x": -500, "y": -500}, "radius_um": 5}},
     "tissue.mask", "the tissue is empty"),
    ("mask raster wrong shape", "tissue.mask", {"raster": {"shape": [2, 2], "values": [1, 1, 1, 1]}},
     "tissue.mask.raster.shape", "does not match the grid"),
    ("mask raster out of range", "tissue.mask", {"raster": {"shape": [10, 12], "values": [2.0] * 120}},
     "tissue.mask.raster.values", "outside [0, 1]"),
    ("initial unknown variable", "tissue.initial", {"regions": [{"pattern": {"everywhere": {}}, "values": {"q": 1}}]},
     "tissue.initial.regions[0].values.q", "unknown state variable"),
    ("negative diffusivity", "coupling.diffusivity_um2_per_ms", -3.0, "coupling.diffusivity_um2_per_ms", "must be >= 0"),
    ("gap junction zero capacitance", "coupling", {"gap_junction": {"conductance_ns": 10, "cell_size_um": 10,
                                                                    "capacitance_pf": 0}},
     "coupling.gap_junction.capacitance_pf", "must be > 0"),
    ("stability violated", "coupling.diffusivity_um2_per_ms", 5000.0, "numerics.dt_ms", "diffusion stability limit"),
    ("dt above accuracy limit", "numerics.dt_ms", 0.2, "numerics.dt_ms", "accuracy limit"),
    ("dt negative", "numerics.dt_ms", -0.01, "numerics.dt_ms", "must be >= 1e-06 ms"),
    ("duration zero", "numerics.duration_ms", 0, "numerics.duration_ms", "must be > 0"),
    ("duration negative", "numerics.duration_ms", -10, "numerics.duration_ms", "must be > 0"),
    ("duration not whole steps", "numerics.duration_ms", 1.011, "numerics.duration_ms", "whole number of steps"),
    ("chunk not whole steps", "numerics.chunk_ms", 0.013, "numerics.chunk_ms", "whole number of steps"),
    ("sample interval not whole steps", "output.sample_interval_ms", 0.03, "output.sample_interval_ms",
     "whole number of steps"),
    ("unknown output variable", "output.variables", ["v", "calcium"], "output.variables[1]", "unknown variable"),
    ("duplicated output variable", "output.variables", ["v", "v"], "output.variables[1]", "selected twice"),
    ("unknown opsin", "opsin.preset", "chrimson", "opsin.preset", "allowed: cheriff"),
    ("unknown opsin parameter", "opsin.parameters", {"zz": 1}, "opsin.parameters.zz", "unknown opsin parameter"),
    ("negative opsin density", "opsin.density", -1.0, "opsin.density", "must be >= 0"),
    ("negative irradiance", "light[0].irradiance_mw_per_mm2", -0.5, "light[0].irradiance_mw_per_mm2", "must be >= 0"),
    ("NaN irradiance", "light[0].irradiance_mw_per_mm2", NAN, "light[0].irradiance_mw_per_mm2", "not a finite number"),
    ("zero pulse width", "light[0].waveform", {"pulse": {"start_ms": 0, "width_ms": 0}},
     "light[0].waveform.pulse.width_ms", "must be > 0"),
    ("train period shorter than width", "light[0].waveform",
     {"pulse_train": {"start_ms": 0, "width_ms": 5, "period_ms": 2}}, "light[0].waveform.pulse_train.period_ms",
     "shorter than width_ms"),
    ("ramp backwards", "light[0].waveform", {"ramp": {"start_ms": 5, "end_ms": 1}}, "light[0].waveform.ramp.end_ms",
     "must be after start_ms"),
    ("sine goes negative", "light[0].waveform", {"sine": {"frequency_hz": 10, "amplitude": 1, "offset": 0.5}},
     "light[0].waveform.sine.offset", "light cannot be negative"),
    ("sampled lengths differ", "light[0].waveform", {"sampled": {"times_ms": [0, 1, 2], "values": [0, 1]}},
     "light[0].waveform.sampled.values", "2 values for 3 times"),
    ("sampled times not increasing", "light[0].waveform", {"sampled": {"times_ms": [0, 2, 1], "values": [0, 1, 0]}},
     "light[0].waveform.sampled.times_ms[2]", "times must increase"),
    ("disk radius zero", "light[0].pattern", {"disk": {"center_um": {"x": 5, "y": 5}, "radius_um": 0}},
     "light[0].pattern.disk.radius_um", "must be > 0"),
    ("ring inverted", "light[0].pattern", {"ring": {"center_um": {"x": 5, "y": 5}, "inner_radius_um": 20,
                                                   "outer_radius_um": 10}},
     "light[0].pattern.ring.outer_radius_um", "must be > inner_radius_um"),
    ("polygon two vertices", "light[0].pattern", {"polygon": {"vertices_um": [{"x": 0, "y": 0}, {"x": 1, "y": 1}]}},
     "light[0].pattern.polygon.vertices_um", "at least 3"),
    ("line negative width", "light[0].pattern", {"line": {"start_um": {"x": 0, "y": 0}, "end_um": {"x": 50, "y": 0},
                                                         "width_um": -2}},
     "light[0].pattern.line.width_um", "must be > 0"),
    ("rectangle inverted", "light[0].pattern", {"rectangle": {"min_um": {"x": 50, "y": 50}, "max_um": {"x": 0, "y": 0}}},
     "light[0].pattern.rectangle.max_um", "must lie right of and below"),
    ("grating duty above one", "light[0].pattern", {"grating": {"period_um": 20, "duty_cycle": 1.5}},
     "light[0].pattern.grating.duty_cycle", "must be < 1"),
    ("image off the sheet", "light[0].pattern", {"image": {"pixels": {"shape": [1, 1], "values": [1]},
                                                          "pixel_pitch_um": 5, "offset_um": {"x": -20, "y": 0}}},
     "light[0].pattern.image", "lands entirely off the sheet"),
    ("sum negative scale", "light[0].pattern", {"sum": {"terms": [{"pattern": {"everywhere": {}}, "scale": -2}]}},
     "light[0].pattern.sum.terms[0].scale", "must be >= 0"),
    ("current NaN amplitude", "current", [{"amplitude_a_per_f": NAN}], "current[0].amplitude_a_per_f", "not a finite"),
    ("camera exposure too long", "readout", {"enabled": True, "camera": {"frame_rate_hz": 1000, "exposure_ms": 5}},
     "readout.camera.exposure_ms", "longer than the frame period"),
    ("camera binning does not divide", "readout", {"enabled": True, "camera": {"binning": 5}},
     "readout.camera.binning", "does not divide the grid"),
    ("ions negative concentration", "tissue.model.ions", {"k_out_mm": -4}, "tissue.model.ions.k_out_mm", "must be > 0"),
    ("ions temperature too hot", "tissue.model.ions", {"temperature_c": 80}, "tissue.model.ions.temperature_c",
     "must be <= 45"),
]


@pytest.mark.parametrize("case_id,path,value,field,fragment", CASES, ids=[c[0] for c in CASES])
def test_bad_spec_is_rejected_naming_the_field(case_id, path, value, field, fragment):
    spec = small_hek_spec()
    _set(spec, path, value)
    with pytest.raises(SpecError) as info:
        solver.load_spec(spec)
    fields = [v.field for v in info.value.violations]
    assert field in fields, f"{case_id}: expected a violation of {field}, got {info.value}"
    message = next(str(v) for v in info.value.violations if v.field == field)
    assert fragment in message, f"{case_id}: {message!r} does not say {fragment!r}"


def test_the_table_is_big_enough():
    assert len(CASES) >= 30


def test_dimensionless_model_refuses_light_and_opsin():
    spec = small_hek_spec()
    spec["tissue"]["model"]["preset"] = "nagumo"
    spec["coupling"]["diffusivity_um2_per_ms"] = 1.0
    spec["grid"]["dx_um"] = 0.5
    spec["numerics"]["dt_ms"] = 0.02
    spec["opsin"] = {"preset": "cheriff"}
    with pytest.raises(SpecError) as info:
        solver.load_spec(spec)
    fields = {v.field for v in info.value.violations}
    assert {"opsin.preset", "light[0]"} <= fields


@pytest.mark.parametrize(
    "payload,field,fragment",
    [
        ({"grid": {"nz": 3}}, "grid.nz", "unknown field 'nz'; allowed here: nx, ny, dx_um"),
        ({"unknown_top": 1}, "unknown_top", "unknown field 'unknown_top'"),
        ({"grid": {"nx": "ten"}}, "grid.nx", "'ten'"),
        ({"numerics": {"precision": "PRECISION_FLOAT16"}}, "numerics.precision", "PRECISION_FLOAT16"),
        ({"light": [{"pattern": {"disk": {"radius": 3}}}]}, "light[0].pattern.disk.radius",
         "unknown field 'radius' (did you mean 'radius_um'?)"),
    ],
)
def test_unknown_fields_and_wrong_types_name_the_field(payload, field, fragment):
    spec = small_hek_spec(**payload)
    with pytest.raises(SpecError) as info:
        solver.load_spec(spec)
    (v,) = [v for v in info.value.violations if v.field == field]      # (with what else is wrong in the rest)
    assert fragment in v.description


def test_oversize_grid_is_rejected_with_memory_figures():
    spec = small_hek_spec(grid={"nx": 200000, "ny": 200000, "dx_um": 10.0})
    with pytest.raises(SpecError) as info:
        solver.load_spec(spec)
    (v,) = [v for v in info.value.violations if v.field == "grid"]
    assert "GiB of state" in v.description and "limit" in v.description


def test_every_error_is_reported_at_once():
    spec = small_hek_spec()
    spec["grid"]["dx_um"] = -1
    spec["numerics"]["duration_ms"] = -1
    spec["light"][0]["irradiance_mw_per_mm2"] = -1
    with pytest.raises(SpecError) as info:
        solver.load_spec(spec)
    fields = {v.field for v in info.value.violations}
    assert {"grid.dx_um", "numerics.duration_ms", "light[0].irradiance_mw_per_mm2"} <= fields


def test_coarse_grid_warns_with_the_electrotonic_length():
    spec = small_hek_spec(grid={"nx": 12, "ny": 10, "dx_um": 40.0})
    report = solver.validate(solver.load_spec(spec, check_spec=False))
    assert report.ok
    # (grid.dx_um also gets the estimated conduction-velocity error of the spacing: a warning of its own)
    (w,) = [w for w in report.warnings if w.field == "grid.dx_um" and "electrotonic" in w.description]
    assert "electrotonic length" in w.description


def test_yaml_and_json_files_give_the_same_spec(tmp_path):
    import yaml

    spec = small_hek_spec()
    (tmp_path / "a.json").write_text(json.dumps(spec))
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(spec))
    a = solver.load_spec(tmp_path / "a.json")
    b = solver.load_spec(tmp_path / "a.yaml")
    assert a == b and a.json == b.json


def test_npy_raster_resolves_relative_to_the_spec_file(tmp_path):
    mask = np.zeros((10, 12))
    mask[2:8, 3:9] = 1
    np.save(tmp_path / "mask.npy", mask)
    spec = small_hek_spec(tissue={"mask": {"raster": {"npy_path": "mask.npy"}}})
    (tmp_path / "s.json").write_text(json.dumps(spec))
    problem = solver.prepare(tmp_path / "s.json")
    assert problem.active.sum() == 36


def test_one_node_per_cell_needs_no_resolution_warning():
    """Gap-junction coupling with cell_size = dx is the discrete-cell view: the nodes are the cells."""
    spec = small_hek_spec(grid={"nx": 12, "ny": 10, "dx_um": 20.0})
    spec["coupling"] = {"gap_junction": {"conductance_ns": 37.5, "cell_size_um": 20.0, "capacitance_pf": 15.0}}
    report = solver.validate(solver.load_spec(spec, check_spec=False))
    assert report.ok and not [w for w in report.warnings if w.field == "grid.dx_um"]
    assert solver.prepare(spec).diffusivity[0, 0] == pytest.approx(37.5 * 20.0**2 / 15.0)   # D = g_j a²/C


def test_near_the_stability_limit_warns():
    spec = small_hek_spec(numerics={"dt_ms": 0.025, "duration_ms": 2.0})   # dx²/(4D) = 0.025 exactly
    report = solver.validate(solver.load_spec(spec, check_spec=False))
    assert report.ok
    (w,) = [w for w in report.warnings if w.field == "numerics.dt_ms"]
    assert "checkerboard" in w.description and "use dt <= 0.02 ms" in w.description


def test_schema_and_range_problems_are_reported_together():
    """A misspelt field and a value out of range elsewhere: both in one answer, each with its own field."""
    spec = small_hek_spec(grid={"nx": 12, "ny": 10, "dx_um": 10.0, "nz": 3},
                          numerics={"dt_ms": 0.02, "duration_ms": -2.0},
                          tissue={"model": {"preset": "hek_gokhale2017_35"}})
    with pytest.raises(SpecError) as info:
        solver.load_spec(spec)
    found = {v.field: v.description for v in info.value.violations}
    assert found["grid.nz"].startswith("unknown field 'nz'")
    assert found["numerics.duration_ms"] == "-2.0 is not allowed; must be > 0 ms"
    assert found["tissue.model.preset"].startswith("unknown preset 'hek_gokhale2017_35' (did you mean "
                                                   "'hek_gokhale2017_35c'?)")
