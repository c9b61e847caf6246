"""Presets written as descriptions, run on the generated kernels, against the hand-written kernels
that serve them in the registry (same arithmetic but for the order of a few products: within 1e-12)."""

from __future__ import annotations

import numpy as np
import pytest

from solver.models import get_model
from solver.models.codegen import model_from_dict
from solver.models.presets import generic_media, hek_gokhale2017
from tests.solver.test_kernel_vs_reference import make_problem


@pytest.fixture(autouse=True)
def _kernel_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("OPTOWAVE_KERNEL_CACHE", str(tmp_path_factory.getbasetemp() / "kernels"))


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("preset", hek_gokhale2017.PRESETS)
def test_described_hek_equals_the_hand_written_kernel(preset, order):
    """The mixed sheet of test_kernel_vs_reference (mask, g_K1 map, light on CheRiff, a current
    stimulus), 50 steps in two calls, float64: every state variable within 1e-12 relative."""
    old, y0, a = make_problem(preset)
    new = model_from_dict(hek_gokhale2017.description(preset))
    assert new.state_names == old.state_names
    # the preset's last parameter, kir_instantaneous, is the description's choice of gate kind
    n = len(new.param_names)
    assert new.param_names == old.param_names[:n] and old.param_names[n:] == ("kir_instantaneous",)
    instant = [s.name for s in new.description.states if s.gate.kind == "instantaneous"]
    assert instant == (["n1", "n2"] if old.defaults["kir_instantaneous"] else [])
    np.testing.assert_array_equal(new.params_array(), old.params_array()[:n])
    out = []
    for model, params, pidx in ((old, a["params"], a["pidx"]), (new, a["params"][:n].copy(), a["pidx"][:n].copy())):
        ya, yb = y0.copy(), y0.copy()
        for steps in (30, 20):
            if model.kernel(ya, yb, steps, 0.01, a["wx"], a["wy"], a["active"], params, pidx, a["pmaps"], a["iext"],
                            True, a["oparams"], a["gop"], a["flux"], order=order):  # fmt: skip
                ya, yb = yb, ya
        out.append(ya)
    active = a["active"] != 0
    # the sheet fired (the bistable sheet, with no sodium current, is pushed up to its upper state)
    assert np.abs(out[0][0] - y0[0]).max() > (50.0 if preset != "hek_bistable" else 20.0)
    if instant:  # the gates were stored at n∞ of the new V
        n_inf = get_model(preset).steady_state_at
        cell = tuple(np.argwhere(active)[0])
        assert out[1][4][cell] == pytest.approx(n_inf(out[1][0][cell])["n1"], rel=1e-13)
    rel = np.abs(out[1] - out[0])[:, active].max() / np.abs(out[0][:, active]).max()
    assert rel < 1e-12


@pytest.mark.parametrize("preset", hek_gokhale2017.PRESETS)
def test_described_hek_rest_and_currents_are_the_presets(preset):
    old = get_model(preset)
    new = model_from_dict(hek_gokhale2017.description(preset))
    rest = old.rest_state()
    assert new.rest_state() == pytest.approx(rest, rel=1e-15)
    v = np.linspace(-120.0, 60.0, 37)
    state = old.steady_state_at(-50.0)
    state = {k: np.full(v.shape, x) for k, x in state.items()} | {"v": v}
    np.testing.assert_allclose(new.ionic_current(state), old.ionic_current(state), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("preset", generic_media.PRESETS)
def test_described_generic_media_equal_the_hand_written_kernels(preset, order):
    """The mixed sheet (mask, a parameter map, a current stimulus on part of it), 50 steps in two calls:
    the generated kernel of the description against the preset's vectorised kernel, within 1e-12."""
    old, y0, a = make_problem(preset)
    new = model_from_dict(generic_media.description(preset))
    assert new.param_names == old.param_names and new.dimensionless and not new.supports_opsin
    assert new.rest_state() == pytest.approx(old.rest_state(), rel=1e-15)
    out = []
    for model in (old, new):
        ya, yb = y0.copy(), y0.copy()
        for steps in (30, 20):
            if model.kernel(ya, yb, steps, old.default_dt_ms, a["wx"], a["wy"], a["active"], a["params"], a["pidx"],
                            a["pmaps"], a["iext"], False, a["oparams"], a["gop"], a["flux"], order=order):  # fmt: skip
                ya, yb = yb, ya
        out.append(ya)
    active = a["active"] != 0
    assert np.abs(out[0] - y0)[:, active].max() > 0.5  # the sheet moved (an excited corner spreads)
    rel = np.abs(out[1] - out[0])[:, active].max() / np.abs(out[0][:, active]).max()
    assert rel < 1e-12


@pytest.mark.parametrize("order", [1, 2])
def test_described_bistable_reference_and_tables_follow_the_hand_written_reference(order):
    """hek_bistable's instantaneous Kir2.1 gates through the generated NumPy reference (walking the trees)
    against the hand-written reference with ``kir_instantaneous = 1``, and its lookup-table kernel (every gate
    from the tables, the instantaneous ones read at V and again at the new V) against its exact kernel."""
    old, y0, a = make_problem("hek_bistable")
    new = model_from_dict(hek_gokhale2017.description("hek_bistable"))
    n = len(new.param_names)
    p_new = dict(a, params=a["params"][:n].copy(), pidx=a["pidx"][:n].copy())
    ref_old, ref_new = y0.copy(), y0.copy()
    for _ in range(40):
        ref_old = old.reference_step(ref_old, 0.01, **a, order=order)
        ref_new = new.reference_step(ref_new, 0.01, **p_new, order=order)
    active = a["active"] != 0
    assert np.abs(ref_old[0] - y0[0])[active].max() > 20.0
    assert np.abs(ref_new - ref_old)[:, active].max() / np.abs(ref_old[:, active]).max() < 1e-12
    out = []
    for step in (new.kernel, new.lookup_tables.stepper()):
        ya, yb = y0.copy(), y0.copy()
        if step(ya, yb, 40, 0.01, *(p_new[k] for k in ("wx", "wy", "active", "params", "pidx", "pmaps", "iext",
                                                        "has_opsin", "oparams", "gop", "flux")), order=order):
            ya, yb = yb, ya
        out.append(ya)
    # the kinetic gates and the instantaneous Kir2.1 gates (read at V and at the new V, as the hand-written
    # kernel) come from the tables: close, not equal
    dv = np.abs(out[1][0] - out[0][0])[active].max()
    assert 0.0 < dv < 1e-3
    dm = np.abs(out[1][1:4] - out[0][1:4])[:, active]
    assert 0.0 < dm.max() < 1e-3
    n_inf = new.steady_state_at
    cell = tuple(np.argwhere(active)[-1])
    # at the new V, to the table's accuracy (lut.MAX_INTERPOLATION_ERROR, float32 storage)
    assert out[1][4][cell] == pytest.approx(n_inf(out[1][0][cell])["n1"], rel=1e-3, abs=1e-6)
    assert out[1][5][cell] == out[1][4][cell]  # one inf column for both gates
