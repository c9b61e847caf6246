"""The closed loop's latency and speed, in process and over the wire (``Interact`` on loopback).

    python benchmarks/interact_bench.py [--frames 200] [--sizes 64,128] [--rate-hz 200] [--backend cpu] [--json]

1. Round trip: the time from a frame leaving the solver (the frame's ``left_solver_ns``) to the command it
   provoked joining the light program (``Session.last_applied_ns``; over the wire the server reports it),
   minus the controller's own time; median and p99 over the frames, on the first size (default 64² at
   200 frames/s). The controller lights a disk whenever the mean ΔF/F under it is below a threshold and
   clears it otherwise, so a command follows every frame. In process it is one Python call; over the
   wire it is a frame encoded, sent, decoded into xarray, and a command sent back and taken. The
   goal: p99 < 5 ms, under a frame period.
2. Simulated time over wall time, in process and over the wire, for each size (the same controller).

Baselines measured in the same run: the in-process session (the wire's cost is its ratio to it), and a
64-byte ping-pong over a loopback TCP socket (the machine's floor for any round trip). The server
runs in a subprocess (``optowave serve``, its own interpreter), as in production; both processes read
``time.monotonic_ns()``, one clock on one machine.

Not a test: it never fails for being slow.
"""
from __future__ import annotations

import argparse
import json
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def sheet(n: int, rate_hz: float, frames: int, backend: str) -> dict:
    """An n × n HEK sheet with CheRiff, filmed at ``rate_hz`` (a whole number of 0.02 ms steps per frame)."""
    return {
        "name": f"closed loop {n}x{n}", "grid": {"nx": n, "ny": n, "dx_um": 10.0},
        "tissue": {"model": {"preset": "hek_gokhale2017_35c"}}, "opsin": {"preset": "cheriff"},
        "coupling": {"diffusivity_um2_per_ms": 1000.0},
        "readout": {"enabled": True, "camera": {"frame_rate_hz": rate_hz}},
        "numerics": {"dt_ms": 0.02, "duration_ms": (frames + 5) * 1000.0 / rate_hz,
                     "backend": "BACKEND_CUDA" if backend == "cuda" else "BACKEND_CPU"},
        "output": {"variables": ["v"], "sample_interval_ms": 1000.0 / rate_hz},
        "analysis": {"enabled": False},
    }


def controller(n: int):
    """Light a disk in the middle while the mean ΔF/F there is low, clear it otherwise; returns its seconds."""
    disk = {"disk": {"center_um": {"x": n * 5.0, "y": n * 5.0}, "radius_um": n * 1.5}}
    mask = None

    def act(session, frame) -> tuple[int, float]:
        nonlocal mask
        t0 = time.monotonic_ns()
        dff = frame["dff"].values
        if mask is None:
            yy, xx = np.mgrid[:dff.shape[0], :dff.shape[1]]
            c = dff.shape[0] / 2
            mask = (yy - c) ** 2 + (xx - c) ** 2 < (dff.shape[0] * 0.15) ** 2
        low = float(dff[mask].mean()) < 0.02
        decided = time.monotonic_ns()
        # every other frame the light flips, so that every frame provokes a recorded command
        if low and (frame.attrs["frame"] % 2 == 0):
            session.set_light(disk, 1.0)
        else:
            session.set_light(disk, 0.5 if frame.attrs["frame"] % 2 else 0.25)
        return decided - t0

    return act


def loop(session, frames: int, n: int) -> dict:
    act = controller(n)
    trips, wall0 = [], time.perf_counter()
    for _ in range(frames):
        frame = session.next_frame()
        controller_ns = act(session, frame)
        trips.append((session.last_applied_ns - int(frame.attrs["left_solver_ns"]) - controller_ns) / 1e6)
    wall = time.perf_counter() - wall0
    warm = trips[5:] or trips
    return {"median_ms": statistics.median(warm), "p99_ms": float(np.percentile(warm, 99)),
            "sim_over_wall": frames * session.frame_period_ms / 1000.0 / wall, "frames": frames}


def tcp_ping_ms(rounds: int = 2000) -> float:
    """Median 64-byte ping-pong over a loopback TCP socket (ms)."""
    server = socket.create_server(("127.0.0.1", 0))

    def echo():
        conn, _ = server.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while data := conn.recv(64):
            conn.sendall(data)

    threading.Thread(target=echo, daemon=True).start()
    c = socket.create_connection(server.getsockname())
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        c.sendall(b"x" * 64)
        got = 0
        while got < 64:
            got += len(c.recv(64))
        times.append((time.perf_counter_ns() - t0) / 1e6)
    c.close()
    server.close()
    return statistics.median(times)


@contextmanager
def server_process(data: Path):
    cmd = [sys.executable, "-m", "clients.cli", "serve", "--listen", "127.0.0.1:0", "--data", str(data),
           "--workers", "0", "--max-concurrent", "1"]
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
            proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--sizes", default="64,128")
    ap.add_argument("--rate-hz", type=float, default=200.0)
    ap.add_argument("--backend", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    import solver
    from clients import Client

    sizes = [int(s) for s in args.sizes.split(",")]
    ping = tcp_ping_ms()
    out = {"tcp_ping_ms": ping, "rate_hz": args.rate_hz, "frame_period_ms": 1000.0 / args.rate_hz,
           "backend": args.backend, "sizes": {}}
    with tempfile.TemporaryDirectory() as tmp, server_process(Path(tmp) / "data") as address:
        client = Client(address)
        for n in sizes:
            spec = sheet(n, args.rate_hz, args.frames, args.backend)
            with solver.Session(spec) as s:             # warm: kernels compiled or loaded from the cache
                s.next_frame()
            with solver.Session(spec) as s:
                here = loop(s, args.frames, n)
            with client.interact(spec) as r:
                wire = loop(r, args.frames, n)
            out["sizes"][n] = {"in_process": here, "wire": wire}
        client.close()
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    period = out["frame_period_ms"]
    print(f"loopback TCP ping-pong (the floor of any round trip): {ping * 1e3:.0f} µs; frame period {period:g} ms "
          f"({args.rate_hz:g} frames/s), {args.backend}")
    print(f"{'sheet':>7} {'path':>10} {'median ms':>10} {'p99 ms':>8} {'p99/period':>11} {'x ping':>7} "
          f"{'sim/wall':>9} {'x in proc':>10}")
    for n, r in out["sizes"].items():
        for path in ("in_process", "wire"):
            f = r[path]
            ratio = f["median_ms"] / r["in_process"]["median_ms"] if path == "wire" else 1.0
            print(f"{n:>4}² {path:>10} {f['median_ms']:>10.3f} {f['p99_ms']:>8.3f} {f['p99_ms'] / period:>10.0%} "
                  f"{f['median_ms'] / ping:>7.1f} {f['sim_over_wall']:>9.3f} {ratio:>10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
