"""The job table and its state machine (SQLite, no server): a terminal state is final, late updates
are ignored, request ids are per client, pages and filters, ids are unguessable."""
from __future__ import annotations

import itertools
import sqlite3

import pytest

from service import jobs
from service.convert import file_reference_violations, job_message, unknown_field_violations
from service.jobs import JobTable, NewJob
from optowave.v1 import service_pb2, spec_pb2
from tests.service.test_server import field_bytes, message, nagumo_spec, varint

PLAN = {"n_steps": 200, "chunk_steps": 50, "sample_every": 10, "n_samples": 21, "dt_ms": 0.02}
_ids = itertools.count()


def new(table: JobTable, client: str = "alice", request_id: str = "", labels: dict | None = None, **over):
    job = NewJob(id=f"job-{next(_ids)}", client=client, request_id=request_id, spec_json="{}", spec_sha256="x",
                 chunks_total=4, duration_ms=4.0, plan=PLAN, variables=("v",), labels=labels or {}, **over)
    return table.insert(job)


@pytest.fixture
def table(tmp_path):
    t = JobTable(tmp_path / "jobs.sqlite")
    yield t
    t.close()


def test_the_allowed_transitions():
    assert jobs.ALLOWED[jobs.QUEUED] == {jobs.RUNNING, jobs.FAILED, jobs.CANCELLED}
    assert jobs.ALLOWED[jobs.RUNNING] == {jobs.SUCCEEDED, jobs.FAILED, jobs.CANCELLED}
    assert all(not jobs.ALLOWED[s] for s in jobs.TERMINAL)


def test_a_terminal_state_is_final_and_late_updates_are_ignored(table):
    rec = new(table)
    assert rec.state == jobs.QUEUED and rec.version == 1
    assert table.progress(rec.id, chunks_committed=1, simulated_ms=1, cell_steps_per_s=1, eta_s=1) is None  # queued
    running = table.transition(rec.id, jobs.RUNNING)
    assert running.state == jobs.RUNNING and running.start_time is not None
    p = table.progress(rec.id, chunks_committed=2, simulated_ms=2.0, cell_steps_per_s=5.0, eta_s=3.0)
    assert (p.chunks_committed, p.simulated_ms, p.version) == (2, 2.0, 3)
    done = table.transition(rec.id, jobs.CANCELLED)
    assert done.state == jobs.CANCELLED and done.end_time is not None and done.eta_s == 0
    # a chunk that commits after the cancel, a driver that then reports success or failure: all ignored
    assert table.progress(rec.id, chunks_committed=3, simulated_ms=3.0, cell_steps_per_s=5.0, eta_s=1.0) is None
    for target in (jobs.SUCCEEDED, jobs.FAILED, jobs.RUNNING, jobs.CANCELLED):
        assert table.transition(rec.id, target, error="late") is None
    final = table.get(rec.id)
    assert (final.state, final.chunks_committed, final.error, final.version) == (jobs.CANCELLED, 2, "", 4)


def test_no_way_back_to_queued_or_running(table):
    rec = new(table)
    table.transition(rec.id, jobs.RUNNING)
    with pytest.raises(ValueError, match="unknown job state"):
        table.transition(rec.id, "PAUSED")
    assert table.transition(rec.id, jobs.QUEUED) is None
    assert table.transition(rec.id, jobs.RUNNING) is None          # RUNNING -> RUNNING is no transition
    assert table.transition(rec.id, jobs.FAILED, error="boom").error == "boom"


def test_request_ids_are_unique_per_client(table):
    a = new(table, request_id="r1")
    with pytest.raises(sqlite3.IntegrityError):
        new(table, request_id="r1")
    b = new(table, client="bob", request_id="r1")
    new(table), new(table)                                           # no request id: any number
    assert table.find_request("alice", "r1").id == a.id and table.find_request("bob", "r1").id == b.id


def test_pages_filters_and_deletion(table):
    recs = [new(table, labels={"lab": "a" if k % 2 else "b"}) for k in range(7)]
    new(table, client="bob")
    page1 = table.page("alice", limit=3)
    page2 = table.page("alice", after_seq=page1[-1].seq, limit=3)
    page3 = table.page("alice", after_seq=page2[-1].seq, limit=3)
    assert [r.id for r in page1 + page2 + page3] == [r.id for r in recs]
    assert [r.id for r in table.page("alice", labels={"lab": "a"})] == [r.id for r in recs[1::2]]
    table.transition(recs[0].id, jobs.RUNNING)
    assert [r.id for r in table.page("alice", state=jobs.RUNNING)] == [recs[0].id]
    assert table.mark_deleted(recs[0].id) is None                    # running: not deletable
    table.transition(recs[0].id, jobs.SUCCEEDED)
    assert table.mark_deleted(recs[0].id).deleted
    assert recs[0].id not in [r.id for r in table.page("alice")]
    assert table.transition(recs[0].id, jobs.FAILED) is None
    assert table.count(client="alice", state=jobs.QUEUED) == 6
    assert table.next_queued().id == recs[1].id


def test_the_table_survives_reopening(tmp_path):
    t = JobTable(tmp_path / "jobs.sqlite")
    rec = new(t)
    t.transition(rec.id, jobs.RUNNING)
    t.close()
    again = JobTable(tmp_path / "jobs.sqlite")
    assert [r.id for r in again.in_state(jobs.RUNNING)] == [rec.id]
    assert again._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again.close()


def test_job_ids_are_unguessable():
    ids = {jobs.new_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(len(i) == 22 for i in ids)      # 128 random bits, URL-safe


def test_job_message_round_trip(table):
    spec = message(nagumo_spec(labels={"lab": "a"}))
    from solver.spec import to_json

    rec = table.insert(NewJob(id="j", client="c", request_id="r", spec_json=to_json(spec), spec_sha256="x",
                              chunks_total=4, duration_ms=4.0, plan=PLAN, variables=("v",), labels={"lab": "a"}))
    m = job_message(rec)
    assert m.spec == spec and m.state == service_pb2.JOB_STATE_QUEUED and m.labels == {"lab": "a"}
    assert m.progress.chunks_total == 4 and m.create_time.seconds > 0 and not m.HasField("end_time")


def test_wire_checks_name_the_field():
    spec = message(nagumo_spec())
    pattern = field_bytes(42, 0, varint(1)) + field_bytes(7, 0, varint(1))   # field 42: unknown; 7: union
    odd = spec_pb2.JobSpec.FromString(spec.SerializeToString() + field_bytes(6, 2, field_bytes(2, 2, pattern)))
    unknown, wrong = unknown_field_violations(odd)
    assert unknown.field == "light[0].pattern" and "unknown field number 42" in unknown.description
    assert wrong.field == "light[0].pattern.union" and "wrong type" in wrong.description
    spec.light.add().pattern.raster.npy_path = "../../secret.npy"
    nested = spec.opsin.region.difference.patterns
    nested.add().everywhere.SetInParent()
    nested.add().checkerboard.region.sum.terms.add().pattern.image.png_path = "/etc/secret.png"
    named = {v.field: v.description for v in file_reference_violations(spec)}
    assert named == {
        "light[0].pattern.raster.npy_path": "'../../secret.npy': a spec sent to a server cannot name a file; give "
                                            "the raster's shape and values inline; the Python client does this itself",
        "opsin.region.difference.patterns[1].checkerboard.region.sum.terms[0].pattern.image.png_path":
            "'/etc/secret.png': a spec sent to a server cannot name a file; give the image's pixels inline (a raster: "
            "shape [rows, columns] and values in [0, 1]); the Python client does this itself"}
