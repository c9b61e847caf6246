"""The service's costs on loopback, each as a ratio against a baseline measured in the same run.

    python benchmarks/service_bench.py [--submissions 40] [--stream-mb 64] [--job-seconds 20] [--json]

1. Submit-to-first-event latency: ``SubmitJob`` then ``WatchJob``, until the first event (and until the
   job is RUNNING, and until its first chunk committed); median and p99 over many tiny jobs.
2. Result-stream throughput: a job's store streamed into a local Zarr store by the client (the stored,
   compressed chunks as they are), in MB/s of array data and of stored bytes, against a copy of the same
   store's files (``shutil.copytree``) and a plain TCP transfer on loopback (the machine's limit for any
   stream); for a smooth V movie and for a noisy camera movie that compression cannot shrink.
3. Overhead of a job through the service (embedded server, local Dask cluster, submit -> result
   in a local store) against ``optowave run`` of the same spec in process.

Not a test: it never fails for being slow.
"""
from __future__ import annotations

import argparse
import json
import shutil
import signal
import socket
import subprocess
import statistics
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def nagumo(n: int, duration_ms: float, *, sample_ms: float, chunk_ms: float, name: str) -> dict:
    return {
        "name": name, "grid": {"nx": n, "ny": n, "dx_um": 0.5},
        "tissue": {"model": {"preset": "nagumo"}, "initial": {"regions": [
            {"pattern": {"rectangle": {"min_um": {"x": 0, "y": 0}, "max_um": {"x": 2, "y": n * 0.5}}},
             "values": {"u": 1.0}}]}},
        "coupling": {"diffusivity_um2_per_ms": 1.0},
        "numerics": {"dt_ms": 0.02, "duration_ms": duration_ms, "chunk_ms": chunk_ms},
        "output": {"sample_interval_ms": sample_ms},
    }


