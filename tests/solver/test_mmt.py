"""Myokit ``.mmt`` models imported as descriptions: their meaning is Myokit's own, their faults name the line.

The reference is Myokit: ``model.evaluate_derivatives()`` of the file as Myokit reads it (pacing off), at many
states, against the description's right-hand sides evaluated by the expression language's own tree walker
(:func:`solver.models.expr.evaluate`), and against the same model written by hand.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from solver.models import expr
from solver.models.description import ModelDescription
from solver.models.mmt import MmtError, load_mmt

myokit = pytest.importorskip("myokit")

DATA = Path(__file__).resolve().parent.parent / "data"
HH_MMT = DATA / "hh_squid.mmt"
HH_JSON = DATA / "hh_squid.model.json"


def rates(desc: dict, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """d(state)/dt of every state (the voltage's included) of a description, evaluated with the language."""
    env = {p["name"]: p["value"] for p in desc["parameters"]} | dict(values)
    for x in desc["intermediates"]:
        env[x["name"]] = expr.evaluate(expr.parse(x["expression"]), env)
    total = 0.0
    for c in desc["currents"]:
        env[c["name"]] = expr.evaluate(expr.parse(c["expression"]), env)
        total = total + env[c["name"]]
    out = {desc["voltage"]["name"]: -total}
    for s in desc["states"]:
        x = env[s["name"]]
        if "derivative" in s:
            out[s["name"]] = expr.evaluate(expr.parse(s["derivative"]), env) + 0 * x
            continue
        g = {k: expr.evaluate(expr.parse(t), env) for k, t in s["gate"].items()}
        out[s["name"]] = g["alpha"] * (1 - x) - g["beta"] * x if "alpha" in g else (g["inf"] - x) / g["tau"]
    return out


def myokit_rates(path: Path, states: np.ndarray) -> np.ndarray:
    """Myokit's derivatives (n, n_states) at each row of ``states`` (Myokit's state order), stimulus off."""
    model = myokit.load_model(str(path))
    stimulus = model.label("stimulus_current")
    if stimulus is not None:   # what optowave's import does: the cell is driven by optowave's own stimuli
        stimulus.set_rhs(0)
    return np.array([model.evaluate_derivatives(list(row), inputs={"pace": 0.0}) for row in states])


def random_states(path: Path, n: int, rng, *, v_range=(-100.0, 50.0)) -> tuple[list, np.ndarray]:
    """Myokit's state names (qualified) and n random states: V in ``v_range``, the others in (0, 1)."""
    model = myokit.load_model(str(path))
    names = [x.qname() for x in model.states()]
    out = rng.uniform(0.001, 0.999, (n, len(names)))
    k = next(i for i, x in enumerate(model.states()) if x.label() == "membrane_potential" or x.name() == "V")
    out[:, k] = rng.uniform(*v_range, n)
    return names, out


def test_imported_squid_axon_is_myokit_s_model_and_the_hand_written_one():
    imported, hand = load_mmt(HH_MMT), json.loads(HH_JSON.read_text())
    # the same variables, values, units and initial state
    assert imported["voltage"] == hand["voltage"]
    assert [(p["name"], p["value"], p["units"]) for p in imported["parameters"]] == \
        [(p["name"], p["value"], p["units"]) for p in hand["parameters"]]
    assert [(s["name"], s["initial"], sorted(s["gate"])) for s in imported["states"]] == \
        [(s["name"], s["initial"], sorted(s["gate"])) for s in hand["states"]]   # m, n alpha/beta; h inf/tau
    assert [c["name"] for c in imported["currents"]] == ["INa", "IK", "IL"]      # per channel, A/F
    assert imported["source"]["file"] == "hh_squid.mmt" and len(imported["source"]["sha256"]) == 64
    assert ModelDescription.from_dict(imported).to_dict() == imported   # a valid description, as written

    rng = np.random.default_rng(19)
    qnames, states = random_states(HH_MMT, 300, rng)
    states = states[np.abs(states[:, 0] + 50) > 1e-3]   # alpha_m is 0/0 at V = -50 in every form
    reference = myokit_rates(HH_MMT, states)
    values = {q.split(".")[-1]: states[:, k] for k, q in enumerate(qnames)}
    for desc in (imported, hand):
        got = rates(desc, values)
        for k, q in enumerate(qnames):
            np.testing.assert_allclose(got[q.split(".")[-1]], reference[:, k], rtol=1e-9, atol=1e-12, err_msg=q)


def test_a_four_gate_model_has_every_state_a_gate_and_myokit_s_derivatives():
    """``hh_m_current.mmt`` (the squid axon plus a slow M-type K+ gate): four gates of V alone, the model a lookup
    table takes whole, imported with Myokit's meaning."""
    path = DATA / "hh_m_current.mmt"
    desc = load_mmt(path)
    ModelDescription.from_dict(desc)
    assert [(s["name"], sorted(s["gate"])) for s in desc["states"]] == [
        ("m", ["alpha", "beta"]), ("h", ["inf", "tau"]), ("n", ["alpha", "beta"]), ("w", ["inf", "tau"])]
    assert [c["name"] for c in desc["currents"]] == ["INa", "IK", "IM", "IL"]
    qnames, states = random_states(path, 200, np.random.default_rng(5))
    states = states[np.abs(states[:, 0] + 50) > 1e-3]
    reference = myokit_rates(path, states)
    got = rates(desc, {q.split(".")[-1]: states[:, k] for k, q in enumerate(qnames)})
    for k, q in enumerate(qnames):
        np.testing.assert_allclose(got[q.split(".")[-1]], reference[:, k], rtol=1e-9, atol=1e-12, err_msg=q)


def test_the_description_is_the_same_in_every_process(tmp_path):
    """Same file, same description text (so the same content hash and the kernel cache hit), whatever the order
    Python's hashing gives sets of variables in a process."""
    import os
    import subprocess

    path = tmp_path / "features.mmt"
    path.write_text(FEATURES_MMT)
    code = "import json, sys; from solver.models.mmt import load_mmt; print(json.dumps(load_mmt(sys.argv[1])))"
    root = Path(__file__).resolve().parents[2]
    outs = [subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": f"{root}:{root / 'protos'}"},
                           cwd=root).stdout for seed in ("1", "2", "3")]
    assert outs[0] == outs[1] == outs[2] == json.dumps(load_mmt(path)) + "\n"


