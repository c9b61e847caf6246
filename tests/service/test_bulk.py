"""The bulk channel (``optowave serve --bulk-listen``): result files over plain TCP beside the result stream.

A real server on loopback (chunks run in its own process), real stores in tmp dirs. The reference for every
fetched store is the server's own store, file for file, and a fetch of the same job over the gRPC stream alone.
Faults the network does not make on demand come from a forwarder (:class:`CuttingProxy`) that the server's
offers name in place of its own port: it cuts the link after so many bytes, or inverts one byte.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import google_crc32c
import grpc
import pytest
import xarray as xr

from clients import Client
from clients._bulk import BulkFailed, bulk_host, path_in
from clients.cli import main as cli_main
from optowave.v1 import service_pb2
from service.jobs import StartupError
from service.server import Server, ServerConfig
from service.server._app import _ThreadedServer
from service.server._bulk import MAGIC
from service.server._results import stored_keys
from tests.service.test_server import (ALICE, BOB, TOKENS, CuttingProxy, assert_same_store, nagumo_spec,
                                       server_store)

TICKET_S = 1.5
TRANSFERS = 2


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server with tokens for alice and bob and a bulk channel (tickets good for 1.5 s, two transfers at once)."""
    data = tmp_path_factory.mktemp("bulk-data")
    threaded = _ThreadedServer(ServerConfig(listen="127.0.0.1:0", data_dir=data, workers=0, tokens=TOKENS,
                                            bulk_listen="127.0.0.1:0", bulk_transfers=TRANSFERS,
                                            bulk_ticket_s=TICKET_S))
    address = threaded.start()
    try:
        yield SimpleNamespace(address=address, data=data, bulk=threaded.server.bulk)
    finally:
        threaded.stop()


@pytest.fixture(scope="module")
def done_job(server):
    """A finished job of five time chunks (its analysis maps are added by the last one)."""
    with Client(server.address, token=ALICE) as client:
        job = client.submit(nagumo_spec(n=32, duration_ms=5.0, chunk_ms=1.0, name="bulk")).wait()
    assert job.state == "SUCCEEDED" and job.progress.chunks_total == 5
    return job


@contextmanager
def offers_through(server, proxy: CuttingProxy):
    """The server's offers name ``proxy``'s port (a forwarder in front of its bulk channel)."""
    real = server.bulk.port
    server.bulk.port = int(proxy.address.rsplit(":", 1)[1])
    try:
        yield
    finally:
        server.bulk.port = real
        proxy.close()


def chunk_bytes(server, job_id: str, k: int) -> int:
    """Stored bytes of the files time chunk ``k`` of a job wrote (what the bulk channel sends for it)."""
    store = server_store(server.data, job_id)
    return sum((store / key).stat().st_size for key in stored_keys(store, k))


def fetch_state(path: Path) -> dict:
    return json.loads(path.with_name(path.name + ".fetch.json").read_text())


def offer(server, job_id: str, token: str = ALICE, from_chunk: int = 0) -> service_pb2.BulkOffer:
    """The bulk offer a StreamResults call with ``bulk`` set ends with."""
    with Client(server.address, token=token) as client:
        messages = list(client._stream("StreamResults", service_pb2.StreamResultsRequest(
            job_id=job_id, from_chunk=from_chunk, bulk=True)))
    assert [m.WhichOneof("kind") for m in messages] == ["header", "bulk"], messages
    return messages[-1].bulk


