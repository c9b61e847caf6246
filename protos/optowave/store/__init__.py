"""optowave's result store: the one place that decides how a result is laid out in Zarr v3.

Used by the solver's in-process run, the chunked runner, the service and the client alike; it needs only
NumPy, Zarr, google-crc32c (and xarray to open a result), so a lab machine that only fetches results can use it.
"""
from __future__ import annotations

from ._layout import TILE, ArraySpec, Layout, from_proto, spatial_chunks, to_proto
from ._store import (CODECS, COMPLETE_ATTR, DirectoryStore, MemoryStore, ResultStore, StoreIntegrityError,
                     open_store)

__all__ = ["ArraySpec", "CODECS", "COMPLETE_ATTR", "DirectoryStore", "Layout", "MemoryStore", "ResultStore",
           "StoreIntegrityError", "TILE", "from_proto", "open_store", "spatial_chunks", "to_proto"]
