"""The bulk channel: stored chunk files sent over plain TCP with ``sendfile``, beside the result stream.

``optowave serve --bulk-listen HOST:PORT`` opens it. A ``StreamResults`` call that asks for it (and that the
server authorised: the caller owns the job) gets a :class:`~optowave.v1.service_pb2.BulkOffer` whose ticket
:meth:`BulkChannel.grant` made here: 32 random bytes bound to that call's list of files, good for one
connection within :attr:`BulkChannel.ticket_s` seconds. A client connects, sends :data:`MAGIC` and the ticket,
and the files follow back to back, each with one ``sendfile`` (the kernel moves the page cache to the socket;
nothing is copied through Python). A connection with anything else (a wrong, used or expired ticket, no ticket
within :data:`HELLO_TIMEOUT_S`) is closed without a byte and logged. The listener and the transfers run on
their own threads: the gRPC server's event loop never waits for them. At most ``max_transfers`` connections
are served at once; one more is closed at once (its client falls back to the stream).

The channel is not encrypted: a TLS server refuses ``--bulk-listen`` (:mod:`._app`).
"""
from __future__ import annotations

import hashlib
import logging
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("optowave.server")

#: What a client sends before its ticket ("optowave bulk", version 1).
MAGIC = b"OWB1"
TICKET_BYTES = 32
#: Seconds a connection has to send its ticket.
HELLO_TIMEOUT_S = 5.0
#: Seconds a transfer may stall (the client stopped reading) before the server gives up on it.
SEND_TIMEOUT_S = 30.0
#: Tickets waiting to be used at once; past this no more are granted (the client gets the plain stream).
MAX_GRANTS = 1024


@dataclass(frozen=True)
class _Grant:
    files: tuple[tuple[Path, int], ...]     # (path, size) in the order they are sent
    expires: float                          # time.monotonic()
    what: str                               # for the log: the job and its first time chunk


@dataclass
class BulkStats:
    """What the channel did since it started (read by tests and benchmarks; logged at stop)."""

    transfers: int = 0          # connections whose files were all sent
    files: int = 0
    bytes: int = 0
    refused: int = 0            # connections closed without a byte (bad, used or expired ticket; over capacity)
    failed: int = 0             # transfers cut short (the client went away, a file changed)