def test_an_unlabelled_pacing_term_is_dropped_like_the_labelled_stimulus(tmp_path):
    """``i_stim = pace * amplitude`` without its label: zero once the pacing is, so dropped, not a current."""
    path = tmp_path / "hh_unlabelled.mmt"
    path.write_text(HH_MMT.read_text().replace("    label stimulus_current\n", ""))
    unlabelled, labelled = load_mmt(path), load_mmt(HH_MMT)
    unlabelled.pop("source"), labelled.pop("source")
    assert unlabelled == labelled


def test_currents_scale_with_the_capacitance_the_voltage_equation_divides_by(tmp_path):
    """With C = 2 uF/cm^2 each current is the channel's uA/cm^2 over C: dV/dt halves, in A/F."""
    text = HH_MMT.read_text().replace("C = 1 [uF/cm^2]", "C = 2 [uF/cm^2]")
    path = tmp_path / "hh_c2.mmt"
    path.write_text(text)
    desc = load_mmt(path)
    values = {"V": np.array([-20.0]), "m": np.array([0.3]), "h": np.array([0.4]), "n": np.array([0.5])}
    env = dict(values, E_Na=-75.0 + 115)
    ina = 120.0 * 0.3**3 * 0.4 * (-20.0 - env["E_Na"])   # uA/cm^2, by hand
    got = {c["name"]: expr.evaluate(expr.parse(c["expression"]), {p["name"]: p["value"] for p in desc["parameters"]}
                                    | values | {"E_Na": 40.0, "E_K": -87.0, "E_L": -64.387}) for c in desc["currents"]}
    assert float(got["INa"][0]) == pytest.approx(ina / 2.0, rel=1e-12)


# A model that exercises what the squid axon does not: derivative states, a current sum opened, a constant
# factor in front, a term written inline (lumped), names shared by two components, if/piecewise/log10/log(a, b),
# powers and signs whose grouping matters, a labelled stimulus that depends on time.
FEATURES_MMT = """[[model]]
name: feature-test 1
membrane.V = -60
gk.n = 0.3
gk.q = 0.5
conc.ca = 0.2

[engine]
time = 0 [ms]
    in [ms]
    bind time
pace = 0
    bind pace

[membrane]
dot(V) = -1 / C * (i_ion + stim.i_stim) - g_bg * (V + 40)
    label membrane_potential
    in [mV]
i_ion = gk.I + gna.I - ical.I
C = 1.5
g_bg = 0.01

[stim]
i_stim = if(engine.time < 1, -30, 0) * (1 + engine.pace)
    label stimulus_current

[gk]
use membrane.V
g = 2
I = g * n^2 * q * (V + 85)
dot(n) = (inf - n) / tau
    inf = 1 / (1 + exp(-(V + 30) / 8))
    tau = 2 + piecewise(V < -40, 5, V < 0, 3, 1)
dot(q) = 0.1 * (1 - q) - 0.02 * q * (1 + conc.ca)

[gna]
use membrane.V
g = 5
I = g * if(V > -50 and not (V > 20), 1, 0.5) * (V - 50)

[ical]
use membrane.V
I = -0.1 * conc.ca * (V - 60)

[conc]
use membrane.V
dot(ca) = -0.01 * ical.I - (ca - 0.1) / 80 + weird
    desc: free calcium, a pool the L-type current fills
weird = -(2^3^0.5) * 1e-3 + (ca - (ca - 0.05)) / 10 - -ca^2 / 100 + log10(1 + ca) - log(2 + ca, 3) / 5
"""


