"""The gRPC server: ``optowave.v1.SimulationService`` with health and reflection on one port.

>>> with embedded(workers=2) as address:          # a free loopback port, a local Dask cluster
...     job = Client(address).submit(spec)        # doctest: +SKIP

``optowave serve`` runs :func:`serve` with a :class:`ServerConfig` from the command line.
Handlers run on one event loop and do no CPU work; jobs live in :mod:`service.jobs`.
"""
from __future__ import annotations

from ._app import (DEFAULT_MAX_MESSAGE_BYTES, KEEPALIVE_OPTIONS, InsecureListenError, Server, ServerConfig, embedded,
                   is_loopback, serve)
from ._auth import CLIENT, AuthInterceptor, TokenFileError, read_token_file
from ._results import PIECE_BYTES
from ._servicer import SERVICE, SimulationServicer
from ._status import status_for

__all__ = [
    "AuthInterceptor", "CLIENT", "DEFAULT_MAX_MESSAGE_BYTES", "InsecureListenError", "KEEPALIVE_OPTIONS", "PIECE_BYTES",
    "SERVICE", "Server", "ServerConfig", "SimulationServicer", "TokenFileError", "embedded", "is_loopback",
    "read_token_file", "serve", "status_for",
]
