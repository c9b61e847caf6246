"""The result store (``optowave.store``): the same round-trip tests for the directory and the memory store."""
from __future__ import annotations

import warnings
from dataclasses import replace

import google_crc32c
import numpy as np
import pytest
import xarray as xr

from optowave.store import (ArraySpec, DirectoryStore, Layout, MemoryStore, StoreIntegrityError, from_proto,
                            spatial_chunks, to_proto)
from optowave.v1 import service_pb2

LAYOUT = Layout((
    ArraySpec("time", ("time",), (7,), (7,), "<f8", {"units": "ms", "long_name": "time"}),
    ArraySpec("v", ("time", "y", "x"), (7, 300, 5), (3, *spatial_chunks((300, 5))), "<f4",
              {"units": "mV", "long_name": "membrane potential"}),
    ArraySpec("mask", ("y", "x"), (300, 5), spatial_chunks((300, 5)), "|u1", {"units": "1"}),
    ArraySpec("frame_time", ("frame",), (2,), (2,), "<f8", {"units": "ms"}),
    ArraySpec("dff", ("frame", "y", "x"), (2, 300, 5), (1, 256, 5), "<f4", {"units": "1",
                                                                              "coordinates": "frame_time"}),
), {"title": "round trip", "spec": "{\"name\": \"x\"}", "seed": 3})


