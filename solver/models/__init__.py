"""Cell models of the optowave solver: the registry of presets.

Each :class:`CellModel` carries its metadata, a fused numba kernel and a NumPy reference step.

Kernel call (all models; C-contiguous arrays)::

    parity = model.kernel(ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext,
                          has_opsin, oparams, gop, flux, order=1)

``ya``/``yb`` (n_state, ny, nx) float64 or float32 double buffers (the final state is in ``ya`` if
``parity == 0``, else in ``yb``; inactive cells are never written); ``wx``/``wy`` (ny, nx) float64
face weights D_face/dx² (1/ms) to the +x/+y neighbour, zero across the tissue edge; ``active``
(ny, nx) uint8; ``params`` float64 in ``param_names`` order; ``pidx`` int64 (-1 or the index of
the parameter's map in ``pmaps`` (n_maps, ny, nx)); ``iext`` (ny, nx) current density (A/F) with
dV/dt = coupling − I_ion − I_opsin − iext; ``has_opsin`` bool; ``oparams`` float64
``[k_a, k_r, p, q, Gd, Gr0, phi_m, v0, v1, E]``; ``gop`` (ny, nx) opsin conductance (nS/pF);
``flux`` (ny, nx) photon flux (photons·mm⁻²·s⁻¹). With the opsin on, the HEK state has two more
variables, the open and desensitised fractions ``opsin_o`` and ``opsin_d``. ``order`` 1: Rush–Larsen
gates, forward Euler for the rest; 2: the exponential midpoint rule (:mod:`reference` defines both;
second-order steps always end in ``ya``: parity 0).
"""

from __future__ import annotations

import dataclasses
import functools
from types import MappingProxyType

from . import generic, hek
from ._base import CellModel
from .presets import preset_description

__all__ = ["CellModel", "MODELS", "UnknownModelError", "get_model"]

#: Default D of HEK sheets (µm²/ms): a calibration choice (CV ≈ 5 cm/s at 35 C), not a measurement.
HEK_DEFAULT_DIFFUSIVITY_UM2_PER_MS = 1000.0


def _described(name: str) -> CellModel:
    # the preset's description and the model generated from it: reference step, CUDA kernel (and CPU kernels)
    from .codegen import cell_model
    from .description import ModelDescription

    return cell_model(ModelDescription.from_dict(preset_description(name), path=name, preset=True))


def _hek_model(name: str) -> CellModel:
    values = hek.HEK_PRESETS[name]
    inst = values["kir_instantaneous"]
    # kir_instantaneous is the description's choice of Kir2.1 gate kind, fixed per preset: a parameter only for
    # hek's NumPy physics (the generated kernels read the description's parameters, which come first)
    bounds = {**hek.HEK_PARAM_BOUNDS, "kir_instantaneous": (inst, inst)}
    model = _described(name)
    if model.param_names + ("kir_instantaneous",) != hek.HEK_PARAM_NAMES:
        raise RuntimeError(f"the description of {name} must list hek's parameters in their order")
    return dataclasses.replace(
        model,
        state_units=hek.HEK_STATE_UNITS,
        state_long_names=hek.HEK_STATE_LONG_NAMES,
        param_names=hek.HEK_PARAM_NAMES,
        defaults=values,
        param_units=hek.HEK_PARAM_UNITS,
        param_bounds=MappingProxyType(bounds),
        dt_max_ms=0.05,
        # the largest dt dividing the 1 ms / 0.5 ms stimulus protocol at which the single-cell
        # figures pass (rest 0.5 mV, peak 2 mV, APD90 3 %, max dV/dt 10 %): see the tests
        default_dt_ms=0.025,
        default_diffusivity_um2_per_ms=HEK_DEFAULT_DIFFUSIVITY_UM2_PER_MS,
        lookup_tables_default=True,
        rest_state_fn=hek.rest_state,
        steady_state_fn=hek.steady_state_at,
        resting_conductance_fn=hek.resting_conductance,
        ionic_current_fn=hek.ionic_current,
    )


def _generic_model(name: str) -> CellModel:
    spec = generic.GENERIC_SPECS[name]
    return dataclasses.replace(
        _described(name),
        state_long_names=spec["state_long_names"],
        dt_max_ms=spec["dt_max"],
        default_dt_ms=spec["default_dt"],
        rest_state_fn=functools.partial(generic.rest_state, name),
        steady_state_fn=functools.partial(generic.steady_state_at, name),
        resting_conductance_fn=functools.partial(generic.resting_conductance, name),
        ionic_current_fn=functools.partial(generic.ionic_current, name),
    )


MODELS: dict[str, CellModel] = {
    **{name: _hek_model(name) for name in hek.HEK_PRESETS},
    **{name: _generic_model(name) for name in generic.GENERIC_SPECS},
}


class UnknownModelError(KeyError, ValueError):
    """An unknown cell-model name (both a ``KeyError`` and a ``ValueError``)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def get_model(name: str) -> CellModel:
    """The cell model preset ``name``; unknown names raise :class:`UnknownModelError`."""
    try:
        return MODELS[name]
    except (KeyError, TypeError):
        raise UnknownModelError(
            f"unknown cell model {name!r}; allowed: {', '.join(sorted(MODELS))}"
        ) from None
