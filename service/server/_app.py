"""The server process: one ``grpc.aio`` server with the simulation service, health and reflection.

Start-up refuses a listen address beyond loopback without client authentication (tokens or
mutual TLS) unless ``insecure`` is given. Shut-down is graceful: health turns NOT_SERVING, new
calls are refused, streams send what is committed and end with UNAVAILABLE (clients resume),
running jobs stop after their chunk in flight and stay RUNNING, so the next start resumes them.
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import signal
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from service.interact import InteractLimits, SessionManager
from service.jobs import Backend, JobManager, Limits, StartupError

from ._auth import AuthInterceptor, read_token_file
from ._bulk import BulkChannel
from ._servicer import SERVICE, SimulationServicer, generic_handler

log = logging.getLogger("optowave.server")

MiB = 2**20
#: Largest request or response (a spec with inline rasters can be several MiB; result pieces are <= 1 MiB).
DEFAULT_MAX_MESSAGE_BYTES = 16 * MiB
#: Keepalive: ping an idle connection every 20 s, drop it if the ping is not answered in 10 s; accept
#: client pings down to every 10 s (clients ping every 30 s, see clients.client.CHANNEL_OPTIONS).
KEEPALIVE_OPTIONS = [
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
    ("grpc.http2.max_ping_strikes", 2),
]


class InsecureListenError(ValueError):
    """A listen address beyond loopback without tokens or mutual TLS (and without ``insecure``)."""


@dataclass
class ServerConfig:
    """Everything ``optowave serve`` can be told (see :func:`clients.remote_cmds.register`)."""

    listen: str = "127.0.0.1:50051"
    data_dir: str | Path = "optowave-data"
    scheduler: str | None = None           # tcp://HOST:PORT of an existing Dask cluster
    workers: int | None = None             # local Dask workers (None: one per core; 0: in this process)
    token_file: str | Path | None = None
    tokens: dict[str, str] | None = None   # {token: client name}, instead of a token file
    tls_cert: str | Path | None = None
    tls_key: str | Path | None = None
    tls_client_ca: str | Path | None = None  # mutual TLS: clients need a certificate signed by this CA
    insecure: bool = False
    max_concurrent: int = 2
    limits: Limits = field(default_factory=Limits)
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    grace_s: float = 10.0                  # how long streams may take to finish at shut-down
    interact: InteractLimits = field(default_factory=InteractLimits)   # live sessions (Interact)
    # The bulk channel (service.server._bulk): HOST:PORT of a plain TCP port that sends result files with
    # sendfile to clients that ask for it; None (the default): off. Refused with TLS (it is not encrypted).
    bulk_listen: str | None = None
    bulk_transfers: int = 4                # bulk transfers served at once
    bulk_ticket_s: float = 5.0             # how long a bulk ticket stays good unused


def check_tls_material(cert: str | Path, key: str | Path, client_ca: str | Path | None = None) -> None:
    """Refuse TLS files that are missing, not PEM, or a key that does not belong to the certificate, with one
    line naming the file (gRPC itself would only fail at the first handshake, or with a traceback)."""
    import ssl

    for flag, path in (("--tls-cert", cert), ("--tls-key", key), ("--tls-client-ca", client_ca)):
        if path is not None and not Path(path).is_file():
            raise StartupError(f"{flag} {str(path)!r}: no such file")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.load_cert_chain(str(cert), str(key))
    except ssl.SSLError as exc:
        what = "does not match the certificate" if "KEY_VALUES_MISMATCH" in str(exc) or "mismatch" in str(
            exc).lower() else "cannot be read as a PEM certificate and its private key"
        raise StartupError(f"--tls-key {str(key)!r} {what} --tls-cert {str(cert)!r} ({exc.reason or exc})") from None
    if client_ca is not None:
        try:
            ctx.load_verify_locations(cafile=str(client_ca))
        except ssl.SSLError as exc:
            raise StartupError(f"--tls-client-ca {str(client_ca)!r} is not a PEM certificate ({exc.reason or exc})") \
                from None


def check_address_free(listen: str) -> None:
    """Refuse an address another process listens on, in one line (gRPC's own refusal is a C-level log line
    and a RuntimeError). Port 0 and unix sockets are left to gRPC."""
    import socket

    if listen.startswith(("unix:", "unix-abstract:")):
        return
    host, _, port = listen.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    try:
        port_n = int(port)
    except ValueError:
        raise StartupError(f"--listen {listen!r} is not HOST:PORT") from None
    if port_n == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port_n, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise StartupError(f"cannot listen on {listen}: {host!r} is not an address of this machine ({exc.strerror})") \
            from None
    for family, kind, proto, _, address in infos[:1]:
        with socket.socket(family, kind, proto) as s:
            # as gRPC binds: a port left in TIME_WAIT by a server that just stopped is free, a listener is not
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(address)
            except OSError as exc:
                raise StartupError(f"cannot listen on {listen}: {exc.strerror or exc} (another server there? choose "
                                   "another --listen HOST:PORT; port 0 picks a free one)") from None


def is_loopback(listen: str) -> bool:
    """Whether ``listen`` (``HOST:PORT``, ``[V6]:PORT``, ``unix:PATH``) only accepts local connections."""
    if listen.startswith(("unix:", "unix-abstract:")):
        return True
    host = listen.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Server:
    """The gRPC server and its job manager (start, stop, wait)."""

    def __init__(self, config: ServerConfig):
        self.config = config
        self.address: str | None = None
        self.manager: JobManager | None = None
        self.sessions: SessionManager | None = None
        self._server: grpc.aio.Server | None = None
        self._health: health.aio.HealthServicer | None = None
        self.bulk: BulkChannel | None = None

    def _credentials(self):
        c = self.config
        if not (c.tls_cert or c.tls_key):
            if c.tls_client_ca:
                raise ValueError("--tls-client-ca needs --tls-cert and --tls-key (mutual TLS is TLS first)")
            return None
        if not (c.tls_cert and c.tls_key):
            raise ValueError("TLS needs both --tls-cert and --tls-key")
        check_tls_material(c.tls_cert, c.tls_key, c.tls_client_ca)
        key, cert = Path(c.tls_key).read_bytes(), Path(c.tls_cert).read_bytes()
        ca = Path(c.tls_client_ca).read_bytes() if c.tls_client_ca else None
        return grpc.ssl_server_credentials([(key, cert)], root_certificates=ca, require_client_auth=ca is not None)

    def _tokens(self) -> dict[str, str] | None:
        c = self.config
        if c.token_file and c.tokens:
            raise ValueError("give tokens or a token file, not both")
        return read_token_file(c.token_file) if c.token_file else (dict(c.tokens) if c.tokens else None)

    async def start(self) -> str:
        """Start serving; returns the address clients use (``HOST:PORT``)."""
        c = self.config
        if c.bulk_listen is not None and (c.tls_cert or c.tls_key):
            raise StartupError(f"--bulk-listen {c.bulk_listen}: the bulk channel is plain TCP and would send a TLS "
                               "server's results unencrypted; serve without --bulk-listen (results then come over the "
                               "encrypted stream)")
        tokens = self._tokens()
        credentials = self._credentials()
        mutual_tls = credentials is not None and c.tls_client_ca is not None
        if not is_loopback(c.listen) and tokens is None and not mutual_tls and not c.insecure:
            raise InsecureListenError(
                f"refusing to listen on {c.listen} without client authentication: give --token-file (and TLS, so "
                "tokens are not sent in the clear) or --tls-client-ca, or --insecure to accept anyone who can reach "
                "this address")
        if not is_loopback(c.listen) and credentials is None and tokens is not None:
            log.warning("tokens will cross the network in the clear: add --tls-cert/--tls-key")
        if c.bulk_listen is not None:
            if not c.bulk_transfers > 0:
                raise StartupError(f"--bulk-transfers {c.bulk_transfers} is not allowed; must be > 0")
            if not c.bulk_ticket_s > 0:
                raise StartupError(f"bulk_ticket_s {c.bulk_ticket_s} is not allowed; must be > 0")

        # Everything that can be wrong with the command line (TLS material, the address, the job table) is found
        # before a cluster is started: the port is bound first, the manager (table, then backend) started after.
        self.manager = JobManager(c.data_dir, backend=Backend(scheduler=c.scheduler, workers=c.workers),
                                  max_concurrent=c.max_concurrent, limits=c.limits)
        check_address_free(c.listen)
        phase = "new"       # "new": close_unstarted() undoes it; "started": stop() does; "closed": nothing to undo
        try:
            server = grpc.aio.server(
                interceptors=[AuthInterceptor(tokens, client_certs=mutual_tls)],
                options=KEEPALIVE_OPTIONS + [("grpc.max_receive_message_length", c.max_message_bytes),
                                             ("grpc.max_send_message_length", c.max_message_bytes),
                                             ("grpc.so_reuseport", 0)])
            self.sessions = SessionManager(self.manager, c.interact)
            if c.bulk_listen is not None:
                self.bulk = BulkChannel(c.bulk_listen, max_transfers=c.bulk_transfers, ticket_s=c.bulk_ticket_s)
                try:
                    self.bulk.start()
                except OSError as exc:
                    self.bulk = None
                    raise StartupError(str(exc)) from None
            server.add_generic_rpc_handlers([generic_handler(SimulationServicer(self.manager, self.sessions,
                                                                                self.bulk))])
            self._health = health.aio.HealthServicer()
            health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
            reflection.enable_server_reflection(
                [SERVICE.full_name, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                 reflection.SERVICE_NAME], server)
            try:
                if credentials is None:
                    port = server.add_insecure_port(c.listen)
                else:
                    port = server.add_secure_port(c.listen, credentials)
            except RuntimeError:
                port = 0
            if port == 0 and not c.listen.startswith("unix"):
                raise StartupError(f"cannot listen on {c.listen}: the address is in use or not on this machine "
                                   "(choose another --listen HOST:PORT; port 0 picks a free one)")
            try:
                await self.manager.start()
            except BaseException:
                phase = "closed"
                await self.manager.close_unstarted()
                raise
            phase = "started"
            await server.start()
        except BaseException:
            if self.bulk is not None:
                self.bulk.stop()
                self.bulk = None
            if phase == "started":
                await self.manager.stop()
            elif phase == "new":
                await self.manager.close_unstarted()
            raise
        self._server = server
        for name in ("", SERVICE.full_name):
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        host = c.listen.rpartition(":")[0] if not c.listen.startswith("unix") else c.listen
        self.address = c.listen if c.listen.startswith("unix") else f"{host}:{port}"
        log.info("serving optowave.v1.SimulationService on %s (%s; %s)", self.address,
                 "TLS" + (" with client certificates" if mutual_tls else "") if credentials else "plaintext",
                 self.manager.backend.describe())
        if self.bulk is not None:
            log.info("bulk channel for results on port %d (%s)", self.bulk.port, c.bulk_listen)
        return self.address

    async def stop(self, grace: float | None = None) -> None:
        """Graceful shut-down (see the module docstring); every job stays resumable."""
        grace = self.config.grace_s if grace is None else grace
        if self._health is not None:
            await self._health.enter_graceful_shutdown()
        if self.sessions is not None:      # live sessions are stored as jobs while the queue still takes them
            await self.sessions.stop()
        if self.manager is not None:
            await self.manager.drain()
        if self._server is not None:
            await self._server.stop(grace)
        if self.bulk is not None:
            await asyncio.to_thread(self.bulk.stop)
        if self.manager is not None:
            await self.manager.stop(timeout=max(grace, 30.0))
        log.info("stopped")

    async def wait_for_termination(self) -> None:
        await self._server.wait_for_termination()


def serve(config: ServerConfig, *, announce=print) -> int:
    """Run a server until SIGINT or SIGTERM (``optowave serve``)."""

    async def main() -> int:
        server = Server(config)
        await server.start()
        announce(f"optowave serving on {server.address} (data in {Path(config.data_dir).resolve()}; "
                 f"{server.manager.backend.describe()}"
                 + (f"; bulk channel on port {server.bulk.port}" if server.bulk is not None else "") + ")")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        announce("shutting down: streams get up to %g s, running jobs stop after their chunk and resume at the "
                 "next start" % config.grace_s)
        await server.stop()
        return 0

    return asyncio.run(main())


class _ThreadedServer:
    """A server on its own event loop in a background thread (for notebooks, the demo and tests)."""

    def __init__(self, config: ServerConfig):
        self.config = config
        self.server = Server(config)
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="optowave-server", daemon=True)

    def start(self, timeout: float = 300.0) -> str:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"the embedded server did not start within {timeout:g} s")
        if self._error is not None:
            raise self._error
        return self.server.address

    def stop(self, timeout: float = 120.0) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)

    def _main(self) -> None:
        async def main():
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            try:
                await self.server.start()
            except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
                self._error = exc
                self._ready.set()
                return
            self._ready.set()
            await self._stop.wait()
            await self.server.stop()

        asyncio.run(main())


@contextmanager
def embedded(data_dir: str | Path | None = None, *, workers: int | None = None, scheduler: str | None = None,
             **options) -> Iterator[str]:
    """A server on a free loopback port, in a background thread; yields its address.

    >>> with embedded(workers=2) as address:                     # doctest: +SKIP
    ...     ds = Client(address).submit("examples/spiral.json").result()

    Parameters
    ----------
    data_dir
        Where jobs and results live (default: a temporary directory removed on exit).
    workers, scheduler
        A local Dask cluster of ``workers`` processes (default: one per core; 0: chunks run in
        the server's own threads), or an existing one at ``scheduler``.
    options
        Other :class:`ServerConfig` fields (``tokens``, ``max_concurrent``, ``limits``, ...).
    """
    tmp = tempfile.TemporaryDirectory(prefix="optowave-server-") if data_dir is None else None
    config = ServerConfig(listen=options.pop("listen", "127.0.0.1:0"), data_dir=tmp.name if tmp else data_dir,
                          workers=workers, scheduler=scheduler, **options)
    threaded = _ThreadedServer(config)
    try:
        address = threaded.start()
        yield address
    finally:
        threaded.stop()
        if tmp is not None:
            tmp.cleanup()

