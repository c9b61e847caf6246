"""``analyse``: every measure of MODEL.md section 6 on a result dataset, from the true V or the camera's dF/F.

With ``source="v"`` the maps are named plainly (``activation_time``, ``apd90``, ...) on ``(y, x)``; with
``source="dff"`` they are prefixed ``dff_`` and lie on ``(cam_y, cam_x)``, so both analyses can sit in one job
dataset side by side. Defaults per source:

=================  ==================================  ===================================================
setting            ``v``                               ``dff``
=================  ==================================  ===================================================
smoothing          none                                Gaussian, 1.5 camera pixels and 1 frame (σ)
``min_amplitude``  40 mV (0.4 for dimensionless "1")   0.4·s, the dF/F of a 40 mV swing
``hold``           0 samples                           1 sample
CV window          5×5 pixels                          7×7 pixels
=================  ==================================  ===================================================

For ``dff`` the result also carries the movie's SNR (see :func:`solver.analysis.signal_to_noise`).

The work runs in stages that :func:`solver.analysis.blocked.analyse_blocked` shares, so a movie analysed one
spatial block at a time gives the same numbers: :func:`resolve` (options and defaults), :func:`prepare_movie`
(masking and smoothing), :func:`pixel_maps` (everything measured pixel by pixel), :func:`sheet_variables` (what
needs the whole sheet: CV, fraction activated, the phase lag and centre), :func:`tip_rows` and
:func:`tip_variables` (spiral tips), :func:`snr_attrs`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import xarray as xr

from ._signal import gauss_radius, signal_to_noise, smooth
from .activation import crossing_times, fraction_activated
from .frequency import dominant_frequency
from .phase import phase_singularities, time_delay_phase
from .velocity import conduction_velocity

__all__ = ["analyse"]

_SOURCES = {"v": ("time", "y", "x"), "dff": ("frame", "cam_y", "cam_x")}

#: The widest CV window analyse() chooses by itself (half-width, pixels).
MAX_CV_WINDOW_PX = 16


def _pitch(coord: xr.DataArray, fallback: float | None) -> float:
    c = np.asarray(coord.values, dtype=np.float64)
    if c.size > 1:
        return float(np.median(np.diff(c)))
    if fallback is None:
        raise ValueError(f"cannot tell the pixel pitch of {coord.name!r}: one pixel and no dx_um attribute")
    return float(fallback)


@dataclass(frozen=True, eq=False)
class Settings:
    """One analysis's choices with their defaults resolved (see :func:`analyse` for the meaning of each)."""

    source: str
    dims: tuple[str, str, str]
    t: np.ndarray
    pitch: float
    threshold: float
    min_amplitude: float
    smooth_px: float
    smooth_frames: float
    hold: int
    window: int
    min_r2: float
    phase_lag_ms: float | None
    tip_stride: int
    frequency: bool
    tips: bool
    phase: bool
    window_fixed: bool = False  # the caller chose the CV window: never widened (see sheet_variables)

    @property
    def camera(self) -> bool:
        return self.source == "dff"

    @property
    def prefix(self) -> str:
        return "dff_" if self.camera else ""

    @property
    def smoothing(self) -> bool:
        return self.smooth_px > 0 or self.smooth_frames > 0

    @property
    def halo_px(self) -> int:
        """How far (pixels) a smoothed value reaches: the halo a spatial block needs."""
        return gauss_radius(self.smooth_px) if self.smoothing else 0

    @property
    def with_frequency(self) -> bool:
        return self.frequency and self.t.size >= 8

    def tip_frames(self, lag: int) -> np.ndarray:
        return np.arange(lag, self.t.size, self.tip_stride)


