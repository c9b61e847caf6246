"""The client's end of the bulk channel: a server's offered result files read from plain TCP into a store.

A :class:`~optowave.v1.service_pb2.BulkOffer` (``StreamResults`` with ``bulk`` set) names a port, a ticket and
the stored chunk files of some time chunks. :func:`connect` connects to the host the client dialled for gRPC at
that port and sends the ticket; :func:`receive` moves each file's bytes from the socket into its file under the store with
``os.splice`` (socket -> pipe -> file: the kernel moves them, Python never holds them); where ``splice`` is not
to be had, with ``recv_into`` and ``write``. Each file is then checked against its CRC32C in place (a
read-only mapping of its pages in the page cache; read back where the CRC32C library's C function cannot be
had); a time chunk is handed on once all its files check. A refused connection, a short read or a
mismatch raises :class:`BulkFailed`: what was not handed on is asked for again over the stream.
"""
from __future__ import annotations

import ctypes
import mmap
import os
import socket
import struct
from pathlib import Path, PurePosixPath
from typing import Iterator

import google_crc32c
import numpy as np

from optowave.v1 import service_pb2

#: What a client sends before its ticket (service.server._bulk.MAGIC).
MAGIC = b"OWB1"
#: Seconds the connection may stall before the transfer counts as failed.
TIMEOUT_S = 30.0
_PIPE_BYTES = 2**20
_READ_BYTES = 2**20         # read-back blocks: CRC32C of 1 MiB blocks runs at page-cache speed
_F_SETPIPE_SZ = 1031        # fcntl: Linux only


class BulkFailed(Exception):
    """The bulk transfer stopped before every offered file arrived whole and checked."""


def bulk_host(address: str) -> str | None:
    """The host part of a gRPC target ``HOST:PORT`` or ``[V6]:PORT``; None for targets the bulk channel does
    not serve (unix sockets, name-resolver schemes)."""
    if "://" in address or address.startswith(("unix:", "unix-abstract:", "dns:", "ipv4:", "ipv6:")):
        return None
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return None
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def connect(host: str, offer: service_pb2.BulkOffer, *, timeout: float = TIMEOUT_S) -> socket.socket:
    """A connection to the bulk channel of ``host`` that has handed in the offer's ticket (done at once: the
    ticket expires within seconds, while the files may wait in the socket until :func:`receive` reads them)."""
    sock = socket.create_connection((host, offer.port), timeout=timeout)
    try:
        sock.sendall(MAGIC + offer.ticket)
    except BaseException:
        sock.close()
        raise
    return sock


