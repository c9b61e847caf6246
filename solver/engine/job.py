"""One job, chunk by chunk, into its result store: the run loop, its trackers, their state, the analysis.

Every path runs a job through :class:`JobRun`: :func:`solver.simulate` in one piece into a memory store, the
chunked runner chunk by chunk on Dask workers or here, behind the service too. So whatever a job asks for
(samples of the state, the camera, the analysis maps) comes out the same on every path, and a run cut
anywhere, or killed and resumed from its last checkpoint, writes the store the uncut run writes.

A chunk's work: restore the state and the trackers' states from the checkpoint, advance, hand each tracker's
output to the store (whole store chunks), and return the new checkpoint (the solver state with every
tracker's state, :func:`encode_checkpoint`) and the CRC32C of every store chunk written. The last chunk also
writes what the trackers still hold and the analysis maps.
"""
from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from optowave.store import ArraySpec, Layout, ResultStore, spatial_chunks

from .chunks import ChunkPlan
from .problem import Problem
from .result import OUTPUT_DTYPE, OutputTracker, attributes, output_names, variable_attrs
from .run import State, advance

__all__ = ["ChunkOutcome", "JobRun", "decode_checkpoint", "encode_checkpoint", "one_piece_plan"]

_STATE_KEYS = ("step", "y")


def encode_checkpoint(state: State, trackers: dict[str, dict[str, np.ndarray]] | None = None) -> bytes:
    """The solver state and the trackers' states as one exact ``.npz``."""
    arrays = {"step": np.int64(state.step), "y": state.y}
    for name, tstate in (trackers or {}).items():
        for key, value in tstate.items():
            arrays[f"{name}.{key}"] = np.asarray(value)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def decode_checkpoint(data: bytes) -> tuple[State, dict[str, dict[str, np.ndarray]]]:
    """Inverse of :func:`encode_checkpoint` (a plain :meth:`State.to_bytes` has no tracker states)."""
    trackers: dict[str, dict[str, np.ndarray]] = {}
    with np.load(io.BytesIO(data)) as f:
        state = State(int(f["step"]), f["y"].copy())
        for key in f.files:
            if key not in _STATE_KEYS:
                name, _, part = key.partition(".")
                trackers.setdefault(name, {})[part] = f[key].copy()
    return state, trackers


