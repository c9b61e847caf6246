"""The :class:`CellModel` contract shared by every cell model of the solver.

A cell model is a bundle of metadata (state and parameter names, units, bounds), a compiled
numba kernel that advances a whole sheet by many steps, and a plain NumPy reference step that
is obviously right and is used to test the kernel. Model-specific physics (rest state, steady
states, currents) lives in the model modules; the dataclass only dispatches to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

__all__ = ["CellModel", "merge_params"]


def merge_params(
    model_name: str,
    param_names: tuple[str, ...],
    defaults: Mapping[str, float],
    overrides: Mapping[str, float] | None,
    *,
    as_float: bool = True,
) -> dict[str, float]:
    """Return the defaults updated by ``overrides``; unknown names raise ``ValueError``.

    Parameters
    ----------
    model_name : str
        Model name, for the message.
    param_names : tuple of str
        The allowed names.
    defaults : Mapping
        Default value of every name.
    overrides : Mapping or None
        Values to change (a full parameter mapping is accepted too).
    as_float : bool
        Convert the values to float (False keeps per-cell arrays as they are).
    """
    full = {name: float(defaults[name]) for name in param_names}
    if overrides:
        for name, value in overrides.items():
            if name not in full:
                raise ValueError(
                    f"unknown parameter {name!r} for cell model {model_name!r}; "
                    f"allowed: {', '.join(param_names)}"
                )
            full[name] = float(value) if as_float else value
    return full



def check_order(order) -> int:
    """``order`` as an int, 1 or 2; anything else raises ``ValueError`` (the kernels' time scheme)."""
    if order not in (1, 2):
        raise ValueError(f"order is {order!r}; allowed: 1 (Rush-Larsen/forward Euler), 2 (exponential midpoint)")
    return int(order)


@dataclass(frozen=True)
class CellModel:
    """A cell model of the monodomain solver.

    Attributes
    ----------
    name : str
        Preset name (the registry key).
    state_names, state_units, state_long_names : tuple of str
        State variables in kernel order; ``state_names[0]`` is the membrane variable.
    param_names : tuple of str
        Order of the ``params`` array the kernel receives.
    defaults : Mapping[str, float]
        Default parameter values (read-only).
    param_units : Mapping[str, str]
        Unit of each parameter.
    param_bounds : Mapping[str, tuple[float, float]]
        Allowed closed range of each parameter.
    dimensionless : bool
        True for the generic media (time and space in model units).
    supports_opsin : bool
        True when the kernel updates the two appended opsin states.
    dt_max_ms : float
        Accuracy limit of the time step.
    default_dt_ms : float
        Time step at which the single-cell figures are checked.
    default_diffusivity_um2_per_ms : float
        Default D (a calibration choice for HEK sheets; 1.0 for generic media).
    kernel : Callable
        The numba kernel ``kernel(ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps,
        iext, has_opsin, oparams, gop, flux) -> parity``.
    reference_step : Callable
        NumPy reference of one step, same arguments with ``y`` instead of ``ya, yb, n_steps``.
    """

    name: str
    state_names: tuple[str, ...]
    state_units: tuple[str, ...]
    state_long_names: tuple[str, ...]
    param_names: tuple[str, ...]
    defaults: Mapping[str, float]
    param_units: Mapping[str, str]
    param_bounds: Mapping[str, tuple[float, float]]
    dimensionless: bool
    supports_opsin: bool
    dt_max_ms: float
    default_dt_ms: float
    default_diffusivity_um2_per_ms: float
    kernel: Callable = field(repr=False)
    reference_step: Callable = field(repr=False)
    rest_state_fn: Callable[[dict[str, float]], dict[str, float]] = field(repr=False, default=None)
    steady_state_fn: Callable[[float, dict[str, float]], dict[str, float]] = field(
        repr=False, default=None
    )
    resting_conductance_fn: Callable[[dict[str, float]], float] = field(repr=False, default=None)
    ionic_current_fn: Callable = field(repr=False, default=None)
    #: The numba.cuda step kernel, generated from the description on demand (:mod:`solver.models.codegen`).
    cuda_step_fn: Callable[[], Callable] | None = field(repr=False, default=None)
    #: The lookup-table path of a model in mV, generated from its description (``gate_params``, ``stepper()``:
    #: see :class:`solver.models.codegen.GeneratedLut`); None: no tables (a dimensionless medium).
    lookup_tables: object | None = field(repr=False, default=None)
    #: Whether a spec that leaves ``numerics.lookup_tables`` unset runs on the tables: True for the HEK presets,
    #: whose single-cell figures the tables keep within 0.5 % (tests/solver/test_lut.py); a user's model runs
    #: on its exact kernel unless the spec asks.
    lookup_tables_default: bool = False
    #: The :class:`~solver.models.description.ModelDescription` a generated model comes from; None: a preset.
    description: object | None = field(repr=False, default=None)

    def __reduce_ex__(self, protocol):
        # a generated model travels as its description (to Dask workers, say): the receiving process
        # rebuilds it and loads the kernels from its own cache rather than unpickling compiled code
        if self.description is not None:
            from . import MODELS, get_model
            from .codegen import cell_model

            if MODELS.get(self.name) is self:  # a preset travels as its name
                return (get_model, (self.name,))
            return (cell_model, (self.description,))
        return object.__reduce_ex__(self, protocol)

    @property
    def n_state(self) -> int:
        """Number of state variables (without the opsin states)."""
        return len(self.state_names)

    def full_params(self, overrides: Mapping[str, float] | None = None) -> dict[str, float]:
        """Defaults updated by ``overrides``, checked against names and bounds."""
        full = merge_params(self.name, self.param_names, self.defaults, overrides)
        for name, value in full.items():
            lo, hi = self.param_bounds[name]
            if not math.isfinite(value) or not lo <= value <= hi:
                raise ValueError(
                    f"parameter {name!r} of cell model {self.name!r} is {value!r}; "
                    f"allowed range [{lo}, {hi}] {self.param_units[name]}"
                )
        return full

    def params_array(self, overrides: Mapping[str, float] | None = None) -> np.ndarray:
        """Parameters as float64 in ``param_names`` order (the kernel's ``params``)."""
        full = self.full_params(overrides)
        return np.array([full[name] for name in self.param_names], dtype=np.float64)

    def rest_state(self, params: Mapping[str, float] | None = None) -> dict[str, float]:
        """Every state variable at rest for these parameters (overrides of the defaults)."""
        return dict(self.rest_state_fn(self.full_params(params)))

    def steady_state_at(self, v: float, params: Mapping[str, float] | None = None) -> dict[str, float]:
        """State with the membrane variable at ``v`` and the other variables at steady state."""
        return dict(self.steady_state_fn(float(v), self.full_params(params)))

    def resting_conductance(self, params: Mapping[str, float] | None = None) -> float:
        """Slope dI_ion/dV at rest (nS/pF, model units for generic media)."""
        return float(self.resting_conductance_fn(self.full_params(params)))

    def ionic_current(
        self, state: Mapping[str, np.ndarray], params: Mapping[str, float] | None = None
    ) -> np.ndarray:
        """Ionic current I_ion for a state given as a mapping of arrays (A/F for HEK).

        ``params`` overrides the defaults and may hold per-cell arrays (parameter maps).
        """
        p = merge_params(self.name, self.param_names, self.defaults, params, as_float=False)
        return self.ionic_current_fn(state, p)