def hello(port: int, payload: bytes) -> bytes:
    """Everything the bulk channel sends back to ``payload`` before it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(payload)
        got = b""
        while chunk := s.recv(1 << 20):
            got += chunk
    return got


# ---------------------------------------------------------------- the bulk path


def test_a_bulk_fetch_equals_the_stream_fetch_and_the_servers_store(server, done_job, tmp_path):
    before = server.bulk.stats.transfers
    with Client(server.address, token=ALICE) as client:
        job = client.job(done_job.id)
        got = []
        ds = job.result(tmp_path / "bulk.zarr", on_chunk=got.append)
        report = job.fetch_report
        plain = job.result(tmp_path / "stream.zarr", bulk=False)
        plain_report = job.fetch_report
    on_server = server_store(server.data, job.id)
    # the bulk channel carried every time chunk, the plain fetch none
    assert (report.bulk_chunks, report.stream_chunks, report.bulk_failures) == (5, 0, [])
    assert report.bulk_bytes == sum(chunk_bytes(server, job.id, k) for k in range(5))
    assert (plain_report.bulk_chunks, plain_report.stream_chunks) == (0, 5)
    assert server.bulk.stats.transfers == before + 1
    assert got == [0, 1, 2, 3, 4]
    assert_same_store(tmp_path / "bulk.zarr", on_server)
    assert_same_store(tmp_path / "stream.zarr", on_server)
    xr.testing.assert_identical(ds.load(), plain.load())
    assert "activation_time" in ds and ds.attrs["optowave_complete"] is True
    assert fetch_state(tmp_path / "bulk.zarr")["next_chunk"] == 5


def test_files_arrive_while_a_new_store_is_laid_out(server, done_job, tmp_path, monkeypatch):
    """The transfer does not wait for the local store's layout (written on the writer thread): here the layout
    is held until the first file has arrived and checked, and the copy still equals the server's store, whole
    and consolidated."""
    import clients._bulk as bulk
    from clients._fetch import _StoreWriter

    arrived = threading.Event()
    held = []
    real_check, real_create = bulk._check, _StoreWriter._create

    def check(*args):
        real_check(*args)
        arrived.set()

    def create(self, layout):
        held.append(arrived.wait(20))       # False if the transfer waited for this layout
        real_create(self, layout)

    monkeypatch.setattr(bulk, "_check", check)
    monkeypatch.setattr(_StoreWriter, "_create", create)
    with Client(server.address, token=ALICE) as client:
        job = client.job(done_job.id)
        ds = job.result(tmp_path / "c.zarr")
    assert held == [True]
    assert (job.fetch_report.bulk_chunks, job.fetch_report.bulk_failures) == (5, [])
    assert_same_store(tmp_path / "c.zarr", server_store(server.data, job.id))
    assert ds.attrs["optowave_complete"] is True and "activation_time" in ds


def test_a_local_store_that_cannot_be_laid_out_fails_the_fetch_not_the_transfer(server, done_job, tmp_path,
                                                                                monkeypatch):
    """A failed write of the local store's layout is the fetch's error (as it is over the stream), not a bulk
    failure that the stream would try again."""
    from clients._fetch import _StoreWriter

    def create(self, layout):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_StoreWriter, "_create", create)
    with Client(server.address, token=ALICE) as client:
        job = client.job(done_job.id)
        with pytest.raises(OSError, match="No space left on device"):
            job.result(tmp_path / "c.zarr")


def test_optowave_fetch_takes_the_bulk_channel(server, done_job, tmp_path, capsys):
    rc = cli_main(["fetch", done_job.id, "-o", str(tmp_path / "cli.zarr"), "--server", server.address,
                   "--token", ALICE])
    assert rc == 0
    assert capsys.readouterr().out.rstrip().endswith("; 5 of 5 time chunks over the bulk channel")
    assert_same_store(tmp_path / "cli.zarr", server_store(server.data, done_job.id))


def test_a_running_job_comes_in_offers_of_what_is_committed_then_the_stream(server, tmp_path):
    """Fetched while it runs: every time chunk arrives once, by one way or the other, and the copy equals the
    server's store."""
    with Client(server.address, token=ALICE) as client:
        job = client.submit(nagumo_spec(n=32, duration_ms=8.0, chunk_ms=1.0, name="bulk-running"))
        got = []
        job.result(tmp_path / "c.zarr", on_chunk=got.append)
    report = job.fetch_report
    assert got == list(range(8)) and report.bulk_chunks + report.stream_chunks == 8
    assert report.bulk_failures == []
    assert_same_store(tmp_path / "c.zarr", server_store(server.data, job.id))


