"""The NumPy reference step of a description, by walking its expression trees (no generated code).

Independent of the kernel's source: every expression is evaluated by :func:`solver.models.expr.evaluate`
on whole arrays, so a fault of the emitters or of the template shows as a difference between the two.
Same schemes as :mod:`solver.models.reference` (Rush–Larsen gates with τ clamped at 0.01 ms, forward
Euler for the rest; ``order=2``: the exponential midpoint rule), and the same opsin coupling.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .. import expr
from .. import reference as ref
from ..description import ModelDescription

__all__ = ["currents", "environment", "gate_inf_tau", "reference_step_of"]

TAU_MIN = 0.01  # ms, as the kernels


def _instant(desc: ModelDescription, v, p: Mapping) -> dict:
    """The instantaneous gates at their steady state at ``v``."""
    env = {**p, desc.voltage.name: v}
    return {s.name: expr.evaluate(desc.tree(f"{s.name}.inf"), env) for s in desc.states
            if s.gate is not None and s.gate.instantaneous}


def _env(desc: ModelDescription, state: Mapping, p: Mapping) -> dict:
    env = {**p, **state}
    env.update(_instant(desc, state[desc.voltage.name], p))
    for x in desc.intermediates:
        env[x.name] = expr.evaluate(desc.tree(x.name), env)
    return env


def environment(desc: ModelDescription, state: Mapping, p: Mapping) -> dict:
    """Every name's value for a state: parameters, states, intermediates and currents."""
    env = _env(desc, state, p)
    for c in desc.currents:
        env[c.name] = expr.evaluate(desc.tree(c.name), env)
    return env


def currents(desc: ModelDescription, state: Mapping, p: Mapping) -> dict[str, np.ndarray]:
    """Each current (A/F) of the state given as a mapping of arrays (or floats)."""
    env = _env(desc, state, p)
    return {c.name: np.asarray(expr.evaluate(desc.tree(c.name), env), dtype=np.float64) for c in desc.currents}


def gate_inf_tau(desc: ModelDescription, v, p: Mapping) -> tuple[dict, dict]:
    """Steady state and time constant (ms) of every gate at voltage ``v``. An instantaneous gate's τ is
    ``TAU_MIN``: where it is a variable of an ODE (the patch-clamp bench), it relaxes that fast and never
    feeds back (the model reads it at its steady state)."""
    env = {**p, desc.voltage.name: v}
    inf, tau = {}, {}
    for s in desc.states:
        if s.gate is None:
            continue
        if s.gate.instantaneous:
            inf[s.name] = expr.evaluate(desc.tree(f"{s.name}.inf"), env)
            tau[s.name] = np.full_like(np.asarray(inf[s.name], dtype=np.float64), TAU_MIN)
        elif s.gate.kind == "inf_tau":
            inf[s.name] = expr.evaluate(desc.tree(f"{s.name}.inf"), env)
            tau[s.name] = expr.evaluate(desc.tree(f"{s.name}.tau"), env)
        else:
            a = expr.evaluate(desc.tree(f"{s.name}.alpha"), env)
            b = expr.evaluate(desc.tree(f"{s.name}.beta"), env)
            inf[s.name], tau[s.name] = a / (a + b), 1.0 / (a + b)
    return inf, tau


def reference_step_of(desc: ModelDescription):
    """The NumPy reference step of ``desc`` (the signature of :mod:`solver.models.reference`)."""
    n = len(desc.state_names)

    def stage(y, base, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams, gop, flux):
        p = ref.cell_params(desc.param_names, params, pidx, pmaps)
        s = {name: y[k].astype(np.float64) for k, name in enumerate(desc.state_names)}
        b = base.astype(np.float64)
        v = s[desc.voltage.name]
        new = b.copy()
        env = _env(desc, s, p)
        i_total = iext + sum((np.asarray(expr.evaluate(desc.tree(c.name), env)) for c in desc.currents), 0.0)
        for c in desc.currents:
            env[c.name] = expr.evaluate(desc.tree(c.name), env)
        if has_opsin:
            o_op, d_op = y[n].astype(np.float64), y[n + 1].astype(np.float64)
            i_total = i_total + ref.opsin_current(v, o_op, gop, oparams)
            g_a, g_r = ref._opsin_rates(flux, oparams)
            new[n] = b[n] + dt * (g_a * (1.0 - o_op - d_op) - oparams[4] * o_op)
            new[n + 1] = b[n + 1] + dt * (oparams[4] * o_op - g_r * d_op)
        inf, tau = gate_inf_tau(desc, v, p)
        new[0] = b[0] + dt * (ref.coupling(v, wx, wy) - i_total)
        at_new = _instant(desc, new[0], p)
        for k, st in enumerate(desc.states, start=1):
            if st.gate is None:
                new[k] = b[k] + dt * expr.evaluate(desc.tree(f"{st.name}.derivative"), env)
            elif st.gate.instantaneous:
                new[k] = at_new[st.name]
            else:
                t = np.maximum(tau[st.name], TAU_MIN)
                new[k] = inf[st.name] + (b[k] - inf[st.name]) * np.exp(-dt / t)
        return ref._finish(base, new, active)

    def step(y, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams, gop, flux, order=1):
        def one(yr, base, h):
            return stage(yr, base, h, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams, gop, flux)

        return ref._stage(one, y, dt, order)

    step.__doc__ = f"One NumPy reference step of the described model {desc.name!r}."
    return step
