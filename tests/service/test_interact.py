"""The closed loop over the wire: ``Interact`` on a real server on loopback, against ``solver.Session`` in process."""
from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
import xarray as xr

import solver
from clients import Client, ServiceError
from optowave.v1 import service_pb2, service_pb2_grpc
from service.interact import InteractLimits
from service.server._app import ServerConfig, _ThreadedServer
from solver.stimulus import light
from tests.specs import small_hek_spec

TOKENS = {"token-of-lab-a-0123456789": "lab-a", "token-of-lab-b-0123456789": "lab-b"}
TOKEN_A, TOKEN_B = list(TOKENS)
GRACE_S = 3.0
QUEUE_FRAMES = 4
PERIOD_MS = 1.0                   # 1000 frames/s: 50 steps of 0.02 ms
DISK = {"disk": {"center_um": {"x": 80, "y": 80}, "radius_um": 30}}
SPOT = {"disk": {"center_um": {"x": 40, "y": 120}, "radius_um": 20}}


def live_spec(duration_ms: float = 14.0, **over) -> dict:
    """A 16×16 sheet filmed at 1000 frames/s, no light of its own, sampled every step (v and irradiance)."""
    return small_hek_spec(**{"grid": {"nx": 16, "ny": 16, "dx_um": 10.0}, "light": [],
                             "numerics": {"dt_ms": 0.02, "duration_ms": duration_ms},
                             "readout": {"enabled": True, "camera": {"frame_rate_hz": 1000.0}},
                             "output": {"variables": ["v", "irradiance"], "sample_interval_ms": 0.02}, **over})


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    config = ServerConfig(listen="127.0.0.1:0", data_dir=tmp_path_factory.mktemp("interact-server"), workers=0,
                          tokens=TOKENS, interact=InteractLimits(grace_s=GRACE_S, queue_frames=QUEUE_FRAMES))
    threaded = _ThreadedServer(config)
    threaded.start()
    yield threaded
    threaded.stop()


@pytest.fixture
def client(server):
    with Client(server.server.address, token=TOKEN_A) as c:
        yield c