# ---------------------------------------------------------------- faults: the stream takes over


def test_a_damaged_transfer_fails_its_crc_and_the_stream_brings_the_rest(server, done_job, tmp_path):
    """One byte inverted inside time chunk 1's files: chunk 0 counts, chunk 1 fails its CRC32C, and the stream
    brings chunks 1-4; the copy equals the server's store."""
    flip_at = chunk_bytes(server, done_job.id, 0) + 100
    proxy = CuttingProxy(f"127.0.0.1:{server.bulk.port}", flips=[flip_at])
    with offers_through(server, proxy), Client(server.address, token=ALICE) as client:
        job = client.job(done_job.id)
        job.result(tmp_path / "c.zarr")
    report = job.fetch_report
    assert proxy.flipped == 1 and proxy.connections == 1
    assert (report.bulk_chunks, report.stream_chunks) == (1, 4)
    assert len(report.bulk_failures) == 1 and "CRC32C mismatch" in report.bulk_failures[0]
    assert_same_store(tmp_path / "c.zarr", server_store(server.data, job.id))


def test_a_transfer_cut_midway_resumes_over_the_stream_from_the_first_missing_chunk(server, done_job, tmp_path):
    assert chunk_bytes(server, done_job.id, 2) > 500
    budget = chunk_bytes(server, done_job.id, 0) + chunk_bytes(server, done_job.id, 1) + 500
    proxy = CuttingProxy(f"127.0.0.1:{server.bulk.port}", budgets=[budget])
    asked = []
    with offers_through(server, proxy), Client(server.address, token=ALICE) as client:
        stream = client._stream
        client._stream = lambda name, request: (asked.append((request.from_chunk, request.bulk)),
                                                stream(name, request))[1]
        job = client.job(done_job.id)
        job.result(tmp_path / "c.zarr")
    report = job.fetch_report
    assert proxy.cuts == 1
    assert (report.bulk_chunks, report.stream_chunks) == (2, 3)
    assert "connection closed" in report.bulk_failures[0]
    assert asked == [(0, True), (2, False)]       # the stream resumed at the first chunk the cut left out
    assert_same_store(tmp_path / "c.zarr", server_store(server.data, job.id))


def test_a_refused_connection_falls_back_to_the_stream(server, done_job, tmp_path):
    """The channel serves two transfers at once: with two connections idling on it, a third is refused at
    once, and the fetch takes the stream (the gRPC server never waits for the channel)."""
    refused = server.bulk.stats.refused
    idle = [socket.create_connection(("127.0.0.1", server.bulk.port)) for _ in range(TRANSFERS)]
    time.sleep(0.2)
    try:
        with Client(server.address, token=ALICE) as client:
            job = client.job(done_job.id)
            job.result(tmp_path / "c.zarr")
    finally:
        for s in idle:
            s.close()
    t0 = time.monotonic()       # the idle connections, closed without a ticket, are refused too
    while server.bulk.stats.refused < refused + 1 + TRANSFERS and time.monotonic() - t0 < 5:
        time.sleep(0.01)
    assert server.bulk.stats.refused == refused + 1 + TRANSFERS
    report = job.fetch_report
    assert (report.bulk_chunks, report.stream_chunks) == (0, 5) and len(report.bulk_failures) == 1
    assert_same_store(tmp_path / "c.zarr", server_store(server.data, job.id))


# ---------------------------------------------------------------- tickets


