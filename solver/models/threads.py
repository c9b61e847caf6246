"""How the kernels share a sheet between threads: a team of threads, one block of rows each.

The generated kernels and the HEK lookup-table kernel step in pairs (step 1 of a row, then step 2 of
the row before it: :mod:`solver.models.codegen._template`). On threads, each pair of steps is, on every block:
``TASK_EDGES`` (step 1 of the block's first and last rows, which the neighbouring blocks read),
then ``TASK_PAIRS`` (the rest of step 1 and all of step 2, row by row); an odd last step is
``TASK_SINGLE``. Every thread must finish a phase before any starts the next.

Each thread runs all the pairs of a call in one compiled function (a kernel's *team* function,
``team(ya, yb, sync, record, plan, b, n_steps, *args)``) and waits for the others at a barrier
that spins on an atomic counter (:func:`team_wait`). Handing each phase to a thread pool instead
cost a wake-up per phase: 60–150 µs in the median, and milliseconds now and then on a virtual
machine, whose idle vCPU must be scheduled again by the host.

The rows are shared by speed: every pair ends with all threads waiting for the slowest, and on a
shared machine one core is often slower than the other for many pairs in a row. Each pair's blocks
are cut (:func:`block_cuts`) from shares that follow each thread's rows per unit of time in the
pair before (:func:`rebalanced`). A cell's arithmetic does not depend on its block: neither does
the result.

The constants below are compiled in. numba caches a compiled function by its own file: the team
functions, in the kernels' files, keep an old copy of what is here until those files change (or
numba's cache is cleared).
"""

from __future__ import annotations

import os
import platform
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["TASK_SERIAL", "TASK_EDGES", "TASK_PAIRS", "TASK_SINGLE", "step_in_pairs", "block_cuts", "rebalanced",
           "team_wait", "team_start", "team_next", "cycles"]  # fmt: skip

# Tasks of a block function block(ya, yb, task, r0, r1, n_steps, *args).
TASK_SERIAL, TASK_EDGES, TASK_PAIRS, TASK_SINGLE = 0, 1, 2, 3

#: How far one pair of steps moves the row shares of the threads towards their measured speeds,
#: and how far from an equal share a thread's may go (a stalled thread keeps the floor).
SHARE_GAIN = 0.3
SHARE_RANGE = (0.5, 1.5)

#: Row shares to cut by in turn, pair after pair, instead of by speed (an array of shape
#: (k, threads), each row summing to one); None: by speed. For tests and measurements: uneven
#: speeds cannot be caused on demand.
FIXED_SHARES: np.ndarray | None = None

#: The row shares the threads of the last call on threads ended with (diagnostics).
last_shares: list[float] = []

#: Spins (a ``pause`` each, some tens of ns) at a barrier before a waiting thread starts giving its
#: core away (``sched_yield``) on every further spin: more threads than free cores must not starve.
SPINS_BEFORE_YIELD = 2000

# sync: the barrier's arrival count and generation, the abort flag, the number of threads
_COUNT, _GENERATION, _ABORT, _THREADS = 0, 1, 2, 3
_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


# --- atomics and the clock (LLVM instructions numba does not offer on the CPU) --------------------------------------


def _item_pointer(context, builder, aryty, ary, idx, idxty):
    arr = context.make_array(aryty)(context, builder, ary)
    idx = context.cast(builder, idx, idxty, types.intp)
    return cgutils.get_item_pointer(context, builder, aryty, arr, [idx], wraparound=False)


@intrinsic
def _atomic_add(typingctx, arr, idx, value):
    """``arr[idx] += value`` as one sequentially consistent atomic; returns the old value."""
    if not (isinstance(arr, types.Array) and arr.dtype == types.int64 and isinstance(idx, types.Integer)):
        return None
    sig = types.int64(arr, idx, value)

    def codegen(context, builder, sig, args):
        ptr = _item_pointer(context, builder, sig.args[0], args[0], args[1], sig.args[1])
        val = context.cast(builder, args[2], sig.args[2], types.int64)
        return builder.atomic_rmw("add", ptr, val, "seq_cst")

    return sig, codegen


@intrinsic
def _atomic_load(typingctx, arr, idx):
    """``arr[idx]`` read as a sequentially consistent atomic (never hoisted out of a spin loop)."""
    if not (isinstance(arr, types.Array) and arr.dtype == types.int64 and isinstance(idx, types.Integer)):
        return None
    sig = types.int64(arr, idx)

    def codegen(context, builder, sig, args):
        ptr = _item_pointer(context, builder, sig.args[0], args[0], args[1], sig.args[1])
        return builder.load_atomic(ptr, "seq_cst", 8)

    return sig, codegen


def _call(builder, name, return_type):
    """Call the argument-less function ``name`` (an LLVM intrinsic or a C library function)."""
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(return_type, []), name)
    return builder.call(fn, [])


@intrinsic
def _spin_pause(typingctx):
    """One spin of a wait: the ``pause`` hint on x86 (nothing elsewhere)."""

    def codegen(context, builder, sig, args):
        if _X86:
            _call(builder, "llvm.x86.sse2.pause", ir.VoidType())
        return context.get_dummy_value()

    return types.void(), codegen


@intrinsic
def _yield_cpu(typingctx):
    """Give the core to another runnable thread, if any (``sched_yield``; nothing off POSIX)."""

    def codegen(context, builder, sig, args):
        if os.name == "posix":
            _call(builder, "sched_yield", ir.IntType(32))
        return context.get_dummy_value()

    return types.void(), codegen


@intrinsic
def _cycle_counter(typingctx):
    def codegen(context, builder, sig, args):
        if not _X86:  # elsewhere the counter may not be readable from user code: no timings
            return ir.Constant(ir.IntType(64), 0)
        return _call(builder, "llvm.readcyclecounter", ir.IntType(64))

    return types.int64(), codegen


