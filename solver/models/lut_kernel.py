"""Lookup-table numba kernel for the HEK presets: the default HEK path (solver.engine.backends picks it).

The gate coefficients are interpolated from the tables of :mod:`lut`; the equations and the
arguments are those of the presets' exact kernel (generated from their description,
:mod:`solver.models.presets.hek_gokhale2017`), which is the check (within 0.5 % on the single-cell
figures, tests/solver/test_lut.py).
"""

from __future__ import annotations

import math

import numpy as np
import numba
from numba import njit

from .codegen._machinery import WideNoAliasCompiler, high_f32, interpolate_packed, low_f32, plain_rows, row_gaps
from .hek import HEK_PARAM_NAMES, HEK_STATE_NAMES
from .threads import (TASK_EDGES, TASK_PAIRS, TASK_SERIAL, TASK_SINGLE, block_cuts, cycles, step_in_pairs, team_next,
                      team_start, team_wait)

# Parameter indices in hek.HEK_PARAM_NAMES, and the state's size: v, m, h1, h2, n1, n2, o, p, b (the opsin's O
# and D follow when present)
E_NA, E_K, K_O, G_NA, G_K1, G_NA_WT, G_K_WT, G_L, E_L, KIR_INSTANTANEOUS = (HEK_PARAM_NAMES.index(n) for n in (
    "E_Na", "E_K", "K_o", "g_Na", "g_K1", "g_Na_wt", "g_K_wt", "g_L", "E_L", "kir_instantaneous"))
N_PARAMS = len(HEK_PARAM_NAMES)
N_STATE = len(HEK_STATE_NAMES)

__all__ = ["hek_lut_kernel", "plain_rows"]

# The default HEK path (solver.engine.backends picks it): the gate coefficients are interpolated from the
# tables of lut.py, and everything is computed in the buffers' dtype (float32 runs are float32
# throughout: twice the SIMD width and half the bytes). Within a row, interior cells run a loop
# without branches that LLVM vectorises (gathers from the table; every cell is stored and the few
# cells outside the tissue put back afterwards; the coupling needs no edge test); grid-edge cells
# take a path that tests its neighbours. Rows, pairs of steps and threads are driven as in the
# generic kernels (threads.step_in_pairs): a row's state crosses the memory bus once per
# two steps, and the result never depends on the thread count or on how a run is cut.
#
# The gathers bound the loop (each gathered element costs about as much as a vector of arithmetic),
# hence the packed table (one 64-bit load per column: value and slope as two float32), the 512-bit
# vectors sixteen cells per iteration (two gathers of eight 64-bit entries per column, sixteen
# float32 lanes; codegen._machinery.WideNoAliasCompiler) and the second lookup of n∞ at the new V
# compiled only for the instantaneous-Kir2.1 preset.

#: Below this many cells the lookup-table kernel runs on one thread (a pair of steps on a share of
#: rows must outlast the threads' start and their two barriers per pair).
LUT_SERIAL_BELOW_CELLS = 16384

# table columns, lut.COLUMNS order (kept in sync by a test)
L_M_C, L_M_B, L_H_INF, L_H1_C, L_H2_C, L_N_INF, L_N1_C, L_N2_C, L_O_B, L_P_B, L_B_B, L_OPSIN_DRIVE = range(12)
# lut_scalars layout (lut.HekTable.scalars, then dt and Gd appended by the driver)
S_V_LO, S_INV_H, S_X_HI, S_A_O, S_A_P, S_A_B, S_DT, S_GD, S_WX, S_WY, S_GOP = range(11)
# rows of the per-thread scratch of current parameters, in the compute dtype
R_GNA9, R_GNA1, R_GK75, R_GK25, R_GNAWT, R_GKWT, R_GL, R_ENA, R_EK, R_EL = range(10)
N_ROW_PARAMS = 10
N_COLS = 12  # a row of the flat packed table: one 64-bit (value, slope) entry per column


