"""A live session on a server (``Interact``), with the methods and attributes of :class:`solver.Session`.

>>> with client.interact("spec.json") as session:                    # doctest: +SKIP
...     for _ in range(100):
...         frame = session.next_frame()                              # xarray.Dataset: dff, fluorescence
...         if float(frame.dff.mean()) < 0.05:
...             session.set_light({"disk": {"center_um": {"x": 300, "y": 300}, "radius_um": 50}}, 1.0)
...         else:
...             session.clear_light()
...     ds = session.finish("run.zarr")                               # the stored job's result

The loop is lockstep: ``next_frame`` asks the server for one frame and waits for it, so a command sent
after frame k takes effect at the start of frame k + 1, as in process. A dropped connection is taken
up again within the server's grace period (the session's token and the last frame held): no frame is
lost or doubled, and requests the server had not seen are sent again. Frames are decoded with numpy,
numcodecs and xarray only (no solver).
"""
from __future__ import annotations

import json
import queue
import time
import uuid
from collections import deque

import grpc
import numpy as np
import xarray as xr
from google.protobuf import json_format
from numcodecs import Zstd

from optowave.v1 import service_pb2, spec_pb2

_ZSTD = Zstd()


class RemoteSession:
    """A session on a server; make one with :meth:`clients.Client.interact`.

    Attributes
    ----------
    frame_period_ms, shape, max_frames
        The camera's frame period (ms), its pixels (rows, columns), the frames the session may film.
    frame_index, time_ms
        The index and start time (ms) of the next frame :meth:`next_frame` returns.
    commands
        The light commands taken so far: ``frame`` (at whose start it took effect), ``time_ms``, ``pattern``,
        ``irradiance``, ``name``.
    session_id, job
        The session's id; after :meth:`finish`, the :class:`clients.client.Job` it was stored as.
    resumes
        How many times a dropped stream was taken up again.
    """

    def __init__(self, client, spec, include_v: bool = False, *, request_id: str | None = None,
                 reconnect_timeout: float | None = None):
        from .client import spec_message

        self._client = client
        self._reconnect_timeout = reconnect_timeout
        self.include_v = include_v
        self.commands: list[dict] = []
        self.job = None
        self.resumes = 0
        self.last_applied_ns: int | None = None   # the server's time.monotonic_ns() when the last command joined
        self._irradiance = 0.0
        self._seq = 0
        self._unanswered: dict[int, service_pb2.InteractRequest] = {}   # requests sent, their answer not here
        self._frames: deque = deque()
        self._advances: deque = deque()      # [sequence, frames still to come] of each advance sent
        self._replies: dict[int, service_pb2.InteractResponse] = {}
        self._last_frame, self._last_reply = -1, 0
        self._coords: dict[str, xr.Variable] = {}
        self._template: tuple | None = None
        self._ended = False
        start = service_pb2.InteractStart(spec=spec_message(spec), include_v=include_v,
                                          request_id=request_id or str(uuid.uuid4()))
        self._open(service_pb2.InteractRequest(start=start))
        self.frame_index = 0

    # ------------------------------------------------------------ attributes as in process

    @property
    def time_ms(self) -> float:
        return self.frame_index * self.frame_period_ms

    def __enter__(self) -> "RemoteSession":
        return self

    def __exit__(self, kind, value, tb) -> None:
        if kind is None:
            self.close()
            return
        try:             # leaving on an error: end the session if the server can still be told, keep the error
            self.close()
        except Exception:  # noqa: BLE001
            pass

    def __repr__(self) -> str:
        return f"RemoteSession({getattr(self, 'session_id', '?')!r}, frame {self.frame_index})"

    # ------------------------------------------------------------ the loop

    def next_frame(self) -> xr.Dataset:
        """Film the next frame on the server and return it (``dff``, ``fluorescence``; ``v`` on request)."""
        if not self._frames:
            seq = self._send(service_pb2.InteractRequest(advance=service_pb2.InteractAdvance(frames=1)),
                             answered=False)
            while not self._frames:
                if seq in self._replies:            # refused (the end of the run, a limit)
                    self._advances.clear()
                    self._raise(self._replies.pop(seq))
                self._receive()
        frame = self._frames.popleft()
        self.frame_index = int(frame.index) + 1
        return self._dataset(frame)

    def set_light(self, pattern, irradiance_mw_per_mm2: float, *, name: str | None = None) -> None:
        """Light ``pattern`` (a spec ``Pattern`` as a dict or message, a ``solver.stimulus.light`` shape, or a 2-D
        array of weights on the camera's pixels) at ``irradiance_mw_per_mm2`` from the next frame's start on."""
        cmd = service_pb2.InteractSetLight(irradiance_mw_per_mm2=float(irradiance_mw_per_mm2), name=name or "")
        if hasattr(pattern, "to_dict"):      # a solver.stimulus.light shape: its plain dict
            pattern = pattern.to_dict()
        if isinstance(pattern, spec_pb2.Pattern):
            cmd.pattern.CopyFrom(pattern)
        elif isinstance(pattern, dict):
            try:
                json_format.ParseDict(pattern, cmd.pattern)
            except json_format.ParseError as exc:
                raise ValueError(f"set_light pattern: {exc}") from None
        else:
            values = np.asarray(pattern, dtype="<f8")
            if values.ndim != 2:
                raise ValueError(f"set_light pattern: an array of {values.ndim} dimensions; give weights on the "
                                 f"camera's pixels, shape {self.shape}")
            cmd.raster.CopyFrom(service_pb2.CameraRaster(shape=list(values.shape), dtype="<f8",
                                                         data=np.ascontiguousarray(values).tobytes()))
        self._irradiance = float(irradiance_mw_per_mm2)
        self._record(self._ask(service_pb2.InteractRequest(set_light=cmd)).command_applied)

    def clear_light(self) -> None:
        """No light of commands from the next frame's start on."""
        self._irradiance = 0.0
        reply = self._ask(service_pb2.InteractRequest(clear_light=service_pb2.InteractClearLight()))
        self._record(reply.command_applied)

    def recorded_spec(self) -> dict:
        """The spec with the commands so far as light stimuli (replayed as a job, it gives this run's result)."""
        reply = self._ask(service_pb2.InteractRequest(recorded_spec=service_pb2.InteractRecordedSpec()))
        return json_format.MessageToDict(reply.recorded_spec.spec, preserving_proto_field_name=True)

    def finish(self, store=None) -> xr.Dataset:
        """End the session; the server stores it as a job, whose result is fetched (into ``store`` if given)."""
        if self.job is None:
            self._end()
        if self.job is None:
            raise RuntimeError(f"session {self.session_id} filmed no frame: there is no result")
        return self.job.result(store)

    def close(self) -> None:
        """End the session (stored as a job on the server) without fetching its result."""
        if not self._ended:
            self._end()

    # ------------------------------------------------------------ requests and answers

    def _end(self) -> None:
        reply = self._ask(service_pb2.InteractRequest(finish=service_pb2.InteractFinish()))
        self._ended = True
        job_id = reply.finished.job_id
        self._hang_up()
        if job_id:
            self.job = self._client.job(job_id)

    def _record(self, applied: service_pb2.InteractCommandApplied) -> None:
        """Keep :attr:`commands` as the server's record: a command that changed nothing is not in it, one that
        replaced an unstarted command takes its place."""
        self.last_applied_ns = applied.applied_monotonic_ns or None
        if not applied.recorded:
            return
        del self.commands[applied.commands_total - 1:]
        pattern = json.loads(applied.pattern_json) if applied.pattern_json else None
        self.commands.append({"frame": int(applied.frame), "time_ms": float(applied.time_ms), "pattern": pattern,
                              "irradiance": self._irradiance})

    def _ask(self, request: service_pb2.InteractRequest) -> service_pb2.InteractResponse:
        if self._ended:
            raise RuntimeError(f"session {self.session_id} has ended")
        seq = self._send(request, answered=True)
        while seq not in self._replies:
            self._receive()
        reply = self._replies.pop(seq)
        if reply.WhichOneof("kind") == "rejected":
            self._raise(reply)
        return reply

    @staticmethod
    def _raise(reply: service_pb2.InteractResponse) -> None:
        from .client import ServiceError

        r = reply.rejected
        raise ServiceError(_CODES.get(r.code, grpc.StatusCode.UNKNOWN), r.message,
                           [(v.field, v.description) for v in r.violations])

    def _send(self, request: service_pb2.InteractRequest, *, answered: bool) -> int:
        self._seq += 1
        request.sequence = self._seq
        self._unanswered[self._seq] = request
        if not answered:       # an advance is answered by its frames
            self._advances.append([self._seq, request.advance.frames])
        self._outbox.put(request)
        return self._seq

    def _receive(self) -> None:
        """Take the next message of the stream, resuming the session when the stream dropped."""
        from .client import ServiceError

        try:
            message = next(self._call)
        except StopIteration:        # the server ended the session (it failed, or the server is stopping)
            self._ended = True
            self._hang_up()
            raise ServiceError(grpc.StatusCode.ABORTED, f"session {self.session_id} was ended by the server; it is "
                                                        "stored as a job of the same id as far as it got") from None
        except grpc.RpcError as err:
            self._resume(err)
            return
        kind = message.WhichOneof("kind")
        if kind == "frame":
            f = message.frame
            if f.index != self._last_frame + 1:
                from .client import ServiceError

                raise ServiceError(grpc.StatusCode.DATA_LOSS, f"session {self.session_id}: frame {f.index} arrived "
                                                              f"after frame {self._last_frame}")
            self._last_frame = int(f.index)
            for c in f.coords:
                self._coords[c.name] = xr.Variable(tuple(c.dims), _decode(c), json.loads(c.attributes_json or "{}"))
            self._frames.append(f)
            if self._advances:             # the server takes requests in order: those before are taken too
                self._advances[0][1] -= 1
                if self._advances[0][1] <= 0:
                    self._taken(self._advances.popleft()[0])
        elif kind is not None and kind != "started":
            seq = getattr(message, kind).sequence
            self._last_reply = max(self._last_reply, seq)
            self._taken(seq)
            self._replies[seq] = message

    def _taken(self, seq: int) -> None:
        """The server has taken every request up to ``seq``: none of them is sent again after a resume."""
        for s in [s for s in self._unanswered if s <= seq]:
            del self._unanswered[s]

    # ------------------------------------------------------------ the stream

    def _open(self, first: service_pb2.InteractRequest) -> None:
        from .client import ServiceError

        self._outbox: queue.Queue = queue.Queue()
        self._outbox.put(first)
        outbox = self._outbox

        def requests():
            while True:
                item = outbox.get()
                if item is None:
                    return
                yield item

        self._call = self._client.stub.Interact(requests(), metadata=self._client._metadata)
        try:
            started = next(self._call)
        except grpc.RpcError as err:
            self._outbox.put(None)
            raise ServiceError.from_rpc(err) from None
        s = started.started
        self.session_id, self._token = s.session_id, s.resume_token
        self.frame_period_ms, self.shape = s.frame_period_ms, tuple(int(n) for n in s.shape)
        self.max_frames = int(s.max_frames)
        self._grace_s = s.grace_s
        self._taken(s.last_sequence)
        for seq in sorted(self._unanswered):       # requests the server has not seen go again, in order
            self._outbox.put(self._unanswered[seq])

    def _resume(self, error) -> None:
        from .client import RETRYABLE, ServiceError

        if error.code() not in RETRYABLE:
            raise ServiceError.from_rpc(error) from None
        self._hang_up()
        limit = self._reconnect_timeout if self._reconnect_timeout is not None else self._grace_s
        deadline, delay = time.monotonic() + limit, 0.05
        while True:
            resume = service_pb2.InteractResume(session_id=self.session_id, resume_token=self._token,
                                                last_frame=self._last_frame, last_reply=self._last_reply)
            try:
                self._open(service_pb2.InteractRequest(resume=resume))
                self.resumes += 1
                return
            except ServiceError as exc:
                if exc.code not in RETRYABLE or time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(2 * delay, 1.0)

    def _hang_up(self) -> None:
        self._outbox.put(None)
        self._call.cancel()

    def _dataset(self, frame: service_pb2.InteractFrame) -> xr.Dataset:
        """The frame as a Dataset: a shallow copy of a template (coordinates, attributes of the arrays) built once,
        with this frame's arrays (building a Dataset anew costs about a millisecond of the loop's budget)."""
        key = (tuple((a.name, tuple(a.dims), tuple(a.shape), a.dtype) for a in frame.arrays), tuple(self._coords))
        if self._template is None or self._template[0] != key:
            data = {a.name: xr.Variable(tuple(a.dims), np.zeros(tuple(a.shape), a.dtype),
                                        json.loads(a.attributes_json or "{}")) for a in frame.arrays}
            dims = {d for v in data.values() for d in v.dims}
            coords = {name: c for name, c in self._coords.items() if set(c.dims) <= dims}
            self._template = (key, xr.Dataset(data, coords=coords))
        ds = self._template[1].copy(deep=False)
        for a in frame.arrays:
            ds.variables[a.name].data = _decode(a)
        ds.attrs = json.loads(frame.attributes_json or "{}")
        return ds


def _decode(a: service_pb2.FrameArray) -> np.ndarray:
    if a.codec == "zstd":
        raw = bytearray(_ZSTD.decode(a.data))     # a writable buffer: the array owns it
    elif a.codec == "raw":
        raw = bytearray(a.data)
    else:
        raise ValueError(f"array {a.name!r} of a frame is encoded as {a.codec!r}; this client reads zstd and raw")
    return np.frombuffer(raw, dtype=a.dtype).reshape(tuple(a.shape))


_CODES = {c.value[0]: c for c in grpc.StatusCode}
