"""Result stores on the wire: a header that lays out the store, then each time chunk's stored chunks as they are.

A job's result (``StreamResults``): the header carries the store's layout as proto fields
(:func:`optowave.store.to_proto`); then, for each committed time chunk of the job, the stored chunks it wrote
(chunk 0 first carries those written when the job was created: coordinates, mask, maps), each as its encoded,
compressed bytes with the CRC32C recorded when it was written, cut into pieces of at most :data:`PIECE_BYTES`;
then a ``ChunkSent`` marker. Arrays the job added after the header (the analysis maps, written by the last
chunk) are announced by an ``added`` layout before their chunks. A client writes the bytes under their keys
unchanged and gets a store equal to the server's, chunk file for chunk file.

Every stored chunk is checked against its recorded CRC32C before it is sent: a damaged one raises
:class:`optowave.store.StoreIntegrityError` naming the chunk (DATA_LOSS on the wire).

A small Dataset (sweep summaries, ``StreamSweepSummary``) travels as a JSON header and each variable's raw
C-order bytes (:func:`dataset_payload`). All functions here read the disk: call them off the event loop.
"""
from __future__ import annotations

import json
from pathlib import Path

import google_crc32c
import numpy as np

from optowave.store import DirectoryStore, StoreIntegrityError, to_proto
from optowave.v1 import service_pb2
from service.runner import read_record, runner_dir_for

#: Data bytes per message: a message with its other fields stays under 1 MiB.
PIECE_BYTES = 2**20 - 2**10
DATASET_FORMAT = "optowave.dataset.v1"


def result_header(store: Path, chunks_total: int) -> tuple[service_pb2.ResultHeader, set[str]]:
    """The header of a job's result and the names of the arrays it lays out."""
    layout = DirectoryStore(store).layout()
    header = service_pb2.ResultHeader(chunks_total=chunks_total)
    to_proto(layout, header.layout)
    return header, set(layout.names)


def chunk_messages(store: Path, k: int, announced: set[str]) -> list[service_pb2.StreamResultsResponse | bytes]:
    """Time chunk ``k`` of a job's result: any new arrays, its stored chunks in pieces (encoded already, see
    :func:`stored_piece`), then ``ChunkSent``.

    ``announced`` (the arrays the client knows of) is updated with the arrays announced here.
    """
    result = DirectoryStore(store)
    written = stored_keys(store, k)
    out = _announce(result, written, announced)
    for key in sorted(written):
        data = memoryview(result.read_chunk(key, written[key]))
        for off in range(0, len(data), PIECE_BYTES) if data else [0]:
            out.append(stored_piece(k, key, off, data, written[key]))
    out.append(service_pb2.StreamResultsResponse(chunk_sent=service_pb2.ChunkSent(chunk_index=k,
                                                                                 stored_chunks=len(written))))
    return out


def stored_keys(store: Path, k: int) -> dict[str, int]:
    """``{key: CRC32C}`` of the stored chunks time chunk ``k`` of a job wrote (chunk 0: also those written when
    the job was created), as recorded by the runner."""
    rdir = runner_dir_for(store)
    written = dict(read_record(rdir, None)) if k == 0 else {}
    written.update(read_record(rdir, k))
    return written


def _announce(result: DirectoryStore, written: dict[str, int], announced: set[str]) -> list:
    """An ``added`` message for the arrays of ``written`` the client does not know of yet (none: ``[]``);
    ``announced`` is updated."""
    arrays = {key.split("/", 1)[0] for key in written}
    if arrays <= announced:
        return []
    layout = result.layout()
    added = service_pb2.ResultLayout()
    to_proto(layout.__class__(tuple(a for a in layout.arrays if a.name not in announced), layout.attrs), added)
    announced.update(a.name for a in added.arrays)
    return [service_pb2.StreamResultsResponse(added=added)]


#: A bulk offer lists files until its message passes this size (the rest: the next offer).
OFFER_BYTES = 2**19


def bulk_chunks(store: Path, first: int, stop: int, announced: set[str]) \
        -> tuple[list, list[service_pb2.BulkChunk], list[tuple[Path, int]]]:
    """What a bulk offer of time chunks ``first, first + 1, ...`` (up to ``stop``, fewer once the offer passes
    :data:`OFFER_BYTES`) carries: any ``added`` message that must come first (``announced`` is updated), the
    ``BulkChunk`` messages, and the files to send with their sizes, in order. The bytes are not read (the
    client checks each file's CRC32C, recorded when it was written)."""
    result = DirectoryStore(store)
    before, chunks, files, size = [], [], [], 0
    for k in range(first, stop):
        written = stored_keys(store, k)
        before += _announce(result, written, announced)
        chunk = service_pb2.BulkChunk(chunk_index=k)
        for key in sorted(written):
            path = store / key
            try:
                n = path.stat().st_size
            except FileNotFoundError:
                raise StoreIntegrityError(f"chunk {key} is missing from the store") from None
            chunk.files.add(key=key, size=n, crc32c=written[key])
            files.append((path, n))
        chunks.append(chunk)
        size += chunk.ByteSize()
        if size > OFFER_BYTES:
            break
    return before, chunks, files


def stored_piece(k: int, key: str, off: int, data: memoryview, crc32c: int) -> bytes:
    """The message ``StreamResultsResponse(stored=StoredChunk(...))`` carrying ``data[off:off + PIECE_BYTES]``,
    encoded: the bytes that ``SerializeToString`` gives, made with one copy of the piece (building the message
    copies a bytes field, and serialising it copies it again). The servicer sends bytes as they are."""
    piece = data[off:off + PIECE_BYTES]
    before = service_pb2.StoredChunk(chunk_index=k, key=key, byte_offset=off, total_bytes=len(data))
    after = service_pb2.StoredChunk(crc32c=crc32c)     # fields are encoded in the order of their numbers
    parts = [before.SerializeToString(), _DATA_TAG, _varint(len(piece)), piece, after.SerializeToString()] \
        if len(piece) else [before.SerializeToString(), after.SerializeToString()]
    size = sum(map(len, parts))
    return b"".join([_STORED_TAG, _varint(size), *parts])


def _tag(field) -> bytes:
    return _varint(field.number << 3 | 2)      # wire type 2: length-delimited


def _varint(v: int) -> bytes:
    out = bytearray()
    while v > 0x7F:
        out.append(v & 0x7F | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


_STORED_TAG = _tag(service_pb2.StreamResultsResponse.DESCRIPTOR.fields_by_name["stored"])
_DATA_TAG = _tag(service_pb2.StoredChunk.DESCRIPTOR.fields_by_name["data"])


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
