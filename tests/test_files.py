"""Sweep and design files read into their messages (optowave.files): the proto is the schema of the files.

References: each problem named in the file's own spelling with the bound and the closest allowed name, every
problem of a file at once, a YAML file and its JSON twin the same message, and a message written back in the
file's form reading as the same message again.
"""
from __future__ import annotations

import json

import yaml
from google.protobuf import json_format

from optowave import files
from optowave.v1 import service_pb2

BASE = {"grid": {"nx": 8, "ny": 4, "dx_um": 0.5}, "tissue": {"model": {"preset": "nagumo"}},
        "coupling": {"diffusivity_um2_per_ms": 1.0}, "numerics": {"dt_ms": 0.02, "duration_ms": 1.0}}

SWEEP_YAML = """
name: two axes
base: {grid: {nx: 8, ny: 4, dx_um: 0.5}, tissue: {model: {preset: nagumo}},
       coupling: {diffusivity_um2_per_ms: 1.0}, numerics: {dt_ms: 0.02, duration_ms: 1.0}}
axes:
  - {path: coupling.diffusivity_um2_per_ms, values: [1, 2], name: D}
  - path: numerics.duration_ms
    linspace: {start: 1, stop: 2, num: 2}
combine: zip
zip_dim: point
metrics: [propagated, {name: activation_time, points_um: [[1, 2], [3.5, 1]]}]
analysis: {threshold: 0.5}
keep_fields: true
"""


def test_every_field_of_a_sweep_file_lands_in_the_message():
    msg, _, problems = files.sweep_message(yaml.safe_load(SWEEP_YAML))
    assert problems == []
    assert msg.combine == service_pb2.SWEEP_COMBINE_ZIP and msg.zip_dim == "point" and msg.keep_fields
    assert [a.name for a in msg.axes] == ["D", ""] and list(msg.axes[0].values) == [1.0, 2.0]
    assert (msg.axes[1].linspace.start, msg.axes[1].linspace.stop, msg.axes[1].linspace.num) == (1.0, 2.0, 2)
    assert [m.name for m in msg.metrics] == ["propagated", "activation_time"]
    assert [(p.x, p.y) for p in msg.metrics[1].points_um] == [(1.0, 2.0), (3.5, 1.0)]
    assert dict(msg.analysis) == {"threshold": 0.5}
    assert msg.base.grid.nx == 8 and msg.base.tissue.model.preset == "nagumo"


def test_yaml_and_json_files_are_the_same_message(tmp_path):
    doc = yaml.safe_load(SWEEP_YAML)
    (tmp_path / "s.json").write_text(json.dumps(doc))
    from_yaml = files.sweep_message(yaml.safe_load(SWEEP_YAML))[0]
    from_json = files.sweep_message(json.loads((tmp_path / "s.json").read_text()))[0]
    assert from_yaml == from_json and from_yaml.ByteSize() > 0


def test_the_file_form_of_a_message_reads_back_as_the_same_message():
    msg = files.sweep_message(yaml.safe_load(SWEEP_YAML))[0]
    doc = files.to_document(msg)
    assert doc["combine"] == "zip" and doc["metrics"][0] == "propagated"
    assert doc["metrics"][1]["points_um"] == [[1.0, 2.0], [3.5, 1.0]]
    assert files.sweep_message(doc)[0] == msg


def test_a_misspelt_key_is_named_in_the_files_spelling_with_the_closest_field():
    found = dict(files.sweep_message({"base": BASE, "axes": [{"path": "a", "valeus": [1]}], "keep_feilds": True,
                                      "zipDim": "x"})[2])
    assert found["axes[0].valeus"].startswith("unknown field 'valeus' (did you mean 'values'?); allowed here: path")
    assert found["keep_feilds"].startswith("unknown field 'keep_feilds' (did you mean 'keep_fields'?)")
    # protobuf's own spelling of a field is accepted by json_format, but a person's mixed one is not
    assert "zipDim" not in found
    assert not any("Available Fields" in d or "keepFields" in d for d in found.values())


