"""``optowave model import`` / ``show``: a Myokit file to a description and back to a table; bad files exit 2."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from clients.cli import main

pytest.importorskip("myokit")

DATA = Path(__file__).resolve().parent.parent / "data"
HH_MMT = DATA / "hh_squid.mmt"
HH_JSON = DATA / "hh_squid.model.json"


def _rows(text: str) -> dict[str, list[str]]:
    """``model show``'s table rows by variable name: [kind, units, value, definition...]."""
    lines = text.splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith("kind "))
    return {cells[1]: [cells[0], *cells[2:]] for cells in (line.split() for line in lines[start + 1:])}


def test_import_writes_the_description_and_show_lists_the_same_model_from_either_file(tmp_path, capsys):
    from solver.models.mmt import load_mmt

    out = tmp_path / "hh.model.json"
    assert main(["model", "import", str(HH_MMT), "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"wrote {out}: model 'hh_squid_axon', 4 states (3 gates, 0 by derivative, and V), "
                           "5 parameters, 3 currents (INa, IK, IL)")
    written = json.loads(out.read_text())
    assert written == load_mmt(HH_MMT)

    assert main(["model", "show", str(out)]) == 0
    from_json = capsys.readouterr().out
    assert main(["model", "show", str(HH_MMT)]) == 0
    from_mmt = capsys.readouterr().out
    assert from_json == from_mmt
    assert from_mmt.splitlines()[1] == f"source: hh_squid.mmt (sha256 {written['source']['sha256'][:16]})"
    rows = _rows(from_mmt)
    hand = json.loads(HH_JSON.read_text())   # the model as written by hand: names, units, values
    for p in hand["parameters"]:
        assert rows[p["name"]][:3] == ["parameter", p["units"], f"{p['value']:g}"]
    for s in hand["states"]:
        assert rows[s["name"]][:3] == ["gate", "1", f"{s['initial']:g}"]
    assert rows["V"][:3] == ["voltage", "mV", "-75"]
    assert [name for name, row in rows.items() if row[0] == "current"] == ["INa", "IK", "IL"]
    assert all(rows[c][1] == "A/F" for c in ("INa", "IK", "IL"))


def test_import_without_output_writes_beside_the_mmt(tmp_path, capsys):
    mmt = tmp_path / "squid.mmt"
    mmt.write_text(HH_MMT.read_text())
    assert main(["model", "import", str(mmt)]) == 0
    assert json.loads((tmp_path / "squid.model.json").read_text())["name"] == "hh_squid_axon"


@pytest.mark.parametrize("preset", ["hek_bistable", "hek_gokhale2017_35c", "fitzhugh_nagumo"])
def test_show_of_a_preset_lists_its_parameters_with_the_registry_s_units_values_and_bounds(capsys, preset):
    """A preset by name (written as a description where one exists, with its equations): every parameter row
    holds the registry's units, default and lower bound."""
    from solver.models import MODELS

    assert main(["model", "show", preset]) == 0
    rows = _rows(capsys.readouterr().out)
    model = MODELS[preset]
    shown = [name for name, row in rows.items() if row[0] == "parameter"]
    assert shown and set(shown) <= set(model.param_names)
    for p in shown:
        lo, _ = model.param_bounds[p]
        units = model.param_units[p] or "1"
        assert rows[p][:4] == ["parameter", units, f"{model.defaults[p]:.6g}", f"[{lo:.6g},"], p
    assert rows[model.state_names[0]][:2] == ["voltage", model.state_units[0]]


@pytest.mark.parametrize("content,suffix,expect", [
    ("[[model]]\nmembrane.V = -80\n\n[membrane]\ndot(V) = -(V + 80) / 10 +\n    label membrane_potential\n",
     ".mmt", "line 5: Syntax error"),
    ("[[model]]\nmembrane.V = -80\n\n[engine]\ntime = 0 bind time\n\n[membrane]\n"
     "dot(V) = -sin(V + 80) / 10\n    label membrane_potential\n", ".mmt", "line 8: membrane.V: uses sin()"),
    ("[[model]]\nx.a = 1\n\n[engine]\ntime = 0 bind time\n\n[x]\ndot(a) = -a\n", ".mmt", ": no membrane potential"),
    ('{"name": "x",\n "voltage": }', ".json", "line 2: not JSON"),
])
def test_a_file_optowave_cannot_take_exits_2_with_one_line_naming_it(tmp_path, capsys, content, suffix, expect):
    path = tmp_path / f"bad{suffix}"
    path.write_text(content)
    for argv in (["model", "show", str(path)], ["model", "import", str(path), "-o", str(tmp_path / "o.json")]):
        if suffix == ".json" and argv[1] == "import":
            continue
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {path}") and expect in err and err.count("\n") == 1, err
    assert not (tmp_path / "o.json").exists()


def test_show_of_an_unknown_name_lists_the_presets(capsys):
    assert main(["model", "show", "hh_squid"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: hh_squid: not a .mmt file, a .json description or a preset; presets: ")
    assert "hek_bistable" in err
