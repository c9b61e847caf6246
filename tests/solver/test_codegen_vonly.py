"""The lookup-table kernel tabulates every costly expression of V alone, not only the gates: an inward
rectifier's ``1/(1+exp((v-E_K-15)/6))`` inside its current, and an intermediate of V alone."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from solver.models.codegen import model_from_dict
from solver.models.codegen._lut import gate_parameters, lut_kernel_source, lut_table
from solver.models.codegen._vonly import plan
from solver.models.description import ModelDescription
from tests.solver.hh_definition import HH_DEFINITION
from tests.solver.test_codegen_lut import _single_cell


@pytest.fixture(autouse=True)
def _kernel_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("OPTOWAVE_KERNEL_CACHE", str(tmp_path_factory.getbasetemp() / "kernels"))


def _with_kir() -> dict:
    d = copy.deepcopy(HH_DEFINITION)
    d["name"] = "hh_with_kir"
    d["parameters"].append({"name": "g_Kir", "value": 0.05, "units": "mS/cm^2", "min": 0.0, "max": 100.0})
    d["intermediates"].append({"name": "leak_rect", "expression": "1 + 0.2*tanh((v + 60)/20)", "units": "1"})
    d["currents"].append({"name": "I_Kir", "expression": "g_Kir*(v - E_K)/(1 + exp((v - E_K - 15)/6))*inv_C",
                          "units": "A/F"})
    d["currents"][2]["expression"] = "g_L*leak_rect*(v - E_L)*inv_C"
    return d


def test_costly_expressions_of_v_alone_become_table_columns():
    desc = ModelDescription.from_dict(_with_kir())
    p = plan(desc)
    assert [label for label, _ in p.columns] == ["leak_rect", "I_Kir"]
    # the columns' parameters: a per-cell map of one of them now needs the exact kernel; of g_Na, not
    assert {"E_K", "g_Kir", "C_m"} <= gate_parameters(desc) and "g_Na" not in gate_parameters(desc)
    params = np.array([q.value for q in desc.parameters])
    table = lut_table(desc, params, 0.01).table
    v = -200.0 + 0.1 * 1400  # -60 mV
    n_gates = 3
    np.testing.assert_allclose(table[1400, 2 * n_gates], 1 + 0.2 * np.tanh((v + 60) / 20), rtol=1e-12)
    # the largest expression of V alone: the whole current (g_Kir and inv_C = 1/C_m are parameters)
    expected = 0.05 * (v + 77.0) / (1 + np.exp((v + 77.0 - 15) / 6)) / 1.0
    np.testing.assert_allclose(table[1400, 2 * n_gates + 1], expected, rtol=1e-12)
    src = lut_kernel_source(desc)
    body = src[src.index("def _cell"):src.index("def _restore")]
    assert "exp" not in body and "tanh" not in body  # read from the tables, not computed


def test_tabulated_expressions_keep_the_single_cell_figures_within_half_a_percent():
    model = model_from_dict(_with_kir())
    exact = _single_cell(model, model.kernel)
    tabulated = _single_cell(model, model.lookup_tables.stepper())
    assert exact["peak"] > 30.0
    for key in ("peak", "dvdt", "apd90"):
        assert abs(tabulated[key] - exact[key]) <= 0.005 * abs(exact[key]), (key, tabulated[key], exact[key])
    assert tabulated != exact
