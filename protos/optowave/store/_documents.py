"""The Zarr v3 metadata documents (``zarr.json``) of a result store, built from its :class:`Layout`.

:class:`~optowave.store.ResultStore` writes these documents itself instead of creating each array through
Zarr's API: laying out a result (tens of arrays) that way took 30-40 ms of round trips through Zarr's I/O loop,
and consolidating (every document read back through it) 10-14 ms, paid by every fetch of a result. The
documents are the ones ``zarr.Group.create_array`` and ``zarr.consolidate_metadata`` write for the same arrays
with :data:`CODECS`; ``tests/test_store.py`` compares them document by document against Zarr's own.
"""
from __future__ import annotations

import json
import math
from typing import Mapping

import numpy as np

from ._layout import ArraySpec

#: Name of every node's metadata document.
DOC = "zarr.json"
#: Zstandard level of every array (:data:`optowave.store.CODECS` says the same to Zarr).
ZSTD_LEVEL = 1


def array_document(a: ArraySpec, attrs: Mapping[str, object]) -> dict:
    """The metadata document of array ``a`` (attributes ``attrs``, already plain JSON)."""
    dtype = a.np_dtype
    fill = a.fill_value                     # in JSON: NaN as Zarr spells it, a boolean array's as a boolean
    if isinstance(fill, float) and math.isnan(fill):
        fill = "NaN"
    elif dtype.kind == "b":
        fill = bool(fill)
    # one-byte types have no byte order: Zarr drops the bytes codec's endian for them
    serializer = ({"name": "bytes"} if dtype.itemsize == 1 else
                  {"name": "bytes", "configuration": {"endian": "little"}})
    doc = {
        "shape": [int(n) for n in a.shape],
        "data_type": np.dtype(dtype.newbyteorder("=")).name if dtype.kind != "b" else "bool",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [int(c) for c in a.chunks]}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": fill,
        "codecs": [serializer, {"name": "zstd", "configuration": {"level": ZSTD_LEVEL, "checksum": False}}],
        "attributes": dict(attrs),
        "dimension_names": list(a.dims),
        "zarr_format": 3,
        "node_type": "array",
        "storage_transformers": [],
    }
    if not a.dims:
        del doc["dimension_names"]          # a 0-d array has none (Zarr writes no empty list)
    return doc


def group_document(attrs: Mapping[str, object], members: Mapping[str, dict] | None = None) -> dict:
    """The root group's document; with ``members`` (name -> document), consolidated as Zarr does it."""
    doc: dict = {"attributes": dict(attrs), "zarr_format": 3}
    if members is not None:
        doc["consolidated_metadata"] = {"kind": "inline", "must_understand": False,
                                        "metadata": {name: members[name] for name in sorted(members)}}
    doc["node_type"] = "group"
    return doc


def encode(doc: dict) -> bytes:
    """A document as JSON on one line: Zarr indents its own, but an indent makes ``json`` use its pure-Python
    encoder, six times slower (2.5 ms against 0.4 for a camera movie's layout and consolidated root)."""
    return json.dumps(doc).encode()


def decode(data: bytes) -> dict:
    return json.loads(data)

