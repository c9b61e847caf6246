"""Result stores on the wire: a header that lays out the store, then each committed chunk in pieces.

The header's ``dataset_json`` carries the store's Zarr v3 metadata documents as they are on disk
(attributes, coordinates' and variables' schema, codecs), which variables are time series, and
each time chunk's sample range; a client that writes those documents and then the arrays through
Zarr gets a store equal to the server's. Chunk 0 also carries the arrays without a time axis
(coordinates, mask, maps), which the runner writes before any chunk runs.

Each array travels as raw C-order little-endian bytes, cut into pieces of at most
:data:`PIECE_BYTES` so that a message stays within 1 MiB; the last piece carries the CRC32C of
the whole array. All functions here read the disk: call them off the event loop.
"""
from __future__ import annotations

import json
from pathlib import Path

import google_crc32c
import numpy as np
import zarr

from optowave.v1 import service_pb2

#: Data bytes per message: a message with its other fields stays under 1 MiB.
PIECE_BYTES = 2**20 - 2**10
RESULT_FORMAT = "optowave.result.v1"
DATASET_FORMAT = "optowave.dataset.v1"


def result_header(store: Path, plan: dict, variables) -> dict:
    """What a client needs to lay out its copy of ``store`` before chunks arrive."""
    from service.runner import ChunkPlan

    store = Path(store)
    documents = {"": (store / "zarr.json").read_text()}
    for child in sorted(store.iterdir()):
        meta = child / "zarr.json"
        if child.is_dir() and meta.is_file():
            documents[child.name] = meta.read_text()
    arrays = [k for k, text in documents.items() if k and json.loads(text).get("node_type") == "array"]
    cp = ChunkPlan(**plan)
    step_ms = cp.sample_every * cp.dt_ms
    chunks = []
    for k in range(cp.n_chunks):
        i0, i1 = cp.samples(k)
        chunks.append({"samples": [i0, i1], "time_ms": [i0 * step_ms, (i1 - 1) * step_ms]})
    return {"format": RESULT_FORMAT, "zarr_format": 3, "variables": [v for v in variables if v in arrays],
            "static": [a for a in arrays if a not in variables], "chunks": chunks, "zarr_json": documents}


def read_array(store: Path, name: str, samples: tuple[int, int] | None = None) -> np.ndarray:
    """A whole array, or samples ``[i0, i1)`` along its first (time) axis."""
    arr = zarr.open_array(store=str(store), path=name, mode="r")
    return np.asarray(arr[samples[0]:samples[1]] if samples is not None else arr[...])


def little_endian(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    if a.dtype.byteorder == ">" or (a.dtype.byteorder == "=" and np.little_endian is False):
        a = a.astype(a.dtype.newbyteorder("<"))
    return a


def pieces(a: np.ndarray, *, chunk_index: int, variable: str, time_ms: tuple[float, float] = (0.0, 0.0),
           piece_bytes: int = PIECE_BYTES) -> list[service_pb2.ResultChunk]:
    """``a`` as ResultChunk messages of at most ``piece_bytes`` data each (at least one)."""
    a = little_endian(a)
    data = a.tobytes()
    crc = google_crc32c.value(data)
    total = len(data)
    out = []
    offsets = range(0, total, piece_bytes) if total else [0]
    for off in offsets:
        piece = data[off:off + piece_bytes]
        last = off + len(piece) >= total
        out.append(service_pb2.ResultChunk(
            chunk_index=chunk_index, variable=variable, time_start_ms=time_ms[0], time_end_ms=time_ms[1],
            dtype=a.dtype.str, shape=list(a.shape), byte_offset=off, total_bytes=total, data=piece,
            crc32c=crc if last else 0))
    return out


def chunk_messages(store: Path, header: dict, k: int) -> list[list[service_pb2.ResultChunk]]:
    """Chunk ``k``: one list of pieces per array (chunk 0 first carries the static arrays)."""
    out = []
    if k == 0:
        for name in header["static"]:
            out.append(pieces(read_array(store, name), chunk_index=0, variable=name))
    info = header["chunks"][k]
    i0, i1 = info["samples"]
    for name in header["variables"]:
        out.append(pieces(read_array(store, name, (i0, i1)), chunk_index=k, variable=name,
                          time_ms=tuple(info["time_ms"])))
    return out


# ---------------------------------------------------------------- a small Dataset (sweep summaries)


def dataset_payload(ds) -> tuple[dict, list[list[service_pb2.ResultChunk]]]:
    """A Dataset without Zarr: a header (dims, attributes, dtypes) and every variable in pieces.
    Text arrays (objects, variable-width strings) travel as fixed-width unicode."""
    variables, messages = {}, []
    for name in list(ds.coords) + list(ds.data_vars):
        da = ds[name]
        values = np.asarray(da.values)
        if values.dtype.kind in "OT":           # Python objects, NumPy's variable-width strings
            values = np.array(values.tolist(), dtype=str).reshape(values.shape)
        variables[name] = {"dims": list(da.dims), "attrs": _jsonable(da.attrs), "coord": name in ds.coords}
        messages.append(pieces(values, chunk_index=0, variable=name))
    header = {"format": DATASET_FORMAT, "attrs": _jsonable(ds.attrs), "variables": variables}
    return header, messages


def _jsonable(attrs: dict) -> dict:
    return json.loads(json.dumps(dict(attrs), default=lambda o: o.item() if hasattr(o, "item") else str(o)))
