"""The result store: one Zarr v3 hierarchy per result, written chunk by chunk, read by xarray.

Every writer goes through :class:`ResultStore`: the in-process run, the chunked runner on a Dask worker, the
service, and the client that copies a server's store chunk by chunk. The layout (:class:`Layout`) decides the
arrays; this module decides how they are stored:

- one Zarr array per variable and coordinate at the top of the hierarchy, ``dimension_names`` and CF
  attributes on each, the result's global attributes on the root group;
- codecs: little-endian bytes then Zstandard at level 1 (:data:`CODECS`); fill value NaN for floats, 0 for
  integers; every chunk is written, also one that equals the fill value, so that what a write touched is known
  and each chunk has a checksum (:meth:`ResultStore.write` returns the CRC32C of every chunk it wrote);
- consolidated metadata in the root document (:meth:`ResultStore.consolidate`), so that ``xr.open_zarr`` reads
  one document and warns of nothing;
- the metadata documents (``zarr.json``) are written here from the layout (:mod:`._documents`: the documents
  Zarr's own ``create_array`` and ``consolidate_metadata`` write, without their I/O loop); chunks are read and
  written through Zarr arrays;
- an ``optowave_complete`` root attribute: False until the writer calls :meth:`ResultStore.finish`; a store cut
  short says so.

:class:`DirectoryStore` keeps the hierarchy in a directory, :class:`MemoryStore` in memory (notebooks, the
in-process run, and the round-trip tests that both implementations pass).
"""
from __future__ import annotations

import json
import os
import shutil
import threading
import warnings
from pathlib import Path
from typing import Iterable, Sequence

import google_crc32c
import numpy as np
import zarr
from zarr.codecs import BytesCodec, ZstdCodec
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync

from ._documents import DOC, ZSTD_LEVEL, array_document, decode, encode, group_document
from ._layout import ArraySpec, Layout

__all__ = ["CODECS", "COMPLETE_ATTR", "DirectoryStore", "MemoryStore", "ResultStore", "StoreIntegrityError",
           "open_store"]

#: The codec chain of every array: fast enough to write at the kernel's pace, 2-20x smaller on smooth fields.
CODECS = {"serializer": BytesCodec(endian="little"), "compressors": (ZstdCodec(level=ZSTD_LEVEL),)}
#: Root attribute: True once every chunk of the result is written.
COMPLETE_ATTR = "optowave_complete"
_ARRAY_CONFIG = {"write_empty_chunks": True}

# Zarr says at every consolidation that v3 consolidated metadata is its own extension; results are read by
# Zarr-Python and xarray, which support it. Once for the process (catch_warnings is not thread-safe, and the
# server consolidates in worker threads).
warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part")


class StoreIntegrityError(OSError):
    """A stored chunk does not match the checksum recorded when it was written."""


