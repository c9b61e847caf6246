"""The job table: one SQLite database (WAL) under the server's data directory.

Every change goes through a guarded ``UPDATE``: a state change names the states it may come
from (:mod:`._states`), and progress is recorded only while the job is RUNNING, so an update
that arrives after a terminal state changes nothing. Each change bumps the row's ``version``,
which orders the events that watchers see.

The table is synchronous and not thread-safe; :class:`service.jobs.JobManager` calls it from a
single thread, off the event loop.
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import _states as st
from ._table_designs import DESIGN_SCHEMA, DesignRecord, DesignRows

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    client TEXT NOT NULL,
    request_id TEXT,
    spec_json TEXT NOT NULL,
    spec_sha256 TEXT NOT NULL,
    labels_json TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    create_time REAL NOT NULL,
    start_time REAL,
    end_time REAL,
    chunks_committed INTEGER NOT NULL DEFAULT 0,
    chunks_total INTEGER NOT NULL,
    simulated_ms REAL NOT NULL DEFAULT 0,
    duration_ms REAL NOT NULL,
    cell_steps_per_s REAL NOT NULL DEFAULT 0,
    eta_s REAL NOT NULL DEFAULT 0,
    plan_json TEXT NOT NULL,
    variables_json TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 1,
    UNIQUE (client, request_id)
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, seq);
CREATE INDEX IF NOT EXISTS jobs_by_client ON jobs (client, seq);
CREATE TABLE IF NOT EXISTS sweeps (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    client TEXT NOT NULL,
    request_id TEXT,
    spec_json TEXT NOT NULL,
    spec_sha256 TEXT NOT NULL,
    state TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    create_time REAL NOT NULL,
    runs_total INTEGER NOT NULL,
    runs_done INTEGER NOT NULL DEFAULT 0,
    runs_failed INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 1,
    UNIQUE (client, request_id)
);
"""
#: Columns added to a table after its first release: ``(table, column, declaration)``; a table made by
#: an older server gets them on open.
_ADDED = (
    ("sweeps", "end_time", "REAL"),
    ("sweeps", "runs_per_s", "REAL NOT NULL DEFAULT 0"),
    ("sweeps", "eta_s", "REAL NOT NULL DEFAULT 0"),
    ("sweeps", "failures_json", "TEXT NOT NULL DEFAULT '[]'"),
    ("sweeps", "deleted", "INTEGER NOT NULL DEFAULT 0"),
)


@dataclass(frozen=True)
class JobRecord:
    """One row of the job table (a snapshot)."""

    seq: int
    id: str
    client: str
    request_id: str
    spec_json: str             # canonical JSON of the JobSpec message
    spec_sha256: str
    labels: dict
    state: str
    error: str
    create_time: float         # Unix time (s)
    start_time: float | None
    end_time: float | None
    chunks_committed: int
    chunks_total: int
    simulated_ms: float
    duration_ms: float
    cell_steps_per_s: float
    eta_s: float
    plan: dict                 # service.runner.ChunkPlan.to_dict()
    variables: tuple[str, ...]  # the time series in the store (output variables)
    deleted: bool
    version: int

    @property
    def terminal(self) -> bool:
        return st.is_terminal(self.state)


@dataclass(frozen=True)
class SweepRecord:
    seq: int
    id: str
    client: str
    request_id: str
    spec_json: str             # canonical JSON of the SweepSpec message
    spec_sha256: str
    state: str
    error: str
    create_time: float
    runs_total: int
    runs_done: int
    runs_failed: int
    version: int
    end_time: float | None = None
    runs_per_s: float = 0.0
    eta_s: float = 0.0
    failures: tuple = ()          # ({"parameters": {axis: value}, "error": text}, ...)
    deleted: bool = False

    @property
    def terminal(self) -> bool:
        return st.is_terminal(self.state)