def test_bad_used_and_expired_tickets_are_refused_and_others_are_served(server, done_job, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="optowave.server")
    port = server.bulk.port
    refused = server.bulk.stats.refused
    store = server_store(server.data, done_job.id)
    wanted = b"".join((store / f.key).read_bytes() for c in offer(server, done_job.id).chunks for f in c.files)

    # a good ticket: the files of this job, in the offered order, byte for byte; used once only
    good = offer(server, done_job.id)
    assert len(good.ticket) == 32 and good.ticket_ms == round(1e3 * TICKET_S)
    assert hello(port, MAGIC + good.ticket) == wanted
    assert hello(port, MAGIC + good.ticket) == b""                          # reused
    assert hello(port, MAGIC + os.urandom(32)) == b""                        # made up
    assert hello(port, (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + bytes(36))[:36]) == b""   # not a client at all
    late = offer(server, done_job.id)
    time.sleep(TICKET_S + 0.3)
    assert hello(port, MAGIC + late.ticket) == b""                           # expired
    assert server.bulk.stats.refused == refused + 4
    logged = [r.getMessage() for r in caplog.records if "bulk channel: refused" in r.getMessage()]
    assert sum("unknown or used ticket" in m for m in logged) == 2
    assert sum("no ticket" in m for m in logged) == 1
    assert sum(f"expired ticket (job {done_job.id} chunks 0..4)" in m for m in logged) == 1

    # bob cannot get an offer for alice's job; his own job comes over the channel as ever
    with pytest.raises(grpc.RpcError) as err:
        offer(server, done_job.id, token=BOB)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with Client(server.address, token=BOB) as client:
        job = client.submit(nagumo_spec(n=16, duration_ms=2.0, chunk_ms=1.0, name="bob-bulk")).wait()
        job.result(tmp_path / "bob.zarr")
    assert job.fetch_report.bulk_chunks == 2 and job.fetch_report.bulk_failures == []
    assert_same_store(tmp_path / "bob.zarr", server_store(server.data, job.id))


def test_a_ticket_names_files_from_the_resumed_chunk_on(server, done_job):
    o = offer(server, done_job.id, from_chunk=3)
    store = server_store(server.data, done_job.id)
    assert [c.chunk_index for c in o.chunks] == [3, 4]
    for c in o.chunks:
        keys = stored_keys(store, c.chunk_index)
        assert [f.key for f in c.files] == sorted(keys)
        assert [f.crc32c for f in c.files] == [keys[k] for k in sorted(keys)]
        assert [f.size for f in c.files] == [(store / k).stat().st_size for k in sorted(keys)]
    assert hello(server.bulk.port, MAGIC + o.ticket) == b"".join(
        (store / f.key).read_bytes() for c in o.chunks for f in c.files)


# ---------------------------------------------------------------- configuration


def test_a_tls_server_refuses_the_bulk_channel(tmp_path):
    cert, key = tmp_path / "server.pem", tmp_path / "server.key"
    cert.write_text("not used: refused before it is read")
    key.write_text("not used")
    config = ServerConfig(listen="127.0.0.1:0", data_dir=tmp_path / "data", workers=0, tls_cert=cert, tls_key=key,
                          bulk_listen="127.0.0.1:0")
    with pytest.raises(StartupError, match=r"--bulk-listen 127.0.0.1:0: the bulk channel is plain TCP"):
        asyncio.run(Server(config).start())
    assert not (tmp_path / "data").exists(), "a refused server touched its data directory"


def test_serve_command_line_refuses_bulk_with_tls_and_a_bad_transfer_count(tmp_path, capsys):
    rc = cli_main(["serve", "--data", str(tmp_path / "a"), "--workers", "0", "--bulk-listen", "127.0.0.1:0",
                   "--tls-cert", str(tmp_path / "c.pem"), "--tls-key", str(tmp_path / "k.pem")])
    assert rc == 2 and "--bulk-listen 127.0.0.1:0: the bulk channel is plain TCP" in capsys.readouterr().err
    rc = cli_main(["serve", "--data", str(tmp_path / "b"), "--workers", "0", "--bulk-listen", "127.0.0.1:0",
                   "--bulk-transfers", "0"])
    assert rc == 2 and "--bulk-transfers 0 is not allowed; must be > 0" in capsys.readouterr().err


