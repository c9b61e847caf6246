"""Drive a kernel through time: :class:`State`, :func:`advance`, and trackers.

The run loop is the only place that knows about time: it cuts the run into kernel calls at
every change of a stimulus waveform and at every step a tracker wants to see, so that light
and current fields are rebuilt only when a waveform changes. Cutting a run differently never
changes a bit of the result: each step does the same arithmetic in either case.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

import numpy as np

from .opsin import irradiance_to_flux
from .problem import Problem

#: A run stops when |V| exceeds this (mV, or model units).
BLOW_UP_LIMIT = 500.0


class SimulationError(RuntimeError):
    """The run blew up (NaN or |V| > 500); the message names the time and the first bad cell."""


@dataclass
class State:
    """The full state of a run at a step: restoring it continues the run bit for bit."""

    step: int
    y: np.ndarray          # (n_state, ny, nx)

    def t_ms(self, dt_ms: float) -> float:
        return self.step * dt_ms

    def copy(self) -> "State":
        return State(self.step, self.y.copy())

    def to_bytes(self) -> bytes:
        """Exact serialisation (NumPy ``.npz``)."""
        buf = io.BytesIO()
        np.savez(buf, step=np.int64(self.step), y=self.y)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "State":
        with np.load(io.BytesIO(data)) as f:
            return cls(int(f["step"]), f["y"].copy())


def initial_state(problem: Problem) -> State:
    """The state at t = 0: the model's rest with the spec's initial regions applied."""
    return State(0, problem.initial.copy())


class Tracker(Protocol):
    """Hangs off the run loop (py-pde style): sees the state every ``interval`` steps."""

    def start(self, problem: Problem, state: State) -> int:
        """Prepare; return how often (in steps) to be called. Called once per :func:`advance`."""

    def handle(self, state: State, y: np.ndarray) -> None:
        """Look at the state at ``state.step`` (``y`` is a view: copy what you keep)."""


def advance(
    problem: Problem,
    state: State,
    n_steps: int,
    *,
    trackers: Sequence[Tracker] = (),
    progress: Callable[[int], None] | None = None,
) -> State:
    """Step ``state`` forward by ``n_steps`` and return the new state (the input is not changed).

    Trackers are called at every multiple of their interval in ``[state.step, state.step + n_steps]``
    (both ends included). ``progress(step)`` is called after each kernel call.
    """
    p = problem
    ya = np.ascontiguousarray(state.y, dtype=p.dtype).copy()
    yb = ya.copy()
    step = state.step
    end = step + n_steps
    intervals = [max(1, int(tr.start(p, state))) for tr in trackers]

    def call_trackers(at: int, y: np.ndarray) -> None:
        due = [tr for tr, k in zip(trackers, intervals) if at % k == 0]
        if due:
            check_finite(p, y, at)
            st = State(at, y)
            for tr in due:
                tr.handle(st, y)

    call_trackers(step, ya)
    if n_steps <= 0:
        return State(step, ya)
    light_f, cur_f = p.stimulus_factors(step, end)
    change = np.flatnonzero(np.any(np.diff(np.concatenate([light_f, cur_f], axis=1), axis=0) != 0, axis=1)) + 1
    boundaries = set((change + step).tolist())
    for k in intervals:
        boundaries.update(range((step // k + 1) * k, end, k))
    stops = sorted(b for b in boundaries if step < b < end) + [end]

    model = p.model
    fields_for = None
    for stop in stops:
        row = step - state.step
        key = (tuple(light_f[row]), tuple(cur_f[row]))
        if key != fields_for:
            flux = np.ascontiguousarray(irradiance_to_flux(p.irradiance(light_f[row])))
            iext = np.ascontiguousarray(p.current(cur_f[row]))
            fields_for = key
        parity = model.kernel(ya, yb, stop - step, p.dt_ms, p.wx, p.wy, p.active, p.params, p.pidx, p.pmaps,
                              iext, p.has_opsin, p.oparams, p.gop, flux)
        if parity:
            ya, yb = yb, ya
        step = stop
        call_trackers(step, ya)
        if progress is not None:
            progress(step)
    check_finite(p, ya, step)
    return State(step, ya)


def check_finite(problem: Problem, y: np.ndarray, step: int) -> None:
    """Raise :class:`SimulationError` if V is NaN or beyond ±500 anywhere in the tissue."""
    v = y[0]
    bad = ~(np.abs(v) <= BLOW_UP_LIMIT) & (problem.active > 0)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        dx = problem.dx_um
        unit = "" if problem.model.dimensionless else " mV"
        raise SimulationError(
            f"the run blew up at t = {step * problem.dt_ms:g} ms (step {step}): first bad cell (row {i}, column {j}) "
            f"at x = {(j + 0.5) * dx:g} µm, y = {(i + 0.5) * dx:g} µm has {v[i, j]!r}{unit} (allowed |V| <= "
            f"{BLOW_UP_LIMIT:g}); lower numerics.dt_ms or the stimulus strength"
        )
