"""The hostile-input suite: every case of ``hostile_cases`` against one real server and the command line.

Each case must be answered within :data:`MAX_SECONDS` with its exact status code (or exit code) naming the
field or file, never INTERNAL, UNKNOWN or a traceback; the server's resident memory must stay within
:data:`MAX_RSS_GROWTH_BYTES` of what it was before the cases, and another client's finished job must be
exactly as it was.
"""
from __future__ import annotations

import contextlib
import io
import math
import time

import grpc
import pytest
from grpc_status import rpc_status

from clients import Client
from optowave.v1 import service_pb2, spec_pb2
from tests.service.hostile_cases import file_cases, request_cases, spec_cases
from tests.service.test_server import ALICE, BOB, nagumo_spec
from tests.service.test_server_load import rss_bytes
from tests.service.test_server_restart import ServerProcess, free_port, token_file  # noqa: F401 - a fixture

MAX_SECONDS = 5.0
MAX_RSS_GROWTH_BYTES = 50 * 2**20
SERVICE = "/optowave.v1.SimulationService/"
#: The server's limits in this suite (low, so that the size cases reach them with small requests).
FLAGS = ("--workers", "0", "--max-cell-steps", "1e9", "--max-output-gib", "0.01")


def _call(channel, case, token: str):
    """Make the call; return ``(code name, message + details text, seconds)``."""
    request = case.request if isinstance(case.request, bytes) else case.request.SerializeToString()
    metadata = (("authorization", f"Bearer {token}"),)
    t0 = time.perf_counter()
    try:
        if case.stream:
            call = channel.unary_stream(SERVICE + case.method)
            for _ in call(request, metadata=metadata, timeout=30):
                pass
        else:
            channel.unary_unary(SERVICE + case.method)(request, metadata=metadata, timeout=30)
        return "OK", "", time.perf_counter() - t0
    except grpc.RpcError as err:
        seconds = time.perf_counter() - t0
        status = rpc_status.from_call(err)
        text = err.details() or ""
        if status is not None:
            text += " " + str(status.details)
        return err.code().name, text, seconds


def test_hostile_input_suite(tmp_path, token_file):  # noqa: F811 - the fixture
    specs, files = spec_cases(), file_cases()
    requests = request_cases(service_pb2, spec_pb2)
    assert len(specs) + len(files) + len(requests) >= 80
    server = ServerProcess(tmp_path / "data", free_port(), token_file, *FLAGS)
    failures = []
    try:
        with Client(server.address, token=BOB) as bob:          # another client's job, before and after
            job = bob.submit(nagumo_spec(name="bystander"))
            job.wait(timeout=120)
            assert job.state == "SUCCEEDED", job.message.error
            before = [j.message for j in bob.jobs()]
        # The baseline is the server as it serves, not its imports or first buffers: one refused sweep (the sweep
        # code is imported on the first) and one refused request of the largest size it accepts (16 MiB; its
        # receive buffers), both from another client, before it is taken.
        warm = [c for c in requests if c.id == "sweep no axes"][0]
        (big,) = [c for c in specs if c.id == "labels 10.8 MB"]
        from google.protobuf import json_format

        big = type("C", (), {"request": service_pb2.SubmitJobRequest(spec=json_format.ParseDict(
            big.spec, spec_pb2.JobSpec())), "method": "SubmitJob", "stream": False})()
        with grpc.insecure_channel(server.address, options=[("grpc.max_send_message_length", 64 * 2**20)]) as ch:
            assert _call(ch, warm, BOB)[0] == "INVALID_ARGUMENT" and _call(ch, big, BOB)[0] == "INVALID_ARGUMENT"
        baseline = rss_bytes(server.proc.pid)
        peak = baseline
        with grpc.insecure_channel(server.address, options=[("grpc.max_send_message_length", 64 * 2**20)]) as ch:
            for case in specs:
                from google.protobuf import json_format

                msg = service_pb2.SubmitJobRequest(spec=json_format.ParseDict(_json_floats(case.spec),
                                                                              spec_pb2.JobSpec()))
                code, text, seconds = _call(ch, type("C", (), {"request": msg, "method": "SubmitJob",
                                                               "stream": False})(), ALICE)
                peak = max(peak, rss_bytes(server.proc.pid))
                if code != case.code or f"spec.{case.field}" not in text or seconds > MAX_SECONDS:
                    failures.append(f"spec {case.id}: {code} in {seconds:.1f} s, wanted {case.code} naming "
                                    f"spec.{case.field}: {text[:300]}")
            for case in requests:
                code, text, seconds = _call(ch, case, ALICE)
                peak = max(peak, rss_bytes(server.proc.pid))
                if code != case.code or case.names not in text or seconds > MAX_SECONDS:
                    failures.append(f"request {case.id}: {code} in {seconds:.1f} s, wanted {case.code} naming "
                                    f"{case.names!r}: {text[:300]}")
            listed = service_pb2.ListJobsResponse.FromString(ch.unary_unary(SERVICE + "ListJobs")(
                service_pb2.ListJobsRequest().SerializeToString(), metadata=(("authorization", f"Bearer {ALICE}"),)))
        growth = peak - baseline
        with Client(server.address, token=BOB) as bob:
            after = [j.message for j in bob.jobs()]
    finally:
        server.terminate()
    for case in files:
        failures += _file_case(case, tmp_path)
    assert not failures, "\n".join(failures)
    assert list(listed.jobs) == [], "a refused submission left a job behind"
    assert after == before, "another client's job changed"
    assert growth < MAX_RSS_GROWTH_BYTES, f"server RSS grew {growth / 2**20:.0f} MiB"


def _json_floats(value):
    """NaN and infinities in the spelling of protobuf's JSON ("NaN", "Infinity"), as a file would hold them."""
    if isinstance(value, dict):
        return {k: _json_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_floats(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def _file_case(case, tmp_path) -> list[str]:
    """Run ``optowave <command> FILE`` in this process; a traceback escapes ``main`` and fails the case."""
    from clients.cli import main

    path = tmp_path / "files" / case.id.replace(" ", "_").replace("/", "_") / case.name
    path.parent.mkdir(parents=True)
    path.write_bytes(case.data)
    extra = [x.replace("{tmp}", str(path.parent)) for x in case.extra]
    out, err = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main([case.command, str(path), *extra])
    except BaseException as exc:  # noqa: BLE001 - the finding is that it escaped
        return [f"file {case.id}: {type(exc).__name__} escaped: {exc}"[:400]]
    seconds = time.perf_counter() - t0
    text = out.getvalue() + err.getvalue()
    if rc != case.rc or case.names not in text or seconds > MAX_SECONDS or "Traceback" in text:
        return [f"file {case.id}: rc {rc} in {seconds:.1f} s, wanted {case.rc} with {case.names!r}: {text[:300]}"]
    return []


@pytest.mark.parametrize("case", [c for c in file_cases() if c.command in ("validate", "submit", "run")], ids=lambda c: c.id)
def test_each_file_case_alone(case, tmp_path):
    """The file cases one by one, so a failure names its case in the test id."""
    assert _file_case(case, tmp_path) == []
