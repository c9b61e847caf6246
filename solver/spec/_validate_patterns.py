"""Validation of patterns and rasters: every problem names the field path, the value and the bound.

``c`` is the validator's checker (``error(path, message)`` and ``number(path, value, ...)``);
``g`` the spec's grid, ``grid_ok`` whether its size and spacing are valid.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import _types as t


def check_raster(c, path, r: t.Raster, g, base_dir, grid_ok, *, match_grid: bool = True):
    """Check a raster; return its values as a 2-D array, or None when they cannot be used.

    ``match_grid``: the raster is one value per grid cell (an image's pixels are not).
    """
    if r.values is not None and r.npy_path:
        c.error(path, "give values or npy_path, not both")
        return None
    if r.values is None and not r.npy_path:
        c.error(path, "empty raster: give values (with shape) or npy_path")
        return None
    if r.values is not None:
        if len(r.shape) != 2:
            c.error(f"{path}.shape", f"{list(r.shape)} must be [rows, columns]")
            return None
        if r.shape[0] * r.shape[1] != r.values.size:
            c.error(f"{path}.values", f"{r.values.size} values do not fill shape {list(r.shape)} "
                    f"({r.shape[0] * r.shape[1]} needed)")
            return None
        values = r.values.reshape(tuple(r.shape))
    else:
        p = Path(r.npy_path)
        p = p if p.is_absolute() else Path(base_dir) / p
        try:
            values = np.asarray(np.load(p), dtype=np.float64)
        except (OSError, ValueError) as exc:
            c.error(f"{path}.npy_path", f"cannot read {str(p)!r}: {exc}")
            return None
        if not match_grid and (values.ndim != 2 or 0 in values.shape):
            c.error(f"{path}.npy_path", f"{str(p)!r} holds an array of shape {list(values.shape)}; must be "
                    "[rows, columns], both >= 1")
            return None
    if match_grid and grid_ok and values.shape != (g.ny, g.nx):
        c.error(f"{path}.shape", f"{list(values.shape)} does not match the grid [ny, nx] = [{g.ny}, {g.nx}]")
        return None
    bad = ~np.isfinite(values)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        c.error(f"{path}.values", f"{values[i, j]!r} at (row {i}, column {j}) is not a finite number")
        return None
    return values


def check_pattern(c, path, p, g, base_dir, grid_ok):
    """Check a pattern and everything nested in it."""
    def pt(name, point):
        return c.number(f"{path}.{name}.x", point.x, what=" µm") & c.number(f"{path}.{name}.y", point.y, what=" µm")

    if isinstance(p, t.Everywhere):
        return
    if isinstance(p, t.Disk):
        pt("disk.center_um", p.center_um)
        c.number(f"{path}.disk.radius_um", p.radius_um, gt=0, what=" µm")
    elif isinstance(p, t.Rectangle):
        if pt("rectangle.min_um", p.min_um) & pt("rectangle.max_um", p.max_um):
            if p.max_um.x <= p.min_um.x or p.max_um.y <= p.min_um.y:
                c.error(f"{path}.rectangle.max_um", f"({p.max_um.x:g}, {p.max_um.y:g}) must lie right of and below "
                        f"min_um ({p.min_um.x:g}, {p.min_um.y:g})")
    elif isinstance(p, t.Ring):
        pt("ring.center_um", p.center_um)
        ok = c.number(f"{path}.ring.inner_radius_um", p.inner_radius_um, ge=0, what=" µm")
        if c.number(f"{path}.ring.outer_radius_um", p.outer_radius_um, gt=0, what=" µm") and ok:
            if p.outer_radius_um <= p.inner_radius_um:
                c.error(f"{path}.ring.outer_radius_um", f"{p.outer_radius_um:g} must be > inner_radius_um "
                        f"({p.inner_radius_um:g})")
    elif isinstance(p, t.Polygon):
        if len(p.vertices_um) < 3:
            c.error(f"{path}.polygon.vertices_um", f"{len(p.vertices_um)} vertices; a polygon needs at least 3")
        for k, v in enumerate(p.vertices_um):
            pt(f"polygon.vertices_um[{k}]", v)
    elif isinstance(p, t.Line):
        pt("line.start_um", p.start_um)
        pt("line.end_um", p.end_um)
        c.number(f"{path}.line.width_um", p.width_um, gt=0, what=" µm")
    elif isinstance(p, t.Raster):
        values = check_raster(c, f"{path}.raster", p, g, base_dir, grid_ok)
        _in_unit_interval(c, f"{path}.raster.values", values)
    elif isinstance(p, (t.PatternUnion, t.PatternDifference)):
        kind = "union" if isinstance(p, t.PatternUnion) else "difference"
        if not p.patterns:
            c.error(f"{path}.{kind}.patterns", "empty; give at least one pattern")
        for k, q in enumerate(p.patterns):
            check_pattern(c, f"{path}.{kind}.patterns[{k}]", q, g, base_dir, grid_ok)
    elif isinstance(p, t.Checkerboard):
        c.number(f"{path}.checkerboard.square_um", p.square_um, gt=0, what=" µm")
        pt("checkerboard.origin_um", p.origin_um)
        check_pattern(c, f"{path}.checkerboard.region", p.region, g, base_dir, grid_ok)
    elif isinstance(p, t.Grating):
        c.number(f"{path}.grating.period_um", p.period_um, gt=0, what=" µm")
        c.number(f"{path}.grating.duty_cycle", p.duty_cycle, gt=0, lt=1, what=" (the lit fraction of a period)")
        c.number(f"{path}.grating.angle_deg", p.angle_deg, what=" °")
        c.number(f"{path}.grating.phase_um", p.phase_um, what=" µm")
        check_pattern(c, f"{path}.grating.region", p.region, g, base_dir, grid_ok)
    elif isinstance(p, t.Image):
        _check_image(c, f"{path}.image", p, g, base_dir, grid_ok)
    elif isinstance(p, t.PatternSum):
        if not p.terms:
            c.error(f"{path}.sum.terms", "empty; give at least one term {pattern, scale}")
        for k, term in enumerate(p.terms):
            c.number(f"{path}.sum.terms[{k}].scale", term.scale, ge=0)
            check_pattern(c, f"{path}.sum.terms[{k}].pattern", term.pattern, g, base_dir, grid_ok)
    else:
        c.error(path, f"unsupported pattern {type(p).__name__}")


def contains_sum(p) -> bool:
    """Whether a pattern has a sum anywhere in it (the only kind whose weights may exceed 1)."""
    if isinstance(p, t.PatternSum):
        return True
    if isinstance(p, (t.PatternUnion, t.PatternDifference)):
        return any(contains_sum(q) for q in p.patterns)
    if isinstance(p, (t.Checkerboard, t.Grating)):
        return contains_sum(p.region)
    return False


def _in_unit_interval(c, path, values) -> None:
    if values is not None and ((values < 0) | (values > 1)).any():
        i, j = np.argwhere((values < 0) | (values > 1))[0]
        c.error(path, f"{values[i, j]:g} at (row {i}, column {j}) is outside [0, 1]")


def _check_image(c, path, p: t.Image, g, base_dir, grid_ok) -> None:
    from ..stimulus.patterns import image_corners_um, load_image

    ok = c.number(f"{path}.pixel_pitch_um", p.pixel_pitch_um, gt=0, what=" µm (one image pixel on the sheet)")
    ok &= c.number(f"{path}.rotation_deg", p.rotation_deg, what=" °")
    ok &= c.number(f"{path}.offset_um.x", p.offset_um.x, what=" µm") & c.number(f"{path}.offset_um.y", p.offset_um.y,
                                                                              what=" µm")
    values = None
    if p.pixels is not None and p.png_path:
        c.error(path, "give pixels or png_path, not both")
        return
    if p.pixels is not None:
        values = check_raster(c, f"{path}.pixels", p.pixels, g, base_dir, grid_ok, match_grid=False)
        if values is not None and 0 in values.shape:
            c.error(f"{path}.pixels.shape", f"{list(values.shape)}: an image needs at least one pixel")
            return
        _in_unit_interval(c, f"{path}.pixels.values", values)
    elif p.png_path:
        try:
            values = load_image(p, base_dir=base_dir)
        except (OSError, ValueError, SyntaxError) as exc:
            where = Path(p.png_path) if Path(p.png_path).is_absolute() else Path(base_dir) / p.png_path
            c.error(f"{path}.png_path", f"cannot read {str(where)!r} as a PNG image: {exc}")
            return
        _in_unit_interval(c, f"{path}.png_path", values)
    else:
        c.error(path, "no image: give pixels (a raster of values in [0, 1]) or png_path")
        return
    if values is None or not ok or not grid_ok:
        return
    corners = image_corners_um(p, *values.shape)
    width, height = g.nx * g.dx_um, g.ny * g.dx_um
    if not _overlaps_rectangle(corners, width, height):
        listed = ", ".join(f"({x:.4g}, {y:.4g})" for x, y in corners)
        c.error(path, f"the image lands entirely off the sheet: its corners fall at {listed} µm, and the sheet "
                f"spans x in [0, {width:g}], y in [0, {height:g}] µm; change offset_um, pixel_pitch_um or "
                "rotation_deg so that the image overlaps the sheet")


def _overlaps_rectangle(corners: np.ndarray, width: float, height: float) -> bool:
    """Whether the convex polygon ``corners`` and the rectangle [0, width] × [0, height] share an area
    (separating axes: the rectangle's two and the polygon's edge normals)."""
    rect = np.array([[0.0, 0.0], [width, 0.0], [width, height], [0.0, height]])
    edges = np.roll(corners, -1, axis=0) - corners
    axes = [np.array([1.0, 0.0]), np.array([0.0, 1.0])] + [np.array([-e[1], e[0]]) for e in edges if e.any()]
    for a in axes:
        p, r = corners @ a, rect @ a
        if p.max() <= r.min() or r.max() <= p.min():
            return False
    return True
