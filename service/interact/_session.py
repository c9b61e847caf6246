"""One live session on the server: a :class:`solver.Session` stepped by the requests of whichever stream holds it.

Requests are taken in order by one task (the session's actor); the solver's work runs in the session
manager's thread pool, one frame at a time. What goes back (frames, command replies) is appended to
an outbox in order; the stream attached now sends it from a cursor. The actor films a frame only while
fewer than ``queue_frames`` frames wait unsent, so a slow reader (or no reader at all) pauses the
simulation. The ``buffer_frames`` frames before the cursor are kept so that a stream that dropped can
resume: the new stream starts at the first message the client says it lacks.
"""
from __future__ import annotations

import asyncio
import json
import logging
import math
from collections import deque
from dataclasses import dataclass
from typing import AsyncIterator, Awaitable, Callable

from google.protobuf import json_format
from google.rpc import code_pb2

from optowave.v1 import service_pb2, spec_pb2
from service.jobs import BadArgument, JobStoreError, QuotaExceeded

from ._codec import frame_message, raster_values

log = logging.getLogger("optowave.interact")


@dataclass(frozen=True)
class InteractLimits:
    """What live sessions may ask of a server (flags of ``optowave serve``)."""

    max_sessions: int = 4          # live sessions at once (--max-sessions)
    max_frames: int = 1_000_000    # frames of one session (--max-session-frames)
    queue_frames: int = 8          # frames filmed ahead of the stream (--interact-queue-frames)
    buffer_frames: int = 64        # frames kept after they were sent, for a resume (--interact-buffer-frames)
    grace_s: float = 30.0          # how long a dropped session waits for a resume (--interact-grace-s)


class SessionEnded(JobStoreError):
    """The session has ended (finished, or its grace period ran out) while a stream held it."""


_EXPIRE = object()     # the grace period ran out: end the session as ``finish`` does
#: Requests taken from the stream and not yet handled; past this the stream is not read.
REQUESTS_WAITING = 64


