"""Sweeps and design searches on a server, as the Python client sees them.

>>> sweep = client.sweep("sweep.yaml")            # doctest: +SKIP
>>> sweep.watch()                                 # runs done / failed / left; Ctrl-C cancels
>>> ds = sweep.summary()                          # an xarray.Dataset
>>> design = client.design("examples/design/spot_threshold.yaml")   # doctest: +SKIP
>>> design.watch()                                # a bar over the rounds, the bracket so far
>>> design.report("out/spot")                     # report.json, found.json, runs.csv, report.png
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Iterator

import google_crc32c
import grpc
import numpy as np
from google.protobuf import json_format

from optowave.v1 import service_pb2

from ._errors import TERMINAL, JobError, ServiceError


def _state(value: int) -> str:
    return service_pb2.JobState.Name(value)[len("JOB_STATE_"):]


class _Remote:
    """What sweeps and designs share: refresh, events, wait, cancel, delete, watch with Ctrl-C."""

    kind = ""
    _message_field = ""

    def __init__(self, client, message):     # client: the clients.Client that made it
        self.client = client
        self._set(message)

    def _set(self, m) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    def _request(self, name: str):
        cls = getattr(service_pb2, f"{name}Request")
        return cls(**{f"{self.kind}_id": self.id})

    def _unary(self, name: str):
        response = self.client._call(f"{name}", self._request(name))
        if self._message_field:
            self._set_keep_spec(getattr(response, self._message_field))
        return self

    def _set_keep_spec(self, m) -> None:
        if not m.HasField("spec") and self.message.HasField("spec"):
            spec = type(m.spec)()
            spec.CopyFrom(self.message.spec)
            m.spec.CopyFrom(spec)
        self._set(m)

    def refresh(self):
        return self._unary(f"Get{self.kind.capitalize()}")

    def cancel(self):
        """Stop it: runs in progress stop within a chunk, queued runs never start; the state becomes CANCELLED."""
        return self._unary(f"Cancel{self.kind.capitalize()}")

    def delete(self) -> None:
        """Forget a finished one and delete its results on the server."""
        self.client._call(f"Delete{self.kind.capitalize()}", self._request(f"Delete{self.kind.capitalize()}"))

    def _events(self, *, reconnect_timeout: float = 120.0) -> Iterator:
        name = f"Watch{self.kind.capitalize()}"
        request = self._request(name)
        yield from self.client._resumable(lambda: self.client._stream(name, request),
                                          reconnect_timeout=reconnect_timeout)

    def events(self, *, reconnect_timeout: float = 120.0) -> Iterator:
        """Itself after each change until terminal; survives dropped connections and server restarts."""
        for event in self._events(reconnect_timeout=reconnect_timeout):
            self._set_keep_spec(getattr(event, self.kind))
            yield self

    def wait(self, *, timeout: float | None = None, poll_s: float | None = None):
        """Block until terminal (``timeout`` seconds, then TimeoutError). ``poll_s`` is accepted for older code."""
        t0 = time.monotonic()
        for _ in self.events():
            if timeout is not None and time.monotonic() - t0 > timeout and not self.terminal:
                raise TimeoutError(f"{self.kind} {self.id} is still {self.state} after {timeout:g} s")
        return self

    def watch(self, *, progress: bool | None = None, stream=None, bar=None, cancel_on_interrupt: bool = True):
        """Follow it to its end with a progress bar (``bar``: a tqdm-like class, e.g. ``tqdm.notebook.tqdm``;
        otherwise a bar in a terminal). Ctrl-C cancels it on the server (``cancel_on_interrupt``) and re-raises."""
        from clients.progress import progress_bar

        stream = stream or sys.stderr
        show = progress if progress is not None else stream.isatty()
        draw = progress_bar(f"{self.kind} {self.id[:8]}", unit=self._unit, bar=bar, stream=stream,
                            enabled=bool(show))
        try:
            for _ in self.events():
                done, total = self._done_total()
                draw(done, total)
                self._on_event(stream if show or bar is not None else None)
        except KeyboardInterrupt:
            if cancel_on_interrupt:
                self.cancel()
                print(f"\n{self.kind} {self.id}: {self.state} (cancelled on the server)", file=stream)
            raise
        finally:
            if hasattr(draw, "close"):
                draw.close()
        return self

    _unit = "runs"

    def _done_total(self) -> tuple[int, int]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _on_event(self, stream) -> None:
        pass


class Sweep(_Remote):
    """A sweep on the server (a snapshot; :meth:`refresh` updates it). ``failed_runs``: ``(parameters, error)``
    of each failed run, ``parameters`` the axis values of the run."""

    kind, _message_field = "sweep", "sweep"

    def _set(self, m: service_pb2.Sweep) -> None:
        self.message, self.id = m, m.id
        self.state = _state(m.state)
        self.runs_total, self.runs_done, self.runs_failed = m.runs_total, m.runs_done, m.runs_failed
        self.runs_per_second, self.eta_seconds = m.runs_per_second, m.eta_seconds
        self.failed_runs = [(json_format.MessageToDict(f)["parameters"] if f.parameters else {}, f.error)
                            for f in m.failed_runs]
        self.error = m.error

    @property
    def runs_left(self) -> int:
        return self.runs_total - self.runs_done

    def __repr__(self) -> str:
        return f"Sweep({self.id!r}, {self.state}, {self.runs_done}/{self.runs_total} runs, {self.runs_failed} failed)"

    def _done_total(self) -> tuple[int, int]:
        return self.runs_done, max(1, self.runs_total)

    def summary(self, *, reconnect_timeout: float = 120.0):
        """The sweep's summary ``xarray.Dataset`` (waits until the sweep is done; a cancelled sweep's holds the
        runs that finished, the others "not run")."""
        import xarray as xr

        header, arrays, buf = None, {}, {}
        request = service_pb2.StreamSweepSummaryRequest(sweep_id=self.id)

        def open_stream():
            arrays.clear()
            buf.clear()
            return self.client._stream("StreamSweepSummary", request)

        for message in self.client._resumable(open_stream, reconnect_timeout=reconnect_timeout):
            if message.HasField("header"):
                header = json.loads(message.header.dataset_json)
                continue
            c = message.chunk
            data = buf.setdefault(c.variable, bytearray())
            data += c.data
            if len(data) == c.total_bytes:
                if google_crc32c.value(bytes(data)) != c.crc32c:
                    raise ServiceError(grpc.StatusCode.DATA_LOSS, f"checksum mismatch in variable {c.variable}")
                a = np.frombuffer(bytes(data), dtype=np.dtype(c.dtype)).reshape(tuple(c.shape))
                arrays[c.variable] = a.astype(object) if a.dtype.kind == "U" else a   # text, as xarray keeps it
        coords = {n: (v["dims"], arrays[n], v["attrs"]) for n, v in header["variables"].items() if v["coord"]}
        data_vars = {n: (v["dims"], arrays[n], v["attrs"]) for n, v in header["variables"].items() if not v["coord"]}
        self.refresh()
        return xr.Dataset(data_vars, coords=coords, attrs=header["attrs"])


class Design(_Remote):
    """A design search on the server (a snapshot). ``rounds_done``, ``runs_done``, ``rounds_left`` (None:
    unknown yet), ``brackets`` (the failing and succeeding ends so far), ``best`` (minimise), ``last_runs`` (the
    runs of the round just finished, as dicts) and, once SUCCEEDED, ``result`` (the report's summary)."""

    kind, _message_field, _unit = "design", "design", "rounds"

    def __init__(self, client, message):     # client: the clients.Client that made it
        self.last_runs: list[dict] = []
        super().__init__(client, message)

    def _set(self, m: service_pb2.Design) -> None:
        self.message, self.id, self.name, self.search = m, m.id, m.name, m.search
        self.state = _state(m.state)
        self.rounds_done, self.runs_done = m.rounds_done, m.runs_done
        self.rounds_left = m.rounds_left if m.HasField("rounds_left") else None
        self.brackets = [{"parameter": b.parameter, "fixed": dict(b.fixed), "low": b.low, "high": b.high,
                          "status": b.status} for b in m.brackets]
        self.best = dict(m.best) or None
        self.best_objective = m.best_objective if self.best else None
        self.result = json.loads(m.result_json) if m.result_json else None
        self.error = m.error

    def __repr__(self) -> str:
        left = "" if self.rounds_left is None else f", <= {self.rounds_left} left"
        return f"Design({self.id!r}, {self.search}, {self.state}, {self.rounds_done} rounds{left}, {self.runs_done} runs)"

    def events(self, *, reconnect_timeout: float = 120.0) -> Iterator["Design"]:
        for event in self._events(reconnect_timeout=reconnect_timeout):
            self._set_keep_spec(event.design)
            if event.runs:
                self.last_runs = [json_format.MessageToDict(r, preserving_proto_field_name=True,
                                                            always_print_fields_with_no_presence=True)
                                  for r in event.runs]
            yield self

    def _done_total(self) -> tuple[int, int]:
        if self.terminal:
            return self.rounds_done, max(1, self.rounds_done)
        left = self.rounds_left if self.rounds_left is not None else 1
        return self.rounds_done, max(1, self.rounds_done + left)

    def _on_event(self, stream) -> None:
        if stream is None or not self.brackets:
            return
        b = self.brackets[0]
        print(f"  round {self.rounds_done}: {b['parameter']} in [{b['low']:.5g}, {b['high']:.5g}]", file=stream)

    def report(self, directory, *, reconnect_timeout: float = 120.0) -> dict[str, Path]:
        """Fetch the report files of a SUCCEEDED design into ``directory`` (waits while it runs); returns their
        paths by file name. Raises :class:`JobError` when the design ended FAILED or CANCELLED."""
        out = Path(directory)
        request = service_pb2.StreamDesignReportRequest(design_id=self.id)
        files: dict[str, bytearray] = {}
        try:
            for message in self.client._resumable(lambda: self.client._stream("StreamDesignReport", request),
                                                  reconnect_timeout=reconnect_timeout):
                p = message.piece
                if p.byte_offset == 0:
                    files[p.name] = bytearray()
                data = files.setdefault(p.name, bytearray())
                if p.byte_offset != len(data):      # a resumed stream starts each file again
                    continue
                data += p.data
                if len(data) == p.total_bytes and google_crc32c.value(bytes(data)) != p.crc32c:
                    raise ServiceError(grpc.StatusCode.DATA_LOSS, f"checksum mismatch in {p.name}")
        except ServiceError as exc:
            if exc.code == grpc.StatusCode.FAILED_PRECONDITION:
                self.refresh()
                raise JobError(f"design {self.id} is {self.state}" + (f": {self.error}" if self.error else "")) \
                    from None
            raise
        out.mkdir(parents=True, exist_ok=True)
        paths = {}
        for name, data in files.items():
            (out / name).write_bytes(bytes(data))
            paths[name] = out / name
        self.refresh()
        return paths