# the packed table's intrinsics, under their old names (moved to codegen._machinery)
_low_f32, _high_f32, _ip = low_f32, high_f32, interpolate_packed


@njit(inline="always", cache=True)
def _pv(k, params, pidx, pmaps, i, j):
    m = pidx[k]
    return pmaps[m, i, j] if m >= 0 else params[k]


@njit(cache=True, _nrt=False)
def _fill_row_params(rp, i, params, pidx, pmaps, mapped_only):
    """Current parameters of row ``i`` into the scratch ``rp`` (compute dtype).

    With ``mapped_only`` only the parameters that have a map are rewritten (the others were filled
    once): a copy of one row of each map, cheap next to a row of cell-steps.
    """
    nx = rp.shape[1]
    if not mapped_only or pidx[G_NA] >= 0:
        for j in range(nx):
            g = _pv(G_NA, params, pidx, pmaps, i, j)
            rp[R_GNA9, j] = 0.9 * g
            rp[R_GNA1, j] = 0.1 * g
    if not mapped_only or pidx[G_K1] >= 0 or pidx[K_O] >= 0:
        for j in range(nx):
            g = _pv(G_K1, params, pidx, pmaps, i, j) * math.sqrt(_pv(K_O, params, pidx, pmaps, i, j) / 5.4)
            rp[R_GK75, j] = 0.75 * g
            rp[R_GK25, j] = 0.25 * g
    for k, r in ((G_NA_WT, R_GNAWT), (G_K_WT, R_GKWT), (G_L, R_GL), (E_NA, R_ENA), (E_K, R_EK), (E_L, R_EL)):
        if not mapped_only or pidx[k] >= 0:
            for j in range(nx):
                rp[r, j] = _pv(k, params, pidx, pmaps, i, j)


@njit(inline="always", cache=True)
def _row_param_tuple(rp):
    # the uniform current parameters as scalars (column 0 of the scratch: every column is equal)
    return (rp[R_GNA9, 0], rp[R_GNA1, 0], rp[R_GK75, 0], rp[R_GK25, 0], rp[R_GNAWT, 0], rp[R_GKWT, 0], rp[R_GL, 0],
            rp[R_ENA, 0], rp[R_EK, 0], rp[R_EL, 0])  # fmt: skip


