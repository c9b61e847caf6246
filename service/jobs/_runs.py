"""Running a job or a sweep in a driver thread: the runner does the work (on Dask or here).

A job asked to stop (cancelled, or the server shutting down) stops within one chunk: a flag file
beside its store is checked by every chunk task before it starts (on whichever worker it runs),
and the driver stops following the chain after the chunk in flight commits.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from service.runner import Progress, RunnerError, open_job
from solver.spec import SpecError

#: Attempts at a job whose chain broke (e.g. a worker lost too often); each resumes from the last commit.
ATTEMPTS = 2


class StopRequested(RuntimeError):
    """Raised in a chunk task that must not start: its job was asked to stop."""


class DiskFull(RuntimeError):
    """Raised in a chunk task that must not start: the data disk is below the server's reserve."""


@dataclass(frozen=True)
class StopFlag:
    """The runner's chunk hook: refuse to start a chunk once ``path`` exists, or while the disk that holds
    it has less than ``reserve_bytes`` free (picklable: it runs on whichever worker takes the chunk)."""

    path: str
    reserve_bytes: int = 0

    def __call__(self, chunk: int, stage: str) -> None:
        if stage != "start":
            return
        if os.path.exists(self.path):
            raise StopRequested(f"chunk {chunk} not started: the job was asked to stop")
        if self.reserve_bytes > 0:
            free = shutil.disk_usage(os.path.dirname(self.path)).free
            if free < self.reserve_bytes:
                raise DiskFull(f"chunk {chunk} not started: the data disk has {free / 2**30:.2f} GiB free, below the "
                               f"server's reserve of {self.reserve_bytes / 2**30:.2f} GiB (--disk-reserve-gib); "
                               f"chunks 0..{chunk - 1} are kept: free space and submit the spec again")


@dataclass(frozen=True)
class Outcome:
    kind: str          # "done", "stopped" or "failed"
    error: str = ""


def finite(x: float) -> float:
    return float(x) if x is not None and math.isfinite(x) else 0.0


def drive_job(spec_json: str, store: Path, *, client, stop_file: Path, stop: threading.Event,
              on_open: Callable[[int], None], on_progress: Callable[[Progress], None], job=None,
              disk_reserve_bytes: int = 0) -> Outcome:
    """Open (or resume) the job's store and run its remaining chunks; never raises.

    ``job`` is the job as submit prepared it (spec parsed and rasterised once); without it (a job resumed
    after a restart) the stored spec is read once here. A chunk that cannot be written (a full disk, a worker
    lost for good) ends the job "failed" with the cause.
    """
    for attempt in range(ATTEMPTS):
        if stop.is_set():
            return Outcome("stopped")
        if job is None:
            try:
                job = open_job(json.loads(spec_json), store)
            except (SpecError, RunnerError, OSError) as exc:
                return Outcome("failed", f"cannot open the job's store: {exc}")
        on_open(job.next_chunk)
        events = job.events(client, hook=StopFlag(str(stop_file), disk_reserve_bytes))
        try:
            for progress in events:
                on_progress(progress)
                if stop.is_set():
                    return Outcome("stopped")
            return Outcome("done")
        except StopRequested:
            return Outcome("stopped")
        except DiskFull as exc:
            return Outcome("failed", str(exc))
        except OSError as exc:
            return Outcome("failed", f"a chunk could not be written: {exc}")
        except RunnerError as exc:
            if attempt + 1 < ATTEMPTS and not stop.is_set():
                continue
            return Outcome("failed", str(exc))
        except Exception as exc:  # noqa: BLE001 - a failed job is a state, not a crash of the server
            return Outcome("failed", f"{type(exc).__name__}: {exc}")
        finally:
            events.close()
    return Outcome("failed", "the job could not be run")  # pragma: no cover


def drive_sweep(sweep, store: Path, *, client, stop: threading.Event, stop_file: Path,
                on_progress: Callable) -> Outcome:
    """Run a sweep's remaining runs (a re-run skips the runs already done) and write its summary.

    ``on_progress(event)`` gets each finished run's :class:`service.sweep.SweepProgress`. Once ``stop`` is set the
    driver stops following the runs; a cancelled sweep (``stop_file`` present) has its runs in progress stop
    within a chunk, its queued runs never start, and the summary of the runs that finished is written.
    """
    from service.sweep import iter_sweep, load_sweep, summarise

    try:
        spec = load_sweep(sweep)
        events = iter_sweep(spec, store, client=client, stop_file=str(stop_file))
        stopped = False
        try:
            for event in events:
                if event.status != "cancelled":
                    on_progress(event)
                if stop.is_set() or event.status == "cancelled":
                    stopped = True
                    break
        finally:
            events.close()
        if stopped or stop.is_set():
            if stop_file.exists():
                summarise(spec, store)
            return Outcome("stopped")
        summarise(spec, store)
        return Outcome("done")
    except Exception as exc:  # noqa: BLE001
        return Outcome("failed", f"{type(exc).__name__}: {exc}")
