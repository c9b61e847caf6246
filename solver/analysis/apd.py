"""Action-potential duration maps (APD50, APD90) of the first beat.

APD_X of a pixel runs from its activation time (the upstroke's ``threshold`` crossing, 50 % by default, see
:mod:`solver.analysis.activation`) to the first later downward crossing of the level X % of the way from the
peak back to rest, ``hi − X/100·(hi − lo)``; rest and peak are the pixel's minimum and maximum over the record.
Both ends are interpolated linearly between samples.
"""

from __future__ import annotations

import numpy as np

from .activation import crossing_times

__all__ = ["action_potential_duration"]


def action_potential_duration(
    movie: np.ndarray,
    time_ms: np.ndarray,
    *,
    percent: tuple[float, ...] = (50.0, 90.0),
    threshold: float = 0.5,
    min_amplitude: float = 0.0,
    hold: int = 0,
) -> dict[float, np.ndarray]:
    """APD maps (ms) for each repolarisation percentage in ``percent``; NaN where not fired or not repolarised.

    Parameters
    ----------
    movie : ndarray, shape (n_t, ny, nx)
        V (mV) or dF/F, NaN off tissue.
    time_ms : ndarray, shape (n_t,)
        Sample times (ms).
    percent : tuple of float
        Repolarisation percentages, each in (0, 100).
    threshold, min_amplitude, hold
        As in :func:`solver.analysis.activation.crossing_times`.

    Returns
    -------
    dict of float to ndarray
        ``{50.0: apd50_map, 90.0: apd90_map}`` for the default.
    """
    for p in percent:
        if not 0.0 < p < 100.0:
            raise ValueError(f"percent {p!r} is out of range: allowed 0 < percent < 100")
    act, rep, _, _ = crossing_times(movie, time_ms, threshold=threshold,
                                    repolarisation=tuple(p / 100.0 for p in percent),
                                    min_amplitude=min_amplitude, hold=hold)
    return {float(p): rep[i] - act for i, p in enumerate(percent)}