def test_a_misspelt_enum_is_named_with_the_allowed_short_names():
    found = dict(files.sweep_message({"base": BASE, "combine": "prodcut"})[2])
    assert found == {"combine": "'prodcut' is not allowed (did you mean 'product'?); allowed: product, zip"}
    design = dict(files.design_message({"base": BASE, "search": "treshold", "scale": "LOG"})[2])
    assert design["search"] == ("'treshold' is not allowed (did you mean 'threshold'?); allowed: threshold, "
                                "strength_duration, window, minimise")
    assert design["scale"] == "'LOG' is not allowed (did you mean 'log'?); allowed: log, linear"


def test_out_of_range_and_wrong_types_name_the_bound():
    found = dict(files.sweep_message({"base": BASE, "axes": [
        {"path": "a", "linspace": {"start": 1, "stop": 2, "num": -3}},
        {"path": "b", "logspace": {"start": 1, "stop": 2, "num": 2**32}},
        {"path": "c", "values": [1, "two", True]}], "keep_fields": "yes"})[2])
    assert found["axes[0].linspace.num"] == ("-3 is not allowed; must be a whole number >= 1 and <= 4294967295 "
                                             "(uint32) (an axis needs at least one value)")
    assert found["axes[1].logspace.num"].startswith("4294967296 is not allowed; must be a whole number >= 1 and "
                                                    "<= 4294967295")
    assert found["axes[2].values[1]"] == "'two' is not allowed; must be a number"
    assert found["axes[2].values[2]"] == "True is not allowed; must be a number"
    assert found["keep_fields"] == "'yes' is not allowed; must be true or false"
    design = dict(files.design_message({"base": BASE, "points": -1, "range": "0.1..1", "space": {"a": 3}})[2])
    assert design["points"].startswith("-1 is not allowed; must be a whole number >= 0 and <= 4294967295")
    assert design["range"] == "'0.1..1' is not allowed; must be a list"
    assert design["space.a"] == "3 is not allowed; must be a list"


def test_every_problem_of_a_file_at_once_and_the_rest_still_parsed():
    msg, _, problems = files.sweep_message({"name": "n", "base": BASE, "combine": "zipp", "bogus": 1,
                                            "axes": [{"path": "a", "values": [1, 2]},
                                                     {"path": "b", "linspace": {"start": 0, "stop": 1, "num": -1}}]})
    assert [f for f, _ in problems] == ["combine", "bogus", "axes[1].linspace.num"]
    # what was fine is in the message, so that later checks can report their own problems beside these
    assert msg.name == "n" and list(msg.axes[0].values) == [1.0, 2.0] and msg.axes[1].path == "b"


def test_a_design_file_round_trips_through_its_message():
    doc = {"name": "d", "base": BASE, "set": {"numerics.duration_ms": 350}, "protocol": "pacing",
           "protocol_parameters": {"site": "spot", "radius_um": 100, "region": {"disk": {"radius_um": 5}}},
           "search": "window", "parameter": "interval_ms", "values": {"start": 30, "stop": 150, "num": 5},
           "tolerance": 5, "criterion": ["spiral_rotations >= 3", {"metric": "propagated", "op": ">=", "value": 1}],
           "analysis": {"threshold": 0.4}, "points": 4}
    msg, _, problems = files.design_message(doc)
    assert problems == [] and msg.search == service_pb2.DESIGN_SEARCH_WINDOW and msg.HasField("tolerance")
    back = files.to_document(msg)
    # whole numbers come back whole (a window's num is a count), the rest as given
    assert {k: v for k, v in back.items() if k != "base"} == {**{k: v for k, v in doc.items() if k != "base"},
                                                              "tolerance": 5.0}
    assert isinstance(back["values"]["num"], int) and back["base"] == json_format.MessageToDict(
        msg.base, preserving_proto_field_name=True)


def test_base_missing_or_unreadable_is_named_base():
    assert files.sweep_message({"axes": []})[2] == [("base", "missing: give the base job spec (a file name or "
                                                             "the spec inline)")]
    found = dict(files.sweep_message({"base": {**BASE, "grid": {"nx": 8, "ny": 4, "dxUM": 1}}})[2])
    assert found["base.grid.dxUM"].startswith("unknown field 'dxUM' (did you mean 'dx_um'?)")
    assert files.sweep_message("axes: []")[2] == [("sweep", "must be a mapping of name, base, axes, combine, "
                                                            "keep_fields, analysis, zip_dim, metrics; got str")]
