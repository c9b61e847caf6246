"""The closed loop over the wire (``Interact`` on loopback) against the same loop in process.

    python benchmarks/interact_bench.py [--frames 100] [--sizes 64 128] [--json]

The loop, its controller and its figures are those of ``benchmarks/closed_loop_bench.py``
(:func:`closed_loop_bench.measure_loop`, :func:`closed_loop_bench.report`): round trip from a frame leaving the
solver to the command it provoked joining the light program, minus the controller's time (median, p99, p99
against the 5 ms frame period of 200 frames/s), and simulated over wall time. Here the same loop also runs on a
server: ``optowave serve`` in a subprocess (its own interpreter, as in production), through
``Client.interact``; the server reports ``Session.last_applied_ns``, and both processes read
``time.monotonic_ns()``, one clock on one machine.

Baselines measured in the same run: the in-process session (the wire's cost is its ratio to it), and a
64-byte ping-pong over a loopback TCP socket (the floor of any round trip on this machine). The round trip
over the wire is also split in its two halves: the frame's (frame left the solver -> the client has the
Dataset) and the command's (the client sends -> the session took it).

Not a test: it never fails for being slow.
"""
from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from closed_loop_bench import DISK, loop_spec, measure_loop, report  # noqa: E402
from service_bench import server_process  # noqa: E402


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


def halves(client, spec: dict, frames: int, warmup: int = 3) -> dict:
    """The wire's round trip in two halves: frame left the solver -> the client has it; client sends -> taken."""
    frame_ms, command_ms = [], []
    with client.interact(spec) as s:
        for k in range(frames):
            frame = s.next_frame()
            have = time.monotonic_ns()
            sent = time.monotonic_ns()
            s.set_light(DISK, 0.01 + 1e-4 * (k % 2))
            if k >= warmup:
                frame_ms.append((have - frame.attrs["left_solver_ns"]) / 1e6)
                command_ms.append((s.last_applied_ns - sent) / 1e6)
    return {"frame_half_median_ms": statistics.median(frame_ms), "frame_half_p99_ms": float(np.percentile(frame_ms, 99)),
            "command_half_median_ms": statistics.median(command_ms),
            "command_half_p99_ms": float(np.percentile(command_ms, 99))}


def quiet(client) -> None:
    """Wait until the jobs the finished sessions were stored as have run: each replays its session on the server
    (``--workers 0``: in the server's own process), which would slow the next session measured."""
    for job in client.jobs():
        job.wait(timeout=3600)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=100, help="frames per size (128² runs a quarter as many)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    import solver
    from clients import Client

    ping = tcp_ping_ms()
    print(f"loopback TCP ping-pong (the floor of any round trip): {ping * 1e3:.0f} µs")
    results = []
    with tempfile.TemporaryDirectory() as tmp, server_process(Path(tmp) / "data", workers=0) as address, \
            Client(address) as client:
        for size in args.sizes:
            frames = max(10, args.frames * 64 * 64 // (size * size)) if size > 64 else args.frames
            spec = loop_spec(size, frames)
            here = report("in process", measure_loop(solver.Session, spec, frames=frames), None, size)
            quiet(client)
            wire = report("over the wire", measure_loop(client.interact, spec, frames=frames), None, size)
            wire["median_over_in_process"] = wire["latency_median_ms"] / here["latency_median_ms"]
            wire["p99_over_ping"] = wire["latency_p99_ms"] / ping
            if size == args.sizes[0]:
                quiet(client)
                wire.update(halves(client, spec, frames))
                print(f"over the wire {size}²: the frame's half median {wire['frame_half_median_ms']:.3f} ms (p99 "
                      f"{wire['frame_half_p99_ms']:.3f}), the command's half median "
                      f"{wire['command_half_median_ms']:.3f} ms (p99 {wire['command_half_p99_ms']:.3f})")
            print(f"over the wire {size}²: median {wire['median_over_in_process']:.1f}x in process; p99 "
                  f"{wire['p99_over_ping']:.0f}x a loopback TCP ping-pong")
            results += [here, wire]
    if args.json:
        print(json.dumps({"tcp_ping_ms": ping, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
