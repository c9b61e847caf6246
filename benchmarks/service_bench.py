"""The service's costs on loopback, each as a ratio against a baseline measured in the same run.

    python benchmarks/service_bench.py [--submissions 40] [--stream-mb 64] [--stream-repeat 5] [--job-seconds 20]
                                       [--only latency|stream|overhead] [--before TREE] [--json]

1. Submit-to-first-event latency: ``SubmitJob`` then ``WatchJob``, until the first event (and until the
   job is RUNNING, and until its first chunk committed); median and p99 over many tiny jobs.
2. Result-stream throughput: a job's store streamed into a local Zarr store by the client (the stored,
   compressed chunks as they are), in MB/s of array data and of stored bytes, against three copies of the
   same store's files, interleaved, medians: ``shutil.copytree``, the files over loopback TCP into files (the
   floor of any network protocol), and a bare gRPC stream of the same bytes (no store work: the floor of a
   gRPC stream); for a smooth V movie and for a noisy camera movie that compression cannot shrink. The same
   fetch over the bulk channel (the server runs with ``--bulk-listen``; ``sendfile`` there, ``splice`` here,
   every file's CRC32C checked) is timed with them, stage by stage; ``--before TREE`` adds the same fetch by
   another checkout's client (the code before a change), timed the same way in the same rounds.
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
import struct
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
           "--workers", str(workers), "--max-concurrent", "1", "--bulk-listen", "127.0.0.1:0"]
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


def store_files(store: Path) -> list[tuple[str, Path]]:
    return sorted((p.relative_to(store).as_posix(), p) for p in store.rglob("*") if p.is_file())


def tcp_copy(store: Path, dest: Path) -> None:
    """The store's files sent over a loopback TCP connection (``sendfile``, no copy in the sender) and written
    into files on the other side: the floor of any network protocol that copies a store here."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def send():
        conn, _ = server.accept()
        with conn:
            for key, path in store_files(store):
                name = key.encode()
                conn.sendall(struct.pack("<IQ", len(name), path.stat().st_size) + name)
                with open(path, "rb") as f:
                    conn.sendfile(f)
        server.close()

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    made: set[Path] = set()
    with socket.create_connection(server.getsockname()) as conn, conn.makefile("rb", buffering=1 << 20) as src:
        while head := src.read(12):
            n_name, size = struct.unpack("<IQ", head)
            path = dest / src.read(n_name).decode()
            if path.parent not in made:
                path.parent.mkdir(parents=True, exist_ok=True)
                made.add(path.parent)
            with open(path, "wb") as f:
                while size:
                    block = src.read1(min(size, 1 << 20))
                    f.write(block)
                    size -= len(block)
    sender.join()


def bare_grpc_server() -> None:
    """``--bare-grpc-server``: a gRPC server that streams the files of the store named in a request, in pieces
    of the result stream's size, as bytes (no messages, no store work on either side)."""
    import asyncio

    import grpc

    from service.server._results import PIECE_BYTES

    async def files(request: bytes, context):
        for _, path in store_files(Path(request.decode())):
            data = memoryview(path.read_bytes())
            for off in range(0, len(data), PIECE_BYTES):
                yield bytes(data[off:off + PIECE_BYTES])

    async def serve():
        server = grpc.aio.server(options=[("grpc.max_send_message_length", 16 << 20)])
        server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
            "bench.Bare", {"Files": grpc.unary_stream_rpc_method_handler(files)})])
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        print(f"bare gRPC on 127.0.0.1:{port}", flush=True)
        await server.wait_for_termination()

    asyncio.run(serve())


@contextmanager
def bare_grpc():
    """A call that streams a store's files from :func:`bare_grpc_server` in a subprocess and discards them."""
    import grpc

    proc = subprocess.Popen([sys.executable, __file__, "--bare-grpc-server"], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True)
    try:
        address = proc.stdout.readline().split()[-1]
        with grpc.insecure_channel(address, options=[("grpc.max_receive_message_length", 16 << 20)]) as channel:
            call = channel.unary_stream("/bench.Bare/Files")

            def stream(store: Path) -> int:
                return sum(len(piece) for piece in call(str(store).encode()))

            yield stream
    finally:
        proc.terminate()
        proc.wait(30)


def bulk_files(client, job_id: str, address: str, dest: Path) -> int:
    """A job's stored chunk files over the bulk channel alone: ``StreamResults`` asking for a bulk offer, then
    :func:`clients._bulk.receive` (``splice`` into files, each file's CRC32C checked); no Zarr store is laid out,
    committed or opened. Returns the time chunks received."""
    from clients._bulk import bulk_host, connect, receive
    from optowave.v1 import service_pb2

    messages = list(client._stream("StreamResults", service_pb2.StreamResultsRequest(job_id=job_id, bulk=True)))
    offer = messages[-1].bulk
    return len(list(receive(connect(bulk_host(address), offer), offer, dest)))