def receive(sock: socket.socket, offer: service_pb2.BulkOffer, root: Path, *,
            timeout: float = TIMEOUT_S) -> Iterator[int]:
    """Read the files of ``offer`` from ``sock`` (:func:`connect`; closed at the end) into the directory store at
    ``root``; yields each time chunk's index once all its files are written and check. Raises
    :class:`BulkFailed` (or ``OSError``) when the transfer stops short; the time chunks yielded before are
    complete.

    Each file is checked on another thread while the next ones arrive (the checksum lets go of the GIL); the
    directories of the offer's files are made ahead on one too (making one took ~0.15 ms of the receiving
    thread, and a camera movie's store has a hundred)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    with sock, ThreadPoolExecutor(2, thread_name_prefix="optowave-bulk") as helpers:
        sink = _Splice(sock, timeout) if hasattr(os, "splice") else _Copy(sock)
        made: set[Path] = set()             # directories that exist (added to by both threads)
        stop = threading.Event()
        helpers.submit(_make_directories, offer, root, made, stop)
        checking = None                     # (time chunk, its files' checks) of the time chunk before
        try:
            for chunk in offer.chunks:
                checks = []
                for f in chunk.files:
                    path = path_in(root, f.key)
                    _make_parent(path, made)
                    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o666)
                    try:
                        sink.into(fd, f.size, f.key)
                    except BaseException:
                        os.close(fd)
                        raise
                    checks.append(helpers.submit(_check, fd, f.size, f.key, f.crc32c))
                if checking is not None:
                    yield _checked(*checking)
                checking = (chunk.chunk_index, checks)
            if checking is not None:
                last, checking = checking, None
                yield _checked(*last)
        except (BulkFailed, OSError):
            # the time chunk before the one that failed arrived whole: it counts if its files check
            if checking is not None:
                try:
                    k = _checked(*checking)
                except BulkFailed:
                    k = None
                checking = None
                if k is not None:
                    yield k
            raise
        finally:
            stop.set()
            sink.close()        # the checks under way finish (and close their files) as the pool shuts down


def _make_directories(offer: service_pb2.BulkOffer, root: Path, made: set[Path], stop) -> None:
    """Make the directories of the offer's files in the order they come, adding each to ``made``, until
    ``stop`` is set; a key outside the store ends it (the receiving thread refuses that key)."""
    try:
        for chunk in offer.chunks:
            for f in chunk.files:
                if stop.is_set():
                    return
                _make_parent(path_in(root, f.key), made)
    except (BulkFailed, OSError):
        return


def _make_parent(path: Path, made: set[Path]) -> None:
    """Make the directory of ``path`` unless ``made`` says it exists; it then does."""
    if path.parent not in made:
        path.parent.mkdir(parents=True, exist_ok=True)
        made.add(path.parent)


def _checked(k: int, checks: list) -> int:
    """``k`` once every check of its files passed (the first failure raises)."""
    for check in checks:
        check.result()
    return k


def _check(fd: int, size: int, key: str, crc32c: int) -> None:
    """Check a file just written against its CRC32C (in place in the page cache where the C function can be
    had, else read back); closes ``fd``."""
    try:
        got = os.fstat(fd).st_size
        if got != size:
            crc, off = 0, got
        elif _EXTEND is not None and size:
            crc, off = _crc32c_mapped(fd, size), size
        else:
            crc, off = _crc32c_read(fd, size)
    finally:
        os.close(fd)
    if off != size or crc != crc32c:
        raise BulkFailed(f"chunk {key}: CRC32C mismatch in transit (got {crc:#010x} over {off} bytes, the server "
                         f"recorded {crc32c:#010x} over {size})")


def _crc32c_mapped(fd: int, size: int) -> int:
    """CRC32C of a file's first ``size`` bytes, over a read-only mapping of it: no copy (the read-back into
    ``bytes`` took as long again as the checksum itself)."""
    with mmap.mmap(fd, size, access=mmap.ACCESS_READ) as mapped:
        view = np.frombuffer(mapped, np.uint8)
        try:
            return _EXTEND(0, view.ctypes.data, size)
        finally:
            del view                        # the mapping closes only once no array looks into it


def _crc32c_read(fd: int, size: int) -> tuple[int, int]:
    """CRC32C of a file read back in blocks; with the bytes it covered."""
    crc, off = 0, 0
    while off < size:
        block = os.pread(fd, min(_READ_BYTES, size - off), off)
        if not block:
            break
        crc = google_crc32c.extend(crc, block)
        off += len(block)
    return crc, off


def _native_extend():
    """``crc32c_extend(crc, data, length)`` of the CRC32C library that ``google_crc32c`` is built on, through
    ctypes (which lets go of the GIL during the call); it takes any memory, where ``google_crc32c.extend``
    takes only ``bytes``. None where that library is not to be had (a pure-Python build) or gives a wrong
    checksum for the standard check string."""
    try:
        from google_crc32c import _crc32c

        fn = ctypes.CDLL(_crc32c.__file__).crc32c_extend
    except (ImportError, OSError, AttributeError):
        return None
    fn.restype = ctypes.c_uint32
    fn.argtypes = [ctypes.c_uint32, ctypes.c_void_p, ctypes.c_size_t]
    return fn if fn(0, b"123456789", 9) == 0xE3069283 else None


_EXTEND = _native_extend()


def path_in(root: Path, key: str) -> Path:
    """``root / key`` for a store key; a key that would leave the store is refused."""
    parts = PurePosixPath(key).parts
    if not parts or PurePosixPath(key).is_absolute() or any(p in ("..", ".") for p in parts) or "\\" in key:
        raise BulkFailed(f"the offer names a file outside the store: {key!r}")
    return root.joinpath(*parts)


class _Splice:
    """Socket -> pipe -> file with ``os.splice`` (Linux)."""

    def __init__(self, sock: socket.socket, timeout: float):
        import fcntl

        # splice honours the socket's own receive timeout (a blocking socket: Python's timeout makes it
        # non-blocking, and splice would then fail with EAGAIN instead of waiting)
        sock.settimeout(None)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", int(timeout), 0))
        self.fd = sock.fileno()
        self.r, self.w = os.pipe()
        try:
            fcntl.fcntl(self.w, _F_SETPIPE_SZ, _PIPE_BYTES)
        except OSError:
            pass                            # the default pipe (64 KiB) works too, in more calls

    def into(self, fd: int, size: int, key: str) -> None:
        left = size
        while left:
            try:
                got = os.splice(self.fd, self.w, min(left, _PIPE_BYTES))
            except BlockingIOError:
                raise BulkFailed(f"chunk {key}: the connection stalled") from None
            if got == 0:
                raise BulkFailed(f"chunk {key}: the connection closed after {size - left} of {size} bytes")
            left -= got
            while got:
                got -= os.splice(self.r, fd, got)

    def close(self) -> None:
        os.close(self.r)
        os.close(self.w)


class _Copy:
    """Socket -> buffer -> file (where there is no ``splice``)."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = memoryview(bytearray(_PIPE_BYTES))

    def into(self, fd: int, size: int, key: str) -> None:
        left = size
        while left:
            try:
                got = self.sock.recv_into(self.buf[:min(left, len(self.buf))])
            except socket.timeout:
                raise BulkFailed(f"chunk {key}: the connection stalled") from None
            if got == 0:
                raise BulkFailed(f"chunk {key}: the connection closed after {size - left} of {size} bytes")
            put = 0
            while put < got:
                put += os.write(fd, self.buf[put:got])
            left -= got

    def close(self) -> None:
        pass