class Proxy:
    """A TCP forwarder on loopback whose connections can be cut (the link drops; new connections go through)."""

    def __init__(self, upstream: str):
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.conns: list[socket.socket] = []
        self.cuts = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                down, _ = self.listener.accept()
            except OSError:
                return
            up = socket.create_connection(self.upstream)
            with self.lock:
                self.conns += [down, up]
            for a, b in ((down, up), (up, down)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self.cuts += 1

    def close(self) -> None:
        self.listener.close()
        self.cut()


def drive(session, script: dict, n_frames: int) -> list[xr.Dataset]:
    """Film ``n_frames`` frames; after frame k, the commands ``script[k]`` (the same on either kind of session)."""
    frames = []
    for k in range(n_frames):
        frames.append(session.next_frame())
        for command in script.get(k, ()):
            if command is None:
                session.clear_light()
            else:
                session.set_light(*command)
    return frames


#: Commands at irregular frames: a disk, a raster on the camera's pixels, a clear, two commands in one frame
#: (the second replaces the first), the same light again (changes nothing), a shape made in Python.
RASTER = np.zeros((16, 16))
RASTER[2:6, 3:9] = 0.75
SCRIPT = {1: [(DISK, 0.8)], 4: [(RASTER, 1.5)], 5: [None], 7: [(SPOT, 2.0), (DISK, 0.5)], 8: [(DISK, 0.5)],
          10: [(light.disk((40.0, 120.0), 20.0), 1.0)]}     # a shape of solver.stimulus.light


def assert_same_frames(a: list[xr.Dataset], b: list[xr.Dataset]) -> None:
    assert len(a) == len(b)
    for fa, fb in zip(a, b):
        assert fa.attrs["frame"] == fb.attrs["frame"] and fa.attrs["time_ms"] == fb.attrs["time_ms"]
        assert set(fa.data_vars) == set(fb.data_vars)
        for name in fa.data_vars:
            np.testing.assert_array_equal(fa[name].values, fb[name].values, err_msg=f"frame {fa.attrs['frame']} {name}")
        for name in ("cam_y", "cam_x"):
            np.testing.assert_array_equal(fa[name].values, fb[name].values)


def assert_same_result(a: xr.Dataset, b: xr.Dataset) -> None:
    for name in ("v", "irradiance", "dff", "fluorescence", "activation_time"):
        np.testing.assert_array_equal(np.asarray(a[name].values), np.asarray(b[name].values), err_msg=name)


@pytest.fixture(scope="module")
def in_process():
    """The script run in process: frames, commands, recorded spec and result (the reference of the wire's)."""
    with solver.Session(live_spec(), include_v=True) as s:
        frames = drive(s, SCRIPT, 12)
        commands, recorded = [dict(c) for c in s.commands], s.recorded_spec()
        return frames, commands, recorded, s.finish()


def test_the_same_commands_over_the_wire_and_in_process_give_the_same_frames_and_result(client, in_process, tmp_path):
    frames, commands, recorded, result = in_process
    with client.interact(live_spec(), include_v=True) as remote:
        assert remote.shape == (16, 16) and remote.frame_period_ms == PERIOD_MS and remote.max_frames == 14
        wire = drive(remote, SCRIPT, 12)
        assert remote.frame_index == 12 and remote.time_ms == 12 * PERIOD_MS
        assert remote.recorded_spec() == recorded
        assert remote.commands == commands
        stored = remote.finish(tmp_path / "wire.zarr")
    assert_same_frames(wire, frames)
    assert_same_result(stored, result)
    job = client.job(remote.session_id)          # stored as a job of the session's id, listed like any
    assert job.state == "SUCCEEDED" and remote.session_id in [j.id for j in client.jobs()]
    # commands at frames 2, 5, 6, 8 (7's first replaced, 8's the same light as 7's second) and 11
    assert [c["frame"] for c in remote.commands] == [2, 5, 6, 8, 11]


def test_a_command_after_frame_k_takes_effect_at_frame_k_plus_1_over_the_wire(client, tmp_path):
    k, irradiance = 5, 0.8
    with client.interact(live_spec()) as remote:
        for _ in range(k + 1):
            frame = remote.next_frame()
        assert frame.attrs["frame"] == k
        remote.set_light(DISK, irradiance)
        for _ in range(3):
            remote.next_frame()
        assert remote.commands[0]["frame"] == k + 1 and remote.commands[0]["time_ms"] == (k + 1) * PERIOD_MS
        ds = remote.finish(tmp_path / "timing.zarr")
    steps_per_frame = round(PERIOD_MS / 0.02)
    at = (k + 1) * steps_per_frame                     # the boundary step where frame k + 1 starts
    lit = ds.irradiance.values[:, 8, 8]                # the disk's centre
    assert np.all(lit[:at] == 0.0)
    assert np.all(lit[at:-1] == np.float32(irradiance))     # the last sample is the run's end, where the light ends
    assert float(ds.time.values[at]) == pytest.approx((k + 1) * PERIOD_MS)


def test_the_stream_survives_a_cut_link_with_no_frame_lost_or_doubled(server, in_process, tmp_path):
    frames, _, _, result = in_process
    proxy = Proxy(server.server.address)
    try:
        with Client(proxy.address, token=TOKEN_A) as c, c.interact(live_spec(), include_v=True) as remote:
            wire = []
            for k in range(12):
                wire.append(remote.next_frame())
                for command in SCRIPT.get(k, ()):
                    remote.clear_light() if command is None else remote.set_light(*command)
                if k in (3, 7):             # the link drops between frames, once right after a command
                    proxy.cut()
            assert proxy.cuts == 2 and remote.resumes >= 2
            stored = remote.finish(tmp_path / "cut.zarr")
    finally:
        proxy.close()
    assert [f.attrs["frame"] for f in wire] == list(range(12))
    assert_same_frames(wire, frames)
    assert_same_result(stored, result)


def test_a_session_left_past_its_grace_period_is_stored_as_a_job(client, tmp_path):
    script = {0: [(DISK, 0.8)], 2: [None]}
    remote = client.interact(live_spec())
    drive(remote, script, 4)
    session_id = remote.session_id
    remote._hang_up()                              # the client goes away without finishing
    with pytest.raises(ServiceError) as err:       # not a job yet: the session waits for a resume
        client.job(session_id)
    assert err.value.code == grpc.StatusCode.NOT_FOUND
    time.sleep(GRACE_S + 1.0)
    job = client.job(session_id).wait(timeout=120)
    assert job.state == "SUCCEEDED"
    ds = job.result(tmp_path / "expired.zarr")
    with solver.Session(live_spec()) as s:
        drive(s, script, 4)
        expected = s.finish()
    assert_same_result(ds, expected)
    with Client(client.address, token=TOKEN_B) as other, pytest.raises(ServiceError) as err:
        other.job(session_id)
    assert err.value.code == grpc.StatusCode.NOT_FOUND


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


def test_a_stream_without_a_valid_token_is_unauthenticated(client):
    from clients.client import spec_message

    start = service_pb2.InteractRequest(start=service_pb2.InteractStart(spec=spec_message(live_spec())))
    for metadata in ((), (("authorization", "Bearer not-a-token-of-this-server"),)):
        with grpc.insecure_channel(client.address) as channel:
            call = service_pb2_grpc.SimulationServiceStub(channel).Interact(iter([start]), metadata=metadata)
            with pytest.raises(grpc.RpcError) as err:
                next(call)
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


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


LAB = """
import hashlib, json, sys

HEAVY = ("numba", "dask", "distributed", "scipy", "solver", "service")
for name in HEAVY:      # as if not installed (tests/clients/test_lab_client.py)
    sys.modules[name] = None
import numpy as np
from clients import Client

address, token, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
raster = np.zeros((16, 16))
raster[2:6, 3:9] = 0.75
with Client(address, token=token).interact(spec) as session:
    frames = [session.next_frame()]
    session.set_light(raster, 1.5)
    frames += [session.next_frame(), session.next_frame()]
    session.set_light({"disk": {"center_um": {"x": 80, "y": 80}, "radius_um": 30}}, 0.8)
    frames.append(session.next_frame())
    ds = session.finish(sys.argv[4])
heavy = sorted({m.split(".")[0] for m, mod in sys.modules.items() if mod is not None and m.split(".")[0] in HEAVY})
print(json.dumps({"dff": [hashlib.sha256(f.dff.values.tobytes()).hexdigest() for f in frames],
                  "v": hashlib.sha256(ds.v.values.tobytes()).hexdigest(), "heavy": heavy}))
"""


def test_a_lab_machine_without_the_solver_runs_a_session(server, tmp_path):
    """A lab machine without the solver, the service, numba, Dask or SciPy runs a session: the same frames and
    result as in process, and none of them imported."""
    spec = live_spec(duration_ms=5.0)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "protos"), str(root)])}
    out = subprocess.run([sys.executable, "-c", LAB, server.server.address, TOKEN_A, json.dumps(spec),
                          str(tmp_path / "lab.zarr")], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    lab = json.loads(out.stdout.strip().splitlines()[-1])
    assert lab["heavy"] == []
    with solver.Session(spec) as s:
        frames = drive(s, {0: [(RASTER, 1.5)], 2: [(DISK, 0.8)]}, 4)
        ds = s.finish()
    assert lab["dff"] == [hashlib.sha256(f.dff.values.tobytes()).hexdigest() for f in frames]
    assert lab["v"] == hashlib.sha256(ds.v.values.tobytes()).hexdigest()


def test_a_server_that_stops_stores_its_live_sessions_as_jobs_run_at_its_next_start(tmp_path):
    from service.server import embedded

    script = {0: [(DISK, 1.0)]}
    with embedded(tmp_path / "data", workers=0) as address:
        remote = Client(address).interact(live_spec())
        drive(remote, script, 3)
    with pytest.raises(ServiceError) as err:          # the stream ended with the server
        remote.next_frame()
    assert err.value.code == grpc.StatusCode.ABORTED and remote.session_id in err.value.message
    with embedded(tmp_path / "data", workers=0) as address:
        job = Client(address).job(remote.session_id).wait(timeout=120)
        assert job.state == "SUCCEEDED"
        ds = job.result(tmp_path / "stopped.zarr")
    with solver.Session(live_spec()) as s:
        drive(s, script, 3)
        assert_same_result(ds, s.finish())


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


def test_frames_sent_into_a_dropped_stream_are_sent_again_after_a_resume(server, client):
    """Five frames asked for, two read, the stream dropped: a resume holding frame 1 gets frames 2, 3 and 4 from
    the server's buffer (once each, in order), then the session goes on."""
    from clients.client import spec_message

    metadata = (("authorization", f"Bearer {TOKEN_A}"),)
    start = service_pb2.InteractRequest(start=service_pb2.InteractStart(spec=spec_message(live_spec())))
    advance = service_pb2.InteractRequest(sequence=1, advance=service_pb2.InteractAdvance(frames=5))
    gate = threading.Event()

    def first():
        yield start
        yield advance
        gate.wait(60)

    with grpc.insecure_channel(client.address) as channel:
        stub = service_pb2_grpc.SimulationServiceStub(channel)
        call = stub.Interact(first(), metadata=metadata)
        started = next(call).started
        live = server.server.sessions._live[started.session_id]
        assert [next(call).frame.index for _ in range(2)] == [0, 1]
        deadline = time.monotonic() + 60
        while live.next_frame < 5 and time.monotonic() < deadline:    # the other three filmed and handed to gRPC
            time.sleep(0.05)
        call.cancel()
        gate.set()
        resume = service_pb2.InteractRequest(resume=service_pb2.InteractResume(
            session_id=started.session_id, resume_token=started.resume_token, last_frame=1, last_reply=0))
        more = service_pb2.InteractRequest(sequence=2, advance=service_pb2.InteractAdvance(frames=1))
        call = stub.Interact(iter([resume, more]), metadata=metadata)
        again = next(call).started
        assert again.session_id == started.session_id and again.last_sequence == 1 and again.next_frame == 5
        frames = [next(call).frame for _ in range(4)]
        call.cancel()
    assert [f.index for f in frames] == [2, 3, 4, 5]
    assert [f.time_ms for f in frames] == [2 * PERIOD_MS, 3 * PERIOD_MS, 4 * PERIOD_MS, 5 * PERIOD_MS]
    assert frames[0].coords and not frames[1].coords      # the coordinates again with the new stream's first frame
