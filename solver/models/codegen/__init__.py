"""Cell models generated from a :class:`~solver.models.description.ModelDescription`.

:func:`cell_model` turns a description into a :class:`~solver.models.CellModel`: the exact numba
kernel from the template of :mod:`._exact`, the lookup-table kernel (:mod:`._lut`, the same template
with the gates read from tables) and the numba.cuda kernel (:mod:`._cuda`), all written to disk by
content hash (:mod:`._cache`), the NumPy reference of :mod:`._reference`, and the rest state, steady states,
resting conductance and ionic current evaluated from the expression trees.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from .._base import CellModel
from ..description import ModelDescription
from . import _reference
from ._cache import cache_dir, load_generated
from ._exact import FieldCache, exact_kernel_source
from ._lut import GeneratedLut

__all__ = ["GeneratedLut", "cache_dir", "cell_model", "exact_kernel_source", "model_from_dict"]

#: Time steps of a user's model in mV (its own dt is not part of the description): the HEK limits.
DT_MAX_MS = 0.05
DEFAULT_DT_MS = 0.01
#: Default D (µm²/ms) of a user's model in mV: the HEK sheets' calibration.
DEFAULT_DIFFUSIVITY_UM2_PER_MS = 1000.0


class _LazyKernel:
    """The exact kernel, generated and imported on first call (building a model compiles nothing)."""

    def __init__(self, desc: ModelDescription) -> None:
        self.desc = desc
        self._fn = None

    @property
    def module(self):
        if self._fn is None:
            self._fn = load_generated(f"model_{self.desc.name}", exact_kernel_source(self.desc)).kernel
        return self._fn

    def __call__(self, *args, **kwargs) -> int:
        return self.module(*args, **kwargs)

    def stepper(self):
        """The kernel for one run: its fields (compute type, opsin rates, plain rows) made once per distinct
        input array rather than on every call."""
        kernel = self.module
        module = sys.modules[kernel.__module__]
        fields = FieldCache()

        def step(ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams, gop, flux,
                 order=1):  # fmt: skip
            got = fields.get(module, wx, wy, iext, has_opsin, oparams, gop, flux, np.float64)
            return kernel(ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams, gop,
                          flux, order, fields=got)  # fmt: skip

        return step


def _cuda_step(desc: ModelDescription):
    """The generated numba.cuda step kernel of ``desc`` (importing numba.cuda only now)."""
    from ._cuda import cuda_kernel_source

    return load_generated(f"cuda_{desc.name}", cuda_kernel_source(desc)).step


def _rest_state(desc: ModelDescription, p: Mapping) -> dict[str, float]:
    return {desc.voltage.name: desc.voltage.initial, **{s.name: s.initial for s in desc.states}}


def _steady_state_at(desc: ModelDescription, v: float, p: Mapping) -> dict[str, float]:
    inf, _ = _reference.gate_inf_tau(desc, v, p)
    out = _rest_state(desc, p)
    out[desc.voltage.name] = v
    out.update({k: float(x) for k, x in inf.items()})
    return out


def _ionic_current(desc: ModelDescription, state: Mapping, p: Mapping) -> np.ndarray:
    total = sum(_reference.currents(desc, state, p).values(), np.float64(0.0))
    return np.asarray(total, dtype=np.float64)


def _resting_conductance(desc: ModelDescription, p: Mapping) -> float:
    # central difference of I_ion with every state frozen at rest (the cable's load)
    rest = _rest_state(desc, p)
    v, h = desc.voltage.name, 1e-4
    up = _ionic_current(desc, {**rest, v: rest[v] + h}, p)
    down = _ionic_current(desc, {**rest, v: rest[v] - h}, p)
    return float((up - down) / (2 * h))


def cell_model(desc: ModelDescription) -> CellModel:
    """The :class:`CellModel` of ``desc`` (kernel compiled on first call; cached by content hash)."""
    return _cell_model_cached(desc)


@functools.lru_cache(maxsize=64)
def _cell_model_cached(desc: ModelDescription) -> CellModel:
    mv = not desc.dimensionless
    return CellModel(
        name=desc.name,
        state_names=desc.state_names,
        state_units=(desc.voltage.units, *(s.units for s in desc.states)),
        state_long_names=(desc.voltage.name, *(s.description or s.name for s in desc.states)),
        param_names=desc.param_names,
        defaults=MappingProxyType({p.name: p.value for p in desc.parameters}),
        param_units=MappingProxyType({p.name: p.units for p in desc.parameters}),
        param_bounds=MappingProxyType({p.name: (p.min, p.max) for p in desc.parameters}),
        dimensionless=not mv,
        supports_opsin=mv,
        dt_max_ms=DT_MAX_MS,
        default_dt_ms=DEFAULT_DT_MS,
        default_diffusivity_um2_per_ms=DEFAULT_DIFFUSIVITY_UM2_PER_MS if mv else 1.0,
        kernel=_LazyKernel(desc),
        reference_step=_reference.reference_step_of(desc),
        rest_state_fn=functools.partial(_rest_state, desc),
        steady_state_fn=functools.partial(_steady_state_at, desc),
        resting_conductance_fn=functools.partial(_resting_conductance, desc),
        ionic_current_fn=functools.partial(_ionic_current, desc),
        cuda_step_fn=functools.partial(_cuda_step, desc),
        lookup_tables=GeneratedLut(desc, load_generated) if mv else None,
        description=desc,
    )


def model_from_dict(d: Mapping, *, path: str = "definition") -> CellModel:
    """Validate the JSON form of a description and return its :class:`CellModel`."""
    return cell_model(ModelDescription.from_dict(d, path=path))
