"""Kernels of the generic media: ``nagumo``, ``fitzhugh_nagumo``, ``aliev_panfilov``.

Same signature as the HEK kernel (the opsin arguments are accepted and ignored); forward Euler for
every variable (``order=1``) or the explicit midpoint rule (``order=2``: a half step to the midpoint
state, then a full step from the old state with the rates at the midpoint, as
:mod:`reference`); only u (state 0) is coupled; compute in float64, store in the buffer dtype.
Equations in :mod:`generic`.

How they go fast (the HEK lookup-table kernel is built the same way, on :func:`threads.step_in_pairs`):

- Interior cells run a loop without branches that the compiler vectorises: the coupling needs no
  edge test (a neighbour outside the tissue has a zero face weight), the mask is a masked store,
  per-cell parameters come from a row of scratch (uniform values written once, maps copied per row).
  Edge cells take a path that tests which neighbours exist.
- Steps go in pairs through the sheet row by row: step 1 of row i, then step 2 of row i-1, whose
  inputs are all done; a row's state crosses the memory bus once per two steps instead of twice.
  A midpoint step is such a pair: its half step is step 1, its full step is step 2, which reads
  the cell's old state from the row it overwrites (``from_dst``: still the old state there).
- Threads (as many as ``numba.get_num_threads()``) each own a block of rows; every block first takes
  step 1 of its first and last rows, then runs its pairs (see :mod:`threads`). Each cell does
  the same arithmetic whatever the cut, so results never depend on the thread count or on how a
  run is cut into calls. The compiled functions are plain ``nogil`` ones, one per thread, that
  meet at a spinning barrier: no ``parallel=True``, whose compile time CI would pay on every run.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit

# moved to codegen._machinery (shared with the generated kernels); the old names stay importable here
from .codegen._machinery import (WIDE_LOOP_CELLS, WIDE_VECTORS_ATTRIBUTE, NoAliasCompiler,  # noqa: F401
                                 WideNoAliasCompiler, row_gaps)
from .threads import (TASK_EDGES, TASK_PAIRS, TASK_SERIAL, TASK_SINGLE, block_cuts, cycles, step_in_pairs, team_next,
                      team_start, team_wait)

__all__ = ["nagumo_kernel", "fitzhugh_nagumo_kernel", "aliev_panfilov_kernel"]

# A few ns per cell-step: below this many cells a step is too short to share between threads.
SERIAL_BELOW_CELLS = 16384

NAGUMO, FITZHUGH_NAGUMO, ALIEV_PANFILOV = 0, 1, 2
N_PARAMS_MAX = 5


# --- cells and rows ---------------------------------------------------------------------------------------------


@njit(cache=True)
def _fill_row_params(rp, i, params, pidx, pmaps, mapped_only):
    """Parameters of row ``i`` into the scratch ``rp`` (with ``mapped_only``, only those with a map)."""
    for k in range(params.size):
        m = pidx[k]
        if m >= 0:
            for j in range(rp.shape[1]):
                rp[k, j] = pmaps[m, i, j]
        elif not mapped_only:
            for j in range(rp.shape[1]):
                rp[k, j] = params[k]


@njit(inline="always", cache=True)
def _cell(model, src, ic, dst, idr, i, j, c, dt, iext, rp, from_dst):
    """One forward-Euler step of cell (real row ``i``, column ``j``) given its coupling ``c``: rates
    at the state in row ``ic`` of ``src``, into row ``idr`` of ``dst``, from the state in ``src``
    (or, ``from_dst``, the state still in ``dst``: the full step of a midpoint step).

    Every cell is stored, tissue or not (a mask here would put a branch in the loop, which then
    does not vectorise); :func:`_restore` puts the cells outside the tissue back.
    """
    u = np.float64(src[0, ic, j])
    u0 = np.float64(dst[0, idr, j]) if from_dst else u
    if model == NAGUMO:
        k, a = rp[0, j], rp[1, j]
        dst[0, idr, j] = u0 + dt * (c + k * u * (1.0 - u) * (u - a) - iext[i, j])
    elif model == FITZHUGH_NAGUMO:
        w = np.float64(src[1, ic, j])
        w0 = np.float64(dst[1, idr, j]) if from_dst else w
        eps, a, b = rp[0, j], rp[1, j], rp[2, j]
        dst[0, idr, j] = u0 + dt * (c + u - u * u * u / 3.0 - w - iext[i, j])
        dst[1, idr, j] = w0 + dt * eps * (u + a - b * w)
    else:
        w = np.float64(src[1, ic, j])
        w0 = np.float64(dst[1, idr, j]) if from_dst else w
        k, a, eps0, mu1, mu2 = rp[0, j], rp[1, j], rp[2, j], rp[3, j], rp[4, j]
        dst[0, idr, j] = u0 + dt * (c - k * u * (u - a) * (u - 1.0) - u * w - iext[i, j])
        eps = eps0 + mu1 * w / (u + mu2)
        dst[1, idr, j] = w0 + dt * eps * (-w - k * u * (u - a - 1.0))


@njit(cache=True)
def _restore(src, ic, dst, idr, i, active):
    """Cells of row ``i`` outside the tissue get their old values back: they never change."""
    for j in range(active.shape[1]):
        if active[i, j] == 0:
            for q in range(src.shape[0]):
                dst[q, idr, j] = src[q, ic, j]


@njit(inline="always", cache=True)
def _coupling(sm, im, sc, ic, sp, ip, wx, wy, i, iu, j, jm, jp):
    # Neighbours clamped at the grid edge: a missing neighbour is the cell itself, whose difference
    # is an exact zero, so edge cells need no test and no code of their own. State rows (im, ic,
    # ip of sm, sc, sp) are not always the real rows: see _sweep's ring of rows.
    vc = np.float64(sc[0, ic, j])
    return (wx[i, j] * (np.float64(sc[0, ic, jp]) - vc) + wx[i, jm] * (np.float64(sc[0, ic, jm]) - vc)
            + wy[i, j] * (np.float64(sp[0, ip, j]) - vc) + wy[iu, j] * (np.float64(sm[0, im, j]) - vc))  # fmt: skip


@njit(inline="always", cache=True)
def _step_row(model, sm, im, sc, ic, sp, ip, dst, idr, i, dt, wx, wy, active, gaps, params, pidx, pmaps, mapped,
              iext, rp, from_dst):  # fmt: skip
    """One step of real row ``i``: its state is row ``ic`` of ``sc``, the rows above and below are
    ``im`` of ``sm`` and ``ip`` of ``sp`` (the row itself at the grid edge); the result goes to row
    ``idr`` of ``dst``. A vectorised loop over columns 1 .. nx-2, then the two end columns, then the
    cells outside the tissue put back."""
    nx = active.shape[1]
    if mapped:
        _fill_row_params(rp, i, params, pidx, pmaps, True)
    iu = i - 1 if i > 0 else 0
    for j in range(1, nx - 1):
        c = _coupling(sm, im, sc, ic, sp, ip, wx, wy, i, iu, j, j - 1, j + 1)
        _cell(model, sc, ic, dst, idr, i, j, c, dt, iext, rp, from_dst)
    for e in range(2 if nx > 1 else 1):
        j = 0 if e == 0 else nx - 1
        jm = j - 1 if j > 0 else 0
        jp = j + 1 if j < nx - 1 else nx - 1
        _cell(model, sc, ic, dst, idr, i, j, _coupling(sm, im, sc, ic, sp, ip, wx, wy, i, iu, j, jm, jp), dt, iext,
              rp, from_dst)  # fmt: skip
    if gaps[i]:
        _restore(sc, ic, dst, idr, i, active)


@njit(inline="always", cache=True)
def _mid(r, shared, r0, r1, yb, ring):
    """Where the state of row ``r`` after the first step of a pair lives: (array, row).

    A block's own rows live in a ring of three rows that stays in cache (never written to ``yb``);
    its first and last rows, and its neighbours' (``shared``: taken by TASK_EDGES), live in ``yb``.
    """
    if shared and (r <= r0 or r >= r1 - 1):
        return yb, r
    return ring, r % 3


@njit(cache=True, error_model="numpy", fastmath={"contract"}, pipeline_class=NoAliasCompiler)
def _sweep(model, task, ya, yb, r0, r1, n_steps, dt, wx, wy, active, gaps, params, pidx, pmaps, mapped, iext,
           rp, order):  # fmt: skip
    """The rows of one task of :func:`threads.step_in_pairs` (see there), compiled per model.

    One loop with two row sites: at tick t, row t of the first step of a pair (ya -> the ring or
    yb), then row t-1 of the second (-> ya), whose three input rows are done. The middle state of a
    pair stays in a ring of three rows: per pair a row of state is read once and written once.
    Rows are inlined (a call per row costs more than a short row). With ``order`` 2 a pair is one
    midpoint step (``n_steps`` counts its two stages). NumPy's error model: x/0 is inf,
    not an exception, so there is no test in the loops; fused multiply-adds allowed (deterministic:
    the same code gives the same bits on every call).
    """
    numba.literally(model)
    ny, nx = active.shape
    ring = np.empty((ya.shape[0], 3, nx), ya.dtype)
    midpoint = order == 2
    dt1 = 0.5 * dt if midpoint else dt  # the first step of a pair: a half step of a midpoint step
    for phase in range(2):
        # (repeats, ticks, rows of step 1, rows of step 2, step 1 only on the block's ends, to ring)
        reps, t0, t1, f0, f1, s0, s1, ends, pair = 0, r0, r1, r0, r1, r0, r0, False, False
        if task == TASK_SERIAL:
            if phase == 0:
                reps, t1, s1, pair = n_steps // 2, r1 + 1, r1, True
            else:
                reps = n_steps % 2
        elif phase == 0:
            reps = 1
            if task == TASK_EDGES:
                ends = True
            elif task == TASK_PAIRS:
                t0, t1, f0, f1, s1, pair = r0 + 1, r1 + 1, r0 + 1, r1 - 1, r1, True
        shared = task == TASK_PAIRS
        for _ in range(reps):
            for t in range(t0, t1):
                if f0 <= t < f1 and (not ends or t == r0 or t == r1 - 1):
                    tm = t - 1 if t > 0 else 0
                    tp = t + 1 if t < ny - 1 else ny - 1
                    dst, idr = _mid(t, shared, r0, r1, yb, ring) if pair else (yb, t)
                    _step_row(model, ya, tm, ya, t, ya, tp, dst, idr, t, dt1, wx, wy, active, gaps, params, pidx,
                              pmaps, mapped, iext, rp, False)  # fmt: skip
                r = t - 1
                if s0 <= r < s1:
                    sm, im = _mid(r - 1 if r > 0 else 0, shared, r0, r1, yb, ring)
                    sc, ic = _mid(r, shared, r0, r1, yb, ring)
                    sp, ip = _mid(r + 1 if r < ny - 1 else ny - 1, shared, r0, r1, yb, ring)
                    _step_row(model, sm, im, sc, ic, sp, ip, ya, r, r, dt, wx, wy, active, gaps, params, pidx,
                              pmaps, mapped, iext, rp, midpoint)  # fmt: skip


@njit(nogil=True, cache=True)
def _generic_block(ya, yb, task, r0, r1, n_steps, model, dt, wx, wy, active, gaps, params, pidx, pmaps, iext, order):
    """Rows ``[r0, r1)`` of one task of :func:`threads.step_in_pairs`."""
    nx = active.shape[1]
    mapped = False
    for k in range(pidx.size):
        if pidx[k] >= 0:
            mapped = True
    rp = np.empty((N_PARAMS_MAX, nx))
    _fill_row_params(rp, r0, params, pidx, pmaps, False)
    # each model's loops compiled for its constant id (star-args would not bind with literally)
    if model == NAGUMO:
        _sweep(NAGUMO, task, ya, yb, r0, r1, n_steps, dt, wx, wy, active, gaps, params, pidx, pmaps, mapped, iext,
               rp, order)  # fmt: skip
    elif model == FITZHUGH_NAGUMO:
        _sweep(FITZHUGH_NAGUMO, task, ya, yb, r0, r1, n_steps, dt, wx, wy, active, gaps, params, pidx, pmaps, mapped,
               iext, rp, order)  # fmt: skip
    else:
        _sweep(ALIEV_PANFILOV, task, ya, yb, r0, r1, n_steps, dt, wx, wy, active, gaps, params, pidx, pmaps, mapped,
               iext, rp, order)  # fmt: skip


@njit(nogil=True, cache=True)
def _generic_team(ya, yb, sync, record, plan, b, n_steps, *args):
    """Thread ``b``'s part of :func:`threads.step_in_pairs` with :func:`_generic_block` (all its pairs)."""
    shares = team_start(plan, record.shape[1])
    for p in range(n_steps // 2):
        cuts = block_cuts(shares, ya.shape[1])
        _generic_block(ya, yb, TASK_EDGES, cuts[b], cuts[b + 1], 0, *args)
        if not team_wait(sync):
            return
        t0 = cycles()
        _generic_block(ya, yb, TASK_PAIRS, cuts[b], cuts[b + 1], 0, *args)
        record[0, b] = cycles() - t0
        if not team_wait(sync):
            return
        shares = team_next(shares, cuts, record, plan, p + 1, b)
    if n_steps % 2:
        cuts = block_cuts(shares, ya.shape[1])
        _generic_block(ya, yb, TASK_SINGLE, cuts[b], cuts[b + 1], 0, *args)


def check_order(order) -> int:
    """``order`` as an int, 1 or 2; anything else raises ``ValueError``."""
    if order not in (1, 2):
        raise ValueError(f"order is {order!r}; allowed: 1 (Rush-Larsen/forward Euler), 2 (exponential midpoint)")
    return int(order)


def _kernel(model: int, ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, order) -> int:
    n_params = (2, 3, 5)[model]
    if params.size != n_params:
        raise ValueError(f"expected {n_params} parameters, got {params.size}")
    order = check_order(order)
    # a midpoint step is a pair of the pair scheme: 2·n_steps stages, the result always in ya
    return step_in_pairs(_generic_block, _generic_team, ya, yb, int(n_steps) * order, SERIAL_BELOW_CELLS,
                         (model, float(dt), wx, wy, active, row_gaps(active), params, pidx, pmaps, iext,
                          order))  # fmt: skip


def nagumo_kernel(ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams, gop, flux,
                  order=1):  # fmt: skip
    """Nagumo sheet, params ``[k, a]``; returns 0 if the final state is in ``ya``, 1 if in ``yb``."""
    return _kernel(NAGUMO, ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, order)


def fitzhugh_nagumo_kernel(ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams,
                           gop, flux, order=1):  # fmt: skip
    """FitzHugh-Nagumo sheet, params ``[eps, a, b]``; returns the parity of the final buffer."""
    return _kernel(FITZHUGH_NAGUMO, ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, order)


def aliev_panfilov_kernel(ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams,
                          gop, flux, order=1):  # fmt: skip
    """Aliev-Panfilov sheet, params ``[k, a, eps0, mu1, mu2]``; returns the final buffer's parity."""
    return _kernel(ALIEV_PANFILOV, ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, order)