def resolve(
    ds: xr.Dataset,
    source: str = "v",
    *,
    threshold: float = 0.5,
    min_amplitude: float | None = None,
    smooth_px: float | None = None,
    smooth_frames: float | None = None,
    hold: int | None = None,
    cv_window_px: int | None = None,
    min_r2: float = 0.8,
    phase_lag_ms: float | None = None,
    tip_stride: int = 1,
    frequency: bool = True,
    tips: bool = True,
    phase: bool = False,
) -> Settings:
    """Check the source and options and fill in the per-source defaults; reads only coordinates and attributes."""
    if source not in _SOURCES:
        raise ValueError(f"source = {source!r} is not allowed: use one of {tuple(_SOURCES)}")
    if source not in ds:
        raise ValueError(f"source = {source!r}: the dataset has no variable {source!r} "
                         f"(it has {sorted(ds.data_vars)})")
    if tip_stride < 1:
        raise ValueError(f"tip_stride = {tip_stride!r} is out of range: allowed tip_stride >= 1")
    dims = _SOURCES[source]
    camera = source == "dff"
    attrs = ds[source].attrs
    t = np.asarray(ds["frame_time" if camera else "time"].values, dtype=np.float64)
    if min_amplitude is None:
        if camera:
            min_amplitude = 0.4 * abs(float(attrs.get("dye_sensitivity_per_100mv", 0.24)))
        else:
            min_amplitude = 0.4 if attrs.get("units") == "1" else 40.0
    return Settings(
        source=source, dims=dims, t=t, pitch=_pitch(ds[dims[2]], ds.attrs.get("dx_um")), threshold=threshold,
        min_amplitude=min_amplitude,
        smooth_px=(1.5 if camera else 0.0) if smooth_px is None else smooth_px,
        smooth_frames=(1.0 if camera else 0.0) if smooth_frames is None else smooth_frames,
        hold=(1 if camera else 0) if hold is None else hold,
        window=(3 if camera else 2) if cv_window_px is None else cv_window_px,
        min_r2=min_r2, phase_lag_ms=phase_lag_ms, tip_stride=tip_stride, frequency=frequency, tips=tips,
        phase=phase, window_fixed=cv_window_px is not None)


def tissue_map(ds: xr.Dataset, s: Settings) -> np.ndarray | None:
    """The tissue mask (bool, on the movie's grid) where the analysis honours one: V with a ``mask``."""
    if s.camera or "mask" not in ds:
        return None
    return ds["mask"].transpose(*s.dims[1:]).values > 0


def prepare_movie(s: Settings, raw: np.ndarray, tissue: np.ndarray | None) -> np.ndarray:
    """The movie the measures see: ``raw`` itself, or NaN off tissue and smoothed when smoothing is asked for."""
    movie = np.asarray(raw)
    if s.smoothing:
        if tissue is not None:
            movie = np.where(tissue, movie, np.nan)
        movie = smooth(movie, sigma_px=s.smooth_px, sigma_frames=s.smooth_frames)
    return movie


@dataclass(frozen=True, eq=False)
class PixelMaps:
    """Everything measured pixel by pixel, each ``(ny, nx)``: a block's maps are the whole sheet's maps there."""

    act: np.ndarray
    apd50: np.ndarray
    apd90: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    in_tissue: np.ndarray
    frequency: np.ndarray | None

    @classmethod
    def empty(cls, shape: tuple[int, int], s: Settings) -> PixelMaps:
        """Maps to be filled block by block (NaN, or False for ``in_tissue``)."""
        def nan():
            return np.full(shape, np.nan)
        return cls(act=nan(), apd50=nan(), apd90=nan(), lo=nan(), hi=nan(), in_tissue=np.zeros(shape, bool),
                   frequency=nan() if s.with_frequency else None)

    def crop(self, where: tuple[slice, slice]) -> PixelMaps:
        """These maps at ``where`` (views)."""
        return PixelMaps(**{f.name: None if getattr(self, f.name) is None else getattr(self, f.name)[where]
                            for f in fields(self)})

    def paste(self, part: PixelMaps, where: tuple[slice, slice]) -> None:
        """Copy a block's maps into these at ``where``."""
        for f in fields(self):
            mine = getattr(self, f.name)
            if mine is not None:
                mine[where] = getattr(part, f.name)


def pixel_maps(s: Settings, movie: np.ndarray, tissue: np.ndarray | None) -> PixelMaps:
    """Activation, APDs, rest and peak, and the dominant frequency of every pixel of ``movie``."""
    act, rep, lo, hi = crossing_times(movie, s.t, threshold=s.threshold, repolarisation=(0.5, 0.9),
                                      min_amplitude=s.min_amplitude, hold=s.hold)
    if tissue is not None:
        act[~tissue] = np.nan
        rep[:, ~tissue] = np.nan
    in_tissue = np.isfinite(lo) if tissue is None else (tissue & np.isfinite(lo))
    f = None
    if s.with_frequency:
        f = dominant_frequency(movie, s.t)
        f[~in_tissue] = np.nan
    return PixelMaps(act=act, apd50=rep[0] - act, apd90=rep[1] - act, lo=lo, hi=hi, in_tissue=in_tissue,
                     frequency=f)


