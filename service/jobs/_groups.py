"""What sweeps and designs share on the server: objects made of many runs, each driven by one task.

Each has a directory ``<data>/<kind>s/<id>/`` (its runs and results, and a ``stop`` file once it is cancelled,
which the runs on the workers look for), a row in the job table, and a driver task while it runs. After a
restart a sweep or design that was queued or running starts again; its runs recorded already are not run again.
"""
from __future__ import annotations

import asyncio
import logging
import re
import shutil
import threading
from pathlib import Path

from . import _states as st
from ._errors import Deleted, NotFound, NotTerminal, RequestConflict, ShuttingDown

log = logging.getLogger("optowave.jobs")

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class RunGroups:
    """The sweeps (or designs) of one server. Subclasses name the ``kind`` and the table's methods, and
    implement ``_run(rec, stop)``."""

    kind = ""
    #: JobTable methods: get, find by request, transition, mark deleted, page, rows in a state.
    _get = _find = _transition = _mark_deleted = _page = _in_state = None

    def __init__(self, jobs):
        self.jobs = jobs
        self._active: dict[str, tuple[threading.Event, asyncio.Task]] = {}

    def dir(self, ident: str) -> Path:
        return self.jobs.data_dir / f"{self.kind}s" / ident

    def stop_file(self, ident: str) -> Path:
        return self.dir(ident) / "stop"

    async def start(self) -> None:
        for state in (st.RUNNING, st.QUEUED):
            for rec in await self.jobs.db(type(self)._in_state, state):
                self._launch(rec)

    async def stop(self) -> None:
        for stop, _ in self._active.values():
            stop.set()
        tasks = [t for _, t in self._active.values()]
        if tasks:
            await asyncio.wait(tasks, timeout=30)

    async def existing(self, client: str, request_id: str, sha: str):
        """The object this client made with ``request_id`` (the same spec), or None."""
        if self.jobs.draining:
            raise ShuttingDown("the server is shutting down; submit again once it is back")
        from ._manager import MAX_REQUEST_ID

        if len(request_id) > MAX_REQUEST_ID:
            from ._errors import BadArgument

            raise BadArgument("request_id", f"{len(request_id)} characters; at most {MAX_REQUEST_ID} allowed")
        if not request_id:
            return None
        rec = await self.jobs.db(type(self)._find, client, request_id)
        if rec is None:
            return None
        if rec.spec_sha256 != sha:
            raise RequestConflict(request_id, rec.id, f"was already used for {self.kind} {rec.id} with another spec")
        if rec.deleted:
            raise RequestConflict(request_id, rec.id, f"belongs to {self.kind} {rec.id}, which was deleted")
        return rec

    async def get(self, client: str, ident: str):
        """The client's object; :class:`NotFound` for an unknown id or another client's."""
        rec = await self.jobs.db(type(self)._get, ident) if _ID.match(ident or "") else None
        if rec is None or rec.client != client:
            raise NotFound(self.kind, ident)
        if rec.deleted:
            raise Deleted(ident, self.kind)
        return rec

    async def list(self, client: str, *, page_size: int = 0, page_token: str = "", state: str | None = None):
        from ._manager import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, _decode_token, _encode_token

        size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        page = await self.jobs.db(type(self)._page, client, after_seq=_decode_token(page_token), limit=size,
                                  state=state)
        return page, (_encode_token(page[-1].seq) if len(page) == size else "")

    async def cancel(self, client: str, ident: str):
        """Cancel (a no-op on a terminal object): runs in progress stop within a chunk, queued ones never start."""
        rec = await self.get(client, ident)
        if rec.terminal:
            return rec
        await self.jobs.io(_touch, self.stop_file(ident))
        new = await self.jobs.db(type(self)._transition, ident, st.CANCELLED)
        active = self._active.get(ident)
        if active is not None:
            active[0].set()
        if new is not None:
            self.jobs.publish(new)
            log.info("%s %s cancelled", self.kind, ident)
            return new
        return await self.get(client, ident)

    async def settled(self, ident: str, timeout: float = 60.0) -> None:
        """Wait for the driver of a cancelled object to finish writing what it keeps."""
        active = self._active.get(ident)
        if active is not None:
            await asyncio.wait([active[1]], timeout=timeout)

    async def delete(self, client: str, ident: str) -> None:
        """Forget a terminal object and remove its files (its id stays known as deleted)."""
        rec = await self.get(client, ident)
        if not rec.terminal:
            raise NotTerminal(ident, rec.state, self.kind)
        await self.settled(ident)
        new = await self.jobs.db(type(self)._mark_deleted, ident)
        await self.jobs.io(shutil.rmtree, self.dir(ident), ignore_errors=True)
        if new is not None:
            self.jobs.publish(new)

    def _launch(self, rec) -> None:
        stop = threading.Event()
        task = asyncio.create_task(self._guarded(rec, stop), name=f"optowave-{self.kind}-{rec.id}")
        self._active[rec.id] = (stop, task)

    async def _guarded(self, rec, stop: threading.Event) -> None:
        try:
            await self._run(rec, stop)
        except Exception:  # noqa: BLE001 - a driver's own bug must not leave the object RUNNING unseen
            log.exception("%s %s: driver failed", self.kind, rec.id)
        finally:
            self._active.pop(rec.id, None)

    async def _running(self, rec):
        """Move a QUEUED object to RUNNING (None when it was cancelled meanwhile)."""
        if rec.state == st.QUEUED:
            rec = await self.jobs.db(type(self)._transition, rec.id, st.RUNNING)
            if rec is not None:
                self.jobs.publish(rec)
        return rec

    async def _finish(self, ident: str, outcome, **extra) -> None:
        """Record a driver's outcome: done -> SUCCEEDED, failed -> FAILED (not while draining: it resumes)."""
        new = None
        if outcome.kind == "done":
            new = await self.jobs.db(type(self)._transition, ident, st.SUCCEEDED, **extra)
        elif outcome.kind == "failed" and not self.jobs.draining:
            log.warning("%s %s failed: %s", self.kind, ident, outcome.error)
            new = await self.jobs.db(type(self)._transition, ident, st.FAILED, error=outcome.error)
        if new is not None:
            self.jobs.publish(new)

    async def _run(self, rec, stop: threading.Event) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def _touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
