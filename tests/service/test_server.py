"""The service end to end: a real ``grpc.aio`` server on loopback, a real Dask worker, real Zarr stores.

The reference for every result is the store the chunked runner writes in this process for the
same spec (``optowave run``): the server's store must equal it file for file, and the client's
copy must equal the server's, file for file.
"""
from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import grpc
import pytest
import xarray as xr
from google.protobuf import descriptor_pool, json_format, message_factory
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from clients import Client, JobError, ServiceError
from optowave.v1 import service_pb2, service_pb2_grpc, spec_pb2
from service.jobs import Limits
from service.runner import run_job
from service.server import embedded

MiB = 2**20
SERVICE = "optowave.v1.SimulationService"

# ---------------------------------------------------------------- helpers (other service test modules import them)

ALICE = "alice-token-0123456789abcdef"
BOB = "bob-token-0123456789abcdef00"
TOKENS = {ALICE: "alice", BOB: "bob"}


def nagumo_spec(*, n: int = 16, duration_ms: float = 4.0, chunk_ms: float = 1.0, sample_ms: float = 0.2,
                name: str = "service-test", **over) -> dict:
    """A Nagumo sheet with a front started at the left edge: cheap, and its values change every sample."""
    spec = {
        "name": name, "grid": {"nx": n, "ny": n, "dx_um": 0.5},
        "tissue": {"model": {"preset": "nagumo"}, "initial": {"regions": [
            {"pattern": {"rectangle": {"min_um": {"x": 0, "y": 0}, "max_um": {"x": 2, "y": n * 0.5}}},
             "values": {"u": 1.0}}]}},
        "coupling": {"diffusivity_um2_per_ms": 1.0},
        "numerics": {"dt_ms": 0.02, "duration_ms": duration_ms, "chunk_ms": chunk_ms},
        "output": {"sample_interval_ms": sample_ms},
    }
    spec.update(over)
    return spec


def message(spec: dict) -> spec_pb2.JobSpec:
    return json_format.ParseDict(spec, spec_pb2.JobSpec())


def store_files(root: Path) -> dict[str, bytes]:
    """Every file of a store by relative path (Zarr metadata and encoded chunks)."""
    root = Path(root)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def assert_same_store(a: Path, b: Path) -> None:
    fa, fb = store_files(a), store_files(b)
    assert sorted(fa) == sorted(fb), (sorted(set(fa) ^ set(fb)))
    different = [k for k in fa if fa[k] != fb[k]]
    assert not different, f"files differ: {different}"


def server_store(data_dir: Path, job_id: str) -> Path:
    return Path(data_dir) / "jobs" / job_id / "result.zarr"


def committed_chunk(data_dir: Path, job_id: str) -> int:
    """The last chunk the runner committed on disk (-1: none)."""
    commit = server_store(data_dir, job_id).with_name("result.zarr.runner") / "commit.json"
    return json.loads(commit.read_text())["chunk"]


def stub(address: str, **options):
    channel = grpc.insecure_channel(address, options=list(options.items()))
    return channel, service_pb2_grpc.SimulationServiceStub(channel)


def auth(token: str = ALICE):
    return (("authorization", f"Bearer {token}"),)