@contextmanager
def fetch_stages():
    """Times the stages of each ``job.result()`` in this process (by wrapping the client's steps): yields a
    list that gets, per fetch, ``{stage: seconds}``: ``offer`` (from the call to the bulk offer: the
    ``StreamResults`` call, its header and layout), ``layout`` (laying out the local store, on the writer thread
    while the offer arrives), ``wait_layout`` (what the transfer waited for it), ``transfer`` (files in place and
    checked, time chunks committed), ``finish`` (complete mark and consolidated metadata, inside the transfer),
    ``refresh`` (the job's state), ``open`` (the ``xarray.Dataset``) and ``total``."""
    from clients import _fetch
    from clients.client import Job
    from optowave.store import ResultStore

    fetches: list[dict[str, float]] = []
    now: dict[str, float] = {}
    patched = []

    def timed(owner, name: str, stage: str, *, mark: str | None = None):
        fn = getattr(owner, name)

        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            if mark is not None and mark not in now:
                now[mark] = t0 - now["t0"]
            try:
                return fn(*args, **kwargs)
            finally:
                now[stage] = now.get(stage, 0.0) + time.perf_counter() - t0

        patched.append((owner, name, fn))
        setattr(owner, name, wrapper)

    def result(self, *args, **kwargs):
        now.clear()
        now["t0"] = time.perf_counter()
        try:
            return real_result(self, *args, **kwargs)
        finally:
            now["total"] = time.perf_counter() - now.pop("t0")
            now["transfer"] = self.fetch_report.bulk_seconds
            # the transfer waits for the store's layout before it starts: what take_bulk took beyond it
            now["wait_layout"] = max(0.0, now.pop("take_bulk", 0.0) - now["transfer"])
            fetches.append(dict(now))

    real_result = Job.result
    patched.append((Job, "result", real_result))
    Job.result = result
    timed(_fetch._StoreWriter, "take_bulk", "take_bulk", mark="offer")
    timed(_fetch._StoreWriter, "_create", "layout")
    timed(ResultStore, "finish", "finish")
    timed(Job, "refresh", "refresh")
    timed(ResultStore, "open_dataset", "open")
    try:
        yield fetches
    finally:
        for owner, name, fn in reversed(patched):
            setattr(owner, name, fn)


#: Run by :func:`fetcher_of` in another checkout: fetches over the bulk channel as told on stdin, each timed by
#: stage with this file's :func:`fetch_stages` (this file is loaded by path; its checkout is taken off sys.path
#: again before the other checkout's client is imported).
_FETCHER = """
import importlib.util, json, sys, time
from pathlib import Path
spec = importlib.util.spec_from_file_location("service_bench", sys.argv[2])
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)
sys.path.remove(str(bench.ROOT))
from clients import Client
with Client(sys.argv[1]) as client, bench.fetch_stages() as fetches:
    for line in sys.stdin:
        job_id, dest = line.split()
        job = client.job(job_id)
        job.result(Path(dest), bulk=True)
        print(json.dumps({**fetches[-1], "bulk_chunks": job.fetch_report.bulk_chunks}), flush=True)
"""


