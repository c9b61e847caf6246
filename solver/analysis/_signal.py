"""Shared signal plumbing for the analysis: movie layout, smoothing, per-pixel extremes, noise and SNR.

Every analysis function takes a movie as a time-major array ``(n_t, ny, nx)`` with NaN off tissue, and sweeps it
frame by frame (pixels contiguous), so a 512² × 2000 movie is read a few times and never transposed.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy import ndimage

__all__ = ["as_movie", "check_times", "smooth", "gauss_radius", "extremes", "noise_sigma", "noise_stride",
           "signal_to_noise", "snr_from_noise", "SNR_NOISE_PIXELS"]

SNR_NOISE_PIXELS = 65536
"""Pixels (a regular subsample) whose noise :func:`signal_to_noise` measures: enough for a median over tissue."""


def as_movie(movie: np.ndarray, name: str = "movie") -> np.ndarray:
    """Return ``movie`` as a C-contiguous float32/float64 array of shape ``(n_t, ny, nx)``."""
    m = np.asarray(movie)
    if m.ndim != 3:
        raise ValueError(f"{name} must have shape (n_t, ny, nx); got {m.shape}")
    if m.dtype not in (np.float32, np.float64):
        m = m.astype(np.float64)
    return np.ascontiguousarray(m)


def check_times(time_ms: np.ndarray, n_t: int, *, uniform: bool = False) -> np.ndarray:
    """Return ``time_ms`` as float64 after checking its length, order and (optionally) even spacing."""
    t = np.asarray(time_ms, dtype=np.float64)
    if t.shape != (n_t,):
        raise ValueError(f"time_ms has shape {t.shape}; allowed: ({n_t},), one time per frame")
    d = np.diff(t)
    if np.any(d <= 0):
        raise ValueError("time_ms must be strictly increasing")
    if uniform and d.size and np.ptp(d) > 1e-6 * d.mean():
        raise ValueError(f"time_ms must be evenly spaced here; spacing ranges {d.min():g}..{d.max():g} ms")
    return t


def gauss_radius(sigma: float) -> int:
    """Half-width in samples of the smoothing kernel of width ``sigma`` (truncated at 3σ; 0 for σ <= 0): how far
    a smoothed value reaches, i.e. the halo a block of the movie needs to be smoothed as the whole is."""
    return int(np.ceil(3.0 * sigma)) if sigma > 0 else 0


def _gauss(sigma: float) -> np.ndarray:
    """Sampled Gaussian of width ``sigma`` samples, truncated at 3σ, normalised (``[1.0]`` for σ <= 0)."""
    if sigma <= 0:
        return np.ones(1)
    r = gauss_radius(sigma)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    return k / k.sum()


@njit(cache=True, fastmath=True)
def _smooth(x, out, kt, ks, tissue, inv_weight):  # pragma: no cover - compiled
    # row by row, so every accumulation runs in a row buffer that stays in the L1 cache
    nt, ny, nx = x.shape
    rt, rs = kt.size // 2, ks.size // 2
    a = np.empty((ny, nx), np.float32)
    row = np.empty(nx, np.float32)
    row2 = np.empty(nx, np.float32)
    for k in range(nt):
        for i in range(ny):  # time, edges held at the first/last frame
            row[:] = 0.0
            for m in range(kt.size):
                src = min(max(k + m - rt, 0), nt - 1)
                w = np.float32(kt[m])
                for j in range(nx):
                    row[j] += w * x[src, i, j]
            for j in range(nx):
                a[i, j] = row[j] if tissue[i, j] else np.float32(0.0)
        for i in range(ny):
            row[:] = 0.0
            for m in range(max(0, rs - i), min(ks.size, ny + rs - i)):  # y, zero outside the sheet
                w = np.float32(ks[m])
                for j in range(nx):
                    row[j] += w * a[i + m - rs, j]
            row2[:] = 0.0
            for m in range(ks.size):  # x
                w = np.float32(ks[m])
                for j in range(max(0, rs - m), min(nx, nx + rs - m)):
                    row2[j] += w * row[j + m - rs]
            for j in range(nx):  # the tissue normalisation
                out[k, i, j] = row2[j] * inv_weight[i, j] if tissue[i, j] else np.nan


def smooth(movie: np.ndarray, *, sigma_px: float = 0.0, sigma_frames: float = 0.0) -> np.ndarray:
    """Gaussian smoothing in space (``sigma_px`` pixels) and time (``sigma_frames`` frames), NaN-aware.

    Off-tissue pixels (NaN in the first frame) neither contribute nor receive a value: the spatial filter is a
    normalised convolution over tissue, so values at the tissue edge are not pulled towards zero. A Gaussian is
    symmetric, so the 50 % crossing of a planar upstroke is not shifted; a curved front of radius R moves by
    about σ²/(2R) (smoothing makes the speed near a point source read a little high). One fused pass; returns
    a new float32 array (or ``movie`` itself when both widths are 0).
    """
    m = as_movie(movie)
    if sigma_px <= 0 and sigma_frames <= 0:
        return m
    tissue = np.isfinite(m[0])
    ks = _gauss(sigma_px)
    w = ndimage.correlate1d(ndimage.correlate1d(tissue.astype(np.float64), ks, axis=0, mode="constant"),
                            ks, axis=1, mode="constant")
    inv = np.where(tissue, 1.0 / np.where(w > 0, w, 1.0), 0.0).astype(np.float32)
    out = np.empty(m.shape, np.float32)
    _smooth(m, out, _gauss(sigma_frames), ks, tissue, inv)
    return out


@njit(cache=True)
def _extremes(x):  # pragma: no cover - compiled
    nt, npix = x.shape
    lo = np.full(npix, np.inf)
    hi = np.full(npix, -np.inf)
    for k in range(nt):
        for p in range(npix):
            v = x[k, p]
            if v < lo[p]:
                lo[p] = v
            if v > hi[p]:
                hi[p] = v
    return lo, hi


def extremes(movie: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel minimum and maximum over time, ``(ny, nx)`` each; NaN where the pixel is never finite."""
    m = as_movie(movie)
    lo, hi = _extremes(m.reshape(m.shape[0], -1))
    bad = ~np.isfinite(lo)
    lo[bad] = np.nan
    hi[bad] = np.nan
    return lo.reshape(m.shape[1:]), hi.reshape(m.shape[1:])