class CuttingProxy:
    """A TCP proxy on loopback that closes its ``i``-th connection after ``budgets[i]`` bytes went from
    the server to the client (a flaky network); later connections pass everything. :meth:`cut` drops every
    open connection at once (the link goes down; new connections go through). ``flips[i]``: the offset of a
    byte of the ``i``-th connection's server-to-client bytes that arrives inverted (a link that damages data
    past its own checksums)."""

    def __init__(self, upstream: str, budgets: list[int] = (), flips: list[int | None] = ()):
        host, _, port = upstream.rpartition(":")
        self.upstream = (host, int(port))
        self.budgets = list(budgets)
        self.flips = list(flips)
        self.flipped = 0
        self.connections = 0
        self.cuts = 0
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.address = f"127.0.0.1:{self._sock.getsockname()[1]}"
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._closed = True
        self._sock.close()
        with self._lock:
            self._open = []

    def cut(self) -> None:
        """Drop every open connection now."""
        with self._lock:
            conns, self._open = self._open, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self.cuts += 1

    def _accept(self) -> None:
        while not self._closed:
            try:
                down, _ = self._sock.accept()
            except OSError:
                return
            budget = self.budgets[self.connections] if self.connections < len(self.budgets) else None
            flip = self.flips[self.connections] if self.connections < len(self.flips) else None
            self.connections += 1
            up = socket.create_connection(self.upstream)
            with self._lock:
                self._open += [down, up]
            threading.Thread(target=self._pump, args=(down, up, None), daemon=True).start()
            threading.Thread(target=self._pump, args=(up, down, budget, flip), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, budget: int | None, flip: int | None = None) -> None:
        sent = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if flip is not None and sent <= flip < sent + len(data):
                    data = bytearray(data)
                    data[flip - sent] ^= 0xFF
                    self.flipped += 1
                if budget is not None and sent + len(data) >= budget:
                    dst.sendall(data[:max(0, budget - sent)])
                    self.cuts += 1
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def varint(v: int) -> bytes:
    out = b""
    while True:
        low, v = v & 0x7F, v >> 7
        out += bytes([low | (0x80 if v else 0)])
        if not v:
            return out


def field_bytes(number: int, wire_type: int, payload: bytes) -> bytes:
    """One protobuf field on the wire (payload already encoded; length-prefixed for wire type 2)."""
    head = varint(number << 3 | wire_type)
    return head + (varint(len(payload)) + payload if wire_type == 2 else payload)


def raw_call(channel, method: str):
    return channel.unary_unary(f"/{SERVICE}/{method}", request_serializer=None, response_deserializer=None)


def status_details(err: grpc.RpcError) -> list:
    """The google.rpc details of an error, unpacked."""
    status = rpc_status.from_call(err)
    out = []
    for d in status.details if status else ():
        for kind in (error_details_pb2.BadRequest, error_details_pb2.QuotaFailure, error_details_pb2.ResourceInfo,
                     error_details_pb2.PreconditionFailure):
            if d.Is(kind.DESCRIPTOR):
                m = kind()
                d.Unpack(m)
                out.append(m)
    return out


def reference_store(spec: dict, path: Path) -> Path:
    """The uninterrupted in-process chunked run of ``spec`` (what ``optowave run`` writes)."""
    run_job(spec, path)
    return path


