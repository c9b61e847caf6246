"""Load: 50 clients at once, each submitting a job and streaming it whole, against a server subprocess."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import xarray as xr

from clients import Client
from tests.service.test_server import ALICE, BOB, assert_same_store, nagumo_spec, server_store
from tests.service.test_server_restart import ServerProcess, free_port, token_file  # noqa: F401 - a fixture

CLIENTS = 50
#: Wall-clock bound for the whole load (50 jobs of 4 chunks on one Dask worker take ~10 s here).
MAX_SECONDS = 150.0
#: Growth of the server process's resident memory allowed under load.
MAX_RSS_GROWTH_BYTES = 200 * 2**20


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def test_fifty_concurrent_clients_get_every_byte(tmp_path, token_file):  # noqa: F811 - the fixture
    data = tmp_path / "data"
    server = ServerProcess(data, free_port(), token_file, "--workers", "1", "--max-concurrent", "2")
    try:
        with Client(server.address, token=ALICE) as warm:   # compile and cache the kernel on the worker first
            warm.submit(nagumo_spec(name="warm-up")).result(tmp_path / "warm.zarr")
        baseline = rss_bytes(server.proc.pid)
        peak = [baseline]
        sampling = threading.Event()

        def sample():
            while not sampling.is_set():
                peak[0] = max(peak[0], rss_bytes(server.proc.pid))
                time.sleep(0.05)

        def one(k: int):
            with Client(server.address, token=ALICE if k % 2 else BOB) as client:
                job = client.submit(nagumo_spec(name=f"load-{k}", seed=k))
                ds = job.result(tmp_path / f"client-{k}.zarr")
                return job.id, ds.v.values

        threading.Thread(target=sample, daemon=True).start()
        t0 = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            results = list(pool.map(one, range(CLIENTS)))
        elapsed = time.perf_counter() - t0
        sampling.set()
        print(f"\n{CLIENTS} clients in {elapsed:.1f} s; server RSS {baseline / 2**20:.0f} MiB -> peak "
              f"{peak[0] / 2**20:.0f} MiB")
        assert elapsed < MAX_SECONDS
        assert peak[0] - baseline < MAX_RSS_GROWTH_BYTES
        assert len({job_id for job_id, _ in results}) == CLIENTS
        for k, (job_id, v) in enumerate(results):
            # checksums: each client's store equals the server's byte for byte (every chunk, every CRC'd piece)
            assert_same_store(tmp_path / f"client-{k}.zarr", server_store(data, job_id))
            # and the physics is the same for every job (only the name and seed differ; nagumo has no noise)
            np.testing.assert_array_equal(v, results[0][1])
        reference = xr.open_zarr(server_store(data, results[0][0]), consolidated=False).v.values
        np.testing.assert_array_equal(results[0][1], reference)
    finally:
        assert server.terminate() == 0, "".join(server.lines[-30:])