def test_derivative_states_summed_currents_and_the_language_s_grouping_agree_with_myokit(tmp_path):
    path = tmp_path / "features.mmt"
    path.write_text(FEATURES_MMT)
    desc = load_mmt(path)
    assert desc["name"] == "feature_test_1"
    kinds = {s["name"]: ("gate" if "gate" in s else "derivative") for s in desc["states"]}
    assert kinds == {"n": "gate", "q": "derivative", "ca": "derivative"}   # q depends on ca: not a gate
    names = [c["name"] for c in desc["currents"]]
    # i_ion opened into its channels (the two components' ``I`` and ``g`` get their component's name)
    assert names[:3] == ["gk_I", "gna_I", "ical_I_current"] and names[3] == "I_ion"   # g_bg's term: lumped
    assert {"gk_g", "gna_g"} <= {p["name"] for p in desc["parameters"]}
    assert "stim" not in json.dumps(desc) and "time" not in json.dumps(desc)
    ModelDescription.from_dict(desc)   # valid: names unique, gates in V and parameters, currents not referred to
    assert desc["states"][2]["description"] == "free calcium, a pool the L-type current fills"   # Myokit's desc:

    rng = np.random.default_rng(7)
    qnames, states = random_states(path, 400, rng, v_range=(-90.0, 40.0))
    reference = myokit_rates(path, states)
    values = {q.split(".")[-1]: states[:, k] for k, q in enumerate(qnames)}
    got = rates(desc, values)
    for k, q in enumerate(qnames):
        np.testing.assert_allclose(got[q.split(".")[-1]], reference[:, k], rtol=1e-12, atol=1e-14, err_msg=q)


@pytest.mark.parametrize("edit,anchor,words", [
    # a syntax error: Myokit's parser names the line
    (lambda t: t.replace("g = 5\n", "g = 5 +\n"), "g = 5 +", ["Syntax error", "expression"]),
    # a function the language does not have
    (lambda t: t.replace("(V - 50)", "sin(V - 50)"), "I = g * if(", ["gna.I", "sin()"]),
    (lambda t: t.replace("tau = 2 +", "tau = floor(2.5) +"), "tau = floor", ["gk.n.tau", "floor()"]),
    # dV/dt depending on time other than through the labelled stimulus
    (lambda t: t.replace("    label stimulus_current\n", ""), "dot(V)", ["membrane.V", "time", "stimulus_current"]),
    # the membrane potential in a unit that is not a voltage
    (lambda t: t.replace("    in [mV]\n", "    in [A]\n"), "dot(V)", ["membrane.V", "[A]", "cannot be converted"]),
])
def test_an_unsupported_mmt_is_refused_naming_the_file_line_and_variable(tmp_path, edit, anchor, words):
    path = tmp_path / "bad.mmt"
    text = edit(FEATURES_MMT)
    assert text != FEATURES_MMT
    path.write_text(text)
    line = next(k for k, row in enumerate(text.splitlines(), 1) if anchor in row)
    with pytest.raises(MmtError) as info:
        load_mmt(path)
    message = str(info.value)
    assert info.value.line == line and message.startswith(f"{path} line {line}: "), message
    assert "\n" not in message
    for word in words:
        assert word in message, message


VOLTS_SECONDS_MMT = """[[model]]
name: volts_and_seconds
membrane.V = -0.075
gx.x = 0.1

[engine]
time = 0 [s]
    in [s]
    bind time

[membrane]
dot(V) = -(leak.I + gx.I)
    in [V]
    label membrane_potential

[leak]
use membrane.V
g = 300 [S/F]
    in [S/F]
E = -0.065 [V]
    in [V]
I = g * (V - E)
    in [V/s]

[gx]
use membrane.V
g = 2000 [S/F]
    in [S/F]
I = g * x * (V - 0.05 [V])
    in [V/s]
dot(x) = (inf - x) / tau
    inf = 1 / (1 + exp(-(V + 0.04 [V]) / 0.005 [V]))
    tau = 0.002 [s]
        in [s]
"""


