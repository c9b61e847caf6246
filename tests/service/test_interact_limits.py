"""``Interact`` refusing what it must: other clients, bad tokens, bad commands and specs, the server's limits, and
clients that do not read (flow control), on a real server on loopback."""
from __future__ import annotations

import threading
import time

import grpc
import numpy as np
import pytest

from clients import Client, ServiceError
from optowave.v1 import service_pb2, service_pb2_grpc
from service.interact import InteractLimits
from tests.service.interact_cases import DISK, GRACE_S, QUEUE_FRAMES, TOKEN_A, TOKEN_B, client, live_spec, server
from tests.service.test_server_security import certs

__all__ = ["certs", "client", "server"]       # fixtures

def _resume(address: str, token: str, session_id: str, resume_token: str):
    with grpc.insecure_channel(address) as channel:
        stub = service_pb2_grpc.SimulationServiceStub(channel)
        request = service_pb2.InteractRequest(resume=service_pb2.InteractResume(
            session_id=session_id, resume_token=resume_token, last_frame=0))
        call = stub.Interact(iter([request]), metadata=(("authorization", f"Bearer {token}"),))
        try:
            return next(call)
        finally:
            call.cancel()


def test_another_client_or_a_wrong_token_cannot_resume_a_session(client):
    with client.interact(live_spec()) as remote:
        remote.next_frame()
        for token, resume_token in ((TOKEN_B, remote._token), (TOKEN_A, remote._token[:-2] + "xx")):
            with pytest.raises(grpc.RpcError) as err:
                _resume(client.address, token, remote.session_id, resume_token)
            assert err.value.code() == grpc.StatusCode.NOT_FOUND
            assert "session_id" in err.value.details() and "not found" in err.value.details()
        remote.next_frame()                         # the session goes on for its owner
        assert remote.frame_index == 2


def test_a_stream_without_a_valid_token_is_unauthenticated(client):
    from clients.client import spec_message

    start = service_pb2.InteractRequest(start=service_pb2.InteractStart(spec=spec_message(live_spec())))
    for metadata in ((), (("authorization", "Bearer not-a-token-of-this-server"),)):
        with grpc.insecure_channel(client.address) as channel:
            call = service_pb2_grpc.SimulationServiceStub(channel).Interact(iter([start]), metadata=metadata)
            with pytest.raises(grpc.RpcError) as err:
                next(call)
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_first_message_that_is_not_start_or_resume_is_invalid_argument(client):
    metadata = (("authorization", f"Bearer {TOKEN_A}"),)
    advance = service_pb2.InteractRequest(sequence=1, advance=service_pb2.InteractAdvance(frames=1))
    with grpc.insecure_channel(client.address) as channel:
        for raw, words in ((b"\xff\xff\xff", "not a valid optowave.v1.InteractRequest"),
                           (advance.SerializeToString(), "start or resume, not advance")):
            call = channel.stream_stream("/optowave.v1.SimulationService/Interact")(iter([raw]), metadata=metadata)
            with pytest.raises(grpc.RpcError) as err:
                next(call)
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and words in err.value.details()


def test_bad_commands_are_invalid_argument_naming_the_field_and_the_session_goes_on(client):
    with client.interact(live_spec()) as remote:
        remote.next_frame()
        cases = [((DISK, -1.0), "set_light.irradiance_mw_per_mm2", "must be finite and >= 0"),
                 ((np.ones((4, 4)), 1.0), "set_light.raster.shape", "the camera has [16, 16] pixels"),
                 (({"disk": {"center_um": {"x": 80, "y": 80}, "radius_um": -5}}, 1.0), "set_light.pattern",
                  "radius_um"),
                 (({"image": {"png_path": "/etc/passwd.png", "pixel_pitch_um": 1}}, 1.0),
                  "set_light.pattern.image.png_path", "")]
        for args, field, words in cases:
            with pytest.raises(ServiceError) as err:
                remote.set_light(*args)
            assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT, err.value
            assert err.value.violations[0][0] == field and words in err.value.violations[0][1], err.value
        assert remote.commands == []
        remote.set_light(DISK, 1.0)
        assert remote.next_frame().attrs["frame"] == 1 and remote.commands[0]["frame"] == 1
        with pytest.raises(ServiceError) as err:           # past the spec's duration: 14 frames
            for _ in range(20):
                remote.next_frame()
        assert err.value.code == grpc.StatusCode.OUT_OF_RANGE and err.value.violations[0][0] == "advance.frames"
        assert remote.frame_index == 14


def test_a_bad_spec_is_refused_before_a_session_starts(client):
    for spec, field in ((live_spec(grid={"nx": 0, "ny": 16, "dx_um": 10.0}), "start.spec.grid.nx"),
                        (live_spec(readout={"enabled": False}), "start.spec.readout.enabled")):
        with pytest.raises(ServiceError) as err:
            client.interact(spec)
        assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert any(f == field for f, _ in err.value.violations), err.value.violations


def test_sessions_past_the_servers_limit_are_refused_with_the_limit(server):
    limit = server.config.interact.max_sessions
    deadline = time.monotonic() + GRACE_S + 30
    while server.server.sessions._live and time.monotonic() < deadline:   # sessions other tests dropped expire
        time.sleep(0.2)
    with Client(server.server.address, token=TOKEN_B) as c:
        sessions = [c.interact(live_spec()) for _ in range(limit)]
        try:
            with pytest.raises(ServiceError) as err:
                c.interact(live_spec())
            assert err.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert f"at most {limit}" in err.value.message and "--max-sessions" in err.value.message
        finally:
            for s in sessions:
                s.close()                                 # nothing filmed: nothing stored
        assert c.jobs() == [] and all(s.job is None for s in sessions)