def one_piece_plan(problem: Problem) -> ChunkPlan:
    """The plan of an uncut run: one chunk over the whole run."""
    every = problem.sample_every
    steps = max(every, math.ceil(problem.n_steps / every) * every)
    return ChunkPlan(n_steps=problem.n_steps, chunk_steps=steps, sample_every=every,
                     n_samples=problem.n_steps // every + 1, dt_ms=problem.dt_ms)


@dataclass(frozen=True)
class ChunkOutcome:
    """What a chunk did: the checkpoint to continue from, the store chunks it wrote, its compute time."""

    checkpoint: bytes
    step: int
    written: dict[str, int]      # store key -> CRC32C
    compute_s: float


class SampleTracker(OutputTracker):
    """The sampled state variables of chunk ``k``: its samples ``[i0, i1)`` of the job's time axis.

    The chunk's first sample is its start step; the step that ends a chunk is the next chunk's first sample,
    except at the end of the run. Holds nothing between chunks (its state is empty).
    """

    def __init__(self, problem: Problem, plan: ChunkPlan, k: int) -> None:
        super().__init__(problem)
        self.plan, self.k = plan, k

    def take(self, *, final: bool) -> list[tuple[str, int, np.ndarray]]:
        steps, arrays = self.arrays()
        start, stop = self.plan.steps(self.k)
        i0, i1 = self.plan.samples(self.k)
        keep = steps < stop if not final else np.ones(steps.size, bool)
        if not np.array_equal(steps[keep], np.arange(i0, i1) * self.plan.sample_every):
            raise RuntimeError(f"chunk {self.k} sampled steps {steps[keep].tolist()}, expected samples "
                               f"{i0}..{i1 - 1}")
        return [(name, i0, a[keep]) for name, a in arrays.items()] if i1 > i0 else []

    def get_state(self) -> dict[str, np.ndarray]:
        return {}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        pass


class JobRun:
    """The trackers of one job and what they write into its store (see the module notes).

    Every tracker of a job has the run loop's ``start`` / ``handle``, and ``take(final=...)`` (its output
    for the store as ``(variable, first index, array)``), ``get_state()`` and ``set_state(state)`` (arrays
    saved with the chunk's checkpoint, restored bit for bit).
    """

    def __init__(self, problem: Problem, plan: ChunkPlan) -> None:
        self.problem, self.plan = problem, plan
        self.names = output_names(problem)
        self.camera_on = bool(problem.spec.readout.enabled)
        self.frames_per_chunk = 1
        if self.camera_on:
            period = 1000.0 / problem.spec.readout.camera.frame_rate_hz
            self.frames_per_chunk = max(1, int(round(plan.chunk_ms / period)))

    # ------------------------------------------------------------------ layout
    def _camera(self):
        from ..readout import camera_tracker_for

        camera = camera_tracker_for(self.problem, frames_per_chunk=self.frames_per_chunk)
        camera.interval  # noqa: B018 - initialise the camera (it knows its pixels and frames from then on)
        return camera

    def layout(self) -> Layout:
        """The job's arrays before it runs (analysis maps are added at the end)."""
        p, plan = self.problem, self.plan
        space = spatial_chunks((p.ny, p.nx))
        n_t = plan.n_samples
        arrays = [
            ArraySpec("time", ("time",), (n_t,), (max(1, n_t),), "<f8", {"units": "ms", "long_name": "time"}),
            ArraySpec("y", ("y",), (p.ny,), (p.ny,), "<f8", {"units": "um", "long_name": "y"}),
            ArraySpec("x", ("x",), (p.nx,), (p.nx,), "<f8", {"units": "um", "long_name": "x"}),
            ArraySpec("mask", ("y", "x"), (p.ny, p.nx), space, "|u1",
                      {"units": "1", "long_name": "tissue mask (1 = cells)"}),
            ArraySpec("diffusivity", ("y", "x"), (p.ny, p.nx), space, "<f4",
                      {"units": "um2/ms", "long_name": "diffusivity"}),
        ]
        tc = plan.time_chunk
        for name in self.names:
            arrays.append(ArraySpec(name, ("time", "y", "x"), (n_t, p.ny, p.nx), (tc, *space),
                                    np.dtype(OUTPUT_DTYPE).str, variable_attrs(p, name)))
        if self.camera_on:
            arrays += self._camera_arrays()
        return Layout(tuple(arrays), attributes(p))

    def _camera_arrays(self) -> list[ArraySpec]:
        cam = self._camera()
        n = cam.n_frames()
        tracker = cam.tracker
        ny_c, nx_c = tracker.reference_shape
        space = spatial_chunks((ny_c, nx_c))
        fc = max(1, min(self.frames_per_chunk, n))
        movie = {**tracker.attributes(), "coordinates": "frame_time exposure_start"}
        return [
            ArraySpec("frame", ("frame",), (n,), (max(1, n),), "<i8", {"units": "1", "long_name": "frame index"}),
            ArraySpec("frame_time", ("frame",), (n,), (max(1, n),), "<f8",
                      {"units": "ms", "long_name": "exposure mid-point time"}),
            ArraySpec("exposure_start", ("frame",), (n,), (max(1, n),), "<f8",
                      {"units": "ms", "long_name": "exposure start time"}),
            ArraySpec("cam_y", ("cam_y",), (ny_c,), (ny_c,), "<f8",
                      {"units": "µm", "long_name": "camera pixel centre y"}),
            ArraySpec("cam_x", ("cam_x",), (nx_c,), (nx_c,), "<f8",
                      {"units": "µm", "long_name": "camera pixel centre x"}),
            ArraySpec("fluorescence", ("frame", "cam_y", "cam_x"), (n, ny_c, nx_c), (fc, *space), "<f4",
                      {**movie, "units": "count",
                       "long_name": "camera counts (photo-electrons incl. shot and read noise)"}),
            ArraySpec("dff", ("frame", "cam_y", "cam_x"), (n, ny_c, nx_c), (fc, *space), "<f4",
                      {**movie, "units": "1", "long_name": "fractional fluorescence change dF/F0"}),
        ]

    def initialise(self, store: ResultStore) -> dict[str, int]:
        """Lay out ``store`` and write what is known before the run (coordinates, mask, diffusivity)."""
        p = self.problem
        layout = self.layout()
        store.create(layout)
        dx = p.dx_um
        steps = np.arange(self.plan.n_samples, dtype=np.int64) * self.plan.sample_every
        static = {
            "time": steps * p.dt_ms,
            "y": (np.arange(p.ny) + 0.5) * dx,
            "x": (np.arange(p.nx) + 0.5) * dx,
            "mask": p.active.astype(np.uint8),
            "diffusivity": p.diffusivity.astype(OUTPUT_DTYPE),
        }
        if self.camera_on:
            cam = self._camera()
            tracker = cam.tracker
            k = np.arange(layout["frame"].shape[0], dtype=np.int64)
            start = tracker.frame_starts(k) if k.size else np.zeros(0)
            ny_c, nx_c = tracker.reference_shape
            pitch = tracker.camera.binning * dx
            static.update(frame=k, frame_time=start + 0.5 * tracker.camera.exposure_time_ms, exposure_start=start,
                          cam_y=(np.arange(ny_c) + 0.5) * pitch, cam_x=(np.arange(nx_c) + 0.5) * pitch)
        written: dict[str, int] = {}
        for name, values in static.items():
            if np.size(values):
                written.update(store.write(name, values))
        store.consolidate()
        return written

    # ------------------------------------------------------------------ running
    def run_chunk(self, k: int, checkpoint: bytes, store: ResultStore, *, extra_trackers: Sequence = (),
                  progress: Callable[[int], None] | None = None) -> ChunkOutcome:
        """Advance chunk ``k`` from ``checkpoint`` and write its output into ``store``."""
        p, plan = self.problem, self.plan
        state, tstates = decode_checkpoint(checkpoint)
        start, stop = plan.steps(k)
        if state.step != start:
            raise ValueError(f"the checkpoint is at step {state.step}; chunk {k} starts at step {start}")
        last = k == plan.n_chunks - 1
        trackers = {"samples": SampleTracker(p, plan, k)}
        if self.camera_on:
            trackers["camera"] = self._camera()
        for name, tracker in trackers.items():
            if name in tstates:
                tracker.set_state(tstates[name])
        t0 = time.perf_counter()
        new = advance(p, state, stop - start, trackers=[*trackers.values(), *extra_trackers], progress=progress)
        compute_s = time.perf_counter() - t0

        written: dict[str, int] = {}
        for tracker in trackers.values():
            for name, first, data in tracker.take(final=last):
                written.update(store.write(name, data, first))
        new_states = {name: tracker.get_state() for name, tracker in trackers.items()}
        if last:
            written.update(self.analyse(store))
        return ChunkOutcome(encode_checkpoint(new, new_states), new.step, written, compute_s)

    def run(self, store: ResultStore, initial: State, *, extra_trackers: Sequence = (),
            progress: Callable[[int], None] | None = None) -> dict[str, int]:
        """Run every chunk here, one after the other (the in-process path); returns the keys written."""
        written = self.initialise(store)
        checkpoint = encode_checkpoint(initial)
        for k in range(self.plan.n_chunks):
            outcome = self.run_chunk(k, checkpoint, store, extra_trackers=extra_trackers, progress=progress)
            checkpoint = outcome.checkpoint
            written.update(outcome.written)
        store.finish()
        return written

    # ------------------------------------------------------------------ analysis
    def analysis_sources(self) -> tuple[str, ...]:
        a = self.problem.spec.analysis
        if not a.enabled:
            return ()
        if a.sources is not None:
            return tuple(a.sources)
        return tuple(s for s, on in (("v", "v" in self.names), ("dff", self.camera_on)) if on)

    def analyse(self, store: ResultStore) -> dict[str, int]:
        """Measure the stored movies (``analysis`` block of the spec) and add the maps to ``store``."""
        sources = self.analysis_sources()
        if not sources:
            return {}
        from ..analysis import analyse_blocked

        a = self.problem.spec.analysis
        ds = store.open_dataset()
        written: dict[str, int] = {}
        for source in sources:
            maps = analyse_blocked(ds, source=source, threshold=a.threshold, tip_stride=a.tip_stride,
                                   frequency="dominant_frequency" in a.measures,
                                   tips="phase_singularities" in a.measures)
            maps = {n: m for n, m in maps.items() if _wanted(n, a.measures)}
            specs = [ArraySpec(n, tuple(m.dims), tuple(m.shape),
                               tuple(spatial_chunks(m.shape)) if m.ndim == 2 else tuple(max(1, s) for s in m.shape),
                               np.dtype(m.dtype).newbyteorder("<").str if np.dtype(m.dtype).itemsize > 1
                               else np.dtype(m.dtype).str, dict(m.attrs))
                     for n, m in maps.items()]
            store.add_arrays(specs)
            for n, m in maps.items():
                if m.size or m.ndim == 0:
                    written.update(store.write(n, np.asarray(m.values)))
        store.consolidate()
        return written


_MEASURE_OF = {"conduction_velocity": "conduction_velocity", "apd50": "apd", "apd90": "apd",
               "fraction_activated": "fraction_activated", "dominant_frequency": "dominant_frequency",
               "spiral_tip": "phase_singularities"}


def _wanted(name: str, measures: Sequence[str]) -> bool:
    """Whether map ``name`` (``dff_`` prefix allowed) belongs to a requested measure; activation always does."""
    base = name[4:] if name.startswith("dff_") else name
    for prefix, measure in _MEASURE_OF.items():
        if base.startswith(prefix):
            return measure in measures
    return True