# ---------------------------------------------------------------- the server under test


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server for the module: tokens for alice and bob, a local Dask cluster of one worker, and
    limits low enough to test (64 MiB of state, 1e9 cell-steps, 4 MiB messages)."""
    data = tmp_path_factory.mktemp("server-data")
    limits = Limits(max_memory_bytes=64 * MiB, max_cell_steps=10**9)
    with embedded(data, workers=1, tokens=TOKENS, limits=limits, max_concurrent=2,
                  max_message_bytes=4 * MiB) as address:
        yield SimpleNamespace(address=address, data=data)


@pytest.fixture(scope="module")
def alice(server):
    with Client(server.address, token=ALICE) as client:
        yield client


@pytest.fixture(scope="module")
def bob(server):
    with Client(server.address, token=BOB) as client:
        yield client


# ---------------------------------------------------------------- the whole path


def test_whole_path_submit_watch_stream(server, alice, tmp_path):
    spec = nagumo_spec(duration_ms=6.0, name="whole-path")
    job = alice.submit(spec)
    assert job.state in ("QUEUED", "RUNNING") and len(job.id) >= 22

    events = [(j.state, j.progress.chunks_committed, j.progress.simulated_ms) for j in job.events()]
    rank = {"QUEUED": 0, "RUNNING": 1, "SUCCEEDED": 2}
    assert [rank[s] for s, _, _ in events] == sorted(rank[s] for s, _, _ in events), events
    chunks = [c for _, c, _ in events]
    assert all(0 <= b - a <= 1 for a, b in zip(chunks, chunks[1:])), f"a committed chunk without its event: {events}"
    assert [t for _, _, t in events] == sorted(t for _, _, t in events)
    assert events[-1] == ("SUCCEEDED", 6, pytest.approx(6.0))

    ds = job.result(tmp_path / "client.zarr")
    on_server = server_store(server.data, job.id)
    xr.testing.assert_identical(ds.load(), xr.open_zarr(on_server, consolidated=False).load())
    assert_same_store(tmp_path / "client.zarr", on_server)
    assert_same_store(reference_store(spec, tmp_path / "reference.zarr"), on_server)
    assert ds.sizes["time"] == 31 and float(ds.time[-1]) == pytest.approx(6.0)


def test_dropped_stream_resumes_without_missing_or_doubled_chunks(server, tmp_path):
    """The connection is cut twice mid-stream (once inside a piece of chunk 1, once inside chunk 2)
    while the job is still committing chunks; the client reconnects and resumes."""
    # 1.6 MB per chunk in memory, about 26-34 kB per chunk as stored (Zstandard) and sent
    spec = nagumo_spec(n=64, duration_ms=10.0, chunk_ms=2.0, sample_ms=0.02, name="dropped")
    proxy = CuttingProxy(server.address, budgets=[45_000, 55_000])
    try:
        with Client(proxy.address, token=ALICE) as client:
            job = client.submit(spec)
            received: list[int] = []
            ds = job.result(tmp_path / "client.zarr", on_chunk=received.append)
    finally:
        proxy.close()
    assert proxy.cuts == 2 and proxy.connections >= 3
    assert received == list(range(job.progress.chunks_total)) == [0, 1, 2, 3, 4]
    on_server = server_store(server.data, job.id)
    assert_same_store(tmp_path / "client.zarr", on_server)
    xr.testing.assert_identical(ds.load(), xr.open_zarr(on_server, consolidated=False).load())
    fetched = json.loads((tmp_path / "client.zarr.fetch.json").read_text())
    assert fetched["next_chunk"] == 5 and fetched["job_id"] == job.id


def test_a_stream_cut_while_writes_lag_resumes_after_the_last_written_time_chunk(server, tmp_path, monkeypatch):
    """The local writes lag behind the stream (each takes 50 ms), so time chunks 0-2 have arrived whole but are
    not all written when the stream breaks (UNAVAILABLE after chunk 2's end); the client waits for those
    writes and asks again from exactly chunk 3, and the copy equals the server's store."""
    import time

    from optowave.store import DirectoryStore

    spec = nagumo_spec(n=64, duration_ms=10.0, chunk_ms=2.0, sample_ms=0.02, name="lagging-writes")
    put = DirectoryStore.put_chunk
    monkeypatch.setattr(DirectoryStore, "put_chunk", lambda self, *a: (time.sleep(0.05), put(self, *a)))
    fetch_state = tmp_path / "client.zarr.fetch.json"
    asked, at_cut = [], []       # from_chunk of each stream; time chunks counted as fetched when it broke

    class Broken(grpc.RpcError):
        def code(self):
            return grpc.StatusCode.UNAVAILABLE

    class BreaksAfterChunk2:
        def __init__(self, call):
            self.call = call

        def __iter__(self):
            for m in self.call:
                yield m
                if m.HasField("chunk_sent") and m.chunk_sent.chunk_index == 2 and not at_cut:
                    at_cut.append(json.loads(fetch_state.read_text())["next_chunk"] if fetch_state.exists() else 0)
                    raise Broken()

        def cancel(self):
            self.call.cancel()

    with Client(server.address, token=ALICE) as client:
        job = client.submit(spec).wait()
        stream = client._stream

        def recording(name, request):
            asked.append(request.from_chunk)
            return BreaksAfterChunk2(stream(name, request))

        client._stream = recording
        received: list[int] = []
        ds = job.result(tmp_path / "client.zarr", on_chunk=received.append)
    assert at_cut[0] < 3 and asked == [0, 3], (at_cut, asked)     # writes were behind; resumed right after 2
    assert received == list(range(job.progress.chunks_total)) == [0, 1, 2, 3, 4]
    on_server = server_store(server.data, job.id)
    assert_same_store(tmp_path / "client.zarr", on_server)
    xr.testing.assert_identical(ds.load(), xr.open_zarr(on_server, consolidated=False).load())


def test_a_stored_piece_is_encoded_byte_for_byte_as_protobuf_encodes_its_message():
    """The stream's pieces are encoded without building their messages; protobuf's own encoding of the same
    message is the reference (empty and multi-piece chunks, multi-byte varints, a CRC32C of 0 that is left out)."""
    import os

    from service.server._results import PIECE_BYTES, stored_piece

    for size, k, key, crc in ((0, 0, "v/c", 0), (5, 1, "v/c/1/0/0", 0xFFFFFFFF), (3 * PIECE_BYTES + 7, 300,
                                                                                      "dff/c/300/0/0", 0x1234)):
        data = os.urandom(size)
        for off in range(0, size, PIECE_BYTES) if size else [0]:
            expected = service_pb2.StreamResultsResponse(stored=service_pb2.StoredChunk(
                chunk_index=k, key=key, byte_offset=off, total_bytes=size, data=data[off:off + PIECE_BYTES],
                crc32c=crc)).SerializeToString()
            assert stored_piece(k, key, off, memoryview(data), crc) == expected, (size, off)


def test_every_message_is_at_most_one_mib(server, tmp_path):
    """Camera counts carry shot and read noise: a time chunk of 80 frames of 64² is a stored chunk of about
    1.3 MB that Zstandard cannot shrink much, so it travels in pieces; together they are the stored file."""
    import google_crc32c
    from tests.specs import small_hek_spec

    spec = small_hek_spec(grid={"nx": 64, "ny": 64, "dx_um": 10.0}, numerics={"dt_ms": 0.02, "duration_ms": 40.0,
                                                                               "chunk_ms": 40.0},
                          readout={"enabled": True, "camera": {"frame_rate_hz": 2000.0}}, name="pieces")
    with Client(server.address, token=ALICE) as client:
        job = client.submit(spec).wait()
    channel, st = stub(server.address)
    sizes, pieces = [], {}
    for m in st.StreamResults(service_pb2.StreamResultsRequest(job_id=job.id), metadata=auth()):
        sizes.append(m.ByteSize())
        if m.HasField("stored"):
            pieces.setdefault(m.stored.key, []).append(m.stored)
    channel.close()
    assert max(sizes) <= MiB
    big = {k: p for k, p in pieces.items() if len(p) > 1}
    assert "fluorescence/c/0/0/0" in big
    stored = server_store(server.data, job.id)
    for key, parts in big.items():
        data = b"".join(p.data for p in parts)
        assert [p.byte_offset for p in parts] == [i * (MiB - 1024) for i in range(len(parts))]
        assert len(data) == parts[0].total_bytes > MiB
        assert {p.crc32c for p in parts} == {google_crc32c.value(data)}
        assert data == (stored / key).read_bytes()


def test_cancel_stops_within_one_chunk_and_stays_cancelled(server, alice, tmp_path):
    spec = nagumo_spec(duration_ms=300.0, chunk_ms=1.0, sample_ms=1.0, name="cancel")   # 300 chunks
    job = alice.submit(spec)
    for j in job.events():
        if j.progress.chunks_committed >= 3:
            break
    cancelled = job.cancel()
    at_cancel = committed_chunk(server.data, job.id)
    assert cancelled.state == "CANCELLED"
    time.sleep(1.0)
    after = committed_chunk(server.data, job.id)
    assert at_cancel <= after <= at_cancel + 1, "more than the chunk in flight committed after the cancel"
    time.sleep(0.5)
    assert committed_chunk(server.data, job.id) == after
    again = alice.job(job.id)
    assert again.state == "CANCELLED" and again.progress.chunks_committed <= after + 1 < 300
    assert job.cancel().state == "CANCELLED"                       # a no-op on a terminal job
    with pytest.raises(JobError, match="CANCELLED"):
        again.result(tmp_path / "partial.zarr")


def test_idempotent_submit_and_conflicting_request_id(server, alice, bob):
    spec = nagumo_spec(name="idempotent")
    first = alice.submit(spec, request_id="req-0001")
    reordered = json.loads(json.dumps(spec, sort_keys=True))       # the same spec, fields in another order
    assert alice.submit(reordered, request_id="req-0001").id == first.id
    with pytest.raises(ServiceError) as err:
        alice.submit(nagumo_spec(name="idempotent", duration_ms=5.0), request_id="req-0001")
    assert err.value.code == grpc.StatusCode.ALREADY_EXISTS
    assert "req-0001" in err.value.message and first.id in err.value.message
    other = bob.submit(spec, request_id="req-0001")                 # request ids are per client
    assert other.id != first.id
    assert [j.id for j in alice.jobs() if j.request_id == "req-0001"] == [first.id]


def test_tokens_isolate_clients(server, alice, bob):
    job = alice.submit(nagumo_spec(name="alice-only"))
    for call in (lambda: bob.job(job.id), lambda: bob.job(job.id).cancel(),
                 lambda: next(bob._stream("StreamResults", service_pb2.StreamResultsRequest(job_id=job.id)))):
        with pytest.raises((ServiceError, grpc.RpcError)) as err:
            call()
        code = err.value.code if isinstance(err.value, ServiceError) else err.value.code()
        assert code == grpc.StatusCode.NOT_FOUND
    assert job.id not in {j.id for j in bob.jobs()}
    # bob's cancel did nothing: alice's job runs to its end (a state other than CANCELLED while queued would not
    # tell a refused cancel from one that had not yet arrived)
    assert alice.job(job.id).wait(timeout=60).state == "SUCCEEDED"


def test_delete_then_results_are_failed_precondition(server, alice):
    job = alice.submit(nagumo_spec(name="to-delete")).wait()
    job.delete()
    assert not server_store(server.data, job.id).exists()
    channel, st = stub(server.address)
    for call in (lambda: list(st.StreamResults(service_pb2.StreamResultsRequest(job_id=job.id), metadata=auth())),
                 lambda: st.GetJob(service_pb2.GetJobRequest(job_id=job.id), metadata=auth())):
        with pytest.raises(grpc.RpcError) as err:
            call()
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "deleted" in err.value.details()
    running = alice.submit(nagumo_spec(name="not-yet", duration_ms=200.0))
    with pytest.raises(grpc.RpcError) as err:
        st.DeleteJob(service_pb2.DeleteJobRequest(job_id=running.id), metadata=auth())
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "cancel it first" in err.value.details()
    running.cancel()
    channel.close()


def test_a_damaged_stored_chunk_ends_the_fetch_with_data_loss_naming_it(server, alice, tmp_path, capsys):
    """One flipped bit in a finished job's stored chunk: result() and optowave fetch end within 30 s with
    DATA_LOSS naming the chunk, instead of retrying; the client's copy never receives the damaged bytes."""
    from clients.cli import main as cli_main

    job = alice.submit(nagumo_spec(name="damaged", duration_ms=4.0)).wait()
    key = "v/c/2/0/0"
    path = server_store(server.data, job.id) / key
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))
    t0 = time.monotonic()
    with pytest.raises(ServiceError) as err:
        alice.job(job.id).result(tmp_path / "copy.zarr")
    assert time.monotonic() - t0 < 30
    assert err.value.code == grpc.StatusCode.DATA_LOSS and f"chunk {key} does not match the checksum" in \
        err.value.message
    assert not (tmp_path / "copy.zarr" / key).exists()
    t0 = time.monotonic()
    rc = cli_main(["fetch", job.id, "-o", str(tmp_path / "cli.zarr"), "--server", server.address, "--token", ALICE])
    assert rc != 0 and time.monotonic() - t0 < 30
    assert "DATA_LOSS" in capsys.readouterr().err


