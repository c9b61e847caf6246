"""The presets, built from their descriptions with generated kernels: HEK against the hand-written NumPy
reference and hek.py's physics, the generic media against theirs (within 1e-12)."""

from __future__ import annotations

import numpy as np
import pytest

from solver.models import generic, get_model, hek, reference
from solver.models.codegen import _reference, cell_model
from solver.models.presets import generic_media, hek_gokhale2017
from tests.solver.test_kernel_vs_reference import make_problem


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("preset", hek_gokhale2017.PRESETS)
def test_the_hek_presets_run_their_generated_kernel_as_the_hand_written_reference(preset, order):
    """The mixed sheet of test_kernel_vs_reference (mask, g_K1 map, light on CheRiff, a current
    stimulus), 50 steps in two calls, float64: the registry's kernel is the description's, and every state
    variable follows the hand-written NumPy reference (kir_instantaneous = the description's gate kind)."""
    model, y0, a = make_problem(preset)
    assert model.kernel.module is cell_model(model.description).kernel.module  # generated from the description
    assert model.state_names == hek.HEK_STATE_NAMES
    # the last parameter, kir_instantaneous, is the description's choice of gate kind (fixed per preset): the
    # generated kernel reads the description's parameters, which come first, and ignores it
    switch = hek.HEK_PRESETS[preset]["kir_instantaneous"]
    assert model.param_names == hek.HEK_PARAM_NAMES == model.description.param_names + ("kir_instantaneous",)
    assert model.param_bounds["kir_instantaneous"] == (switch, switch)
    instant = [s.name for s in model.description.states if s.gate.kind == "instantaneous"]
    assert instant == (["n1", "n2"] if switch else [])
    ya, yb = y0.copy(), y0.copy()
    for steps in (30, 20):
        if model.kernel(ya, yb, steps, 0.01, a["wx"], a["wy"], a["active"], a["params"], a["pidx"], a["pmaps"],
                        a["iext"], True, a["oparams"], a["gop"], a["flux"], order=order):  # fmt: skip
            ya, yb = yb, ya
    ref = y0.copy()
    for _ in range(50):
        ref = reference.hek_reference_step(ref, 0.01, **a, order=order)
    active = a["active"] != 0
    # the sheet fired (the bistable sheet, with no sodium current, is pushed up to its upper state)
    assert np.abs(ref[0] - y0[0]).max() > (50.0 if preset != "hek_bistable" else 20.0)
    rel = np.abs(ya - ref)[:, active].max() / np.abs(ref[:, active]).max()
    assert rel < 1e-12
    if instant:  # the gates were stored at n∞ of the new V
        cell = tuple(np.argwhere(active)[0])
        assert ya[4][cell] == pytest.approx(model.steady_state_at(ya[0][cell])["n1"], rel=1e-13)


@pytest.mark.parametrize("preset", hek_gokhale2017.PRESETS)
def test_described_hek_rest_and_currents_are_the_presets(preset):
    """The description's currents against hek.py's NumPy physics (the preset's switch given to it)."""
    model = get_model(preset)
    p = {**model.full_params(), "kir_instantaneous": hek.HEK_PRESETS[preset]["kir_instantaneous"]}
    rest = hek.rest_state(p)
    assert model.description.voltage.initial == pytest.approx(rest["v"], rel=1e-15)
    v = np.linspace(-120.0, 60.0, 37)
    state = {k: np.full(v.shape, x) for k, x in hek.steady_state_at(-50.0, p).items()} | {"v": v}
    described = sum(_reference.currents(model.description, state, model.full_params()).values())
    np.testing.assert_allclose(described, hek.ionic_current(state, p), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("preset", generic_media.PRESETS)
def test_described_generic_media_follow_the_hand_written_reference(preset, order):
    """The mixed sheet (mask, a parameter map, a current stimulus on part of it), 50 steps in two calls: the
    registry's kernel is generated from the description and follows the hand-written NumPy reference within
    1e-12; the run's stepper (fields kept per run, uniform rows on scalars) gives the same bits as the kernel."""
    model, y0, a = make_problem(preset)
    assert model.kernel.module is cell_model(model.description).kernel.module  # generated from the description
    assert model.dimensionless and not model.supports_opsin
    assert model.param_names == tuple(generic.GENERIC_SPECS[preset]["defaults"])
    out = []
    for kernel in (model.kernel, model.kernel.stepper()):
        ya, yb = y0.copy(), y0.copy()
        for steps in (30, 20):
            if kernel(ya, yb, steps, model.default_dt_ms, a["wx"], a["wy"], a["active"], a["params"], a["pidx"],
                      a["pmaps"], a["iext"], False, a["oparams"], a["gop"], a["flux"], order=order):  # fmt: skip
                ya, yb = yb, ya
        out.append(ya)
    assert np.array_equal(out[0], out[1])
    step = getattr(reference, f"{preset}_reference_step")
    ref = y0.copy()
    for _ in range(50):
        ref = step(ref, model.default_dt_ms, **a, order=order)
    active = a["active"] != 0
    assert np.abs(ref - y0)[:, active].max() > 0.5  # the sheet moved (an excited corner spreads)
    rel = np.abs(out[0] - ref)[:, active].max() / np.abs(ref[:, active]).max()
    assert rel < 1e-12


@pytest.mark.parametrize("order", [1, 2])
def test_described_bistable_reference_and_tables_follow_the_hand_written_reference(order):
    """hek_bistable's instantaneous Kir2.1 gates through the generated NumPy reference (walking the trees)
    against the hand-written reference with ``kir_instantaneous = 1``, and its lookup-table kernel (every gate
    from the tables, the instantaneous ones read at V and again at the new V) against its exact kernel."""
    new, y0, a = make_problem("hek_bistable")
    p_new = a
    ref_old, ref_new = y0.copy(), y0.copy()
    for _ in range(40):
        ref_old = reference.hek_reference_step(ref_old, 0.01, **a, order=order)
        ref_new = new.reference_step(ref_new, 0.01, **a, order=order)
    active = a["active"] != 0
    assert np.abs(ref_old[0] - y0[0])[active].max() > 20.0
    assert np.abs(ref_new - ref_old)[:, active].max() / np.abs(ref_old[:, active]).max() < 1e-12
    out = []
    for step in (new.kernel, cell_model(new.description).lookup_tables.stepper()):
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
