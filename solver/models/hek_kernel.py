"""Fused numba kernel for the HEK presets (Gokhale 2017 at 35 C and 23 C, and the bistable preset).

One call advances the whole sheet by ``n_steps`` steps of: masked 5-point coupling of V, the
membrane currents, Rush-Larsen gates, forward-Euler V, and (when ``has_opsin``) forward-Euler
three-state opsin; with ``order=2`` each step is the exponential midpoint rule (a half step to the
midpoint state, then a full step from the old state with every rate at the midpoint: second-order
Rush-Larsen). The equations are those of :mod:`hek`, transcribed separately for speed; the
NumPy reference in :mod:`reference` is the check. Compute in float64, store in the buffer dtype.
The default HEK path is the lookup-table kernel of :mod:`lut_kernel`; this one is exact.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = ["hek_kernel"]

# Parameter indices, in hek.HEK_PARAM_NAMES order (kept in sync by a test).
E_NA, E_K, K_O, G_NA, VM1, VM2, A_M, B_M, V_H, K_H = range(10)
A1, B1, C1, A2, C2, G_K1, V_N, P1, P2, P3 = range(10, 20)
Q1, Q2, Q3, G_NA_WT, TAU_O, TAU_P, V_P, G_K_WT, V_B, K_B = range(20, 30)
TAU_B, G_L, E_L, KIR_INSTANTANEOUS = range(30, 34)
N_PARAMS = 34
N_STATE = 9  # v, m, h1, h2, n1, n2, o, p, b; opsin O and D follow when present

TAU_MIN = 0.01  # ms, the clamp of MODEL.md section 2
SERIAL_BELOW_CELLS = 1024  # ~200 ns per cell-step: below this a step is too short to share

# oparams layout: [k_a, k_r, p, q, Gd, Gr0, phi_m, v0, v1, E]
OP_KA, OP_KR, OP_P, OP_Q, OP_GD, OP_GR0, OP_PHIM, OP_V0, OP_V1, OP_E = range(10)

# _coupling is duplicated in generic_kernels.py on purpose: numba's cache is keyed on
# the caller's source file, so a helper imported from another module could go stale in the cache.


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
    # Rush-Larsen: exact exponential relaxation at frozen V
    if tau < TAU_MIN:
        tau = TAU_MIN
    return x_inf + (x - x_inf) * math.exp(-dt / tau)


@njit(inline="always", cache=True)
def _sig(x):
    return 1.0 / (1.0 + math.exp(x))


@njit(inline="always", cache=True)
def _fv_raw(v, e, v0, v1):
    # (v1/(V-E))*(1-exp(-(V-E)/v0)), with its limit v1/v0 at V = E
    x = v - e
    if abs(x) < 1e-9:
        return v1 / v0
    return -(v1 / x) * math.expm1(-x / v0)


@njit(cache=True)
def _hek_update(pc, i, v, m, h1, h2, n1, n2, o, pg, b, drive, dt, base, bi, bj):
    """New (v, m, h1, h2, n1, n2, o, p, b) of one cell; ``pc[i]`` holds the cell's parameters.

    ``drive`` = coupling - I_opsin - iext (A/F). Every rate is taken at the state passed as scalars;
    the step starts from the state at ``base[:, bi, bj]`` (the same state in a first-order step, the
    old state in the full step of a midpoint step). Scalars in, a tuple out. Per-cell parameters come
    from the scratch ``pc`` rather than a helper indexing ``pmaps`` per parameter: that helper,
    inlined 34 times, cost numba five times the arithmetic (array reference counting).
    """
    e_na = pc[i, E_NA]
    e_k = pc[i, E_K]
    n_inf = _sig((v + pc[i, V_N]) / 14.32)
    inst = pc[i, KIR_INSTANTANEOUS] >= 0.5
    if inst:
        n1 = n_inf
        n2 = n_inf
    i_ion = (
        pc[i, G_NA] * m * m * m * (0.9 * h1 + 0.1 * h2) * (v - e_na)
        + pc[i, G_K1] * math.sqrt(pc[i, K_O] / 5.4) * (0.75 * n1 + 0.25 * n2) * (v - e_k)
        + pc[i, G_NA_WT] * o * o * o * pg * (v - e_na)
        + pc[i, G_K_WT] * b * b * (v - e_k)
        + pc[i, G_L] * (v - pc[i, E_L])
    )
    v_new = np.float64(base[0, bi, bj]) + dt * (drive - i_ion)

    # gates: Rush-Larsen at the old V
    m_inf = 1.653 * _sig((v + pc[i, VM1]) / -7.984) - 0.9225 * _sig((v + pc[i, VM2]) / -11.44) + 0.0971
    tau_m = pc[i, A_M] * math.exp((v + 53.87) ** 2 / -1136.0) + pc[i, B_M]
    h_inf = _sig((v + pc[i, V_H]) / pc[i, K_H])
    tau_h1 = (
        pc[i, A1] * math.exp((v + 83.17) ** 2 / -786.6)
        + pc[i, B1] * _sig((v - 9.195) / 2.982)
        + pc[i, C1]
    )
    tau_h2 = pc[i, A2] * math.exp((v + 87.77) ** 2 / -377.4) + pc[i, C2]
    o_inf = _sig((v + 46.25) / -10.59)
    p_inf = 0.0708 + 0.9292 * _sig((v + pc[i, V_P]) / 8.738)
    b_inf = _sig((v + pc[i, V_B]) / -pc[i, K_B])
    if inst:
        # instantaneous Kir2.1: the stored gates follow the new V
        n1_new = _sig((v_new + pc[i, V_N]) / 14.32)
        n2_new = n1_new
    else:
        tau_n1 = (
            pc[i, P1] * math.exp((v + 106.8) ** 2 / -390.5)
            + pc[i, P2] * _sig((v - 9.861) / 983.1)
            + pc[i, P3]
        )
        tau_n2 = (
            pc[i, Q1] * math.exp((v + 96.75) ** 2 / -399.6)
            + pc[i, Q2] * _sig((v + 92.94) / 32.09)
            + pc[i, Q3]
        )
        n1_new = _rl(np.float64(base[4, bi, bj]), n_inf, tau_n1, dt)
        n2_new = _rl(np.float64(base[5, bi, bj]), n_inf, tau_n2, dt)
    return (
        v_new,
        _rl(np.float64(base[1, bi, bj]), m_inf, tau_m, dt),
        _rl(np.float64(base[2, bi, bj]), h_inf, tau_h1, dt),
        _rl(np.float64(base[3, bi, bj]), h_inf, tau_h2, dt),
        n1_new,
        n2_new,
        _rl(np.float64(base[6, bi, bj]), o_inf, pc[i, TAU_O], dt),
        _rl(np.float64(base[7, bi, bj]), p_inf, pc[i, TAU_P], dt),
        _rl(np.float64(base[8, bi, bj]), b_inf, pc[i, TAU_B], dt),
    )


@njit(inline="always", cache=True)
def _hek_cell(src, base, dst, i, j, dt, wx, wy, pc, mapped, pidx, pmaps, iext, has_opsin, gop, ga, gr,
              fv70, e_op, v0, v1, gd, ny, nx):  # fmt: skip
    """One step of cell (i, j) from ``base`` with the rates at ``src``, into ``dst`` (inlined into
    both loops of the kernel; ``dst`` may be ``base``: the cell reads its own state first)."""
    for q in range(mapped.size):
        k = mapped[q]
        pc[i, k] = pmaps[pidx[k], i, j]
    v = np.float64(src[0, i, j])
    drive = _coupling(src, i, j, wx, wy, ny, nx) - iext[i, j]
    if has_opsin:
        o_op = np.float64(src[N_STATE, i, j])
        d_op = np.float64(src[N_STATE + 1, i, j])
        drive -= gop[i, j] * o_op * _fv_raw(v, e_op, v0, v1) / fv70 * (v - e_op)
        o_new = np.float64(base[N_STATE, i, j]) + dt * (ga[i, j] * (1.0 - o_op - d_op) - gd * o_op)
        d_new = np.float64(base[N_STATE + 1, i, j]) + dt * (gd * o_op - gr[i, j] * d_op)
        dst[N_STATE, i, j] = o_new
        dst[N_STATE + 1, i, j] = d_new
    new = _hek_update(
        pc, i, v, np.float64(src[1, i, j]), np.float64(src[2, i, j]), np.float64(src[3, i, j]),
        np.float64(src[4, i, j]), np.float64(src[5, i, j]), np.float64(src[6, i, j]),
        np.float64(src[7, i, j]), np.float64(src[8, i, j]), drive, dt, base, i, j,
    )  # fmt: skip
    for k in range(N_STATE):
        dst[k, i, j] = new[k]


def hek_kernel(ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams, gop, flux,
               order=1):  # fmt: skip
    """Advance a HEK sheet by ``n_steps`` steps of ``dt`` ms (``order`` 1 or 2, see the module).

    First order steps ``ya`` -> ``yb`` -> ``ya`` ...; returns 0 when the final state is in ``ya``,
    1 when in ``yb``. Second order keeps the midpoint state in a buffer of its own and returns 0.
    Cells with ``active == 0`` are never written. See ``solver.models`` for the arguments.
    """
    if order not in (1, 2):
        raise ValueError(f"order is {order!r}; allowed: 1 (Rush-Larsen/forward Euler), 2 (exponential midpoint)")
    # the midpoint buffer starts as the state: cells outside the tissue stay finite (never written)
    mid = ya.copy() if order == 2 else np.empty((ya.shape[0], 1, 1), ya.dtype)
    return _hek_kernel(ya, yb, mid, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams,
                       gop, flux, order == 2)  # fmt: skip


@njit(parallel=True, cache=True)
def _hek_kernel(ya, yb, mid, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin,
                oparams, gop, flux, midpoint):  # fmt: skip
    """:func:`hek_kernel`; ``mid`` the midpoint buffer when ``midpoint``."""
    ny, nx = active.shape
    if has_opsin and ya.shape[0] < N_STATE + 2:
        raise ValueError("has_opsin needs two more state variables (opsin O and D) after the 9 HEK ones")
    # Plain loops, not array expressions, in this prologue: with parallel=True numba would make
    # each of those a threaded region, whose wake-ups cost more than the fills on small sheets.
    # Per-row parameter scratch: uniform values once, mapped ones overwritten cell by cell.
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
    pc = np.empty((ny, N_PARAMS))
    for i in range(ny):
        for k in range(N_PARAMS):
            pc[i, k] = params[k]
    # the light-dependent opsin rates are constant during a call
    ga = np.empty((ny, nx))
    gr = np.empty((ny, nx))
    fv70, e_op, v0, v1, gd = 1.0, 0.0, 1.0, 1.0, 0.0
    if has_opsin:
        e_op, v0, v1, gd = oparams[OP_E], oparams[OP_V0], oparams[OP_V1], oparams[OP_GD]
        fv70 = _fv_raw(-70.0, e_op, v0, v1)
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

    # Small sheets run serially: waking the other threads every step would cost more than the
    # work (and, on a busy machine, a step's barrier can wait for a descheduled thread).
    # numba.set_num_threads inside the kernel would defeat its cache, hence two loops.
    serial = ny * nx < SERIAL_BELOW_CELLS
    # a midpoint step is two sweeps: ya -> mid (half step), then mid -> ya from ya (full step)
    n_sweeps = 2 * n_steps if midpoint else n_steps
    for sweep in range(n_sweeps):
        if midpoint:
            first = sweep % 2 == 0
            src = ya if first else mid
            dst = mid if first else ya
            h = 0.5 * dt if first else dt
        else:
            src = ya if sweep % 2 == 0 else yb
            dst = yb if sweep % 2 == 0 else ya
            h = dt
        if serial:
            for i in range(ny):
                for j in range(nx):
                    if active[i, j] != 0:
                        _hek_cell(src, ya if midpoint else src, dst, i, j, h, wx, wy, pc, mapped, pidx, pmaps,
                                  iext, has_opsin, gop, ga, gr, fv70, e_op, v0, v1, gd, ny, nx)  # fmt: skip
        else:
            for i in prange(ny):
                for j in range(nx):
                    if active[i, j] != 0:
                        _hek_cell(src, ya if midpoint else src, dst, i, j, h, wx, wy, pc, mapped, pidx, pmaps,
                                  iext, has_opsin, gop, ga, gr, fv70, e_op, v0, v1, gd, ny, nx)  # fmt: skip
    return 0 if midpoint else n_steps % 2