def test_a_model_in_volts_and_seconds_is_converted_to_mv_and_ms(tmp_path):
    """Myokit's unit conversion: V in mV (its initial value too), time in ms, the gate kept as a gate."""
    path = tmp_path / "vs.mmt"
    path.write_text(VOLTS_SECONDS_MMT)
    desc = load_mmt(path)
    assert desc["voltage"] == {"name": "V", "units": "mV", "initial": -75.0}
    assert sorted(desc["states"][0]["gate"]) == ["inf", "tau"]
    rng = np.random.default_rng(3)
    v_mv, x = rng.uniform(-90.0, 40.0, 200), rng.uniform(0.0, 1.0, 200)
    reference = myokit_rates(path, np.column_stack([v_mv / 1000.0, x]))   # V/s and 1/s
    got = rates(desc, {"V": v_mv, "x": x})
    # V/s is mV/ms; a rate per second is a thousandth of itself per ms
    np.testing.assert_allclose(got["V"], reference[:, 0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got["x"], reference[:, 1] / 1000.0, rtol=1e-12, atol=1e-15)


MYOKIT_DATA = Path(myokit.__file__).resolve().parent / "tests" / "data"


@pytest.mark.parametrize("name,currents", [
    ("lr-1991.mmt", ["INa", "IK", "Ib", "IKp", "IK1", "ICa_current"]),
    ("beeler-1977-model.mmt", ["IK1", "Ix1", "INa", "Isi_current"]),
    ("noble-1962.mmt", ["iNa", "iK", "iLeak"]),
])
def test_published_models_from_myokit_s_own_files_agree_with_myokit(name, currents):
    """Luo-Rudy 1991, Beeler-Reuter 1977, Noble 1962 as Myokit ships them (not written for these tests): per
    channel currents, the coupling input ``bind diffusion_current`` dropped, derivatives equal to Myokit's."""
    path = MYOKIT_DATA / name
    if not path.is_file():
        pytest.skip(f"this Myokit installation does not ship its test data ({path})")
    desc = load_mmt(path)
    ModelDescription.from_dict(desc)
    assert [c["name"] for c in desc["currents"]] == currents
    qnames, states = random_states(path, 200, np.random.default_rng(1), v_range=(-90.0, 40.0))
    reference = myokit_rates(path, states)
    names = {s["name"] for s in desc["states"]} | {desc["voltage"]["name"]}
    values = {q.split(".")[-1]: states[:, k] for k, q in enumerate(qnames)}
    assert set(values) == names
    got = rates(desc, values)
    for k, q in enumerate(qnames):
        np.testing.assert_allclose(got[q.split(".")[-1]], reference[:, k], rtol=1e-13, atol=1e-15, err_msg=q)


def test_an_input_optowave_does_not_supply_is_refused_naming_its_user(tmp_path):
    text = FEATURES_MMT.replace("pace = 0\n    bind pace\n", "pace = 0\n    bind pace\nrt = 0 bind realtime\n")
    text = text.replace("dot(ca) = -0.01 * ical.I", "dot(ca) = -0.01 * ical.I * (1 + engine.rt)")
    path = tmp_path / "rt.mmt"
    path.write_text(text)
    line = next(k for k, row in enumerate(text.splitlines(), 1) if row.startswith("dot(ca)"))
    with pytest.raises(MmtError, match=rf"rt\.mmt line {line}: conc\.ca: uses engine\.rt, bound to 'realtime', which "
                                       "optowave does not supply"):
        load_mmt(path)


def test_a_model_without_a_membrane_potential_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "novm.mmt"
    path.write_text("[[model]]\nx.a = 1\n\n[engine]\ntime = 0 bind time\n\n[x]\ndot(a) = -a\n")
    with pytest.raises(MmtError, match=r"novm\.mmt: no membrane potential: label its state `label "
                                       r"membrane_potential`, or name it V in a \[membrane\] component"):
        load_mmt(path)


@pytest.mark.parametrize("content,expect", [
    (b"\x00\x80" * 100, r"not a text file \(byte 1 is not UTF-8\)"),
    ("[[model]]\nmembrane.V = -80\n[engine]\ntime = 0 bind time\n[membrane]\ndot(V) = -" + "(" * 3000 + "V"
     + ")" * 3000 + "\n    label membrane_potential\n", "an expression nested too deeply"),
    (b"# " + b"x" * (4 * 2**20), r"4194306 bytes; a model file is at most 4194304 bytes"),
    ("[[protocol]]\n1.0 5.0 0.5 1000 0\n", r"no \[\[model\]\] section"),
    ("", r"no \[\[model\]\] section"),
])
def test_hostile_files_get_one_line_naming_the_file(tmp_path, content, expect):
    path = tmp_path / "hostile.mmt"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(MmtError, match=rf"^{path}: {expect}") as info:
        load_mmt(path)
    assert "\n" not in str(info.value)


def test_without_myokit_the_error_names_the_optional_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "myokit", None)   # import myokit now raises ImportError
    with pytest.raises(MmtError, match=r"needs Myokit, optowave's optional extra: pip install 'optowave\[myokit\]'"):
        load_mmt(HH_MMT)
