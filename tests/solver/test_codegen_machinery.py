"""The machinery the hand-written and the generated CPU kernels share (solver.models.codegen._machinery), each
piece on its own, and the generated lookup-table kernel's loop as compiled: float32 throughout, vectorised."""

from __future__ import annotations

import re

import numba
import numpy as np
import pytest
from llvmlite import binding
from numba import njit

from solver.models.codegen import _machinery, model_from_dict
from tests.solver.hh_definition import HH_DEFINITION
from tests.solver.test_codegen import _sheet


@pytest.fixture(autouse=True)
def _kernel_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("OPTOWAVE_KERNEL_CACHE", str(tmp_path_factory.getbasetemp() / "kernels"))


def _decode(packed: np.ndarray, n_cols: int) -> tuple[np.ndarray, np.ndarray]:
    words = packed.reshape(-1, n_cols)
    low = (words & np.uint64(0xFFFFFFFF)).astype(np.uint32).view(np.float32)
    high = (words >> np.uint64(32)).astype(np.uint32).view(np.float32)
    return low, high


@njit
def _interpolate(tab, k, f):
    return _machinery.interpolate_packed(tab[k], f)


def test_a_packed_table_holds_each_value_and_its_slope_as_float32():
    v = np.linspace(-1.0, 1.0, 7)
    values = np.column_stack([np.exp(v), 1e-6 * v**2, np.full(7, 0.25)])
    packed = _machinery.pack_columns(values)
    assert packed.dtype == np.uint64 and packed.shape == (21,) and not packed.flags.writeable
    low, high = _decode(packed, 3)
    np.testing.assert_array_equal(low, values.astype(np.float32))
    rounded = values.astype(np.float32).astype(np.float64)
    np.testing.assert_array_equal(high[:-1], np.diff(rounded, axis=0).astype(np.float32))
    assert (high[-1] == 0).all()
    # the kernels' read: value + f·slope, in f's type (a float32 fraction keeps float32 arithmetic)
    for f in (np.float32(0.375), 0.375):
        got = _interpolate(packed, 3 * 2 + 0, f)
        sig = [s for s in _interpolate.signatures if s[2] == numba.typeof(f)][0]
        assert _interpolate.overloads[sig].signature.return_type == numba.typeof(f)
        assert got == pytest.approx(np.exp(v[2]) + 0.375 * (np.exp(v[3]) - np.exp(v[2])), rel=1e-6)


def test_row_gaps_lists_the_rows_with_cells_outside_the_tissue():
    active = np.ones((5, 4), np.uint8)
    active[1, 3] = active[3, 0] = 0
    assert _machinery.row_gaps(active).tolist() == [False, True, False, True, False]
    other = np.ones((5, 4), np.uint8)
    assert not _machinery.row_gaps(other).any()  # a new mask is not answered from the cache


def test_the_generated_lookup_table_loop_is_float32_and_vectorised():
    """The interior loop of a float32 run, as compiled: no double-precision arithmetic (the numbers of the
    description are emitted in the compute type), and SIMD vectors of float where the CPU gathers."""
    model = model_from_dict(HH_DEFINITION)
    y0, args = _sheet(model, ny=8, nx=8)
    y = y0.astype(np.float32)
    before = y.copy()
    model.lookup_tables.stepper()(y, y.copy(), 2, 0.01, *args)
    assert not np.array_equal(y, before)
    interior = model.lookup_tables.module(np.float32)._interior
    irs = interior.inspect_llvm()
    assert len(irs) == 1  # only the loop this run takes: unmapped, no opsin, first order
    model.lookup_tables.stepper()(y, y.copy(), 2, 0.01, *args, order=2)
    assert len(interior.inspect_llvm()) == 2  # a midpoint step adds the loop that starts from the old state
    model.lookup_tables.stepper()(y, y.copy(), 2, 0.01, *args)
    assert len(interior.inspect_llvm()) == 2  # nothing more for a combination already compiled
    for ir in irs.values():
        assert not re.search(r"\bf(add|sub|mul|div)\b[^=\n]*\bdouble\b", ir)
        if binding.get_host_cpu_features().get("avx2", False):
            assert re.search(r"\bf(add|mul)\b[^=\n]*<\d+ x float>", ir)
