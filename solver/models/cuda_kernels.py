"""numba.cuda kernels of every cell model: one thread per cell, one launch per step.

The equations are those of the CPU exact kernels (:mod:`hek_kernel`, :mod:`generic_kernels`),
transcribed for the device: a 2-D grid of thread blocks (``x`` along the row, so neighbouring
threads read neighbouring cells), masked 5-point coupling with the edge tests, Rush–Larsen gates
and forward Euler, computed in float64 and stored in the buffers' dtype; cells outside the tissue
are never written. Each kernel takes the step from ``base`` with every rate at ``src``: a
first-order step passes the state as both, a second-order (exponential midpoint) step is two
launches, a half step into a midpoint buffer and a full step from the old state, in place. Gates are evaluated exactly (the device's ``exp`` is cheap next to its memory
traffic), so there are no lookup tables here.

:class:`solver.engine.backends.CudaStepper` owns the device buffers and launches :func:`launch_steps`.
Importing this module needs no GPU (kernels compile on first launch); under numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1`` before numba.cuda is first imported) the same code runs on the CPU.
"""

from __future__ import annotations

import math

from numba import cuda

__all__ = ["KERNELS", "launch_steps", "block_and_grid"]

# HEK parameter indices (hek.HEK_PARAM_NAMES order; hek_kernel's constants, repeated so that this
# module has no compile-time link to the CPU kernels)
E_NA, E_K, K_O, G_NA, VM1, VM2, A_M, B_M, V_H, K_H = range(10)
A1, B1, C1, A2, C2, G_K1, V_N, P1, P2, P3 = range(10, 20)
Q1, Q2, Q3, G_NA_WT, TAU_O, TAU_P, V_P, G_K_WT, V_B, K_B = range(20, 30)
TAU_B, G_L, E_L, KIR_INSTANTANEOUS = range(30, 34)
N_STATE = 9
TAU_MIN = 0.01
# opsin constants of a launch: [E, v0, v1, fv70, Gd]
OC_E, OC_V0, OC_V1, OC_FV70, OC_GD = range(5)

BLOCK = (32, 8)  # threads per block along x (columns) and y (rows)


@cuda.jit(device=True)
def _p(k, params, pidx, pmaps, i, j):
    m = pidx[k]
    if m >= 0:
        return pmaps[m, i, j]
    return params[k]


@cuda.jit(device=True)
def _coupling(src, i, j, wx, wy, ny, nx):
    vc = float(src[0, i, j])
    c = 0.0
    if j + 1 < nx:
        c += wx[i, j] * (float(src[0, i, j + 1]) - vc)
    if j > 0:
        c += wx[i, j - 1] * (float(src[0, i, j - 1]) - vc)
    if i + 1 < ny:
        c += wy[i, j] * (float(src[0, i + 1, j]) - vc)
    if i > 0:
        c += wy[i - 1, j] * (float(src[0, i - 1, j]) - vc)
    return c


@cuda.jit(device=True)
def _sig(x):
    return 1.0 / (1.0 + math.exp(x))


@cuda.jit(device=True)
def _rl(x, x_inf, tau, dt):
    if tau < TAU_MIN:
        tau = TAU_MIN
    return x_inf + (x - x_inf) * math.exp(-dt / tau)


@cuda.jit(device=True)
def _fv_raw(v, e, v0, v1):
    x = v - e
    if abs(x) < 1e-9:
        return v1 / v0
    return -(v1 / x) * math.expm1(-x / v0)