def test_bulk_listen_that_cannot_be_bound_is_a_startup_error_naming_it(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        config = ServerConfig(listen="127.0.0.1:0", data_dir=tmp_path / "data", workers=0, bulk_listen=address)
        with pytest.raises(StartupError, match=f"cannot listen on --bulk-listen {address}"):
            asyncio.run(Server(config).start())


def test_client_side_addresses_and_keys():
    assert bulk_host("127.0.0.1:50051") == "127.0.0.1"
    assert bulk_host("lab-server:50051") == "lab-server"
    assert bulk_host("[::1]:50051") == "::1"
    assert bulk_host("unix:/tmp/optowave.sock") is None
    assert bulk_host("dns:///lab-server:50051") is None
    root = Path("/tmp/store")
    assert path_in(root, "v/c/3/0/0") == root / "v" / "c" / "3" / "0" / "0"
    for bad in ("../outside", "/etc/passwd", "v/../../x", ""):
        with pytest.raises(BulkFailed, match="outside the store"):
            path_in(root, bad)


@pytest.mark.parametrize("mapped", [True, False])
def test_a_received_file_is_checked_in_place_or_read_back_and_one_flipped_bit_is_caught(mapped, tmp_path,
                                                                                        monkeypatch):
    """The check of a received file: over a mapping of its pages with the CRC32C library's C function where
    it can be had (here it can), else read back in blocks. Both agree with ``google_crc32c`` on the whole
    file and catch one flipped bit; a file shorter than offered is caught before it is mapped."""
    import clients._bulk as bulk

    assert bulk._EXTEND is not None                     # this platform checks in place
    ran = []
    if mapped:
        monkeypatch.setattr(bulk, "_crc32c_read", lambda *a: ran.append("read") or (0, 0))
    else:
        monkeypatch.setattr(bulk, "_EXTEND", None)
        real = bulk._crc32c_read
        monkeypatch.setattr(bulk, "_crc32c_read", lambda *a: ran.append("read") or real(*a))
    data = bytearray(os.urandom(3 * 2**20 + 12345))        # more than one read-back block, not a whole one
    path = tmp_path / "chunk"
    path.write_bytes(data)
    crc = google_crc32c.value(bytes(data))

    def check(crc32c: int, size: int = len(data)) -> None:
        bulk._check(os.open(path, os.O_RDONLY), size, "v/c/0/0/0", crc32c)

    check(crc)
    data[len(data) // 2] ^= 0x10
    path.write_bytes(data)
    with pytest.raises(BulkFailed, match=rf"chunk v/c/0/0/0: CRC32C mismatch in transit .* recorded {crc:#010x}"):
        check(crc)
    with pytest.raises(BulkFailed, match=rf"over {len(data)} bytes, the server recorded .* over {len(data) + 1}"):
        check(crc, len(data) + 1)
    assert ran == ([] if mapped else ["read", "read"])


def test_the_directories_of_an_offer_are_made_ahead_inside_the_store_only(tmp_path):
    """The helper that makes an offer's directories while the first files arrive: every parent directory, in
    order, each noted as made; a key that leaves the store ends it before anything is made outside."""
    import threading

    from clients._bulk import _make_directories

    offer = service_pb2.BulkOffer(chunks=[
        service_pb2.BulkChunk(chunk_index=0, files=[service_pb2.BulkFile(key="v/c/0/0/0"),
                                                    service_pb2.BulkFile(key="time/c/0")]),
        service_pb2.BulkChunk(chunk_index=1, files=[service_pb2.BulkFile(key="v/c/1/0/0"),
                                                    service_pb2.BulkFile(key="../outside/c/0"),
                                                    service_pb2.BulkFile(key="dff/c/1/0/0")])])
    made: set[Path] = set()
    root = tmp_path / "store"
    _make_directories(offer, root, made, threading.Event())
    assert made == {root / "v/c/0/0", root / "time/c", root / "v/c/1/0"}
    assert all(p.is_dir() for p in made)
    assert not (tmp_path / "outside").exists() and not (root / "dff").exists()
    stopped: set[Path] = set()
    stop = threading.Event()
    stop.set()
    _make_directories(offer, tmp_path / "other", stopped, stop)
    assert stopped == set() and not (tmp_path / "other").exists()
