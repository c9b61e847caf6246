"""Sweeps and design searches as server objects, end to end: a real server on loopback whose runs go to a real
Dask LocalCluster (one worker process), the Python client, the command line.

References: a design through the server must find what ``optowave design`` finds here; a cancelled sweep's
finished runs must hold the metrics of the same runs simulated in this process.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import grpc
import numpy as np
import pytest
import yaml

import solver
from clients import Client, JobError, ServiceError
from clients.cli import main as cli_main
from clients.client import design_message
from optowave.files import FileError
from service.server import embedded
from service.sweep import compute_metrics, load_sweep
from tests.service.test_server import ALICE, BOB, TOKENS, nagumo_spec
from tests.service.test_sweep import point_spec

ROOT = Path(__file__).resolve().parents[2]
DIFFUSIVITIES = [0.2 + 0.1 * k for k in range(20)]


def slow_sweep(n_values: int = 20) -> dict:
    """``n_values`` runs of a 64 x 64 Nagumo front, each a few tenths of a second on one worker."""
    return {"name": "twenty", "base": nagumo_spec(n=64, duration_ms=400.0, chunk_ms=400.0, sample_ms=20.0,
                                                  name="slow-run"),
            "axes": [{"path": "coupling.diffusivity_um2_per_ms", "values": DIFFUSIVITIES[:n_values]}],
            "metrics": ["fraction_activated"]}


def example_design(tmp_path: Path, **over) -> Path:
    """``examples/design/spot_threshold.yaml`` as it is, on a 48 x 48 sheet for 20 ms and to 5 % (a test budget)."""
    doc = yaml.safe_load((ROOT / "examples/design/spot_threshold.yaml").read_text())
    doc.update({"set": {"grid.nx": 48, "grid.ny": 48, "numerics.duration_ms": 20.0,
                        "output.sample_interval_ms": 0.5}, "tolerance": 0.05}, **over)
    shutil.copy(ROOT / "examples/design" / doc["base"], tmp_path / doc["base"])
    path = tmp_path / "design.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("groups-data")
    with embedded(data, workers=1, tokens=TOKENS) as address:
        yield SimpleNamespace(address=address, data=data)


@pytest.fixture(scope="module")
def alice(server):
    with Client(server.address, token=ALICE) as client:
        yield client


@pytest.fixture(scope="module")
def bob(server):
    with Client(server.address, token=BOB) as client:
        yield client


# ---------------------------------------------------------------- sweeps


def test_cancel_a_sweep_of_twenty_runs_after_three(server, alice):
    sweep = alice.sweep(slow_sweep())
    for s in sweep.events():
        if s.runs_done >= 3:
            break
    cancelled_at = time.time()
    sweep.cancel()
    assert sweep.state == "CANCELLED"
    done = sweep.runs_done
    summary = sweep.summary()                    # waits until the driver has written what finished
    time.sleep(1.5)                              # room for a run that would (wrongly) start late
    runs_dir = server.data / "sweeps" / sweep.id / "summary.runs"
    records = [json.loads(p.read_text()) for p in runs_dir.glob("*.json") if p.name != "sweep.json"]
    # a run that finished while the cancel went through is kept too
    assert 3 <= done <= len(records) <= done + 1 < 20
    assert all(r["started"] < cancelled_at for r in records)          # no run started after the cancel
    assert sweep.refresh().state == "CANCELLED"
    finished = ~np.isnan(summary["fraction_activated"].values)
    assert finished.sum() == len(records)
    assert (summary["error"].values[~finished] == "not run").all()
    plan = load_sweep(slow_sweep())
    for p in plan.points():
        if finished[p.index]:                    # the finished runs' numbers are those of the same run here
            here = compute_metrics(solver.simulate(p.spec), plan.metrics)["fraction_activated"]
            assert summary["fraction_activated"].values[p.index] == here
    assert [s.id for s in alice.sweeps(state="cancelled")] == [sweep.id]


def test_stop_file_stops_a_run_in_progress_within_a_chunk(tmp_path):
    from service.sweep import run_point

    stop = tmp_path / "stop"
    spec = nagumo_spec(n=64, duration_ms=4000.0, chunk_ms=4000.0, sample_ms=500.0)    # seconds of compute

    import threading

    timer = threading.Timer(0.2, stop.touch)
    timer.start()
    result = run_point(spec, ".", load_sweep(slow_sweep(1)).metrics, {}, None, str(stop))
    timer.join()
    assert result["status"] == "cancelled"
    step, n = map(int, result["error"].removeprefix("stopped at step ").split(" of "))
    assert 0 < step < n == 200000
    again = run_point(spec, ".", load_sweep(slow_sweep(1)).metrics, {}, None, str(stop))
    assert again["status"] == "cancelled" and again["error"].startswith("not started")


def test_watch_list_failed_runs_and_delete(server, alice, bob):
    spec = slow_sweep(2)
    spec["base"] = point_spec(0.0, -120.0)                # two pulses on one strip: -120 + -120 A/F blows up
    spec["axes"] = [{"path": "current[0].amplitude_a_per_f", "values": [-0.05, -120.0]}]
    sweep = alice.sweep(spec)
    events = [(s.state, s.runs_done, s.runs_failed, s.runs_left) for s in sweep.events()]
    assert events[-1] == ("SUCCEEDED", 2, 1, 0)
    assert [e[1] for e in events] == sorted(e[1] for e in events)
    (parameters, error), = sweep.failed_runs
    assert parameters == {"amplitude_a_per_f": -120.0} and error.startswith("SimulationError: the run blew up")
    assert sweep.id in {s.id for s in alice.sweeps()} and sweep.id not in {s.id for s in bob.sweeps()}
    for call in (lambda: bob.get_sweep(sweep.id), lambda: bob.get_sweep(sweep.id).cancel(),
                 lambda: alice.get_sweep(sweep.id).__class__(bob, sweep.message).delete(),
                 lambda: alice.get_sweep(sweep.id).__class__(bob, sweep.message).summary()):
        with pytest.raises(ServiceError) as err:
            call()
        assert err.value.code == grpc.StatusCode.NOT_FOUND and "sweep_id" in err.value.message
    sweep.delete()
    assert not (server.data / "sweeps" / sweep.id).exists()
    with pytest.raises(ServiceError) as err:
        sweep.refresh()
    assert err.value.code == grpc.StatusCode.FAILED_PRECONDITION and "was deleted" in err.value.message


def test_deleting_a_running_sweep_is_refused_naming_it(server, alice):
    sweep = alice.sweep(slow_sweep(4))
    with pytest.raises(ServiceError) as err:
        sweep.delete()
    assert err.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert f"sweep {sweep.id!r} is" in err.value.message and "cancel it first" in err.value.message
    sweep.cancel()


# ---------------------------------------------------------------- designs


def test_example_threshold_design_through_the_server_equals_the_local_one(server, alice, tmp_path, capsys):
    path = example_design(tmp_path)
    assert cli_main(["design", str(path), "-o", str(tmp_path / "here"), "--quiet"]) == 0
    here = json.loads((tmp_path / "here" / "report.json").read_text())

    design = alice.design(path, request_id="design-0001")
    assert alice.design(path, request_id="design-0001").id == design.id           # idempotent
    with pytest.raises(ServiceError) as err:                                     # the same id, another design
        alice.design({**json.loads(path.read_text()), "base": str(tmp_path / "sheet.json"), "tolerance": 0.1},
                     request_id="design-0001")
    assert err.value.code == grpc.StatusCode.ALREADY_EXISTS and design.id in err.value.message
    seen = []
    for d in design.events():
        seen.append((d.state, d.rounds_done, d.rounds_left, [dict(b) for b in d.brackets], list(d.last_runs)))
    assert design.state == "SUCCEEDED", design.error
    there = design.report(tmp_path / "there")
    report = json.loads(there["report.json"].read_text())
    assert report["summary"] == here["summary"] and design.result["summary"] == here["summary"]
    strip = lambda runs: [{k: v for k, v in r.items() if k != "seconds"} for r in runs]  # noqa: E731
    assert strip(report["runs"]) == strip(here["runs"])
    assert there["found.json"].read_text() == (tmp_path / "here" / "found.json").read_text()
    assert set(there) == {"report.json", "found.json", "runs.csv", "report.png"}
    # each round was reported with its runs, its bracket narrowing onto the threshold, the rounds left falling
    rounds = [s for s in seen if s[0] == "RUNNING" and s[4]]
    assert [len(r[4]) for r in rounds][0] == 2 and all(len(r[4]) == 1 for r in rounds[1:])
    assert sum(len(r[4]) for r in rounds) == here["n_runs"]
    lo, hi = here["summary"]["bracket"]
    assert rounds[-1][3][0]["low"] == lo and rounds[-1][3][0]["high"] == hi
    widths = [r[3][0]["high"] / r[3][0]["low"] for r in rounds]
    assert widths == sorted(widths, reverse=True)
    lefts = [r[2] for r in rounds[1:]]
    assert lefts == sorted(lefts, reverse=True) and lefts[-1] == 0
    # the command line against the server prints the same threshold
    assert cli_main(["design", str(path), "--server", server.address, "--token", ALICE, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert json.dumps(here["summary"]["threshold"]) in out


def test_bad_design_is_invalid_argument_naming_the_field(server, alice, tmp_path):
    path = example_design(tmp_path, search="bisect")
    with pytest.raises(FileError) as err:           # the file's schema: refused before anything is sent
        alice.design(path)
    assert ("search", "'bisect' is not allowed; allowed: threshold, strength_duration, window, minimise") in \
        err.value.violations
    msg = design_message(example_design(tmp_path))
    msg.protocol = "pacin"                          # a message that passes the schema: the server checks the rest
    with pytest.raises(ServiceError) as err:
        alice.design(msg)
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert ("spec.protocol", "'pacin' is not a protocol (did you mean 'pacing'?); allowed: "
            "pacing, s1s2_spiral, conduction_block, domain_flip, ring_oscillator") in err.value.violations
    doc = json.loads(path.read_text())
    doc.update(search="threshold", base={**json.loads((tmp_path / "sheet.json").read_text()),
                                         "grid": {"nx": 0, "ny": 48, "dx_um": 10.0}})
    with pytest.raises(ServiceError) as err:
        alice.design(doc)
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert any(f == "spec.base.grid.nx" for f, _ in err.value.violations), err.value.violations


def test_cancel_delete_and_isolation_of_designs(server, alice, bob, tmp_path):
    design = alice.design(example_design(tmp_path, tolerance=0.001))
    for d in design.events():
        if d.rounds_done >= 1:
            break
    for call in (lambda: bob.get_design(design.id), lambda: design.__class__(bob, design.message).cancel(),
                 lambda: design.__class__(bob, design.message).delete(),
                 lambda: design.__class__(bob, design.message).report(tmp_path / "stolen")):
        with pytest.raises(ServiceError) as err:
            call()
        assert err.value.code == grpc.StatusCode.NOT_FOUND and "design_id" in err.value.message
    assert design.id not in {d.id for d in bob.designs()}
    job = alice.submit(nagumo_spec(name="alice-job")).wait(timeout=60)      # and jobs: bob cannot delete one
    with pytest.raises(ServiceError) as err:
        bob.job(job.id)
    assert err.value.code == grpc.StatusCode.NOT_FOUND
    with pytest.raises(ServiceError) as err:
        job.__class__(bob, job.message).delete()
    assert err.value.code == grpc.StatusCode.NOT_FOUND and alice.job(job.id).state == "SUCCEEDED"
    assert design.refresh().state == "RUNNING"
    design.cancel()
    assert design.wait(timeout=60).state == "CANCELLED"
    with pytest.raises(JobError, match="is CANCELLED"):
        design.report(tmp_path / "none")
    assert [d.id for d in alice.designs(state="cancelled")] == [design.id]
    design.delete()
    assert not (server.data / "designs" / design.id).exists()
    assert design.id not in {d.id for d in alice.designs()}


def test_reflection_lists_the_sweep_and_design_rpcs_and_calls_them(server, alice):
    from google.protobuf import descriptor_pool, message_factory
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

    from tests.service.test_server import SERVICE, auth

    mine = alice.sweep(slow_sweep(1)).wait(timeout=60)
    channel = grpc.insecure_channel(server.address)
    try:
        service = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel)).FindServiceByName(SERVICE)
        names = set(service.methods_by_name)
        assert {"ListSweeps", "WatchSweep", "CancelSweep", "DeleteSweep", "SubmitDesign", "GetDesign", "ListDesigns",
                "WatchDesign", "CancelDesign", "DeleteDesign", "StreamDesignReport"} <= names
        method = service.methods_by_name["ListSweeps"]
        request_cls = message_factory.GetMessageClass(method.input_type)
        response_cls = message_factory.GetMessageClass(method.output_type)
        call = channel.unary_unary(f"/{SERVICE}/ListSweeps", request_serializer=request_cls.SerializeToString,
                                   response_deserializer=response_cls.FromString)
        listed = call(request_cls(), metadata=auth())
    finally:
        channel.close()
    assert mine.id in {s.id for s in listed.sweeps}


class RecordingBar:
    """A tqdm-like class (``total``, ``n``, ``update``, ``close``) that records what it was told."""

    made: list["RecordingBar"] = []

    def __init__(self, *, total, desc, unit):
        self.total, self.desc, self.unit, self.n, self.closed = total, desc, unit, 0, False
        RecordingBar.made.append(self)

    def update(self, k):
        self.n += k

    def close(self):
        self.closed = True


def test_watch_draws_on_a_tqdm_like_bar_and_ctrl_c_on_the_command_line_cancels_the_sweep(server, alice, tmp_path,
                                                                                        monkeypatch, capsys):
    sweep = alice.sweep(slow_sweep(3)).watch(bar=RecordingBar)
    bar = RecordingBar.made[-1]
    assert (bar.n, bar.total, bar.unit, bar.closed) == (3, 3, "runs", True) and sweep.state == "SUCCEEDED"

    from clients import _groups

    def interrupt(self, stream):       # Ctrl-C at the first progress event
        raise KeyboardInterrupt

    monkeypatch.setattr(_groups.Sweep, "_on_event", interrupt)
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps(slow_sweep()))
    rc = cli_main(["sweep", str(path), "-o", str(tmp_path / "s.zarr"), "--server", server.address, "--token", ALICE])
    assert rc == 130
    sweep_id = capsys.readouterr().out.split()[0]
    assert alice.get_sweep(sweep_id).state == "CANCELLED"


def test_a_sweep_stored_by_another_schema_fails_with_its_reason_and_stays_readable(tmp_path):
    """A sweep whose stored file holds a field today's schema does not know (the metric names and probes of
    an older server) is not resumed with that field dropped: it ends FAILED saying why, and GetSweep still
    answers with what can be read of it."""
    from service.jobs import JobTable

    data = tmp_path / "data"
    data.mkdir()
    from google.protobuf import json_format

    from optowave.files import sweep_message

    msg, _, problems = sweep_message(slow_sweep(2))
    assert problems == []
    doc = json_format.MessageToDict(msg, preserving_proto_field_name=True)
    doc["probes"] = [{"name": "centre", "x_um": 10.0, "y_um": 10.0}]      # field 7 of an older SweepSpec
    table = JobTable(data / "jobs.sqlite")
    table.insert_sweep(sweep_id="old-sweep", client="alice", request_id="", spec_json=json.dumps(doc),
                       spec_sha256="0" * 64, runs_total=2)
    table.close()
    with embedded(data, workers=0, tokens=TOKENS) as address, Client(address, token=ALICE) as client:
        sweep = client.get_sweep("old-sweep").wait(timeout=60)
        assert sweep.state == "FAILED"
        assert "stored by another version of optowave" in sweep.error and "probes" in sweep.error
        assert sweep.runs_done == 0