# One level of inlining and no helper calls inside the cell: numba inlines at its IR level (each
# site is typed again: compile time) and LLVM would not inline a call (no vectorisation).
@njit(inline="always", cache=True)
def _lut_cell(src, ic, dst, idr, i, j, drive, tab, sc, rp, cp, mapped, has_opsin, inst, g_op, ga, gr, from_dst):
    """One lookup-table step of cell (real row ``i``, column ``j``) given its coupling minus iext
    (``drive``) and its opsin conductance ``g_op``: rates at the state in row ``ic`` of ``src``, the
    step from that state (or, ``from_dst``, from the state still in row ``idr`` of ``dst``: the full
    step of a midpoint step), stored into row ``idr`` of ``dst``.

    ``tab`` is the packed table (lut.HekTable.packed). ``sc`` is the tuple of scalars ``(v_lo,
    inv_h, x_hi, a_o, a_p, a_b, dt, gd)`` (locals, not loads from an array that the compiler would
    have to prove the stores never touch). The current parameters come from the row scratch ``rp``
    when ``mapped``, else from the tuple ``cp`` (ten fewer streams through the cache in the common,
    uniform case). ``inst`` (instantaneous Kir2.1) should be a constant where speed matters: it adds
    a second lookup, of n∞ at the new V. The old state is loaded from ``dst`` in every case and
    chosen by a select (a branch would stop vectorisation; the row of ``dst`` is in cache anyway).
    """
    v_lo, inv_h, x_hi, a_o, a_p, a_b, dt, gd = sc
    v = src[0, ic, j]
    zero = v_lo - v_lo
    x = (v - v_lo) * inv_h
    x = x if x > zero else zero  # NaN lands on row 0: V itself stays NaN and the run loop stops
    x = x if x < x_hi else x_hi
    xf = np.floor(x)  # x >= 0: the row; np.floor keeps float32 float32
    # a cast, not int(): int() is a call, and a call stops vectorisation
    kb = np.int64(xf) * N_COLS
    f = x - xf
    m, h1, h2 = src[1, ic, j], src[2, ic, j], src[3, ic, j]
    n1, n2 = src[4, ic, j], src[5, ic, j]
    o, pg, b = src[6, ic, j], src[7, ic, j], src[8, ic, j]
    # the state the step starts from (see the docstring)
    d0, d1, d2, d3 = dst[0, idr, j], dst[1, idr, j], dst[2, idr, j], dst[3, idr, j]
    d4, d5, d6, d7, d8 = dst[4, idr, j], dst[5, idr, j], dst[6, idr, j], dst[7, idr, j], dst[8, idr, j]
    v0 = d0 if from_dst else v
    m0, h10, h20 = (d1 if from_dst else m), (d2 if from_dst else h1), (d3 if from_dst else h2)
    n10, n20 = (d4 if from_dst else n1), (d5 if from_dst else n2)
    o0, pg0, b0 = (d6 if from_dst else o), (d7 if from_dst else pg), (d8 if from_dst else b)
    # every load unconditional, every choice a select or on a constant: the loop body stays one block
    n_inf = _ip(tab[kb + L_N_INF], f)
    if inst:
        n1 = n_inf
        n2 = n_inf
    if mapped:
        g_na9, g_na1, g_k75, g_k25 = rp[R_GNA9, j], rp[R_GNA1, j], rp[R_GK75, j], rp[R_GK25, j]
        g_nawt, g_kwt, g_l, e_na, e_k, e_l = rp[R_GNAWT, j], rp[R_GKWT, j], rp[R_GL, j], rp[R_ENA, j], rp[R_EK, j], \
            rp[R_EL, j]  # fmt: skip
    else:
        g_na9, g_na1, g_k75, g_k25, g_nawt, g_kwt, g_l, e_na, e_k, e_l = cp
    i_ion = (
        (g_na9 * h1 + g_na1 * h2) * m * m * m * (v - e_na)
        + (g_k75 * n1 + g_k25 * n2) * (v - e_k)
        + g_nawt * o * o * o * pg * (v - e_na)
        + g_kwt * b * b * (v - e_k)
        + g_l * (v - e_l)
    )
    if has_opsin:
        o_op = src[N_STATE, ic, j]
        d_op = src[N_STATE + 1, ic, j]
        do0, dd0 = dst[N_STATE, idr, j], dst[N_STATE + 1, idr, j]
        drive = drive - g_op * o_op * _ip(tab[kb + L_OPSIN_DRIVE], f)
        g_a = ga[i, j]  # Ga·C with C = 1 - O - D, written without a literal 1 (it would be float64)
        o_new = (do0 if from_dst else o_op) + dt * (g_a - g_a * o_op - g_a * d_op - gd * o_op)
        d_new = (dd0 if from_dst else d_op) + dt * (gd * o_op - gr[i, j] * d_op)
        dst[N_STATE, idr, j] = o_new
        dst[N_STATE + 1, idr, j] = d_new
    v_new = v0 + dt * (drive - i_ion)
    h_inf = _ip(tab[kb + L_H_INF], f)
    if inst:
        # instantaneous Kir2.1: the stored gates follow the new V
        xn = (v_new - v_lo) * inv_h
        xn = xn if xn > zero else zero
        xn = xn if xn < x_hi else x_hi
        xnf = np.floor(xn)
        n1_new = _ip(tab[np.int64(xnf) * N_COLS + L_N_INF], xn - xnf)
        n2_new = n1_new
    else:
        n1_new = n10 + (n_inf - n10) * _ip(tab[kb + L_N1_C], f)
        n2_new = n20 + (n_inf - n20) * _ip(tab[kb + L_N2_C], f)
    m_new = m0 + (_ip(tab[kb + L_M_B], f) - _ip(tab[kb + L_M_C], f) * m0)
    h1_new = h10 + (h_inf - h10) * _ip(tab[kb + L_H1_C], f)
    h2_new = h20 + (h_inf - h20) * _ip(tab[kb + L_H2_C], f)
    o_new = a_o * o0 + _ip(tab[kb + L_O_B], f)
    p_new = a_p * pg0 + _ip(tab[kb + L_P_B], f)
    b_new = a_b * b0 + _ip(tab[kb + L_B_B], f)
    # every cell is stored; _lut_restore puts inactive cells back (a mask here would make LLVM
    # branch around the arithmetic, and a loop with branches does not vectorise)
    dst[0, idr, j] = v_new
    dst[1, idr, j] = m_new
    dst[2, idr, j] = h1_new
    dst[3, idr, j] = h2_new
    dst[4, idr, j] = n1_new
    dst[5, idr, j] = n2_new
    dst[6, idr, j] = o_new
    dst[7, idr, j] = p_new
    dst[8, idr, j] = b_new


