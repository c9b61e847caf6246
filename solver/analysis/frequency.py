"""Dominant-frequency map: the peak of each pixel's power spectrum.

Each pixel's trace is detrended (mean removed), Hann-windowed and Fourier transformed; the dominant frequency is
the largest peak at or above ``min_hz`` (default: two cycles over the record, so slow drift and bleaching do not
win), refined between bins by a parabola through the log-power of the peak and its neighbours. The movie is
processed in blocks of pixels, so memory stays bounded.

A frequency needs at least two beats: a pixel whose trace rises through 60 % of its swing (from
below 40 %, so noise on one upstroke counts once) fewer than ``min_beats`` times gets NaN, not
the peak of the spectrum of one pulse (which is about one over the pulse's width, not a rate).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy import fft

from ._signal import as_movie, check_times

__all__ = ["dominant_frequency"]


def dominant_frequency(movie: np.ndarray, time_ms: np.ndarray, *, min_hz: float | None = None,
                       max_hz: float | None = None, block_pixels: int = 2048, min_beats: int = 2) -> np.ndarray:
    """Dominant frequency (Hz) per pixel of an evenly sampled movie; NaN off tissue, for a flat trace
    and for fewer than ``min_beats`` beats.

    Parameters
    ----------
    movie : ndarray, shape (n_t, ny, nx)
        The signal, NaN off tissue.
    time_ms : ndarray, shape (n_t,)
        Evenly spaced sample times (ms).
    min_hz, max_hz : float, optional
        Search band (Hz); default from two cycles per record up to the Nyquist frequency.
    block_pixels : int
        Pixels transformed at once.
    min_beats : int
        Fewest beats (upstrokes, see the module notes) for a frequency.
    """
    m = as_movie(movie)
    t = check_times(time_ms, m.shape[0], uniform=True)
    n = m.shape[0]
    if n < 8:
        raise ValueError(f"dominant_frequency needs at least 8 frames; got {n}")
    dt_s = (t[-1] - t[0]) / (n - 1) / 1000.0
    freqs = fft.rfftfreq(n, dt_s)
    lo_hz = 2.0 / (n * dt_s) if min_hz is None else min_hz
    hi_hz = freqs[-1] if max_hz is None else max_hz
    band = np.flatnonzero((freqs >= lo_hz) & (freqs <= hi_hz))
    if band.size < 3:
        raise ValueError(f"the band {lo_hz:g}..{hi_hz:g} Hz holds {band.size} frequency bins; allowed: >= 3")
    lo, hi = int(band[0]), int(band[-1])
    win = np.hanning(n).astype(m.dtype)[:, None]
    flat = m.reshape(n, -1)
    out = np.empty(flat.shape[1])
    for start in range(0, flat.shape[1], block_pixels):
        block = flat[:, start:start + block_pixels]
        x = block * win
        if lo < 2:  # the Hann window leaks the mean into bin 1 only: remove it when bin 1 is searched
            x -= win * block.mean(axis=0)
        beats = _beats(np.ascontiguousarray(block))
        z = fft.rfft(x, axis=0, workers=1, overwrite_x=True)
        f = _peak_bin(z, lo, hi) * (freqs[1] - freqs[0])
        out[start:start + block_pixels] = np.where(beats >= min_beats, f, np.nan)
    return out.reshape(m.shape[1:])


@njit(cache=True)
def _beats(x):  # pragma: no cover - compiled
    """Per column: upward passes through 60 % of the swing, each after a visit below 40 %."""
    nt, nc = x.shape
    out = np.zeros(nc, np.int64)
    for c in range(nc):
        lo = np.inf
        hi = -np.inf
        for k in range(nt):
            v = x[k, c]
            if v < lo:
                lo = v
            if v > hi:
                hi = v
        if not hi > lo:
            continue  # flat or non-finite
        low = lo + 0.4 * (hi - lo)
        high = lo + 0.6 * (hi - lo)
        armed = x[0, c] < low  # a trace that starts high has not begun a beat we can count
        n = 0
        for k in range(1, nt):
            v = x[k, c]
            if armed and v >= high:
                n += 1
                armed = False
            elif not armed and v < low:
                armed = True
        out[c] = n
    return out


@njit(cache=True)
def _peak_bin(z, lo, hi):  # pragma: no cover - compiled
    """Per column: the bin of the largest |z|² in lo..hi, refined by a parabola through the log-power."""
    nc = z.shape[1]
    best = np.full(nc, -1.0)
    arg = np.zeros(nc, np.int64)
    for f in range(lo, hi + 1):
        for c in range(nc):
            p = z[f, c].real ** 2 + z[f, c].imag ** 2
            if p > best[c]:
                best[c] = p
                arg[c] = f
    out = np.full(nc, np.nan)
    for c in range(nc):
        if not best[c] > 0.0:
            continue  # a flat or non-finite trace
        k = arg[c]
        out[c] = k
        if lo < k < hi:
            pm = z[k - 1, c].real ** 2 + z[k - 1, c].imag ** 2
            pp = z[k + 1, c].real ** 2 + z[k + 1, c].imag ** 2
            if pm > 0.0 and pp > 0.0:
                a, b, d = np.log(pm), np.log(best[c]), np.log(pp)
                denom = a - 2.0 * b + d
                if denom < 0.0:
                    out[c] = k + min(0.5, max(-0.5, 0.5 * (a - d) / denom))
    return out