@contextmanager
def fetcher_of(tree: Path, address: str):
    """The client of another checkout ``tree`` (the code before a change) in a process of its own, kept warm:
    ``fetch(job_id, dest)`` -> the stages of ``job.result(dest, bulk=True)`` there (:func:`fetch_stages`) and
    ``bulk_chunks``, the time chunks that came over the bulk channel."""
    import os

    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{tree / 'protos'}"}
    proc = subprocess.Popen([sys.executable, "-c", _FETCHER, address, __file__], cwd=tree, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def fetch(job_id: str, dest: Path) -> dict[str, float]:
        proc.stdin.write(f"{job_id} {dest}\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the client of {tree} stopped")
        return json.loads(line)

    try:
        yield fetch
    finally:
        proc.stdin.close()
        proc.wait(30)


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


def bench_stream(address: str, data_dir: Path, tmp: Path, mb: float, repeat: int,
                 before: Path | None = None) -> dict:
    """Two stores streamed into local stores: the V movie of a HEK sheet (smooth: Zstandard shrinks it many
    times, so the stream moves far fewer bytes than the arrays hold), and a camera movie (shot and read noise:
    stored bytes about equal to the array bytes, the case where the stream's own speed shows).

    Each store is also copied three other ways, interleaved with the streams (``repeat`` rounds, medians):
    ``shutil.copytree``; :func:`tcp_copy` (its files over loopback TCP into files); and a bare gRPC stream of
    its files' bytes in pieces of the stream's size with no store work (:func:`bare_grpc`). ``bulk`` is the
    client's fetch over the bulk channel (``stream`` asks for the gRPC stream alone); ``bulk_files`` the bulk
    channel alone (:func:`bulk_files`: the offer, then every file in place and checked, no Zarr work). The
    stages of each ``bulk`` fetch are timed (:func:`fetch_stages`). With ``before`` (another checkout: the code
    before a change), ``bulk_before`` is the same fetch by that checkout's client (:func:`fetcher_of`)."""
    from contextlib import ExitStack

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
    with ExitStack() as stack:
        client = stack.enter_context(Client(address))
        bare = stack.enter_context(bare_grpc())
        fetches = stack.enter_context(fetch_stages())
        warm = client.submit(nagumo(16, 1.0, sample_ms=0.2, chunk_ms=1.0, name="warm-up"))
        warm.result(tmp / "warm-up.zarr")
        old = stack.enter_context(fetcher_of(before, address)) if before is not None else None
        if old is not None:
            old(warm.id, tmp / "warm-up-before.zarr")
        for label, spec in (("v", v_spec), ("camera", cam_spec)):
            job = client.submit(spec).wait()
            if job.state != "SUCCEEDED":
                raise RuntimeError(f"the stream job {job.state}: {job.error}")
            store = data_dir / "jobs" / job.id / "result.zarr"
            disk_bytes = sum(p.stat().st_size for _, p in store_files(store))
            ways = {"stream": lambda d: job.result(d / "s.zarr", bulk=False),
                    "bulk": lambda d: job.result(d / "b.zarr", bulk=True),
                    "copytree": lambda d: shutil.copytree(store, d / "c"),
                    "bulk_files": lambda d: bulk_files(client, job.id, address, d / "f"),
                    "tcp": lambda d: tcp_copy(store, d / "t"), "bare_grpc": lambda d: bare(store)}
            if old is not None:     # timed there (the way's time here adds the hand-over: not used)
                ways["bulk_before"] = lambda d: before_runs.append(old(job.id, d / "o.zarr"))
            times: dict[str, list[float]] = {w: [] for w in ways}
            transfer: list[float] = []      # of the bulk fetch: the bulk channel alone (files in place and checked)
            stages: list[dict[str, float]] = []
            before_runs: list[dict[str, float]] = []
            ds = None
            for r in range(repeat):
                for way, copy in ways.items():
                    d = tmp / f"{label}-{way}-{r}"
                    d.mkdir()
                    t0 = time.perf_counter()
                    got = copy(d)
                    times[way].append(time.perf_counter() - t0)
                    ds = got if way == "stream" else ds
                    if way == "bulk" and job.fetch_report.bulk_chunks != job.progress.chunks_total:
                        raise RuntimeError(f"the bulk fetch took the stream: {job.fetch_report}")
                    if way == "bulk":
                        transfer.append(job.fetch_report.bulk_seconds)
                        stages.append(fetches[-1])
                    if way == "bulk_before":
                        if before_runs[-1]["bulk_chunks"] != job.progress.chunks_total:
                            raise RuntimeError(f"the fetch of {before} took the stream: {before_runs[-1]}")
                        times[way][-1] = before_runs[-1]["total"]
                    shutil.rmtree(d)
            array_bytes = sum(ds[v].nbytes for v in ds.variables)
            med = {w: statistics.median(ts) for w, ts in times.items()}
            out[label] = {"array_mb": array_bytes / 1e6, "store_mb_on_disk": disk_bytes / 1e6,
                          "chunks": job.progress.chunks_total, "seconds": times, "median_s": med,
                          "stream_array_mb_per_s": array_bytes / med["stream"] / 1e6,
                          **{f"{w}_stored_mb_per_s": disk_bytes / med[w] / 1e6 for w in ways},
                          **{f"stream_over_{w}": med["stream"] / med[w] for w in ways if w != "stream"},
                          **{f"bulk_over_{w}": med["bulk"] / med[w] for w in ways if w != "bulk"},
                          "bulk_transfer_s": transfer,
                          "bulk_transfer_over_copytree": statistics.median(transfer) / med["copytree"],
                          "bulk_stages_s": {k: statistics.median(f.get(k, 0.0) for f in stages)
                                            for k in stages[0]},
                          **({"bulk_before_stages_s": {k: statistics.median(f.get(k, 0.0) for f in before_runs)
                                                       for k in stages[0]},
                              "bulk_before_transfer_over_copytree":
                                  statistics.median(f["transfer"] for f in before_runs) / med["copytree"]}
                             if before_runs else {})}
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
    p.add_argument("--stream-repeat", type=int, default=5, help="interleaved rounds of each result copy (medians)")
    p.add_argument("--before", type=Path, metavar="TREE",
                   help="another checkout (the code before a change): its client's bulk fetch joins the stream rounds")
    p.add_argument("--only", choices=("latency", "stream", "overhead"), action="append",
                   help="run only these parts (repeatable)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--bare-grpc-server", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.bare_grpc_server:
        bare_grpc_server()
        return 0
    parts = set(args.only or ("latency", "stream", "overhead"))

    results = {}
    with tempfile.TemporaryDirectory(prefix="optowave-bench-") as d:
        tmp = Path(d)
        with server_process(tmp / "data", args.workers) as address:
            if "latency" in parts:
                results["latency"] = bench_latency(address, args.submissions)
            if "stream" in parts:
                results["stream"] = bench_stream(address, tmp / "data", tmp, args.stream_mb, args.stream_repeat,
                                                 args.before)
            if "overhead" in parts:
                results["overhead"] = bench_overhead(address, tmp, args.job_seconds, args.repeat)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    if "latency" in results:
        lat = results["latency"]
        print(f"submit -> first event: median {lat['first_event']['median_ms']:.1f} ms, p99 "
              f"{lat['first_event']['p99_ms']:.1f} ms ({args.submissions} jobs; RUNNING: median "
              f"{lat['running']['median_ms']:.1f} ms, first chunk committed: median "
              f"{lat['first_chunk']['median_ms']:.1f} ms)")
    for label, r in results.get("stream", {}).items():
        print(f"result stream, {label} movie: {r['array_mb']:.0f} MB of arrays ({r['store_mb_on_disk']:.1f} MB stored, "
              f"{r['chunks']} chunks) in {r['median_s']['stream']:.3f} s = {r['stream_array_mb_per_s']:.0f} MB/s of "
              f"arrays, {r['stream_stored_mb_per_s']:.0f} MB/s of stored bytes (medians of {args.stream_repeat}); "
              f"stream time over: copytree {r['stream_over_copytree']:.2f}x "
              f"({r['copytree_stored_mb_per_s']:.0f} MB/s), "
              f"loopback TCP into files {r['stream_over_tcp']:.2f}x ({r['tcp_stored_mb_per_s']:.0f} MB/s), "
              f"bare gRPC stream {r['stream_over_bare_grpc']:.2f}x ({r['bare_grpc_stored_mb_per_s']:.0f} MB/s)")
        print(f"  bulk channel, {label} movie: {r['median_s']['bulk']:.3f} s = {r['bulk_stored_mb_per_s']:.0f} MB/s "
              f"of stored bytes; bulk time over: copytree {r['bulk_over_copytree']:.2f}x, loopback TCP into files "
              f"{r['bulk_over_tcp']:.2f}x, gRPC stream {r['bulk_over_stream']:.2f}x; its transfer (files in place and "
              f"checked) {statistics.median(r['bulk_transfer_s']):.3f} s = "
              f"{r['bulk_transfer_over_copytree']:.2f}x copytree; the bulk channel alone (offer, files in place and "
              f"checked, no Zarr work) {r['median_s']['bulk_files']:.3f} s = {r['bulk_files_stored_mb_per_s']:.0f} MB/s "
              f"= {r['median_s']['bulk_files'] / r['median_s']['copytree']:.2f}x copytree")
        for key, who in (("bulk_stages_s", "bulk fetch"), ("bulk_before_stages_s", "before")):
            if key in r:
                st = r[key]
                print(f"  {who}, {label} movie, stages (medians, ms): " + ", ".join(
                    f"{k} {1e3 * st[k]:.1f}" for k in ("offer", "layout", "wait_layout", "transfer", "finish",
                                                        "refresh", "open", "total") if k in st)
                      + " (layout runs beside the offer; finish is part of the transfer)")
        if "bulk_before" in r["median_s"]:
            print(f"  before ({args.before}), {label} movie: whole bulk fetch {r['median_s']['bulk_before']:.3f} s = "
                  f"{r['median_s']['bulk_before'] / r['median_s']['copytree']:.2f}x copytree, its transfer "
                  f"{r['bulk_before_transfer_over_copytree']:.2f}x; after: {r['bulk_over_copytree']:.2f}x and "
                  f"{r['bulk_transfer_over_copytree']:.2f}x")
    if "overhead" in results:
        ov = results["overhead"]
        print(f"job through the service vs optowave run ({ov['grid']}, {ov['duration_ms']:g} ms, medians of "
              f"{args.repeat}): {ov['median_service_s']:.2f} s vs {ov['median_run_s']:.2f} s = "
              f"{ov['service_over_run']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