# ---------------------------------------------------------------- bad requests


def _submit_bytes(spec_bytes: bytes) -> bytes:
    return field_bytes(1, 2, spec_bytes) + field_bytes(2, 2, b"bad-request")


GOOD = message(nagumo_spec(name="bad-request-base")).SerializeToString()
BAD_REQUESTS = [
    # (case, method, request bytes or message, token, code, text in the message, field named in the details)
    ("not a protobuf", "SubmitJob", b"\xff\xff\xff\xff", ALICE, "INVALID_ARGUMENT",
     "not a valid optowave.v1.SubmitJobRequest", None),
    ("unknown field", "SubmitJob", _submit_bytes(GOOD + field_bytes(99, 0, varint(5))), ALICE, "INVALID_ARGUMENT",
     "unknown field number 99", "spec"),
    ("wrong type", "SubmitJob", _submit_bytes(GOOD + field_bytes(2, 2, field_bytes(1, 2, b"abc"))), ALICE,
     "INVALID_ARGUMENT", "wrong type", "spec.grid.nx"),
    ("out of range", "SubmitJob", service_pb2.SubmitJobRequest(spec=message(nagumo_spec(grid={"nx": 0, "ny": 16,
     "dx_um": 0.5}))), ALICE, "INVALID_ARGUMENT", "must be >= 1", "spec.grid.nx"),
    ("unknown preset", "SubmitJob", service_pb2.SubmitJobRequest(spec=message(nagumo_spec(
     tissue={"model": {"preset": "squid"}}))), ALICE, "INVALID_ARGUMENT", "unknown preset 'squid'",
     "spec.tissue.model.preset"),
    ("a file on the server", "SubmitJob", service_pb2.SubmitJobRequest(spec=message(nagumo_spec(
     tissue={"model": {"preset": "nagumo"}, "mask": {"raster": {"npy_path": "/etc/passwd.npy"}}}))), ALICE,
     "INVALID_ARGUMENT", "cannot name a file", "spec.tissue.mask.raster.npy_path"),
    ("a PNG file on the server", "SubmitJob", service_pb2.SubmitJobRequest(spec=message(nagumo_spec(
     light=[{"pattern": {"image": {"png_path": "/etc/secret.png", "pixel_pitch_um": 1.0}}}]))), ALICE,
     "INVALID_ARGUMENT", "give the image's pixels inline", "spec.light[0].pattern.image.png_path"),
    ("a PNG file nested in a sweep's base", "SubmitSweep", service_pb2.SubmitSweepRequest(spec=service_pb2.SweepSpec(
     base=message(nagumo_spec(tissue={"model": {"preset": "nagumo"}, "mask": {"union": {"patterns": [{"grating": {
         "period_um": 2.0, "duty_cycle": 0.5, "region": {"image": {"png_path": "../../jobs.png",
                                                                  "pixel_pitch_um": 1.0}}}}]}}})))), ALICE,
     "INVALID_ARGUMENT", "the Python client does this itself",
     "spec.base.tissue.mask.union.patterns[0].grating.region.image.png_path"),
    ("oversize grid", "SubmitJob", service_pb2.SubmitJobRequest(spec=message(nagumo_spec(
     grid={"nx": 3000, "ny": 3000, "dx_um": 0.5}))), ALICE, "RESOURCE_EXHAUSTED", "memory limit", "spec.grid"),
    ("too many cell-steps", "SubmitJob", service_pb2.SubmitJobRequest(spec=message(nagumo_spec(
     duration_ms=100_000.0, chunk_ms=1000.0, sample_ms=1000.0))), ALICE, "RESOURCE_EXHAUSTED", "cell-steps",
     "spec.numerics.duration_ms"),
    ("missing token", "SubmitJob", service_pb2.SubmitJobRequest(spec=message(nagumo_spec())), None,
     "UNAUTHENTICATED", "missing token", None),
    ("wrong token", "SubmitJob", service_pb2.SubmitJobRequest(spec=message(nagumo_spec())),
     "not-a-token-0123456789", "UNAUTHENTICATED", "invalid token", None),
    ("unknown job id", "GetJob", service_pb2.GetJobRequest(job_id="no-such-job"), ALICE, "NOT_FOUND", "job_id", None),
    ("message over the size limit", "SubmitJob", service_pb2.SubmitJobRequest(spec=message(nagumo_spec(
     name="x" * (5 * MiB)))), ALICE, "RESOURCE_EXHAUSTED", "larger than max", None),
    ("page size in bad token", "ListJobs", service_pb2.ListJobsRequest(page_token="garbage!"), ALICE,
     "INVALID_ARGUMENT", "page_token", "page_token"),
]


