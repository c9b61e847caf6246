"""Stimuli against the run: a sine the time step cannot resolve, a sampled waveform's interpolation, and
warnings for light or current that turns on after the run ends or falls entirely off the sheet.
``c`` is the validator's checker."""
from __future__ import annotations

import math

from . import _types as t
from ._limits import MAX_MAGNITUDE


def check_sampling(c, path: str, w, dt: float) -> None:
    """A sine faster than the step can resolve (above the Nyquist frequency 1/(2·dt)) is aliased, not run."""
    if isinstance(w, t.Sine) and math.isfinite(w.frequency_hz) and abs(w.frequency_hz) <= MAX_MAGNITUDE:
        nyquist_hz = 1000.0 / (2.0 * dt)
        if w.frequency_hz > nyquist_hz:
            c.error(f"{path}.sine.frequency_hz", f"{w.frequency_hz:g} Hz is above the Nyquist frequency of the time "
                    f"step, 1/(2·dt_ms) = {nyquist_hz:g} Hz; must be <= {nyquist_hz:g} Hz (or lower dt_ms)")
    if isinstance(w, t.Sampled) and w.interpolation not in ("step", "linear"):
        c.error(f"{path}.sampled.interpolation", f"{w.interpolation} is not an Interpolation; allowed: "
                "INTERPOLATION_STEP, INTERPOLATION_LINEAR")


def _first_on_ms(w) -> float | None:
    """When a waveform first turns on (ms), or None when it is on from the start or it cannot be told."""
    if isinstance(w, (t.Pulse, t.PulseTrain)):
        return w.start_ms
    if isinstance(w, t.Ramp):
        return w.start_ms
    if isinstance(w, t.Sine):
        return w.start_ms
    if isinstance(w, t.Sampled) and w.times_ms:
        nonzero = [tm for tm, v in zip(w.times_ms, w.values) if v != 0]
        return min(nonzero) if nonzero else math.inf
    return None


def warn_unseen(c, stimuli, spec: t.JobSpec, duration_ms: float) -> None:
    """Warn for a stimulus that turns on after the run ends, or whose pattern lights no cell of the sheet."""
    from ..stimulus.patterns import rasterise

    g = spec.grid
    for path, s in stimuli:
        start = _first_on_ms(s.waveform)
        if start is not None and start >= duration_ms:
            when = "never turns on" if math.isinf(start) else f"turns on at {start:g} ms"
            c.warn(f"{path}.waveform", f"{when}, at or after the end of the run (numerics.duration_ms = "
                   f"{duration_ms:g} ms): it will have no effect")
        if isinstance(s.pattern, t.Everywhere):
            continue
        try:
            w = rasterise(s.pattern, g.ny, g.nx, g.dx_um, base_dir=spec.base_dir)
        except (OSError, ValueError):
            continue
        if not (w > 0).any():
            c.warn(f"{path}.pattern", f"covers no cell of the sheet (x in [0, {g.nx * g.dx_um:g}], y in "
                   f"[0, {g.ny * g.dx_um:g}] µm): it will have no effect")


