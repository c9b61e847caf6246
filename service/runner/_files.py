"""The runner's bookkeeping beside a job's Zarr store: identity, checkpoints and commit records.

Layout (``<store>.runner/`` by default)::

    job.json                  what job the store holds: spec, chunk plan, state shape, initial state
    state-<step>.npz          checkpoint: the full solver state after a committed chunk (exact)
    commit.json               the last committed chunk: {"chunk", "step", "checkpoint", ...}
    owner.json                the attempt now running the job (a token); chunks of older attempts stop

A chunk is committed in this order: its samples into the store, then its checkpoint, then
``commit.json``; each file is written to a temporary name and renamed, so a process killed at
any point leaves either the old commit or the new one, and the checkpoint a commit names exists.
The bookkeeping lives beside the store, not inside it, so that the store holds only the result
(Zarr warns about foreign files inside a hierarchy).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from solver.run import State

JOB_FILE = "job.json"
COMMIT_FILE = "commit.json"
OWNER_FILE = "owner.json"
FORMAT_VERSION = 1
_CHECKPOINT = re.compile(r"^state-(\d+)\.npz$")


def runner_dir_for(store: str | os.PathLike) -> Path:
    """The default bookkeeping directory of a store: ``<store>.runner`` beside it."""
    p = Path(store)
    return p.with_name(p.name + ".runner")


def sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (never a half-written file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def write_json(path: Path, obj: dict) -> None:
    atomic_write(path, (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode())


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class Commit:
    """The last committed chunk (``chunk = -1``: none yet; the checkpoint is the initial state)."""

    chunk: int
    step: int
    checkpoint: str
    compute_s: float = 0.0     # seconds the chunk's advance took
    committed_at: float = 0.0  # wall clock (Unix time)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def checkpoint_name(step: int) -> str:
    return f"state-{step:012d}.npz"


def write_checkpoint(runner_dir: Path, state: State) -> str:
    name = checkpoint_name(state.step)
    atomic_write(runner_dir / name, state.to_bytes())
    return name


def read_checkpoint(runner_dir: Path, name: str) -> State:
    return State.from_bytes((runner_dir / name).read_bytes())


def write_commit(runner_dir: Path, commit: Commit) -> None:
    write_json(runner_dir / COMMIT_FILE, commit.to_dict())


def read_commit(runner_dir: Path) -> Commit | None:
    d = read_json(runner_dir / COMMIT_FILE)
    return None if d is None else Commit(**d)


def write_owner(runner_dir: Path) -> str:
    """Make a new attempt the job's owner; return its token."""
    token = uuid.uuid4().hex
    write_json(runner_dir / OWNER_FILE, {"token": token, "pid": os.getpid(), "host": socket.gethostname(),
                                         "started_at": now()})
    return token


def read_owner(runner_dir: Path) -> str | None:
    d = read_json(runner_dir / OWNER_FILE)
    return None if d is None else d.get("token")


def prune(runner_dir: Path, keep: str) -> None:
    """Remove checkpoints and temporary files other than ``keep`` (left by earlier chunks or a kill)."""
    for p in runner_dir.iterdir():
        if (_CHECKPOINT.match(p.name) and p.name != keep) or p.name.endswith(".tmp"):
            try:
                p.unlink()
            except FileNotFoundError:  # another attempt of the same chunk pruned it first
                pass


def now() -> float:
    return time.time()