class BulkChannel:
    """The listener of the bulk channel and its tickets (see the module docstring).

    Parameters
    ----------
    listen
        ``HOST:PORT`` (port 0: a free one; :attr:`port` says which).
    max_transfers
        Connections served at once.
    ticket_s
        Seconds a ticket stays good after :meth:`grant`.
    """

    def __init__(self, listen: str, *, max_transfers: int = 4, ticket_s: float = 5.0):
        self.listen, self.max_transfers, self.ticket_s = listen, max_transfers, ticket_s
        self.stats = BulkStats()
        self.port = 0
        self._grants: dict[bytes, _Grant] = {}      # by SHA-256 of the ticket
        self._lock = threading.Lock()
        self._active = 0
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()

    def start(self) -> int:
        """Bind and start accepting; returns the port. An address that cannot be bound is an ``OSError``
        naming it."""
        host, _, port = self.listen.rpartition(":")
        host = host.strip("[]")
        try:
            port_n = int(port)
            infos = socket.getaddrinfo(host or None, port_n, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
            family, kind, proto, _, address = infos[0]
            sock = socket.socket(family, kind, proto)
        except (ValueError, OSError) as exc:
            raise OSError(f"--bulk-listen {self.listen!r} is not a HOST:PORT of this machine ({exc})") from None
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(64)
        except OSError as exc:
            sock.close()
            raise OSError(f"cannot listen on --bulk-listen {self.listen}: {exc.strerror or exc} (choose another "
                          "HOST:PORT; port 0 picks a free one)") from None
        sock.settimeout(0.5)       # accept wakes up now and then to see whether the channel was closed
        self._sock, self.port = sock, sock.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, name="optowave-bulk", daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        """Stop accepting (transfers under way finish on their threads; tickets are forgotten)."""
        self._closed.set()
        if self._thread is not None:
            self._thread.join(5.0)
        if self._sock is not None:
            self._sock.close()
        with self._lock:
            self._grants.clear()
        s = self.stats
        log.info("bulk channel stopped: %d transfers, %d files, %.1f MB sent; %d connections refused, %d cut short",
                 s.transfers, s.files, s.bytes / 1e6, s.refused, s.failed)

    def grant(self, files: list[tuple[Path, int]], what: str) -> bytes | None:
        """A new ticket for ``files`` (``(path, size)`` in sending order); None when too many wait unused."""
        ticket = secrets.token_bytes(TICKET_BYTES)
        now = time.monotonic()
        with self._lock:
            for digest in [d for d, g in self._grants.items() if g.expires < now]:
                del self._grants[digest]
            if len(self._grants) >= MAX_GRANTS:
                return None
            self._grants[_digest(ticket)] = _Grant(tuple(files), now + self.ticket_s, what)
        return ticket

    # ------------------------------------------------------------ the listener's threads

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, peer = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                if self._closed.is_set():
                    return
                time.sleep(0.05)    # out of file descriptors, say: try again rather than stop serving
                continue
            with self._lock:
                full = self._active >= self.max_transfers
                if not full:
                    self._active += 1
            if full:
                self._refuse(conn, peer, f"{self.max_transfers} transfers are under way")
                continue
            threading.Thread(target=self._serve, args=(conn, peer), name="optowave-bulk-send", daemon=True).start()

    def _refuse(self, conn: socket.socket, peer, why: str) -> None:
        with self._lock:
            self.stats.refused += 1
        log.warning("bulk channel: refused a connection from %s: %s", _peer(peer), why)
        conn.close()

    def _serve(self, conn: socket.socket, peer) -> None:
        try:
            with conn:
                grant = self._redeem(conn, peer)
                if grant is not None:
                    self._send(conn, peer, grant)
        except Exception:       # noqa: BLE001 - one connection's trouble never ends the channel
            log.exception("bulk channel: a transfer to %s failed", _peer(peer))
        finally:
            with self._lock:
                self._active -= 1

    def _redeem(self, conn: socket.socket, peer) -> _Grant | None:
        """The grant of the ticket the client sends, used up; None (after logging why) for any other hello."""
        conn.settimeout(HELLO_TIMEOUT_S)
        want = len(MAGIC) + TICKET_BYTES
        hello = b""
        try:
            while len(hello) < want:
                got = conn.recv(want - len(hello))
                if not got:
                    break
                hello += got
        except OSError:
            pass
        if len(hello) < want or not hello.startswith(MAGIC):
            self._refuse(conn, peer, "no ticket")
            return None
        with self._lock:
            grant = self._grants.pop(_digest(hello[len(MAGIC):]), None)
        if grant is None:
            self._refuse(conn, peer, "unknown or used ticket")
            return None
        if grant.expires < time.monotonic():
            self._refuse(conn, peer, f"expired ticket ({grant.what})")
            return None
        return grant

    def _send(self, conn: socket.socket, peer, grant: _Grant) -> None:
        conn.settimeout(SEND_TIMEOUT_S)
        sent_bytes = sent_files = 0
        try:
            for path, size in grant.files:
                with open(path, "rb") as f:
                    if os.fstat(f.fileno()).st_size != size:
                        raise OSError(f"{path} is no longer {size} bytes")
                    n = conn.sendfile(f, 0, size) if size else 0
                if n != size:
                    raise OSError(f"{path}: {n} of {size} bytes sent")
                sent_bytes += size
                sent_files += 1
        except OSError as exc:
            with self._lock:
                self.stats.failed += 1
                self.stats.bytes += sent_bytes
            log.warning("bulk channel: the transfer of %s to %s stopped after %d files: %s", grant.what, _peer(peer),
                        sent_files, exc)
            return
        with self._lock:
            self.stats.transfers += 1
            self.stats.files += sent_files
            self.stats.bytes += sent_bytes


def _digest(ticket: bytes) -> bytes:
    return hashlib.sha256(ticket).digest()


def _peer(peer) -> str:
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else str(peer)