@pytest.mark.parametrize("case, method, body, token, code, text, field", BAD_REQUESTS,
                         ids=[c[0] for c in BAD_REQUESTS])
def test_bad_requests(server, case, method, body, token, code, text, field):
    channel = grpc.insecure_channel(server.address)
    call = raw_call(channel, method)
    raw = body if isinstance(body, bytes) else body.SerializeToString()
    with pytest.raises(grpc.RpcError) as err:
        call(raw, metadata=auth(token) if token else None, timeout=60)
    channel.close()
    assert err.value.code() == getattr(grpc.StatusCode, code), err.value.details()
    assert text in err.value.details()
    if field is not None:
        details = status_details(err.value)
        named = [v.field for d in details if isinstance(d, error_details_pb2.BadRequest) for v in d.field_violations]
        named += [v.subject for d in details if isinstance(d, error_details_pb2.QuotaFailure) for v in d.violations]
        assert field in named, (named, err.value.details())


def test_bad_requests_touch_nothing_and_others_are_served(server, bob, tmp_path):
    """While bad and unauthenticated requests come in, another client's job runs and streams whole."""
    good = bob.submit(nagumo_spec(name="served-meanwhile", duration_ms=8.0))
    db = sqlite3.connect(server.data / "jobs.sqlite")
    before = db.execute("SELECT COUNT(*), MAX(seq) FROM jobs").fetchone()
    channel = grpc.insecure_channel(server.address)
    for _ in range(5):
        for case, method, body, token, *_ in BAD_REQUESTS:
            raw = body if isinstance(body, bytes) else body.SerializeToString()
            with pytest.raises(grpc.RpcError):
                raw_call(channel, method)(raw, metadata=auth(token) if token else None, timeout=60)
    channel.close()
    assert db.execute("SELECT COUNT(*), MAX(seq) FROM jobs").fetchone() == before
    db.close()
    ds = good.result(tmp_path / "good.zarr")
    assert_same_store(tmp_path / "good.zarr", server_store(server.data, good.id))
    assert ds.sizes["time"] == 41


