"""What a job will cost before it runs: cell-steps, bytes, seconds."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .problem import Problem
from .result import OUTPUT_DTYPE, sample_steps

#: Nominal throughput (cell-steps per second per core) used for the time estimate; measured
#: with ``optowave bench`` on a 2-core x86-64 machine (float64). Real figures vary by machine.
NOMINAL_RATE = {
    "hek_gokhale2017_35c": 2.0e7,
    "hek_gokhale2017_23c": 2.0e7,
    "hek_bistable": 2.5e7,
    "nagumo": 2.0e8,
    "fitzhugh_nagumo": 1.5e8,
    "aliev_panfilov": 1.2e8,
}


@dataclass(frozen=True)
class Cost:
    cell_steps: int        # tissue cells × time steps
    output_bytes: int      # stored result, uncompressed
    state_bytes: int       # memory of the state double buffer and maps
    seconds: float         # on `cores` cores at the nominal rate

    def describe(self) -> str:
        return (f"{self.cell_steps:.3e} cell-steps, {self.output_bytes / 2**20:.1f} MiB of output, "
                f"{self.state_bytes / 2**20:.1f} MiB of state, about {self.seconds:.3g} s")


def estimate(problem: Problem, *, cores: int | None = None) -> Cost:
    """Estimate the cost of running ``problem`` on ``cores`` cores (default: this machine's)."""
    import os

    cores = cores or os.cpu_count() or 1
    n_active = int(problem.active.sum())
    cell_steps = n_active * problem.n_steps
    n_samples = len(sample_steps(problem))
    per_frame = problem.ny * problem.nx * np.dtype(OUTPUT_DTYPE).itemsize
    output_bytes = n_samples * per_frame * len(problem.spec.output.variables)
    readout = problem.spec.readout
    if readout.enabled:   # fluorescence and dF/F, float32, on the binned camera pixels
        frames = int(problem.n_steps * problem.dt_ms * readout.camera.frame_rate_hz / 1000.0)
        b = max(1, int(readout.camera.binning))
        output_bytes += 2 * frames * (problem.ny // b) * (problem.nx // b) * np.dtype(np.float32).itemsize
    state_bytes = 2 * problem.initial.nbytes + (problem.wx.nbytes * 2) + problem.pmaps.nbytes + 3 * problem.gop.nbytes
    rate = NOMINAL_RATE.get(problem.model.name, 2e7) * (1.6 if problem.dtype == np.float32 else 1.0)
    # a second-order step is two stages, each about a first-order step's work
    return Cost(cell_steps, output_bytes, state_bytes, cell_steps * problem.time_order / (rate * cores))
