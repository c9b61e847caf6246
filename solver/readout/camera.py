"""The camera that watches the dye: exposure integration, PSF, binning, photo-electrons, noise, ΔF/F.

Frame ``k`` exposes over ``[t0 + k·P, t0 + k·P + T]`` (P = 1000/frame_rate_hz ms, T = exposure), independent of
the solver's dt. Over each exposure the relative fluorescence of every grid cell is integrated by the trapezoid
rule over the samples the camera asked for, the samples being joined by straight lines (so a linear V ramp gives
exactly its mean over the exposure, wherever the window edges fall between samples). Then each frame is blurred
by the Gaussian PSF (photons conserved), binned, scaled to photo-electrons, and given Poisson shot noise and
Gaussian read noise. The noise of frame ``k`` comes from a counter-based generator (Philox) keyed by the job's
seed with the counter at ``k`` (:func:`frame_rng`), so a frame's noise does not depend on which frames were
filmed before it in the same process: a run cut into chunks films the same movie.

Conventions written into the output's attributes:

- ``frame_time`` is the exposure mid-point (ms); a signal linear over the exposure reads its value there.
- ``photons_per_pixel`` is the mean photo-electrons per camera pixel (after binning) per frame, at relative
  brightness 1, V = V_ref and no bleaching.
- ΔF/F = F/F0 − 1 with F0 per pixel, after dividing every frame by the dye's known bleaching factor (a lab fits
  that exponential; here it is known). Default ``f0="first_frames"``, what a lab does: the mean of the first
  ``f0_frames`` frames, the baseline recorded before stimulating. ``f0="median"``: the per-pixel median over
  the movie, the resting level where the tissue rests more than half the time. ``f0="reference"``: the
  noiseless baseline at V = V_ref (no noise in F0; ΔF/F reads s·(V − V_ref)/100 mV), for records with no quiet
  start. :func:`solver.readout.camera_tracker_for` picks the frames before the first stimulus, or the
  reference when fewer than three precede it. Camera pixels less than half covered by tissue have ΔF/F = NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import xarray as xr
from numba import njit

from ._checks import check_int, check_real
from ._optics import add_noise, bin_pixels, blur, psf_kernel
from .dye import Dye

__all__ = ["Camera", "RunInfo", "CameraTracker", "frame_rng", "record_movie", "observe"]

_F0_METHODS = ("first_frames", "median", "reference")
_NOISE_STREAM = 0x0F_CA3E  # second word of the Philox key: the camera noise stream of a job seed


def frame_rng(seed: int, frame: int) -> np.random.Generator:
    """The noise generator of frame ``frame``: Philox keyed by ``(seed, camera stream)``, counter at the frame.

    Each frame owns the counter block ``[0, 0, frame, 0]`` onwards; a frame draws far fewer than 2^64
    blocks, so frames never share random numbers.
    """
    key = np.array([int(seed) & 0xFFFF_FFFF_FFFF_FFFF, _NOISE_STREAM], dtype=np.uint64)
    counter = np.array([0, 0, int(frame), 0], dtype=np.uint64)
    return np.random.Generator(np.random.Philox(key=key, counter=counter))


@dataclass(frozen=True)
class Camera:
    """Settings of the camera (field names mirror the ``optowave.v1.Camera`` message).

    Parameters
    ----------
    frame_rate_hz : float
        Frames per second.
    exposure_ms : float or None
        Exposure per frame (ms); None means the whole frame period, 1000/frame_rate_hz.
    psf_sigma_um : float
        Standard deviation of the Gaussian point-spread function at the sample (µm); 0 = sharp.
    binning : int
        Grid cells per camera pixel, per side.
    photons_per_pixel : float
        Mean photo-electrons per camera pixel (after binning) per frame at F0 and V = V_ref.
    read_noise_e : float
        Gaussian read noise (electrons rms).
    crosstalk_fraction : float
        Fraction of the imaging light that drives the opsin (used by the light model, not by the camera).
    imaging_irradiance_mw_per_mm2 : float
        Imaging light at the sample (mW/mm²), for the crosstalk above.
    """

    frame_rate_hz: float = 500.0
    exposure_ms: float | None = None
    psf_sigma_um: float = 0.0
    binning: int = 1
    photons_per_pixel: float = 1000.0
    read_noise_e: float = 2.0
    crosstalk_fraction: float = 0.0
    imaging_irradiance_mw_per_mm2: float = 0.0

    @property
    def frame_period_ms(self) -> float:
        """Time between frame starts (ms)."""
        return 1000.0 / self.frame_rate_hz

    @property
    def exposure_time_ms(self) -> float:
        """The exposure actually used (ms): ``exposure_ms`` or the whole frame period."""
        return self.frame_period_ms if self.exposure_ms is None else float(self.exposure_ms)

    @property
    def opsin_irradiance_mw_per_mm2(self) -> float:
        """Imaging irradiance seen by the opsin: crosstalk_fraction × imaging_irradiance (mW/mm²)."""
        return self.crosstalk_fraction * self.imaging_irradiance_mw_per_mm2

    def validate(self) -> None:
        """Raise ``ValueError``/``TypeError`` naming the first bad field, its value and the allowed range."""
        rate = check_real("camera.frame_rate_hz", self.frame_rate_hz, low=0.0, low_open=True, high=1e6)
        if self.exposure_ms is not None:
            check_real("camera.exposure_ms", self.exposure_ms, low=0.0, low_open=True, high=1000.0 / rate,
                       why="the frame period 1000/frame_rate_hz")
        check_real("camera.psf_sigma_um", self.psf_sigma_um, low=0.0)
        check_int("camera.binning", self.binning, low=1)
        check_real("camera.photons_per_pixel", self.photons_per_pixel, low=0.0, low_open=True)
        check_real("camera.read_noise_e", self.read_noise_e, low=0.0)
        check_real("camera.crosstalk_fraction", self.crosstalk_fraction, low=0.0, high=1.0)
        check_real("camera.imaging_irradiance_mw_per_mm2", self.imaging_irradiance_mw_per_mm2, low=0.0)

    def to_dict(self) -> dict[str, float | int]:
        """The settings as JSON-friendly attributes, exposure resolved."""
        return {
            "frame_rate_hz": float(self.frame_rate_hz), "exposure_ms": self.exposure_time_ms,
            "psf_sigma_um": float(self.psf_sigma_um), "binning": int(self.binning),
            "photons_per_pixel": float(self.photons_per_pixel), "read_noise_e": float(self.read_noise_e),
            "crosstalk_fraction": float(self.crosstalk_fraction),
            "imaging_irradiance_mw_per_mm2": float(self.imaging_irradiance_mw_per_mm2),
        }


@dataclass(frozen=True, eq=False)
class RunInfo:
    """What a tracker learns about a run before it starts (grid, step, length, tissue mask, start time)."""

    ny: int
    nx: int
    dx_um: float
    dt_ms: float
    n_steps: int
    mask: np.ndarray
    t0_ms: float = 0.0


@njit(cache=True)
def _accumulate(w, v_prev, v, a, b):  # pragma: no cover - compiled
    ny, nx = w.shape
    for i in range(ny):
        for j in range(nx):
            w[i, j] += a * v_prev[i, j] + b * v[i, j]


class CameraTracker:
    """Run-loop tracker that films the dye (``initialize`` / ``handle`` / ``finalize``).

    Parameters
    ----------
    dye, camera : Dye, Camera
        The readout settings (validated here).
    seed : int
        Seed of the noise generator; the same seed and samples give the same movie.
    samples_per_exposure : int
        The tracker asks to see the state at least this often per exposure ...
    max_sample_interval_ms : float
        ... and at least every this many ms. A sample interval h places an upstroke within ±h/2 inside its
        frame (HEK upstrokes last about 0.5 ms); each sample also stops the solver's kernel, which costs the run
        loop some time: 0.2 ms (10 steps of 0.02 ms) at the default 500 Hz keeps that to a few per cent.
    f0 : {"first_frames", "median", "reference"}
        Baseline of ΔF/F (see the module notes).
    f0_frames : int
        Frames averaged for the ``"first_frames"`` baseline.
    """

    def __init__(self, dye: Dye, camera: Camera, *, seed: int, samples_per_exposure: int = 10,
                 max_sample_interval_ms: float = 0.25, f0: str = "first_frames", f0_frames: int = 10) -> None:
        dye.validate()
        camera.validate()
        check_int("seed", seed, low=0)
        check_int("samples_per_exposure", samples_per_exposure, low=1)
        check_real("max_sample_interval_ms", max_sample_interval_ms, low=0.0, low_open=True)
        if f0 not in _F0_METHODS:
            raise ValueError(f"f0 = {f0!r} is not allowed: use one of {_F0_METHODS}")
        check_int("f0_frames", f0_frames, low=1)
        self.dye, self.camera, self.seed = dye, camera, int(seed)
        self._h_ms = min(camera.exposure_time_ms / samples_per_exposure, max_sample_interval_ms)
        self._f0_method, self._f0_frames = f0, f0_frames
        self._info: RunInfo | None = None

    # ------------------------------------------------------------------ tracker interface
    def initialize(self, info: RunInfo) -> int:
        """Prepare for a run; return how often (in solver steps) the tracker wants to see the state."""
        self.dye.validate((info.ny, info.nx))
        b = self.camera.binning
        if b > min(info.ny, info.nx):
            raise ValueError(f"camera.binning = {b} is out of range: allowed 1 <= binning <= "
                             f"{min(info.ny, info.nx)} (the smaller grid side)")
        self._info = info
        self._f0 = self.dye.f0_map(info.mask)
        self._kernel = psf_kernel(self.camera.psf_sigma_um / info.dx_um)
        self._e_per_cell = self.camera.photons_per_pixel / (b * b)
        self._reference = bin_pixels(blur(self._f0, self._kernel), b) * self._e_per_cell
        cover = bin_pixels((np.asarray(info.mask) > 0).astype(np.float64), b) / (b * b)
        self._cam_tissue = cover >= 0.5
        self._t_first = self._t_prev = None
        self._v_prev = np.zeros((info.ny, info.nx))
        self._open: dict[int, list] = {}
        self._frames: list[np.ndarray] = []
        self._frame_index: list[int] = []
        return max(1, int(math.floor(self._h_ms / info.dt_ms + 1e-9)))

    def handle(self, step: int, t_ms: float, v: np.ndarray) -> None:
        """Take the state ``v`` (mV, ``(ny, nx)``) at time ``t_ms``; integrate it into the open exposures."""
        if self._info is None:
            raise RuntimeError("CameraTracker.handle called before initialize")
        t = float(t_ms)
        beta = self._bleach(t)
        if self._t_prev is None:
            self._t_first = t
        elif t > self._t_prev:
            self._integrate(self._t_prev, t, self._beta_prev, beta, v)
        else:
            return  # a repeated sample (e.g. the final step handed twice) adds nothing
        self._v_prev[...] = v
        self._t_prev, self._beta_prev = t, beta

    def finalize(self) -> dict[str, xr.DataArray]:
        """The movie: ``fluorescence`` (counts) and ``dff`` on ``(frame, cam_y, cam_x)`` with coordinates."""
        if self._info is None:
            raise RuntimeError("CameraTracker.finalize called before initialize")
        info, cam, b = self._info, self.camera, self.camera.binning
        counts = np.stack(self._frames) if self._frames else np.zeros((0, *self._reference.shape), np.float32)
        k = np.asarray(self._frame_index, dtype=np.int64)
        start = info.t0_ms + k * cam.frame_period_ms
        mid = start + 0.5 * cam.exposure_time_ms
        dff = self._dff(counts, start)
        ny_c, nx_c = self._reference.shape
        coords = {
            "frame": ("frame", k, {"long_name": "frame index", "units": "1"}),
            "frame_time": ("frame", mid, {"long_name": "exposure mid-point time", "units": "ms"}),
            "exposure_start": ("frame", start, {"long_name": "exposure start time", "units": "ms"}),
            "cam_y": ("cam_y", (np.arange(ny_c) + 0.5) * b * info.dx_um,
                      {"long_name": "camera pixel centre y", "units": "µm"}),
            "cam_x": ("cam_x", (np.arange(nx_c) + 0.5) * b * info.dx_um,
                      {"long_name": "camera pixel centre x", "units": "µm"}),
        }
        attrs = self.attributes()
        dims = ("frame", "cam_y", "cam_x")
        fl = xr.DataArray(counts, dims=dims, coords=coords, attrs={
            **attrs, "units": "count", "long_name": "camera counts (photo-electrons incl. shot and read noise)"})
        df = xr.DataArray(dff, dims=dims, coords=coords, attrs={
            **attrs, "units": "1", "long_name": "fractional fluorescence change dF/F0"})
        return {"fluorescence": fl, "dff": df}

    # ------------------------------------------------------------------ chunked runs
    def drain(self) -> tuple[np.ndarray, list[np.ndarray]]:
        """The frames completed since the last drain: their indices and counts (then forgotten here)."""
        k, frames = np.asarray(self._frame_index, dtype=np.int64), self._frames
        self._frame_index, self._frames = [], []
        return k, frames

    def get_state(self) -> dict[str, np.ndarray]:
        """Everything a later sample depends on, as arrays (restored bit for bit by :meth:`set_state`):
        the last sample and its time, the open exposures' partial sums, frames not drained yet."""
        nan = float("nan")
        keys = sorted(self._open)
        shape = self._v_prev.shape
        return {
            "times": np.array([nan if self._t_first is None else self._t_first,
                               nan if self._t_prev is None else self._t_prev,
                               nan if self._t_prev is None else self._beta_prev]),
            "v_prev": self._v_prev.copy(),
            "open_frames": np.asarray(keys, dtype=np.int64),
            "open_weight": np.array([self._open[k][0] for k in keys], dtype=np.float64),
            "open_sum": np.stack([self._open[k][1] for k in keys]) if keys else np.zeros((0, *shape)),
            "done_frames": np.asarray(self._frame_index, dtype=np.int64),
            "done_counts": np.stack(self._frames) if self._frames else np.zeros((0, *self._reference.shape),
                                                                                 np.float32),
        }

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Continue from :meth:`get_state` of an earlier tracker of the same run (after :meth:`initialize`)."""
        t_first, t_prev, beta_prev = (float(x) for x in state["times"])
        self._t_first = None if math.isnan(t_first) else t_first
        self._t_prev = None if math.isnan(t_prev) else t_prev
        self._beta_prev = beta_prev
        self._v_prev = np.array(state["v_prev"], dtype=np.float64)
        self._open = {int(k): [float(c), np.array(w, dtype=np.float64)]
                      for k, c, w in zip(state["open_frames"], state["open_weight"], state["open_sum"])}
        self._frame_index = [int(k) for k in state["done_frames"]]
        self._frames = [np.array(f, dtype=np.float32) for f in state["done_counts"]]

    def frame_starts(self, k: np.ndarray) -> np.ndarray:
        """Exposure start times (ms) of frames ``k``."""
        return self._info.t0_ms + np.asarray(k, dtype=np.int64) * self.camera.frame_period_ms

    def corrected(self, counts: np.ndarray, start: np.ndarray) -> np.ndarray:
        """Counts divided by the dye's known mean bleaching over each exposure (float32)."""
        tau, expo = self.dye.bleach_tau_ms, self.camera.exposure_time_ms
        if tau > 0.0 and counts.shape[0]:
            s0 = start - self._info.t0_ms
            mean_bleach = tau / expo * (np.exp(-s0 / tau) - np.exp(-(s0 + expo) / tau))
            return counts / mean_bleach.astype(np.float32)[:, None, None]
        return counts

    def baseline(self, corrected: np.ndarray) -> np.ndarray:
        """F0 per camera pixel from the (bleach-corrected) frames the method uses."""
        if self._f0_method == "reference" or not corrected.shape[0]:
            return self._reference
        if self._f0_method == "median":
            return np.median(corrected, axis=0)
        return corrected[: self._f0_frames].mean(axis=0)

    def dff(self, corrected: np.ndarray, f0: np.ndarray) -> np.ndarray:
        """ΔF/F of bleach-corrected frames against F0 (NaN on camera pixels without tissue)."""
        ok = self._cam_tissue & (f0 > 0)
        scale = np.where(ok, 1.0 / np.where(ok, f0, 1.0), np.nan).astype(np.float32)
        dff = corrected * scale  # float32 throughout: a long movie is large
        dff -= np.float32(1.0)
        return dff

    @property
    def reference_shape(self) -> tuple[int, int]:
        """Camera pixels (rows, columns)."""
        return tuple(self._reference.shape)

    @property
    def f0_method(self) -> str:
        return self._f0_method

    @property
    def f0_frames(self) -> int:
        return self._f0_frames

    def attributes(self) -> dict[str, object]:
        """Settings and conventions written into the movie's attributes."""
        return {**{f"camera_{n}": val for n, val in self.camera.to_dict().items()},
                **{f"dye_{n}": val for n, val in self.dye.to_dict().items()},
                "seed": self.seed, "frame_time_convention": "exposure mid-point",
                "f0_method": self._f0_method, "f0_frames": self._f0_frames}

    # ------------------------------------------------------------------ internals
    def _bleach(self, t: float) -> float:
        tau = self.dye.bleach_tau_ms
        return 1.0 if tau == 0.0 else math.exp(-(t - self._info.t0_ms) / tau)

    def _integrate(self, ta: float, tb: float, beta_a: float, beta_b: float, v: np.ndarray) -> None:
        t0, period, expo = self._info.t0_ms, self.camera.frame_period_ms, self.camera.exposure_time_ms
        tol = 1e-9 * period
        k_lo = max(0, math.floor((ta - t0 - expo) / period) + 1)
        k_hi = math.ceil((tb - t0) / period) - 1
        for k in range(k_lo, k_hi + 1):
            s_k = t0 + k * period
            if s_k < self._t_first - tol:
                continue  # this exposure began before the first sample: it cannot be completed
            lo, hi = max(ta, s_k), min(tb, s_k + expo)
            if hi - lo <= tol:
                continue
            theta = (0.5 * (lo + hi) - ta) / (tb - ta)
            a, b = (hi - lo) * (1.0 - theta) * beta_a, (hi - lo) * theta * beta_b
            if k not in self._open:
                self._open[k] = [0.0, np.zeros_like(self._v_prev)]
            acc = self._open[k]
            acc[0] += a + b
            _accumulate(acc[1], self._v_prev, v, a, b)
        for k in sorted(self._open):
            if t0 + k * period + expo <= tb + tol:
                self._finish(k, *self._open.pop(k))

    def _finish(self, k: int, c: float, w: np.ndarray) -> None:
        s = self.dye.sensitivity_per_100mv / 100.0
        mean_f = (c * (1.0 - s * self.dye.v_ref_mv) + s * w) / self.camera.exposure_time_ms
        emitted = np.where(self._f0 > 0, self._f0 * mean_f, 0.0)  # off tissue: no dye, whatever V says (NaN)
        electrons = bin_pixels(blur(emitted, self._kernel), self.camera.binning) * self._e_per_cell
        counts = add_noise(electrons, read_noise_e=self.camera.read_noise_e, rng=frame_rng(self.seed, k))
        self._frames.append(counts.astype(np.float32))
        self._frame_index.append(k)

    def _dff(self, counts: np.ndarray, start: np.ndarray) -> np.ndarray:
        corrected = self.corrected(counts, start)
        return self.dff(corrected, self.baseline(corrected))


