"""Each deploy recipe's server command, read from its YAML and run on loopback with the recipe's own flags.

Only what cannot exist here is swapped: the listen address becomes a free loopback port (the flag stays), the
secrets' mount points become files made here (a token file, a certificate and its key), ``/data`` a temporary
directory, and the scheduler's DNS name the address of a Dask cluster started by the test. A client then
connects as a lab would (TLS with the recipe's certificate, a token from the token file) and validates a spec.
"""
from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from clients import TLS, Client
from tests.service.test_server import nagumo_spec
from tests.service.test_server_restart import free_port
from tests.service.test_server_security import certs  # noqa: F401 - a fixture

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def compose_command() -> list[str]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]["server"]["command"]


def kubernetes_command() -> list[str]:
    for doc in yaml.safe_load_all((DEPLOY / "kubernetes" / "optowave.yaml").read_text()):
        if doc and doc.get("kind") == "Deployment":
            (server,) = [c for c in doc["spec"]["template"]["spec"]["containers"] if c["name"] == "server"]
            return [str(a) for a in server["args"]]
    raise AssertionError("no server Deployment in the Kubernetes recipe")


def _flag(command: list[str], name: str) -> str:
    assert name in command, f"{name} missing from {command}"
    return command[command.index(name) + 1]


@pytest.mark.parametrize("recipe", [compose_command, kubernetes_command], ids=["compose", "kubernetes"])
def test_recipe_server_command_starts_and_serves(recipe, tmp_path, certs):  # noqa: F811
    from distributed import LocalCluster

    command = recipe()
    assert command[:2] == ["optowave", "serve"]
    # the recipe listens beyond loopback, so it must bring client authentication (tokens under TLS)
    assert _flag(command, "--listen").startswith("0.0.0.0:")
    for flag in ("--token-file", "--tls-cert", "--tls-key"):
        _flag(command, flag)
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("lab-a recipe-token-0123456789abcdef\n")
    here = {"--token-file": str(tokens), "--tls-cert": str(certs / "server.pem"),
            "--tls-key": str(certs / "server.key"), "--data": str(tmp_path / "data")}
    port = free_port()
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://",
                      dashboard_address=None) as cluster:
        here["--scheduler"] = cluster.scheduler_address
        here["--listen"] = f"127.0.0.1:{port}"
        args = list(command[2:])
        for k, a in enumerate(args[:-1]):
            if a in here:
                args[k + 1] = here[a]
        proc = subprocess.Popen([sys.executable, "-m", "clients.cli", "serve", *args], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines: list[str] = []
        ready = threading.Event()

        def read():
            for line in proc.stdout:
                lines.append(line)
                if line.startswith("optowave serving on "):
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        try:
            assert ready.wait(120) and proc.poll() is None, "".join(lines)
            assert f"optowave serving on 127.0.0.1:{port}" in "".join(lines)
            with Client(f"localhost:{port}", token="recipe-token-0123456789abcdef",
                        tls=TLS(ca=certs / "ca.pem")) as client:
                report = client.validate(nagumo_spec())
            assert report.ok and report.cost["cell_steps"] == 16 * 16 * 200
        finally:
            proc.terminate()
            proc.wait(60)
