"""Small validators shared by the readout settings; every message names field, value and allowed range."""

from __future__ import annotations

import math
from numbers import Integral, Real

__all__ = ["check_real", "check_int"]


def check_real(
    path: str,
    value: object,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
    why: str = "",
) -> float:
    """Return ``value`` as a float, or raise ``ValueError``/``TypeError`` naming ``path``.

    Parameters
    ----------
    path : str
        The field path used in the message, e.g. ``"camera.exposure_ms"``.
    value : object
        The value to check; must be a finite real number (booleans are refused).
    low, high : float
        The allowed interval's ends.
    low_open, high_open : bool
        Whether an end is excluded.
    why : str
        Optional note appended to the message (what the bound is).
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{path} = {value!r} must be a real number")
    x = float(value)
    below = x <= low if low_open else x < low
    above = x >= high if high_open else x > high
    if not math.isfinite(x) or below or above:
        lo = "" if low == -math.inf else f"{low:g} {'<' if low_open else '<='} "
        hi = "" if high == math.inf else f" {'<' if high_open else '<='} {high:g}"
        note = f" ({why})" if why else ""
        raise ValueError(f"{path} = {value!r} is out of range: allowed {lo}{path.rsplit('.', 1)[-1]}{hi}"
                         f"{' and finite' if not lo and not hi else ''}{note}")
    return x


def check_int(path: str, value: object, *, low: int, high: int | None = None) -> int:
    """Return ``value`` as an int, or raise naming ``path``, the value and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{path} = {value!r} must be an integer")
    if value < low or (high is not None and value > high):
        hi = f" <= {high}" if high is not None else ""
        raise ValueError(f"{path} = {value!r} is out of range: allowed {low} <= {path.rsplit('.', 1)[-1]}{hi}")
    return int(value)
