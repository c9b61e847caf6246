"""Rows shared between threads by speed (solver.models.generic_kernels.step_in_pairs).

Each pair of steps cuts the sheet into blocks of rows from shares that follow each thread's speed
in the pair before. The cuts must cover the sheet with blocks of at least two rows, the shares must
settle where both threads finish together, and however the rows are cut the result is the same to
the bit as on one thread.
"""
from __future__ import annotations

import itertools

import numba
import numpy as np
import pytest

from solver.models import generic_kernels
from solver.models.generic_kernels import SHARE_RANGE, block_bounds, rebalanced

from tests.solver.test_kernel_vs_reference import make_problem, run_kernel
from tests.solver.test_lut import run_lut


@pytest.mark.parametrize(("shares", "ny"), [([0.5, 0.5], 1024), ([0.3, 0.7], 5), ([0.25] * 4, 9),
                                            ([0.98, 0.02], 100), ([0.01, 0.49, 0.5], 6)])  # fmt: skip
def test_blocks_cover_the_sheet_with_at_least_two_rows_each(shares, ny):
    bounds = block_bounds(np.array(shares), ny)
    assert len(bounds) == len(shares)
    assert bounds[0][0] == 0 and bounds[-1][1] == ny
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    assert all(r1 - r0 >= 2 for r0, r1 in bounds)
    if ny == 1024:
        assert bounds == [(0, 512), (512, 1024)]


def _settle(rates, pairs=60):
    """Shares after ``pairs`` pairs of steps on threads of the given speeds (rows per second)."""
    ny = 1000
    shares = np.full(len(rates), 1.0 / len(rates))
    for _ in range(pairs):
        bounds = block_bounds(shares, ny)
        shares = rebalanced(shares, bounds, [(r1 - r0) / rate for (r0, r1), rate in zip(bounds, rates)])
    return shares


def test_shares_settle_where_the_threads_finish_together():
    # one thread twice as fast as the other: it should take two thirds of the rows
    assert np.allclose(_settle([2.0, 1.0]), [2 / 3, 1 / 3], atol=0.003)
    assert np.allclose(_settle([1.0, 1.0, 2.0]), [0.25, 0.25, 0.5], atol=0.003)


def test_a_stalled_thread_keeps_its_floor_share():
    # a thread that all but stopped (a descheduled core) keeps the least share allowed, not none
    low, high = SHARE_RANGE[0] / 2, SHARE_RANGE[1] / 2
    assert np.allclose(_settle([1.0, 1e-6]), [high / (low + high), low / (low + high)], atol=0.003)


def _uneven(cycle):
    """A stand-in for rebalanced that cuts the rows by the given shares in turn, whatever the timings
    (uneven speeds cannot be caused on demand)."""
    shares = itertools.cycle(cycle)

    def cut(old, bounds, seconds):
        cut.calls += 1
        return np.array(next(shares))

    cut.calls = 0
    return cut


@pytest.mark.parametrize("name", ["hek_gokhale2017_35c", "fitzhugh_nagumo"])
def test_results_do_not_depend_on_how_the_rows_are_shared(name, monkeypatch):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one thread: the rows are never shared")
    model, y0, args = make_problem(name, shape=(130, 128))
    dt = 0.01 if model.supports_opsin else model.default_dt_ms
    run = (lambda y: run_lut(y, dt, [(41, 1.0)], args)) if name.startswith("hek") else \
        (lambda y: run_kernel(model, y, dt, [(41, 1.0)], args))  # fmt: skip
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one, _ = run(y0)
        numba.set_num_threads(2)
        uneven = _uneven([[0.1, 0.9], [0.85, 0.15], [0.5, 0.5]])
        monkeypatch.setattr(generic_kernels, "rebalanced", uneven)
        shared, _ = run(y0)
    finally:
        numba.set_num_threads(threads)
    assert uneven.calls == 20  # every pair of the 41 steps was cut anew
    assert not np.array_equal(one, y0)
    assert np.array_equal(one, shared)
