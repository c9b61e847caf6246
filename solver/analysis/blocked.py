"""``analyse_blocked``: :func:`solver.analysis.analyse` of a stored movie, one spatial block at a time.

A job's movie can be far larger than memory (1024² pixels × 2000 frames of float32 is 8 GiB), but every
per-pixel measure needs a pixel's whole trace and only a few neighbours: the smoothing reaches
:func:`~solver.analysis._signal.gauss_radius` pixels and a phase-singularity plaquette one more. So the sheet is
cut into blocks, each read with all its frames and a halo that wide, measured with the same stages
:func:`~solver.analysis.analyse` runs (:mod:`solver.analysis.dataset`) and cropped to its interior; what needs the
whole sheet (conduction velocity, fraction activated, the phase lag and embedding centre) is then computed from
the assembled maps, exactly as ``analyse`` does. Spiral tips need that lag and centre, so they take a second
pass over the blocks; each tip is kept by the block whose interior holds its plaquette's origin.

Blocks are sized so that a block's working arrays (the read movie and its smoothed copy) stay within
``block_bytes``, and shaped to follow the store's chunks: reading part of a Zarr chunk decompresses all of it,
so among the layouts that fit, the one that decompresses and smooths the fewest bytes is taken (full-width
strips when they are tall enough, else tile-aligned columns). Under a memory budget a block is still much
smaller than a tile over the whole record, so when the blocks would decompress the store more than
``SCRATCH_ABOVE`` times over, the movie is first rewritten block by block into a local scratch file
(:class:`~solver.analysis._blockfile.BlockFile`: every chunk decompressed once, about the movie's uncompressed
size on disk in ``TMPDIR``, none of it resident), and a smoothed block is kept there for the second pass.
"""

from __future__ import annotations

import errno
import math
import tempfile
import warnings
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ._blockfile import BlockFile, DirectBlocks, chunk_edges, cuts, touched
from ._signal import SNR_NOISE_PIXELS, noise_sigma, noise_stride, snr_from_noise
from .dataset import (
    PixelMaps,
    Settings,
    coordinates,
    pixel_maps,
    prepare_movie,
    resolve,
    sheet_variables,
    snr_attrs,
    tip_rows,
    tip_variables,
    tissue_map,
)

__all__ = ["analyse_blocked", "Block", "plan_blocks"]

SCRATCH_ABOVE = 2.0
"""Blocks go through a scratch file (:class:`~solver.analysis._blockfile.BlockFile`) when reading them straight
from the store would decompress more than this many times the movie."""


@dataclass(frozen=True)
class Block:
    """One block of the sheet: its interior rows ``y`` and columns ``x`` (global pixel ranges)."""

    y: tuple[int, int]
    x: tuple[int, int]

    def read(self, shape: tuple[int, int], lo: int, hi: int) -> tuple[slice, slice]:
        """The interior grown by ``lo`` pixels before and ``hi`` after, clipped to the sheet."""
        return tuple(slice(max(0, a - lo), min(n, b + hi)) for (a, b), n in zip((self.y, self.x), shape))

    @property
    def inner(self) -> tuple[slice, slice]:
        return slice(*self.y), slice(*self.x)


