"""The module template every generated CPU kernel is written into: the row loop and thread team, once.

A generated module holds the model's arithmetic in ``_update`` (emitted by :mod:`._exact` or
:mod:`._lut`) and, around it, the same sweep for every model: masked 5-point coupling, per-cell
parameter maps, the opsin coupling, Rush–Larsen / forward Euler (``order=1``) or the exponential
midpoint rule (``order=2``), on the thread team of :mod:`solver.models.threads` (one compiled call per
thread, a spinning barrier, row shares by speed), as the hand-written kernels.

Steps go in pairs (:func:`solver.models.threads.step_in_pairs`): step 1 ``ya -> yb``, step 2
``yb -> ya``, fused row by row (step 1 of row t, then step 2 of row t-1, whose three input rows are
done). A midpoint step is such a pair: its half step (``tab_half``) to ``yb``, then the full step
from the old state still in ``ya`` with the rates at ``yb``. A cell's arithmetic does not depend on
its block, so the result is the same to the bit whatever the thread count or the cut.

``_update(tab, lut_s, pc, i, *state, drive, dt, base, bi, bj)`` always takes the tables: the exact
kernel is given empty ones and never reads them (one template, one signature).
"""

from __future__ import annotations

__all__ = ["MODULE_TEMPLATE"]

