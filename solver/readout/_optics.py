"""The optical and electronic path of one frame: PSF blur, pixel binning, photo-electrons, noise, ΔF/F.

The object is the sheet's fluorescence, constant over each grid cell. The point-spread function is a Gaussian
of width sigma; one native sensor pixel images one grid cell. The signal a native pixel collects is therefore
the object convolved with the Gaussian and integrated over the pixel: in 1-D a cell j contributes to pixel i

    k(m) = σ·[Ψ((m+1)/σ) − 2Ψ(m/σ) + Ψ((m−1)/σ)],   m = i − j (in cells),  Ψ(z) = z·Φ(z) + φ(z),

the Gaussian convolved with the two unit boxes (Ψ is the second antiderivative of the normal density φ). The
kernel is separable, sums to one, and tends to the identity as σ → 0. At the grid edge the image is reflected
back, so every photon lands on the sensor (total photons are conserved exactly).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage
from scipy.special import ndtr

__all__ = ["psf_kernel", "blur", "bin_pixels", "add_noise"]

_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _psi(z: np.ndarray) -> np.ndarray:
    return z * ndtr(z) + np.exp(-0.5 * z * z) / _SQRT_2PI


def psf_kernel(sigma_cells: float, *, truncate: float = 5.0) -> np.ndarray:
    """1-D pixel-integrated Gaussian kernel for a PSF of ``sigma_cells`` grid cells (normalised to sum 1)."""
    if sigma_cells <= 0.0:
        return np.ones(1)
    half = int(math.ceil(truncate * sigma_cells)) + 1
    m = np.arange(-half, half + 1, dtype=np.float64)
    s = sigma_cells
    k = s * (_psi((m + 1.0) / s) - 2.0 * _psi(m / s) + _psi((m - 1.0) / s))
    k = np.clip(k, 0.0, None)
    return k / k.sum()


def blur(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Separable blur of a 2-D ``image`` with the 1-D ``kernel``; edges reflect (photons conserved)."""
    if kernel.size == 1:
        return image
    out = ndimage.convolve1d(image, kernel, axis=0, mode="reflect")
    return ndimage.convolve1d(out, kernel, axis=1, mode="reflect")


def bin_pixels(image: np.ndarray, binning: int) -> np.ndarray:
    """Sum ``binning × binning`` blocks; rows and columns left over at the far edges are dropped (sensor ROI)."""
    if binning == 1:
        return image
    ny, nx = image.shape[0] // binning, image.shape[1] // binning
    cut = image[: ny * binning, : nx * binning]
    return cut.reshape(ny, binning, nx, binning).sum(axis=(1, 3))


def add_noise(electrons: np.ndarray, *, read_noise_e: float, rng: np.random.Generator) -> np.ndarray:
    """Counts (photo-electrons, gain 1, no offset): Poisson shot noise on ``electrons`` plus Gaussian read noise.

    The draws are made in a fixed order (shot noise, then read noise, row-major), so a generator seeded alike
    gives the same frame. Counts are kept as floats (no ADC quantisation, no clipping at zero).
    """
    counts = rng.poisson(np.clip(electrons, 0.0, None)).astype(np.float64)
    if read_noise_e > 0.0:
        counts += rng.normal(0.0, read_noise_e, size=counts.shape)
    return counts
