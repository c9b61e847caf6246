"""Source of the exact numba kernel of a :class:`~solver.models.description.ModelDescription`.

The model's arithmetic is emitted into one function ``_update`` (scalars in, a tuple of the new
state out); the sweep over the sheet (masked 5-point coupling, per-cell parameter maps, the opsin
coupling, first- and second-order time schemes, serial below a size and ``prange`` above it) is the
template :data:`_TEMPLATE`, written once for every model. Its semantics are those of the HEK exact
kernel (:mod:`solver.models.hek_kernel`): Rush–Larsen gates (τ clamped at ``TAU_MIN``), forward
Euler for V and the other states, the exponential midpoint rule for ``order=2``.
"""

from __future__ import annotations

from .. import expr
from ..description import ModelDescription

__all__ = ["exact_kernel_source", "model_lines"]

_TEMPLATE = '''\
"""Generated from the cell-model description {name!r} (content hash {hash}); do not edit."""
import math

import numpy as np
from numba import njit, prange

N_STATE = {n_state}
N_PARAMS = {n_params}
TAU_MIN = 0.01
SERIAL_BELOW_CELLS = 1024
OP_KA, OP_KR, OP_P, OP_Q, OP_GD, OP_GR0, OP_PHIM, OP_V0, OP_V1, OP_E = range(10)


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


@njit(cache=True)
def _update(pc, i, {state_args}, drive, dt, base, bi, bj):
{body}


@njit(inline="always", cache=True)
def _cell(src, base, dst, i, j, dt, wx, wy, pc, mapped, pidx, pmaps, iext, has_opsin, gop, ga, gr, fv70, e_op,
          v0, v1, gd, ny, nx):
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
    new = _update(pc, i, {src_args}, drive, dt, base, i, j)
    for k in range(N_STATE):
        dst[k, i, j] = new[k]


def kernel(ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams, gop, flux, order=1):
    """Advance the sheet by ``n_steps`` steps (the ``CellModel.kernel`` contract)."""
    if order not in (1, 2):
        raise ValueError(f"order is {{order!r}}; allowed: 1 (Rush-Larsen/forward Euler), 2 (exponential midpoint)")
    mid = ya.copy() if order == 2 else np.empty((ya.shape[0], 1, 1), ya.dtype)
    return _kernel(ya, yb, mid, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams, gop,
                   flux, order == 2)


@njit(parallel=True, cache=True)
def _kernel(ya, yb, mid, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams, gop, flux,
            midpoint):
    ny, nx = active.shape
    if has_opsin and ya.shape[0] < N_STATE + 2:
        raise ValueError("has_opsin needs two more state variables (opsin O and D) after the model's")
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
    serial = ny * nx < SERIAL_BELOW_CELLS
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
                        _cell(src, ya if midpoint else src, dst, i, j, h, wx, wy, pc, mapped, pidx, pmaps, iext,
                              has_opsin, gop, ga, gr, fv70, e_op, v0, v1, gd, ny, nx)
        else:
            for i in prange(ny):
                for j in range(nx):
                    if active[i, j] != 0:
                        _cell(src, ya if midpoint else src, dst, i, j, h, wx, wy, pc, mapped, pidx, pmaps, iext,
                              has_opsin, gop, ga, gr, fv70, e_op, v0, v1, gd, ny, nx)
    return 0 if midpoint else n_steps % 2
'''


def _local(kind: str, index: int) -> str:
    # a user's names never appear in the source, only these locals: no name can shadow the template's
    return f"z_{kind}{index}"


def model_lines(desc: ModelDescription, *, target: str, old, gates: bool = True) -> tuple[list[str], list[str]]:
    """The model's arithmetic as statements over the locals ``z_s<k>`` (states, V first) and ``z_p<k>``
    (parameters), and the expressions of the new state; ``old(k)`` reads state ``k`` at the step's
    start, ``drive`` is coupling − I_opsin − I_ext, ``dt`` the step. ``target``: "numba" or "cuda".
    ``gates=False`` leaves the gates' new values as ``None`` for the caller (the lookup tables)."""
    emit = expr.to_numba if target == "numba" else expr.to_cuda
    names: dict[str, str] = {}
    for k, name in enumerate(desc.state_names):
        names[name] = _local("s", k)
    for k, p in enumerate(desc.parameters):
        names[p.name] = _local("p", k)
    lines: list[str] = []
    for k, x in enumerate(desc.intermediates):
        code = emit(desc.tree(x.name), names.__getitem__)
        names[x.name] = _local("x", k)
        lines.append(f"{names[x.name]} = {code}")
    total = []
    for k, c in enumerate(desc.currents):
        code = emit(desc.tree(c.name), names.__getitem__)
        names[c.name] = _local("c", k)
        lines.append(f"{names[c.name]} = {code}")
        total.append(names[c.name])
    lines.append(f"z_iion = {' + '.join(total) if total else '0.0'}")
    outs = [f"{old(0)} + dt * (drive - z_iion)"]
    for k, s in enumerate(desc.states, start=1):
        if s.gate is None:
            lines.append(f"z_d{k} = {emit(desc.tree(f'{s.name}.derivative'), names.__getitem__)}")
            outs.append(f"{old(k)} + dt * z_d{k}")
        elif not gates:
            outs.append(None)
        elif s.gate.kind == "inf_tau":
            lines.append(f"z_inf{k} = {emit(desc.tree(f'{s.name}.inf'), names.__getitem__)}")
            lines.append(f"z_tau{k} = {emit(desc.tree(f'{s.name}.tau'), names.__getitem__)}")
            outs.append(f"_rl({old(k)}, z_inf{k}, z_tau{k}, dt)")
        else:
            lines.append(f"z_a{k} = {emit(desc.tree(f'{s.name}.alpha'), names.__getitem__)}")
            lines.append(f"z_b{k} = {emit(desc.tree(f'{s.name}.beta'), names.__getitem__)}")
            lines.append(f"z_tau{k} = 1.0 / (z_a{k} + z_b{k})")
            outs.append(f"_rl({old(k)}, z_a{k} * z_tau{k}, z_tau{k}, dt)")
    return lines, outs


def exact_kernel_source(desc: ModelDescription) -> str:
    """Python source of a module whose ``kernel`` is the exact numba kernel of ``desc``."""
    n_state = len(desc.state_names)
    lines = [f"{_local('p', k)} = pc[i, {k}]" for k in range(len(desc.parameters))]
    body, outs = model_lines(desc, target="numba", old=lambda k: f"np.float64(base[{k}, bi, bj])")
    lines += body
    lines.append("return (" + ", ".join(outs) + ",)")
    body = "\n".join("    " + ln for ln in lines)
    state_args = ", ".join(_local("s", k) for k in range(n_state))
    src_args = ", ".join(f"np.float64(src[{k}, i, j])" for k in range(n_state))
    return _TEMPLATE.format(name=desc.name, hash=desc.content_hash[:16], n_state=n_state,
                            n_params=len(desc.parameters), state_args=state_args, body=body,
                            src_args=src_args)  # fmt: skip
