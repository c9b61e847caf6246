"""The Python client's own parts (spec reading, the local store writer) and the command line."""
from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
import yaml
from PIL import Image

import solver
from clients import Client
from clients.cli import main as cli_main
from clients.client import _Resync, _StoreWriter, spec_message, sweep_message
from optowave.v1 import service_pb2
from service.convert import file_reference_violations
from service.runner import run_job
from service.server import embedded
from tests.service.test_server import ALICE, TOKENS, assert_same_store, message, nagumo_spec, server_store


def test_specs_from_files_text_dicts_messages_and_spec_objects(tmp_path):
    spec = nagumo_spec()
    expected = message(spec)
    (tmp_path / "s.json").write_text(json.dumps(spec))
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(spec))
    for source in (spec, json.dumps(spec), tmp_path / "s.json", str(tmp_path / "s.yaml"), expected,
                   solver.load_spec(spec)):
        assert spec_message(source) == expected, type(source)
    with pytest.raises(ValueError, match="nx"):
        spec_message(nagumo_spec(grid={"nx": "many", "ny": 16, "dx_um": 0.5}))
    with pytest.raises(ValueError, match=r"gird: unknown field 'gird' \(did you mean 'grid'\?\)"):
        spec_message({"gird": {}})
    with pytest.raises(FileNotFoundError):
        spec_message(tmp_path / "missing.json")


def test_npy_rasters_are_sent_inline(tmp_path):
    mask = np.zeros((16, 16))
    mask[4:12, 4:12] = 1
    np.save(tmp_path / "mask.npy", mask)
    spec = nagumo_spec(tissue={"model": {"preset": "nagumo"}, "mask": {"raster": {"npy_path": "mask.npy"}}})
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    msg = spec_message(tmp_path / "spec.json")
    raster = msg.tissue.mask.raster
    assert raster.npy_path == "" and list(raster.shape) == [16, 16]
    np.testing.assert_array_equal(np.reshape(raster.values, (16, 16)), mask)


def _png_files(tmp_path) -> dict[str, np.ndarray]:
    """Two PNG files beside a spec, and the values an image's ``png_path`` stands for (luminance × alpha)."""
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., :3] = [200, 255, 255]
    rgba[..., 3] = 255
    rgba[6:, 6:, 3] = 0                                  # a transparent corner: no cells there
    Image.fromarray(rgba, "RGBA").save(tmp_path / "mask.png")
    edge = np.zeros((8, 8), np.uint8)
    edge[:, :1] = 255
    Image.fromarray(edge, "L").save(tmp_path / "edge.png")
    lum = (0.2126 * 200 + 0.7152 * 255 + 0.0722 * 255) / 255
    return {"mask.png": np.where(rgba[..., 3] > 0, lum, 0.0), "edge.png": edge / 255.0}


def _image(name: str) -> dict:
    return {"image": {"png_path": name, "pixel_pitch_um": 1.0}}


def _png_spec(**over) -> dict:
    """A Nagumo sheet whose mask, initial region and current pattern (nested in a sum and a checkerboard) are
    PNG images."""
    return nagumo_spec(
        name="png-images", tissue={"model": {"preset": "nagumo"}, "mask": {"union": {"patterns": [_image("mask.png")]}},
                                   "initial": {"regions": [{"pattern": _image("edge.png"), "values": {"u": 1.0}}]}},
        current=[{"pattern": {"sum": {"terms": [{"scale": 0.5, "pattern": {"checkerboard": {
            "square_um": 2.0, "region": _image("edge.png")}}}]}},
            "waveform": {"pulse": {"start_ms": 0.5, "width_ms": 0.5}}, "amplitude_a_per_f": 0.5}], **over)


def test_png_images_are_sent_inline_wherever_a_pattern_can_be(tmp_path):
    expected = _png_files(tmp_path)
    grating = {"period_um": 2.0, "duty_cycle": 0.5, "region": _image("mask.png")}
    spec = _png_spec(light=[{"pattern": {"grating": grating}}],
                     opsin={"region": {"difference": {"patterns": [{"everywhere": {}}, _image("edge.png")]}}})
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    msg = spec_message(tmp_path / "spec.json")
    assert file_reference_violations(msg) == []          # what the server checks: no file named anywhere
    images = {"tissue.mask.union.patterns[0]": (msg.tissue.mask.union.patterns[0].image, "mask.png"),
              "tissue.initial.regions[0].pattern": (msg.tissue.initial.regions[0].pattern.image, "edge.png"),
              "current[0].pattern.sum.terms[0].pattern.checkerboard.region":
                  (msg.current[0].pattern.sum.terms[0].pattern.checkerboard.region.image, "edge.png"),
              "light[0].pattern.grating.region": (msg.light[0].pattern.grating.region.image, "mask.png"),
              "opsin.region.difference.patterns[1]": (msg.opsin.region.difference.patterns[1].image, "edge.png")}
    for where, (image, name) in images.items():
        assert image.png_path == "" and list(image.pixels.shape) == [8, 8], where
        assert image.pixel_pitch_um == 1.0, where
        np.testing.assert_allclose(np.reshape(image.pixels.values, (8, 8)), expected[name], rtol=1e-6, atol=0,
                                   err_msg=where)

    with pytest.raises(FileNotFoundError, match=r"^light\[0\]\.pattern\.image\.png_path: image file .*gone\.png"):
        spec_message(nagumo_spec(light=[{"pattern": _image(str(tmp_path / "gone.png"))}]))
    both = _image(str(tmp_path / "edge.png"))
    both["image"]["pixels"] = {"shape": [1, 1], "values": [1.0]}
    with pytest.raises(ValueError, match=r"^tissue\.mask\.image: give pixels or png_path, not both"):
        spec_message(nagumo_spec(tissue={"model": {"preset": "nagumo"}, "mask": both}))


