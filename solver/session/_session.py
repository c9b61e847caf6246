"""The closed loop in process: a job that advances one camera frame at a time and takes light commands between.

A session is a job whose light program grows. Each frame period is one piece of the run (the run loop of
:mod:`solver.engine.run`, with the job's trackers: the sampled state and the camera of
:mod:`solver.readout.adapter`); a command given after frame ``k`` joins the light program at the boundary where
frame ``k + 1`` starts. :meth:`Session.recorded_spec` writes the commands as ordinary light stimuli, and
:meth:`Session.finish` stores what the job of that spec stores: replaying it with :func:`solver.simulate` gives
the same bits.

The camera sees the state only every few steps (:class:`solver.readout.CameraTracker`); when a frame period does
not end on one of those steps, the frame is complete a few steps past the boundary. The session then looks ahead
to finish the frame and continues from the boundary, so that a command still takes effect exactly there.
"""
from __future__ import annotations

import json
import os
import threading
import time
from functools import wraps

import numpy as np
import xarray as xr

from optowave.store import open_store

from ..engine.job import JobRun, one_piece_plan
from ..engine.problem import build
from ..engine.result import OUTPUT_DTYPE, OutputTracker
from ..engine.run import State, advance, initial_state
from ..readout.adapter import camera_tracker_for
from ..spec import SpecError, from_proto, load_spec, parse_proto
from ..spec import check as check_spec
from ._frames import FrameBuilder, LiveBaseline
from ._program import Command, LiveProblem, camera_raster, check_irradiance, parse_command_pattern, pattern_key

__all__ = ["Session", "SessionError"]


class SessionError(RuntimeError):
    """A session used out of turn: closed, finished, at the end of its run, or with nothing run yet."""


def _locked(method):
    """Run ``method`` holding the session's lock: a command given from another thread while a frame is being
    computed waits for it, and takes effect at the boundary that frame ends on."""
    @wraps(method)
    def run(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)
    return run


class _Samples(OutputTracker):
    """The job's sampled variables, for the steps before ``stop`` only: the sample at a frame boundary is taken
    when the next frame starts, with the light the commands set there (the ``irradiance`` variable)."""

    stop = 0

    def handle(self, state: State, y: np.ndarray) -> None:
        if state.step < self.stop:
            super().handle(state, y)


