"""Analytic wave fields with known answers, for checking the analysis and the camera (tests, benchmarks, demos).

Every field is V(x, y, t) = AP(t − T(x, y)) for a known activation map T, or V = f(phase) for a known phase
field; the activation times, speeds, APDs and singularities are therefore known exactly.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["action_potential", "travelling_wave", "planar_wave_times", "point_source_times", "spiral_wave",
           "as_dataset"]


def action_potential(tau_ms: np.ndarray, *, rest_mv: float = -75.0, amplitude_mv: float = 110.0,
                     upstroke_ms: float = 0.3, apd_ms: float = 20.0, repolarisation_ms: float = 3.0) -> np.ndarray:
    """An action-potential-like pulse: a tanh upstroke at τ = 0 times a tanh repolarisation at τ = ``apd_ms``.

    V = rest + A·½(1 + tanh(τ/w_up))·(1 − ½(1 + tanh((τ − apd)/w_down))); its 50 % upstroke crossing is at
    τ = 0 to within ½(1 + tanh(−apd/w_down)) of the swing.
    """
    tau = np.asarray(tau_ms, dtype=np.float64)
    up = 0.5 * (1.0 + np.tanh(tau / upstroke_ms))
    down = 0.5 * (1.0 + np.tanh((tau - apd_ms) / repolarisation_ms))
    return rest_mv + amplitude_mv * up * (1.0 - down)


def planar_wave_times(n: int, *, dx_um: float, speed_cm_per_s: float, angle_rad: float = 0.0,
                      t0_ms: float = 5.0) -> np.ndarray:
    """Activation map (ms) of a planar wave entering at the origin corner, moving at ``angle_rad`` from +x."""
    c = (np.arange(n) + 0.5) * dx_um
    x, y = np.meshgrid(c, c)
    return t0_ms + (x * np.cos(angle_rad) + y * np.sin(angle_rad)) / (speed_cm_per_s * 10.0)


def point_source_times(n: int, *, dx_um: float, speed_cm_per_s: float, source_um: tuple[float, float],
                       t0_ms: float = 5.0) -> np.ndarray:
    """Activation map (ms) of a circular wave from ``source_um`` = (x, y) at constant speed."""
    c = (np.arange(n) + 0.5) * dx_um
    x, y = np.meshgrid(c, c)
    return t0_ms + np.hypot(x - source_um[0], y - source_um[1]) / (speed_cm_per_s * 10.0)


def travelling_wave(activation_ms: np.ndarray, time_ms: np.ndarray, **ap_options) -> np.ndarray:
    """V movie ``(n_t, ny, nx)`` float32: every pixel fires :func:`action_potential` at its activation time."""
    t = np.asarray(time_ms, dtype=np.float64)
    return action_potential(t[:, None, None] - np.asarray(activation_ms)[None], **ap_options).astype(np.float32)


def spiral_wave(n: int, time_ms: np.ndarray, *, dx_um: float, period_ms: float,
                cores: tuple[tuple[float, float, int], ...], rest_mv: float = -75.0,
                amplitude_mv: float = 110.0, level: float = 0.2) -> np.ndarray:
    """V movie of rigidly rotating spirals: phase = Σ sign·atan2(y − y0, x − x0) − 2π t/period.

    Parameters
    ----------
    n : int
        Grid side.
    time_ms : ndarray
        Sample times (ms).
    dx_um : float
        Grid spacing (µm).
    period_ms : float
        Rotation period (ms).
    cores : tuple of (x_um, y_um, sign)
        Each core's position and winding sign (+1 or −1); two cores of opposite sign make a figure-of-eight.
    level : float
        V = rest + A·½(1 + tanh((cos φ − level)/0.25)): the tissue is excited while cos φ > level
        (0.2: about 44 % of each cycle).
    """
    c = (np.arange(n) + 0.5) * dx_um
    x, y = np.meshgrid(c, c)
    theta = np.zeros_like(x)
    for x0, y0, sign in cores:
        theta += sign * np.arctan2(y - y0, x - x0)
    t = np.asarray(time_ms, dtype=np.float64)
    phase = theta[None] - 2.0 * np.pi * t[:, None, None] / period_ms
    v = rest_mv + amplitude_mv * 0.5 * (1.0 + np.tanh((np.cos(phase) - level) / 0.25))
    return v.astype(np.float32)


def as_dataset(v: np.ndarray, time_ms: np.ndarray, *, dx_um: float, mask: np.ndarray | None = None,
               irradiance: np.ndarray | None = None, seed: int = 0, model: str = "synthetic") -> xr.Dataset:
    """Wrap a V movie in the solver's result layout (``v`` on time, y, x; coordinates in ms and µm)."""
    nt, ny, nx = v.shape
    data = {"v": (("time", "y", "x"), v, {"units": "mV", "long_name": "membrane potential"})}
    if mask is not None:
        data["mask"] = (("y", "x"), np.asarray(mask, np.uint8), {"units": "1", "long_name": "tissue mask"})
    if irradiance is not None:
        data["irradiance"] = (("time", "y", "x"), irradiance, {"units": "mW/mm²", "long_name": "irradiance"})
    coords = {
        "time": ("time", np.asarray(time_ms, float), {"units": "ms", "long_name": "time"}),
        "y": ("y", (np.arange(ny) + 0.5) * dx_um, {"units": "µm", "long_name": "y"}),
        "x": ("x", (np.arange(nx) + 0.5) * dx_um, {"units": "µm", "long_name": "x"}),
    }
    dt = float(np.median(np.diff(time_ms))) if nt > 1 else 0.0
    return xr.Dataset(data, coords=coords, attrs={"dx_um": float(dx_um), "dt_ms": dt, "seed": seed, "model": model})
