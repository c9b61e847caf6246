"""Where the blocked analysis gets a block's frames: straight from the stored variable, or from a scratch file.

Reading part of a Zarr chunk decompresses all of it. A block holds all frames of its pixels, so under a
memory budget it is much smaller than one of the store's tiles over the whole record, and blocks read
straight from the store decompress every chunk several times. :class:`BlockFile` instead rewrites the movie
once into a local scratch file in which every block's region (all frames, halo included) is contiguous and
uncompressed: one pass over the store decompresses each chunk once and scatters it to the blocks it feeds,
and each block is then a single read. The file is anonymous (``tempfile.TemporaryFile``, in ``TMPDIR``; it
needs about the movie's uncompressed size), is accessed with ``pread``/``pwrite`` so that its pages live in
the page cache rather than in the process's resident memory, and disappears when closed.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import xarray as xr

__all__ = ["BlockFile", "DirectBlocks", "chunk_edges", "cuts", "read_region", "touched"]

TILE = 256  # the store's spatial tile side when the variable does not say (min(side, 256))
TIME_CHUNK = 100  # frames read at once from a variable that is not chunked

Region = tuple[slice, slice]


def chunk_edges(var: xr.DataArray) -> tuple[list[int], list[int], list[int]]:
    """Chunk edges along (time, y, x): the dask chunks, else the job store's layout (tiles of min(side, 256))."""
    if var.chunks is not None:
        return tuple([0, *np.cumsum(c).tolist()] for c in var.chunks)
    steps = (TIME_CHUNK, *(min(n, TILE) for n in var.shape[1:]))
    return tuple(list(range(0, n, step)) + [n] for n, step in zip(var.shape, steps))


