"""Tokens, TLS, mutual TLS and the refusal to listen beyond loopback without client authentication."""
from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import grpc
import pytest

from clients import TLS, Client, ServiceError
from clients.cli import main as cli_main
from optowave.v1 import service_pb2, service_pb2_grpc
from service.server import (InsecureListenError, Server, ServerConfig, TokenFileError, embedded, is_loopback,
                            read_token_file)
from tests.service.test_server import ALICE, TOKENS, auth, nagumo_spec


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    """A CA, a server certificate for 127.0.0.1/localhost, and client certificates for carol and dave."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("certs")

    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=optowave-test-ca")
    (d / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, cn, ext in (("server", "localhost", ["-extfile", "san.cnf"]), ("carol", "carol", []),
                          ("dave", "dave", [])):
        run("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "2", *ext)
    return d


def _plaintext_fails(address: str) -> grpc.StatusCode:
    channel = grpc.insecure_channel(address)
    try:
        service_pb2_grpc.SimulationServiceStub(channel).ValidateJob(
            service_pb2.ValidateJobRequest(), metadata=auth(), timeout=5)
    except grpc.RpcError as err:
        return err.code()
    finally:
        channel.close()
    raise AssertionError("a plaintext call to a TLS server succeeded")


def test_tls_with_tokens(tmp_path, certs):
    with embedded(tmp_path / "data", workers=0, tokens=TOKENS, tls_cert=certs / "server.pem",
                  tls_key=certs / "server.key") as address:
        with Client(address, token=ALICE, tls=certs / "ca.pem") as client:
            assert client.validate(nagumo_spec()).ok
        with Client(address, token="wrong-token-0123456789", tls=TLS(ca=certs / "ca.pem")) as client:
            with pytest.raises(ServiceError) as err:
                client.validate(nagumo_spec())
            assert err.value.code == grpc.StatusCode.UNAUTHENTICATED
        assert _plaintext_fails(address) == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_names_clients_by_certificate(tmp_path, certs):
    with embedded(tmp_path / "data", workers=0, tls_cert=certs / "server.pem", tls_key=certs / "server.key",
                  tls_client_ca=certs / "ca.pem", listen="localhost:0") as address:
        carol = Client(address, tls=TLS(ca=certs / "ca.pem", cert=certs / "carol.pem", key=certs / "carol.key"))
        dave = Client(address, tls=TLS(ca=certs / "ca.pem", cert=certs / "dave.pem", key=certs / "dave.key"))
        job = carol.submit(nagumo_spec(name="carol's"))
        assert [j.id for j in carol.jobs()] == [job.id]
        assert dave.jobs() == []
        with pytest.raises(ServiceError) as err:
            dave.job(job.id)
        assert err.value.code == grpc.StatusCode.NOT_FOUND
        job.wait(timeout=60)
        # no client certificate: the handshake fails
        anonymous = grpc.secure_channel(address, grpc.ssl_channel_credentials((certs / "ca.pem").read_bytes()))
        with pytest.raises(grpc.RpcError) as err:
            service_pb2_grpc.SimulationServiceStub(anonymous).ListJobs(service_pb2.ListJobsRequest(), timeout=5)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        anonymous.close()
        carol.close()
        dave.close()


def test_refuses_a_public_address_without_client_authentication(tmp_path, certs):
    with pytest.raises(InsecureListenError, match="--insecure"):
        asyncio.run(Server(ServerConfig(listen="0.0.0.0:0", data_dir=tmp_path / "a", workers=0)).start())
    assert not (tmp_path / "a").exists(), "a refused server touched its data directory"
    # told explicitly, or with tokens, or with client certificates, it starts
    for options in ({"insecure": True}, {"tokens": TOKENS},
                    {"tls_cert": certs / "server.pem", "tls_key": certs / "server.key",
                     "tls_client_ca": certs / "ca.pem"}):
        with embedded(tmp_path / "b", workers=0, listen="0.0.0.0:0", **options) as address:
            assert address.startswith("0.0.0.0:") and int(address.rsplit(":", 1)[1]) > 0
    rc = cli_main(["serve", "--listen", "0.0.0.0:0", "--data", str(tmp_path / "c"), "--workers", "0"])
    assert rc == 2


def test_loopback_addresses():
    assert all(map(is_loopback, ["127.0.0.1:1", "localhost:1", "[::1]:1", "127.3.4.5:9", "unix:/tmp/s"]))
    assert not any(map(is_loopback, ["0.0.0.0:1", "[::]:1", "10.0.0.1:1", "lab-server:50051"]))


def test_token_file(tmp_path):
    good = tmp_path / "tokens"
    good.write_text("# lab tokens\nalice alice-token-0123456789abc\n\nshared-token-0123456789abc   # anyone\n")
    assert read_token_file(good) == {"alice-token-0123456789abc": "alice", "shared-token-0123456789abc": "default"}
    for text, message in (("alice short\n", "too short"), ("a b c\n", "expected"), ("", "no tokens"),
                          ("alice same-token-0123456789\nbob same-token-0123456789\n", "same token"),
                          ("al/ice tok-0123456789abcdef\n", "not allowed")):
        bad = tmp_path / "bad"
        bad.write_text(text)
        with pytest.raises(TokenFileError, match=message):
            read_token_file(bad)