# The row functions below run without numba's reference counting (_nrt=False): they allocate
# nothing, and the atomic increments and decrements of every array they pass on cost ~10 % of a
# 1024-wide row (two threads contend for the same counters).
@njit(cache=True, _nrt=False)
def _lut_restore(src, ic, dst, idr, i, active, gaps, n_state):
    """Inactive cells of real row ``i`` get their old values back: they are never changed.

    ``gaps[i]``: whether row ``i`` has such cells (most rows have none: skip the scan).
    """
    if not gaps[i]:
        return
    for j in range(active.shape[1]):
        if active[i, j] == 0:
            for q in range(n_state):
                dst[q, idr, j] = src[q, ic, j]


@njit(cache=True, fastmath={"contract"}, _nrt=False)
def _lut_edge_cells(sm, im, sc, ic, sp, ip, dst, idr, i, j0, j1, jstep, wx, wy, iext, tab, s, rp, has_opsin, inst,
                    gop, ga, gr, from_dst):  # fmt: skip
    """Cells ``range(j0, j1, jstep)`` of real row ``i`` on the grid edge: the coupling tests which
    neighbours exist. State rows as in :func:`_lut_row`."""
    ny, nx = wx.shape
    sca = (s[S_V_LO], s[S_INV_H], s[S_X_HI], s[S_A_O], s[S_A_P], s[S_A_B], s[S_DT], s[S_GD])
    for j in range(j0, j1, jstep):
        vc = sc[0, ic, j]
        c = vc - vc
        if j + 1 < nx:
            c += wx[i, j] * (sc[0, ic, j + 1] - vc)
        if j > 0:
            c += wx[i, j - 1] * (sc[0, ic, j - 1] - vc)
        if i + 1 < ny:
            c += wy[i, j] * (sp[0, ip, j] - vc)
        if i > 0:
            c += wy[i - 1, j] * (sm[0, im, j] - vc)
        _lut_cell(sc, ic, dst, idr, i, j, c - iext[i, j], tab, sca, rp, _row_param_tuple(rp), True, has_opsin, inst,
                  gop[i, j], ga, gr, from_dst)  # fmt: skip


