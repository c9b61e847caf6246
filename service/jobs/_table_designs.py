"""The design rows of the job table: one row per design search, its state and its progress by round.

Changes go through guarded ``UPDATE`` statements as the jobs' do (:mod:`._table`): a terminal state is
final, progress is recorded only while the design is RUNNING, and each change bumps ``version``.
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass

from . import _states as st

DESIGN_SCHEMA = """
CREATE TABLE IF NOT EXISTS designs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    client TEXT NOT NULL,
    request_id TEXT,
    spec_json TEXT NOT NULL,
    spec_sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    search TEXT NOT NULL,
    state TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    create_time REAL NOT NULL,
    end_time REAL,
    rounds_done INTEGER NOT NULL DEFAULT 0,
    runs_done INTEGER NOT NULL DEFAULT 0,
    progress_json TEXT NOT NULL DEFAULT '{}',
    result_json TEXT NOT NULL DEFAULT '',
    deleted INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 1,
    UNIQUE (client, request_id)
);
"""


@dataclass(frozen=True)
class DesignRecord:
    """One row of the design table (a snapshot)."""

    seq: int
    id: str
    client: str
    request_id: str
    spec_json: str             # canonical JSON of the DesignSpec message
    spec_sha256: str
    name: str
    search: str
    state: str
    error: str
    create_time: float
    end_time: float | None
    rounds_done: int
    runs_done: int
    progress: dict             # rounds_left, brackets, best, best_objective, runs (of the last round)
    result_json: str           # the report's summary once SUCCEEDED
    deleted: bool
    version: int

    @property
    def terminal(self) -> bool:
        return st.is_terminal(self.state)


class DesignRows:
    """Methods of :class:`service.jobs.JobTable` for the ``designs`` table (``self._db``: its connection)."""

    _db: sqlite3.Connection

    def insert_design(self, *, design_id: str, client: str, request_id: str, spec_json: str, spec_sha256: str,
                      name: str, search: str, now: float | None = None) -> DesignRecord:
        self._db.execute(
            "INSERT INTO designs (id, client, request_id, spec_json, spec_sha256, name, search, state, create_time) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            (design_id, client, request_id or None, spec_json, spec_sha256, name, search, st.QUEUED,
             time.time() if now is None else now))
        return self.get_design(design_id)

    def get_design(self, design_id: str) -> DesignRecord | None:
        row = self._db.execute("SELECT * FROM designs WHERE id = ?", (design_id,)).fetchone()
        return None if row is None else _design(row)

    def find_design_request(self, client: str, request_id: str) -> DesignRecord | None:
        row = self._db.execute("SELECT * FROM designs WHERE client = ? AND request_id = ?",
                               (client, request_id)).fetchone()
        return None if row is None else _design(row)

    def design_transition(self, design_id: str, target: str, *, error: str | None = None,
                          result_json: str | None = None, now: float | None = None) -> DesignRecord | None:
        """Move a design to ``target`` if its state allows it; None (and no change) otherwise."""
        froms = st.sources(target)
        sets, args = ["state = ?", "version = version + 1"], [target]
        if st.is_terminal(target):
            sets.append("end_time = ?")
            args.append(time.time() if now is None else now)
        for column, value in (("error", error), ("result_json", result_json)):
            if value is not None:
                sets.append(f"{column} = ?")
                args.append(value)
        cur = self._db.execute(f"UPDATE designs SET {', '.join(sets)} WHERE id = ? AND deleted = 0 AND state IN "
                               f"({', '.join('?' * len(froms))})", (*args, design_id, *froms))
        return self.get_design(design_id) if cur.rowcount else None

    def design_progress(self, design_id: str, *, rounds_done: int, runs_done: int,
                        progress: dict) -> DesignRecord | None:
        """Record a RUNNING design's round; None (and no change) in any other state."""
        cur = self._db.execute(
            "UPDATE designs SET rounds_done = ?, runs_done = ?, progress_json = ?, version = version + 1 "
            "WHERE id = ? AND state = ? AND deleted = 0",
            (rounds_done, runs_done, json.dumps(progress), design_id, st.RUNNING))
        return self.get_design(design_id) if cur.rowcount else None

    def mark_design_deleted(self, design_id: str) -> DesignRecord | None:
        terminal = tuple(st.TERMINAL)
        cur = self._db.execute(
            f"UPDATE designs SET deleted = 1, version = version + 1 WHERE id = ? AND deleted = 0 AND state IN "
            f"({', '.join('?' * len(terminal))})", (design_id, *terminal))
        return self.get_design(design_id) if cur.rowcount else None

    def design_page(self, client: str, *, after_seq: int = 0, limit: int = 50,
                    state: str | None = None) -> list[DesignRecord]:
        where = "client = ? AND deleted = 0 AND seq > ?" + (" AND state = ?" if state else "")
        args = [client, after_seq] + ([state] if state else [])
        rows = self._db.execute(f"SELECT * FROM designs WHERE {where} ORDER BY seq LIMIT ?", (*args, limit))
        return [_design(r) for r in rows.fetchall()]

    def designs_in(self, state: str) -> list[DesignRecord]:
        rows = self._db.execute("SELECT * FROM designs WHERE state = ? AND deleted = 0 ORDER BY seq", (state,))
        return [_design(r) for r in rows.fetchall()]


def _design(row: sqlite3.Row) -> DesignRecord:
    return DesignRecord(
        seq=row["seq"], id=row["id"], client=row["client"], request_id=row["request_id"] or "",
        spec_json=row["spec_json"], spec_sha256=row["spec_sha256"], name=row["name"], search=row["search"],
        state=row["state"], error=row["error"], create_time=row["create_time"], end_time=row["end_time"],
        rounds_done=row["rounds_done"], runs_done=row["runs_done"], progress=json.loads(row["progress_json"]),
        result_json=row["result_json"], deleted=bool(row["deleted"]), version=row["version"])