class LiveSession:
    """A session's state on the event loop (see the module docstring).

    Parameters
    ----------
    session_id, client, token
        Its id (also the id of the job it is stored as), its owner, its resume token.
    session
        The :class:`solver.Session`, used only from ``run`` (the manager's thread pool).
    run
        ``run(fn, *args)``: awaitable, runs ``fn`` off the loop.
    store
        ``store(live)``: awaitable, stores the ended session as a job and returns its id.
    check_pattern
        ``check_pattern(msg)``: the wire checks of a ``Pattern`` (sizes, files) as ``(field, description)``.
    """

    def __init__(self, *, session_id: str, client: str, token: str, session, limits: InteractLimits,
                 run: Callable[..., Awaitable], store: Callable[["LiveSession"], Awaitable[str]],
                 check_pattern: Callable, request_id: str = ""):
        self.id, self.client, self.token, self.request_id = session_id, client, token, request_id
        self.session, self.limits = session, limits
        self.frame_period_ms = float(session.frame_period_ms)
        self.shape = tuple(int(n) for n in session.shape)
        self._run, self._store, self._check_pattern = run, store, check_pattern
        self._max_frames = limits.max_frames
        self._run_frames = int(getattr(session, "max_frames", limits.max_frames))
        # bounded, so that a client that sends without reading is held back by gRPC's flow control
        self._requests: asyncio.Queue = asyncio.Queue(maxsize=REQUESTS_WAITING)
        self._out: deque = deque()           # (kind, key, message): kind "frame" (key index) or "reply" (sequence)
        self._base = 0                       # outbox position of _out[0]
        self._cursor = 0                     # outbox position the attached stream sends next
        self._trimmed = (-1, 0)              # last frame index and reply sequence dropped from the outbox
        self._changed = asyncio.Condition()
        self._stream = 0                     # id of the attached stream (0: none)
        self._coords_sent = True
        self._coords: list = []
        self.last_sequence = 0
        self.next_frame = int(getattr(session, "frame_index", 0))
        self.job_id: str | None = None
        self.ended = False
        self._expiring = False               # the grace period ran out, or the server stops: end now
        self._grace: asyncio.TimerHandle | None = None
        self._actor = asyncio.get_running_loop().create_task(self._act(), name=f"optowave-session-{session_id}")

    # ------------------------------------------------------------ streams

    @property
    def max_frames(self) -> int:
        """Frames the session may film: its spec's duration, within the server's limit."""
        return min(self._run_frames, self._max_frames)

    async def attach(self, last_frame: int = -1, last_reply: int = 0) -> int:
        """Make a new stream the session's; it sends from the first message after ``last_frame`` and
        ``last_reply``. Returns the stream's id."""
        if self.ended or self._expiring:
            raise SessionEnded(f"session {self.id!r} has ended; it is stored as job {self.job_id!r}")
        if last_frame < self._trimmed[0] or last_reply < self._trimmed[1]:
            raise BadArgument("resume.last_frame", f"{last_frame}: the frames after it are no longer kept (the server "
                                                   f"keeps {self.limits.buffer_frames} sent frames, from frame "
                                                   f"{self._trimmed[0] + 1}; --interact-buffer-frames)",
                              out_of_range=True)
        if last_frame >= self.next_frame:
            raise BadArgument("resume.last_frame", f"{last_frame}: the session has filmed frames "
                                                   f"0..{self.next_frame - 1}", out_of_range=True)
        self._cancel_grace()
        cursor = self._base + len(self._out)
        for i, (kind, key, _) in enumerate(self._out):
            if (kind == "frame" and key > last_frame) or (kind == "reply" and key > last_reply):
                cursor = self._base + i
                break
        async with self._changed:
            self._stream += 1
            self._cursor, self._coords_sent = cursor, False
            self._changed.notify_all()
        return self._stream

    def detach(self, stream: int) -> None:
        """The stream ``stream`` ended; if it still held the session, the grace period starts."""
        if stream != self._stream or self.ended:
            return
        self._stream = 0
        loop = asyncio.get_running_loop()
        self._grace = loop.call_later(self.limits.grace_s, lambda: asyncio.ensure_future(self._expire()))
        log.info("session %s lost its stream; it waits %.0f s for a resume", self.id, self.limits.grace_s)

    async def _expire(self) -> None:
        """End the session as soon as the request in hand is done (an advance stops after its frame in flight)."""
        self._expiring = True
        while not self._requests.empty():      # what waits is not handled any more: make room for the end
            self._requests.get_nowait()
        self._requests.put_nowait((0, _EXPIRE))
        async with self._changed:
            self._changed.notify_all()

    def _cancel_grace(self) -> None:
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None

    async def outgoing(self, stream: int) -> AsyncIterator[service_pb2.InteractResponse]:
        """What stream ``stream`` sends, until the session has ended and all of it went, or another stream took
        the session."""
        while True:
            async with self._changed:
                await self._changed.wait_for(lambda: self._stream != stream or self.ended or
                                             self._cursor < self._base + len(self._out))
                if self._stream != stream:
                    return
                if self._cursor >= self._base + len(self._out):
                    return             # ended, everything sent
                kind, key, message = self._out[self._cursor - self._base]
                self._cursor += 1
                self._trim()
                self._changed.notify_all()
            if kind == "frame" and not self._coords_sent:
                self._coords_sent = True
                frame = service_pb2.InteractFrame()
                frame.CopyFrom(message.frame)
                frame.coords.extend(self._coords)
                message = service_pb2.InteractResponse(frame=frame)
            yield message

    def _trim(self) -> None:
        while self._out and self._base < self._cursor - self.limits.buffer_frames:
            kind, key, _ = self._out.popleft()
            self._base += 1
            self._trimmed = (key, self._trimmed[1]) if kind == "frame" else (self._trimmed[0], key)

    async def _emit(self, kind: str, key: int, response: service_pb2.InteractResponse) -> None:
        """Put a message out once fewer than ``queue_frames`` wait unsent (replies too: a client that sends
        commands without reading is not answered into a growing outbox)."""
        async with self._changed:
            await self._changed.wait_for(
                lambda: self._expiring or self._base + len(self._out) - self._cursor < self.limits.queue_frames)
            self._out.append((kind, key, response))
            self._changed.notify_all()

    # ------------------------------------------------------------ requests

    async def take(self, request: service_pb2.InteractRequest) -> None:
        """A request from the attached stream (one already taken, by its sequence, is ignored); waits while
        :data:`REQUESTS_WAITING` requests wait."""
        seq = request.sequence
        if seq and seq <= self.last_sequence or self._expiring or self.ended:
            return
        self.last_sequence = seq or self.last_sequence + 1
        await self._requests.put((self.last_sequence, request))

    async def _act(self) -> None:
        while True:
            seq, request = await self._requests.get()
            if request is _EXPIRE:
                log.info("session %s ends without a finish (no resume within %.0f s, or the server stops)", self.id,
                         self.limits.grace_s)
                await self._end(None)
                return
            if self._expiring:
                continue
            kind = request.WhichOneof("kind")
            try:
                if kind == "advance":
                    await self._advance(request.advance.frames)
                elif kind == "set_light":
                    await self._set_light(seq, request.set_light)
                elif kind == "clear_light":
                    before = self.session.last_applied_ns
                    await self._run(self.session.clear_light)
                    await self._applied(seq, before)
                elif kind == "recorded_spec":
                    spec = await self._run(self._recorded_spec)
                    await self._emit("reply", seq, service_pb2.InteractResponse(
                        recorded_spec=service_pb2.InteractRecordedSpecResponse(sequence=seq, spec=spec)))
                elif kind == "finish":
                    await self._end(seq)
                    return
                elif kind in ("start", "resume"):
                    raise BadArgument(kind, "the stream already holds a session; send start or resume only as the "
                                            "first message of a stream")
                else:
                    raise BadArgument("kind", "an empty request; give advance, set_light, clear_light, recorded_spec "
                                              "or finish")
            except (BadArgument, QuotaExceeded) as exc:
                await self._reject(seq, exc)
            except Exception as exc:  # noqa: BLE001 - a session that cannot go on ends, stored as far as it got
                log.exception("session %s failed", self.id)
                await self._reject(seq, exc)
                await self._end(None)
                return

    async def _advance(self, n: int) -> None:
        if n < 1:
            raise BadArgument("advance.frames", f"{n}; must be >= 1")
        if self.next_frame + n > self._run_frames:
            raise BadArgument("advance.frames", f"{n} more frames would make {self.next_frame + n}; the spec's "
                                                f"numerics.duration_ms holds {self._run_frames} frames",
                              out_of_range=True)
        if self.next_frame + n > self._max_frames:
            raise QuotaExceeded([("client:advance.frames",
                                  f"{n} more frames would make {self.next_frame + n}; this server films at most "
                                  f"{self._max_frames} frames per session (--max-session-frames)")])
        for _ in range(n):
            async with self._changed:      # a bounded queue: wait while the stream lags queue_frames behind
                await self._changed.wait_for(
                    lambda: self._expiring or self._base + len(self._out) - self._cursor < self.limits.queue_frames)
            if self._expiring:
                return
            frame, coords = await self._run(self._film)
            if not self._coords:
                self._coords = coords
            await self._emit("frame", frame.index, service_pb2.InteractResponse(frame=frame))

    def _film(self):
        index = self.next_frame
        ds = self.session.next_frame()
        self.next_frame = index + 1
        return frame_message(ds, index, with_coords=not self._coords)

    async def _set_light(self, seq: int, cmd: service_pb2.InteractSetLight) -> None:
        irradiance = cmd.irradiance_mw_per_mm2
        if not (math.isfinite(irradiance) and irradiance >= 0):
            raise BadArgument("set_light.irradiance_mw_per_mm2", f"{irradiance!r}; must be finite and >= 0")
        where = cmd.WhichOneof("where")
        if where is None:
            raise BadArgument("set_light.where", "no light given; give a pattern or a raster (camera pixels)")
        name = cmd.name or None
        if where == "raster":
            pattern = raster_values(cmd.raster, self.shape)
        else:
            problems = self._check_pattern(cmd.pattern)
            if problems:
                field, description = problems[0]
                raise BadArgument(f"set_light.pattern{field}", description)
            pattern = json_format.MessageToDict(cmd.pattern, preserving_proto_field_name=True)
        before = self.session.last_applied_ns
        try:
            await self._run(self.session.set_light, pattern, irradiance, name=name)
        except (ValueError, TypeError) as exc:
            raise BadArgument(f"set_light.{where}", _violation_text(exc)) from None
        await self._applied(seq, before)

    async def _applied(self, seq: int, before_ns) -> None:
        """Answer a command with the session's record after it (``before_ns``: ``last_applied_ns`` before it; the
        session sets it anew when it records a command)."""
        s = self.session
        commands = s.commands
        recorded = bool(commands) and s.last_applied_ns != before_ns
        pattern = commands[-1]["pattern"] if recorded else None
        await self._emit("reply", seq, service_pb2.InteractResponse(command_applied=service_pb2.InteractCommandApplied(
            sequence=seq, frame=s.frame_index, time_ms=float(s.time_ms), recorded=recorded,
            commands_total=len(commands), pattern_json=json.dumps(pattern) if pattern is not None else "",
            applied_monotonic_ns=int(s.last_applied_ns or 0))))

    def _recorded_spec(self) -> spec_pb2.JobSpec:
        return json_format.ParseDict(self.session.recorded_spec(), spec_pb2.JobSpec())

    async def _reject(self, seq: int, exc: Exception) -> None:
        if isinstance(exc, QuotaExceeded):
            code, violations = code_pb2.RESOURCE_EXHAUSTED, [(s.removeprefix("client:"), d) for s, d in exc.violations]
        elif isinstance(exc, BadArgument):
            code = code_pb2.OUT_OF_RANGE if exc.out_of_range else code_pb2.INVALID_ARGUMENT
            violations = [(exc.field, exc.description)]
        else:
            code, violations = code_pb2.INTERNAL, []
        message = "; ".join(f"{f}: {d}" for f, d in violations) or f"the session failed: {type(exc).__name__}: {exc}"
        await self._emit("reply", seq, service_pb2.InteractResponse(rejected=service_pb2.InteractRejected(
            sequence=seq, code=code, message=message,
            violations=[service_pb2.SpecProblem(field=f, description=d) for f, d in violations])))

    async def _end(self, seq: int | None) -> None:
        """Store the session as a job, answer ``finish`` (when it was asked) and end the streams."""
        self._cancel_grace()
        try:
            self.job_id = await self._store(self)
        except Exception as exc:  # noqa: BLE001
            log.exception("session %s could not be stored", self.id)
            if seq is not None:
                await self._reject(seq, exc)
            self.job_id = ""
        else:
            if seq is not None:
                await self._emit("reply", seq, service_pb2.InteractResponse(
                    finished=service_pb2.InteractFinishedResponse(sequence=seq, job_id=self.job_id)))
        async with self._changed:
            self.ended = True
            self._changed.notify_all()

    async def close(self) -> None:
        """End the session now (the server stopping): stored as a job as far as it got."""
        if not self.ended and not self._expiring:
            self._stream = 0
            await self._expire()
        try:
            await asyncio.wait_for(asyncio.shield(self._actor), timeout=60)
        except asyncio.TimeoutError:
            self._actor.cancel()


def _violation_text(exc: Exception) -> str:
    violations = getattr(exc, "violations", None)
    if violations:
        return "; ".join(f"{getattr(v, 'field', '')}: {getattr(v, 'description', v)}".lstrip(": ")
                         for v in violations)
    return str(exc)
