"""Benchmark: the analysis of a job's stored movie, block by block (issue 15, "Benchmarks").

    python benchmarks/analysis_store_bench.py [--size 512] [--frames 2000] [--block-mib 256] [--json]

A synthetic noisy dF/F movie of a rotating spiral (``analysis_bench.spiral_movie``, ``size² × frames`` float32,
2 GiB at the default) is written to a Zarr v3 store laid out as a job's (time chunks of 100 frames, spatial
tiles of min(side, 256), zstd) and analysed from there by ``solver.analysis.analyse_blocked`` on one core
(numba, BLAS and FFT pinned to one thread, dask's synchronous scheduler). Target: under 60 s.

Baselines, measured in the same process:
- the in-memory ``analyse`` of the same movie (what the blocked pass costs on top: re-reading halos, a second
  pass for the spiral tips, decompressing chunks that several blocks share);
- one read of the whole store (zstd decompression into memory: the machine's limit for getting the bytes at
  all), and ``np.copyto`` of 256 MiB (the copy bandwidth). The fraction of the limit is the movie's bytes per
  second of analysis over the store's read bandwidth, and the bytes the blocked pass decompresses over the
  time it takes (a scratch file, when the blocked pass uses one, decompresses each chunk once).

It prints figures and ratios; it never fails for being slow.
"""

from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
import zarr  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from analysis_bench import spiral_movie  # noqa: E402

from solver.analysis import analyse, analyse_blocked  # noqa: E402
from solver.analysis import _blockfile  # noqa: E402

TIME_CHUNK = 100


def write_store(ds: xr.Dataset, path: Path) -> None:
    """The movie in a job's layout: time chunks of ``TIME_CHUNK`` frames, spatial tiles of min(side, 256)."""
    n = ds.sizes["cam_x"]
    encoding = {"dff": {"chunks": (TIME_CHUNK, min(n, 256), min(n, 256))}}
    ds.to_zarr(path, mode="w", zarr_format=3, consolidated=False, encoding=encoding)


def read_bandwidth(path: Path) -> float:
    """Bytes per second of reading the whole stored movie, one time chunk at a time (best of two)."""
    arr = zarr.open_array(path / "dff", mode="r")
    best = np.inf
    for _ in range(2):
        start = time.perf_counter()
        for k in range(0, arr.shape[0], TIME_CHUNK):
            arr[k:k + TIME_CHUNK]
        best = min(best, time.perf_counter() - start)
    return arr.nbytes / best


def copy_bandwidth() -> float:
    """Bytes per second of ``np.copyto`` of 256 MiB (read and write counted once each), best of three."""
    src = np.ones(2**25)
    dst = np.empty_like(src)
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - start)
    return 2 * src.nbytes / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--block-mib", type=float, default=256.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    analyse(spiral_movie(32, 64), source="dff")  # compile the kernels outside the clock
    ds = spiral_movie(args.size, args.frames)
    movie_bytes = ds["dff"].nbytes
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "movie.zarr"
        start = time.perf_counter()
        write_store(ds, path)
        t_write = time.perf_counter() - start
        stored = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())

        start = time.perf_counter()
        analyse(ds, source="dff")
        t_memory = time.perf_counter() - start
        del ds

        reads: list[tuple[slice, slice, slice]] = []  # every read from the store: rows, columns, frames
        real = _blockfile.read_region

        def read(var, region, times=slice(None)):
            reads.append((*region, times))
            return real(var, region, times)

        _blockfile.read_region = read
        lazy = xr.open_zarr(path, consolidated=False)
        start, cpu = time.perf_counter(), time.process_time()
        out = analyse_blocked(lazy, source="dff", block_bytes=int(args.block_mib * 2**20))
        t_blocked, cpu_blocked = time.perf_counter() - start, time.process_time() - cpu
        _blockfile.read_region = real
        bw_read, bw_copy = read_bandwidth(path), copy_bandwidth()

    tile = min(args.size, 256)
    decompressed = sum(_tiles(ys, tile, args.size) * _tiles(xs, tile, args.size) * tile * tile
                       * _tiles(ts, TIME_CHUNK, args.frames) * TIME_CHUNK * 4 for ys, xs, ts in reads)
    result = {
        "movie": f"{args.size}x{args.size}x{args.frames} float32 ({movie_bytes / 2**30:.2f} GiB), "
                 f"stored {stored / 2**30:.2f} GiB (zstd), chunks {TIME_CHUNK}x{tile}x{tile}",
        "block_mib": args.block_mib, "store_reads": len(reads),
        "blocked_s": round(t_blocked, 2), "blocked_cpu_s": round(cpu_blocked, 2),
        "fraction_of_60s_target": round(t_blocked / 60.0, 2),
        "in_memory_analyse_s": round(t_memory, 2),
        "blocked_over_in_memory": round(t_blocked / t_memory, 2),
        "store_write_s": round(t_write, 2),
        "store_read_gb_per_s": round(bw_read / 1e9, 2), "copy_gb_per_s": round(bw_copy / 1e9, 2),
        "analysis_movie_gb_per_s": round(movie_bytes / t_blocked / 1e9, 3),
        "fraction_of_store_read_bandwidth": round(movie_bytes / t_blocked / bw_read, 3),
        "decompressed_over_movie": round(decompressed / movie_bytes, 2),
        "decompression_share_of_time": round(decompressed / bw_read / t_blocked, 3),
        "tips": int(out["dff_spiral_tip_time"].size), "snr": round(out["dff_activation_time"].attrs["snr"], 1),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:34s} {value}")


def _tiles(s: slice, tile: int, n: int) -> int:
    """Chunks of ``tile`` along an axis of ``n`` that the range ``s`` touches."""
    start, stop, _ = s.indices(n)
    return (stop - 1) // tile - start // tile + 1


if __name__ == "__main__":
    main()