def cuts(edges: list[int], most: int) -> list[int]:
    """Piece boundaries along an axis with chunk ``edges``: whole chunks grouped while a piece holds at most
    ``most`` cells, a longer chunk split evenly; a piece straddles no chunk edge it could avoid."""
    out, end = [0], 0
    for a, b in zip(edges[:-1], edges[1:]):
        if b - out[-1] <= most:
            end = b
            continue
        if end > out[-1]:
            out.append(end)
        n = -(-(b - a) // most)
        out.extend(a + (b - a) * k // n for k in range(1, n + 1))
        end = b
    if end > out[-1]:
        out.append(end)
    return out


def touched(edges: list[int], a: int, b: int) -> int:
    """Cells of the chunks that the range ``a..b`` touches along an axis."""
    i = int(np.searchsorted(edges, a, side="right")) - 1
    j = int(np.searchsorted(edges, b, side="left"))
    return edges[j] - edges[i]


def read_region(var: xr.DataArray, region: Region, times: slice = slice(None)) -> np.ndarray:
    """Frames ``times`` of one spatial region of ``var`` (time-major) as a new array. A dask-backed variable is
    read chunk by chunk straight into it (synchronous scheduler): nothing but the region is ever held."""
    key = (times, *region)
    if var.chunks is not None:
        part = var.data[key]
        out = np.empty(part.shape, part.dtype)
        part.store(out, lock=False, scheduler="synchronous")
        return out
    return np.array(var[key].values)


class DirectBlocks:
    """Each block read from the variable when asked for (when the blocks share few chunks)."""

    def __init__(self, var: xr.DataArray, regions: list[Region]) -> None:
        self.var, self.regions = var, regions

    def read(self, k: int) -> np.ndarray:
        return read_region(self.var, self.regions[k])

    def keep(self, k: int, movie: np.ndarray) -> bool:
        """Nowhere to keep a prepared block: it is prepared again when read again."""
        return False

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class BlockFile(DirectBlocks):
    """The blocks' regions rewritten into one scratch file, filled by one pass over the store.

    Parameters
    ----------
    var : xarray.DataArray
        The movie, time-major.
    regions : list of (slice, slice)
        Each block's region (rows, columns).
    unit_bytes : int
        Most bytes read from the store at once (whole chunks where they fit).
    """

    def __init__(self, var: xr.DataArray, regions: list[Region], unit_bytes: int) -> None:
        super().__init__(var, regions)
        self.n_t = var.shape[0]
        self.itemsize = var.dtype.itemsize
        self.shapes = [(r[0].stop - r[0].start, r[1].stop - r[1].start) for r in regions]
        sizes = [self.n_t * ry * rx * self.itemsize for ry, rx in self.shapes]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64).tolist()
        self._file = tempfile.TemporaryFile()
        try:
            self._fill(unit_bytes)
        except BaseException:
            self.close()
            raise

    def _fill(self, unit_bytes: int) -> None:
        et, ey, ex = chunk_edges(self.var)
        ny, nx = self.var.shape[1:]
        frames = max(b - a for a, b in zip(et[:-1], et[1:]))
        unit_px = max(1, unit_bytes // (frames * self.itemsize))
        tile_h = max(b - a for a, b in zip(ey[:-1], ey[1:]))
        xcuts = cuts(ex, nx if unit_px // nx >= tile_h else max(1, unit_px // tile_h))
        ycuts = cuts(ey, max(1, unit_px // max(b - a for a, b in zip(xcuts[:-1], xcuts[1:]))))
        for t0, t1 in zip(et[:-1], et[1:]):
            for y0, y1 in zip(ycuts[:-1], ycuts[1:]):
                for x0, x1 in zip(xcuts[:-1], xcuts[1:]):
                    unit = read_region(self.var, (slice(y0, y1), slice(x0, x1)), slice(t0, t1))
                    for k, (ys, xs) in enumerate(self.regions):
                        iy = (max(y0, ys.start), min(y1, ys.stop))
                        ix = (max(x0, xs.start), min(x1, xs.stop))
                        if iy[0] < iy[1] and ix[0] < ix[1]:
                            piece = unit[:, iy[0] - y0:iy[1] - y0, ix[0] - x0:ix[1] - x0]
                            self._put(k, t0, iy[0] - ys.start, ix[0] - xs.start, piece)

    def _put(self, k: int, t0: int, y0: int, x0: int, piece: np.ndarray) -> None:
        """Write ``piece`` (frames from ``t0``, rows from ``y0``, columns from ``x0`` of block ``k``'s region)."""
        ry, rx = self.shapes[k]
        base, size = self.offsets[k], self.itemsize
        n_f, n_y, n_x = piece.shape
        if n_x == rx and n_y == ry:
            _pwrite(self._file.fileno(), piece, base + t0 * ry * rx * size)
        elif n_x == rx:
            for f in range(n_f):
                _pwrite(self._file.fileno(), piece[f], base + ((t0 + f) * ry + y0) * rx * size)
        else:
            for f in range(n_f):
                for r in range(n_y):
                    _pwrite(self._file.fileno(), piece[f, r], base + (((t0 + f) * ry + y0 + r) * rx + x0) * size)

    def read(self, k: int) -> np.ndarray:
        out = np.empty((self.n_t, *self.shapes[k]), self.var.dtype)
        _pread(self._file.fileno(), out, self.offsets[k])
        return out

    def keep(self, k: int, movie: np.ndarray) -> bool:
        """Store a prepared (smoothed) block in place of its frames, if it has their shape and type."""
        if movie.dtype != self.var.dtype or movie.shape != (self.n_t, *self.shapes[k]):
            return False
        _pwrite(self._file.fileno(), movie, self.offsets[k])
        return True

    def close(self) -> None:
        self._file.close()


def _pwrite(fd: int, arr: np.ndarray, offset: int) -> None:
    view = memoryview(np.ascontiguousarray(arr)).cast("B")
    while view:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


def _pread(fd: int, out: np.ndarray, offset: int) -> None:
    view = memoryview(out).cast("B")
    while view:
        n = os.preadv(fd, [view], offset)
        if n == 0:
            raise EOFError(f"scratch file ends at byte {offset}")
        view, offset = view[n:], offset + n
