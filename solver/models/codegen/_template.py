"""The module template every generated CPU kernel is written into: the row loop and thread team, once.

A generated module holds the model's arithmetic in ``_cell`` (emitted by :mod:`._exact` or :mod:`._lut`)
and, around it, one sweep for every model:

- Within a row, interior cells run a loop without branches (``_interior``): every cell is computed and
  stored, the few cells outside the tissue are put back afterwards (``_restore``, rows listed by
  :func:`._machinery.row_gaps`), the coupling needs no edge test (a neighbour outside the tissue has
  a zero face weight). On a lookup-table kernel, and on an exact kernel without calls into the maths
  library, LLVM vectorises it (``noalias`` arrays; 512-bit vectors for the tables' gathers:
  :class:`._machinery.WideNoAliasCompiler`), with ``mapped``, ``has_opsin`` and ``from_dst``
  compile-time constants: one loop per combination, each compiled on its first use (the entry points
  ``_block_<key>``, ``_team_<key>`` of ``_ENTRIES``). Grid-edge cells take ``_edge_cells``, which tests
  its neighbours.
- Everything is computed in the compute type ``CT``: float64 for the exact kernel (stored in the buffers'
  dtype), the buffers' dtype for the lookup-table kernel (a float32 run is float32 throughout). Uniform
  parameters reach the cell as a tuple of scalars; per-cell maps through a row scratch, copied row by row
  only when mapped.
- Steps go in pairs (:func:`solver.models.threads.step_in_pairs`): step 1 ``ya -> yb``, step 2
  ``yb -> ya``, fused row by row (step 1 of row t, then step 2 of row t-1), the middle state of a block's
  own rows in a ring of three rows. A midpoint step is such a pair: its half step (``tab1``, ``s1``),
  then the full step from the old state still in ``ya`` (``from_dst``) with the rates at the half step.
  A cell's arithmetic depends only on its grid row (edge or interior), never on its block: the result
  is the same to the bit whatever the thread count or the cut.

Scalars ``s``: ``[v_lo, inv_h, x_hi, dt, gd, fv70, e_op, v0, v1, w_x, w_y, g_op, ...]`` in ``CT`` (the
table grid, the step, the opsin's constants, the scalars of :func:`._machinery.plain_rows`, then the
decays of the lookup-table kernel's gates of constant τ).
"""

from __future__ import annotations

__all__ = ["MODULE_TEMPLATE"]

