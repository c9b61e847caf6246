"""The closed loop over the wire: ``Interact`` on a real server on loopback against ``solver.Session`` in process
(the same frames, commands and result bit for bit; timing; drops and resumes; the session stored as a job)."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import numpy as np
import pytest

import solver
from clients import Client, ServiceError
from optowave.v1 import service_pb2, service_pb2_grpc
from tests.service.interact_cases import (DISK, GRACE_S, PERIOD_MS, RASTER, SCRIPT, TOKEN_A, TOKEN_B,
                                          assert_same_frames, assert_same_result, client, drive, live_spec, server)
from tests.service.test_server import CuttingProxy

__all__ = ["client", "server"]       # fixtures

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
    proxy = CuttingProxy(server.server.address)
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
