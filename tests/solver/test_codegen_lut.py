"""The lookup-table kernel generated from a description: its tables' accuracy check, the single-cell
figures against the generated exact kernel, a sheet, and a spec that asks for it."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import solver
from solver.engine import backends
from solver.models.codegen import model_from_dict
from solver.models.codegen._lut import lut_table
from solver.models.description import ModelDescription
from tests.solver.hh_definition import HH_DEFINITION
from tests.solver.test_codegen import _sheet
from tests.solver.test_model_definition_spec import _spec
from tests.solver.test_models_single_cell import _figures


@pytest.fixture(autouse=True)
def _kernel_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("OPTOWAVE_KERNEL_CACHE", str(tmp_path_factory.getbasetemp() / "kernels"))


def _single_cell(model, step, dt=0.01, amp=-20.0, t_on=1.0, t_off=1.5, t_end=25.0):
    """Rest, peak, max dV/dt and APD90 of one cell stimulated from t_on to t_off, one step per call."""
    rest = model.rest_state()
    ya = np.array([rest[s] for s in model.state_names]).reshape(-1, 1, 1)
    yb = ya.copy()
    zero, one = np.zeros((1, 1)), np.ones((1, 1), np.uint8)
    fixed = (zero, zero, one, model.params_array(), np.full(len(model.param_names), -1, np.int64), np.zeros((0, 1, 1)))
    v, dvdt = [float(ya[0, 0, 0])], []
    for k in range(int(round(t_end / dt))):
        iext = np.full((1, 1), amp if round(t_on / dt) <= k < round(t_off / dt) else 0.0)
        if step(ya, yb, 1, dt, *fixed, iext, False, np.zeros(10), zero, zero, order=2):
            ya, yb = yb, ya
        dvdt.append((float(ya[0, 0, 0]) - v[-1]) / dt)
        v.append(float(ya[0, 0, 0]))
    return _figures(dt * np.arange(len(v)), np.array(v), np.array([0.0, *dvdt]), v[0])


def test_lookup_tables_keep_the_single_cell_figures_within_half_a_percent_of_the_exact_kernel():
    model = model_from_dict(HH_DEFINITION)
    exact = _single_cell(model, model.kernel)
    tabulated = _single_cell(model, model.lookup_tables.stepper())
    assert exact["peak"] > 30.0 and exact["apd90"] > 1.0  # an action potential
    for key in ("peak", "dvdt", "apd90"):
        assert abs(tabulated[key] - exact[key]) <= 0.005 * abs(exact[key]), (key, tabulated[key], exact[key])
    assert tabulated != exact  # the tables, not the exact kernel, ran


@pytest.mark.parametrize("order", [1, 2])
def test_lookup_table_sheet_follows_the_exact_sheet(order):
    model = model_from_dict(HH_DEFINITION)
    y0, args = _sheet(model)
    out = []
    for step in (model.kernel, model.lookup_tables.stepper()):
        ya, yb = y0.copy(), y0.copy()
        for n in (30, 25):
            if step(ya, yb, n, 0.01, *args, order=order):
                ya, yb = yb, ya
        out.append(ya)
    active = args[2] != 0
    dv = np.abs(out[1][0] - out[0][0])[active]
    assert np.abs(out[0][0] - y0[0]).max() > 5.0
    assert 0.0 < dv.max() < 0.05  # mV after 55 steps; not zero: a different path ran


def test_tables_are_the_gate_kinetics_interpolated():
    """Column c of gate n at a row is 1 - exp(-dt/tau) from the 1952 rates, written here by hand."""
    desc = ModelDescription.from_dict(HH_DEFINITION)
    table = lut_table(desc, np.array([p.value for p in desc.parameters]), 0.01)
    v = -200.0 + 0.1 * 1234
    an = 0.01 * (v + 55) / (1 - np.exp(-(v + 55) / 10))
    bn = 0.125 * np.exp(-(v + 65) / 80)
    c = 1 - np.exp(-0.01 * (an + bn))
    np.testing.assert_allclose(table.table[1234, 4:6], [c, an / (an + bn) * c], rtol=1e-12)
    # the removable singularity of alpha_m at -40 mV, on a grid point, is filled in
    assert np.isfinite(table.table[1600]).all() and abs(-200.0 + 0.1 * 1600 + 40.0) < 1e-9


def test_a_gate_too_steep_for_the_grid_is_refused_naming_it():
    steep = copy.deepcopy(HH_DEFINITION)
    steep["states"][1]["gate"] = {"inf": "1/(1+exp((v+60)/0.02))", "tau": "5"}
    desc = ModelDescription.from_dict(steep)
    with pytest.raises(ValueError, match=r"gate 'h': linear interpolation on a 0.1 mV grid is off by .* at V = -(59.95|60.05) mV"):
        lut_table(desc, np.array([p.value for p in desc.parameters]), 0.01)


def test_a_spec_asks_for_the_tables_and_gets_them():
    spec = _spec()
    spec["numerics"]["lookup_tables"] = True
    problem = solver.prepare(solver.load_spec(spec))
    assert backends.uses_lookup_tables(problem)
    assert backends.stepper(problem).__qualname__.startswith("GeneratedLut.stepper")
    exact = _spec()
    assert not backends.uses_lookup_tables(solver.prepare(solver.load_spec(exact)))  # exact by default
    mapped = _spec()
    mapped["numerics"]["lookup_tables"] = True
    mapped["tissue"]["model"]["maps"] = [{"parameter": "g_Na", "field": {"raster": {"shape": [10, 12],
                                                                                  "values": [100.0] * 120}}}]
    assert backends.uses_lookup_tables(solver.prepare(solver.load_spec(mapped)))  # g_Na is not in a gate


def _decoded(packed: np.ndarray, n_cols: int) -> tuple[np.ndarray, np.ndarray]:
    words = packed.reshape(-1, n_cols)
    low = (words & np.uint64(0xFFFFFFFF)).astype(np.uint32).view(np.float32).astype(np.float64)
    high = (words >> np.uint64(32)).astype(np.uint32).view(np.float32).astype(np.float64)
    return low, high


def test_an_opsin_too_steep_for_the_grid_is_refused_naming_it():
    from solver.models.codegen._lut import packed_table
    from tests.solver.test_kernel_vs_reference import CHERIFF_LIKE

    desc = ModelDescription.from_dict(HH_DEFINITION)
    steep = CHERIFF_LIKE.copy()
    params = np.array([p.value for p in desc.parameters])
    steep[7] = 0.05  # v0 (mV): the rectification a step at E, beyond float64 far from it
    with pytest.raises(ValueError, match=r"the opsin's f_v\(V\)·\(V − E\): its lookup table is not finite near"):
        packed_table(desc, params, steep, 0.01)
    steep[7] = 0.5  # finite (to 1e112 mV at -200 mV), but no line between grid points follows it
    with pytest.raises(ValueError, match=r"the opsin's f_v\(V\)·\(V − E\): linear interpolation on a 0.1 mV grid"):
        packed_table(desc, params, steep, 0.01)