def test_queued_jobs_start_in_order_up_to_the_limit_and_per_client_queue_is_bounded(tmp_path):
    limits = Limits(max_queued_per_client=2)
    with embedded(tmp_path / "data", workers=0, tokens=TOKENS, max_concurrent=1, limits=limits) as address:
        with Client(address, token=ALICE) as client:
            jobs = [client.submit(nagumo_spec(name=f"queued-{k}", duration_ms=20.0)) for k in range(2)]
            for j in jobs[0].events():       # the first starts; the second waits
                if j.state == "RUNNING":
                    break
            jobs.append(client.submit(nagumo_spec(name="queued-2", duration_ms=20.0)))
            with pytest.raises(ServiceError) as err:
                client.submit(nagumo_spec(name="one-too-many"))
            assert err.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED and "queued" in err.value.message
            assert err.value.violations[0][0] == "client:alice"
            done = [j.wait(timeout=120) for j in jobs]
    assert [j.state for j in done] == ["SUCCEEDED"] * 3
    spans = [(j.message.start_time.ToNanoseconds(), j.message.end_time.ToNanoseconds()) for j in done]
    assert all(end_a <= start_b for (_, end_a), (start_b, _) in zip(spans, spans[1:])), "ran out of order or at once"


def test_output_and_disk_limits(tmp_path):
    limits = Limits(max_output_bytes=10_000, disk_reserve_bytes=2**62)     # 10 kB per job; a disk never free
    with embedded(tmp_path / "data", workers=0, limits=limits) as address:
        with Client(address) as client:
            with pytest.raises(ServiceError) as err:
                client.submit(nagumo_spec())                               # 21 samples × 16 × 16 × 4 B = 21504 B
    assert err.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    subjects = [s for s, _ in err.value.violations]
    assert subjects == ["spec.output", "spec.output"]
    assert "0.00 GiB per job" in err.value.violations[0][1] and "disk" in err.value.violations[1][1]
    assert list((tmp_path / "data" / "jobs").iterdir()) == []              # nothing left behind