class StoreContract:
    """What every result store does; subclasses say which store."""

    def make(self, tmp_path):
        raise NotImplementedError

    def filled(self, tmp_path):
        store = self.make(tmp_path)
        store.create(LAYOUT)
        rng = np.random.default_rng(0)
        data = {"time": np.arange(7) * 0.5, "v": rng.normal(-70, 20, (7, 300, 5)).astype(np.float32),
                "mask": (rng.random((300, 5)) > 0.3).astype(np.uint8), "frame_time": np.array([1.0, 3.0]),
                "dff": rng.normal(0, 0.1, (2, 300, 5)).astype(np.float32)}
        written = {}
        for name in ("time", "mask", "frame_time"):
            written.update(store.write(name, data[name]))
        written.update(store.write("v", data["v"][:3], 0))        # time chunk 0
        written.update(store.write("v", data["v"][3:], 3))        # time chunks 1 and 2 (the last one partial)
        written.update(store.write("dff", data["dff"]))
        return store, data, written

    def test_values_dims_units_and_attributes_round_trip(self, tmp_path):
        store, data, _ = self.filled(tmp_path)
        store.finish()
        with warnings.catch_warnings():
            warnings.simplefilter("error")                     # consolidated metadata: opens without a warning
            ds = store.open_dataset(load=True)
        for name, values in data.items():
            np.testing.assert_array_equal(ds[name].values, values)
            assert ds[name].dtype == values.dtype
            assert ds[name].dims == LAYOUT[name].dims
        assert ds["v"].attrs == {"units": "mV", "long_name": "membrane potential"}
        assert "frame_time" in ds.coords and "frame_time" in ds["dff"].coords     # CF coordinates attribute
        assert ds.attrs == {**LAYOUT.attrs, "optowave_complete": True}

    def test_a_store_is_incomplete_until_finished(self, tmp_path):
        store, _, _ = self.filled(tmp_path)
        store.consolidate()
        assert store.complete is False and store.open_dataset().attrs["optowave_complete"] is False
        store.finish()
        assert store.complete is True

    def test_unwritten_samples_read_as_missing(self, tmp_path):
        store = self.make(tmp_path)
        store.create(LAYOUT)
        store.write("v", np.zeros((3, 300, 5), np.float32), 3)
        store.consolidate()
        v = store.open_dataset(load=True).v.values
        assert np.isnan(v[:3]).all() and (v[3:6] == 0).all() and np.isnan(v[6]).all()

    def test_each_write_names_every_chunk_it_touched_with_its_checksum(self, tmp_path):
        store, _, written = self.filled(tmp_path)
        # v: 3 time chunks x 2 tiles along y (256 + 44 rows) x 1 along x; dff: 2 frames x 2 tiles; 1-d arrays: 1
        expected = {f"v/c/{t}/{y}/0" for t in range(3) for y in range(2)} | {
            f"dff/c/{f}/{y}/0" for f in range(2) for y in range(2)} | {"time/c/0", "frame_time/c/0", "mask/c/0/0",
                                                                    "mask/c/1/0"}
        assert set(written) == expected
        for key, crc in written.items():
            assert google_crc32c.value(store.read_chunk(key)) == crc

    def test_a_chunk_that_holds_only_missing_values_is_stored_all_the_same(self, tmp_path):
        """A map that is NaN everywhere (no pixel fired) is still a chunk on disk, with its checksum, also when
        written by a store opened later (a chunk task opens the job's store anew)."""
        store = self.make(tmp_path)
        store.create(LAYOUT)
        again = store if isinstance(store, MemoryStore) else DirectoryStore(tmp_path / "result.zarr")
        written = again.write("mask", np.zeros((300, 5), np.uint8))
        written.update(again.write("v", np.full((3, 300, 5), np.nan, np.float32), 0))
        assert sorted(written) == ["mask/c/0/0", "mask/c/1/0", "v/c/0/0/0", "v/c/0/1/0"]
        for key, crc in written.items():
            again.read_chunk(key, crc)

    def test_a_damaged_chunk_is_named(self, tmp_path):
        store, _, written = self.filled(tmp_path)
        key = "v/c/1/0/0"
        data = bytearray(store.read_chunk(key))
        data[len(data) // 2] ^= 0x01
        store.put_chunk(key, bytes(data))
        with pytest.raises(StoreIntegrityError, match=r"chunk v/c/1/0/0 does not match the checksum"):
            store.read_chunk(key, written[key])
        with pytest.raises(StoreIntegrityError, match="v/c/9/0/0 is missing"):
            store.read_chunk("v/c/9/0/0", 0)

    def test_a_copy_made_of_the_layout_proto_and_stored_chunks_is_the_same_result(self, tmp_path):
        """How a client copies a server's store: the layout over the wire, then each chunk's bytes as they are."""
        source, data, written = self.filled(tmp_path)
        source.finish()
        message = service_pb2.ResultLayout()
        to_proto(source.layout(), message)
        copy = self.make(tmp_path / "copy")
        copy.create(from_proto(service_pb2.ResultLayout.FromString(message.SerializeToString())))
        for key, crc in written.items():
            copy.put_chunk(key, source.read_chunk(key, crc), crc)
        copy.finish()
        xr.testing.assert_identical(copy.open_dataset(load=True), source.open_dataset(load=True))
        assert copy.layout() == source.layout()

    def test_arrays_added_at_the_end_are_part_of_the_result(self, tmp_path):
        store, _, _ = self.filled(tmp_path)
        store.add_arrays([ArraySpec("activation_time", ("y", "x"), (300, 5), (256, 5), "<f8", {"units": "ms"}),
                          ArraySpec("conduction_velocity", (), (), (), "<f8", {"units": "cm/s"})])
        store.write("activation_time", np.full((300, 5), 2.5))
        store.write("conduction_velocity", np.float64(4.9))
        store.finish()
        ds = store.open_dataset(load=True)
        assert float(ds.conduction_velocity) == 4.9 and ds.conduction_velocity.attrs["units"] == "cm/s"
        assert (ds.activation_time.values == 2.5).all()

    def test_writes_of_the_wrong_shape_are_refused_naming_the_array(self, tmp_path):
        store = self.make(tmp_path)
        store.create(LAYOUT)
        with pytest.raises(ValueError, match=r"v: cannot write shape \(2, 300, 4\) at 0; the array is \(7, 300, 5\)"):
            store.write("v", np.zeros((2, 300, 4), np.float32))
        with pytest.raises(ValueError, match=r"v: cannot write shape \(2, 300, 5\) at 6"):
            store.write("v", np.zeros((2, 300, 5), np.float32), 6)


class TestDirectoryStore(StoreContract):
    def make(self, tmp_path):
        return DirectoryStore(tmp_path / "result.zarr")

    def test_the_directory_opens_with_plain_xarray(self, tmp_path):
        store, data, _ = self.filled(tmp_path)
        store.finish()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ds = xr.open_zarr(tmp_path / "result.zarr")
        np.testing.assert_array_equal(ds.v.values, data["v"])


class TestMemoryStore(StoreContract):
    def make(self, tmp_path):
        return MemoryStore()


def test_layouts_from_the_wire_are_checked():
    message = service_pb2.ResultLayout()
    to_proto(LAYOUT, message)
    assert from_proto(message) == LAYOUT
    message.arrays[0].dtype = "object"
    with pytest.raises(ValueError, match=r"array 'time': dtype 'object' is not allowed"):
        from_proto(message)
    with pytest.raises(ValueError, match="same length"):
        ArraySpec("v", ("time",), (3, 4), (3, 4), "<f4")
    with pytest.raises(ValueError, match="repeated: \\['v'\\]"):
        Layout((ArraySpec("v", (), (), (), "<f4"), ArraySpec("v", (), (), (), "<f4")))


# ---------------------------------------------------------------- the documents against Zarr's own

ODD = (ArraySpec("flag", ("site",), (4,), (4,), "|b1", {"units": "1"}),
       ArraySpec("count", ("site", "probe"), (4, 3), (2, 3), "<i4", {}),
       ArraySpec("big_endian", ("site",), (4,), (4,), ">f8", {"units": "ms", "flag_values": [0, 1]}),
       ArraySpec("conduction_velocity", (), (), (), "<f8", {"units": "cm/s"}))
MAPS = (ArraySpec("activation_time", ("y", "x"), (300, 5), (256, 5), "<f8", {"units": "ms"}),
        ArraySpec("v", ("time", "y", "x"), (7, 300, 5), (7, 256, 5), "<f4", {"units": "mV", "replaced": 1}))


def zarr_reference(zstore, layout: Layout, added=()) -> None:
    """``layout`` laid out through Zarr's own API (the reference: ``create_array``, then ``add``ed arrays
    replacing those of the same name, then ``consolidate_metadata``)."""
    import zarr

    from optowave.store import CODECS
    from optowave.store._store import _jsonable

    group = zarr.open_group(store=zstore, mode="w", zarr_format=3,
                            attributes={**_jsonable(layout.attrs), "optowave_complete": False})
    for arrays in (layout.arrays, added):
        have = set(group.array_keys())
        for a in arrays:
            group.create_array(a.name, shape=a.shape, chunks=a.chunks, dtype=a.np_dtype, fill_value=a.fill_value,
                               dimension_names=a.dims, attributes=_jsonable(a.attrs), overwrite=a.name in have,
                               **CODECS)
    group.attrs.update({"optowave_complete": True})
    zarr.consolidate_metadata(zstore, zarr_format=3)


def documents(zstore) -> dict:
    """Every ``zarr.json`` of a store, parsed, by key."""
    import json

    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync

    async def keys():
        return [k async for k in zstore.list()]

    return {k: json.loads(zstore.get_sync(k, prototype=default_buffer_prototype()).to_bytes())
            for k in sorted(sync(keys())) if k.endswith("zarr.json")}


@pytest.mark.parametrize("kind", ["directory", "memory"])
def test_the_documents_written_are_those_zarr_writes_for_the_same_arrays(kind, tmp_path):
    """The store writes its ``zarr.json`` documents itself; Zarr's ``create_array`` and ``consolidate_metadata``
    for the same arrays (and the same replacement of an array) write the same documents, parsed."""
    import zarr

    layout = Layout(LAYOUT.arrays + ODD, LAYOUT.attrs)
    ours = DirectoryStore(tmp_path / "ours.zarr") if kind == "directory" else MemoryStore()
    ours.create(layout)
    ours.write("v", np.zeros((7, 300, 5), np.float32))      # chunks of the replaced array go with it
    ours.add_arrays(MAPS)
    ours.finish()
    reference = (zarr.storage.LocalStore(tmp_path / "ref.zarr") if kind == "directory" else
                 zarr.storage.MemoryStore())
    zarr_reference(reference, layout, MAPS)
    got, want = documents(ours._zstore), documents(reference)
    names = layout.names + ("activation_time",)
    assert sorted(got) == sorted(want) == sorted(["zarr.json"] + [f"{n}/zarr.json" for n in names])
    for key in want:
        assert got[key] == want[key], key
    # as read back: the maps in place of the replaced array, byte order as stored (little-endian)
    now = {a.name: replace(a, dtype=a.np_dtype.newbyteorder("<").str) for a in layout.arrays + MAPS}
    assert ours.layout() == Layout(tuple(now[n] for n in sorted(now)), LAYOUT.attrs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = ours.open_dataset(load=True)
    assert np.isnan(ds.v.values).all()            # the replaced v holds none of the old array's chunks
    assert ds.attrs["optowave_complete"] is True
