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
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ._signal import signal_to_noise, smooth
from .activation import crossing_times, fraction_activated
from .frequency import dominant_frequency
from .phase import phase_singularities, time_delay_phase
from .velocity import conduction_velocity

__all__ = ["analyse"]

#: The widest CV window analyse() chooses by itself (half-width, pixels).
MAX_CV_WINDOW_PX = 16

_SOURCES = {"v": ("time", "y", "x"), "dff": ("frame", "cam_y", "cam_x")}


def _pitch(coord: xr.DataArray, fallback: float | None) -> float:
    c = np.asarray(coord.values, dtype=np.float64)
    if c.size > 1:
        return float(np.median(np.diff(c)))
    if fallback is None:
        raise ValueError(f"cannot tell the pixel pitch of {coord.name!r}: one pixel and no dx_um attribute")
    return float(fallback)


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
    if source not in _SOURCES:
        raise ValueError(f"source = {source!r} is not allowed: use one of {tuple(_SOURCES)}")
    if source not in ds:
        raise ValueError(f"source = {source!r}: the dataset has no variable {source!r} "
                         f"(it has {sorted(ds.data_vars)})")
    if tip_stride < 1:
        raise ValueError(f"tip_stride = {tip_stride!r} is out of range: allowed tip_stride >= 1")
    tdim, ydim, xdim = _SOURCES[source]
    da = ds[source].transpose(tdim, ydim, xdim)
    tname = "time" if source == "v" else "frame_time"
    t = np.asarray(ds[tname].values, dtype=np.float64)
    pitch = _pitch(ds[xdim], ds.attrs.get("dx_um"))
    camera = source == "dff"
    pre = "dff_" if camera else ""
    what = "camera dF/F" if camera else "membrane potential"

    tissue = None
    if not camera and "mask" in ds:
        tissue = ds["mask"].transpose(ydim, xdim).values > 0
    movie = np.asarray(da.values)
    sp = (1.5 if camera else 0.0) if smooth_px is None else smooth_px
    sf = (1.0 if camera else 0.0) if smooth_frames is None else smooth_frames
    if sp > 0 or sf > 0:
        if tissue is not None:
            movie = np.where(tissue, movie, np.nan)
        movie = smooth(movie, sigma_px=sp, sigma_frames=sf)
    if min_amplitude is None:
        if camera:
            min_amplitude = 0.4 * abs(float(da.attrs.get("dye_sensitivity_per_100mv", 0.24)))
        else:
            min_amplitude = 0.4 if da.attrs.get("units") == "1" else 40.0
    hold = (1 if camera else 0) if hold is None else hold
    window = (3 if camera else 2) if cv_window_px is None else cv_window_px

    act, rep, lo, hi = crossing_times(movie, t, threshold=threshold, repolarisation=(0.5, 0.9),
                                      min_amplitude=min_amplitude, hold=hold)
    if tissue is not None:
        act[~tissue] = np.nan
        rep[:, ~tissue] = np.nan
    fired = np.isfinite(act)
    apd50, apd90 = rep[0] - act, rep[1] - act
    cv = conduction_velocity(act, dx_um=pitch, window_px=window, min_r2=min_r2)
    if cv_window_px is None and np.isfinite(cv.median_cm_per_s) and t.size > 1:
        # Activation times interpolated between samples err in a pattern that repeats every distance
        # the wave moves per sample; a window narrower than two such distances fits that pattern's
        # slope, not the wave's (9 % high at dx 2.25 µm, V every 0.5 ms): widen it to span them.
        per_sample_um = cv.median_cm_per_s * 10.0 * float(np.median(np.diff(t)))
        wide = min(int(np.ceil(per_sample_um / pitch)), MAX_CV_WINDOW_PX)
        if wide > window:
            window = wide
            cv = conduction_velocity(act, dx_um=pitch, window_px=window, min_r2=min_r2)
    in_tissue = np.isfinite(lo) if tissue is None else (tissue & np.isfinite(lo))
    frac = fraction_activated(act, in_tissue)

    dims = (ydim, xdim)
    out: dict[str, xr.DataArray] = {
        f"{pre}activation_time": xr.DataArray(act, dims=dims, attrs={
            "units": "ms", "long_name": f"activation time ({threshold:.0%} upstroke crossing of the {what})"}),
        f"{pre}conduction_velocity_x": xr.DataArray(cv.cv_x, dims=dims, attrs={
            "units": "cm/s", "long_name": "conduction velocity, x component"}),
        f"{pre}conduction_velocity_y": xr.DataArray(cv.cv_y, dims=dims, attrs={
            "units": "cm/s", "long_name": "conduction velocity, y component"}),
        f"{pre}conduction_velocity": xr.DataArray(cv.median_cm_per_s, attrs={
            "units": "cm/s", "long_name": "conduction velocity (median speed where the local plane fit is reliable)",
            "n_reliable_pixels": int(cv.reliable.sum()), "window_px": window, "min_r2": min_r2}),
        f"{pre}apd50": xr.DataArray(apd50, dims=dims, attrs={
            "units": "ms", "long_name": "action potential duration at 50 % repolarisation (first beat)"}),
        f"{pre}apd90": xr.DataArray(apd90, dims=dims, attrs={
            "units": "ms", "long_name": "action potential duration at 90 % repolarisation (first beat)"}),
        f"{pre}fraction_activated": xr.DataArray(frac, attrs={
            "units": "1", "long_name": "fraction of tissue that fired (did the stimulus propagate)",
            "min_amplitude": float(min_amplitude)}),
    }
    if frequency and t.size >= 8:
        f = dominant_frequency(movie, t)
        f[~in_tissue] = np.nan
        out[f"{pre}dominant_frequency"] = xr.DataArray(f, dims=dims, attrs={
            "units": "Hz", "long_name": "dominant frequency (peak of the power spectrum)"})

    centre = _embedding_centre(lo, hi, fired, in_tissue)
    lag = _lag_samples(phase_lag_ms, apd50, t)
    if tips and lag is not None and lag < t.size:
        rows = phase_singularities(movie, lag=lag, centre=centre, frames=np.arange(lag, t.size, tip_stride))
        yc = np.asarray(ds[ydim].values, np.float64)
        xc = np.asarray(ds[xdim].values, np.float64)
        tip = f"{pre}spiral_tip"
        out[f"{pre}spiral_tip_time"] = xr.DataArray(t[rows[:, 0]], dims=tip, attrs={
            "units": "ms", "long_name": "time of a phase singularity"})
        out[f"{pre}spiral_tip_x"] = xr.DataArray(xc[rows[:, 2]] + 0.5 * pitch, dims=tip, attrs={
            "units": "µm", "long_name": "x of a phase singularity (plaquette centre)"})
        out[f"{pre}spiral_tip_y"] = xr.DataArray(yc[rows[:, 1]] + 0.5 * pitch, dims=tip, attrs={
            "units": "µm", "long_name": "y of a phase singularity (plaquette centre)"})
        out[f"{pre}spiral_tip_charge"] = xr.DataArray(rows[:, 3].astype(np.int8), dims=tip, attrs={
            "units": "1", "long_name": "topological charge (+1: phase increases counter-clockwise)",
            "phase_lag_ms": float(lag * np.median(np.diff(t)))})
    if phase and lag is not None and lag < t.size:
        out[f"{pre}phase"] = xr.DataArray(time_delay_phase(movie, lag=lag, centre=centre), dims=(tdim, *dims),
                                          attrs={"units": "rad", "long_name": "time-delay phase"})
    result = ds.assign(out)
    if camera:
        result[f"{pre}activation_time"].attrs["snr"] = signal_to_noise(np.asarray(da.values), fired=fired,
                                                                       swing=hi - lo)
        result[f"{pre}activation_time"].attrs["snr_definition"] = (
            "median AP dF/F swing (after the analysis smoothing) over the rms dF/F noise of one pixel in one frame")
    return result


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