def record_movie(v: np.ndarray, t_ms: np.ndarray, *, dye: Dye, camera: Camera, dx_um: float, seed: int,
                 mask: np.ndarray | None = None, t0_ms: float | None = None,
                 **tracker_options) -> dict[str, xr.DataArray]:
    """Film a given V movie offline: the same camera as :class:`CameraTracker`, fed every sample given.

    Parameters
    ----------
    v : ndarray, shape (n_t, ny, nx)
        Membrane potential (mV) at the times ``t_ms``.
    t_ms : ndarray, shape (n_t,)
        Strictly increasing sample times (ms); any spacing.
    dye, camera : Dye, Camera
        Readout settings.
    dx_um : float
        Grid spacing (µm).
    seed : int
        Noise seed.
    mask : ndarray, optional
        Tissue mask ``(ny, nx)`` (1 = tissue); all tissue when omitted.
    t0_ms : float, optional
        Start of imaging (frame 0 starts here, bleaching counts from here); default ``t_ms[0]``.
    **tracker_options
        Passed to :class:`CameraTracker` (``f0``, ``f0_frames``).

    Returns
    -------
    dict of str to xarray.DataArray
        ``"fluorescence"`` and ``"dff"``.
    """
    v = np.asarray(v)
    t = np.asarray(t_ms, dtype=np.float64)
    if v.ndim != 3 or t.shape != (v.shape[0],):
        raise ValueError(f"v must be (n_t, ny, nx) and t_ms (n_t,); got {v.shape} and {t.shape}")
    if t.size > 1 and np.any(np.diff(t) <= 0):
        raise ValueError("t_ms must be strictly increasing")
    ny, nx = v.shape[1:]
    mask = np.ones((ny, nx), np.uint8) if mask is None else np.asarray(mask, np.uint8)
    dt = float(np.min(np.diff(t))) if t.size > 1 else 1.0
    tracker = CameraTracker(dye, camera, seed=seed, **tracker_options)
    tracker.initialize(RunInfo(ny=ny, nx=nx, dx_um=float(dx_um), dt_ms=dt, n_steps=t.size - 1, mask=mask,
                               t0_ms=float(t[0] if t0_ms is None else t0_ms)))
    for i in range(t.size):
        tracker.handle(i, t[i], v[i])
    return tracker.finalize()


def observe(ds: xr.Dataset, *, dye: Dye, camera: Camera, seed: int | None = None,
            **tracker_options) -> xr.Dataset:
    """Return ``ds`` with ``fluorescence`` and ``dff`` filmed from its ``v`` (seed from ``ds.attrs`` by default)."""
    seed = int(ds.attrs.get("seed", 0)) if seed is None else seed
    mask = ds["mask"].values if "mask" in ds else None
    movie = record_movie(ds["v"].transpose("time", "y", "x").values, ds["time"].values, dye=dye, camera=camera,
                         dx_um=float(ds.attrs["dx_um"]), seed=seed, mask=mask, **tracker_options)
    return ds.assign(movie)
