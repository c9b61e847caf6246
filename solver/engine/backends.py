"""Which kernel advances a run: the exact CPU kernel, the lookup-table CPU kernel, or CUDA.

:func:`stepper` is resolved once per :func:`solver.engine.run.advance` call from the spec's
``numerics.backend`` and ``numerics.lookup_tables`` and returns a callable with the signature and
semantics of ``CellModel.kernel``::

    parity = step(ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams, gop, flux,
                  order=1)

``order`` is the time scheme's (``numerics.time_scheme``, resolved by :func:`time_order_of`): 1,
Rush-Larsen/forward Euler; 2, the exponential midpoint rule (the NumPy reference defines both).

On the CPU both kernels are deterministic, so cutting a run into calls never changes a bit. The CUDA
stepper keeps the state and the constant fields in device memory for the whole ``advance``: it
uploads the state only when the host hands it a buffer it did not fill itself, re-uploads the
stimulus fields only when the run loop rebuilt them, and copies the state back at the end of each
call (always into ``ya``: it returns parity 0).
"""
from __future__ import annotations

import os
from typing import Callable

import numpy as np

from ..models import CellModel
from ..models._base import check_order
from ..models.opsin import KERNEL_PARAM_NAMES as _OPSIN_ORDER
from ..models.opsin import kernel_fv_holding, kernel_rates

__all__ = ["DEFAULT_TIME_ORDER", "time_order_of", "lookup_tables_default", "uses_lookup_tables", "has_lookup_tables",
           "tabulated_params", "gate_maps", "stepper", "cuda_usable", "CudaStepper"]

Stepper = Callable[..., int]

# where the opsin's parameters sit in the kernels' ``oparams``
OP_GD, OP_V0, OP_V1, OP_E = (_OPSIN_ORDER.index(n) for n in ("Gd", "v0", "v1", "E"))

#: The time scheme of a spec that leaves ``numerics.time_scheme`` unset: 2, the exponential midpoint
#: rule (it reaches a given CV accuracy at less cost than first order: benchmarks/convergence.py).
DEFAULT_TIME_ORDER = 2


def time_order_of(numerics) -> int:
    """The order of the time scheme (1 or 2) a spec's ``numerics`` asks for, or the default."""
    return DEFAULT_TIME_ORDER if numerics.time_order is None else int(numerics.time_order)


def lookup_tables_default(model: CellModel) -> bool:
    """Whether ``model`` runs on lookup tables when the spec leaves ``numerics.lookup_tables`` unset (the HEK
    presets; a user's model's tables are asked for: its exact kernel is the default)."""
    return has_lookup_tables(model) and model.lookup_tables_default


def has_lookup_tables(model: CellModel) -> bool:
    """Whether ``model`` has a lookup-table kernel (generated from its description: every model in mV)."""
    return model.lookup_tables is not None


def tabulated_params(model: CellModel) -> tuple[str, ...]:
    """The parameters ``model``'s tables depend on (a per-cell map of one needs the exact kernel)."""
    return tuple(sorted(model.lookup_tables.gate_params)) if has_lookup_tables(model) else ()


def gate_maps(model: CellModel, pidx: np.ndarray) -> list[str]:
    """Names of the tabulated (gate) parameters that have a per-cell map: those need the exact kernel."""
    return [name for name in tabulated_params(model) if name in model.param_names
            and pidx[model.param_names.index(name)] >= 0]


def uses_lookup_tables(problem) -> bool:
    """Whether ``problem`` runs on the lookup-table kernel (CPU backend)."""
    model = problem.model
    if not has_lookup_tables(model) or gate_maps(model, problem.pidx):
        return False
    wanted = problem.spec.numerics.lookup_tables
    return lookup_tables_default(model) if wanted is None else bool(wanted)


def cuda_usable() -> bool:
    """A CUDA device, or numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``), is available."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0"):
        return True
    try:
        from numba import cuda

        return bool(cuda.is_available())
    except Exception:  # noqa: BLE001 - no driver, no toolkit: not usable
        return False


def stepper(problem) -> Stepper:
    """The callable that advances ``problem`` (resolve once per ``advance``: it may hold device memory)."""
    if problem.spec.numerics.backend == "cuda":
        return CudaStepper(problem)
    if uses_lookup_tables(problem):
        return problem.model.lookup_tables.stepper()
    exact = getattr(problem.model.kernel, "stepper", None)  # a generated kernel keeps its fields per run
    return exact() if exact is not None else problem.model.kernel


class CudaStepper:
    """The CUDA kernels behind the ``CellModel.kernel`` signature, for one ``advance``.

    Device buffers live as long as this object: the state stays on the device between calls (it is
    uploaded again only if the host passes a buffer other than the one this stepper last filled:
    the run loop hands back what it was given, and trackers only read), the problem's constant
    fields are uploaded once, the stimulus fields when the run loop rebuilds them. Each call queues
    its steps, then copies the state back into ``ya`` (the frame the host asked for) and returns 0.
    """

    def __init__(self, problem) -> None:
        from numba import cuda

        from ..models.codegen._cuda import launch_steps

        self._cuda = cuda
        self._kernel = problem.model.cuda_step_fn()  # generated from the model's description
        self._launch = launch_steps
        self._dev: dict = {}
        self._state = None  # (host array holding the device state, device current, device other)
        self._mid = None  # the midpoint buffer of second-order steps

    def _to_device(self, key: str, arr, make=None):
        hit = self._dev.get(key)
        if hit is not None and hit[0] is arr:
            return hit[1]
        host = make(arr) if make is not None else arr
        dev = self._cuda.to_device(np.ascontiguousarray(host))
        self._dev[key] = (arr, dev)
        return dev

    def __call__(self, ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams, gop,
                 flux, order=1) -> int:  # fmt: skip
        cuda = self._cuda
        check_order(order)
        if self._state is None or self._state[0] is not ya:
            # both device buffers start as the state: cells outside the tissue are never written
            self._state = (ya, cuda.to_device(ya), cuda.to_device(ya))
            self._mid = None
        if order == 2 and self._mid is None:
            self._mid = cuda.to_device(ya)  # likewise: finite outside the tissue
        _, d_a, d_b = self._state
        dummy = np.zeros((1, 1))
        if has_opsin:
            e, v0, v1 = oparams[OP_E], oparams[OP_V0], oparams[OP_V1]
            oc = np.array([e, v0, v1, kernel_fv_holding(oparams), oparams[OP_GD]], dtype=np.float64)
            rates = self._to_device("rates", flux, lambda f: np.stack(kernel_rates(f, oparams)))
            ga, gr = rates[0], rates[1]
            d_gop = self._to_device("gop", gop)
        else:
            oc = np.zeros(5)
            ga = gr = d_gop = self._to_device("dummy", dummy)
        fields = (
            self._to_device("wx", wx), self._to_device("wy", wy), self._to_device("active", active),
            self._to_device("params", params), self._to_device("pidx", pidx),
            self._to_device("pmaps", pmaps, lambda m: m if m.shape[0] else np.zeros((1, 1, 1))),
            self._to_device("iext", iext), bool(has_opsin), d_gop, ga, gr, self._to_device("oc", oc),
        )  # fmt: skip
        parity = self._launch(self._kernel, d_a, d_b, int(n_steps), float(dt), fields,
                              self._mid if order == 2 else None)  # fmt: skip
        if parity:
            d_a, d_b = d_b, d_a
        d_a.copy_to_host(ya)
        self._state = (ya, d_a, d_b)
        return 0