def sheet_variables(s: Settings, m: PixelMaps) -> tuple[dict[str, xr.DataArray], np.ndarray, int | None]:
    """The maps as variables with units, with what needs the whole sheet (CV, fraction activated); and the
    phase embedding's centre and lag (samples, None when there is none) for the spiral tips."""
    pre, dims = s.prefix, s.dims[1:]
    what = "camera dF/F" if s.camera else "membrane potential"
    window = s.window
    cv = conduction_velocity(m.act, dx_um=s.pitch, window_px=window, min_r2=s.min_r2)
    if not s.window_fixed and np.isfinite(cv.median_cm_per_s) and s.t.size > 1:
        # Activation times interpolated between samples err in a pattern that repeats every distance
        # the wave moves per sample; a window narrower than two such distances fits that pattern's
        # slope, not the wave's (9 % high at dx 2.25 µm, V every 0.5 ms): widen it to span them.
        per_sample_um = cv.median_cm_per_s * 10.0 * float(np.median(np.diff(s.t)))
        wide = min(int(np.ceil(per_sample_um / s.pitch)), MAX_CV_WINDOW_PX)
        if wide > window:
            window = wide
            cv = conduction_velocity(m.act, dx_um=s.pitch, window_px=window, min_r2=s.min_r2)
    frac = fraction_activated(m.act, m.in_tissue)
    out: dict[str, xr.DataArray] = {
        f"{pre}activation_time": xr.DataArray(m.act, dims=dims, attrs={
            "units": "ms", "long_name": f"activation time ({s.threshold:.0%} upstroke crossing of the {what})"}),
        f"{pre}conduction_velocity_x": xr.DataArray(cv.cv_x, dims=dims, attrs={
            "units": "cm/s", "long_name": "conduction velocity, x component"}),
        f"{pre}conduction_velocity_y": xr.DataArray(cv.cv_y, dims=dims, attrs={
            "units": "cm/s", "long_name": "conduction velocity, y component"}),
        f"{pre}conduction_velocity": xr.DataArray(cv.median_cm_per_s, attrs={
            "units": "cm/s", "long_name": "conduction velocity (median speed where the local plane fit is reliable)",
            "n_reliable_pixels": int(cv.reliable.sum()), "window_px": window, "min_r2": s.min_r2}),
        f"{pre}apd50": xr.DataArray(m.apd50, dims=dims, attrs={
            "units": "ms", "long_name": "action potential duration at 50 % repolarisation (first beat)"}),
        f"{pre}apd90": xr.DataArray(m.apd90, dims=dims, attrs={
            "units": "ms", "long_name": "action potential duration at 90 % repolarisation (first beat)"}),
        f"{pre}fraction_activated": xr.DataArray(frac, attrs={
            "units": "1", "long_name": "fraction of tissue that fired (did the stimulus propagate)",
            "min_amplitude": float(s.min_amplitude)}),
    }
    if m.frequency is not None:
        out[f"{pre}dominant_frequency"] = xr.DataArray(m.frequency, dims=dims, attrs={
            "units": "Hz", "long_name": "dominant frequency (peak of the power spectrum)"})
    centre = _embedding_centre(m.lo, m.hi, np.isfinite(m.act), m.in_tissue)
    lag = _lag_samples(s.phase_lag_ms, m.apd50, s.t)
    if lag is not None and lag >= s.t.size:
        lag = None
    return out, centre, lag


def tip_rows(s: Settings, movie: np.ndarray, lag: int, centre: np.ndarray) -> np.ndarray:
    """Phase singularities ``(frame, i, j, charge)`` of ``movie`` in the frames the settings ask for."""
    return phase_singularities(movie, lag=lag, centre=centre, frames=s.tip_frames(lag))


def tip_variables(s: Settings, rows: np.ndarray, lag: int, yc: np.ndarray, xc: np.ndarray) -> dict[str, xr.DataArray]:
    """The spiral tips as variables on their own dimension; ``yc``/``xc`` the movie's pixel coordinates."""
    pre, t, pitch = s.prefix, s.t, s.pitch
    tip = f"{pre}spiral_tip"
    return {
        f"{pre}spiral_tip_time": xr.DataArray(t[rows[:, 0]], dims=tip, attrs={
            "units": "ms", "long_name": "time of a phase singularity"}),
        f"{pre}spiral_tip_x": xr.DataArray(xc[rows[:, 2]] + 0.5 * pitch, dims=tip, attrs={
            "units": "µm", "long_name": "x of a phase singularity (plaquette centre)"}),
        f"{pre}spiral_tip_y": xr.DataArray(yc[rows[:, 1]] + 0.5 * pitch, dims=tip, attrs={
            "units": "µm", "long_name": "y of a phase singularity (plaquette centre)"}),
        f"{pre}spiral_tip_charge": xr.DataArray(rows[:, 3].astype(np.int8), dims=tip, attrs={
            "units": "1", "long_name": "topological charge (+1: phase increases counter-clockwise)",
            "phase_lag_ms": float(lag * np.median(np.diff(t)))}),
    }


def snr_attrs(snr: float) -> dict[str, object]:
    """The camera activation map's SNR attributes."""
    return {"snr": snr, "snr_definition": (
        "median AP dF/F swing (after the analysis smoothing) over the rms dF/F noise of one pixel in one frame")}


