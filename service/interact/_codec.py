"""A filmed frame (an ``xarray.Dataset`` of one frame) as an ``InteractFrame`` message, and light rasters back.

Arrays travel as their little-endian bytes compressed with Zstandard (the codec of the result stores,
level 1), or as they are when that does not shrink them by a tenth (a noisy camera frame); the client
decodes them with numpy and numcodecs alone.
"""
from __future__ import annotations

import json

import numpy as np
from numcodecs import Zstd

from optowave.v1 import service_pb2

_ZSTD = Zstd(level=1)
#: Arrays smaller than this many bytes travel uncompressed (a coordinate of a few pixels).
MIN_COMPRESS_BYTES = 256


def array_message(name: str, values, dims, attrs: dict | None = None) -> service_pb2.FrameArray:
    """One array: dims, shape, little-endian dtype, Zstandard-compressed bytes, CF attributes as JSON."""
    a = np.asarray(values)
    a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))
    raw = a.tobytes()
    data, codec = raw, "raw"
    if len(raw) >= MIN_COMPRESS_BYTES:
        packed = _ZSTD.encode(raw)
        if len(packed) < 0.9 * len(raw):     # a noisy movie barely shrinks: then its decoding is saved
            data, codec = packed, "zstd"
    return service_pb2.FrameArray(name=name, dims=list(dims), shape=list(a.shape), dtype=a.dtype.str, codec=codec,
                                  data=data, attributes_json=json.dumps(_jsonable(attrs or {})))


def frame_message(ds, index: int, *, with_coords: bool = True) -> tuple[service_pb2.InteractFrame,
                                                                         list[service_pb2.FrameArray]]:
    """The frame's message (data variables, attributes) and, ``with_coords``, its coordinates (sent with the first
    frame of each stream; they do not change)."""
    msg = service_pb2.InteractFrame(index=index, time_ms=float(ds.attrs.get("time_ms", 0.0)),
                                    attributes_json=json.dumps(_jsonable(dict(ds.attrs))))
    for name, var in ds.data_vars.items():
        msg.arrays.append(array_message(str(name), var.values, var.dims, dict(var.attrs)))
    coords = [array_message(str(name), c.values, c.dims, dict(c.attrs)) for name, c in ds.coords.items()
              if c.ndim >= 1] if with_coords else []
    return msg, coords


def raster_values(raster: service_pb2.CameraRaster, shape: tuple[int, int]) -> np.ndarray:
    """The weights of a ``CameraRaster`` on the camera's pixels; ValueError naming the field otherwise."""
    from service.jobs import BadArgument

    if tuple(raster.shape) != tuple(shape):
        raise BadArgument("set_light.raster.shape", f"{list(raster.shape)}; the camera has {list(shape)} pixels "
                                                    "(rows, columns)")
    if raster.dtype not in ("<f8", "<f4"):
        raise BadArgument("set_light.raster.dtype", f"{raster.dtype!r} is not allowed; give '<f8' or '<f4'")
    itemsize = 8 if raster.dtype == "<f8" else 4
    n = int(np.prod(shape))
    if len(raster.data) != n * itemsize:
        raise BadArgument("set_light.raster.data", f"{len(raster.data)} bytes; {list(shape)} values of "
                                                   f"{raster.dtype} are {n * itemsize} bytes")
    values = np.frombuffer(raster.data, dtype=raster.dtype).reshape(shape).astype(np.float64)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        raise BadArgument("set_light.raster.data", f"weight {values[i, j]!r} at pixel ({i}, {j}); weights must be "
                                                   "finite and >= 0")
    return values


def _jsonable(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, (str, int, float, bool)) or v is None:
            out[str(k)] = v
        elif isinstance(v, (list, tuple)) and all(isinstance(x, (str, int, float, bool)) for x in v):
            out[str(k)] = list(v)
    return out