@contextmanager
def server_process(data: Path, workers: int):
    """``optowave serve`` in a subprocess on a free loopback port (its own GIL, as in production)."""
    cmd = [sys.executable, "-m", "clients.cli", "serve", "--listen", "127.0.0.1:0", "--data", str(data),
           "--workers", str(workers), "--max-concurrent", "1"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        for line in proc.stdout:
            if line.startswith("optowave serving on "):
                address = line.split()[3]
                break
        else:
            raise RuntimeError("the server did not start")
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        yield address
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()


def percentile(xs, q: float) -> float:
    return float(np.percentile(np.asarray(xs), q))


def bench_latency(address: str, n: int) -> dict:
    from clients import Client
    from optowave.v1 import service_pb2

    first, running, chunk = [], [], []
    with Client(address) as client:
        client.submit(nagumo(16, 1.0, sample_ms=0.2, chunk_ms=1.0, name="warm-up")).wait()
        for k in range(n):
            spec = nagumo(16, 1.0, sample_ms=0.2, chunk_ms=1.0, name=f"latency-{k}")
            t0 = time.perf_counter()
            job = client.submit(spec)
            stream = client._stream("WatchJob", service_pb2.WatchJobRequest(job_id=job.id))
            t_first = t_running = t_chunk = None
            for event in stream:
                now = time.perf_counter() - t0
                t_first = t_first if t_first is not None else now
                if t_running is None and event.job.state >= service_pb2.JOB_STATE_RUNNING:
                    t_running = now
                if t_chunk is None and event.job.progress.chunks_committed >= 1:
                    t_chunk = now
                if event.job.state == service_pb2.JOB_STATE_FAILED:
                    raise RuntimeError(f"job {job.id} failed: {event.job.error}")
            first.append(t_first)
            running.append(t_running)
            chunk.append(t_chunk)
    out = {}
    for name, xs in (("first_event", first), ("running", running), ("first_chunk", chunk)):
        out[name] = {"median_ms": 1e3 * statistics.median(xs), "p99_ms": 1e3 * percentile(xs, 99)}
    return out


def loopback_tcp_mb_per_s(n_bytes: int) -> float:
    """A plain TCP transfer of ``n_bytes`` on loopback: the ceiling of any stream here."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    block = b"\0" * (1 << 20)

    def send():
        conn, _ = server.accept()
        sent = 0
        while sent < n_bytes:
            conn.sendall(block)
            sent += len(block)
        conn.close()

    threading.Thread(target=send, daemon=True).start()
    client = socket.create_connection(server.getsockname())
    t0 = time.perf_counter()
    got = 0
    while True:
        data = client.recv(1 << 20)
        if not data:
            break
        got += len(data)
    elapsed = time.perf_counter() - t0
    client.close()
    server.close()
    return got / elapsed / 1e6


def hek_sheet(n: int, duration_ms: float, *, name: str) -> dict:
    """A HEK sheet lit on its left edge, every step stored: voltages that vary (a store that does not
    compress to nothing, unlike a Nagumo front)."""
    return {
        "name": name, "grid": {"nx": n, "ny": n, "dx_um": 10.0},
        "tissue": {"model": {"preset": "hek_gokhale2017_35c"}}, "coupling": {"diffusivity_um2_per_ms": 1000.0},
        "light": [{"pattern": {"rectangle": {"min_um": {"x": 0, "y": 0}, "max_um": {"x": 30, "y": 10.0 * n}}},
                   "waveform": {"pulse": {"start_ms": 1, "width_ms": 2}}, "irradiance_mw_per_mm2": 1.0}],
        "numerics": {"dt_ms": 0.02, "duration_ms": duration_ms, "chunk_ms": round(duration_ms / 8 / 0.02) * 0.02},
        "output": {"sample_interval_ms": 0.02},
    }


def bench_stream(address: str, data_dir: Path, tmp: Path, mb: float) -> dict:
    """Two stores streamed into local stores: the V movie of a HEK sheet (smooth: Zstandard shrinks it many
    times, so the stream moves far fewer bytes than the arrays hold), and a camera movie (shot and read noise:
    stored bytes about equal to the array bytes, the case where the stream's own speed shows)."""
    from clients import Client

    n = 64
    samples = max(16, int(mb * 1e6 / (n * n * 4)))
    v_spec = hek_sheet(n, round((samples - 1) / 8) * 8 * 0.02, name="stream-v")
    frames = max(16, int(mb * 1e6 / 2 / (n * n * 4)))          # fluorescence and dF/F, float32
    chunk_ms = max(1, round(frames * 0.5 / 8))                # 2000 frames/s: 0.5 ms a frame, 8 chunks
    cam_spec = hek_sheet(n, 8 * chunk_ms, name="stream-camera")
    cam_spec["readout"] = {"enabled": True, "camera": {"frame_rate_hz": 2000.0}}
    cam_spec["output"] = {"sample_interval_ms": 1.0}
    cam_spec["numerics"]["chunk_ms"] = float(chunk_ms)
    out = {}
    with Client(address) as client:
        client.submit(nagumo(16, 1.0, sample_ms=0.2, chunk_ms=1.0, name="warm-up")).result(tmp / "warm-up.zarr")
        for label, spec in (("v", v_spec), ("camera", cam_spec)):
            job = client.submit(spec).wait()
            if job.state != "SUCCEEDED":
                raise RuntimeError(f"the stream job {job.state}: {job.error}")
            store = data_dir / "jobs" / job.id / "result.zarr"
            disk_bytes = sum(p.stat().st_size for p in store.rglob("*") if p.is_file())
            t0 = time.perf_counter()
            ds = job.result(tmp / f"streamed-{label}.zarr")
            stream_s = time.perf_counter() - t0
            array_bytes = sum(ds[v].nbytes for v in ds.variables)
            t0 = time.perf_counter()
            shutil.copytree(store, tmp / f"copied-{label}.zarr")
            copy_s = time.perf_counter() - t0
            out[label] = {"array_mb": array_bytes / 1e6, "store_mb_on_disk": disk_bytes / 1e6,
                          "chunks": job.progress.chunks_total, "stream_s": stream_s,
                          "stream_array_mb_per_s": array_bytes / stream_s / 1e6,
                          "stream_stored_mb_per_s": disk_bytes / stream_s / 1e6,
                          "store_copy_s": copy_s, "store_copy_mb_per_s": disk_bytes / copy_s / 1e6,
                          "stream_over_store_copy_time": stream_s / copy_s}
    out["loopback_tcp_mb_per_s"] = loopback_tcp_mb_per_s(int(64e6))
    return out


def bench_overhead(address: str, tmp: Path, job_seconds: float, repeat: int) -> dict:
    """The same spec through the service (submit -> result in a local store) and through ``optowave run``."""
    from clients import Client
    from clients.cli import main as cli_main
    from solver.engine.cost import NOMINAL_RATE

    import os

    n = 256
    rate = NOMINAL_RATE["nagumo"] * (os.cpu_count() or 1)
    sample_ms = max(1.0, round(job_seconds * rate / (n * n) * 0.02 / 100))     # 100 frames, 20 chunks
    duration = 100 * sample_ms
    spec = nagumo(n, duration, sample_ms=sample_ms, chunk_ms=5 * sample_ms, name="overhead")
    spec_path = tmp / "overhead.json"
    spec_path.write_text(json.dumps(spec))
    cli_main(["run", str(spec_path), "-o", str(tmp / "warm.zarr"), "--quiet"])   # compile once, here
    run_s, service_s = [], []
    with Client(address) as client:
        for k in range(repeat):       # alternate, so that a busy moment of the machine hits both
            t0 = time.perf_counter()
            assert cli_main(["run", str(spec_path), "-o", str(tmp / f"run-{k}.zarr"), "--quiet"]) == 0
            run_s.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            client.submit(spec).result(tmp / f"service-{k}.zarr")
            service_s.append(time.perf_counter() - t0)
    run_med, service_med = statistics.median(run_s), statistics.median(service_s)
    return {"duration_ms": duration, "grid": f"{n}x{n}", "optowave_run_s": run_s, "service_s": service_s,
            "service_over_run": service_med / run_med, "median_run_s": run_med, "median_service_s": service_med}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--submissions", type=int, default=40)
    p.add_argument("--stream-mb", type=float, default=64.0)
    p.add_argument("--job-seconds", type=float, default=20.0, help="size of the overhead job at the nominal rate")
    p.add_argument("--repeat", type=int, default=3, help="runs of the overhead job each way (medians)")
    p.add_argument("--workers", type=int, default=1, help="local Dask workers of the server")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    results = {}
    with tempfile.TemporaryDirectory(prefix="optowave-bench-") as d:
        tmp = Path(d)
        with server_process(tmp / "data", args.workers) as address:
            results["latency"] = bench_latency(address, args.submissions)
            results["stream"] = bench_stream(address, tmp / "data", tmp, args.stream_mb)
            results["overhead"] = bench_overhead(address, tmp, args.job_seconds, args.repeat)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    lat, st, ov = results["latency"], results["stream"], results["overhead"]
    print(f"submit -> first event: median {lat['first_event']['median_ms']:.1f} ms, p99 "
          f"{lat['first_event']['p99_ms']:.1f} ms ({args.submissions} jobs; RUNNING: median "
          f"{lat['running']['median_ms']:.1f} ms, first chunk committed: median "
          f"{lat['first_chunk']['median_ms']:.1f} ms)")
    for label in ("v", "camera"):
        r = st[label]
        print(f"result stream, {label} movie: {r['array_mb']:.0f} MB of arrays ({r['store_mb_on_disk']:.1f} MB stored, "
              f"{r['chunks']} chunks) in {r['stream_s']:.2f} s = {r['stream_array_mb_per_s']:.0f} MB/s of arrays, "
              f"{r['stream_stored_mb_per_s']:.0f} MB/s of stored bytes ({100 * r['stream_stored_mb_per_s'] / st['loopback_tcp_mb_per_s']:.0f}% "
              f"of loopback TCP, {st['loopback_tcp_mb_per_s']:.0f} MB/s); a copy of the store's files "
              f"{r['store_copy_s']:.3f} s: stream/copy time {r['stream_over_store_copy_time']:.2f}x")
    print(f"job through the service vs optowave run ({ov['grid']}, {ov['duration_ms']:g} ms, medians of "
          f"{args.repeat}): {ov['median_service_s']:.2f} s vs {ov['median_run_s']:.2f} s = "
          f"{ov['service_over_run']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