def coordinates(ds: xr.Dataset, s: Settings) -> tuple[np.ndarray, np.ndarray]:
    """The movie's pixel-centre coordinates (y, x) as float64."""
    return tuple(np.asarray(ds[d].values, np.float64) for d in s.dims[1:])


def analyse(
    ds: xr.Dataset,
    *,
    source: str = "v",
    threshold: float = 0.5,
    min_amplitude: float | None = None,
    smooth_px: float | None = None,
    smooth_frames: float | None = None,
    hold: int | None = None,
    cv_window_px: int | None = None,
    min_r2: float = 0.8,
    phase_lag_ms: float | None = None,
    tip_stride: int = 1,
    frequency: bool = True,
    tips: bool = True,
    phase: bool = False,
) -> xr.Dataset:
    """Return ``ds`` with the analysis maps of ``ds[source]`` added (see the module notes for names).

    Parameters
    ----------
    ds : xarray.Dataset
        A result dataset (``v`` on ``(time, y, x)`` or ``dff`` on ``(frame, cam_y, cam_x)``; ``mask`` optional).
    source : {"v", "dff"}
        Which movie to analyse.
    threshold : float
        Upstroke level as a fraction of each pixel's swing (0.5: the 50 % crossing).
    min_amplitude : float, optional
        Smallest swing that counts as an action potential (signal units).
    smooth_px, smooth_frames : float, optional
        Gaussian smoothing σ in pixels and frames before the analysis.
    hold : int, optional
        Samples a crossing must persist.
    cv_window_px : int, optional
        Half-width of the conduction-velocity plane fit.
    min_r2 : float
        R² a plane fit needs to count towards the CV summary.
    phase_lag_ms : float, optional
        Time-delay τ of the phase (default half the median APD50, at least one sample).
    tip_stride : int
        Look for spiral tips in every ``tip_stride``-th frame.
    frequency, tips, phase : bool
        Whether to compute the dominant frequency, the spiral tips, and the full phase movie.
    """
    s = resolve(ds, source, threshold=threshold, min_amplitude=min_amplitude, smooth_px=smooth_px,
                smooth_frames=smooth_frames, hold=hold, cv_window_px=cv_window_px, min_r2=min_r2,
                phase_lag_ms=phase_lag_ms, tip_stride=tip_stride, frequency=frequency, tips=tips, phase=phase)
    tissue = tissue_map(ds, s)
    raw = np.asarray(ds[source].transpose(*s.dims).values)
    movie = prepare_movie(s, raw, tissue)
    maps = pixel_maps(s, movie, tissue)
    out, centre, lag = sheet_variables(s, maps)
    if tips and lag is not None:
        out.update(tip_variables(s, tip_rows(s, movie, lag, centre), lag, *coordinates(ds, s)))
    if phase and lag is not None:
        out[f"{s.prefix}phase"] = xr.DataArray(time_delay_phase(movie, lag=lag, centre=centre), dims=s.dims,
                                               attrs={"units": "rad", "long_name": "time-delay phase"})
    if s.camera:
        snr = signal_to_noise(raw, fired=np.isfinite(maps.act), swing=maps.hi - maps.lo)
        out[f"{s.prefix}activation_time"].attrs.update(snr_attrs(snr))
    return ds.assign(out)


def _embedding_centre(lo: np.ndarray, hi: np.ndarray, fired: np.ndarray, tissue: np.ndarray) -> np.ndarray:
    """Centre of the phase embedding: the middle of the swing where the pixel fired, else the tissue's median
    middle. A resting pixel then sits steadily below the centre (no spurious phase), and the low-amplitude
    pixels of a spiral core, which never reach the firing amplitude, still circle it. NaN off tissue."""
    mid = 0.5 * (lo + hi)
    if not fired.any():
        return np.full(lo.shape, np.nan)
    return np.where(fired, mid, np.where(tissue, float(np.median(mid[fired])), np.nan))


def _lag_samples(phase_lag_ms: float | None, apd50: np.ndarray, t: np.ndarray) -> int | None:
    """τ in samples: the given lag, or half the median APD50; None when neither is available."""
    if t.size < 3:
        return None
    step = float(np.median(np.diff(t)))
    if phase_lag_ms is None:
        good = apd50[np.isfinite(apd50)]
        if good.size == 0:
            return None
        phase_lag_ms = 0.5 * float(np.median(good))
    elif not phase_lag_ms > 0:
        raise ValueError(f"phase_lag_ms = {phase_lag_ms!r} is out of range: allowed phase_lag_ms > 0")
    return max(1, int(round(phase_lag_ms / step)))