def test_the_servers_cell_step_and_frame_limits_bound_a_session(tmp_path):
    from service.jobs import Limits
    from service.server import embedded

    cells = 16 * 16
    with embedded(tmp_path / "data", workers=0, limits=Limits(max_cell_steps=cells * 300),
                  interact=InteractLimits(max_frames=3)) as address, Client(address) as c:
        with pytest.raises(ServiceError) as err:          # 14 ms = 700 steps of 16 × 16 cells
            c.interact(live_spec(duration_ms=14.0))
        assert err.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert err.value.violations[0][0] == "start.spec.numerics.duration_ms"
        assert f"{cells * 700:.3g} cell-steps" in err.value.violations[0][1]
        with c.interact(live_spec(duration_ms=5.0)) as remote:    # 250 steps: allowed
            for _ in range(3):
                remote.next_frame()
            with pytest.raises(ServiceError) as err:
                remote.next_frame()
            assert err.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert err.value.violations[0][0] == "advance.frames" and "--max-session-frames" in err.value.message
            assert remote.frame_index == 3


def test_a_client_that_does_not_read_pauses_the_simulation(server, client):
    """Ask for 200 frames and read none: the session films the queue and what the transport holds, then waits."""
    spec = live_spec(duration_ms=400.0, output={"variables": ["v"], "sample_interval_ms": 1.0})
    channel = grpc.insecure_channel(client.address, options=[("grpc.http2.bdp_probe", 0)])
    stub = service_pb2_grpc.SimulationServiceStub(channel)
    from clients.client import spec_message

    requests = [service_pb2.InteractRequest(start=service_pb2.InteractStart(spec=spec_message(spec), include_v=True)),
                service_pb2.InteractRequest(sequence=1, advance=service_pb2.InteractAdvance(frames=200))]
    gate = threading.Event()

    def send():
        yield from requests
        gate.wait(60)

    call = stub.Interact(send(), metadata=(("authorization", f"Bearer {TOKEN_A}"),))
    try:
        started = next(call).started
        live = server.server.sessions._live[started.session_id]
        paused_at, deadline = -1, time.monotonic() + 120
        while live.next_frame != paused_at and time.monotonic() < deadline:   # until it stops filming
            paused_at = live.next_frame
            time.sleep(1.0)
        assert live.next_frame == paused_at < 200      # paused, not running ahead
        got = [next(call).frame.index for _ in range(200)]
        assert got == list(range(200))                 # reading again lets it film the rest, in order
    finally:
        gate.set()
        call.cancel()
        channel.close()


def test_a_client_that_sends_commands_without_reading_is_held_back(server, client):
    """20000 commands sent, no answer read: the server's outbox and request queue stay bounded, and gRPC's flow
    control stops the client's sending (what the server took stops growing)."""
    from clients.client import spec_message
    from service.interact._session import REQUESTS_WAITING

    n = 20000
    start = service_pb2.InteractRequest(start=service_pb2.InteractStart(spec=spec_message(live_spec())))
    gate = threading.Event()

    def send():
        yield start
        for k in range(1, n + 1):
            yield service_pb2.InteractRequest(sequence=k, set_light=service_pb2.InteractSetLight(
                irradiance_mw_per_mm2=1.0 + k % 2,
                raster=service_pb2.CameraRaster(shape=[16, 16], dtype="<f8", data=bytes(16 * 16 * 8))))
        gate.wait(60)

    channel = grpc.insecure_channel(client.address, options=[("grpc.http2.bdp_probe", 0)])
    call = service_pb2_grpc.SimulationServiceStub(channel).Interact(
        send(), metadata=(("authorization", f"Bearer {TOKEN_A}"),))
    try:
        live = server.server.sessions._live[next(call).started.session_id]
        taken, deadline = -1, time.monotonic() + 120
        while live.last_sequence != taken and time.monotonic() < deadline:
            taken = live.last_sequence
            time.sleep(1.0)
        assert live.last_sequence == taken < n
        assert live._base + len(live._out) - live._cursor <= QUEUE_FRAMES
        assert live._requests.qsize() <= REQUESTS_WAITING
    finally:
        gate.set()
        call.cancel()
        channel.close()


def test_under_mutual_tls_a_session_belongs_to_its_certificate(tmp_path, certs):
    """The client certificate names the owner of a session over TLS: another certificate's client cannot resume it
    with its token, and finds neither the session nor the job it is stored as."""
    from clients import TLS
    from service.server import embedded

    tls = {name: TLS(ca=certs / "ca.pem", cert=certs / f"{name}.pem", key=certs / f"{name}.key")
           for name in ("carol", "dave")}
    with embedded(tmp_path / "data", workers=0, tls_cert=certs / "server.pem", tls_key=certs / "server.key",
                  tls_client_ca=certs / "ca.pem", listen="localhost:0") as address, \
            Client(address, tls=tls["carol"]) as carol, Client(address, tls=tls["dave"]) as dave:
        with carol.interact(live_spec(duration_ms=5.0)) as remote:
            remote.next_frame()
            resume = service_pb2.InteractRequest(resume=service_pb2.InteractResume(
                session_id=remote.session_id, resume_token=remote._token, last_frame=0))
            call = dave.stub.Interact(iter([resume]))
            with pytest.raises(grpc.RpcError) as err:
                next(call)
            assert err.value.code() == grpc.StatusCode.NOT_FOUND
            remote.set_light(DISK, 1.0)
            remote.next_frame()
        assert carol.job(remote.session_id).wait(timeout=120).state == "SUCCEEDED"
        with pytest.raises(ServiceError) as err:
            dave.job(remote.session_id)
        assert err.value.code == grpc.StatusCode.NOT_FOUND