@dataclass(frozen=True)
class NewJob:
    """What :meth:`JobTable.insert` needs to create a QUEUED job."""

    id: str
    client: str
    request_id: str
    spec_json: str
    spec_sha256: str
    chunks_total: int
    duration_ms: float
    plan: dict
    variables: tuple[str, ...]
    labels: dict = field(default_factory=dict)


class JobTable(DesignRows):
    """The jobs, sweeps and designs of one server, in ``<data>/jobs.sqlite``."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=30.0)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")   # WAL + NORMAL: a commit survives a killed process
        self._db.executescript(_SCHEMA + DESIGN_SCHEMA)
        for table, column, decl in _ADDED:
            have = {r["name"] for r in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------ jobs

    def insert(self, new: NewJob, *, now: float | None = None) -> JobRecord:
        """Add a QUEUED job; raises ``sqlite3.IntegrityError`` when ``(client, request_id)`` is taken."""
        self._db.execute(
            "INSERT INTO jobs (id, client, request_id, spec_json, spec_sha256, labels_json, state, create_time, "
            "chunks_total, duration_ms, plan_json, variables_json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (new.id, new.client, new.request_id or None, new.spec_json, new.spec_sha256,
             json.dumps(new.labels, sort_keys=True), st.QUEUED, time.time() if now is None else now,
             new.chunks_total, new.duration_ms, json.dumps(new.plan), json.dumps(list(new.variables))))
        return self.get(new.id)

    def get(self, job_id: str) -> JobRecord | None:
        row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else _job(row)

    def find_request(self, client: str, request_id: str) -> JobRecord | None:
        row = self._db.execute("SELECT * FROM jobs WHERE client = ? AND request_id = ?",
                               (client, request_id)).fetchone()
        return None if row is None else _job(row)

    def transition(self, job_id: str, target: str, *, error: str | None = None,
                   now: float | None = None) -> JobRecord | None:
        """Move a job to ``target`` if its state allows it; None (and no change) otherwise."""
        now = time.time() if now is None else now
        sets = ["state = ?", "version = version + 1"]
        args: list = [target]
        if target == st.RUNNING:
            sets.append("start_time = COALESCE(start_time, ?)")
            args.append(now)
        if st.is_terminal(target):
            sets += ["end_time = ?", "eta_s = 0"]
            args.append(now)
        if error is not None:
            sets.append("error = ?")
            args.append(error)
        froms = st.sources(target)
        cur = self._db.execute(
            f"UPDATE jobs SET {', '.join(sets)} WHERE id = ? AND deleted = 0 AND state IN "
            f"({', '.join('?' * len(froms))})", (*args, job_id, *froms))
        return self.get(job_id) if cur.rowcount else None

    def progress(self, job_id: str, *, chunks_committed: int, simulated_ms: float, cell_steps_per_s: float,
                 eta_s: float) -> JobRecord | None:
        """Record progress of a RUNNING job; None (and no change) in any other state."""
        cur = self._db.execute(
            "UPDATE jobs SET chunks_committed = ?, simulated_ms = ?, cell_steps_per_s = ?, eta_s = ?, "
            "version = version + 1 WHERE id = ? AND state = ? AND deleted = 0",
            (chunks_committed, simulated_ms, cell_steps_per_s, eta_s, job_id, st.RUNNING))
        return self.get(job_id) if cur.rowcount else None

    def mark_deleted(self, job_id: str) -> JobRecord | None:
        """Turn a terminal job into a tombstone (its row stays so that its id is known as deleted)."""
        terminal = tuple(st.TERMINAL)
        cur = self._db.execute(
            f"UPDATE jobs SET deleted = 1, version = version + 1 WHERE id = ? AND deleted = 0 AND state IN "
            f"({', '.join('?' * len(terminal))})", (job_id, *terminal))
        return self.get(job_id) if cur.rowcount else None

    def page(self, client: str, *, after_seq: int = 0, limit: int = 50, state: str | None = None,
             labels: dict | None = None) -> list[JobRecord]:
        """The client's jobs after ``after_seq`` in submission order (deleted ones left out)."""
        out: list[JobRecord] = []
        where = "client = ? AND deleted = 0 AND seq > ?" + (" AND state = ?" if state else "")
        cursor = after_seq
        while len(out) < limit:
            args = [client, cursor] + ([state] if state else [])
            rows = self._db.execute(f"SELECT * FROM jobs WHERE {where} ORDER BY seq LIMIT ?",
                                    (*args, 4 * limit)).fetchall()
            if not rows:
                break
            for row in rows:
                rec = _job(row)
                cursor = rec.seq
                if labels and any(rec.labels.get(k) != v for k, v in labels.items()):
                    continue
                out.append(rec)
                if len(out) == limit:
                    break
        return out

    def count(self, *, client: str | None = None, state: str) -> int:
        if client is None:
            return self._db.execute("SELECT COUNT(*) FROM jobs WHERE state = ? AND deleted = 0", (state,)).fetchone()[0]
        return self._db.execute("SELECT COUNT(*) FROM jobs WHERE client = ? AND state = ? AND deleted = 0",
                                (client, state)).fetchone()[0]

    def in_state(self, state: str, *, limit: int | None = None) -> list[JobRecord]:
        """Jobs in ``state``, oldest first."""
        sql = "SELECT * FROM jobs WHERE state = ? AND deleted = 0 ORDER BY seq"
        rows = self._db.execute(sql + (" LIMIT ?" if limit else ""), (state, limit) if limit else (state,))
        return [_job(r) for r in rows.fetchall()]

    def next_queued(self, *, after_seq: int = 0) -> JobRecord | None:
        row = self._db.execute("SELECT * FROM jobs WHERE state = ? AND deleted = 0 AND seq > ? ORDER BY seq LIMIT 1",
                               (st.QUEUED, after_seq)).fetchone()
        return None if row is None else _job(row)

    def all_ids(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT id FROM jobs UNION SELECT id FROM sweeps "
                                               "UNION SELECT id FROM designs")}

    # ------------------------------------------------------------ sweeps

    def insert_sweep(self, *, sweep_id: str, client: str, request_id: str, spec_json: str, spec_sha256: str,
                     runs_total: int, now: float | None = None) -> SweepRecord:
        self._db.execute(
            "INSERT INTO sweeps (id, client, request_id, spec_json, spec_sha256, state, create_time, runs_total) "
            "VALUES (?,?,?,?,?,?,?,?)",
            (sweep_id, client, request_id or None, spec_json, spec_sha256, st.QUEUED,
             time.time() if now is None else now, runs_total))
        return self.get_sweep(sweep_id)

    def get_sweep(self, sweep_id: str) -> SweepRecord | None:
        row = self._db.execute("SELECT * FROM sweeps WHERE id = ?", (sweep_id,)).fetchone()
        return None if row is None else _sweep(row)

    def find_sweep_request(self, client: str, request_id: str) -> SweepRecord | None:
        row = self._db.execute("SELECT * FROM sweeps WHERE client = ? AND request_id = ?",
                               (client, request_id)).fetchone()
        return None if row is None else _sweep(row)

    def sweep_transition(self, sweep_id: str, target: str, *, error: str | None = None,
                         now: float | None = None) -> SweepRecord | None:
        froms = st.sources(target)
        sets, args = ["state = ?", "version = version + 1"], [target]
        if st.is_terminal(target):
            sets += ["end_time = ?", "eta_s = 0"]
            args.append(time.time() if now is None else now)
        if error is not None:
            sets.append("error = ?")
            args.append(error)
        cur = self._db.execute(f"UPDATE sweeps SET {', '.join(sets)} WHERE id = ? AND deleted = 0 AND state IN "
                               f"({', '.join('?' * len(froms))})", (*args, sweep_id, *froms))
        return self.get_sweep(sweep_id) if cur.rowcount else None

    def sweep_progress(self, sweep_id: str, *, runs_done: int, runs_failed: int, runs_per_s: float = 0.0,
                       eta_s: float = 0.0, failure: dict | None = None) -> SweepRecord | None:
        """Record a RUNNING sweep's progress (and a failed run, once per point); None in any other state."""
        rec = self.get_sweep(sweep_id)
        if rec is None or rec.state != st.RUNNING or rec.deleted:
            return None
        failures = list(rec.failures)
        if failure is not None:
            failures = [f for f in failures if f["parameters"] != failure["parameters"]] + [failure]
        cur = self._db.execute("UPDATE sweeps SET runs_done = ?, runs_failed = ?, runs_per_s = ?, eta_s = ?, "
                               "failures_json = ?, version = version + 1 WHERE id = ? AND state = ? AND deleted = 0",
                               (runs_done, runs_failed, runs_per_s, eta_s, json.dumps(failures), sweep_id, st.RUNNING))
        return self.get_sweep(sweep_id) if cur.rowcount else None

    def mark_sweep_deleted(self, sweep_id: str) -> SweepRecord | None:
        terminal = tuple(st.TERMINAL)
        cur = self._db.execute(
            f"UPDATE sweeps SET deleted = 1, version = version + 1 WHERE id = ? AND deleted = 0 AND state IN "
            f"({', '.join('?' * len(terminal))})", (sweep_id, *terminal))
        return self.get_sweep(sweep_id) if cur.rowcount else None

    def sweep_page(self, client: str, *, after_seq: int = 0, limit: int = 50,
                   state: str | None = None) -> list[SweepRecord]:
        """The client's sweeps after ``after_seq`` in submission order (deleted ones left out)."""
        where = "client = ? AND deleted = 0 AND seq > ?" + (" AND state = ?" if state else "")
        args = [client, after_seq] + ([state] if state else [])
        rows = self._db.execute(f"SELECT * FROM sweeps WHERE {where} ORDER BY seq LIMIT ?", (*args, limit))
        return [_sweep(r) for r in rows.fetchall()]

    def sweeps_in(self, state: str) -> list[SweepRecord]:
        rows = self._db.execute("SELECT * FROM sweeps WHERE state = ? AND deleted = 0 ORDER BY seq",
                                (state,)).fetchall()
        return [_sweep(r) for r in rows]


