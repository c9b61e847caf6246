"""A server's result store copied into a local one, stored chunk by stored chunk (``Job.result``)."""
from __future__ import annotations

import json
import logging
import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import google_crc32c

from optowave.v1 import service_pb2

MiB = 2**20
log = logging.getLogger("optowave.client")


@dataclass
class FetchReport:
    """How a fetch (``Job.result``) got its time chunks: ``Job.fetch_report`` after the call."""

    bulk_chunks: int = 0            # time chunks read over the bulk channel
    bulk_bytes: int = 0             # their stored bytes
    bulk_seconds: float = 0.0       # time the bulk transfers took (connection, files in place, checks)
    stream_chunks: int = 0          # time chunks read from the gRPC stream
    bulk_failures: list[str] = field(default_factory=list)   # why a bulk transfer stopped (then: the stream)


class _Resync(Exception):
    """A piece failed its checksum or came out of order: ask again from the first missing chunk."""


#: Checksum failures or out-of-order pieces tolerated in one fetch (each re-asks from the first missing chunk).
MAX_RESYNCS = 5


class _StoreWriter:
    """Copies a server's result store into a local one (:mod:`optowave.store`), stored chunk by stored chunk.

    The bytes of each stored chunk are written unchanged under their key once their CRC32C checks. The writes,
    the laying out of a new store and the bookkeeping run on one writer thread, in the order the stream gave
    them, while the receiving thread goes on taking messages (also across time chunks: a ``ChunkSent`` marker
    queues its time chunk's commit behind its writes); at most :data:`WRITES_IN_FLIGHT` bytes wait to be
    written. A time chunk counts as fetched once its writes are done, and that count is kept in
    ``<store>.fetch.json`` so that a later call resumes. The last time chunk marks the local store complete.
    Use it as a context manager.
    """

    def __init__(self, path: Path, job_id: str):
        from optowave.store import DirectoryStore

        self.path, self.job_id = path, job_id
        self.state_file = path.with_name(path.name + ".fetch.json")
        state = json.loads(self.state_file.read_text()) if self.state_file.exists() else None
        if state is not None and state.get("job_id") != job_id:
            raise ValueError(f"{path} holds the result of job {state.get('job_id')}, not {job_id}; choose another path")
        if state is None and path.exists() and any(path.iterdir()):
            raise ValueError(f"{path} exists and is not a result fetched from a server; choose another path")
        self.store = DirectoryStore(path)
        self.next_chunk = state["next_chunk"] if state else 0     # time chunks fetched (whose writes are done)
        self.chunks_total = state.get("chunks_total", 0) if state else 0
        self._laid_out = bool(state and state.get("laid_out"))
        self._layout = None                 # the layout of a new store, to be written (:meth:`_start_layout`)
        self._headed = False                # a header was taken (the stream's layout is known)
        self._receiving = self.next_chunk   # the time chunk the stream is sending
        self._key: str | None = None        # the stored chunk being received, its pieces, their bytes and CRC32C
        self._parts: list[bytes] = []
        self._got = 0
        self._crc = 0
        self._pool = None
        self._writes: deque = deque()       # (future, bytes) of the writes and commits in flight, oldest first
        self._in_flight = 0
        self._committed: deque = deque()    # time chunks committed by the writer thread, not yet reported
        self._failed: BaseException | None = None
        self.offer: service_pb2.BulkOffer | None = None   # a bulk offer the stream ended with, not yet taken
        self.report = FetchReport()

    def __enter__(self) -> "_StoreWriter":
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(1, thread_name_prefix="optowave-fetch")
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.settle()
            if self._laid_out and self.next_chunk < self.chunks_total:
                self.store.consolidate()      # a partial copy opens too (complete: finish() consolidated it)
        finally:
            self._pool.shutdown(wait=True)
            self._pool = None

    def settle(self) -> None:
        """Wait for the writes and commits in flight (raising the first error of one); the stream then goes
        on from :attr:`next_chunk`."""
        self._start_layout()
        try:
            while self._writes:
                self._writes[0][0].result()
                self._writes.popleft()
        finally:
            self._writes.clear()
            self._in_flight = 0
            self._receiving = self.next_chunk
            self._key, self._parts, self._got = None, [], 0

    def completed(self) -> list[int]:
        """The time chunks that became complete here since the last call, in order."""
        out = []
        while self._committed:
            out.append(self._committed.popleft())
        return out

    def take(self, message: service_pb2.StreamResultsResponse) -> list[int]:
        """Take one message of the stream; returns the time chunks that became complete here meanwhile."""
        kind = message.WhichOneof("kind")
        if kind == "header":
            self.settle()
            self.chunks_total = message.header.chunks_total
            self._headed = True
            if self._laid_out:
                self._lay_out(message.header.layout)
                self._save()
            else:       # a new store is laid out on the writer thread while the first chunks arrive
                from optowave.store import from_proto

                self._layout = from_proto(message.header.layout)
                self.store.clear()          # here, so that files may arrive while the documents are written
        elif kind == "added":
            self.settle()                   # the new arrays' metadata is written while no write is in flight
            self._lay_out(message.added)
        elif kind in ("stored", "chunk_sent"):
            self._start_layout()            # queued before the first chunk's writes
            if kind == "stored":
                self._stored(message.stored)
            else:
                self._chunk_sent(message.chunk_sent)
        elif kind == "bulk":
            if not self._headed:
                raise _Resync("a bulk offer arrived before the header")
            self.offer = message.bulk
        else:
            raise _Resync(f"a {kind!r} message is not part of a job's result stream")
        return self.completed()

    def take_bulk(self, host: str) -> bool:
        """Read the time chunks of the bulk offer the stream ended with (:attr:`offer`) over the bulk channel of
        ``host`` into the store (:mod:`._bulk`), counting each once its files check. Returns False when the
        transfer stopped short (why: :attr:`report`); the stream then carries what is missing (and rewrites
        any file a failed time chunk left)."""
        from ._bulk import BulkFailed, connect, receive

        offer, self.offer = self.offer, None
        first = offer.chunks[0].chunk_index if offer.chunks else None
        if first != self.next_chunk:        # (a stream that ends with an offer carries no chunks before it)
            self.settle()
            self.report.bulk_failures.append(f"an offer from time chunk {first} came while {self.next_chunk} was "
                                             "wanted")
            return False
        sizes = {c.chunk_index: sum(f.size for f in c.files) for c in offer.chunks}
        t0 = time.perf_counter()
        settled = False
        try:
            # the files arrive while the writer thread may still be laying out a new store (its documents and
            # the chunk files are different files; the store was cleared before): no wait for it here
            sock = connect(host, offer)
            # the documents are written while this thread waits in the kernel for the files (queued while the
            # offer was read, the writer thread's Python work would hold the GIL from this one)
            self._start_layout()
            for k in receive(sock, offer, self.path):
                if k != self.next_chunk:
                    raise BulkFailed(f"the offer's time chunk {k} came where {self.next_chunk} was wanted")
                if not settled:             # a time chunk counts once the store is laid out
                    self.settle()
                    settled = True
                self._commit(k, bulk=True, save=False)
                self.report.bulk_bytes += sizes[k]
        except (BulkFailed, OSError) as exc:
            if self._failed is not None:    # the local store's own write failed: that, not the transfer, is why
                raise self._failed from None
            why = f"{host}:{offer.port}: {exc}"
            log.info("bulk transfer of job %s stopped at time chunk %d (%s); the stream takes over", self.job_id,
                     self.next_chunk, why)
            self.report.bulk_failures.append(why)
            return False
        finally:
            self.report.bulk_seconds += time.perf_counter() - t0
            self._start_layout()
            self._drain()
            # the resume state is written once per offer (time chunks arrive faster than it is written); a fetch
            # stopped in between asks again for the time chunks since the last state, which is safe
            self._save()
        return True

    def _start_layout(self) -> None:
        """Queue the writing of a new store's layout on the writer thread, if it waits to be."""
        if self._layout is not None:
            layout, self._layout = self._layout, None
            self._submit(self._create, 0, layout)

    def _drain(self) -> None:
        """Wait until the writer thread has run what is queued (its errors are raised by :meth:`settle`)."""
        from concurrent.futures import wait

        wait([future for future, _ in self._writes])

    def _lay_out(self, msg) -> None:
        from optowave.store import from_proto

        layout = from_proto(msg)
        have = {a.name: a for a in self.store.layout().arrays}
        for a in layout.arrays:
            old = have.get(a.name)
            if old is not None and (old.dims, old.shape, old.chunks, old.dtype) != (a.dims, a.shape, a.chunks, a.dtype):
                raise ValueError(f"{self.path} was laid out for a different store than job {self.job_id} now sends "
                                 f"(array {a.name!r})")
        new = [a for a in layout.arrays if a.name not in have]
        if new:
            self.store.add_arrays(new)

    def _stored(self, c: service_pb2.StoredChunk) -> None:
        if not self._headed or c.chunk_index != self._receiving:
            raise _Resync(f"a stored chunk of time chunk {c.chunk_index} arrived, {self._receiving} was expected")
        if c.byte_offset == 0:
            self._key, self._parts, self._got, self._crc = c.key, [], 0, 0
        if c.key != self._key or c.byte_offset != self._got:
            raise _Resync(f"chunk {c.key}: a piece at byte {c.byte_offset} arrived out of order")
        piece = c.data                      # each read of a bytes field is a copy: read it once
        self._parts.append(piece)
        self._got += len(piece)
        self._crc = google_crc32c.extend(self._crc, piece)
        if self._got < c.total_bytes:
            return
        parts, crc = self._parts, self._crc
        self._key, self._parts, self._got = None, [], 0
        if sum(map(len, parts)) != c.total_bytes or crc != c.crc32c:
            raise _Resync(f"chunk {c.key}: CRC32C mismatch in transit")
        # the pieces are written one after another: joining them would copy every byte once more
        self._submit(self.store.put_chunk, c.total_bytes, c.key, parts)

    def _chunk_sent(self, m: service_pb2.ChunkSent) -> None:
        if m.chunk_index != self._receiving or self._key is not None:
            raise _Resync(f"time chunk {m.chunk_index} ended, {self._receiving} was being received")
        self._receiving += 1
        self._submit(self._commit, 0, m.chunk_index)

    def _submit(self, fn, nbytes: int, *args) -> None:
        """Queue ``fn(*args)`` on the writer thread (run in place without one); wait while more than
        :data:`WRITES_IN_FLIGHT` bytes are queued."""
        if self._pool is None:
            fn(*args)
            return
        self._writes.append((self._pool.submit(self._guarded, fn, *args), nbytes))
        self._in_flight += nbytes
        while self._writes and (self._in_flight > WRITES_IN_FLIGHT or self._writes[0][0].done()):
            future, n = self._writes.popleft()
            self._in_flight -= n
            future.result()

    def _guarded(self, fn, *args) -> None:
        """On the writer thread: after a failed write nothing more runs (no later time chunk is counted)."""
        if self._failed is not None:
            raise self._failed
        try:
            fn(*args)
        except BaseException as exc:
            self._failed = exc
            raise

    def _create(self, layout) -> None:
        self.store.create(layout, clear=False)      # cleared when the header came (:meth:`take`)
        self._laid_out = True
        self._save()

    def _commit(self, k: int, *, bulk: bool = False, save: bool = True) -> None:
        """Time chunk ``k`` is fetched: its writes (queued before) are done."""
        self.next_chunk = k + 1
        if bulk:
            self.report.bulk_chunks += 1
        else:
            self.report.stream_chunks += 1
        if self.next_chunk >= self.chunks_total:
            self.store.finish()
        if save:
            self._save()
        self._committed.append(k)

    def _save(self) -> None:
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        tmp.write_text(json.dumps({"job_id": self.job_id, "next_chunk": self.next_chunk,
                                   "chunks_total": self.chunks_total, "laid_out": self._laid_out}))
        os.replace(tmp, self.state_file)


#: Bytes of received chunks a fetch holds while they wait to be written (the receiving thread then waits).
WRITES_IN_FLIGHT = 64 * MiB
