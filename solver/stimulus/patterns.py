"""Rasterise spatial patterns and fields onto the grid.

A shape's weight in a grid cell is the fraction of the cell it covers, estimated on an
``n_sub × n_sub`` sub-grid of each cell (exact for rectangles aligned with the grid up to the
sub-grid). Cell (i, j) spans x in [j·dx, (j+1)·dx) and y in [i·dx, (i+1)·dx), in µm.

Checkerboards, gratings and images are sampled the same way: a cell's weight is the mean of
the pattern's value at its sub-samples. A sum is not clipped, so its weight may exceed 1.
Angles are counter-clockwise as the sheet is drawn (x to the right, y downwards): the direction
at angle θ is ``(cos θ, −sin θ)``.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy import ndimage

from ..spec import _types as t

N_SUB = 8  # sub-samples per cell side; disk areas come out within ~0.1 % at 10 cells per radius
#: Luminance of an RGB image (ITU-R BT.709 weights, applied to the stored values).
LUMINANCE_RGB = (0.2126, 0.7152, 0.0722)


def rasterise(pattern: t.Pattern, ny: int, nx: int, dx_um: float, *, base_dir: str = ".") -> np.ndarray:
    """Weights of ``pattern`` on an ``ny × nx`` grid of spacing ``dx_um`` (µm).

    Coverage fractions in [0, 1] for shapes, checkerboards and gratings; image values averaged
    over each cell for an image; ``Σ scale·weight`` (unclipped) for a sum.
    """
    if isinstance(pattern, t.Everywhere):
        return np.ones((ny, nx))
    if isinstance(pattern, t.Raster):
        return load_raster(pattern, ny, nx, base_dir=base_dir)
    if isinstance(pattern, t.PatternUnion):
        out = np.zeros((ny, nx))
        for p in pattern.patterns:
            np.maximum(out, rasterise(p, ny, nx, dx_um, base_dir=base_dir), out=out)
        return out
    if isinstance(pattern, t.PatternDifference):
        first, *rest = pattern.patterns
        out = rasterise(first, ny, nx, dx_um, base_dir=base_dir)
        for p in rest:
            out = out - rasterise(p, ny, nx, dx_um, base_dir=base_dir)
        return np.maximum(out, 0.0)
    if isinstance(pattern, t.PatternSum):
        out = np.zeros((ny, nx))
        for term in pattern.terms:
            out += term.scale * rasterise(term.pattern, ny, nx, dx_um, base_dir=base_dir)
        return out
    return _coverage(_value_function(pattern, ny, nx, dx_um, base_dir), ny, nx, dx_um)


def load_raster(r: t.Raster, ny: int, nx: int, *, base_dir: str = ".") -> np.ndarray:
    """The raster's values as an ``(ny, nx)`` float64 array (inline values or a .npy file)."""
    if r.values is not None:
        return np.asarray(r.values, dtype=np.float64).reshape(tuple(r.shape))
    return np.asarray(np.load(_resolve(r.npy_path, base_dir)), dtype=np.float64)


def load_image(image: t.Image, *, base_dir: str = ".") -> np.ndarray:
    """The image's pixel values, ``(rows, columns)`` float64: its raster, or its PNG as luminance in [0, 1].

    A gray PNG is read as is; RGB becomes ``0.2126·R + 0.7152·G + 0.0722·B``; RGBA is that times alpha.
    """
    if image.pixels is not None:
        r = image.pixels
        if r.values is not None:
            return np.asarray(r.values, dtype=np.float64).reshape(tuple(r.shape))
        return np.asarray(np.load(_resolve(r.npy_path, base_dir)), dtype=np.float64)
    from matplotlib import image as mpimg

    a = np.asarray(mpimg.imread(_resolve(image.png_path, base_dir), format="png"))
    if np.issubdtype(a.dtype, np.integer):
        a = a / np.iinfo(a.dtype).max
    a = a.astype(np.float64)
    if a.ndim == 3:
        lum = a[..., :3] @ np.asarray(LUMINANCE_RGB) if a.shape[2] >= 3 else a[..., 0]
        if a.shape[2] in (2, 4):   # gray+alpha or RGBA
            lum = lum * a[..., -1]
        a = lum
    return a


