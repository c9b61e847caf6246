"""Time courses of stimuli: a dimensionless factor f(t), evaluated on arrays of times (ms)."""
from __future__ import annotations

import numpy as np

from ..spec import _types as t


def evaluate(w: t.Waveform, t_ms: np.ndarray) -> np.ndarray:
    """f(t) for every time in ``t_ms`` (float64 array)."""
    t_ms = np.asarray(t_ms, dtype=np.float64)
    if isinstance(w, t.Constant):
        return np.ones_like(t_ms)
    if isinstance(w, t.Pulse):
        return ((t_ms >= w.start_ms) & (t_ms < w.start_ms + w.width_ms)).astype(np.float64)
    if isinstance(w, t.PulseTrain):
        k = np.floor((t_ms - w.start_ms) / w.period_ms)
        on = (t_ms >= w.start_ms) & (t_ms - w.start_ms - k * w.period_ms < w.width_ms)
        if w.count:
            on &= k < w.count
        return on.astype(np.float64)
    if isinstance(w, t.Ramp):
        return np.clip((t_ms - w.start_ms) / (w.end_ms - w.start_ms), 0.0, 1.0)
    if isinstance(w, t.Sine):
        phase = 2 * np.pi * w.frequency_hz * (t_ms - w.start_ms) / 1000.0 + np.deg2rad(w.phase_deg)
        on = t_ms >= w.start_ms
        if w.duration_ms > 0:
            on &= t_ms < w.start_ms + w.duration_ms
        return np.where(on, w.offset + w.amplitude * np.sin(phase), 0.0)
    if isinstance(w, t.Sampled):
        ts = np.asarray(w.times_ms, dtype=np.float64)
        vs = np.asarray(w.values, dtype=np.float64)
        if w.interpolation == "linear":
            return np.where(t_ms < ts[0], 0.0, np.interp(t_ms, ts, vs))
        idx = np.searchsorted(ts, t_ms, side="right") - 1
        return np.where(idx < 0, 0.0, vs[np.clip(idx, 0, len(vs) - 1)])
    raise TypeError(f"not a waveform: {w!r}")


def minimum(w: t.Waveform) -> float:
    """The least value f can take (for checking that light stays >= 0)."""
    if isinstance(w, t.Sine):
        return min(0.0, w.offset - abs(w.amplitude))
    if isinstance(w, t.Sampled):
        return min((0.0, *w.values))
    return 0.0