def test_a_spec_with_png_images_runs_on_a_server_as_it_runs_here(tmp_path):
    """The server gets the pixels, never the file names, and computes what the solver computes from the files."""
    _png_files(tmp_path)
    (tmp_path / "spec.json").write_text(json.dumps(_png_spec()))
    run_job(tmp_path / "spec.json", tmp_path / "here.zarr")            # in process, reading the PNG files
    reference = xr.open_zarr(tmp_path / "here.zarr", consolidated=False)
    with embedded(tmp_path / "data", workers=0, tokens=TOKENS) as address, Client(address, token=ALICE) as client:
        job = client.submit(tmp_path / "spec.json").wait()
        assert job.state == "SUCCEEDED", job.error
        got = job.result(tmp_path / "out.zarr")
    assert "png_path" not in got.attrs["spec"] and "png_path" in reference.attrs["spec"]
    cells = np.ones((16, 16), np.uint8)
    cells[12:, 12:] = 0                               # the PNG's transparent 2 × 2 µm corner has no cells
    np.testing.assert_array_equal(reference["mask"].values, cells)
    np.testing.assert_array_equal(got["mask"].values, cells)
    np.testing.assert_array_equal(got["v"].values, reference["v"].values)
    start = got["v"].isel(time=0).values                      # the front starts on the PNG's lit first column
    assert (start[:, :2] == 1.0).all() and (start[:, 2:] < 0.5).all()


def test_sweep_files_become_messages(tmp_path):
    (tmp_path / "base.json").write_text(json.dumps(nagumo_spec()))
    sweep = {"name": "s", "base": "base.json", "combine": "zip",
             "axes": [{"path": "coupling.diffusivity_um2_per_ms", "values": [1, 2]},
                      {"path": "tissue.model.parameters.a", "logspace": {"start": 0.05, "stop": 0.2, "num": 2}}],
             "metrics": ["propagated", {"name": "activation_time", "points_um": [[1, 2], [3, 4]]}]}
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(sweep))
    msg = sweep_message(tmp_path / "sweep.yaml")
    assert msg.base == message(nagumo_spec()) and msg.combine == service_pb2.SWEEP_COMBINE_ZIP
    assert [m.name for m in msg.metrics] == ["propagated", "activation_time"]
    assert [(p.x, p.y) for p in msg.metrics[1].points_um] == [(1, 2), (3, 4)]
    assert msg.axes[1].logspace.num == 2
    with_options = sweep_message({**sweep, "base": nagumo_spec(), "analysis": {"threshold": 0.5},
                                  "zip_dim": "point"})
    assert dict(with_options.analysis) == {"threshold": 0.5} and with_options.zip_dim == "point"


def _stream(tmp_path) -> list[service_pb2.StreamResultsResponse]:
    """A one-chunk result as a server sends it: header, one stored chunk in two pieces, the end of the chunk."""
    import google_crc32c
    from optowave.store import ArraySpec, DirectoryStore, Layout, to_proto

    layout = Layout((ArraySpec("v", ("time", "x"), (2, 3), (2, 3), "<f4", {"units": "mV"}),), {"title": "t"})
    source = DirectoryStore(tmp_path / "source.zarr")
    source.create(layout)
    crc = source.write("v", np.ones((2, 3), np.float32))["v/c/0/0"]
    data = source.read_chunk("v/c/0/0", crc)
    header = service_pb2.ResultHeader(chunks_total=1)
    to_proto(layout, header.layout)
    half = len(data) // 2
    return [service_pb2.StreamResultsResponse(header=header)] + [
        service_pb2.StreamResultsResponse(stored=service_pb2.StoredChunk(
            chunk_index=0, key="v/c/0/0", byte_offset=off, total_bytes=len(data), data=part, crc32c=crc))
        for off, part in ((0, data[:half]), (half, data[half:]))] + [
        service_pb2.StreamResultsResponse(chunk_sent=service_pb2.ChunkSent(chunk_index=0, stored_chunks=1))]