MODULE_TEMPLATE = '''\
"""Generated from the cell-model description {name!r} (content hash {hash}); do not edit."""
import math

import numpy as np
from numba import njit

from solver.models.generic_kernels import NoAliasCompiler
from solver.models.threads import (TASK_EDGES, TASK_PAIRS, TASK_SERIAL, TASK_SINGLE, block_cuts, cycles,
                                   step_in_pairs, team_next, team_start, team_wait)

N_STATE = {n_state}
N_PARAMS = {n_params}
TAU_MIN = 0.01
# below this many cells a pair of steps is too short to share between threads
SERIAL_BELOW_CELLS = 4096
OP_KA, OP_KR, OP_P, OP_Q, OP_GD, OP_GR0, OP_PHIM, OP_V0, OP_V1, OP_E = range(10)
_NO_TABLE = np.zeros((2, 1))
_NO_SCALARS = np.zeros(3)


@njit(inline="always", cache=True)
def _coupling(v_arr, i, j, wx, wy, ny, nx):
    vc = np.float64(v_arr[0, i, j])
    c = 0.0
    if j + 1 < nx:
        c += wx[i, j] * (np.float64(v_arr[0, i, j + 1]) - vc)
    if j > 0:
        c += wx[i, j - 1] * (np.float64(v_arr[0, i, j - 1]) - vc)
    if i + 1 < ny:
        c += wy[i, j] * (np.float64(v_arr[0, i + 1, j]) - vc)
    if i > 0:
        c += wy[i - 1, j] * (np.float64(v_arr[0, i - 1, j]) - vc)
    return c


@njit(inline="always", cache=True)
def _rl(x, x_inf, tau, dt):
    if tau < TAU_MIN:
        tau = TAU_MIN
    return x_inf + (x - x_inf) * math.exp(-dt / tau)


@njit(inline="always", cache=True)
def _fv_raw(v, e, v0, v1):
    x = v - e
    if abs(x) < 1e-9:
        return v1 / v0
    return -(v1 / x) * math.expm1(-x / v0)


@njit(inline="always", cache=True)
def _lut_index(v, lut_s):
    x = (v - lut_s[0]) * lut_s[1]
    if x < 0.0:
        x = 0.0
    elif x > lut_s[2]:
        x = lut_s[2]
    k = int(x)
    return k, x - k


@njit(inline="always", cache=True)
def _lut_at(tab, k, f, col):
    return tab[k, col] + f * (tab[k + 1, col] - tab[k, col])


@njit(inline="always", cache=True, error_model="numpy")
def _update(tab, lut_s, pc, i, {state_args}, drive, dt, base, bi, bj):
{body}


@njit(inline="always", cache=True)
def _cell(tab, lut_s, src, base, dst, i, j, dt, wx, wy, pc, mapped, pidx, pmaps, iext, has_opsin, gop, ga, gr,
          fv70, e_op, v0, v1, gd, ny, nx):
    for q in range(mapped.size):
        k = mapped[q]
        pc[i, k] = pmaps[pidx[k], i, j]
    v = np.float64(src[0, i, j])
    drive = _coupling(src, i, j, wx, wy, ny, nx) - iext[i, j]
    if has_opsin:
        o_op = np.float64(src[N_STATE, i, j])
        d_op = np.float64(src[N_STATE + 1, i, j])
        drive -= gop[i, j] * o_op * _fv_raw(v, e_op, v0, v1) / fv70 * (v - e_op)
        dst[N_STATE, i, j] = np.float64(base[N_STATE, i, j]) + dt * (ga[i, j] * (1.0 - o_op - d_op) - gd * o_op)
        dst[N_STATE + 1, i, j] = np.float64(base[N_STATE + 1, i, j]) + dt * (gd * o_op - gr[i, j] * d_op)
    new = _update(tab, lut_s, pc, i, {src_args}, drive, dt, base, i, j)
    for k in range(N_STATE):
        dst[k, i, j] = new[k]


# a function of its own (not inlined into _block's five row sites): with one call site of _update,
# LLVM inlines the model's arithmetic into the column loop
@njit(nogil=True, cache=True, error_model="numpy", pipeline_class=NoAliasCompiler)
def _sweep_row(tab, lut_s, src, dst, from_dst, i, dt, wx, wy, active, pc, mapped, pidx, pmaps, iext, has_opsin,
               gop, ga, gr, opc):
    """One step of row ``i``, ``src -> dst``, from the state in ``src`` (``from_dst``: the old state still in
    ``dst``, the full step of a midpoint step). No two array arguments are one array: they are ``noalias``."""
    ny, nx = active.shape
    base = dst if from_dst else src
    fv70, e_op, v0, v1, gd = opc[0], opc[1], opc[2], opc[3], opc[4]
    for j in range(nx):
        if active[i, j] != 0:
            _cell(tab, lut_s, src, base, dst, i, j, dt, wx, wy, pc, mapped, pidx, pmaps, iext, has_opsin, gop, ga,
                  gr, fv70, e_op, v0, v1, gd, ny, nx)


@njit(nogil=True, cache=True)
def _block(ya, yb, task, r0, r1, n_steps, dt, midpoint, wx, wy, active, pc, mapped, pidx, pmaps, iext, has_opsin,
           gop, ga, gr, opc, tab, tab_half, lut_s):
    """Rows ``[r0, r1)`` of one task of ``threads.step_in_pairs`` (a pair: step 1 ya -> yb, step 2 yb -> ya)."""
    h1 = 0.5 * dt if midpoint else dt
    t1 = tab_half if midpoint else tab
    if task == TASK_SERIAL:
        for _ in range(n_steps // 2):
            for t in range(r0, r1 + 1):
                if t < r1:
                    _sweep_row(t1, lut_s, ya, yb, False, t, h1, wx, wy, active, pc, mapped, pidx, pmaps, iext,
                               has_opsin, gop, ga, gr, opc)
                if t > r0:
                    _sweep_row(tab, lut_s, yb, ya, midpoint, t - 1, dt, wx, wy, active, pc, mapped,
                               pidx, pmaps, iext, has_opsin, gop, ga, gr, opc)
        if n_steps % 2:
            for t in range(r0, r1):
                _sweep_row(tab, lut_s, ya, yb, False, t, dt, wx, wy, active, pc, mapped, pidx, pmaps, iext, has_opsin,
                           gop, ga, gr, opc)
    elif task == TASK_EDGES:
        # step 1 of the rows the neighbouring blocks read in their step 2
        for t in (r0, r1 - 1):
            _sweep_row(t1, lut_s, ya, yb, False, t, h1, wx, wy, active, pc, mapped, pidx, pmaps, iext, has_opsin, gop,
                       ga, gr, opc)
    elif task == TASK_PAIRS:
        for t in range(r0 + 1, r1 + 1):
            if t < r1 - 1:
                _sweep_row(t1, lut_s, ya, yb, False, t, h1, wx, wy, active, pc, mapped, pidx, pmaps, iext, has_opsin,
                           gop, ga, gr, opc)
            _sweep_row(tab, lut_s, yb, ya, midpoint, t - 1, dt, wx, wy, active, pc, mapped, pidx,
                       pmaps, iext, has_opsin, gop, ga, gr, opc)
    else:
        for t in range(r0, r1):
            _sweep_row(tab, lut_s, ya, yb, False, t, dt, wx, wy, active, pc, mapped, pidx, pmaps, iext, has_opsin, gop,
                       ga, gr, opc)


@njit(nogil=True, cache=True)
def _team(ya, yb, sync, record, plan, b, n_steps, *args):
    """Thread ``b``'s part of ``threads.step_in_pairs`` with ``_block`` (all its pairs)."""
    shares = team_start(plan, record.shape[1])
    for p in range(n_steps // 2):
        cuts = block_cuts(shares, ya.shape[1])
        _block(ya, yb, TASK_EDGES, cuts[b], cuts[b + 1], 0, *args)
        if not team_wait(sync):
            return
        c0 = cycles()
        _block(ya, yb, TASK_PAIRS, cuts[b], cuts[b + 1], 0, *args)
        record[0, b] = cycles() - c0
        if not team_wait(sync):
            return
        shares = team_next(shares, cuts, record, plan, p + 1, b)
    if n_steps % 2:
        cuts = block_cuts(shares, ya.shape[1])
        _block(ya, yb, TASK_SINGLE, cuts[b], cuts[b + 1], 0, *args)


@njit(cache=True)
def _prepare(ny, nx, params, pidx, has_opsin, oparams, flux):
    """Per call: the mapped parameters, a row of parameters per row, the opsin's light rates."""
    n_mapped = 0
    for k in range(N_PARAMS):
        if pidx[k] >= 0:
            n_mapped += 1
    mapped = np.empty(n_mapped, np.int64)
    n_mapped = 0
    for k in range(N_PARAMS):
        if pidx[k] >= 0:
            mapped[n_mapped] = k
            n_mapped += 1
    pc = np.empty((ny, max(N_PARAMS, 1)))
    for i in range(ny):
        for k in range(N_PARAMS):
            pc[i, k] = params[k]
    opc = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    if not has_opsin:
        return mapped, pc, np.empty((1, 1)), np.empty((1, 1)), opc
    ga = np.empty((ny, nx))
    gr = np.empty((ny, nx))
    e_op, v0, v1 = oparams[OP_E], oparams[OP_V0], oparams[OP_V1]
    opc[:] = (_fv_raw(-70.0, e_op, v0, v1), e_op, v0, v1, oparams[OP_GD])
    k_a, k_r, pe, qe = oparams[OP_KA], oparams[OP_KR], oparams[OP_P], oparams[OP_Q]
    phi_m, gr0 = oparams[OP_PHIM], oparams[OP_GR0]
    for i in range(ny):
        for j in range(nx):
            phi = flux[i, j]
            ga[i, j] = 0.0
            gr[i, j] = gr0
            if phi > 0.0:
                ga[i, j] = k_a / (1.0 + (phi_m / phi) ** pe)
                gr[i, j] += k_r / (1.0 + (phi_m / phi) ** qe)
    return mapped, pc, ga, gr, opc


def _run(ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams, gop, flux, tab,
         tab_half, lut_s, order):
    if order not in (1, 2):
        raise ValueError(f"order is {{order!r}}; allowed: 1 (Rush-Larsen/forward Euler), 2 (exponential midpoint)")
    if has_opsin and ya.shape[0] < N_STATE + 2:
        raise ValueError("has_opsin needs two more state variables (opsin O and D) after the model's")
    ny, nx = active.shape
    mapped, pc, ga, gr, opc = _prepare(ny, nx, params, pidx, bool(has_opsin), oparams, flux)
    # a midpoint step is a pair of the pair scheme: 2 n_steps stages, the result always in ya
    args = (float(dt), order == 2, wx, wy, active, pc, mapped, pidx, pmaps, iext, bool(has_opsin), gop, ga, gr,
            opc, tab, tab_half, lut_s)
    return step_in_pairs(_block, _team, ya, yb, int(n_steps) * int(order), SERIAL_BELOW_CELLS, args)


def kernel(ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams, gop, flux, order=1):
    """Advance the sheet by ``n_steps`` steps (the ``CellModel.kernel`` contract)."""
    return _run(ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams, gop, flux,
                _NO_TABLE, _NO_TABLE, _NO_SCALARS, order)


def kernel_tabulated(ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams, gop, flux,
                     tab, tab_half, lut_s, order=1):
    """``kernel`` on the lookup tables ``tab`` (for ``dt``), ``tab_half`` (for ``dt/2``) on the grid ``lut_s``."""
    return _run(ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams, gop, flux, tab,
                tab_half, lut_s, order)
'''
