"""Run a whole job in process: ``simulate(spec) -> xarray.Dataset``."""
from __future__ import annotations

import os
from typing import Callable

import xarray as xr

from optowave.store import open_store

from .job import JobRun, one_piece_plan
from .problem import Problem, build
from .run import initial_state
from ..spec import load_spec


def prepare(spec) -> Problem:
    """Read and validate a spec (path, text, dict, proto or spec object) and rasterise it."""
    return build(load_spec(spec))


def simulate(spec, *, progress: Callable[[int, int], None] | None = None, trackers=(),
             store: str | os.PathLike | None = None) -> xr.Dataset:
    """Simulate a job spec in this process and return the result Dataset (DESIGN.md layout).

    The run is the same job the chunked runner and the service run, uncut: the sampled state, the camera
    movie when the readout is on, and the analysis maps of the spec's ``analysis`` block.

    Parameters
    ----------
    spec
        A path to a JSON/YAML spec, its text, a dict of its JSON form, a ``JobSpec`` message
        or a spec object from :func:`solver.load_spec`.
    progress
        Called as ``progress(step, n_steps)`` as the run goes.
    trackers
        Extra trackers (see :class:`solver.engine.run.Tracker`); a tracker with ``finalize()``
        returning a dict of DataArrays adds them to the result.
    store
        Write the result into this directory as a Zarr store (default: in memory) and return it opened lazily.
    """
    problem = prepare(spec)
    run = JobRun(problem, one_piece_plan(problem))
    result = open_store(store)
    run.run(result, initial_state(problem), extra_trackers=trackers,
            progress=(lambda s: progress(s, problem.n_steps)) if progress else None)
    ds = result.open_dataset(load=store is None)
    for tr in trackers:
        if hasattr(tr, "finalize"):
            ds = ds.assign(tr.finalize())
    return ds