MODULE_TEMPLATE = '''\
"""Generated from the cell-model description {name!r} (content hash {hash}); do not edit."""
import math

import numba
import numpy as np
from numba import njit

from solver.models._base import check_order
from solver.models.opsin import KERNEL_PARAM_NAMES, kernel_fv_holding, kernel_rates
from solver.models.codegen._machinery import (NoAliasCompiler, WideNoAliasCompiler, interpolate_packed,
                                              plain_rows, row_gaps)
from solver.models.threads import (TASK_EDGES, TASK_PAIRS, TASK_SERIAL, TASK_SINGLE, block_cuts, cycles,
                                   step_in_pairs, team_next, team_start, team_wait)

N_STATE = {n_state}
N_PARAMS = {n_params}
N_COLS = {n_cols}
CT = {ct}
TAU_MIN = 0.01
# below this many cells a pair of steps is too short to share between threads
SERIAL_BELOW_CELLS = 4096
OP_GD, OP_V0, OP_V1, OP_E = (KERNEL_PARAM_NAMES.index(n) for n in ("Gd", "v0", "v1", "E"))
S_V_LO, S_INV_H, S_X_HI, S_DT, S_GD, S_FV70, S_E_OP, S_V0, S_V1, S_WX, S_WY, S_GOP = range(12)
_NO_TABLE = np.zeros(1, np.uint64)


@njit(inline="always", cache=True)
def _rl(x, x_inf, tau, dt):
    tau = tau if tau >= TAU_MIN else TAU_MIN
    return x_inf + (x - x_inf) * math.exp(-dt / tau)


@njit(inline="always", cache=True)
def _fv_raw(v, e, v0, v1):
    x = v - e
    if abs(x) < 1e-9:
        return v1 / v0
    return -(v1 / x) * math.expm1(-x / v0)


@njit(inline="always", cache=True)
def _scalars(s):
    return ({scalars},)


@njit(inline="always", cache=True)
def _param_tuple(rp):
    # the uniform parameters as scalars (column 0 of the scratch: every column is equal)
    return {param_tuple}


# One level of inlining and no calls inside the cell: numba inlines at its IR level and LLVM would not
# vectorise a loop around a call.
@njit(inline="always", cache=True)
def _cell(sc, ic, dst, idr, i, j, drive, tab, sca, rp, cp, mapped, has_opsin, g_op, ga, gr, from_dst):
    """One step of cell (real row ``i``, column ``j``) given its coupling minus iext (``drive``) and its
    opsin conductance ``g_op``: rates at the state in row ``ic`` of ``sc``, the step from that state (or,
    ``from_dst``, from the state still in row ``idr`` of ``dst``), stored into row ``idr`` of ``dst``.
    The old state is loaded from ``dst`` in every case and chosen by a select."""
    v_lo, inv_h, x_hi, dt, gd, fv70, e_op, v0, v1{sca_names} = sca
{cell_body}


# The row functions run without reference counting (_nrt=False): they allocate nothing, and the
# counters of the arrays shared by the threads would bounce between the cores every row.
@njit(cache=True, _nrt=False)
def _restore(src, ic, dst, idr, i, active, gaps, n_state):
    """Cells of real row ``i`` outside the tissue get their old values back (``gaps[i]``: it has some)."""
    if not gaps[i]:
        return
    for j in range(active.shape[1]):
        if active[i, j] == 0:
            for q in range(n_state):
                dst[q, idr, j] = src[q, ic, j]


@njit(cache=True, _nrt=False)
def _fill_row_params(rp, i, params, pidx, pmaps, mapped_only):
    """Parameters of row ``i`` into the scratch ``rp`` (with ``mapped_only``, only those with a map)."""
    for k in range(N_PARAMS):
        m = pidx[k]
        if m >= 0:
            for j in range(rp.shape[1]):
                rp[k, j] = pmaps[m, i, j]
        elif not mapped_only:
            for j in range(rp.shape[1]):
                rp[k, j] = params[k]


@njit(cache=True, _nrt=False, error_model="numpy"{fastmath})
def _edge_cells(sm, im, sc, ic, sp, ip, dst, idr, i, j0, j1, jstep, wx, wy, iext, tab, s, rp, has_opsin, gop, ga,
                gr, from_dst):
    """Cells ``range(j0, j1, jstep)`` of real row ``i`` on the grid edge: the coupling tests which
    neighbours exist. State rows as in :func:`_row`."""
    ny, nx = wx.shape
    sca = _scalars(s)
    cp = _param_tuple(rp)
    for j in range(j0, j1, jstep):
        vc = CT(sc[0, ic, j])
        c = vc - vc
        if j + 1 < nx:
            c += wx[i, j] * (CT(sc[0, ic, j + 1]) - vc)
        if j > 0:
            c += wx[i, j - 1] * (CT(sc[0, ic, j - 1]) - vc)
        if i + 1 < ny:
            c += wy[i, j] * (CT(sp[0, ip, j]) - vc)
        if i > 0:
            c += wy[i - 1, j] * (CT(sm[0, im, j]) - vc)
        _cell(sc, ic, dst, idr, i, j, c - iext[i, j], tab, sca, rp, cp, True, has_opsin, gop[i, j], ga, gr,
              from_dst)


@njit(cache=True, _nrt=False, error_model="numpy", pipeline_class={interior_pipeline}{fastmath})
def _interior(sm, im, sc, ic, sp, ip, dst, idr, i, wx, wy, iext, tab, s, rp, mapped, has_opsin, gop, ga, gr, plain,
              from_dst):
    """Columns 1 .. nx-2 of an interior row: no edge tests. On a ``plain`` row (``plain_rows``) the face
    weights, the opsin conductance and the zero current are scalars: fewer fields streamed per cell."""
{literally_rows}
    sca = _scalars(s)
    cp = _param_tuple(rp)
    nx = wx.shape[1]
    if plain[i]:
        w_x, w_y, g_op = s[S_WX], s[S_WY], s[S_GOP]
        for j in range(1, nx - 1):
            vc = CT(sc[0, ic, j])
            c = (w_x * (CT(sc[0, ic, j + 1]) - vc) + w_x * (CT(sc[0, ic, j - 1]) - vc)
                 + w_y * (CT(sp[0, ip, j]) - vc) + w_y * (CT(sm[0, im, j]) - vc))
            _cell(sc, ic, dst, idr, i, j, c, tab, sca, rp, cp, mapped, has_opsin, g_op, ga, gr, from_dst)
    else:
        for j in range(1, nx - 1):
            vc = CT(sc[0, ic, j])
            c = (wx[i, j] * (CT(sc[0, ic, j + 1]) - vc) + wx[i, j - 1] * (CT(sc[0, ic, j - 1]) - vc)
                 + wy[i, j] * (CT(sp[0, ip, j]) - vc) + wy[i - 1, j] * (CT(sm[0, im, j]) - vc))
            _cell(sc, ic, dst, idr, i, j, c - iext[i, j], tab, sca, rp, cp, mapped, has_opsin, gop[i, j], ga, gr,
                  from_dst)


@njit(cache=True, _nrt=False)
def _row(sm, im, sc, ic, sp, ip, dst, idr, i, wx, wy, active, gaps, params, pidx, pmaps, mapped, iext, tab, s, rp,
         has_opsin, gop, ga, gr, plain, from_dst):
    """One step of real row ``i``: its state is row ``ic`` of ``sc``, the rows above and below are ``im``
    of ``sm`` and ``ip`` of ``sp``; the result goes to row ``idr`` of ``dst``."""
{literally_rows}
    ny, nx = active.shape
    if mapped:
        _fill_row_params(rp, i, params, pidx, pmaps, True)
    e = (wx, wy, iext, tab, s, rp, has_opsin, gop, ga, gr, from_dst)
    if i == 0 or i == ny - 1 or nx < 3:
        _edge_cells(sm, im, sc, ic, sp, ip, dst, idr, i, 0, nx, 1, *e)
    else:
        _edge_cells(sm, im, sc, ic, sp, ip, dst, idr, i, 0, nx, nx - 1, *e)
        _interior(sm, im, sc, ic, sp, ip, dst, idr, i, wx, wy, iext, tab, s, rp, mapped, has_opsin, gop, ga, gr, plain,
                  from_dst)
    _restore(sc, ic, dst, idr, i, active, gaps, N_STATE + 2 if has_opsin else N_STATE)


@njit(inline="always", cache=True)
def _mid(r, shared, r0, r1, yb, ring):
    """Where the state of row ``r`` after the first step of a pair lives: (array, row). A block's own rows
    live in a ring of three rows that stays in cache; its first and last rows, and its neighbours'
    (``shared``: taken by TASK_EDGES), live in ``yb``."""
    if shared and (r <= r0 or r >= r1 - 1):
        return yb, r
    return ring, r % 3


@njit(cache=True, _nrt=False)
def _pairs(ya, yb, task, r0, r1, n_steps, ring, wx, wy, active, gaps, params, pidx, pmaps, mapped, iext, tab1, s1,
           tab2, s2, midpoint, rp, has_opsin, gop, ga, gr, plain):
    """The row loop of :func:`_block`: the first step of a pair takes ``tab1, s1``, the second ``tab2, s2``;
    with ``midpoint`` a pair is one midpoint step (the second step from the old state in ``ya``). The
    switches are passed one by one, not in a tuple: a compile-time constant must reach ``_row`` as such."""
{literally_block}
    ny = active.shape[0]
    for phase in range(2):
        # (repeats, ticks, rows of step 1, rows of step 2, step 1 only on the block's ends, to ring)
        reps, t0, t1, f0, f1, q0, q1, ends, pair = 0, r0, r1, r0, r1, r0, r0, False, False
        if task == TASK_SERIAL:
            if phase == 0:
                reps, t1, q1, pair = n_steps // 2, r1 + 1, r1, True
            else:
                reps = n_steps % 2
        elif phase == 0:
            reps = 1
            if task == TASK_EDGES:
                ends = True
            elif task == TASK_PAIRS:
                t0, t1, f0, f1, q1, pair = r0 + 1, r1 + 1, r0 + 1, r1 - 1, r1, True
        shared = task == TASK_PAIRS
        for _ in range(reps):
            for t in range(t0, t1):
                if f0 <= t < f1 and (not ends or t == r0 or t == r1 - 1):
                    tm = t - 1 if t > 0 else 0
                    tp = t + 1 if t < ny - 1 else ny - 1
                    dst, idr = _mid(t, shared, r0, r1, yb, ring) if pair else (yb, t)
                    _row(ya, tm, ya, t, ya, tp, dst, idr, t, wx, wy, active, gaps, params, pidx, pmaps, mapped, iext,
                         tab1, s1, rp, has_opsin, gop, ga, gr, plain, False)
                r = t - 1
                if q0 <= r < q1:
                    sm, im = _mid(r - 1 if r > 0 else 0, shared, r0, r1, yb, ring)
                    sc, ic = _mid(r, shared, r0, r1, yb, ring)
                    sp, ip = _mid(r + 1 if r < ny - 1 else ny - 1, shared, r0, r1, yb, ring)
                    _row(sm, im, sc, ic, sp, ip, ya, r, r, wx, wy, active, gaps, params, pidx, pmaps, mapped, iext,
                         tab2, s2, rp, has_opsin, gop, ga, gr, plain, midpoint)


@njit(nogil=True, cache=True)
def _block(ya, yb, task, r0, r1, n_steps, wx, wy, active, gaps, params, pidx, pmaps, mapped, iext, has_opsin, gop,
           ga, gr, tab1, s1, tab2, s2, midpoint, plain):
    """Rows ``[r0, r1)`` of one task of ``threads.step_in_pairs``."""
{literally_block}
    nx = active.shape[1]
    rp = np.empty((max(N_PARAMS, 1), nx), CT)
    _fill_row_params(rp, r0, params, pidx, pmaps, False)
    ring = np.empty((ya.shape[0], 3, nx if task != TASK_EDGES else 1), ya.dtype)  # step 1 of two rows: no ring
    _pairs(ya, yb, task, r0, r1, n_steps, ring, wx, wy, active, gaps, params, pidx, pmaps, mapped, iext, tab1, s1,
           tab2, s2, midpoint, rp, has_opsin, gop, ga, gr, plain)


{entries}
def _cast(a):
    return np.ascontiguousarray(a, dtype=CT)


def fields_of(wx, wy, iext, has_opsin, oparams, gop, flux, want_plain):
    """The fields in ``CT``: ``(wx, wy, iext, gop, ga, gr, plain, plain_scalars)`` (``plain`` all zero
    unless ``want_plain``: :func:`plain_rows` costs a pass over four fields)."""
    wx, wy, iext, gop = _cast(wx), _cast(wy), _cast(iext), _cast(gop)
    if has_opsin:
        ga, gr = (_cast(r) for r in kernel_rates(flux, oparams))
    else:
        ga = gr = np.zeros((1, 1), CT)
    if want_plain:
        plain, scalars = plain_rows(wx, wy, iext, gop)
    else:
        plain, scalars = np.zeros(wx.shape[0], np.uint8), (0.0, 0.0, 0.0)
    return wx, wy, iext, gop, ga, gr, plain, scalars


def _run(ya, yb, n_steps, dt, active, params, pidx, pmaps, has_opsin, oparams, fields, tab, tab_half, lut_s,
         lut_s_half, order):
    order = check_order(order)
    if has_opsin and ya.shape[0] < N_STATE + 2:
        raise ValueError("has_opsin needs two more state variables (opsin O and D) after the model's")
    wx, wy, iext, gop, ga, gr, plain, scalars = fields
    opc = [1.0, 0.0, 1.0, 1.0, 0.0]
    if has_opsin:
        e_op, v0, v1 = float(oparams[OP_E]), float(oparams[OP_V0]), float(oparams[OP_V1])
        opc = [kernel_fv_holding(oparams), e_op, v0, v1, float(oparams[OP_GD])]
    fv70, e_op, v0, v1, gd = opc

    def scalars_of(h, grid):
        return np.array([grid[0], grid[1], grid[2], h, gd, fv70, e_op, v0, v1, *scalars, *grid[3:]], dtype=CT)

    midpoint = order == 2
    s2 = scalars_of(float(dt), lut_s)
    s1 = scalars_of(0.5 * float(dt), lut_s_half) if midpoint else s2
    params = np.ascontiguousarray(params, dtype=np.float64)
    mapped = bool((np.asarray(pidx)[:N_PARAMS] >= 0).any())  # a preset's own parameters after these: not read
    block, team = _ENTRIES[mapped, bool(has_opsin), midpoint]
    # a midpoint step is a pair of the pair scheme: 2 n_steps stages, the result always in ya
    args = (wx, wy, active, row_gaps(active), params, pidx, pmaps, mapped, iext, bool(has_opsin), gop, ga, gr,
            tab_half if midpoint else tab, s1, tab, s2, midpoint, plain)
    return step_in_pairs(block, team, ya, yb, int(n_steps) * int(order), SERIAL_BELOW_CELLS, args)


def kernel(ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams, gop, flux, order=1,
           fields=None):
    """Advance the sheet by ``n_steps`` steps (the ``CellModel.kernel`` contract); ``fields``: what
    :func:`fields_of` gives for these arrays, when the caller keeps it between calls."""
    if fields is None:
        fields = fields_of(wx, wy, iext, has_opsin, oparams, gop, flux, False)
    return _run(ya, yb, n_steps, dt, active, params, pidx, pmaps, has_opsin, oparams, fields, _NO_TABLE, _NO_TABLE,
                (0.0, 1.0, 0.0), (0.0, 1.0, 0.0), order)


def kernel_tabulated(ya, yb, n_steps, dt, active, params, pidx, pmaps, has_opsin, oparams, fields, tab, tab_half,
                     lut_s, lut_s_half, order=1):
    """``kernel`` on the packed lookup tables ``tab`` (for ``dt``), ``tab_half`` (for ``dt/2``) and their scalars
    ``lut_s``, ``lut_s_half`` (``v_lo, 1/h, rows - 2``, then the decays of the gates of constant tau), with
    the fields already in ``CT`` (:func:`fields_of`)."""
    return _run(ya, yb, n_steps, dt, active, params, pidx, pmaps, has_opsin, oparams, fields, tab, tab_half, lut_s,
                lut_s_half, order)
'''
