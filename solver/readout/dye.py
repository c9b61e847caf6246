"""The BeRST1-like voltage dye: fluorescence as a function of membrane potential (MODEL.md section 5).

    F(x, t) = F0(x) · (1 + s·(V − V_ref)/100 mV) · exp(−t/τ_bleach)

The response is instantaneous at camera rates, so the dye is a pointwise map from V to relative fluorescence;
the camera (:mod:`solver.readout.camera`) integrates it over exposures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._checks import check_real

__all__ = ["Dye", "relative_fluorescence", "bleach_factor"]


@dataclass(frozen=True, eq=False)
class Dye:
    """Settings of the voltage dye.

    Parameters
    ----------
    sensitivity_per_100mv : float
        s, the fractional change of fluorescence per 100 mV (BeRST1: about 0.24, *unconfirmed*). Negative values
        describe dyes that dim on depolarisation.
    v_ref_mv : float
        The potential at which F = F0 (mV).
    bleach_tau_ms : float
        Photobleaching time constant (ms), counted from the start of imaging; 0 means no bleaching.
    brightness : numpy.ndarray or None
        Relative F0 per grid cell, shape ``(ny, nx)``, >= 0; None means 1 everywhere. Off-tissue cells carry no
        dye whatever this map says.
    """

    sensitivity_per_100mv: float = 0.24
    v_ref_mv: float = -70.0
    bleach_tau_ms: float = 0.0
    brightness: np.ndarray | None = None

    def validate(self, shape: tuple[int, int] | None = None) -> None:
        """Raise ``ValueError``/``TypeError`` naming the first bad field, its value and the allowed range.

        Parameters
        ----------
        shape : tuple of int, optional
            The grid ``(ny, nx)``; when given, the brightness map must have this shape.
        """
        check_real("dye.sensitivity_per_100mv", self.sensitivity_per_100mv, low=-1.0, high=1.0)
        check_real("dye.v_ref_mv", self.v_ref_mv, low=-500.0, high=500.0)
        check_real("dye.bleach_tau_ms", self.bleach_tau_ms, low=0.0)
        if self.brightness is None:
            return
        b = np.asarray(self.brightness)
        if b.ndim != 2 or not np.issubdtype(b.dtype, np.number):
            raise ValueError(f"dye.brightness must be a 2-D numeric array (ny, nx); got shape {b.shape}, "
                             f"dtype {b.dtype}")
        if shape is not None and b.shape != tuple(shape):
            raise ValueError(f"dye.brightness has shape {b.shape}; allowed: the grid shape {tuple(shape)}")
        if not np.all(np.isfinite(b)) or np.any(b < 0):
            raise ValueError(f"dye.brightness has values outside the allowed range 0 <= brightness < inf "
                             f"(min {np.nanmin(b):g}, non-finite {int(np.sum(~np.isfinite(b)))})")

    def f0_map(self, mask: np.ndarray) -> np.ndarray:
        """Relative F0 per cell (float64, shape of ``mask``): the brightness map on tissue, 0 off tissue."""
        f0 = np.asarray(mask, dtype=np.float64) > 0
        f0 = f0.astype(np.float64)
        if self.brightness is not None:
            f0 *= np.asarray(self.brightness, dtype=np.float64)
        return f0

    def to_dict(self) -> dict[str, object]:
        """The settings as JSON-friendly attributes (the brightness map is summarised, not copied)."""
        return {
            "sensitivity_per_100mv": float(self.sensitivity_per_100mv),
            "v_ref_mv": float(self.v_ref_mv),
            "bleach_tau_ms": float(self.bleach_tau_ms),
            "brightness": "uniform" if self.brightness is None else "map",
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Dye):
            return NotImplemented
        same_map = (self.brightness is None and other.brightness is None) or (
            self.brightness is not None and other.brightness is not None
            and np.array_equal(self.brightness, other.brightness))
        return same_map and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        b = None if self.brightness is None else np.asarray(self.brightness).tobytes()
        return hash((self.sensitivity_per_100mv, self.v_ref_mv, self.bleach_tau_ms, b))


def bleach_factor(dye: Dye, t_since_start_ms: float | np.ndarray) -> float | np.ndarray:
    """exp(−t/τ_bleach), or 1 when ``dye.bleach_tau_ms`` is 0."""
    if dye.bleach_tau_ms == 0.0:
        return np.ones_like(t_since_start_ms, dtype=float) if np.ndim(t_since_start_ms) else 1.0
    if np.ndim(t_since_start_ms):
        return np.exp(-np.asarray(t_since_start_ms, dtype=float) / dye.bleach_tau_ms)
    return math.exp(-float(t_since_start_ms) / dye.bleach_tau_ms)


def relative_fluorescence(v_mv: np.ndarray, *, dye: Dye, t_since_start_ms: float = 0.0) -> np.ndarray:
    """F/F0 for membrane potential ``v_mv`` (mV) at time ``t_since_start_ms`` after imaging started.

    Returns ``(1 + s·(V − V_ref)/100) · exp(−t/τ)``, without the brightness map (multiply by
    :meth:`Dye.f0_map` for F in units of F0).
    """
    s = dye.sensitivity_per_100mv / 100.0
    return (1.0 + s * (np.asarray(v_mv, dtype=np.float64) - dye.v_ref_mv)) * bleach_factor(dye, t_since_start_ms)