def test_the_writer_refuses_corrupt_or_misplaced_pieces(tmp_path):
    header, first, second, sent = _stream(tmp_path)
    writer = _StoreWriter(tmp_path / "out.zarr", "job-a")
    writer.take(header)
    corrupt = service_pb2.StreamResultsResponse()
    corrupt.CopyFrom(second)
    corrupt.stored.data = bytes([corrupt.stored.data[0] ^ 0xFF]) + corrupt.stored.data[1:]
    writer.take(first)
    with pytest.raises(_Resync, match="CRC32C"):
        writer.take(corrupt)
    with pytest.raises(_Resync, match="out of order"):
        writer.take(second)                       # its first piece was dropped with the corrupt one
    late = service_pb2.StreamResultsResponse()
    late.CopyFrom(first)
    late.stored.chunk_index = 3
    with pytest.raises(_Resync, match="0 was expected"):
        writer.take(late)
    # the whole chunk, in order, lands unchanged and completes the store
    for m in (first, second):
        writer.take(m)
    assert writer.take(sent) == [0]
    got = xr.open_zarr(tmp_path / "out.zarr")
    assert got.v.values.tolist() == [[1, 1, 1], [1, 1, 1]] and got.attrs["optowave_complete"] is True
    assert (tmp_path / "out.zarr/v/c/0/0").read_bytes() == (tmp_path / "source.zarr/v/c/0/0").read_bytes()
    with pytest.raises(ValueError, match="holds the result of job job-a"):
        _StoreWriter(tmp_path / "out.zarr", "job-b")
    (tmp_path / "other.zarr").mkdir()
    (tmp_path / "other.zarr" / "zarr.json").write_text("{}")
    with pytest.raises(ValueError, match="not a result fetched"):
        _StoreWriter(tmp_path / "other.zarr", "job-a")


def _three_chunks(tmp_path):
    """A result of three time chunks as a server sends it (each stored chunk in two pieces), and its store."""
    from optowave.store import ArraySpec, DirectoryStore, Layout, to_proto

    layout = Layout((ArraySpec("v", ("time", "x"), (6, 3), (2, 3), "<f4", {"units": "mV"}),), {"title": "t"})
    source = DirectoryStore(tmp_path / "source.zarr")
    source.create(layout)
    header = service_pb2.ResultHeader(chunks_total=3)
    to_proto(layout, header.layout)
    out = [service_pb2.StreamResultsResponse(header=header)]
    for k in range(3):
        (key, crc), = source.write("v", np.full((2, 3), k + 0.5, np.float32), 2 * k).items()
        data = source.read_chunk(key, crc)
        half = len(data) // 2
        out += [service_pb2.StreamResultsResponse(stored=service_pb2.StoredChunk(
            chunk_index=k, key=key, byte_offset=off, total_bytes=len(data), data=part, crc32c=crc))
            for off, part in ((0, data[:half]), (half, data[half:]))]
        out.append(service_pb2.StreamResultsResponse(chunk_sent=service_pb2.ChunkSent(chunk_index=k,
                                                                                     stored_chunks=1)))
    source.finish()
    return out, source


def test_the_writer_takes_later_time_chunks_while_earlier_writes_wait_and_counts_each_once_written(
        tmp_path, monkeypatch):
    """Writes are held back on the writer thread: the receiving side takes all three time chunks meanwhile,
    and none counts as fetched (nor in the resume file) until its writes are done; then all do, in order."""
    import threading

    from optowave.store import DirectoryStore

    messages, source = _three_chunks(tmp_path)
    gate, put = threading.Event(), DirectoryStore.put_chunk
    monkeypatch.setattr(DirectoryStore, "put_chunk", lambda self, *a: (gate.wait(10), put(self, *a)))
    state = tmp_path / "out.zarr.fetch.json"
    with _StoreWriter(tmp_path / "out.zarr", "job-a") as writer:
        taken = [k for m in messages for k in writer.take(m)]
        assert taken == [] and writer.next_chunk == 0
        assert not state.exists() or json.loads(state.read_text())["next_chunk"] == 0   # (laid out yet or not)
        gate.set()
        writer.settle()
        assert writer.completed() == [0, 1, 2] and writer.next_chunk == 3
    assert json.loads(state.read_text())["next_chunk"] == 3
    assert_same_store(tmp_path / "out.zarr", source.path)
    assert xr.open_zarr(tmp_path / "out.zarr").v.values[:, 0].tolist() == [0.5, 0.5, 1.5, 1.5, 2.5, 2.5]