@cuda.jit
def hek_step(src, base, dst, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, gop, ga, gr, oc):
    """One step of a HEK sheet, ``src`` -> ``dst``; ``ga``/``gr`` the light-dependent opsin rates."""
    j, i = cuda.grid(2)
    ny, nx = active.shape
    if i >= ny or j >= nx or active[i, j] == 0:
        return
    v = float(src[0, i, j])
    drive = _coupling(src, i, j, wx, wy, ny, nx) - iext[i, j]
    if has_opsin:
        o_op = float(src[N_STATE, i, j])
        d_op = float(src[N_STATE + 1, i, j])
        e_op = oc[OC_E]
        drive -= gop[i, j] * o_op * _fv_raw(v, e_op, oc[OC_V0], oc[OC_V1]) / oc[OC_FV70] * (v - e_op)
        o_new = float(base[N_STATE, i, j]) + dt * (ga[i, j] * (1.0 - o_op - d_op) - oc[OC_GD] * o_op)
        d_new = float(base[N_STATE + 1, i, j]) + dt * (oc[OC_GD] * o_op - gr[i, j] * d_op)
        dst[N_STATE, i, j] = o_new
        dst[N_STATE + 1, i, j] = d_new
    m = float(src[1, i, j])
    h1 = float(src[2, i, j])
    h2 = float(src[3, i, j])
    n1 = float(src[4, i, j])
    n2 = float(src[5, i, j])
    o = float(src[6, i, j])
    pg = float(src[7, i, j])
    b = float(src[8, i, j])
    e_na = _p(E_NA, params, pidx, pmaps, i, j)
    e_k = _p(E_K, params, pidx, pmaps, i, j)
    n_inf = _sig((v + _p(V_N, params, pidx, pmaps, i, j)) / 14.32)
    inst = _p(KIR_INSTANTANEOUS, params, pidx, pmaps, i, j) >= 0.5
    if inst:
        n1 = n_inf
        n2 = n_inf
    i_ion = (
        _p(G_NA, params, pidx, pmaps, i, j) * m * m * m * (0.9 * h1 + 0.1 * h2) * (v - e_na)
        + _p(G_K1, params, pidx, pmaps, i, j) * math.sqrt(_p(K_O, params, pidx, pmaps, i, j) / 5.4)
        * (0.75 * n1 + 0.25 * n2) * (v - e_k)
        + _p(G_NA_WT, params, pidx, pmaps, i, j) * o * o * o * pg * (v - e_na)
        + _p(G_K_WT, params, pidx, pmaps, i, j) * b * b * (v - e_k)
        + _p(G_L, params, pidx, pmaps, i, j) * (v - _p(E_L, params, pidx, pmaps, i, j))
    )
    v_new = float(base[0, i, j]) + dt * (drive - i_ion)
    m_inf = (1.653 * _sig((v + _p(VM1, params, pidx, pmaps, i, j)) / -7.984)
             - 0.9225 * _sig((v + _p(VM2, params, pidx, pmaps, i, j)) / -11.44) + 0.0971)  # fmt: skip
    tau_m = _p(A_M, params, pidx, pmaps, i, j) * math.exp((v + 53.87) ** 2 / -1136.0) + _p(B_M, params, pidx,
                                                                                          pmaps, i, j)  # fmt: skip
    h_inf = _sig((v + _p(V_H, params, pidx, pmaps, i, j)) / _p(K_H, params, pidx, pmaps, i, j))
    tau_h1 = (_p(A1, params, pidx, pmaps, i, j) * math.exp((v + 83.17) ** 2 / -786.6)
              + _p(B1, params, pidx, pmaps, i, j) * _sig((v - 9.195) / 2.982) + _p(C1, params, pidx, pmaps, i, j))
    tau_h2 = _p(A2, params, pidx, pmaps, i, j) * math.exp((v + 87.77) ** 2 / -377.4) + _p(C2, params, pidx, pmaps,
                                                                                         i, j)  # fmt: skip
    o_inf = _sig((v + 46.25) / -10.59)
    p_inf = 0.0708 + 0.9292 * _sig((v + _p(V_P, params, pidx, pmaps, i, j)) / 8.738)
    b_inf = _sig((v + _p(V_B, params, pidx, pmaps, i, j)) / -_p(K_B, params, pidx, pmaps, i, j))
    if inst:
        n1_new = _sig((v_new + _p(V_N, params, pidx, pmaps, i, j)) / 14.32)
        n2_new = n1_new
    else:
        tau_n1 = (_p(P1, params, pidx, pmaps, i, j) * math.exp((v + 106.8) ** 2 / -390.5)
                  + _p(P2, params, pidx, pmaps, i, j) * _sig((v - 9.861) / 983.1) + _p(P3, params, pidx, pmaps, i, j))
        tau_n2 = (_p(Q1, params, pidx, pmaps, i, j) * math.exp((v + 96.75) ** 2 / -399.6)
                  + _p(Q2, params, pidx, pmaps, i, j) * _sig((v + 92.94) / 32.09) + _p(Q3, params, pidx, pmaps, i, j))
        n1_new = _rl(float(base[4, i, j]), n_inf, tau_n1, dt)
        n2_new = _rl(float(base[5, i, j]), n_inf, tau_n2, dt)
    m_new = _rl(float(base[1, i, j]), m_inf, tau_m, dt)
    h1_new = _rl(float(base[2, i, j]), h_inf, tau_h1, dt)
    h2_new = _rl(float(base[3, i, j]), h_inf, tau_h2, dt)
    o_new = _rl(float(base[6, i, j]), o_inf, _p(TAU_O, params, pidx, pmaps, i, j), dt)
    p_new = _rl(float(base[7, i, j]), p_inf, _p(TAU_P, params, pidx, pmaps, i, j), dt)
    b_new = _rl(float(base[8, i, j]), b_inf, _p(TAU_B, params, pidx, pmaps, i, j), dt)
    # every read of base (which may be dst) before the first write
    dst[0, i, j] = v_new
    dst[1, i, j] = m_new
    dst[2, i, j] = h1_new
    dst[3, i, j] = h2_new
    dst[4, i, j] = n1_new
    dst[5, i, j] = n2_new
    dst[6, i, j] = o_new
    dst[7, i, j] = p_new
    dst[8, i, j] = b_new


