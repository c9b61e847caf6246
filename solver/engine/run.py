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

from .backends import stepper
from ..models.opsin import irradiance_to_flux
from .problem import Problem

#: A run stops when |V| exceeds this (mV, or model units).
BLOW_UP_LIMIT = 500.0


class SimulationError(RuntimeError):
    """The run blew up (NaN or |V| > 500); the message names the time and the worst cell."""


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
    """Hangs off the run loop (py-pde style): sees the state every ``interval`` steps.

    Trackers of a job (samples, camera) also offer ``take(final=...)``, their output for the result store,
    and ``get_state()`` / ``set_state(state)``: a dict of arrays saved with each chunk's checkpoint and
    restored bit for bit, so that a run cut into chunks, or resumed, equals the uncut run (see
    :mod:`solver.engine.job`). A tracker is called only at multiples of its interval, wherever a run is cut.
    """

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
    check: bool = True,
) -> State:
    """Step ``state`` forward by ``n_steps`` and return the new state (the input is not changed).

    Trackers are called at every multiple of their interval in ``[state.step, state.step + n_steps]``
    (both ends included). ``progress(step)`` is called after each kernel call. With ``check``
    (default) the state is checked after every kernel call and a blow-up raises
    :class:`SimulationError` naming the step it began and its first cell.
    """
    p = problem
    ya = np.ascontiguousarray(state.y, dtype=p.dtype).copy()
    yb = ya.copy()
    step = state.step
    end = step + n_steps
    intervals = [max(1, int(tr.start(p, state))) for tr in trackers]

    good = step  # the last step at which the state was checked and sound

    def call_trackers(at: int, y: np.ndarray) -> None:
        nonlocal good
        if check and _bad_cell(p, y) is not None:
            _raise_at_first_bad_step(p, state, good, at)
        good = at
        due = [tr for tr, k in zip(trackers, intervals) if at % k == 0]
        if due:
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

    kernel = stepper(p)  # CPU exact, CPU lookup tables or CUDA, per numerics (solver.engine.backends)
    fields_for = None
    for stop in stops:
        row = step - state.step
        key = (tuple(light_f[row]), tuple(cur_f[row]))
        if key != fields_for:
            flux = np.ascontiguousarray(irradiance_to_flux(p.opsin_irradiance(light_f[row])))
            iext = np.ascontiguousarray(p.current(cur_f[row]))
            fields_for = key
        parity = kernel(ya, yb, stop - step, p.dt_ms, p.wx, p.wy, p.active, p.params, p.pidx, p.pmaps,
                        iext, p.has_opsin, p.oparams, p.gop, flux, order=p.time_order)
        if parity:
            ya, yb = yb, ya
        step = stop
        call_trackers(step, ya)
        if progress is not None:
            progress(step)
    return State(step, ya)


def _bad_cell(problem: Problem, y: np.ndarray) -> tuple[int, int] | None:
    """The worst tissue cell whose V is NaN or beyond ±500 (NaN first, then the largest |V|), or None.

    The worst, not the first in row order: a second-order step carries a blow-up to the neighbours
    within the step it began in, and the cell that started it is the one furthest out.
    """
    bad = ~(np.abs(y[0]) <= BLOW_UP_LIMIT) & (problem.active > 0)
    if not bad.any():
        return None
    size = np.where(bad, np.nan_to_num(np.abs(y[0].astype(np.float64)), nan=np.inf, posinf=np.inf), -1.0)
    i, j = np.unravel_index(int(np.argmax(size)), size.shape)
    return int(i), int(j)


def _raise_at_first_bad_step(problem: Problem, start: State, good: int, bad: int) -> None:
    """Replay from the last sound step one step at a time to name where the blow-up began.

    Runs are deterministic, so the replay meets the same numbers; only a failing run pays for it.
    """
    state = advance(problem, start, good - start.step, check=False)
    cell = None
    while state.step < bad:
        state = advance(problem, state, 1, check=False)
        cell = _bad_cell(problem, state.y)
        if cell is not None:
            break
    i, j = cell if cell is not None else _bad_cell(problem, state.y)
    v = state.y[0, i, j]
    dx = problem.dx_um
    unit = "" if problem.model.dimensionless else " mV"
    raise SimulationError(
        f"the run blew up at t = {state.step * problem.dt_ms:g} ms (step {state.step}): worst cell "
        f"(row {i}, column {j}) at x = {(j + 0.5) * dx:g} µm, y = {(i + 0.5) * dx:g} µm has {float(v)!r}{unit} "
        f"(allowed |V| <= {BLOW_UP_LIMIT:g}); lower numerics.dt_ms or the stimulus strength"
    )
