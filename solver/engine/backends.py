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

from ..models import CellModel, lut, lut_kernel
from ..models._base import check_order
from ..models.opsin import KERNEL_PARAM_NAMES as _OPSIN_ORDER

__all__ = ["TABULATED_MODELS", "DEFAULT_TIME_ORDER", "time_order_of", "lookup_tables_default", "uses_lookup_tables",
           "has_lookup_tables", "tabulated_params", "gate_maps", "stepper", "cuda_usable", "CpuLutStepper", "CudaStepper"]

Stepper = Callable[..., int]

# where the opsin's parameters sit in the kernels' ``oparams``
OP_GD, OP_V0, OP_V1, OP_E = (_OPSIN_ORDER.index(n) for n in ("Gd", "v0", "v1", "E"))

#: Models with lookup tables, and whether the tables are their default: the single-cell figures stay
#: within 0.5 % of the exact path (tests/solver/test_lut.py checks it).
TABULATED_MODELS = {"hek_gokhale2017_35c": True, "hek_gokhale2017_23c": True, "hek_bistable": True}


#: The time scheme of a spec that leaves ``numerics.time_scheme`` unset: 2, the exponential midpoint
#: rule (it reaches a given CV accuracy at less cost than first order: benchmarks/convergence.py).
DEFAULT_TIME_ORDER = 2


def time_order_of(numerics) -> int:
    """The order of the time scheme (1 or 2) a spec's ``numerics`` asks for, or the default."""
    return DEFAULT_TIME_ORDER if numerics.time_order is None else int(numerics.time_order)


def lookup_tables_default(model: CellModel) -> bool:
    """Whether ``model`` runs on lookup tables when the spec leaves ``numerics.lookup_tables`` unset
    (a described model's tables are asked for: its exact kernel is the default)."""
    return bool(getattr(model, "lookup_tables_default", TABULATED_MODELS.get(model.name, False)))


def has_lookup_tables(model: CellModel) -> bool:
    """Whether ``model`` has a lookup-table kernel (a preset's, or one generated from its description)."""
    return model.name in TABULATED_MODELS or getattr(model, "lookup_tables", None) is not None


def tabulated_params(model: CellModel) -> tuple[str, ...]:
    """The parameters ``model``'s tables depend on (a per-cell map of one needs the exact kernel)."""
    generated = getattr(model, "lookup_tables", None)
    return tuple(sorted(generated.gate_params)) if generated is not None else lut.GATE_PARAMS


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
        generated = getattr(problem.model, "lookup_tables", None)
        return generated.stepper() if generated is not None else CpuLutStepper()
    exact = getattr(problem.model.kernel, "stepper", None)  # a generated kernel keeps its fields per run
    return exact() if exact is not None else problem.model.kernel


def _same(cache: dict, key: str, arr: np.ndarray, make):
    # derived arrays are cached against the identity of their source (kept alive by the cache)
    hit = cache.get(key)
    if hit is not None and hit[0] is arr:
        return hit[1]
    out = make(arr)
    cache[key] = (arr, out)
    return out


def opsin_rates(flux: np.ndarray, oparams: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Light-dependent opsin rates (Ga, Gr) in 1/ms, as the exact kernel computes them."""
    k_a, k_r, p, q, _, g_r0, phi_m = oparams[:7]
    phi = np.asarray(flux, dtype=np.float64)
    lit = phi > 0
    safe = np.where(lit, phi, 1.0)
    ga = np.where(lit, k_a / (1.0 + (phi_m / safe) ** p), 0.0)
    gr = g_r0 + np.where(lit, k_r / (1.0 + (phi_m / safe) ** q), 0.0)
    return ga, gr


class CpuLutStepper:
    """The HEK lookup-table kernel behind the ``CellModel.kernel`` signature.

    The table is built (and cached) per parameter set, opsin parameters and dt; fields are converted
    to the compute dtype (that of the state) once per distinct input array.
    """

    def __init__(self) -> None:
        self._cache: dict = {}

    def __call__(self, ya, yb, n_steps, dt, wx, wy, active, params, pidx, pmaps, iext, has_opsin, oparams, gop,
                 flux, order=1) -> int:  # fmt: skip
        dtype = ya.dtype
        check_order(order)

        def table_of(h):
            table = lut.hek_table(params, oparams if has_opsin else None, h)
            s = np.concatenate([table.scalars(np.float64), [h, oparams[OP_GD]]]).astype(dtype)
            return table.packed(), s

        tab, s = table_of(dt)
        half = table_of(0.5 * dt) if order == 2 else None
        cast = lambda a: np.ascontiguousarray(a, dtype=dtype)  # noqa: E731 - no copy when already right
        c = self._cache
        rates = _same(c, "flux", flux, lambda f: tuple(cast(r) for r in opsin_rates(f, oparams)))
        fields = tuple(_same(c, k, a, cast) for k, a in (("wx", wx), ("wy", wy), ("iext", iext), ("gop", gop)))
        hit = c.get("plain")
        if hit is None or any(x is not y for x, y in zip(hit[0], fields)):
            hit = c["plain"] = (fields, lut_kernel.plain_rows(*fields))
        w_x, w_y, i_ext, g_op = fields
        return lut_kernel.hek_lut_kernel(
            ya, yb, n_steps, w_x, w_y, active, params, pidx, pmaps, i_ext, bool(has_opsin), g_op, rates[0], rates[1],
            tab, s, hit[1], half,
        )  # fmt: skip


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
            x = -70.0 - e
            fv70 = v1 / v0 if abs(x) < 1e-9 else -(v1 / x) * np.expm1(-x / v0)
            oc = np.array([e, v0, v1, fv70, oparams[OP_GD]], dtype=np.float64)
            rates = self._to_device("rates", flux, lambda f: np.stack(opsin_rates(f, oparams)))
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