@cuda.jit
def nagumo_step(src, base, dst, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, gop, ga, gr, oc):
    """One forward-Euler step of a Nagumo sheet, params ``[k, a]``."""
    j, i = cuda.grid(2)
    ny, nx = active.shape
    if i >= ny or j >= nx or active[i, j] == 0:
        return
    u = float(src[0, i, j])
    k = _p(0, params, pidx, pmaps, i, j)
    a = _p(1, params, pidx, pmaps, i, j)
    dst[0, i, j] = float(base[0, i, j]) + dt * (_coupling(src, i, j, wx, wy, ny, nx) + k * u * (1.0 - u) * (u - a)
                                                - iext[i, j])  # fmt: skip


@cuda.jit
def fitzhugh_nagumo_step(src, base, dst, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, gop, ga, gr, oc):
    """One forward-Euler step of a FitzHugh–Nagumo sheet, params ``[eps, a, b]``."""
    j, i = cuda.grid(2)
    ny, nx = active.shape
    if i >= ny or j >= nx or active[i, j] == 0:
        return
    u = float(src[0, i, j])
    w = float(src[1, i, j])
    eps = _p(0, params, pidx, pmaps, i, j)
    a = _p(1, params, pidx, pmaps, i, j)
    b = _p(2, params, pidx, pmaps, i, j)
    c = _coupling(src, i, j, wx, wy, ny, nx)
    u0 = float(base[0, i, j])
    w0 = float(base[1, i, j])
    dst[0, i, j] = u0 + dt * (c + u - u * u * u / 3.0 - w - iext[i, j])
    dst[1, i, j] = w0 + dt * eps * (u + a - b * w)


@cuda.jit
def aliev_panfilov_step(src, base, dst, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, gop, ga, gr, oc):
    """One forward-Euler step of an Aliev–Panfilov sheet, params ``[k, a, eps0, mu1, mu2]``."""
    j, i = cuda.grid(2)
    ny, nx = active.shape
    if i >= ny or j >= nx or active[i, j] == 0:
        return
    u = float(src[0, i, j])
    w = float(src[1, i, j])
    k = _p(0, params, pidx, pmaps, i, j)
    a = _p(1, params, pidx, pmaps, i, j)
    eps0 = _p(2, params, pidx, pmaps, i, j)
    mu1 = _p(3, params, pidx, pmaps, i, j)
    mu2 = _p(4, params, pidx, pmaps, i, j)
    c = _coupling(src, i, j, wx, wy, ny, nx)
    u0 = float(base[0, i, j])
    w0 = float(base[1, i, j])
    dst[0, i, j] = u0 + dt * (c - k * u * (u - a) * (u - 1.0) - u * w - iext[i, j])
    eps = eps0 + mu1 * w / (u + mu2)
    dst[1, i, j] = w0 + dt * eps * (-w - k * u * (u - a - 1.0))


KERNELS = {
    "hek_gokhale2017_35c": hek_step,
    "hek_gokhale2017_23c": hek_step,
    "hek_bistable": hek_step,
    "nagumo": nagumo_step,
    "fitzhugh_nagumo": fitzhugh_nagumo_step,
    "aliev_panfilov": aliev_panfilov_step,
}


def block_and_grid(ny: int, nx: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Threads per block and blocks per grid covering an ``ny × nx`` sheet (x along the rows)."""
    bx, by = min(BLOCK[0], nx), min(BLOCK[1], ny)
    return (bx, by), ((nx + bx - 1) // bx, (ny + by - 1) // by)


def launch_steps(kernel, d_a, d_b, n_steps: int, dt: float, fields: tuple, d_mid=None) -> int:
    """Launch ``n_steps`` steps; return the parity of the final buffer.

    First order (``d_mid`` None): ``d_a`` -> ``d_b`` -> ``d_a`` ... Second order: each step is a half
    step ``d_a`` -> ``d_mid`` and a full step from ``d_a`` with the rates at ``d_mid``, back into
    ``d_a`` (each thread reads its own cell's old state before writing it); parity 0.
    ``fields`` = ``(wx, wy, active, params, pidx, pmaps, iext, has_opsin, gop, ga, gr, oc)`` on the
    device (``has_opsin`` a bool). Launches queue on the default stream: no copy back here.
    """
    ny, nx = d_a.shape[1], d_a.shape[2]
    block, grid = block_and_grid(ny, nx)
    launch = kernel[grid, block]  # configured once: a launch from Python costs tens of microseconds
    if d_mid is not None:
        for _ in range(n_steps):
            launch(d_a, d_a, d_mid, 0.5 * dt, *fields)
            launch(d_mid, d_a, d_a, dt, *fields)
        return 0
    for step in range(n_steps):
        src, dst = (d_a, d_b) if step % 2 == 0 else (d_b, d_a)
        launch(src, src, dst, dt, *fields)
    return n_steps % 2