@njit(cache=True)
def cycles() -> int:
    """The CPU's time-stamp counter (0 off x86): a clock for comparing the threads of one pair."""
    return _cycle_counter()


# --- the barrier and the row shares ---------------------------------------------------------------------------------


@njit(nogil=True, cache=True)
def team_wait(sync) -> bool:
    """Wait until every thread of the team has arrived; False if the team was aborted.

    A counting barrier: the last to arrive resets the count, then moves the generation on, which
    the others spin on (``pause``, then ``sched_yield`` after :data:`SPINS_BEFORE_YIELD` spins).
    The atomics are sequentially consistent: every write before the barrier is seen after it.
    """
    n = sync[_THREADS]
    generation = _atomic_load(sync, _GENERATION)
    if _atomic_add(sync, _COUNT, 1) == n - 1:
        _atomic_add(sync, _COUNT, -n)
        _atomic_add(sync, _GENERATION, 1)
    else:
        spins = 0
        while _atomic_load(sync, _GENERATION) == generation:
            if _atomic_load(sync, _ABORT) != 0:
                return False
            spins += 1
            if spins < SPINS_BEFORE_YIELD:
                _spin_pause()
            else:
                _yield_cpu()
    return _atomic_load(sync, _ABORT) == 0


@njit(cache=True)
def block_cuts(shares, ny):
    """Row cuts ``[0, c1, ..., ny]`` for the given shares of ``ny`` rows, each block at least two rows."""
    nb = shares.size
    cuts = np.empty(nb + 1, np.int64)
    cuts[0], acc = 0, 0.0
    for b in range(1, nb):
        acc += shares[b - 1]
        cuts[b] = min(max(int(round(acc * ny)), cuts[b - 1] + 2), ny - 2 * (nb - b))
    cuts[nb] = ny
    return cuts


@njit(cache=True)
def rebalanced(shares, cuts, times):
    """Shares moved :data:`SHARE_GAIN` of the way towards each block's rows per unit of its time in
    the last pair (``times``, in any one unit), each kept within :data:`SHARE_RANGE` of an equal share."""
    nb = shares.size
    rate = np.empty(nb)
    for b in range(nb):
        rate[b] = (cuts[b + 1] - cuts[b]) / max(times[b], 1e-9)
    lo, hi = SHARE_RANGE[0] / nb, SHARE_RANGE[1] / nb
    target = np.minimum(np.maximum(rate / rate.sum(), lo), hi)
    new = (1.0 - SHARE_GAIN) * shares + SHARE_GAIN * target / target.sum()
    return new / new.sum()


@njit(nogil=True, cache=True)
def team_start(plan, nb):
    """The shares of a call's first pair: equal, or the plan's first (:data:`FIXED_SHARES`)."""
    return plan[0].copy() if plan.shape[0] else np.full(nb, 1.0 / nb)


@njit(nogil=True, cache=True)
def team_next(shares, cuts, record, plan, p, b):
    """The shares of pair ``p`` (from 0): from the plan, or by the times of the pair before
    (``record[0]``, one per thread); thread 0 keeps them in ``record[1]``."""
    new = plan[p % plan.shape[0]].copy() if plan.shape[0] else rebalanced(shares, cuts, record[0])
    if b == 0:
        record[1, :] = new
    return new


# --- the driver (plain Python) ---------------------------------------------------------------------------------------

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_team_lock = threading.Lock()


def _get_pool(n_workers: int) -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None or _pool._max_workers < n_workers:
            _pool = ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="optowave-kernel")
        return _pool


def _member(team, sync, b, call):
    try:
        team(*call[:5], b, *call[5:])
    except BaseException:
        sync[_ABORT] = 1                        # release the others from the barrier
        raise


def step_in_pairs(block, team, ya, yb, n_steps: int, serial_below: int, args: tuple) -> int:
    """Advance ``n_steps`` on a sheet; return the parity of the final buffer.

    ``block(ya, yb, task, r0, r1, n_steps, *args)`` works on rows ``[r0, r1)``; ``TASK_SERIAL`` takes
    all ``n_steps`` steps on the whole sheet, on the calling thread: below ``serial_below`` cells,
    on one thread, or while another call holds the team (its threads are busy: a second team would
    only contend with it). Otherwise ``team(ya, yb, sync, record, plan, b, n_steps, *args)`` runs
    on ``numba.get_num_threads()`` threads, the calling one and those of a pool, thread ``b`` on
    block ``b`` (see the module's docstring).
    """
    global last_shares
    ny, nx = ya.shape[1], ya.shape[2]
    nb = min(numba.get_num_threads(), ny // 2)
    if n_steps <= 0:
        return 0
    if nb <= 1 or ny * nx < serial_below or not _team_lock.acquire(blocking=False):
        block(ya, yb, TASK_SERIAL, 0, ny, n_steps, *args)
        return n_steps % 2
    try:
        plan = np.zeros((0, nb)) if FIXED_SHARES is None else np.array(FIXED_SHARES, np.float64, ndmin=2)
        if plan.shape[1] != nb:
            raise ValueError(f"FIXED_SHARES must have one column per thread ({nb}), not shape {plan.shape}")
        sync = np.zeros(4, np.int64)
        sync[_THREADS] = nb
        record = np.zeros((2, nb))
        call = (ya, yb, sync, record, plan, int(n_steps), *args)
        futures = [_get_pool(nb - 1).submit(_member, team, sync, b, call) for b in range(1, nb)]
        try:
            _member(team, sync, 0, call)
        finally:
            for f in futures:
                f.result()
        if n_steps >= 2:
            last_shares = [float(x) for x in record[1]]
    finally:
        _team_lock.release()
    return n_steps % 2
