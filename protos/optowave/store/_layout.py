"""What a result store holds, as plain data: its arrays (dimensions, shape, chunks, dtype, CF attributes)
and its global attributes. The same description lays out the store on the server, in a Dask worker, in a
notebook and in a client's copy, and travels over the wire as proto fields (:func:`to_proto`)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

import numpy as np

__all__ = ["ArraySpec", "Layout", "TILE", "from_proto", "spatial_chunks", "to_proto"]

#: Largest chunk side in space (cells or camera pixels): a block of a large movie reads only its tiles.
TILE = 256


def spatial_chunks(shape: Sequence[int]) -> tuple[int, ...]:
    """Chunk sides in space: whole sides up to :data:`TILE`, tiles of :data:`TILE` beyond."""
    return tuple(max(1, min(int(n), TILE)) for n in shape)


@dataclass(frozen=True)
class ArraySpec:
    """One array of a result store.

    Parameters
    ----------
    name : str
        Variable name (``v``, ``dff``, ``activation_time``, ``time``, ...).
    dims : tuple of str
        Dimension names, outermost first.
    shape, chunks : tuple of int
        Array and chunk shape (same length as ``dims``; a 0-d array has both empty).
    dtype : str
        NumPy dtype string, little-endian (``"<f4"``, ``"|u1"``).
    attrs : mapping
        CF attributes (``units``, ``long_name``, ``coordinates``, ...), JSON-serialisable.
    """

    name: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: str
    attrs: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (len(self.dims) == len(self.shape) == len(self.chunks)):
            raise ValueError(f"array {self.name!r}: dims {self.dims}, shape {self.shape} and chunks {self.chunks} "
                             "must have the same length")
        if any(c < 1 for c in self.chunks):
            raise ValueError(f"array {self.name!r}: chunk sides must be >= 1, got {self.chunks}")

    @property
    def np_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)

    @property
    def fill_value(self):
        """NaN for floats (never written data reads as missing), 0 otherwise."""
        return float("nan") if self.np_dtype.kind == "f" else 0

    def chunk_grid(self) -> tuple[int, ...]:
        return tuple(-(-n // c) if n else 0 for n, c in zip(self.shape, self.chunks))


@dataclass(frozen=True)
class Layout:
    """The arrays of a store and its global attributes."""

    arrays: tuple[ArraySpec, ...]
    attrs: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = [a.name for a in self.arrays]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"a layout names each array once; repeated: {dup}")

    def __getitem__(self, name: str) -> ArraySpec:
        for a in self.arrays:
            if a.name == name:
                return a
        raise KeyError(name)

    def __contains__(self, name: str) -> bool:
        return any(a.name == name for a in self.arrays)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.arrays)

    def with_attrs(self, **attrs) -> "Layout":
        return replace(self, attrs={**self.attrs, **attrs})


def to_proto(layout: Layout, message) -> None:
    """Fill a ``optowave.v1.ResultLayout`` message from ``layout``."""
    message.attributes_json = json.dumps(dict(layout.attrs), sort_keys=True)
    for a in layout.arrays:
        m = message.arrays.add()
        m.name = a.name
        m.dims.extend(a.dims)
        m.shape.extend(int(n) for n in a.shape)
        m.chunks.extend(int(c) for c in a.chunks)
        m.dtype = a.np_dtype.str
        m.attributes_json = json.dumps(dict(a.attrs), sort_keys=True)


def from_proto(message) -> Layout:
    """The layout a ``optowave.v1.ResultLayout`` message describes (checked: names, shapes, dtypes)."""
    arrays = []
    for m in message.arrays:
        try:
            dtype = np.dtype(m.dtype)
        except TypeError as exc:
            raise ValueError(f"array {m.name!r}: dtype {m.dtype!r} is not a NumPy dtype") from exc
        if dtype.kind not in "fiub":
            raise ValueError(f"array {m.name!r}: dtype {m.dtype!r} is not allowed (numbers only)")
        arrays.append(ArraySpec(m.name, tuple(m.dims), tuple(int(n) for n in m.shape), tuple(int(c) for c in m.chunks),
                                dtype.str, json.loads(m.attributes_json or "{}")))
    return Layout(tuple(arrays), json.loads(message.attributes_json or "{}"))
