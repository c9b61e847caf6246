"""A server that stops, gracefully or by SIGKILL, and starts again on the same data directory.

Every job must end as the uninterrupted run would have ended it (the reference store, file for
file), no job may stay RUNNING, finished results must survive, and a client that was streaming
across the restart must end up with the whole result.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from clients import Client
from optowave.v1 import service_pb2
from service.server import embedded
from tests.specs import small_hek_spec
from tests.service.test_server import (ALICE, SERVICE, TOKENS, assert_same_store, auth, nagumo_spec, reference_store,
                                       server_store, store_files, stub)

ROOT = Path(__file__).resolve().parents[2]


def job_state(data: Path, job_id: str) -> str:
    db = sqlite3.connect(data / "jobs.sqlite")
    try:
        return db.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]
    finally:
        db.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """``optowave serve`` in a subprocess (its own process group, so that SIGKILL takes its Dask
    workers along, as a crashed machine would)."""

    def __init__(self, data: Path, port: int, token_file: Path, *extra: str, timeout: float = 180.0):
        cmd = [sys.executable, "-m", "clients.cli", "serve", "--listen", f"127.0.0.1:{port}", "--data", str(data),
               "--token-file", str(token_file), *extra]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        self.lines: list[str] = []
        self.address = None
        ready = threading.Event()

        def read():
            for line in self.proc.stdout:
                self.lines.append(line)
                if line.startswith("optowave serving on "):
                    self.address = line.split()[3]
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(timeout) or self.address is None:
            self.kill()
            raise RuntimeError("the server did not start:\n" + "".join(self.lines[-40:]))

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(30)

    def terminate(self, timeout: float = 60.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self.kill()    # whatever is left of the group


@pytest.fixture
def token_file(tmp_path) -> Path:
    path = tmp_path / "tokens.txt"
    path.write_text("".join(f"{name} {token}\n" for token, name in TOKENS.items()))
    return path


def test_sigkill_mid_run_then_restart_finishes_the_job_identically(tmp_path, token_file):
    data, port = tmp_path / "data", free_port()
    server = ServerProcess(data, port, token_file, "--workers", "1")
    try:
        client = Client(server.address, token=ALICE)
        finished = client.submit(nagumo_spec(name="finished-before-the-kill")).wait(timeout=120)
        finished_files = store_files(server_store(data, finished.id))

        # 80 chunks of a HEK strip filmed by the camera and analysed at the end (camera state in every checkpoint)
        spec = small_hek_spec(
            name="killed", grid={"nx": 32, "ny": 6, "dx_um": 10.0},
            light=[{"pattern": {"rectangle": {"min_um": {"x": 0, "y": 0}, "max_um": {"x": 40, "y": 60}}},
                    "waveform": {"pulse": {"start_ms": 4.0, "width_ms": 3.0}}, "irradiance_mw_per_mm2": 5.0}],
            numerics={"dt_ms": 0.02, "duration_ms": 80.0, "chunk_ms": 1.0}, output={"sample_interval_ms": 0.5},
            readout={"enabled": True, "camera": {"frame_rate_hz": 1000.0, "binning": 2}}, seed=11)
        job = client.submit(spec)
        fetched: dict = {}

        def fetch():     # a client streaming the result across the kill and the restart
            try:
                fetched["ds"] = Client(server.address, token=ALICE).job(job.id).result(
                    tmp_path / "client.zarr", on_chunk=fetched.setdefault("chunks", []).append)
            except Exception as exc:  # noqa: BLE001
                fetched["error"] = exc

        streaming = threading.Thread(target=fetch)
        streaming.start()
        for j in job.events():
            if j.progress.chunks_committed >= 5:
                break
        server.kill()
        assert job_state(data, job.id) == "RUNNING"
        committed_at_kill = len(fetched.get("chunks", []))
        assert committed_at_kill < 80

        server = ServerProcess(data, port, token_file, "--workers", "1")
        done = Client(server.address, token=ALICE).job(job.id).wait(timeout=180)
        assert done.state == "SUCCEEDED" and done.progress.chunks_committed == 80
        streaming.join(180)
        assert "error" not in fetched, fetched.get("error")
        assert fetched["chunks"] == list(range(80))        # every chunk once, across the restart

        on_server = server_store(data, job.id)
        assert_same_store(reference_store(spec, tmp_path / "reference.zarr"), on_server)
        assert_same_store(tmp_path / "client.zarr", on_server)
        got = fetched["ds"].load()
        assert got.sizes["frame"] == 80 and float(got.dff.max()) > 0.1       # the wave was filmed ...
        assert np.isfinite(got.activation_time.values).all()                  # ... and measured, on V
        assert float(got.dff_fraction_activated) == 1.0                       # and on the movie

        after = Client(server.address, token=ALICE)
        assert after.jobs(state="running") == [] and after.jobs(state="queued") == []
        assert after.job(finished.id).state == "SUCCEEDED"
        assert store_files(server_store(data, finished.id)) == finished_files
        after.job(finished.id).result(tmp_path / "finished.zarr")
        assert_same_store(tmp_path / "finished.zarr", server_store(data, finished.id))
    finally:
        rc = server.terminate()
    assert rc == 0, "".join(server.lines[-30:])


def test_graceful_shutdown_ends_streams_resumably_and_the_job_resumes(tmp_path):
    data = tmp_path / "data"
    spec = nagumo_spec(duration_ms=150.0, chunk_ms=1.0, sample_ms=1.0, name="graceful")    # 150 chunks
    seen = {"health": [], "chunks": [], "error": None}
    with embedded(data, workers=0, tokens=TOKENS, grace_s=5.0) as address:
        job = Client(address, token=ALICE).submit(spec)
        for j in job.events():
            if j.progress.chunks_committed >= 3:
                break
        health_channel, results_channel = grpc.insecure_channel(address), stub(address)[0]
        health_stream = health_pb2_grpc.HealthStub(health_channel).Watch(
            health_pb2.HealthCheckRequest(service=SERVICE))
        results = stub(address)[1].StreamResults(service_pb2.StreamResultsRequest(job_id=job.id), metadata=auth())

        def watch_health():
            try:
                for r in health_stream:
                    seen["health"].append(r.status)
            except grpc.RpcError:
                pass

        def read_results():
            try:
                for m in results:
                    if m.HasField("chunk_sent"):
                        seen["chunks"].append(m.chunk_sent.chunk_index)
            except grpc.RpcError as err:
                seen["error"] = err

        threads = [threading.Thread(target=watch_health), threading.Thread(target=read_results)]
        for t in threads:
            t.start()
        while not seen["chunks"] or not seen["health"]:
            time.sleep(0.01)
    # the server has stopped (the context exited)
    for t in threads:
        t.join(30)
    health_channel.close()
    results_channel.close()
    assert seen["health"][0] == health_pb2.HealthCheckResponse.SERVING
    assert health_pb2.HealthCheckResponse.NOT_SERVING in seen["health"]
    err = seen["error"]
    assert err is not None and err.code() == grpc.StatusCode.UNAVAILABLE and "shutting down" in err.details()
    n = len(seen["chunks"])
    assert seen["chunks"] == list(range(n)) and f"from chunk {n}" in err.details()
    assert job_state(data, job.id) == "RUNNING"

    with embedded(data, workers=0, tokens=TOKENS) as address:
        with Client(address, token=ALICE) as client:
            done = client.job(job.id).wait(timeout=120)
            ds = done.result(tmp_path / "client.zarr")
    assert done.state == "SUCCEEDED" and ds.sizes["time"] == 151
    assert_same_store(reference_store(spec, tmp_path / "reference.zarr"), server_store(data, job.id))
    assert_same_store(tmp_path / "client.zarr", server_store(data, job.id))


def test_sigkill_mid_sweep_and_mid_design_then_restart_finishes_both_with_the_same_answers(tmp_path, token_file):
    from clients.cli import main as cli_main
    from service.sweep import run_sweep
    from tests.service.test_server_groups import example_design, slow_sweep

    design_file = example_design(tmp_path)
    data, port = tmp_path / "data", free_port()
    server = ServerProcess(data, port, token_file, "--workers", "2")
    try:
        client = Client(server.address, token=ALICE)
        design = client.design(design_file)
        for d in design.events():     # its first round first: the sweep's runs then queue before its next ones
            if d.rounds_done >= 1:
                break
        sweep = client.sweep(slow_sweep())
        deadline = time.monotonic() + 120
        while sweep.refresh().runs_done < 3:
            assert time.monotonic() < deadline, (sweep, design)
            time.sleep(0.05)
        server.kill()
        runs = data / "designs" / design.id / "runs"
        recorded = {p.name: p.stat().st_mtime_ns for p in runs.glob("*.json")}
        db = sqlite3.connect(data / "jobs.sqlite")
        states = db.execute("SELECT (SELECT state FROM sweeps WHERE id = ?), (SELECT state FROM designs WHERE id = ?)",
                            (sweep.id, design.id)).fetchone()
        db.close()
        assert states == ("RUNNING", "RUNNING") and len(recorded) >= 2

        server = ServerProcess(data, port, token_file, "--workers", "2")
        client = Client(server.address, token=ALICE)
        sweep, design = client.get_sweep(sweep.id).wait(timeout=300), client.get_design(design.id).wait(timeout=300)
        assert (sweep.state, sweep.runs_done, sweep.runs_failed) == ("SUCCEEDED", 20, 0)
        assert design.state == "SUCCEEDED", design.error
        # the runs recorded before the kill were read again, not run again
        assert {p: runs.joinpath(p).stat().st_mtime_ns for p in recorded} == recorded
        summary, report = sweep.summary(), json.loads(design.report(tmp_path / "there")["report.json"].read_text())
    finally:
        rc = server.terminate()
    assert rc == 0, "".join(server.lines[-30:])
    reference = run_sweep(slow_sweep(), tmp_path / "reference.zarr").summary       # uninterrupted, here
    assert summary["fraction_activated"].values.tolist() == reference["fraction_activated"].values.tolist()
    assert cli_main(["design", str(design_file), "-o", str(tmp_path / "here"), "--quiet"]) == 0
    here = json.loads((tmp_path / "here" / "report.json").read_text())
    assert report["summary"] == here["summary"]
    assert [(r["irradiance_mw_per_mm2"], r["success"]) for r in report["runs"]] == \
        [(r["irradiance_mw_per_mm2"], r["success"]) for r in here["runs"]]