@njit(cache=True, fastmath={"contract"}, pipeline_class=WideNoAliasCompiler, _nrt=False)
def _lut_interior(sm, im, sc, ic, sp, ip, dst, idr, i, wx, wy, iext, tab, s, rp, mapped, has_opsin, inst, gop, ga,
                  gr, plain, from_dst):  # fmt: skip
    """Columns 1 .. nx-2 of an interior row: no edge tests (a neighbour outside the tissue has a zero
    face weight and a finite V), so the loop vectorises. ``mapped``, ``has_opsin`` and ``inst`` are
    compile-time constants (one loop per combination in use, see :func:`_lut_row`). On a ``plain``
    row (:func:`plain_rows`) the face weights, the opsin conductance and the zero current are
    scalars: four fewer fields streamed from memory per cell."""
    numba.literally(has_opsin)
    numba.literally(mapped)
    numba.literally(inst)
    cp = _row_param_tuple(rp)
    nx = wx.shape[1]
    sca = (s[S_V_LO], s[S_INV_H], s[S_X_HI], s[S_A_O], s[S_A_P], s[S_A_B], s[S_DT], s[S_GD])
    if plain[i]:
        w_x, w_y, g_op = s[S_WX], s[S_WY], s[S_GOP]
        for j in range(1, nx - 1):
            vc = sc[0, ic, j]
            c = (w_x * (sc[0, ic, j + 1] - vc) + w_x * (sc[0, ic, j - 1] - vc)
                 + w_y * (sp[0, ip, j] - vc) + w_y * (sm[0, im, j] - vc))  # fmt: skip
            _lut_cell(sc, ic, dst, idr, i, j, c, tab, sca, rp, cp, mapped, has_opsin, inst, g_op, ga, gr, from_dst)
    else:
        for j in range(1, nx - 1):
            vc = sc[0, ic, j]
            c = (wx[i, j] * (sc[0, ic, j + 1] - vc) + wx[i, j - 1] * (sc[0, ic, j - 1] - vc)
                 + wy[i, j] * (sp[0, ip, j] - vc) + wy[i - 1, j] * (sm[0, im, j] - vc))  # fmt: skip
            _lut_cell(sc, ic, dst, idr, i, j, c - iext[i, j], tab, sca, rp, cp, mapped, has_opsin, inst, gop[i, j], ga,
                      gr, from_dst)  # fmt: skip


@njit(cache=True, _nrt=False)
def _lut_row(sm, im, sc, ic, sp, ip, dst, idr, i, wx, wy, active, gaps, params, pidx, pmaps, mapped, iext, tab, s,
             rp, has_opsin, inst, gop, ga, gr, plain, from_dst):  # fmt: skip
    """One step of real row ``i``: its state is row ``ic`` of ``sc``, the rows above and below are
    ``im`` of ``sm`` and ``ip`` of ``sp``; the result goes to row ``idr`` of ``dst``."""
    ny, nx = active.shape
    if mapped:
        _fill_row_params(rp, i, params, pidx, pmaps, True)
    e = (wx, wy, iext, tab, s, rp, has_opsin, inst, gop, ga, gr, from_dst)
    if i == 0 or i == ny - 1 or nx < 3:
        _lut_edge_cells(sm, im, sc, ic, sp, ip, dst, idr, i, 0, nx, 1, *e)
    else:
        _lut_edge_cells(sm, im, sc, ic, sp, ip, dst, idr, i, 0, nx, nx - 1, *e)
        # the interior loop with its three switches as constants (mapped, has_opsin, inst)
        if has_opsin and mapped and inst:
            _lut_interior(sm, im, sc, ic, sp, ip, dst, idr, i, wx, wy, iext, tab, s, rp, True, True, True,
                          gop, ga, gr, plain, from_dst)
        elif has_opsin and mapped and not inst:
            _lut_interior(sm, im, sc, ic, sp, ip, dst, idr, i, wx, wy, iext, tab, s, rp, True, True, False,
                          gop, ga, gr, plain, from_dst)
        elif has_opsin and not mapped and inst:
            _lut_interior(sm, im, sc, ic, sp, ip, dst, idr, i, wx, wy, iext, tab, s, rp, False, True, True,
                          gop, ga, gr, plain, from_dst)
        elif has_opsin and not mapped and not inst:
            _lut_interior(sm, im, sc, ic, sp, ip, dst, idr, i, wx, wy, iext, tab, s, rp, False, True, False,
                          gop, ga, gr, plain, from_dst)
        elif not has_opsin and mapped and inst:
            _lut_interior(sm, im, sc, ic, sp, ip, dst, idr, i, wx, wy, iext, tab, s, rp, True, False, True,
                          gop, ga, gr, plain, from_dst)
        elif not has_opsin and mapped and not inst:
            _lut_interior(sm, im, sc, ic, sp, ip, dst, idr, i, wx, wy, iext, tab, s, rp, True, False, False,
                          gop, ga, gr, plain, from_dst)
        elif not has_opsin and not mapped and inst:
            _lut_interior(sm, im, sc, ic, sp, ip, dst, idr, i, wx, wy, iext, tab, s, rp, False, False, True,
                          gop, ga, gr, plain, from_dst)
        else:
            _lut_interior(sm, im, sc, ic, sp, ip, dst, idr, i, wx, wy, iext, tab, s, rp, False, False, False,
                          gop, ga, gr, plain, from_dst)
    _lut_restore(sc, ic, dst, idr, i, active, gaps, N_STATE + 2 if has_opsin else N_STATE)


