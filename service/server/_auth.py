"""Who is calling: bearer tokens checked by an interceptor, or the client certificate under mutual TLS.

Token file: one token per line, optionally ``client_name token``; blank lines and ``#`` comments
are skipped. Tokens on lines without a name share the client name ``default``. Every job
belongs to the client that submitted it; another client's job is NOT_FOUND. A call without a
valid token is answered UNAUTHENTICATED before any handler runs (its request is not even parsed).
Health checks and reflection (the public schema) need no token.
"""
from __future__ import annotations

import contextvars
import hashlib
import logging
import re
from pathlib import Path

import grpc

log = logging.getLogger("optowave.server")

#: The client name of the current call (``""`` when the server runs without authentication).
CLIENT: contextvars.ContextVar[str] = contextvars.ContextVar("optowave_client", default="")
#: Methods anyone may call: health checks (load balancers, probes) and reflection (the schema).
PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
GUARDED_PREFIX = "/optowave.v1."
DEFAULT_CLIENT = "default"
_NAME = re.compile(r"^[A-Za-z0-9_.@:-]{1,64}$")


class TokenFileError(ValueError):
    pass


def read_token_file(path: str | Path) -> dict[str, str]:
    """``{token: client_name}`` from a token file (see the module docstring)."""
    tokens: dict[str, str] = {}
    for n, raw in enumerate(Path(path).read_text().splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) == 1:
            name, token = DEFAULT_CLIENT, parts[0]
        elif len(parts) == 2:
            name, token = parts
        else:
            raise TokenFileError(f"{path}:{n}: expected 'token' or 'client_name token', got {len(parts)} words")
        if not _NAME.match(name):
            raise TokenFileError(f"{path}:{n}: client name {name!r} is not allowed (letters, digits, _.@:-)")
        if len(token) < 16:
            raise TokenFileError(f"{path}:{n}: token of {len(token)} characters is too short; use at least 16 "
                                 "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')")
        if token in tokens and tokens[token] != name:
            raise TokenFileError(f"{path}:{n}: the same token is given to {tokens[token]!r} and {name!r}")
        tokens[token] = name
    if not tokens:
        raise TokenFileError(f"{path}: no tokens")
    return tokens


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Checks the ``authorization: Bearer <token>`` metadata of every guarded call and tells the
    handler who called (:data:`CLIENT`).

    Parameters
    ----------
    tokens
        ``{token: client_name}``; None: no tokens (every caller is the same client, or under
        mutual TLS the client certificate's common name names the client).
    client_certs
        Mutual TLS is on: without tokens, name clients by their certificate.
    """

    def __init__(self, tokens: dict[str, str] | None, *, client_certs: bool = False):
        self._by_digest = None if tokens is None else {_digest(t): n for t, n in tokens.items()}
        self._client_certs = client_certs

    async def intercept_service(self, continuation, details: grpc.HandlerCallDetails):
        handler = await continuation(details)
        method = details.method or ""
        if handler is None or method.startswith(PUBLIC_PREFIXES) or not method.startswith(GUARDED_PREFIX):
            return handler
        if self._by_digest is None:
            return _with_client(handler, None if self._client_certs else "")
        token = _bearer(details.invocation_metadata)
        if token is None:
            return _deny(handler, "missing token: send 'authorization: Bearer <token>' metadata "
                                  "(optowave --token-file F, or Client(address, token=...))")
        name = self._by_digest.get(_digest(token))
        if name is None:
            log.warning("rejected a call to %s with an unknown token", method)
            return _deny(handler, "invalid token")
        return _with_client(handler, name)


def _bearer(metadata) -> str | None:
    for key, value in metadata or ():
        if key == "authorization":
            value = value.decode() if isinstance(value, bytes) else value
            scheme, _, token = value.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


def _peer_name(context) -> str:
    """The client certificate's common name (mutual TLS), else ``""``."""
    ctx = context.auth_context() or {}
    for key in ("x509_common_name", "x509_subject_alternative_name"):
        values = ctx.get(key)
        if values:
            return values[0].decode(errors="replace")
    return ""


def _with_client(handler: grpc.RpcMethodHandler, name: str | None) -> grpc.RpcMethodHandler:
    """The same handler, with :data:`CLIENT` set for the call (``None``: from the peer certificate)."""
    if handler.unary_unary is not None:
        inner = handler.unary_unary

        async def unary(request, context):
            CLIENT.set(_peer_name(context) if name is None else name)
            return await inner(request, context)

        return grpc.unary_unary_rpc_method_handler(unary, handler.request_deserializer, handler.response_serializer)
    if handler.unary_stream is not None:
        inner_stream = handler.unary_stream

        async def stream(request, context):
            CLIENT.set(_peer_name(context) if name is None else name)
            async for message in inner_stream(request, context):
                yield message

        return grpc.unary_stream_rpc_method_handler(stream, handler.request_deserializer, handler.response_serializer)
    if handler.stream_stream is not None:     # Interact
        inner_bidi = handler.stream_stream

        async def bidi(requests, context):
            CLIENT.set(_peer_name(context) if name is None else name)
            async for message in inner_bidi(requests, context):
                yield message

        return grpc.stream_stream_rpc_method_handler(bidi, handler.request_deserializer, handler.response_serializer)
    raise TypeError(f"no client for a handler of this kind: {handler!r}")   # every kind of call is named above


def _deny(handler: grpc.RpcMethodHandler, message: str) -> grpc.RpcMethodHandler:
    """A handler of the same kind that answers UNAUTHENTICATED without parsing the request."""
    if handler.unary_stream is not None:
        async def stream(request, context):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
            yield  # pragma: no cover - makes this an async generator

        return grpc.unary_stream_rpc_method_handler(stream, None, None)
    if handler.stream_stream is not None:
        async def bidi(requests, context):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
            yield  # pragma: no cover - makes this an async generator

        return grpc.stream_stream_rpc_method_handler(bidi, None, None)

    async def unary(request, context):
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    return grpc.unary_unary_rpc_method_handler(unary, None, None)
