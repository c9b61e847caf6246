"""One cell as an ODE system: the seam between the patch-clamp bench and the cell models' NumPy physics.

:class:`CellSystem` is all the bench needs of a model: the state vector, dy/dt (with the potential clamped or
not, an injected current and steady light), each membrane current, and the steady state of every other variable
at a given potential. :func:`system_from_preset` builds one from the presets' NumPy physics
(:mod:`solver.models.hek`, :mod:`solver.models.generic`, :mod:`solver.models.opsin`); a model written as a
description supplies the same methods through its generated NumPy reference, and only this module changes.
What the bench uses: ``state_names``, ``v_index``, ``rest``, ``params``, ``opsin_params``, ``has_opsin``,
``dimensionless``, ``channel_names``, ``model.param_names/param_bounds/param_units``, ``with_params``, ``rhs``,
``currents``, ``steady_state`` and ``steady_current``.

Every method is vectorised over trailing axes of ``y`` (``(n_state,)`` or ``(n_state, n)``). Units: mV, ms,
A/F (model units for the dimensionless generic media); irradiance in mW/mm² of 470 nm light.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np

from ..models import CellModel, expr, generic, get_model, hek
from ..models.codegen import _reference as _described
from ..models import opsin as opsin_mod

__all__ = ["CellSystem", "OPSIN_STATE_NAMES", "system_from_preset"]

OPSIN_STATE_NAMES = ("opsin_o", "opsin_d")


@dataclass(frozen=True)
class CellSystem:
    """A single cell of a preset as an ODE system.

    Attributes
    ----------
    model : CellModel
        The preset.
    params : Mapping[str, float]
        Every model parameter (the spec's values: preset, bath, overrides).
    opsin_params : Mapping[str, float] or None
        The opsin's parameters with ``g`` the cell's conductance (density included); None without an opsin.
    state_names : tuple of str
        Model states, then ``opsin_o, opsin_d`` with an opsin.
    v_index : int
        Row of the membrane potential (0).
    """

    model: CellModel
    params: Mapping[str, float]
    opsin_params: Mapping[str, float] | None = None
    state_names: tuple[str, ...] = field(init=False)
    v_index: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(self.model.full_params(dict(self.params))))
        names = self.model.state_names + (OPSIN_STATE_NAMES if self.opsin_params is not None else ())
        object.__setattr__(self, "state_names", names)

    @functools.cached_property
    def rest(self) -> np.ndarray:
        """The model's resting state in the dark (opsin closed)."""
        rest = self.model.rest_state(dict(self.params))
        return np.array([rest.get(n, 0.0) for n in self.state_names], dtype=np.float64)

    # ------------------------------------------------------------------ building
    @property
    def has_opsin(self) -> bool:
        return self.opsin_params is not None

    @property
    def dimensionless(self) -> bool:
        """True for the generic media (potential and currents in model units, no bath, no opsin)."""
        return self.model.dimensionless

    @property
    def is_hek(self) -> bool:
        return not self.model.dimensionless and self._desc is None

    @property
    def _desc(self):
        """The model's description when it comes from one (its physics is then evaluated from it)."""
        return getattr(self.model, "description", None)

    @property
    def channel_names(self) -> tuple[str, ...]:
        """Names of the membrane currents :meth:`currents` returns (without the total)."""
        probe = self.steady_state(0.0)
        if self._desc is not None:
            names = tuple(c.name for c in self._desc.currents)
        else:
            names = tuple(hek.membrane_currents(_hek_state(probe), self.params)) if self.is_hek else ("I_ion",)
        return names + (("I_opsin",) if self.has_opsin else ())

    def with_params(self, **overrides: float) -> CellSystem:
        """The same cell with some model parameters changed (checked against their bounds)."""
        return replace(self, params={**self.params, **overrides})

    # ------------------------------------------------------------------ physics
    def currents(self, y, irradiance: float = 0.0) -> dict[str, np.ndarray]:
        """Each membrane current (A/F, positive outward) of state ``y``; ``irradiance`` is unused (the opsin's
        current depends on its open fraction, a state)."""
        y = np.asarray(y, dtype=np.float64)
        v = y[self.v_index]
        if self._desc is not None:
            out = _described.currents(self._desc, dict(zip(self.model.state_names, y)), self.params)
        elif self.is_hek:
            out = dict(hek.membrane_currents(_hek_state(y), self.params))
        else:
            state = dict(zip(self.model.state_names, y))
            out = {"I_ion": generic.ionic_current(self.model.name, state, self.params)}
        if self.has_opsin:
            out["I_opsin"] = opsin_mod.current(y[-2], v, self.opsin_params["g"], self.opsin_params)
        return {k: np.asarray(c, dtype=np.float64) * np.ones_like(v) for k, c in out.items()}

    def rhs(self, y, *, v_clamp=None, i_ext: float = 0.0, irradiance: float = 0.0) -> np.ndarray:
        """dy/dt. With ``v_clamp`` (mV) the potential is held there: it replaces ``y[v]`` and its row is 0.

        ``i_ext`` is an injected current density (A/F; negative depolarises, as in a spec's ``current``).
        """
        y = np.array(y, dtype=np.float64)
        if v_clamp is not None:
            y[self.v_index] = v_clamp
        v = y[self.v_index]
        dy = np.zeros_like(y)
        if self._desc is not None:
            dy[: len(self.model.state_names)] = _described_rates(self._desc, y, self.model.state_names, self.params)
            dy[self.v_index] = 0.0
        elif self.is_hek:
            inf, tau = hek.gate_steady_states(v, self.params), hek.gate_time_constants(v, self.params)
            for k, name in enumerate(self.model.state_names[1:], start=1):
                # with kir_instantaneous the Kir2.1 currents take n_inf(V) whatever n1, n2 hold: those rows
                # relax on their own and never feed back (they add only eigenvalues -1/tau)
                dy[k] = (inf[name] - y[k]) / tau[name]
        elif len(self.model.state_names) > 1:
            state = dict(zip(self.model.state_names, y))
            dy[1] = generic.recovery_rate(self.model.name, state, self.params)
        if self.has_opsin:
            o, d = y[-2], y[-1]
            ga, gr = opsin_mod.rates(opsin_mod.irradiance_to_flux(irradiance), self.opsin_params)
            dy[-2] = ga * (1.0 - o - d) - self.opsin_params["Gd"] * o
            dy[-1] = self.opsin_params["Gd"] * o - gr * d
        if v_clamp is None:
            dy[self.v_index] = -(sum(self.currents(y).values()) + i_ext)
        return dy

    def gate_steady(self, v) -> dict[str, np.ndarray] | None:
        """Steady state of each Hodgkin–Huxley gate at ``v`` (mV); None for a model without gates."""
        if self._desc is not None:
            return _described.gate_inf_tau(self._desc, v, self.params)[0] or None
        return hek.gate_steady_states(v, self.params) if self.is_hek else None

    def gate_tau(self, v) -> dict[str, np.ndarray] | None:
        """Time constant (ms) of each gate at ``v`` (mV); None for a model without gates."""
        if self._desc is not None:
            return _described.gate_inf_tau(self._desc, v, self.params)[1] or None
        return hek.gate_time_constants(v, self.params) if self.is_hek else None

    def steady_state(self, v, irradiance: float = 0.0) -> np.ndarray:
        """The state with the potential at ``v`` and every other variable at its steady state there.

        Every variable of these models but V has one steady state for a given V (and light): the fixed points
        of the full system are exactly these states at the zeros of :meth:`steady_current`.
        """
        v = np.asarray(v, dtype=np.float64)
        y = np.empty((len(self.state_names),) + v.shape)
        if self._desc is not None:
            y[: len(self.model.state_names)] = _described_steady(self._desc, v, self.model.state_names, self.params)
        elif self.is_hek:
            gates = hek.gate_steady_states(v, self.params)
            y[0] = v
            for k, name in enumerate(self.model.state_names[1:], start=1):
                y[k] = gates[name]
        else:
            rows = [self.model.steady_state_fn(float(u), self.params) for u in v.ravel()]
            for k, name in enumerate(self.model.state_names):
                y[k] = np.array([r[name] for r in rows]).reshape(v.shape)
        if self.has_opsin:
            o, d = opsin_mod.steady_state(opsin_mod.irradiance_to_flux(irradiance), self.opsin_params)
            y[-2], y[-1] = o, d
        return y

    def steady_current(self, v, *, irradiance: float = 0.0, i_ext: float = 0.0) -> np.ndarray:
        """The steady-state I-V: the total current (A/F) at ``v`` with every other variable at steady state,
        plus ``i_ext``. Its zeros are the fixed points."""
        y = self.steady_state(v, irradiance)
        return sum(self.currents(y).values()) + i_ext


def _described_rates(desc, y: np.ndarray, names, params) -> np.ndarray:
    """d/dt of a described model's states (V's row is the caller's): gates relax to x∞ with τ, the
    other states follow their derivative."""
    state = dict(zip(names, y))
    env = _described.environment(desc, state, params)
    inf, tau = _described.gate_inf_tau(desc, y[0], params)
    dy = np.zeros((len(names),) + np.shape(y[0]))
    for k, s in enumerate(desc.states, start=1):
        if s.gate is not None:
            dy[k] = (inf[s.name] - y[k]) / tau[s.name]
        else:
            dy[k] = expr.evaluate(desc.tree(f"{s.name}.derivative"), env)
    return dy


def _described_steady(desc, v: np.ndarray, names, params) -> np.ndarray:
    """A described model's state with V at ``v`` and every other variable at its steady state: gates at x∞,
    states with a derivative where it vanishes (Newton's method from their initial values, all voltages at
    once, the Jacobian by central differences)."""
    y = np.empty((len(names),) + v.shape)
    y[0] = v
    inf, _ = _described.gate_inf_tau(desc, v, params)
    free = [k for k, s in enumerate(desc.states, start=1) if s.gate is None]
    for k, s in enumerate(desc.states, start=1):
        y[k] = inf[s.name] if s.gate is not None else s.initial
    if not free:
        return y
    flat = y.reshape(len(names), -1).copy()

    def resid(z):
        return _described_rates(desc, z, names, params)[free]

    for _ in range(_NEWTON_ITERATIONS):
        f = resid(flat)
        jac = np.empty((flat.shape[1], len(free), len(free)))
        for q, k in enumerate(free):
            h = 1e-7 * np.maximum(np.abs(flat[k]), 1e-3)
            up, down = flat.copy(), flat.copy()
            up[k] += h
            down[k] -= h
            jac[:, :, q] = ((resid(up) - resid(down)) / (2 * h)).T
        step = np.linalg.solve(jac, f.T[..., None])[..., 0].T
        flat[free] -= step
        if np.all(np.abs(step) <= 1e-13 * (1.0 + np.abs(flat[free]))):
            break
    else:
        bad = int(np.argmax(np.max(np.abs(resid(flat)), axis=0)))
        raise ValueError(f"no steady state of {', '.join(names[k] for k in free)} found at V = {flat[0, bad]:g} "
                         f"in {_NEWTON_ITERATIONS} Newton iterations")
    return flat.reshape(y.shape)


#: Newton iterations for the steady state of a described model's non-gate states.
_NEWTON_ITERATIONS = 50


def _hek_state(y) -> dict[str, np.ndarray]:
    return {name: y[k] for k, name in enumerate(hek.HEK_STATE_NAMES)}


def system_from_preset(
    preset: str | CellModel,
    params: Mapping[str, float] | None = None,
    *,
    opsin: str = "none",
    opsin_overrides: Mapping[str, float] | None = None,
    opsin_density: float = 1.0,
) -> CellSystem:
    """A :class:`CellSystem` of ``preset`` with parameter overrides and, for HEK models, an opsin preset.

    Parameters
    ----------
    preset : str or CellModel
        Cell model preset.
    params : Mapping, optional
        Overrides of the preset's parameters.
    opsin : str
        Opsin preset (``cheriff``, ``chr2_h134r``, ``none``).
    opsin_overrides : Mapping, optional
        Overrides of the opsin's parameters (``g`` included).
    opsin_density : float
        Multiplier of the opsin conductance.
    """
    model = preset if isinstance(preset, CellModel) else get_model(preset)
    op = None
    found = opsin_mod.get_opsin(opsin)
    if found is not None:
        if not model.supports_opsin:
            raise ValueError(f"opsin = {opsin!r}: cell model {model.name!r} takes no opsin; allowed: 'none'")
        op = opsin_mod.opsin_params(found, opsin_overrides)
        op["g"] = op["g"] * float(opsin_density)
    return CellSystem(model, dict(model.full_params(params)), op)
