"""Conduction velocity from the activation-time map.

At every pixel a plane ``T ≈ a + gx·Δx + gy·Δy`` is fitted by least squares to the finite activation times in a
``(2w+1)²`` window (the standard local-plane method of optical mapping; it tolerates holes, edges and noise). The
velocity is ``∇T/|∇T|²`` (it points along the gradient, its size is one over the slowness). A pixel's estimate
is *reliable* when the window holds enough points and the plane explains the times (R² above ``min_r2``): this
drops wave-collision lines, the source itself and noise-dominated patches, where |∇T| → 0 would give huge
speeds. The scalar summary is the median speed over the reliable pixels.

Units: activation in ms, spacing in µm, so ∇T is in ms/µm and 1 µm/ms = 0.1 cm/s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["ConductionVelocity", "conduction_velocity"]

_UM_PER_MS_IN_CM_PER_S = 0.1


@dataclass(frozen=True, eq=False)
class ConductionVelocity:
    """Velocity field and summary.

    Attributes
    ----------
    cv_x, cv_y : ndarray (ny, nx)
        Velocity components (cm/s); NaN where the fit was impossible.
    r2 : ndarray (ny, nx)
        Coefficient of determination of the local plane fit.
    reliable : ndarray of bool (ny, nx)
        Where the estimate passes the reliability tests.
    median_cm_per_s : float
        Median speed over reliable pixels (NaN if none).
    """

    cv_x: np.ndarray
    cv_y: np.ndarray
    r2: np.ndarray
    reliable: np.ndarray
    median_cm_per_s: float

    @property
    def speed(self) -> np.ndarray:
        """Speed map |v| (cm/s)."""
        return np.hypot(self.cv_x, self.cv_y)


def conduction_velocity(
    activation_ms: np.ndarray,
    *,
    dx_um: float,
    window_px: int = 2,
    min_points_fraction: float = 0.6,
    min_r2: float = 0.8,
) -> ConductionVelocity:
    """Velocity field (cm/s) from an activation-time map (ms) on a square grid of pitch ``dx_um`` (µm).

    Parameters
    ----------
    activation_ms : ndarray (ny, nx)
        Activation times, NaN where never activated or off tissue.
    dx_um : float
        Pixel pitch (µm).
    window_px : int
        Half-width of the fitting window, in pixels (2 → 5×5).
    min_points_fraction : float
        Fraction of the window's pixels inside the grid that must hold finite times for a reliable
        estimate (inside the grid: a thin strip is not unreliable for being thinner than the window).
    min_r2 : float
        Smallest R² of the plane fit for a reliable estimate.
    """
    if window_px < 1:
        raise ValueError(f"window_px = {window_px!r} is out of range: allowed window_px >= 1")
    if not dx_um > 0:
        raise ValueError(f"dx_um = {dx_um!r} is out of range: allowed dx_um > 0")
    act = np.asarray(activation_ms, dtype=np.float64)
    finite = np.isfinite(act)
    ref = np.nanmedian(act) if finite.any() else 0.0
    w = finite.astype(np.float64)
    t = np.where(finite, act - ref, 0.0)  # centred to keep the sums well conditioned
    off = np.arange(-window_px, window_px + 1, dtype=np.float64) * dx_um
    ky, kx = np.meshgrid(off, off, indexing="ij")
    one = np.ones_like(kx)

    def corr(a, k):
        return ndimage.correlate(a, k, mode="constant", cval=0.0)

    s, sx, sy = corr(w, one), corr(w, kx), corr(w, ky)
    in_grid = corr(np.ones_like(w), one)
    sxx, syy, sxy = corr(w, kx * kx), corr(w, ky * ky), corr(w, kx * ky)
    st, sxt, syt, stt = corr(t, one), corr(t, kx), corr(t, ky), corr(t * t, one)

    a = np.stack([np.stack([s, sx, sy], -1), np.stack([sx, sxx, sxy], -1), np.stack([sy, sxy, syy], -1)], -2)
    rhs = np.stack([st, sxt, syt], -1)
    fit = finite & (s >= 3)
    det = np.linalg.det(a[fit]) if fit.any() else np.zeros(0)
    fit[fit] = np.abs(det) > 1e-12 * np.maximum(1.0, np.abs(a[fit]).max(axis=(1, 2))) ** 3
    coef = np.full(act.shape + (3,), np.nan)
    if fit.any():
        coef[fit] = np.linalg.solve(a[fit], rhs[fit][..., None])[..., 0]
    gx, gy = coef[..., 1], coef[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        ss_res = stt - (coef[..., 0] * st + gx * sxt + gy * syt)
        ss_tot = stt - st * st / s
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / ss_tot, np.nan)
        g2 = gx * gx + gy * gy
        cv_x = np.where(g2 > 0, gx / g2, np.nan) * _UM_PER_MS_IN_CM_PER_S
        cv_y = np.where(g2 > 0, gy / g2, np.nan) * _UM_PER_MS_IN_CM_PER_S
    reliable = fit & (s >= min_points_fraction * in_grid) & (r2 >= min_r2) & np.isfinite(cv_x)
    speed = np.hypot(cv_x, cv_y)
    median = float(np.median(speed[reliable])) if reliable.any() else float("nan")
    return ConductionVelocity(cv_x=cv_x, cv_y=cv_y, r2=r2, reliable=reliable, median_cm_per_s=median)
