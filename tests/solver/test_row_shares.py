"""Rows shared between threads (solver.models.threads): the barrier, the cuts, the shares.

Each thread runs all the pairs of steps of a call on its block of rows and meets the others at a
spinning barrier. Each pair of steps cuts the sheet into blocks of rows from shares that follow each
thread's speed in the pair before. The barrier must hold every thread until all arrive and let an
aborted team go; the cuts must cover the sheet with blocks of at least two rows; the shares must
settle where both threads finish together; and however the rows are cut, and whatever else runs at
the same time, the result is the same to the bit as on one thread.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import pytest
from numba import njit

from solver.models import threads
from solver.models.threads import SHARE_RANGE, block_cuts, rebalanced, team_wait

from tests.solver.test_kernel_vs_reference import make_problem, run_kernel
from tests.solver.test_lut import run_lut


@njit(nogil=True)
def _lockstep(sync, seen, b, rounds):
    """Thread ``b`` of two writes its round number, waits, reads the other's, waits again."""
    misses = 0
    for k in range(rounds):
        seen[b] = k
        team_wait(sync)
        if seen[1 - b] != k:
            misses += 1
        team_wait(sync)
    return misses


def _team_sync(n):
    sync = np.zeros(4, np.int64)
    sync[3] = n
    return sync


def test_the_barrier_holds_each_thread_until_all_have_arrived():
    sync, seen = _team_sync(2), np.zeros(2, np.int64)
    with ThreadPoolExecutor(2) as pool:
        misses = list(pool.map(lambda b: _lockstep(sync, seen, b, 20000), (0, 1)))
    assert misses == [0, 0]
    assert sync[0] == 0 and sync[1] == 2 * 20000  # count reset, one generation per barrier


def test_an_aborted_team_lets_a_waiting_thread_go():
    # a thread waits for a partner that never comes (it failed): the abort flag must release it
    sync, result = _team_sync(2), []
    waiter = threading.Thread(target=lambda: result.append(team_wait(sync)))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive() and result == []
    sync[2] = 1
    waiter.join(10)
    assert not waiter.is_alive() and result == [False]


@pytest.mark.parametrize(("shares", "ny"), [([0.5, 0.5], 1024), ([0.3, 0.7], 5), ([0.25] * 4, 9),
                                            ([0.98, 0.02], 100), ([0.01, 0.49, 0.5], 6)])  # fmt: skip
def test_blocks_cover_the_sheet_with_at_least_two_rows_each(shares, ny):
    cuts = block_cuts(np.array(shares), ny)
    assert len(cuts) == len(shares) + 1
    assert cuts[0] == 0 and cuts[-1] == ny
    assert np.all(np.diff(cuts) >= 2)
    if ny == 1024:
        assert list(cuts) == [0, 512, 1024]


def _settle(rates, pairs=60):
    """Shares after ``pairs`` pairs of steps on threads of the given speeds (rows per second)."""
    ny = 1000
    shares = np.full(len(rates), 1.0 / len(rates))
    for _ in range(pairs):
        cuts = block_cuts(shares, ny)
        shares = rebalanced(shares, cuts, np.diff(cuts) / np.array(rates))
    return shares


def test_shares_settle_where_the_threads_finish_together():
    # one thread twice as fast as the other: it should take two thirds of the rows
    assert np.allclose(_settle([2.0, 1.0]), [2 / 3, 1 / 3], atol=0.003)
    assert np.allclose(_settle([1.0, 1.0, 2.0]), [0.25, 0.25, 0.5], atol=0.003)


def test_a_stalled_thread_keeps_its_floor_share():
    # a thread that all but stopped (a descheduled core) keeps the least share allowed, not none
    low, high = SHARE_RANGE[0] / 2, SHARE_RANGE[1] / 2
    assert np.allclose(_settle([1.0, 1e-6]), [high / (low + high), low / (low + high)], atol=0.003)


def _runner(name):
    model, y0, args = make_problem(name, shape=(130, 128))
    dt = 0.01 if model.supports_opsin else model.default_dt_ms
    if name.startswith("hek"):
        return y0, lambda y: run_lut(y, dt, [(41, 1.0)], args)[0]
    return y0, lambda y: run_kernel(model, y, dt, [(41, 1.0)], args)[0]


def _on_threads(n, run, y0):
    threads_before = numba.get_num_threads()
    try:
        numba.set_num_threads(n)
        return run(y0)
    finally:
        numba.set_num_threads(threads_before)


@pytest.mark.parametrize("name", ["hek_gokhale2017_35c", "fitzhugh_nagumo"])
def test_results_do_not_depend_on_how_the_rows_are_shared(name, monkeypatch):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one thread: the rows are never shared")
    y0, run = _runner(name)
    one = _on_threads(1, run, y0)
    # uneven speeds cannot be caused on demand: cut the rows unevenly, differently every pair
    plan = np.array([[0.1, 0.9], [0.85, 0.15], [0.5, 0.5], [0.3, 0.7]])
    monkeypatch.setattr(threads, "FIXED_SHARES", plan)
    monkeypatch.setattr(threads, "last_shares", [])
    shared = _on_threads(2, run, y0)
    assert threads.last_shares == list(plan[20 % 4])  # the 41 steps: 20 pairs cut by the plan, then one step
    assert not np.array_equal(one, y0)
    assert np.array_equal(one, shared)


def test_concurrent_runs_on_threads_each_get_the_one_thread_result():
    # two simulations at once in one process (a server's jobs): the second finds the team busy and
    # steps on its own thread; neither may disturb the other
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one thread: the rows are never shared")
    y0, run = _runner("fitzhugh_nagumo")
    one = _on_threads(1, run, y0)
    starts = [y0, y0[:, ::-1].copy(), y0[:, :, ::-1].copy(), y0]
    expected = [one, _on_threads(1, run, starts[1]), _on_threads(1, run, starts[2]), one]
    with ThreadPoolExecutor(len(starts)) as pool:
        results = list(pool.map(lambda y: _on_threads(2, run, y), starts))
    assert all(np.array_equal(r, e) for r, e in zip(results, expected))
