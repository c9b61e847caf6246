"""Plain NumPy reference of one time step for every cell model (the check of the numba kernels).

Vectorised and written for clarity, from the physics functions of :mod:`hek` and :mod:`generic`,
never from the kernel code. Signature of every step function::

    ynew = step(y, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams, gop, flux, order=1)

with the arguments of the kernels (``y`` is one state array ``(n_state, ny, nx)``). Computes in
float64 and returns an array of ``y``'s dtype; inactive cells keep their values.

``order=1``: Rush–Larsen gates and forward Euler for the rest, every rate at the old state.
``order=2``: the exponential midpoint rule (second-order Rush–Larsen, Perego & Veneziani 2009): a
half step of ``order=1`` gives the midpoint state ``y*`` (stored in ``y``'s dtype, as the kernels
store it), then one full step from ``y`` with every rate, gate coefficient and the coupling taken
at ``y*``. Both stages are one :func:`_stage` each, so the two schemes share one transcription.
"""

from __future__ import annotations

import numpy as np

from . import generic, hek

__all__ = [
    "coupling",
    "cell_params",
    "opsin_current",
    "hek_reference_step",
    "nagumo_reference_step",
    "fitzhugh_nagumo_reference_step",
    "aliev_panfilov_reference_step",
]


def coupling(v: np.ndarray, wx: np.ndarray, wy: np.ndarray) -> np.ndarray:
    """Masked 5-point coupling: each face moves w·(V_neighbour − V) into a cell and out of the other."""
    c = np.zeros_like(v, dtype=np.float64)
    flux_x = wx[:, :-1] * (v[:, 1:] - v[:, :-1])  # into (i, j) from (i, j+1)
    c[:, :-1] += flux_x
    c[:, 1:] -= flux_x
    flux_y = wy[:-1, :] * (v[1:, :] - v[:-1, :])  # into (i, j) from (i+1, j)
    c[:-1, :] += flux_y
    c[1:, :] -= flux_y
    return c


def cell_params(names, params, pidx, pmaps) -> dict[str, np.ndarray | float]:
    """Mapping name -> scalar or per-cell map, from the kernel's ``params, pidx, pmaps``."""
    return {
        name: (pmaps[pidx[k]] if pidx[k] >= 0 else float(params[k])) for k, name in enumerate(names)
    }


