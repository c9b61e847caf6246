"""optowave's solver: the physics of spiking-HEK sheets and other excitable media.

Use it in a notebook::

    import solver
    ds = solver.simulate("examples/planar_wave.json")   # an xarray.Dataset
    ds.v.isel(time=-1).plot()

or step by step (the chunked runner does this)::

    problem = solver.prepare("examples/spiral.json")
    state = solver.initial_state(problem)
    state = solver.advance(problem, state, 1000)         # exact: resuming equals the uncut run
"""
from __future__ import annotations

from .engine.cost import Cost, estimate
from .engine.problem import Problem, build
from .engine.result import __version__, write_zarr
from .engine.run import SimulationError, State, Tracker, advance, initial_state
from .engine.simulate import prepare, simulate
from .session import Session, SessionError
from .spec import FieldViolation, JobSpec, Report, SpecError, check, load_spec, validate

__all__ = [
    "Cost", "FieldViolation", "JobSpec", "Problem", "Report", "Session", "SessionError", "SimulationError", "SpecError",
    "State", "Tracker",
    "__version__", "advance", "build", "check", "estimate", "initial_state", "load_spec", "prepare", "simulate",
    "validate", "write_zarr",
]