# A copy of the generated kernels' _mid on purpose: numba caches a caller by its own file, so a change to an
# inlined helper in another module would leave this module's cached kernels stale.
@njit(inline="always", cache=True)
def _mid(r, shared, r0, r1, yb, ring):
    """Where the state of row ``r`` after the first step of a pair lives: (array, row).

    A block's own rows live in a ring of three rows that stays in cache (never written to ``yb``);
    its first and last rows, and its neighbours' (``shared``: taken by TASK_EDGES), live in ``yb``.
    """
    if shared and (r <= r0 or r >= r1 - 1):
        return yb, r
    return ring, r % 3


@njit(cache=True, _nrt=False)
def _lut_pairs(ya, yb, task, r0, r1, n_steps, ring, wx, wy, active, gaps, params, pidx, pmaps, mapped, iext, tab1,
               s1, tab2, s2, midpoint, rp, has_opsin, inst, gop, ga, gr, plain):  # fmt: skip
    """The row loop of :func:`_hek_lut_block`, without reference counting (``ya``, ``yb`` and the
    fields are shared by the threads: their counters would bounce between the cores every row).
    The first step of a pair takes ``tab1, s1``, the second ``tab2, s2``; with ``midpoint`` a pair
    is one midpoint step (half-step tables first, the second step from the old state in ``ya``)."""
    ny = active.shape[0]
    a1 = (wx, wy, active, gaps, params, pidx, pmaps, mapped, iext, tab1, s1, rp, has_opsin, inst, gop, ga, gr, plain,
          False)  # fmt: skip
    a2 = (wx, wy, active, gaps, params, pidx, pmaps, mapped, iext, tab2, s2, rp, has_opsin, inst, gop, ga, gr, plain,
          midpoint)  # fmt: skip
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
                    _lut_row(ya, tm, ya, t, ya, tp, dst, idr, t, *a1)
                r = t - 1
                if s0 <= r < s1:
                    sm, im = _mid(r - 1 if r > 0 else 0, shared, r0, r1, yb, ring)
                    sc, ic = _mid(r, shared, r0, r1, yb, ring)
                    sp, ip = _mid(r + 1 if r < ny - 1 else ny - 1, shared, r0, r1, yb, ring)
                    _lut_row(sm, im, sc, ic, sp, ip, ya, r, r, *a2)


@njit(nogil=True, cache=True)
def _hek_lut_block(ya, yb, task, r0, r1, n_steps, wx, wy, active, gaps, params, pidx, pmaps, iext, has_opsin, gop,
                   ga, gr, tab1, s1, tab2, s2, midpoint, plain):  # fmt: skip
    """Rows ``[r0, r1)`` of one task of :func:`threads.step_in_pairs` (the pair scheme of
    the generated kernels: the middle state of a pair in a ring of three rows)."""
    nx = active.shape[1]
    if has_opsin and ya.shape[0] < N_STATE + 2:
        raise ValueError("has_opsin needs two more state variables (opsin O and D) after the 9 HEK ones")
    inst = params[KIR_INSTANTANEOUS] >= 0.5
    mapped = False
    for k in (E_NA, E_K, K_O, G_NA, G_K1, G_NA_WT, G_K_WT, G_L, E_L):
        if pidx[k] >= 0:
            mapped = True
    rp = np.empty((N_ROW_PARAMS, nx), ya.dtype)
    _fill_row_params(rp, r0, params, pidx, pmaps, False)
    ring = np.empty((ya.shape[0], 3, nx if task != TASK_EDGES else 1), ya.dtype)  # step 1 of two rows: no ring
    _lut_pairs(ya, yb, task, r0, r1, n_steps, ring, wx, wy, active, gaps, params, pidx, pmaps, mapped, iext, tab1, s1,
               tab2, s2, midpoint, rp, has_opsin, inst, gop, ga, gr, plain)  # fmt: skip


