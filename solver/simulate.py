"""Run a whole job in process: ``simulate(spec) -> xarray.Dataset``."""
from __future__ import annotations

from typing import Callable

import xarray as xr

from .problem import Problem, build
from .result import OutputTracker, dataset
from .run import advance, initial_state
from .spec import load_spec


def prepare(spec) -> Problem:
    """Read and validate a spec (path, text, dict, proto or spec object) and rasterise it."""
    return build(load_spec(spec))


def simulate(spec, *, progress: Callable[[int, int], None] | None = None, trackers=()) -> xr.Dataset:
    """Simulate a job spec in this process and return the result Dataset (DESIGN.md layout).

    Parameters
    ----------
    spec
        A path to a JSON/YAML spec, its text, a dict of its JSON form, a ``JobSpec`` message
        or a spec object from :func:`solver.load_spec`.
    progress
        Called as ``progress(step, n_steps)`` as the run goes.
    trackers
        Extra trackers (see :class:`solver.run.Tracker`); a tracker with ``finalize()``
        returning a dict of DataArrays adds them to the result.
    """
    problem = prepare(spec)
    out = OutputTracker(problem)
    extra = list(trackers) + list(_readout_trackers(problem))
    advance(problem, initial_state(problem), problem.n_steps, trackers=[out, *extra],
            progress=(lambda s: progress(s, problem.n_steps)) if progress else None)
    steps, arrays = out.arrays()
    ds = dataset(problem, steps, arrays)
    for tr in extra:
        if hasattr(tr, "finalize"):
            ds = ds.assign(tr.finalize())
    return ds


def _readout_trackers(problem: Problem):
    """The camera, when the spec enables the readout (see :mod:`solver.readout`)."""
    if not problem.spec.readout.enabled:
        return ()
    from .readout import camera_tracker_for

    return (camera_tracker_for(problem),)
