"""The numba.cuda step kernel of a description (one thread per cell, one launch per step), and its launch.

A kernel is ``step(src, base, dst, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, gop, ga, gr,
oc)``: the step from ``base`` with every rate at ``src``, into ``dst``. The template below holds the
thread's cell (a 2-D grid of blocks, ``x`` along the row so that neighbouring threads read neighbouring
cells), the masked coupling, the parameter maps and the opsin coupling, in float64, stored in the
buffers' dtype; cells outside the tissue are never written. The model's arithmetic is the same emitted
lines as the CPU exact kernel's (:mod:`._exact`), through the CUDA emitter; gates are evaluated exactly
(the device's ``exp`` is cheap next to its memory traffic). :func:`launch_steps` runs first-order steps
(ping-pong) and second-order ones (a half step into a midpoint buffer, then the full step in place);
:class:`solver.engine.backends.CudaStepper` owns the device buffers. Under numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1`` before numba.cuda is first imported) the same code runs on the CPU.
"""

from __future__ import annotations

from ..description import ModelDescription
from ._exact import model_lines

__all__ = ["BLOCK", "block_and_grid", "cuda_kernel_source", "launch_steps"]

BLOCK = (32, 8)  # threads per block along x (columns) and y (rows)

_TEMPLATE = '''\
"""Generated from the cell-model description {name!r} (content hash {hash}); do not edit."""
import math

from numba import cuda

N_STATE = {n_state}
TAU_MIN = 0.01
OC_E, OC_V0, OC_V1, OC_FV70, OC_GD = range(5)


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
def step(src, base, dst, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, gop, ga, gr, oc):
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
{loads}
{body}
    # every read of base (which may be dst) is above
{stores}
'''


def cuda_kernel_source(desc: ModelDescription) -> str:
    """Python source of a module whose ``step`` is the numba.cuda kernel of ``desc``."""
    n_state = len(desc.state_names)
    loads = [f"z_s{k} = float(src[{k}, i, j])" for k in range(n_state)]
    loads += [f"z_p{k} = _p({k}, params, pidx, pmaps, i, j)" for k in range(len(desc.parameters))]
    lines, outs = model_lines(desc, target="cuda", old=lambda k: f"float(base[{k}, i, j])")
    stores = [f"z_new{k} = {out}" for k, out in enumerate(outs)] + [f"dst[{k}, i, j] = z_new{k}"
                                                                   for k in range(n_state)]  # fmt: skip
    ind = lambda ls: "\n".join("    " + ln for ln in ls)  # noqa: E731
    return _TEMPLATE.format(name=desc.name, hash=desc.content_hash[:16], n_state=n_state, loads=ind(loads),
                            body=ind(lines), stores=ind(stores))  # fmt: skip


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