class Session:
    """A live, frame-by-frame run of a job spec whose light is steered between frames.

    Parameters
    ----------
    spec
        A job spec (path, text, dict of its JSON form, ``JobSpec`` message or spec object), validated like
        every job. Its ``readout`` must be enabled (the session hands back camera frames) and its frame period
        a whole number of solver steps. Its own light program runs as written; commands add to it. Its
        ``numerics.duration_ms`` is the longest the session may run.
    include_v
        Add the membrane potential on the sheet (``v``, at the end of the frame period) to every frame.

    Examples
    --------
    >>> with Session("examples/planar_wave.json") as s:        # doctest: +SKIP
    ...     frame = s.next_frame()
    ...     s.set_light({"disk": {"center_um": {"x": 200, "y": 200}, "radius_um": 50}}, 1.0)
    ...     ds = s.finish()
    """

    def __init__(self, spec, *, include_v: bool = False) -> None:
        self._lock = threading.RLock()
        self._spec = load_spec(spec)
        if not self._spec.readout.enabled:
            raise SpecError([("readout.enabled", "false is not allowed for a session: it hands back camera "
                                                 "frames; set readout.enabled to true")])
        self.include_v = bool(include_v)
        self._problem = LiveProblem.of(build(self._spec))
        p = self._problem
        self._camera = camera_tracker_for(p)
        self._camera_every = self._camera.interval
        period = self._camera.tracker.camera.frame_period_ms
        q = period / p.dt_ms
        self._frame_steps = int(round(q))
        if self._frame_steps < 1 or abs(q - self._frame_steps) > 1e-9 * max(1.0, q):
            raise SpecError([("readout.camera.frame_rate_hz", f"{self._spec.readout.camera.frame_rate_hz:g} Hz is "
                              f"not allowed for a session: its frame period, {period:g} ms, must be a whole number of "
                              f"steps of numerics.dt_ms = {p.dt_ms:g} ms (a command takes effect at a frame "
                              "boundary)")])
        self._max_frames = p.n_steps // self._frame_steps
        self._state = initial_state(p)
        self._samples = _Samples(p)
        self._baseline = LiveBaseline(self._camera)
        self._frames = FrameBuilder(p, self._camera, include_v=self.include_v)
        self._counts: list[np.ndarray] = []
        self._closed = False
        self.frame_index = 0
        self.commands: list[dict] = []
        self.last_applied_ns: int | None = None   # monotonic clock when the last command joined the program
        self._at_boundary: tuple[int, int | None] = (0, None)

    # ------------------------------------------------------------------ where the run is
    @property
    def frame_period_ms(self) -> float:
        """The camera's frame period (ms): one :meth:`next_frame` advances this much."""
        return self._frame_steps * self._problem.dt_ms

    @property
    def time_ms(self) -> float:
        """Simulated time now (ms), the boundary where frame :attr:`frame_index` starts."""
        return self.frame_index * self._frame_steps * self._problem.dt_ms

    @property
    def shape(self) -> tuple[int, int]:
        """The camera's pixels ``(ny, nx)``: the shape of a frame and of an array pattern."""
        return tuple(self._camera.tracker.reference_shape)

    @property
    def max_frames(self) -> int:
        """Frames the spec's ``numerics.duration_ms`` allows."""
        return self._max_frames

    # ------------------------------------------------------------------ frames
    @_locked
    def next_frame(self) -> xr.Dataset:
        """Advance one frame period and return the frame filmed over it.

        Returns
        -------
        xarray.Dataset
            ``dff`` and ``fluorescence`` on the camera's pixels (``cam_y``, ``cam_x`` in µm), ``v`` on the sheet
            when the session was made with ``include_v``; attributes ``frame`` (index), ``time_ms`` (exposure
            start), ``f0_method`` (``"provisional"`` while the job's baseline frames are still to come: ΔF/F
            against the camera's noiseless reference) and ``left_solver_ns`` (``time.monotonic_ns()`` when the
            frame was done).
        """
        self._check_open()
        k = self.frame_index
        if k >= self._max_frames:
            raise SessionError(f"the session is at the end of its run: numerics.duration_ms = "
                               f"{self._spec.numerics.duration_ms:g} ms holds {self._max_frames} frames")
        p, n = self._problem, self._frame_steps
        self._samples.stop = (k + 1) * n
        self._state = advance(p, self._state, n, trackers=[self._samples, self._camera])
        counts = self._frame(k)
        left = time.monotonic_ns()
        self._left_cpu_ns = time.thread_time_ns()   # for benchmarks: the hand-off's own CPU time, waits left out
        self._counts.append(counts)
        self.frame_index = k + 1
        dff, f0 = self._baseline.dff(k, counts, p)
        v = self._state.y[0] if self.include_v else None
        return self._frames(k, counts, dff, f0, v, left_solver_ns=left)

    def _frame(self, k: int) -> np.ndarray:
        """Frame ``k``'s counts: done at the boundary, or after looking ahead to the camera's next sample."""
        done = self._drain(k)
        if done is None:
            saved = self._camera.get_state()
            ahead = -self._state.step % self._camera_every
            advance(self._problem, self._state, ahead, trackers=[self._camera])
            done = self._drain(k)
            self._camera.set_state(saved)   # the run goes on from the boundary, with the light set there
        if done is None:
            raise RuntimeError(f"the camera did not complete frame {k} by step {self._state.step}")
        return done

    def _drain(self, k: int) -> np.ndarray | None:
        found = None
        for i, counts in zip(*self._camera.tracker.drain()):
            if i == k:
                found = counts
            elif i > k:
                raise RuntimeError(f"the camera completed frame {i} before frame {k} was handed back")
            # i < k: a frame handed back after a look-ahead, filmed again from the boundary
        return found

    # ------------------------------------------------------------------ light
    @_locked
    def set_light(self, pattern, irradiance_mw_per_mm2: float, *, name: str | None = None) -> None:
        """Light ``pattern`` at ``irradiance_mw_per_mm2`` (mW/mm²) from the start of the next frame.

        Parameters
        ----------
        pattern
            A spec ``Pattern`` in its JSON form (a dict, as a ``light[].pattern`` of a spec, or a
            :class:`solver.stimulus.light.Shape`), or a 2-D array of weights in [0, 1] on the camera's pixels
            (shape :attr:`shape`), mapped onto the grid cells each pixel covers.
        irradiance_mw_per_mm2
            Irradiance at weight 1 (mW/mm², >= 0).
        name
            The stimulus's name in the recorded spec (default: ``"command N at frame K"``).

        The command replaces the previous command's light (the spec's own light stays) at the boundary
        :attr:`time_ms`; a second command before the next frame replaces the first, which never takes effect.
        The same pattern and irradiance as the light that is on changes nothing and is not recorded.
        """
        self._check_open()
        irradiance = check_irradiance(irradiance_mw_per_mm2)
        if isinstance(pattern, np.ndarray):
            pattern = camera_raster(pattern, self._problem, self.shape, self._camera.tracker.camera.binning)
        p_obj, p_json = parse_command_pattern(pattern, self._problem)
        key = pattern_key(p_json)
        self._problem.raster(p_obj, key)
        self._undo_unstarted()
        on = self._on()
        if on is not None and on.key == key and on.irradiance == irradiance:
            return
        k = self.frame_index
        name = name if name is not None else f"command {len(self.commands)} at frame {k}"
        self._problem.add(Command(frame=k, start=k * self._frame_steps, pattern_json=p_json, irradiance=irradiance,
                                  name=str(name), key=key))
        self.commands.append({"frame": k, "time_ms": self.time_ms, "pattern": p_json, "irradiance": irradiance})
        self.last_applied_ns = time.monotonic_ns()
        self._applied_cpu_ns = time.thread_time_ns()

    @_locked
    def clear_light(self) -> None:
        """Turn the commanded light off from the start of the next frame (the spec's own light stays)."""
        self._check_open()
        self._undo_unstarted()
        if self._on() is None:
            return
        self._problem.stop(self.frame_index * self._frame_steps)
        self.commands.append({"frame": self.frame_index, "time_ms": self.time_ms, "pattern": None,
                              "irradiance": 0.0})
        self.last_applied_ns = time.monotonic_ns()
        self._applied_cpu_ns = time.thread_time_ns()

    def _on(self) -> Command | None:
        c = self._problem.commands
        return c[-1] if c and c[-1].stop is None else None

    def _undo_unstarted(self) -> None:
        """Undo a command given since the last frame (a later one replaces it before it takes effect), and
        remember the light program as it was at this boundary."""
        cmds = self._problem.commands
        if self.commands and self.commands[-1]["frame"] == self.frame_index:
            self.commands.pop()
            n, stop = self._at_boundary
            del cmds[n:]
            if n:
                cmds[n - 1].stop = stop
            self._problem.refresh()
        self._at_boundary = (len(cmds), cmds[-1].stop if cmds else None)

    # ------------------------------------------------------------------ the record
    @_locked
    def recorded_spec(self) -> dict:
        """The spec (JSON form) with the commands as light stimuli, its duration cut at :attr:`time_ms`.

        Each command that took effect before :attr:`time_ms` is a pulse from the boundary where it took
        effect to the one where the next command replaced it (or :attr:`time_ms`). A valid spec: replaying it
        with :func:`solver.simulate` gives :meth:`finish`'s result bit for bit. File paths in it are relative to
        the original spec's folder.
        """
        if self.frame_index == 0:
            raise SessionError("no frame has run yet: the recorded spec would last 0 ms")
        now = self.frame_index * self._frame_steps
        dt = self._problem.dt_ms
        spec = json.loads(self._spec.json)
        recorded = []
        for c in self._problem.commands:
            if c.start >= now:
                continue
            closed = Command(c.frame, c.start, c.pattern_json, c.irradiance, c.name, c.key,
                             now if c.stop is None or c.stop > now else c.stop)
            recorded.append(closed.stimulus(dt))
        spec["light"] = list(spec.get("light", [])) + recorded
        spec.setdefault("numerics", {})["duration_ms"] = now * dt
        return spec

    @_locked
    def finish(self, store: str | os.PathLike | None = None) -> xr.Dataset:
        """End the run and return its result: what the job of :meth:`recorded_spec` stores.

        Parameters
        ----------
        store
            Write the result into this directory as a Zarr store (default: in memory) and return it opened lazily.
        """
        self._check_open()
        replay = self._replay_problem()
        run = JobRun(replay, one_piece_plan(replay))
        result = open_store(store)
        run.initialise(result)
        steps, arrays = self._samples.arrays()
        final = OutputTracker(replay)
        if self._state.step % replay.sample_every == 0:
            final.handle(self._state, self._state.y)
        last_steps, last = final.arrays()
        steps = np.concatenate([steps, last_steps])
        expected = np.arange(run.plan.n_samples, dtype=np.int64) * replay.sample_every
        if not np.array_equal(steps, expected):
            raise RuntimeError(f"the session sampled steps {steps.tolist()[:8]}..., the job samples "
                               f"{expected.tolist()[:8]}...")
        for name, data in arrays.items():
            result.write(name, np.concatenate([data, last[name]]).astype(OUTPUT_DTYPE, copy=False), 0)
        camera = run._camera()
        n = camera.n_frames()
        for name, first, data in camera.hand_over(np.arange(n, dtype=np.int64), self._counts[:n], final=True):
            result.write(name, data, first)
        run.analyse(result)
        result.finish()
        self.close()
        return result.open_dataset(load=store is None)

    def _replay_problem(self):
        """The recorded spec, validated and built as a job builds it (files relative to the original spec)."""
        msg, _ = parse_proto(self.recorded_spec())
        spec = from_proto(msg, base_dir=self._spec.base_dir)
        check_spec(spec)
        return build(spec)

    # ------------------------------------------------------------------ life cycle
    @_locked
    def close(self) -> None:
        """End the session without storing anything (what :meth:`finish` has not stored is lost)."""
        self._closed = True
        self._samples.arrays()
        self._counts = []

    def _check_open(self) -> None:
        if self._closed:
            raise SessionError("the session is closed")

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"Session(frame {self.frame_index} of {self._max_frames}, t = {self.time_ms:g} ms, "
                f"{len(self.commands)} commands)")
