"""How a run is cut into time chunks: one chunk is one Dask task, one checkpoint and one Zarr chunk.

Chunk ``k`` advances steps ``[k·C, (k+1)·C)`` (the last one to the end of the run) and writes the
output samples whose steps fall in that range; the last chunk also writes the final sample. With
``C`` a whole number of sample intervals, chunk ``k`` fills exactly Zarr chunk ``k`` along time
(the last may spill one sample, the final one, into a last partial Zarr chunk): every stored chunk
is written by one time chunk, once.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .cost import NOMINAL_RATE
from .problem import Problem
from .result import OUTPUT_DTYPE
from ..spec import SpecError

#: Default chunk length aims at this much compute per chunk (seconds on one core at the nominal
#: rate of :mod:`solver.engine.cost`): long enough that the per-chunk write, checkpoint and task overhead
#: (tens of ms) stays a few per cent, short enough that a lost worker costs little.
TARGET_CHUNK_SECONDS = 2.0
#: ... and at most this much buffered output per chunk (bytes).
MAX_CHUNK_OUTPUT_BYTES = 256 * 2**20


@dataclass(frozen=True)
class ChunkPlan:
    """The cut of a run into time chunks (all counts in solver steps or output samples)."""

    n_steps: int          # steps in the whole run
    chunk_steps: int      # steps per chunk (the last chunk may be shorter)
    sample_every: int     # steps between output samples
    n_samples: int        # output samples in the run (t = 0 included)
    dt_ms: float

    @property
    def n_chunks(self) -> int:
        return max(1, math.ceil(self.n_steps / self.chunk_steps))

    @property
    def samples_per_chunk(self) -> int:
        """Output samples per chunk: the Zarr chunk length along time."""
        return self.chunk_steps // self.sample_every

    @property
    def time_chunk(self) -> int:
        """The Zarr chunk length along time (at most the whole run)."""
        return max(1, min(self.samples_per_chunk, self.n_samples))

    @property
    def chunk_ms(self) -> float:
        return self.chunk_steps * self.dt_ms

    def steps(self, k: int) -> tuple[int, int]:
        """Steps ``[start, stop)`` that chunk ``k`` advances over."""
        self._check(k)
        return k * self.chunk_steps, min((k + 1) * self.chunk_steps, self.n_steps)

    def samples(self, k: int) -> tuple[int, int]:
        """Sample indices ``[start, stop)`` that chunk ``k`` writes."""
        self._check(k)
        start = k * self.samples_per_chunk
        stop = self.n_samples if k == self.n_chunks - 1 else (k + 1) * self.samples_per_chunk
        return start, stop

    def to_dict(self) -> dict:
        return {"n_steps": self.n_steps, "chunk_steps": self.chunk_steps, "sample_every": self.sample_every,
                "n_samples": self.n_samples, "dt_ms": self.dt_ms}

    def _check(self, k: int) -> None:
        if not 0 <= k < self.n_chunks:
            raise IndexError(f"chunk {k} is out of range; the run has chunks 0..{self.n_chunks - 1}")


def plan_chunks(problem: Problem, chunk_ms: float | None = None) -> ChunkPlan:
    """Cut ``problem`` into time chunks of ``chunk_ms`` (default: the spec's ``numerics.chunk_ms``,
    else :func:`default_chunk_steps`).

    Raises
    ------
    SpecError
        Naming ``numerics.chunk_ms`` when the chunk is not a positive whole number of output
        sample intervals (one time chunk must be one Zarr chunk).
    """
    dt, every = problem.dt_ms, problem.sample_every
    n_samples = problem.n_steps // every + 1
    given = chunk_ms if chunk_ms is not None else problem.spec.numerics.chunk_ms
    if given is None:
        steps = default_chunk_steps(problem)
    else:
        field = "numerics.chunk_ms"
        if not (isinstance(given, (int, float)) and math.isfinite(given) and given > 0):
            raise SpecError([(field, f"{given!r} is not allowed; must be a finite number > 0 ms")])
        q = given / dt
        steps = int(round(q))
        if steps < 1 or abs(q - steps) > 1e-6 * max(1.0, q):
            raise SpecError([(field, f"{given:g} ms is not a whole number of steps of dt_ms = {dt:g} ms")])
        if steps % every:
            hint = max(1, round(steps / every)) * every * dt
            raise SpecError([(field, f"{given:g} ms is not a whole number of output samples "
                                     f"(output.sample_interval_ms = {every * dt:g} ms): one time chunk is one "
                                     f"Zarr chunk; use a multiple such as {hint:g} ms")])
    return ChunkPlan(n_steps=problem.n_steps, chunk_steps=int(steps), sample_every=every, n_samples=n_samples,
                     dt_ms=dt)


def default_chunk_steps(problem: Problem) -> int:
    """Steps per chunk when the spec gives none: about :data:`TARGET_CHUNK_SECONDS` of compute,
    at most :data:`MAX_CHUNK_OUTPUT_BYTES` of output, a whole number of sample intervals, and no
    longer than the run."""
    every = problem.sample_every
    n_active = max(1, int(problem.active.sum()))
    rate = NOMINAL_RATE.get(problem.model.name, 2.0e7)
    steps = rate * TARGET_CHUNK_SECONDS / n_active
    frame_bytes = problem.ny * problem.nx * np.dtype(OUTPUT_DTYPE).itemsize * max(1, len(problem.spec.output.variables))
    max_samples = max(1, MAX_CHUNK_OUTPUT_BYTES // frame_bytes)
    samples = min(max(1, math.ceil(steps / every)), max_samples)
    whole_run = math.ceil(problem.n_steps / every)
    return int(min(samples, max(1, whole_run)) * every)
