"""The ``Interact`` handler: a bidirectional stream bound to one live session (:mod:`service.interact`).

The first request opens the stream (``start`` or ``resume``, parsed and checked here: a bad spec or
an unknown session aborts the call with its status); later requests are read by a task of their own
and handed to the session in order, while this handler sends what the session puts out. When the
stream ends without a ``finish`` (the client dropped), the session waits its grace period for a resume.
"""
from __future__ import annotations

import asyncio
import logging

from google.protobuf.message import DecodeError

from optowave.v1 import service_pb2
from service.interact import LiveSession, SessionManager
from service.jobs import BadArgument

from ._auth import CLIENT

log = logging.getLogger("optowave.server")


class InteractHandler:
    """``Interact`` on a :class:`SessionManager`."""

    def __init__(self, sessions: SessionManager):
        self.sessions = sessions

    async def Interact(self, requests, context):
        client = CLIENT.get()
        first = await _first(requests)
        kind = first.WhichOneof("kind")
        if kind == "start":
            live = await self.sessions.start(client, first.start)
            stream = await live.attach()
        elif kind == "resume":
            live = await self.sessions.resume(client, first.resume)
            stream = await live.attach(first.resume.last_frame, first.resume.last_reply)
        else:
            raise BadArgument("kind", f"the first message of a stream is start or resume, not {kind or 'empty'}")
        try:
            yield self.sessions.started(live)
            reader = asyncio.ensure_future(_read(requests, live))
            try:
                async for message in live.outgoing(stream):
                    yield message
            finally:
                reader.cancel()
        finally:
            live.detach(stream)


async def _first(requests) -> service_pb2.InteractRequest:
    try:
        raw = await requests.__anext__()
    except StopAsyncIteration:
        raise BadArgument("start", "the stream ended before its first message (start or resume)") from None
    return _parse(raw)


def _parse(raw: bytes) -> service_pb2.InteractRequest:
    try:
        return service_pb2.InteractRequest.FromString(raw)
    except DecodeError as exc:
        raise BadArgument("request", f"not a valid optowave.v1.InteractRequest message ({exc})") from None


async def _read(requests, live: LiveSession) -> None:
    """Hand each request to the session; a malformed one is rejected as one would be, in order."""
    try:
        async for raw in requests:
            try:
                request = _parse(raw)
            except BadArgument as exc:
                request = service_pb2.InteractRequest()      # an empty request: rejected, naming the message
                log.info("session %s: %s", live.id, exc)
            await live.take(request)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - the stream broke; the handler's end detaches it
        log.debug("session %s: request stream ended: %s", live.id, exc)