def test_a_failed_write_stops_the_count_at_the_time_chunk_before(tmp_path, monkeypatch):
    """The write of time chunk 1 fails on the writer thread: chunk 0 counts, chunks 1 and 2 do not (although
    chunk 2 arrived whole), and the error reaches the caller."""
    from optowave.store import DirectoryStore

    messages, _ = _three_chunks(tmp_path)
    put = DirectoryStore.put_chunk

    def failing(self, key, *args):
        if key == "v/c/1/0":
            raise OSError(28, "No space left on device")
        put(self, key, *args)

    monkeypatch.setattr(DirectoryStore, "put_chunk", failing)
    with pytest.raises(OSError, match="No space left"):
        with _StoreWriter(tmp_path / "out.zarr", "job-a") as writer:
            for m in messages:
                writer.take(m)
    assert writer.next_chunk == 1 and writer.completed() == [0]
    assert json.loads((tmp_path / "out.zarr.fetch.json").read_text())["next_chunk"] == 1
    assert not (tmp_path / "out.zarr/v/c/2/0").exists()


def test_command_line_against_a_server(tmp_path, capsys):
    (tmp_path / "spec.json").write_text(json.dumps(nagumo_spec(name="from-the-cli")))
    data = tmp_path / "data"
    with embedded(data, workers=0, tokens=TOKENS) as address:
        common = ["--server", address, "--token", ALICE]
        assert cli_main(["submit", str(tmp_path / "spec.json"), *common, "--follow", "-o",
                         str(tmp_path / "out.zarr")]) == 0
        job_id = capsys.readouterr().out.splitlines()[0]
        assert_same_store(tmp_path / "out.zarr", server_store(data, job_id))

        assert cli_main(["jobs", *common, "--json"]) == 0
        listed = json.loads(capsys.readouterr().out)
        assert [(j["id"], j["state"], j["spec_name"]) for j in listed] == [(job_id, "JOB_STATE_SUCCEEDED",
                                                                            "from-the-cli")]
        assert cli_main(["status", job_id, *common]) == 0
        assert json.loads(capsys.readouterr().out)["progress"]["chunks_committed"] == 4
        assert cli_main(["cancel", job_id, *common]) == 0
        assert capsys.readouterr().out.strip() == f"{job_id}: SUCCEEDED"     # a finished job stays finished
        assert cli_main(["fetch", job_id, "-o", str(tmp_path / "again.zarr"), *common]) == 0
        xr.testing.assert_identical(xr.open_zarr(tmp_path / "again.zarr", consolidated=False).load(),
                                    xr.open_zarr(tmp_path / "out.zarr", consolidated=False).load())

        assert cli_main(["status", "no-such-job", *common]) == 1
        assert "NOT_FOUND" in capsys.readouterr().err
        (tmp_path / "bad.json").write_text(json.dumps(nagumo_spec(grid={"nx": 0, "ny": 4, "dx_um": 1})))
        assert cli_main(["submit", str(tmp_path / "bad.json"), *common]) == 1
        assert "spec.grid.nx" in capsys.readouterr().err
        assert cli_main(["jobs", "--server", address, "--token", "wrong-token-0123456789"]) == 1
        assert "UNAUTHENTICATED" in capsys.readouterr().err
        with Client(address, token=ALICE) as client:
            assert [j.id for j in client.jobs(state="succeeded")] == [job_id]


def test_sweep_command_against_a_server(tmp_path, capsys):
    """``optowave sweep SWEEP --server ADDR -o OUT`` runs the sweep on the server."""
    from clients.cli import main

    sweep = {"name": "cli-sweep", "base": nagumo_spec(name="cli-sweep-base"),
             "axes": [{"path": "coupling.diffusivity_um2_per_ms", "values": [0.5, 2.0]}],
             "metrics": ["fraction_activated"]}
    (tmp_path / "sweep.json").write_text(json.dumps(sweep))
    with embedded(tmp_path / "data", workers=0, tokens=TOKENS) as address:
        assert main(["sweep", str(tmp_path / "sweep.json"), "--server", address, "--token", ALICE,
                     "-o", str(tmp_path / "summary.zarr")]) == 0
    assert "SUCCEEDED, 2/2 runs, 0 failed" in capsys.readouterr().out
    summary = xr.open_zarr(tmp_path / "summary.zarr", consolidated=False).load()
    # the same sweep run here, without a server, is the reference for what the server computed
    from service.sweep import run_sweep

    run_sweep(sweep, tmp_path / "local.zarr")
    local = xr.open_zarr(tmp_path / "local.zarr", consolidated=False).load()
    assert summary.diffusivity_um2_per_ms.values.tolist() == [0.5, 2.0]
    np.testing.assert_array_equal(summary.fraction_activated.values, local.fraction_activated.values)
    assert 0 < summary.fraction_activated.values[0] < summary.fraction_activated.values[1]   # faster with more D
