"""Generated kernels on the thread team (solver.models.threads): whatever the cut of the rows between
threads, the result is the same to the bit as on one thread, for the exact and the lookup-table kernel,
both orders, with the opsin, a parameter map and a mask (as test_row_shares checks the hand-written ones)."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from solver.models import threads
from solver.models.codegen import model_from_dict
from tests.solver.hh_definition import HH_DEFINITION
from tests.solver.test_codegen import _sheet


@pytest.fixture(autouse=True)
def _kernel_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("OPTOWAVE_KERNEL_CACHE", str(tmp_path_factory.getbasetemp() / "kernels"))


def _run(step, y0, args, order, n_threads):
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(n_threads)
        ya, yb = y0.copy(), y0.copy()
        for n in (21, 20):  # an odd call, then an even one: a single step and pairs on both sides
            if step(ya, yb, n, 0.01, *args, order=order):
                ya, yb = yb, ya
        return ya
    finally:
        numba.set_num_threads(before)


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("path", ["exact", "lut"])
def test_generated_kernels_do_not_depend_on_how_the_rows_are_shared(path, order, monkeypatch):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one thread: the rows are never shared")
    model = model_from_dict(HH_DEFINITION)
    step = model.kernel if path == "exact" else model.lookup_tables.stepper()
    y0, args = _sheet(model, ny=70, nx=64)  # 4480 cells: above the generated kernels' serial threshold
    one = _run(step, y0, args, order, 1)
    plan = np.array([[0.1, 0.9], [0.85, 0.15], [0.5, 0.5], [0.3, 0.7]])
    monkeypatch.setattr(threads, "FIXED_SHARES", plan)
    monkeypatch.setattr(threads, "last_shares", [])
    shared = _run(step, y0, args, order, 2)
    pairs = 20 if order == 2 else 10  # the last call's pairs, cut by the plan in turn (proof the team ran)
    assert threads.last_shares == list(plan[pairs % 4])
    assert np.abs(one[0] - y0[0]).max() > 1.0
    assert np.array_equal(one, shared)


def test_a_midpoint_step_on_the_team_equals_the_tree_walking_reference(monkeypatch):
    """Order 2 on two threads, cut unevenly, against the NumPy reference of the description."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one thread: the rows are never shared")
    model = model_from_dict(HH_DEFINITION)
    y0, args = _sheet(model, ny=70, nx=64)
    monkeypatch.setattr(threads, "FIXED_SHARES", np.array([[0.2, 0.8], [0.7, 0.3]]))
    got = _run(model.kernel, y0, args, 2, 2)
    ref = y0.copy()
    for _ in range(41):
        ref = model.reference_step(ref, 0.01, *args, order=2)
    active = args[2] != 0
    assert np.abs(ref[0] - y0[0]).max() > 1.0
    assert np.abs(got - ref)[:, active].max() / np.abs(ref[:, active]).max() < 1e-12
    assert np.array_equal(got[:, ~active], y0[:, ~active])  # cells outside the tissue never written
