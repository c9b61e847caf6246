"""Fused numba kernels of the generic media: ``nagumo``, ``fitzhugh_nagumo``, ``aliev_panfilov``.

Same signature as the HEK kernel (the opsin arguments are accepted and ignored); forward Euler for
every variable; only u (state 0) is coupled. Equations in :mod:`generic`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["nagumo_kernel", "fitzhugh_nagumo_kernel", "aliev_panfilov_kernel"]

# A few ns per cell-step: below this many cells a step is too short to share between threads.
SERIAL_BELOW_CELLS = 16384

# The two helpers are duplicated from hek_kernel.py on purpose: numba's cache is keyed on the
# caller's source file, so a helper imported from another module could go stale in the cache.


@njit(inline="always", cache=True)
def _p(k, params, pidx, pmaps, i, j):
    m = pidx[k]
    if m < 0:
        return params[k]
    return pmaps[m, i, j]


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
def _nagumo_cell(src, dst, i, j, dt, wx, wy, params, pidx, pmaps, iext, ny, nx):
    u = np.float64(src[0, i, j])
    k = _p(0, params, pidx, pmaps, i, j)
    a = _p(1, params, pidx, pmaps, i, j)
    c = _coupling(src, i, j, wx, wy, ny, nx)
    dst[0, i, j] = u + dt * (c + k * u * (1.0 - u) * (u - a) - iext[i, j])


@njit(inline="always", cache=True)
def _fitzhugh_nagumo_cell(src, dst, i, j, dt, wx, wy, params, pidx, pmaps, iext, ny, nx):
    u = np.float64(src[0, i, j])
    w = np.float64(src[1, i, j])
    eps = _p(0, params, pidx, pmaps, i, j)
    a = _p(1, params, pidx, pmaps, i, j)
    b = _p(2, params, pidx, pmaps, i, j)
    c = _coupling(src, i, j, wx, wy, ny, nx)
    dst[0, i, j] = u + dt * (c + u - u * u * u / 3.0 - w - iext[i, j])
    dst[1, i, j] = w + dt * eps * (u + a - b * w)


@njit(inline="always", cache=True)
def _aliev_panfilov_cell(src, dst, i, j, dt, wx, wy, params, pidx, pmaps, iext, ny, nx):
    u = np.float64(src[0, i, j])
    w = np.float64(src[1, i, j])
    k = _p(0, params, pidx, pmaps, i, j)
    a = _p(1, params, pidx, pmaps, i, j)
    eps0 = _p(2, params, pidx, pmaps, i, j)
    mu1 = _p(3, params, pidx, pmaps, i, j)
    mu2 = _p(4, params, pidx, pmaps, i, j)
    c = _coupling(src, i, j, wx, wy, ny, nx)
    dst[0, i, j] = u + dt * (c - k * u * (u - a) * (u - 1.0) - u * w - iext[i, j])
    eps = eps0 + mu1 * w / (u + mu2)
    dst[1, i, j] = w + dt * eps * (-w - k * u * (u - a - 1.0))


# The kernels differ only in the cell function. Each has a serial path for small sheets: waking
# the other threads every step would cost more than the work (and, on a busy machine, a step's
# barrier can wait for a descheduled thread). numba.set_num_threads inside a kernel would defeat
# its cache, and a cell function passed as an argument could not be cached either: hence the
# repetition.


@njit(parallel=True, cache=True)
def nagumo_kernel(ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin,
                  oparams, gop, flux):  # fmt: skip
    """Nagumo sheet, params ``[k, a]``; returns 0 if the final state is in ``ya``, 1 if in ``yb``."""
    ny, nx = active.shape
    serial = ny * nx < SERIAL_BELOW_CELLS
    for step in range(n_steps):
        src = ya if step % 2 == 0 else yb
        dst = yb if step % 2 == 0 else ya
        if serial:
            for i in range(ny):
                for j in range(nx):
                    if active[i, j] != 0:
                        _nagumo_cell(src, dst, i, j, dt, wx, wy, params, pidx, pmaps, iext, ny, nx)
        else:
            for i in prange(ny):
                for j in range(nx):
                    if active[i, j] != 0:
                        _nagumo_cell(src, dst, i, j, dt, wx, wy, params, pidx, pmaps, iext, ny, nx)
    return n_steps % 2


@njit(parallel=True, cache=True)
def fitzhugh_nagumo_kernel(ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext,
                           has_opsin, oparams, gop, flux):  # fmt: skip
    """FitzHugh-Nagumo sheet, params ``[eps, a, b]``; returns the parity of the final buffer."""
    ny, nx = active.shape
    serial = ny * nx < SERIAL_BELOW_CELLS
    for step in range(n_steps):
        src = ya if step % 2 == 0 else yb
        dst = yb if step % 2 == 0 else ya
        if serial:
            for i in range(ny):
                for j in range(nx):
                    if active[i, j] != 0:
                        _fitzhugh_nagumo_cell(src, dst, i, j, dt, wx, wy, params, pidx, pmaps, iext,
                                              ny, nx)  # fmt: skip
        else:
            for i in prange(ny):
                for j in range(nx):
                    if active[i, j] != 0:
                        _fitzhugh_nagumo_cell(src, dst, i, j, dt, wx, wy, params, pidx, pmaps, iext,
                                              ny, nx)  # fmt: skip
    return n_steps % 2


@njit(parallel=True, cache=True)
def aliev_panfilov_kernel(ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext,
                          has_opsin, oparams, gop, flux):  # fmt: skip
    """Aliev-Panfilov sheet, params ``[k, a, eps0, mu1, mu2]``; returns the final buffer's parity."""
    ny, nx = active.shape
    serial = ny * nx < SERIAL_BELOW_CELLS
    for step in range(n_steps):
        src = ya if step % 2 == 0 else yb
        dst = yb if step % 2 == 0 else ya
        if serial:
            for i in range(ny):
                for j in range(nx):
                    if active[i, j] != 0:
                        _aliev_panfilov_cell(src, dst, i, j, dt, wx, wy, params, pidx, pmaps, iext,
                                             ny, nx)  # fmt: skip
        else:
            for i in prange(ny):
                for j in range(nx):
                    if active[i, j] != 0:
                        _aliev_panfilov_cell(src, dst, i, j, dt, wx, wy, params, pidx, pmaps, iext,
                                             ny, nx)  # fmt: skip
    return n_steps % 2