# ---------------------------------------------------------------- health, reflection, sweeps


def test_health_serving_and_reflection_lists_and_calls_the_service(server):
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

    channel = grpc.insecure_channel(server.address)
    health = health_pb2_grpc.HealthStub(channel)
    for name in ("", SERVICE):
        assert health.Check(health_pb2.HealthCheckRequest(service=name)).status == \
            health_pb2.HealthCheckResponse.SERVING

    reflected = ProtoReflectionDescriptorDatabase(channel)
    assert SERVICE in reflected.get_services()
    pool = descriptor_pool.DescriptorPool(reflected)
    service = pool.FindServiceByName(SERVICE)
    method = service.methods_by_name["ValidateJob"]
    request_cls = message_factory.GetMessageClass(method.input_type)
    response_cls = message_factory.GetMessageClass(method.output_type)
    request = json_format.ParseDict({"spec": nagumo_spec()}, request_cls())
    call = channel.unary_unary(f"/{SERVICE}/ValidateJob", request_serializer=request_cls.SerializeToString,
                               response_deserializer=response_cls.FromString)
    response = call(request, metadata=auth())
    channel.close()
    assert response.ok and response.cost.cell_steps == 16 * 16 * 200   # cells × steps of 4 ms at dt 0.02 ms


def test_validate_reports_errors_warnings_and_cost(server, alice):
    ok = alice.validate(nagumo_spec())
    assert ok.ok and ok.cost["cell_steps"] == 51200 and ok.cost["output_bytes"] == 21 * 16 * 16 * 4
    bad = alice.validate(nagumo_spec(grid={"nx": 3000, "ny": 3000, "dx_um": 0.5}, numerics={"dt_ms": -1.0,
                                                                                            "duration_ms": 4.0}))
    assert not bad.ok and bad.cost == {}
    fields = dict(bad.errors)
    assert "the limit is 0.1 GiB" in fields["grid"] and "must be >= 1e-06 ms" in fields["numerics.dt_ms"]


def test_sweep_through_the_service(server, alice):
    sweep = {"name": "diffusivity", "base": nagumo_spec(name="sweep-base"),
             "axes": [{"path": "coupling.diffusivity_um2_per_ms", "values": [0.5, 2.0]}],
             "metrics": ["fraction_activated"]}
    s = alice.sweep(sweep).wait(poll_s=0.2, timeout=120)
    assert (s.state, s.runs_done, s.runs_failed) == ("SUCCEEDED", 2, 0)
    summary = s.summary()
    on_server = xr.open_zarr(server.data / "sweeps" / s.id / "summary.zarr", consolidated=False).load()
    xr.testing.assert_identical(summary, on_server)
    fraction = summary.fraction_activated.values
    assert fraction[1] > fraction[0]          # a faster front (speed ∝ √D) reaches more tissue in 4 ms
