"""The camera on the solver's run loop: :class:`CameraTracker` behind the job tracker interface of
:mod:`solver.engine.job` (start / handle / take / get_state / set_state).

``advance`` is called once per chunk of a job and calls ``start`` each time; the adapter initialises the camera
once, and the camera ignores a repeated sample (a chunk's first step is the last one's end). Its state travels
with each chunk's checkpoint. Imaging starts at t = 0 of the job, so frame ``k`` always exposes over
``[k·P, k·P + T]``.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from .camera import Camera, CameraTracker, RunInfo
from .dye import Dye

__all__ = ["RunLoopCamera", "baseline_frames", "camera_tracker_for", "dye_and_camera"]

_BRIGHTNESS_STREAM = 3  # random-field stream of the job seed used for a random brightness map


def dye_and_camera(problem) -> tuple[Dye, Camera]:
    """The readout settings of a built problem (``solver.engine.problem.Problem``), brightness map rasterised."""
    from ..stimulus.patterns import field_values  # the solver's own field rasteriser, imported late: no import cycle

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
    """A :class:`CameraTracker` on the run loop (V is the first state variable), filming a job chunk by chunk.

    Imaging starts at t = 0 of the job: frame ``k`` exposes over ``[k·P, k·P + T]``. The tracker sees the state
    only at multiples of its own interval, wherever the run is cut, so a run cut into chunks films the same
    movie as the uncut run. :meth:`take` hands over the frames done so far in whole store chunks of
    ``frames_per_chunk`` frames (the rest waits in the tracker's state), ΔF/F once F0 is known.
    """

    def __init__(self, tracker: CameraTracker, info: RunInfo, *, frames_per_chunk: int = 1) -> None:
        self.tracker = tracker
        self._info = info
        self._interval: int | None = None
        self.frames_per_chunk = max(1, int(frames_per_chunk))
        self._held: list[np.ndarray] = []        # counts not handed over yet
        self._held_dff: list[np.ndarray] = []    # dF/F not handed over yet
        self._f0_wait: list[np.ndarray] = []     # bleach-corrected frames waiting for F0
        self._f0: np.ndarray | None = None
        self._written = np.zeros(2, np.int64)    # frames handed over: counts, dF/F

    def start(self, problem, state) -> int:
        """Initialise the camera on the first call; return its sampling interval (steps)."""
        if self._interval is None:
            self._interval = self.tracker.initialize(self._info)
        return self._interval

    def handle(self, state, y: np.ndarray) -> None:
        """Film the membrane potential ``y[0]`` at step ``state.step``."""
        self.tracker.handle(state.step, state.step * self._info.dt_ms, y[0])

    @property
    def interval(self) -> int:
        if self._interval is None:
            self._interval = self.tracker.initialize(self._info)
        return self._interval

    def n_frames(self) -> int:
        """Frames the whole run films: those whose exposure ends by the camera's last look at the state."""
        cam = self.tracker.camera
        period, expo = cam.frame_period_ms, cam.exposure_time_ms
        h = self.interval
        t_last = (self._info.n_steps // h) * h * self._info.dt_ms
        tol = 1e-9 * period
        if t_last + tol < expo:
            return 0
        n = int(math.floor((t_last + tol - expo) / period)) + 1
        while n > 0 and (n - 1) * period + expo > t_last + tol:   # the tracker's own test decides
            n -= 1
        while n * period + expo <= t_last + tol:
            n += 1
        return n

    def take(self, *, final: bool) -> list[tuple[str, int, np.ndarray]]:
        """``(variable, first frame, frames)`` to store: whole store chunks, and all the rest when ``final``."""
        k, counts = self.tracker.drain()
        return self.hand_over(k, counts, final=final)

    def hand_over(self, k: np.ndarray, counts: list[np.ndarray], *, final: bool) -> list[tuple[str, int, np.ndarray]]:
        """:meth:`take` for frames ``k`` filmed elsewhere (a live session's camera): their counts, ΔF/F once F0
        is known, in whole store chunks (all the rest when ``final``)."""
        if counts:
            stack = np.stack(counts)
            self._held.extend(counts)
            corrected = self.tracker.corrected(stack, self.tracker.frame_starts(k))
            if self._f0 is None:
                self._f0_wait.extend(corrected)
                if self.tracker.f0_method == "reference" or len(self._f0_wait) >= self.tracker.f0_frames:
                    self._release_f0()
            else:
                self._held_dff.extend(self.tracker.dff(corrected, self._f0))
        if final and self._f0 is None and self._f0_wait:
            self._release_f0()
        out = []
        for i, (name, held) in enumerate((("fluorescence", self._held), ("dff", self._held_dff))):
            n = len(held) if final else len(held) // self.frames_per_chunk * self.frames_per_chunk
            if n:
                out.append((name, int(self._written[i]), np.stack(held[:n])))
                del held[:n]
                self._written[i] += n
        return out

    def _release_f0(self) -> None:
        waiting = np.stack(self._f0_wait)
        self._f0 = self.tracker.baseline(waiting)
        self._held_dff.extend(self.tracker.dff(waiting, self._f0))
        self._f0_wait = []

    def get_state(self) -> dict[str, np.ndarray]:
        """The camera's state and the frames not handed over yet (see :meth:`take`)."""
        shape = self.tracker.reference_shape
        stack = lambda frames: np.stack(frames) if frames else np.zeros((0, *shape), np.float32)  # noqa: E731
        return {**{f"camera_{k}": v for k, v in self.tracker.get_state().items()},
                "held": stack(self._held), "held_dff": stack(self._held_dff), "f0_wait": stack(self._f0_wait),
                "f0": self._f0 if self._f0 is not None else np.zeros((0, *shape)), "written": self._written.copy()}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Continue from :meth:`get_state` (the camera is initialised first)."""
        self.interval  # noqa: B018 - initialise before restoring
        self.tracker.set_state({k[len("camera_"):]: v for k, v in state.items() if k.startswith("camera_")})
        self._held = list(np.array(state["held"], dtype=np.float32))
        self._held_dff = list(np.array(state["held_dff"], dtype=np.float32))
        self._f0_wait = list(np.array(state["f0_wait"], dtype=np.float32))
        f0 = np.array(state["f0"])
        self._f0 = f0 if f0.ndim == 2 else None
        self._written = np.array(state["written"], dtype=np.int64)

    def finalize(self) -> dict[str, xr.DataArray]:
        """``fluorescence`` and ``dff`` of an uncut run filmed without :meth:`take` (see
        :meth:`CameraTracker.finalize`)."""
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


def camera_tracker_for(problem, *, frames_per_chunk: int = 1) -> RunLoopCamera:
    """The camera tracker for a built problem whose spec enables the readout (seeded by the job's seed).

    ΔF/F uses the frames before the first stimulus as F0, as a lab does; with fewer than three such frames it
    uses the noiseless baseline at V_ref (see :mod:`solver.readout.camera`).
    """
    dye, camera = dye_and_camera(problem)
    info = RunInfo(ny=problem.ny, nx=problem.nx, dx_um=problem.dx_um, dt_ms=problem.dt_ms,
                   n_steps=problem.n_steps, mask=np.asarray(problem.active, np.uint8), t0_ms=0.0)
    quiet = baseline_frames(problem, camera)
    f0 = {"f0": "first_frames", "f0_frames": quiet} if quiet >= 3 else {"f0": "reference"}
    return RunLoopCamera(CameraTracker(dye, camera, seed=int(problem.spec.seed), **f0), info,
                         frames_per_chunk=frames_per_chunk)
