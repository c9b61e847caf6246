"""The server at its edges: start-up errors, a full disk before and during a job, a list that one large job
cannot block."""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time

from clients import Client
from service.jobs import Limits
from service.server import embedded
from tests.service.test_server import ALICE, TOKENS, nagumo_spec
from tests.service.test_server_restart import ROOT
from tests.service.test_server_security import certs  # noqa: F401 - a fixture

GiB = 2**30


def _serve(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    """``optowave serve`` with a local cluster of one worker, as a user would start it."""
    return subprocess.run([sys.executable, "-m", "clients.cli", "serve", "--workers", "1", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def _one_line(proc: subprocess.CompletedProcess) -> str:
    """The refusal: exit code 2, one line on stderr, nothing started (no Dask log, no traceback)."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout and "distributed" not in proc.stderr + proc.stdout
    return lines[0]


def test_start_up_refuses_an_address_in_use(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _one_line(_serve("--listen", f"127.0.0.1:{port}", "--data", str(tmp_path / "data")))
    assert line.startswith(f"error: cannot listen on 127.0.0.1:{port}: ") and "in use" in line


def test_start_up_refuses_a_damaged_job_table(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "jobs.sqlite").write_bytes(b"this is not a database, it was overwritten" * 100)
    line = _one_line(_serve("--listen", "127.0.0.1:0", "--data", str(data)))
    assert f"job table '{data / 'jobs.sqlite'}' is damaged" in line and "move it aside" in line


def test_start_up_refuses_a_tls_key_that_does_not_match_its_certificate(tmp_path, certs):  # noqa: F811
    line = _one_line(_serve("--listen", "127.0.0.1:0", "--data", str(tmp_path / "data"),
                            "--tls-cert", str(certs / "server.pem"), "--tls-key", str(certs / "carol.key")))
    assert f"--tls-key '{certs / 'carol.key'}' does not match the certificate --tls-cert '{certs / 'server.pem'}'" \
        in line


def test_start_up_refuses_a_missing_tls_file(tmp_path, certs):  # noqa: F811
    line = _one_line(_serve("--listen", "127.0.0.1:0", "--data", str(tmp_path / "data"),
                            "--tls-cert", str(certs / "server.pem"), "--tls-key", str(tmp_path / "nope.key")))
    assert line == f"error: --tls-key '{tmp_path / 'nope.key'}': no such file"


def _big_spec(name: str) -> dict:
    """A spec of about 2.9 MB on the wire (a 600 × 600 diffusivity map inline) that runs in one step."""
    n = 600
    return nagumo_spec(n=n, name=name, duration_ms=0.02, chunk_ms=0.02, sample_ms=0.02,
                       coupling={"diffusivity_map": {"raster": {"shape": [n, n], "values": [1.0] * (n * n)}}})


def test_large_jobs_do_not_lock_their_owner_out_of_the_list(tmp_path, capsys):
    """Six 2.9 MB specs are 17 MB of Job messages, over the 16 MiB reply limit: the list is cut into pages
    and jobs that large are listed without their spec, so ``optowave jobs`` keeps working."""
    from clients.cli import main

    with embedded(tmp_path / "data", workers=0, tokens=TOKENS) as address:
        with Client(address, token=ALICE) as alice:
            ids = [alice.submit(_big_spec(f"big-{k}")).id for k in range(6)]
            listed = alice.jobs()
            assert sorted(j.id for j in listed) == sorted(ids)
            assert {j.message.spec.name for j in listed} == {f"big-{k}" for k in range(6)}
            assert all(len(j.message.spec.coupling.diffusivity_map.raster.values) == 0 for j in listed)
            full = alice.job(ids[0]).message.spec      # GetJob still gives the whole spec
            assert len(full.coupling.diffusivity_map.raster.values) == 600 * 600
        capsys.readouterr()
        assert main(["jobs", "--server", address, "--token", ALICE]) == 0
        out = capsys.readouterr().out
        assert sorted(line.split()[0] for line in out.splitlines()) == sorted(ids)


def test_submit_on_a_full_disk_exits_non_zero_naming_the_reserve(tmp_path, capsys):
    from clients.cli import main

    spec = tmp_path / "spec.json"
    spec.write_text(__import__("json").dumps(nagumo_spec()))
    reserve = shutil.disk_usage(tmp_path).free + 1024 * GiB     # the disk is full as far as the server is concerned
    with embedded(tmp_path / "data", workers=0, tokens=TOKENS, limits=Limits(disk_reserve_bytes=reserve)) as address:
        rc = main(["submit", str(spec), "--server", address, "--token", ALICE])
        err = capsys.readouterr().err
        with Client(address, token=ALICE) as alice:
            assert alice.jobs() == []
    assert rc == 1
    assert err.startswith("error: RESOURCE_EXHAUSTED: over this server's limits: spec.output: the result needs ")
    assert "GiB free, of which the server keeps" in err and "--disk-reserve-gib" in err


def test_a_disk_below_the_reserve_mid_job_fails_the_job_with_the_cause(tmp_path):
    """A job running when its server stopped resumes under a reserve the disk no longer meets: its next chunk
    is refused and the job ends FAILED, naming the free space and the reserve, instead of RUNNING forever.
    With space back (a server keeping a normal reserve), the spec submitted again runs to the end."""
    data = tmp_path / "data"
    spec = nagumo_spec(duration_ms=40.0, chunk_ms=0.2)
    with embedded(data, workers=0, tokens=TOKENS) as address:
        with Client(address, token=ALICE) as alice:
            job = alice.submit(spec)
            deadline = time.monotonic() + 120
            while job.refresh().progress.chunks_committed < 1:
                assert time.monotonic() < deadline and not job.terminal, job.message
                time.sleep(0.05)
    reserve = shutil.disk_usage(tmp_path).free + 1024 * GiB
    with embedded(data, workers=0, tokens=TOKENS, limits=Limits(disk_reserve_bytes=reserve)) as address:
        with Client(address, token=ALICE) as alice:
            resumed = alice.job(job.id)
            assert resumed.state in ("RUNNING", "FAILED")       # it resumed, and its next chunk met the reserve
            t0 = time.monotonic()
            resumed.wait(timeout=60)
            assert time.monotonic() - t0 < 60
            assert resumed.state == "FAILED"
            assert "GiB free, below the server's reserve of" in resumed.message.error
            assert "--disk-reserve-gib" in resumed.message.error
            assert 1 <= resumed.progress.chunks_committed < resumed.progress.chunks_total
    with embedded(data, workers=0, tokens=TOKENS) as address:
        with Client(address, token=ALICE) as alice:
            again = alice.submit(spec)
            again.wait(timeout=120)
            assert again.state == "SUCCEEDED"
            assert again.progress.chunks_committed == again.progress.chunks_total == 200