def _opsin_rates(flux: np.ndarray, oparams: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k_a, k_r, p, q, _, g_r0, phi_m = oparams[:7]
    phi = np.asarray(flux, dtype=np.float64)
    with np.errstate(divide="ignore"):
        g_a = np.where(phi > 0, k_a * phi**p / (phi**p + phi_m**p), 0.0)
        g_r = np.where(phi > 0, k_r * phi**q / (phi**q + phi_m**q), 0.0) + g_r0
    return g_a, g_r


def _fv_unnormalised(v, e, v0, v1):
    x = np.asarray(v, dtype=np.float64) - e
    safe = np.where(x == 0.0, 1.0, x)
    return np.where(np.abs(x) < 1e-9, v1 / v0, v1 / safe * (1.0 - np.exp(-safe / v0)))


def opsin_current(v, o, gop, oparams) -> np.ndarray:
    """I_opsin = gop·O·f_v(V)·(V − E), f_v normalised to 1 at −70 mV (A/F)."""
    v0, v1, e = oparams[7], oparams[8], oparams[9]
    fv = _fv_unnormalised(v, e, v0, v1) / _fv_unnormalised(-70.0, e, v0, v1)
    return gop * o * fv * (np.asarray(v) - e)


def _finish(y, new, active):
    keep = np.asarray(active) != 0
    return np.where(keep[None, :, :], new, y.astype(np.float64)).astype(y.dtype)


def _stage(stage, y, dt, order):
    """``order=1``: ``stage(y, y, dt)``; ``order=2``: the exponential midpoint rule over ``stage``."""
    if order == 1:
        return stage(y, y, dt)
    if order != 2:
        raise ValueError(f"order is {order!r}; allowed: 1, 2")
    return stage(stage(y, y, 0.5 * dt), y, dt)


def _hek_stage(y, base, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams, gop, flux):
    """``base`` advanced by ``dt`` with every rate taken at ``y``: Rush–Larsen gates (coefficients at
    y's V), forward-Euler V and opsin states."""
    p = cell_params(hek.HEK_PARAM_NAMES, params, pidx, pmaps)
    s = {name: y[k].astype(np.float64) for k, name in enumerate(hek.HEK_STATE_NAMES)}
    b = base.astype(np.float64)
    v = s["v"]
    inst = np.broadcast_to(np.asarray(p["kir_instantaneous"]) >= 0.5, v.shape)
    n_inf_old = hek.gate_steady_states(v, p)["n1"]
    s["n1"] = np.where(inst, n_inf_old, s["n1"])
    s["n2"] = np.where(inst, n_inf_old, s["n2"])

    new = b.copy()
    i_total = hek.ionic_current(s, p) + iext
    if has_opsin:
        o_op, d_op = y[9].astype(np.float64), y[10].astype(np.float64)
        i_total = i_total + opsin_current(v, o_op, gop, oparams)
        g_a, g_r = _opsin_rates(flux, oparams)
        g_d = oparams[4]
        new[9] = b[9] + dt * (g_a * (1.0 - o_op - d_op) - g_d * o_op)
        new[10] = b[10] + dt * (g_d * o_op - g_r * d_op)

    inf = hek.gate_steady_states(v, p)
    tau = hek.gate_time_constants(v, p)
    for k, name in enumerate(hek.HEK_STATE_NAMES[1:], start=1):
        new[k] = inf[name] + (b[k] - inf[name]) * np.exp(-dt / tau[name])
    new[0] = b[0] + dt * (coupling(v, wx, wy) - i_total)
    n_inf_new = hek.gate_steady_states(new[0], p)["n1"]
    new[4] = np.where(inst, n_inf_new, new[4])
    new[5] = np.where(inst, n_inf_new, new[5])
    return _finish(base, new, active)


def hek_reference_step(y, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams, gop, flux, order=1):
    """One step of a HEK sheet: Rush–Larsen gates, forward-Euler V and opsin states (``order=2``: the
    exponential midpoint rule over the same stage)."""
    def stage(yr, base, h):
        return _hek_stage(yr, base, h, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams, gop, flux)

    return _stage(stage, y, dt, order)


def _generic_step(name, y, dt, wx, wy, active, params, pidx, pmaps, iext, order):
    spec = generic.GENERIC_SPECS[name]
    p = cell_params(tuple(spec["defaults"]), params, pidx, pmaps)

    def stage(yr, base, h):
        s = {sn: yr[k].astype(np.float64) for k, sn in enumerate(spec["state_names"])}
        new = base.astype(np.float64)
        new[0] = new[0] + h * (coupling(s["u"], wx, wy) - generic.ionic_current(name, s, p) - iext)
        if "w" in s:
            new[1] = new[1] + h * generic.recovery_rate(name, s, p)
        return _finish(base, new, active)

    return _stage(stage, y, dt, order)


def nagumo_reference_step(y, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams, gop, flux,
                          order=1):  # fmt: skip
    """One step of a Nagumo sheet, forward Euler or explicit midpoint (opsin arguments ignored)."""
    return _generic_step("nagumo", y, dt, wx, wy, active, params, pidx, pmaps, iext, order)


def fitzhugh_nagumo_reference_step(y, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin,
                                   oparams, gop, flux, order=1):  # fmt: skip
    """One step of a FitzHugh–Nagumo sheet, forward Euler or explicit midpoint (opsin arguments ignored)."""
    return _generic_step("fitzhugh_nagumo", y, dt, wx, wy, active, params, pidx, pmaps, iext, order)


def aliev_panfilov_reference_step(y, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin,
                                  oparams, gop, flux, order=1):  # fmt: skip
    """One step of an Aliev–Panfilov sheet, forward Euler or explicit midpoint (opsin arguments ignored)."""
    return _generic_step("aliev_panfilov", y, dt, wx, wy, active, params, pidx, pmaps, iext, order)
