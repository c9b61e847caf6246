"""The model description: round trip, content hash, and errors that name the field."""

from __future__ import annotations

import copy

import pytest

from solver.models.description import DescriptionError, ModelDescription
from tests.solver.hh_definition import HH_DEFINITION


def _with(change) -> dict:
    d = copy.deepcopy(HH_DEFINITION)
    change(d)
    return d


def test_round_trip_through_the_json_form():
    desc = ModelDescription.from_dict(HH_DEFINITION)
    again = ModelDescription.from_dict(desc.to_dict())
    assert again == desc and again.content_hash == desc.content_hash
    assert desc.state_names == ("v", "m", "h", "n", "ca")
    assert desc.states[1].gate.kind == "inf_tau" and desc.states[0].gate.kind == "alpha_beta"


def test_content_hash_follows_the_code_not_the_values():
    base = ModelDescription.from_dict(HH_DEFINITION).content_hash
    values = _with(lambda d: (d["parameters"][0].update(value=100.0), d["states"][0].update(initial=0.1),
                              d.update(description="another text")))  # fmt: skip
    assert ModelDescription.from_dict(values).content_hash == base
    code = _with(lambda d: d["currents"][2].update(expression="g_L*(v - E_L)"))
    assert ModelDescription.from_dict(code).content_hash != base


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["states"][0]["gate"].update(alpha="0.1*(v+40)*h"),
         "definition.states[0].gate.alpha (m.alpha): unknown name 'h'; allowed: "),
        (lambda d: d["states"][1]["gate"].update(tau="os.system(1)"), "definition.states[1].gate.tau (h.tau): "
         "attribute access"),
        (lambda d: d["states"][3].update(gate={"inf": "1", "tau": "1"}),
         "definition.states[3]: state 'ca' needs exactly one of 'gate' and 'derivative'"),
        (lambda d: d["states"][2]["gate"].pop("beta"),
         "definition.states[2].gate: gate 'n' needs either 'inf' and 'tau' or 'alpha' and 'beta'"),
        (lambda d: d["states"][1]["gate"].update(instantaneous=True),
         "definition.states[1].gate: the instantaneous gate 'h' needs 'inf' and nothing else"),
        (lambda d: d["states"][1]["gate"].update(instantaneous="yes"),
         "definition.states[1].gate.instantaneous: must be true or false, got 'yes'"),
        (lambda d: d["currents"][0].update(expression="g_Na*m^3*h*(v - E_Na)*inv_C + I_K"),
         "definition.currents[0].expression (I_Na): unknown name 'I_K'"),
        (lambda d: d["intermediates"][0].update(expression="1/C_m + later"), "unknown name 'later'"),
        (lambda d: d["parameters"][2].update(value=500.0),
         "definition.parameters[2].value: g_L = 500.0 is outside its range [0.0, 100.0]"),
        (lambda d: d["parameters"][2].update(name="g_K"),
         "definition.parameters[2].name: 'g_K' is already the name of definition.parameters[1]"),
        (lambda d: d["states"][0].update(name="exp"), "definition.states[0].name: 'exp' cannot name a variable"),
        (lambda d: d["states"][0].update(colour="red"), "definition.states[0]: unknown field 'colour'; allowed: "),
        (lambda d: d.update(name="hek_bistable"), "definition.name: 'hek_bistable' is the name of a preset"),
        (lambda d: d["parameters"][0].update(value="120"), "definition.parameters[0].value: must be a number"),
        (lambda d: d.pop("voltage"), "definition.voltage: must be an object"),
    ],
)
def test_errors_name_the_field(change, message):
    with pytest.raises(DescriptionError) as err:
        ModelDescription.from_dict(_with(change))
    assert message in str(err.value)