def _job(row: sqlite3.Row) -> JobRecord:
    return JobRecord(
        seq=row["seq"], id=row["id"], client=row["client"], request_id=row["request_id"] or "",
        spec_json=row["spec_json"], spec_sha256=row["spec_sha256"], labels=json.loads(row["labels_json"]),
        state=row["state"], error=row["error"], create_time=row["create_time"], start_time=row["start_time"],
        end_time=row["end_time"], chunks_committed=row["chunks_committed"], chunks_total=row["chunks_total"],
        simulated_ms=row["simulated_ms"], duration_ms=row["duration_ms"], cell_steps_per_s=row["cell_steps_per_s"],
        eta_s=row["eta_s"], plan=json.loads(row["plan_json"]), variables=tuple(json.loads(row["variables_json"])),
        deleted=bool(row["deleted"]), version=row["version"])


def _sweep(row: sqlite3.Row) -> SweepRecord:
    return SweepRecord(
        seq=row["seq"], id=row["id"], client=row["client"], request_id=row["request_id"] or "",
        spec_json=row["spec_json"], spec_sha256=row["spec_sha256"], state=row["state"], error=row["error"],
        create_time=row["create_time"], runs_total=row["runs_total"], runs_done=row["runs_done"],
        runs_failed=row["runs_failed"], version=row["version"], end_time=row["end_time"],
        runs_per_s=row["runs_per_s"], eta_s=row["eta_s"], failures=tuple(json.loads(row["failures_json"])),
        deleted=bool(row["deleted"]))