class ResultStore:
    """A result's Zarr hierarchy (see the module notes); subclasses say where the bytes live."""

    def __init__(self, zstore) -> None:
        self._zstore = zstore
        self._arrays: dict[str, zarr.Array] = {}

    # ------------------------------------------------------------------ layout
    # The metadata documents are written here (:mod:`._documents`), not through Zarr's array creation and
    # consolidation: the same documents, without tens of round trips through Zarr's I/O loop per layout.
    def create(self, layout: Layout, *, clear: bool = True) -> None:
        """Lay out an empty result (metadata of every array, the root attributes, not complete); whatever the
        store held is removed first (``clear=False``: the caller did that with :meth:`clear`, and chunk files
        may already be arriving)."""
        if clear:
            self.clear()
        self._put_doc(DOC, group_document({**_jsonable(layout.attrs), COMPLETE_ATTR: False}))
        for a in layout.arrays:
            self._put_doc(f"{a.name}/{DOC}", array_document(a, _jsonable(a.attrs)))

    def add_arrays(self, arrays: Iterable[ArraySpec]) -> None:
        """Add arrays to a laid-out store (e.g. the analysis maps, whose sizes are known at the end); an array
        of the same name is replaced, its chunks removed."""
        if self._get_doc(DOC) is None:
            raise FileNotFoundError(f"{self}: no result is laid out here to add arrays to")
        for a in arrays:
            if self._get_doc(f"{a.name}/{DOC}") is not None:
                self._remove(a.name)
            self._put_doc(f"{a.name}/{DOC}", array_document(a, _jsonable(a.attrs)))
            self._arrays.pop(a.name, None)

    def clear(self) -> None:
        """Remove everything the store holds."""
        self._clear()
        self._arrays.clear()

    def layout(self) -> Layout:
        """The layout of what the store holds now (arrays sorted by name)."""
        arrays = []
        for name, doc in sorted(self._members().items()):
            if doc.get("node_type") != "array":
                continue
            arrays.append(ArraySpec(name, tuple(doc.get("dimension_names") or ()), tuple(doc["shape"]),
                                    tuple(doc["chunk_grid"]["configuration"]["chunk_shape"]),
                                    np.dtype(doc["data_type"]).str, dict(doc.get("attributes", {}))))
        attrs = {k: v for k, v in self._root()["attributes"].items() if k != COMPLETE_ATTR}
        return Layout(tuple(arrays), attrs)

    def set_attrs(self, **attrs) -> None:
        """Update root attributes."""
        root = self._root()
        root["attributes"].update(_jsonable(attrs))
        self._put_doc(DOC, root)

    def consolidate(self) -> None:
        """Write the consolidated metadata (after the last change of layout or attributes)."""
        self._put_doc(DOC, group_document(self._root()["attributes"], self._members()))

    def finish(self) -> None:
        """Mark the result complete and consolidate its metadata (one write of the root document)."""
        attrs = {**self._root()["attributes"], COMPLETE_ATTR: True}
        self._put_doc(DOC, group_document(attrs, self._members()))

    @property
    def complete(self) -> bool:
        return bool(self._root()["attributes"].get(COMPLETE_ATTR, False))

    # the documents' storage: through the Zarr store here; DirectoryStore uses files directly
    def _root(self) -> dict:
        root = self._get_doc(DOC)
        if root is None or root.get("node_type") != "group":
            raise FileNotFoundError(f"{self}: no result is laid out here")
        return root

    def _get_doc(self, key: str) -> dict | None:
        buf = self._zstore.get_sync(key, prototype=default_buffer_prototype())
        return None if buf is None else decode(buf.to_bytes())

    def _put_doc(self, key: str, doc: dict) -> None:
        self._zstore.set_sync(key, default_buffer_prototype().buffer.from_bytes(encode(doc)))

    def _members(self) -> dict[str, dict]:
        """Documents of the nodes below the root (a result's hierarchy is flat), by name."""
        async def names() -> list[str]:
            return [name async for name in self._zstore.list_dir("")]

        docs = {name: self._get_doc(f"{name}/{DOC}") for name in sync(names()) if name != DOC}
        return {name: doc for name, doc in docs.items() if doc is not None}

    def _remove(self, name: str) -> None:
        sync(self._zstore.delete_dir(name))

    def _clear(self) -> None:
        sync(self._zstore.clear())

    # ------------------------------------------------------------------ data
    def array(self, name: str) -> zarr.Array:
        if name not in self._arrays:
            # open_array takes no config for an existing array: set it on the opened one
            arr = zarr.open_array(store=self._zstore, path=name, mode="r+")
            self._arrays[name] = arr.with_config(_ARRAY_CONFIG)
        return self._arrays[name]

    def write(self, name: str, data: np.ndarray, start: int = 0) -> dict[str, int]:
        """Write ``data`` at ``start`` along the first axis (the whole array for 0-d and static arrays).

        Returns ``{chunk key: CRC32C}`` of every chunk the write touched, as stored (compressed).
        """
        arr = self.array(name)
        data = np.asarray(data)
        if arr.ndim == 0:
            arr[...] = data
            return self._checksums([self.chunk_key(name, ())])
        stop = start + data.shape[0]
        if not (0 <= start <= stop <= arr.shape[0]) or tuple(data.shape[1:]) != tuple(arr.shape[1:]):
            raise ValueError(f"{name}: cannot write shape {data.shape} at {start}; the array is {arr.shape}")
        arr[start:stop] = data
        return self._checksums(self.chunk_keys(name, start, stop))

    def chunk_keys(self, name: str, start: int, stop: int) -> list[str]:
        """Keys of the chunks that hold ``[start, stop)`` of ``name`` along its first axis."""
        arr = self.array(name)
        c0 = arr.chunks[0]
        grid = [range(-(-n // c)) for n, c in zip(arr.shape[1:], arr.chunks[1:])]
        rows = range(start // c0, -(-stop // c0)) if stop > start else range(0)
        return [self.chunk_key(name, (i, *rest)) for i in rows for rest in np.ndindex(*[len(g) for g in grid])]

    @staticmethod
    def chunk_key(name: str, index: tuple[int, ...]) -> str:
        """The store key of chunk ``index`` of ``name`` (Zarr v3 default encoding, "/" separator)."""
        return f"{name}/c/" + "/".join(str(int(i)) for i in index) if index else f"{name}/c"

    def read_chunk(self, key: str, crc32c: int | None = None) -> bytes:
        """The stored (compressed) bytes of one chunk; checked against ``crc32c`` when given."""
        buf = self._zstore.get_sync(key, prototype=default_buffer_prototype())
        if buf is None:
            raise StoreIntegrityError(f"chunk {key} is missing from the store")
        return _checked(key, buf.to_bytes(), crc32c)

    def put_chunk(self, key: str, data: bytes | Sequence[bytes], crc32c: int | None = None) -> None:
        """Store one chunk's bytes as they are (a copy of another store's chunk); ``data`` may be the chunk's
        pieces in order."""
        _check_put(key, data, crc32c)
        data = data if isinstance(data, (bytes, bytearray, memoryview)) else b"".join(data)
        self._zstore.set_sync(key, default_buffer_prototype().buffer.from_bytes(data))

    def _checksums(self, keys: list[str]) -> dict[str, int]:
        return {k: google_crc32c.value(self.read_chunk(k)) for k in keys}

    # ------------------------------------------------------------------ reading
    def open_dataset(self, *, load: bool = False):
        """The result as an ``xarray.Dataset`` (lazy; ``load=True`` reads it into memory)."""
        import xarray as xr

        ds = xr.open_zarr(self._zstore, consolidated=True, zarr_format=3)
        return ds.load() if load else ds


class DirectoryStore(ResultStore):
    """A result store in a directory. Chunk bytes are read and written as files directly (the service
    streams them and a client copies them: no trip through Zarr's I/O loop per chunk)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._dirs: set[Path] = set()
        super().__init__(zarr.storage.LocalStore(str(self.path)))

    def __repr__(self) -> str:
        return f"result store {self.path}"

    def _get_doc(self, key: str) -> dict | None:
        try:
            return decode((self.path / key).read_bytes())
        except (FileNotFoundError, NotADirectoryError):
            return None

    def _put_doc(self, key: str, doc: dict) -> None:
        # written aside and renamed into place (as Zarr does): a reader never sees half a document
        path = self.path / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
        tmp.write_bytes(encode(doc))
        os.replace(tmp, path)

    def _members(self) -> dict[str, dict]:
        try:
            entries = [e.name for e in os.scandir(self.path) if e.is_dir()]
        except FileNotFoundError:
            return {}
        docs = {name: self._get_doc(f"{name}/{DOC}") for name in entries}
        return {name: doc for name, doc in docs.items() if doc is not None}

    def _remove(self, name: str) -> None:
        shutil.rmtree(self.path / name, ignore_errors=True)
        self._dirs.clear()

    def _clear(self) -> None:
        if self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True)
        self._dirs.clear()

    def read_chunk(self, key: str, crc32c: int | None = None) -> bytes:
        try:
            data = (self.path / key).read_bytes()
        except FileNotFoundError:
            raise StoreIntegrityError(f"chunk {key} is missing from the store") from None
        return _checked(key, data, crc32c)

    def put_chunk(self, key: str, data: bytes | Sequence[bytes], crc32c: int | None = None) -> None:
        _check_put(key, data, crc32c)
        path = self.path / key
        if path.parent not in self._dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(path.parent)
        with open(path, "wb") as f:
            if isinstance(data, (bytes, bytearray, memoryview)):
                f.write(data)
            else:                           # pieces written in turn: no joined copy of a large chunk
                for piece in data:
                    f.write(piece)


class MemoryStore(ResultStore):
    """A result store in memory (the in-process run; tests)."""

    def __init__(self) -> None:
        super().__init__(zarr.storage.MemoryStore())


def open_store(path: str | os.PathLike | None) -> ResultStore:
    """A :class:`DirectoryStore` at ``path``, or a :class:`MemoryStore` for None."""
    return MemoryStore() if path is None else DirectoryStore(path)


def _check_put(key: str, data: bytes | Sequence[bytes], crc32c: int | None) -> None:
    if crc32c is None:
        return
    pieces = [data] if isinstance(data, (bytes, bytearray, memoryview)) else data
    crc = 0
    for piece in pieces:
        crc = google_crc32c.extend(crc, bytes(piece) if isinstance(piece, memoryview) else piece)
    if crc != crc32c:
        raise StoreIntegrityError(f"chunk {key}: the bytes do not match their CRC32C")


def _checked(key: str, data: bytes, crc32c: int | None) -> bytes:
    if crc32c is not None and google_crc32c.value(data) != crc32c:
        raise StoreIntegrityError(f"chunk {key} does not match the checksum recorded when it was written "
                                  f"(stored CRC32C {google_crc32c.value(data):#010x}, recorded {crc32c:#010x})")
    return data


def _jsonable(attrs) -> dict:
    """Attributes as plain JSON, keys sorted (every writer of a layout writes the same documents)."""
    return json.loads(json.dumps(dict(attrs), sort_keys=True,
                                 default=lambda o: o.item() if hasattr(o, "item") else str(o)))
