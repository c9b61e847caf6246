"""The runner's bookkeeping beside a job's Zarr store: identity, checkpoints and commit records.

Layout (``<store>.runner/`` by default)::

    job.json                  what job the store holds: spec, chunk plan, state shape, initial state
    state-<step>.npz          checkpoint: the full solver state and every tracker's state after a committed chunk
    records/init.json         the store chunks written when the job was created, with their CRC32C
    records/chunk-<k>.json    the store chunks chunk k wrote, with their CRC32C
    commit.json               the last committed chunk: {"chunk", "step", "checkpoint", "checkpoint_sha256", ...}
    owner.json                the attempt now running the job (a token); chunks of older attempts stop

A chunk is committed in this order: its output into the store, its record, its checkpoint, then
``commit.json``, which names the checkpoint and its SHA-256; each file is written to a temporary name and renamed, so a process killed at
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

from solver.engine.run import State

JOB_FILE = "job.json"
COMMIT_FILE = "commit.json"
OWNER_FILE = "owner.json"
FORMAT_VERSION = 2
RECORDS = "records"
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
    checkpoint_sha256: str = ""
    compute_s: float = 0.0     # seconds the chunk's advance took
    committed_at: float = 0.0  # wall clock (Unix time)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def checkpoint_name(step: int) -> str:
    return f"state-{step:012d}.npz"


class IntegrityError(RuntimeError):
    """A checkpoint or record does not match the checksum its commit recorded."""


def write_checkpoint(runner_dir: Path, step: int, data: bytes) -> tuple[str, str]:
    """Store a checkpoint's bytes; return its file name and SHA-256."""
    name = checkpoint_name(step)
    atomic_write(runner_dir / name, data)
    return name, sha256(data)


def read_checkpoint_bytes(runner_dir: Path, commit: "Commit") -> bytes:
    """The checkpoint a commit names, checked against the SHA-256 the commit recorded.

    Raises
    ------
    IntegrityError
        Naming the file, when its bytes changed since the commit (a damaged or rewritten checkpoint is never
        continued from).
    """
    path = runner_dir / commit.checkpoint
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise IntegrityError(f"checkpoint {path} named by the last commit is missing") from None
    if commit.checkpoint_sha256 and sha256(data) != commit.checkpoint_sha256:
        raise IntegrityError(f"checkpoint {path} does not match the SHA-256 recorded when chunk {commit.chunk} "
                             f"committed (found {sha256(data)[:16]}..., recorded {commit.checkpoint_sha256[:16]}...); "
                             "it was changed after it was written: the job cannot continue from it")
    return data


def read_checkpoint(runner_dir: Path, name: str) -> State:
    return State.from_bytes((runner_dir / name).read_bytes())


def record_name(chunk: int | None) -> str:
    """``records/init.json`` (``chunk`` None) or ``records/chunk-<k>.json``."""
    return f"{RECORDS}/init.json" if chunk is None else f"{RECORDS}/chunk-{chunk:06d}.json"


def write_record(runner_dir: Path, chunk: int | None, written: dict[str, int]) -> None:
    """Record the store chunks (keys and CRC32C) the job's creation (None) or chunk ``chunk`` wrote."""
    (runner_dir / RECORDS).mkdir(exist_ok=True)
    write_json(runner_dir / record_name(chunk), {"chunk": -1 if chunk is None else chunk, "written": written})


def read_record(runner_dir: Path, chunk: int | None) -> dict[str, int]:
    d = read_json(runner_dir / record_name(chunk))
    if d is None:
        raise IntegrityError(f"{runner_dir / record_name(chunk)} is missing: the store chunks of "
                             f"{'the job creation' if chunk is None else f'chunk {chunk}'} are not recorded")
    return {k: int(v) for k, v in d["written"].items()}


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