def noise_sigma(movie: np.ndarray, *, max_frames: int = 200, max_pixels: int | None = None) -> np.ndarray:
    """Per-pixel noise standard deviation from frame-to-frame differences (robust: 1.4826·MAD/√2).

    A smooth signal barely changes between adjacent frames, so their differences are noise; the median ignores
    the few pairs on an upstroke. Uses at most ``max_frames`` adjacent pairs, spread over the record. With
    ``max_pixels``, only a regular subsample of about that many pixels is measured (returned flat).
    """
    m = as_movie(movie)
    step = max(1, (m.shape[0] - 1) // max_frames)
    idx = np.arange(0, m.shape[0] - 1, step)[:max_frames]
    flat = m.reshape(m.shape[0], -1)
    stride = 1 if max_pixels is None else noise_stride(flat.shape[1], max_pixels)
    d = np.ascontiguousarray((flat[idx + 1, ::stride] - flat[idx, ::stride]).T)
    mad = np.median(np.abs(d - np.median(d, axis=1, keepdims=True)), axis=1)
    sig = 1.4826 * mad / np.sqrt(2.0)
    return sig.reshape(m.shape[1:]) if max_pixels is None else sig


def signal_to_noise(movie: np.ndarray, *, fired: np.ndarray | None = None,
                    swing: np.ndarray | None = None) -> float:
    """SNR of a movie: median action-potential swing over median single-pixel, single-frame noise.

    Definition used throughout optowave: SNR = (median over fired tissue pixels of the swing max − min of the
    signal, smoothed so that noise barely inflates it: by default 2 pixels in space and 1 frame in time) /
    (median over tissue pixels of the raw per-frame noise standard deviation, :func:`noise_sigma`). For a
    camera movie of dF/F this is the AP's dF/F divided by the rms dF/F noise of one pixel in one frame.

    Parameters
    ----------
    movie : ndarray, shape (n_t, ny, nx)
        The raw (unsmoothed) signal, NaN off tissue.
    fired : ndarray of bool, optional
        Pixels whose swing counts (default: all tissue).
    swing : ndarray, optional
        Per-pixel swing already measured on a smoothed copy (saves a pass over a large movie).
    """
    m = as_movie(movie)
    if swing is None:
        lo, hi = extremes(smooth(m, sigma_px=2.0, sigma_frames=1.0))
        swing = hi - lo
    sig = noise_sigma(m, max_pixels=SNR_NOISE_PIXELS)  # a median over tissue: a regular subsample measures it
    return snr_from_noise(swing, sig, tissue=np.isfinite(m[0]), fired=fired)


def noise_stride(n_pixels: int, max_pixels: int) -> int:
    """Stride through the flattened pixels that leaves about ``max_pixels`` of them (see :func:`noise_sigma`)."""
    return max(1, n_pixels // max_pixels)


def snr_from_noise(swing: np.ndarray, sig: np.ndarray, *, tissue: np.ndarray,
                   fired: np.ndarray | None = None) -> float:
    """The SNR of :func:`signal_to_noise` from its parts, whichever way they were measured.

    Parameters
    ----------
    swing : ndarray (ny, nx)
        Per-pixel AP swing.
    sig : ndarray, flat
        Per-pixel noise of every ``noise_stride(ny·nx, SNR_NOISE_PIXELS)``-th pixel of the flattened sheet.
    tissue : ndarray of bool (ny, nx)
        Where the raw movie's first frame is finite.
    fired : ndarray of bool, optional
        Pixels whose swing counts (default: all tissue).
    """
    stride = noise_stride(tissue.size, SNR_NOISE_PIXELS)
    sig = sig[tissue.ravel()[::stride] & np.isfinite(sig)]
    fired = tissue if fired is None else (fired & tissue)
    if not np.any(fired) or sig.size == 0:
        return float("nan")
    return float(np.median(swing[fired]) / np.median(sig))
