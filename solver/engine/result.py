"""The result layout (DESIGN.md "Results"): xarray variables, coordinates and CF attributes.

One place decides names, units and attributes, for the in-process :func:`solver.simulate`,
the chunked runner and the service alike.
"""
from __future__ import annotations

import json

import numpy as np
import xarray as xr

from .problem import Problem, describe_parameters
from .run import State

__version__ = "0.1.0"
OUTPUT_DTYPE = np.float32   # what is stored; the state itself may be float64

EXTRA_UNITS = {
    "irradiance": ("mW/mm2", "blue-light irradiance at the sample"),
    "opsin_o": ("1", "open fraction of the channelrhodopsin"),
    "opsin_d": ("1", "desensitised fraction of the channelrhodopsin"),
}


def variable_attrs(problem: Problem, name: str) -> dict[str, str]:
    """CF ``units`` and ``long_name`` of an output variable."""
    m = problem.model
    if name in EXTRA_UNITS:
        units, long = EXTRA_UNITS[name]
    elif name == "v":
        units, long = ("1", "membrane variable u (dimensionless)") if m.dimensionless else ("mV", "membrane potential")
    else:
        k = m.state_names.index(name)
        units, long = m.state_units[k], m.state_long_names[k]
    return {"units": units, "long_name": long}


def output_names(problem: Problem) -> tuple[str, ...]:
    """Variables stored, in the result's names (the membrane variable is always ``v``)."""
    return tuple(problem.spec.output.variables)


def state_index(problem: Problem, name: str) -> int | None:
    if name == "v":
        return 0
    if name in problem.state_names[1:]:
        return problem.state_names.index(name)
    return None


def sample_steps(problem: Problem) -> np.ndarray:
    """Steps at which outputs are sampled: 0, k, 2k, ... up to the end of the run."""
    return np.arange(0, problem.n_steps + 1, problem.sample_every, dtype=np.int64)


class OutputTracker:
    """Collects the selected variables at every output sample (each step at most once)."""

    def __init__(self, problem: Problem):
        self.problem = problem
        self.names = output_names(problem)
        self.steps: list[int] = []
        self.frames: dict[str, list[np.ndarray]] = {n: [] for n in self.names}

    def start(self, problem, state) -> int:
        return problem.sample_every

    def handle(self, state: State, y: np.ndarray) -> None:
        if self.steps and state.step <= self.steps[-1]:
            return
        self.steps.append(state.step)
        p = self.problem
        for name in self.names:
            idx = state_index(p, name)
            if idx is not None:
                frame = y[idx]
            else:  # irradiance: the light that drives the step starting here
                light, _ = p.stimulus_factors(state.step, state.step + 1)
                frame = p.irradiance(light[0])
            self.frames[name].append(np.asarray(frame, dtype=OUTPUT_DTYPE).copy())

    def arrays(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The collected steps and one ``(time, y, x)`` array per variable; then forgets them."""
        steps = np.asarray(self.steps, dtype=np.int64)
        out = {n: (np.stack(f) if f else np.zeros((0, self.problem.ny, self.problem.nx), OUTPUT_DTYPE))
               for n, f in self.frames.items()}
        self.steps, self.frames = [], {n: [] for n in self.names}
        return steps, out


def coords(problem: Problem, steps: np.ndarray) -> dict[str, xr.DataArray]:
    dx = problem.dx_um
    return {
        "time": xr.DataArray(steps * problem.dt_ms, dims="time", attrs={"units": "ms", "long_name": "time"}),
        "y": xr.DataArray((np.arange(problem.ny) + 0.5) * dx, dims="y", attrs={"units": "um", "long_name": "y"}),
        "x": xr.DataArray((np.arange(problem.nx) + 0.5) * dx, dims="x", attrs={"units": "um", "long_name": "x"}),
    }


def attributes(problem: Problem) -> dict[str, object]:
    spec = problem.spec
    described = _model_definition(problem)
    return {
        "title": spec.name or "optowave simulation",
        "Conventions": "CF-1.10",
        "source": f"optowave {__version__}",
        "software_version": __version__,
        "spec": spec.json,
        "model": problem.model.name,
        "model_parameters": describe_parameters(problem),
        "opsin": problem.opsin_name,
        "seed": int(spec.seed),
        "dx_um": float(problem.dx_um),
        "dt_ms": float(problem.dt_ms),
        "duration_ms": float(problem.n_steps * problem.dt_ms),
        "state_variables": json.dumps(list(problem.state_names)),
        **({"model_definition": described} if described else {}),
    }


def _model_definition(problem: Problem) -> str:
    """A user's model as JSON (its definition, or what its .mmt file said), so that a result names what ran:
    a spec holding ``mmt_path`` names only a file, which can change or be lost. "" for a preset."""
    given = problem.spec.tissue.model
    description = getattr(problem.model, "description", None)
    if not (given.definition or given.mmt_path) or description is None:
        return ""
    return json.dumps(description.to_dict(), sort_keys=True)


def write_zarr(ds: xr.Dataset, path, *, time_chunk: int | None = None) -> None:
    """Write a result Dataset as a Zarr v3 store through :mod:`optowave.store` (the layout every result has),
    one Zarr chunk per ``time_chunk`` samples along ``time`` (and ``frame``), tiles in space."""
    from optowave.store import ArraySpec, DirectoryStore, Layout, spatial_chunks

    index = [n for n in ds.coords if n in ds.dims]
    aux = [n for n in ds.coords if n not in ds.dims]
    arrays = []
    for name in [*index, *aux, *ds.data_vars]:
        var = ds[name].variable
        dtype = np.dtype(var.dtype)
        if dtype.kind not in "fiub":
            raise ValueError(f"write_zarr: {name} has dtype {dtype}; a result holds numbers only")
        shape = tuple(int(n) for n in var.shape)
        if not shape:
            chunks = ()
        elif len(shape) == 1:
            chunks = (max(1, shape[0]),)
        else:
            lead = shape[0] if not (time_chunk and var.dims[0] in ("time", "frame")) else min(time_chunk, shape[0])
            chunks = (max(1, lead), *spatial_chunks(shape[1:]))
        attrs = dict(var.attrs)
        if name in ds.data_vars:
            mine = [c for c in aux if set(ds[c].dims) <= set(var.dims)]
            if mine:
                attrs["coordinates"] = " ".join(mine)
        arrays.append(ArraySpec(name, tuple(var.dims), shape, chunks, dtype.newbyteorder("<").str
                                if dtype.itemsize > 1 else dtype.str, attrs))
    store = DirectoryStore(path)
    store.create(Layout(tuple(arrays), dict(ds.attrs)))
    for name in [*index, *aux, *ds.data_vars]:
        if ds[name].size:
            store.write(name, np.asarray(ds[name].values))
    store.finish()
