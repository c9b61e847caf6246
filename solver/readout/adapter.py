"""The camera on the solver's run loop: :class:`CameraTracker` behind ``solver.run.Tracker`` (start / handle).

``advance`` may be called many times for one job (the chunked runner) and calls ``start`` each time, and calls
trackers at both ends of every chunk; the adapter initialises the camera once, and the camera ignores a repeated
sample. Imaging starts at t = 0 of the job, so frame ``k`` always exposes over ``[k·P, k·P + T]``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .camera import Camera, CameraTracker, RunInfo
from .dye import Dye

__all__ = ["RunLoopCamera", "baseline_frames", "camera_tracker_for", "dye_and_camera"]

_BRIGHTNESS_STREAM = 3  # random-field stream of the job seed used for a random brightness map


def dye_and_camera(problem) -> tuple[Dye, Camera]:
    """The readout settings of a built problem (``solver.problem.Problem``), brightness map rasterised."""
    from ..patterns import field_values  # the solver's own field rasteriser, imported late: no import cycle

    spec = problem.spec
    d, c = spec.readout.dye, spec.readout.camera
    brightness = None
    if d.brightness_map is not None:
        brightness = field_values(d.brightness_map, 1.0, problem.ny, problem.nx, problem.dx_um,
                                  rng=np.random.default_rng([spec.seed, _BRIGHTNESS_STREAM]),
                                  base_dir=spec.base_dir)
    dye = Dye(sensitivity_per_100mv=d.sensitivity_per_100mv, v_ref_mv=d.v_ref_mv, bleach_tau_ms=d.bleach_tau_ms,
              brightness=brightness)
    camera = Camera(frame_rate_hz=c.frame_rate_hz, exposure_ms=c.exposure_ms, psf_sigma_um=c.psf_sigma_um,
                    binning=int(c.binning), photons_per_pixel=c.photons_per_pixel, read_noise_e=c.read_noise_e,
                    crosstalk_fraction=c.crosstalk_fraction,
                    imaging_irradiance_mw_per_mm2=c.imaging_irradiance_mw_per_mm2)
    return dye, camera


class RunLoopCamera:
    """A :class:`CameraTracker` with the run loop's interface; V is the first state variable."""

    def __init__(self, tracker: CameraTracker, info: RunInfo) -> None:
        self.tracker = tracker
        self._info = info
        self._interval: int | None = None

    def start(self, problem, state) -> int:
        """Initialise the camera on the first call; return its sampling interval (steps)."""
        if self._interval is None:
            self._interval = self.tracker.initialize(self._info)
        return self._interval

    def handle(self, state, y: np.ndarray) -> None:
        """Film the membrane potential ``y[0]`` at step ``state.step``."""
        self.tracker.handle(state.step, state.step * self._info.dt_ms, y[0])

    def finalize(self) -> dict[str, xr.DataArray]:
        """``fluorescence`` and ``dff`` (see :meth:`CameraTracker.finalize`)."""
        return self.tracker.finalize()


def baseline_frames(problem, camera: Camera, *, most: int = 50) -> int:
    """Complete frames that end before the first light or current stimulus starts (at most ``most``).

    Imaging light that reaches the opsin through crosstalk is constant and is not a stimulus.
    """
    n = min(problem.n_steps, int(np.ceil(most * camera.frame_period_ms / problem.dt_ms)) + 1)
    light, current = problem.stimulus_factors(0, n)
    on = np.flatnonzero(np.any(light != 0, axis=1) | np.any(current != 0, axis=1))
    onset_ms = on[0] * problem.dt_ms if on.size else n * problem.dt_ms
    frames = int(np.floor((onset_ms - camera.exposure_time_ms) / camera.frame_period_ms + 1e-9)) + 1
    return int(min(max(frames, 0), most))


def camera_tracker_for(problem) -> RunLoopCamera:
    """The camera tracker for a built problem whose spec enables the readout (seeded by the job's seed).

    ΔF/F uses the frames before the first stimulus as F0, as a lab does; with fewer than three such frames it
    uses the noiseless baseline at V_ref (see :mod:`solver.readout.camera`).
    """
    dye, camera = dye_and_camera(problem)
    info = RunInfo(ny=problem.ny, nx=problem.nx, dx_um=problem.dx_um, dt_ms=problem.dt_ms,
                   n_steps=problem.n_steps, mask=np.asarray(problem.active, np.uint8), t0_ms=0.0)
    quiet = baseline_frames(problem, camera)
    f0 = {"f0": "first_frames", "f0_frames": quiet} if quiet >= 3 else {"f0": "reference"}
    return RunLoopCamera(CameraTracker(dye, camera, seed=int(problem.spec.seed), **f0), info)