@njit(nogil=True, cache=True)
def _hek_lut_team(ya, yb, sync, record, plan, b, n_steps, *args):
    """Thread ``b``'s part of :func:`threads.step_in_pairs` with :func:`_hek_lut_block` (all its pairs)."""
    shares = team_start(plan, record.shape[1])
    for p in range(n_steps // 2):
        cuts = block_cuts(shares, ya.shape[1])
        _hek_lut_block(ya, yb, TASK_EDGES, cuts[b], cuts[b + 1], 0, *args)
        if not team_wait(sync):
            return
        t0 = cycles()
        _hek_lut_block(ya, yb, TASK_PAIRS, cuts[b], cuts[b + 1], 0, *args)
        record[0, b] = cycles() - t0
        if not team_wait(sync):
            return
        shares = team_next(shares, cuts, record, plan, p + 1, b)
    if n_steps % 2:
        cuts = block_cuts(shares, ya.shape[1])
        _hek_lut_block(ya, yb, TASK_SINGLE, cuts[b], cuts[b + 1], 0, *args)


def hek_lut_kernel(ya, yb, n_steps, wx, wy, active, params, pidx, pmaps, iext, has_opsin, gop, ga, gr, tab, s,
                   plain=None, half=None):  # fmt: skip
    """Advance a HEK sheet by ``n_steps`` lookup-table steps; returns the parity of the final buffer.

    Everything but ``params``/``pidx``/``pmaps``/``active`` is in the compute dtype (that of ``ya``):
    ``wx``, ``wy``, ``iext``, ``gop`` and the light-dependent opsin rates ``ga``, ``gr`` (ny, nx),
    ``tab`` the packed table of :func:`lut.hek_table` (:meth:`lut.HekTable.packed`), ``s`` =
    ``[v_lo, inv_h, x_hi, a_o, a_p, a_b, dt, Gd]``, ``plain`` what :func:`plain_rows` returns for
    these fields (computed when None: callers that keep their fields cache it). ``half``: None for
    first-order steps; for second-order (exponential midpoint) steps the ``(tab, s)`` of the table
    of ``dt/2``, the half step's (each step is then a pair of the pair scheme; returns 0).
    Gate parameters must be uniform (a map of one needs the exact kernel); current
    parameters may have maps. Steps ``ya`` -> ``yb`` -> ``ya`` ... as the exact kernel,
    in pairs and threads as the generic kernels (:func:`threads.step_in_pairs`).
    ``solver.engine.backends`` calls it.
    """
    plain, scalars = plain if plain is not None else plain_rows(wx, wy, iext, gop)
    s = np.concatenate([np.asarray(s)[:S_WX], scalars]).astype(ya.dtype)
    tab1, s1 = tab, s
    if half is not None:
        tab1, s1 = half[0], np.concatenate([np.asarray(half[1])[:S_WX], scalars]).astype(ya.dtype)
    args = (wx, wy, active, row_gaps(active), params, pidx, pmaps, iext, bool(has_opsin), gop, ga, gr, tab1, s1, tab, s,
            half is not None, plain)  # fmt: skip
    n = int(n_steps) * (2 if half is not None else 1)
    return step_in_pairs(_hek_lut_block, _hek_lut_team, ya, yb, n, LUT_SERIAL_BELOW_CELLS, args)