def plan_blocks(shape: tuple[int, int], *, px_max: int, halo: tuple[int, int],
                chunk_edges: tuple[list[int], list[int]]) -> list[Block]:
    """Cut a ``shape`` sheet into blocks whose read region (interior plus ``halo`` = (before, after) pixels on
    each side) holds at most ``px_max`` pixels, choosing among widths the layout that touches the fewest chunk
    pixels plus read pixels (over all blocks). Empty when not even a single pixel fits."""
    ny, nx = shape
    ey, ex = (list(e) for e in chunk_edges)
    grow = halo[0] + halo[1]
    tile_x = max(b - a for a, b in zip(ex[:-1], ex[1:]))
    widths = ({nx} | {k * tile_x for k in range(1, -(-nx // tile_x))}
              | {-(-tile_x // k) for k in range(2, min(tile_x, 64) + 1)})
    best, best_cost = [], math.inf
    for w in sorted(widths, reverse=True):
        if w < 1 or w > nx:
            continue
        w_read = min(nx, w + grow)
        fit = px_max // w_read
        rows = ny if fit >= ny else fit - grow
        if rows < 1:
            continue
        ycuts, xcuts = cuts(ey, rows), cuts(ex, w)
        blocks = [Block((y0, y1), (x0, x1)) for y0, y1 in zip(ycuts[:-1], ycuts[1:])
                  for x0, x1 in zip(xcuts[:-1], xcuts[1:])]
        cost = 0
        for blk in blocks:
            ys, xs = blk.read(shape, *halo)
            cost += touched(ey, ys.start, ys.stop) * touched(ex, xs.start, xs.stop)  # decompressed
            cost += (ys.stop - ys.start) * (xs.stop - xs.start)  # copied and smoothed
        if cost < best_cost or (cost == best_cost and len(blocks) < len(best)):
            best, best_cost = blocks, cost
    return best


def analyse_blocked(ds: xr.Dataset, *, source: str = "v", block_bytes: int = 128 * 2**20,
                    **options) -> dict[str, xr.DataArray]:
    """The analysis variables that :func:`solver.analysis.analyse` would add, measured block by block.

    Parameters
    ----------
    ds : xarray.Dataset
        A result dataset, typically opened lazily (``xr.open_zarr``): ``v`` on ``(time, y, x)`` or ``dff`` on
        ``(frame, cam_y, cam_x)`` with ``frame_time``; ``mask`` and the ``dx_um`` attribute as ``analyse`` uses.
    source : {"v", "dff"}
        Which movie to analyse.
    block_bytes : int
        Most bytes a block's working arrays may take (its frames, halo included, and their smoothed copy).
        The dominant frequency's spectrum of a block takes about twice as much again (complex, double
        precision), so the default, 128 MiB, keeps a process's peak near 0.6 GiB above its baseline.
    **options
        ``analyse``'s keyword options; ``phase=True`` is refused (the phase movie is as large as the movie).

    Returns
    -------
    dict of str to xarray.DataArray
        The same names, dimensions, attributes and values as the variables ``analyse`` adds, numpy-backed.
    """
    if options.get("phase"):
        raise ValueError("phase = True is not allowed in a blocked analysis: the phase movie is as large as the "
                         "movie itself; use solver.analysis.analyse on a movie that fits in memory")
    s = resolve(ds, source, **options)
    var = ds[source].transpose(*s.dims)
    n_t, ny, nx = var.shape
    tissue = tissue_map(ds, s)
    copies = 1 + (s.smoothing and tissue is not None) + s.smoothing  # read, masked, smoothed
    per_px = n_t * max(var.dtype.itemsize, 4) * copies
    halo = (s.halo_px, s.halo_px + (1 if s.tips else 0))
    blocks = plan_blocks((ny, nx), px_max=int(block_bytes) // per_px, halo=halo,
                         chunk_edges=chunk_edges(var)[1:])
    if not blocks:
        side = 1 + halo[0] + halo[1]
        raise ValueError(f"block_bytes = {block_bytes!r} is too small: a block of one pixel and its halo "
                         f"({side}x{side} pixels x {n_t} frames) needs at least {side * side * per_px} bytes")
    regions = [blk.read((ny, nx), *halo) for blk in blocks]
    edges = chunk_edges(var)
    passes = 1 + s.tips
    decompressed = passes * sum(touched(edges[1], ys.start, ys.stop) * touched(edges[2], xs.start, xs.stop)
                                for ys, xs in regions)
    scratch = len(blocks) > 1 and decompressed > SCRATCH_ABOVE * ny * nx
    with _blocks(var, regions, int(block_bytes), scratch=scratch) as src:
        run = _Blocked(s, src, tissue, (ny, nx))
        for k, blk in enumerate(blocks):
            run.measure(k, blk)
        out, centre, lag = sheet_variables(s, run.maps)
        if s.tips and lag is not None:
            rows = np.concatenate([run.tips(k, blk, lag, centre) for k, blk in enumerate(blocks)])
            rows = rows[np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0]))]  # as analyse finds them: frame, y, x
            out.update(tip_variables(s, rows, lag, *coordinates(ds, s)))
    if s.camera:
        snr = snr_from_noise(run.maps.hi - run.maps.lo, run.noise, tissue=run.first_finite,
                             fired=np.isfinite(run.maps.act))
        out[f"{s.prefix}activation_time"].attrs.update(snr_attrs(snr))
    placed = xr.Dataset(coords=ds.coords).assign(out)  # the maps take the coordinates of their dimensions
    return {name: placed[name].compute() for name in out}


def _blocks(var: xr.DataArray, regions: list[tuple[slice, slice]], block_bytes: int, *,
            scratch: bool) -> DirectBlocks:
    """The blocks' source: the scratch file when asked for and there is room for it, else the store itself."""
    if scratch:
        try:
            return BlockFile(var, regions, block_bytes)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            need = sum((ys.stop - ys.start) * (xs.stop - xs.start) for ys, xs in regions) * var.shape[0]
            warnings.warn(f"no room for the analysis scratch file ({need * var.dtype.itemsize / 2**30:.1f} GiB in "
                          f"{tempfile.gettempdir()}, set by TMPDIR): reading the blocks from the store instead, "
                          "which decompresses it several times over", RuntimeWarning, stacklevel=3)
    return DirectBlocks(var, regions)


class _Blocked:
    """The state of one blocked analysis: the maps filled so far, and for a camera movie its noise samples."""

    def __init__(self, s: Settings, src: DirectBlocks, tissue: np.ndarray | None, shape: tuple[int, int]) -> None:
        self.s, self.src, self.tissue, self.shape = s, src, tissue, shape
        self.maps = PixelMaps.empty(shape, s)
        self.stride = noise_stride(shape[0] * shape[1], SNR_NOISE_PIXELS)
        self.noise: np.ndarray | None = None  # allocated at the first block, in the dtype noise_sigma gives
        self.first_finite = np.zeros(shape, bool)
        self.kept: set[int] = set()  # blocks whose prepared movie the source keeps

    def _movie(self, k: int, inner: tuple[slice, slice] | None = None) -> np.ndarray:
        region = self.src.regions[k]
        raw = self.src.read(k)
        if inner is not None and self.s.camera:
            self._sample_noise(raw, region, inner)
        return prepare_movie(self.s, raw, None if self.tissue is None else self.tissue[region])

    def measure(self, k: int, blk: Block) -> None:
        """Pass one: the per-pixel maps of the block's interior."""
        region = self.src.regions[k]
        movie = self._movie(k, blk.inner)
        if self.s.smoothing and self.src.keep(k, movie):
            self.kept.add(k)
        local = tuple(slice(i.start - r.start, i.stop - r.start) for i, r in zip(blk.inner, region))
        if region == blk.inner:
            maps = pixel_maps(self.s, movie, None if self.tissue is None else self.tissue[region])
        elif self.s.smoothing:  # the halo is only there for the smoothing: measure the interior alone
            movie = np.ascontiguousarray(movie[(slice(None), *local)])
            maps = pixel_maps(self.s, movie, None if self.tissue is None else self.tissue[blk.inner])
        else:  # a halo for the tips' plaquettes only: measuring it too costs less than copying the interior out
            maps = pixel_maps(self.s, movie, None if self.tissue is None else self.tissue[region]).crop(local)
        self.maps.paste(maps, blk.inner)

    def tips(self, k: int, blk: Block, lag: int, centre: np.ndarray) -> np.ndarray:
        """Pass two: the phase singularities whose plaquette origin lies in the block's interior (global rows)."""
        region = self.src.regions[k]
        movie = self.src.read(k) if k in self.kept or not self.s.smoothing else self._movie(k)
        rows = tip_rows(self.s, movie, lag, np.ascontiguousarray(centre[region]))
        rows[:, 1] += region[0].start
        rows[:, 2] += region[1].start
        keep = ((rows[:, 1] >= blk.y[0]) & (rows[:, 1] < blk.y[1]) &
                (rows[:, 2] >= blk.x[0]) & (rows[:, 2] < blk.x[1]))
        return rows[keep]

    def _sample_noise(self, raw: np.ndarray, region: tuple[slice, slice], inner: tuple[slice, slice]) -> None:
        """The raw movie's noise at the interior's share of the regular pixel subsample SNR uses, and where its
        first frame is finite (what :func:`~solver.analysis.signal_to_noise` takes from the whole movie)."""
        gy, gx = np.mgrid[inner]
        flat = gy * self.shape[1] + gx
        pick = flat % self.stride == 0
        ly, lx = gy[pick] - region[0].start, gx[pick] - region[1].start
        local = tuple(slice(i.start - r.start, i.stop - r.start) for i, r in zip(inner, region))
        self.first_finite[inner] = np.isfinite(raw[(0, *local)])
        if ly.size:
            sig = noise_sigma(raw[:, ly, lx][:, None, :])[0]
            if self.noise is None:
                self.noise = np.full(-(-self.first_finite.size // self.stride), np.nan, sig.dtype)
            self.noise[flat[pick] // self.stride] = sig