def image_corners_um(image: t.Image, rows: int, cols: int) -> np.ndarray:
    """Sheet coordinates (µm) of the image's corners, ``(4, 2)``: top-left, top-right, bottom-right, bottom-left."""
    c, s = cos_sin_deg(image.rotation_deg)
    uv = np.array([[0.0, 0.0], [cols, 0.0], [cols, rows], [0.0, rows]])
    h = image.pixel_pitch_um
    x = image.offset_um.x + h * (uv[:, 0] * c + uv[:, 1] * s)
    y = image.offset_um.y + h * (-uv[:, 0] * s + uv[:, 1] * c)
    return np.stack([x, y], axis=1)


def cos_sin_deg(angle_deg: float) -> tuple[float, float]:
    """``(cos, sin)`` of an angle in degrees, exact at multiples of 90°."""
    q, r = divmod(angle_deg, 90.0)
    if r == 0.0:
        return ((1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0))[int(q) % 4]
    a = math.radians(angle_deg)
    return math.cos(a), math.sin(a)


def _resolve(path: str, base_dir: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else Path(base_dir) / p


def _coverage(value, ny: int, nx: int, dx_um: float) -> np.ndarray:
    """Mean of ``value(X, Y)`` over the ``N_SUB × N_SUB`` sub-samples of every cell."""
    out = np.empty((ny, nx))
    sub = (np.arange(N_SUB) + 0.5) / N_SUB
    xs = ((np.arange(nx)[:, None] + sub[None, :]) * dx_um).ravel()          # (nx*N_SUB,)
    rows_per_block = max(1, 2**20 // max(1, nx * N_SUB * N_SUB))
    for i0 in range(0, ny, rows_per_block):
        i1 = min(ny, i0 + rows_per_block)
        ys = ((np.arange(i0, i1)[:, None] + sub[None, :]) * dx_um).ravel()  # ((i1-i0)*N_SUB,)
        X, Y = np.meshgrid(xs, ys)
        hit = np.asarray(value(X, Y), dtype=np.float64)
        out[i0:i1] = hit.reshape(i1 - i0, N_SUB, nx, N_SUB).mean(axis=(1, 3))
    return out


def _value_function(p, ny: int, nx: int, dx_um: float, base_dir: str):
    """The pattern's value at points ``(X, Y)`` (µm): the function whose cell means are the weights."""
    if isinstance(p, t.Everywhere):
        return lambda X, Y: np.ones(X.shape)
    if isinstance(p, t.Raster):
        values = load_raster(p, ny, nx, base_dir=base_dir)

        def on_grid(X, Y):  # the value of the grid cell a point lies in
            i = np.clip(np.floor(Y / dx_um).astype(np.int64), 0, ny - 1)
            j = np.clip(np.floor(X / dx_um).astype(np.int64), 0, nx - 1)
            return values[i, j]

        return on_grid
    if isinstance(p, (t.PatternUnion, t.PatternDifference, t.PatternSum)):
        parts = [q.pattern for q in p.terms] if isinstance(p, t.PatternSum) else list(p.patterns)
        fs = [_value_function(q, ny, nx, dx_um, base_dir) for q in parts]
        if isinstance(p, t.PatternUnion):
            return lambda X, Y: np.max([np.asarray(f(X, Y), dtype=np.float64) for f in fs], axis=0)
        if isinstance(p, t.PatternDifference):
            return lambda X, Y: np.maximum(fs[0](X, Y) - sum(np.asarray(f(X, Y), dtype=np.float64)
                                                             for f in fs[1:]), 0.0)
        scales = [q.scale for q in p.terms]
        return lambda X, Y: sum(k * np.asarray(f(X, Y), dtype=np.float64) for k, f in zip(scales, fs))
    if isinstance(p, t.Checkerboard):
        region = _value_function(p.region, ny, nx, dx_um, base_dir)
        a, ox, oy = p.square_um, p.origin_um.x, p.origin_um.y

        def checkerboard(X, Y):
            lit = (np.floor((X - ox) / a) + np.floor((Y - oy) / a)) % 2 == 0
            return lit * np.asarray(region(X, Y), dtype=np.float64)

        return checkerboard
    if isinstance(p, t.Grating):
        region = _value_function(p.region, ny, nx, dx_um, base_dir)
        c, s = cos_sin_deg(p.angle_deg)

        def grating(X, Y):
            lit = np.mod(X * c - Y * s - p.phase_um, p.period_um) < p.duty_cycle * p.period_um
            return lit * np.asarray(region(X, Y), dtype=np.float64)

        return grating
    if isinstance(p, t.Image):
        return _image_function(p, load_image(p, base_dir=base_dir))
    return _inside_function(p)


def _image_function(p: t.Image, values: np.ndarray):
    rows, cols = values.shape
    c, s = cos_sin_deg(p.rotation_deg)
    h, ox, oy = p.pixel_pitch_um, p.offset_um.x, p.offset_um.y

    def image(X, Y):  # invert (x, y) = offset + h·(u c + v s, −u s + v c)
        dX, dY = X - ox, Y - oy
        col = np.floor((c * dX - s * dY) / h)
        row = np.floor((s * dX + c * dY) / h)
        inside = (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
        out = np.zeros(X.shape)
        out[inside] = values[row[inside].astype(np.int64), col[inside].astype(np.int64)]
        return out

    return image


def _inside_function(p):
    if isinstance(p, t.Disk):
        cx, cy, r2 = p.center_um.x, p.center_um.y, p.radius_um**2
        return lambda X, Y: (X - cx) ** 2 + (Y - cy) ** 2 < r2
    if isinstance(p, t.Ring):
        cx, cy = p.center_um.x, p.center_um.y
        a, b = p.inner_radius_um**2, p.outer_radius_um**2
        return lambda X, Y: ((X - cx) ** 2 + (Y - cy) ** 2 >= a) & ((X - cx) ** 2 + (Y - cy) ** 2 < b)
    if isinstance(p, t.Rectangle):
        x0, x1 = sorted((p.min_um.x, p.max_um.x))
        y0, y1 = sorted((p.min_um.y, p.max_um.y))
        return lambda X, Y: (X >= x0) & (X < x1) & (Y >= y0) & (Y < y1)
    if isinstance(p, t.Line):
        ax, ay, bx, by, half = p.start_um.x, p.start_um.y, p.end_um.x, p.end_um.y, p.width_um / 2

        def inside(X, Y):
            dxs, dys = bx - ax, by - ay
            L2 = dxs * dxs + dys * dys
            s = np.clip(((X - ax) * dxs + (Y - ay) * dys) / L2, 0.0, 1.0) if L2 > 0 else 0.0
            return (X - ax - s * dxs) ** 2 + (Y - ay - s * dys) ** 2 <= half * half

        return inside
    if isinstance(p, t.Polygon):
        vx = np.array([v.x for v in p.vertices_um])
        vy = np.array([v.y for v in p.vertices_um])

        def inside(X, Y):  # even-odd rule, one edge at a time
            res = np.zeros(X.shape, dtype=bool)
            for k in range(len(vx)):
                x0, y0, x1, y1 = vx[k - 1], vy[k - 1], vx[k], vy[k]
                crosses = (y0 > Y) != (y1 > Y)
                with np.errstate(divide="ignore", invalid="ignore"):
                    xc = x0 + (Y - y0) * (x1 - x0) / (y1 - y0)
                res ^= crosses & (X < xc)
            return res

        return inside
    raise TypeError(f"not a shape: {p!r}")


def field_values(
    f: t.Field, base: float, ny: int, nx: int, dx_um: float, *, rng: np.random.Generator, base_dir: str = "."
) -> np.ndarray:
    """Per-cell values of a :class:`~solver.spec._types.Field` whose base (uniform) value is ``base``."""
    if isinstance(f, t.Raster):
        return load_raster(f, ny, nx, base_dir=base_dir)
    if isinstance(f, t.LinearGradient):
        x = (np.arange(nx) + 0.5) * dx_um
        y = (np.arange(ny) + 0.5) * dx_um
        X, Y = np.meshgrid(x, y)
        ex, ey = f.end_um.x - f.start_um.x, f.end_um.y - f.start_um.y
        s = np.clip(((X - f.start_um.x) * ex + (Y - f.start_um.y) * ey) / (ex * ex + ey * ey), 0.0, 1.0)
        return f.start_value + (f.end_value - f.start_value) * s
    if isinstance(f, t.RandomVariation):
        z = rng.standard_normal((ny, nx))
        if f.correlation_length_um > 0:
            z = ndimage.gaussian_filter(z, f.correlation_length_um / dx_um, mode="reflect")
            z /= max(z.std(), 1e-300)
        sigma2 = np.log1p(f.cv**2)
        return base * np.exp(np.sqrt(sigma2) * z - sigma2 / 2)
    raise TypeError(f"not a field: {f!r}")
