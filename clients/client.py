"""The Python client of an optowave server: submit specs, watch jobs, get results as xarray.

>>> client = Client("lab-server:50051", token="...", tls="ca.pem")     # doctest: +SKIP
>>> job = client.submit("examples/spiral.json")                        # a file, a dict or a JobSpec
>>> job.watch()                                                        # a progress bar in a terminal
>>> ds = job.result("spiral.zarr")                                     # an xarray.Dataset

``job.result`` streams the committed chunks into a local Zarr store. Each array arrives as pieces
whose CRC32C is checked; after a dropped connection or a server restart it reconnects and
resumes from the first chunk it does not have (its progress is kept in ``<store>.fetch.json``
beside the store, so a later call resumes too). Calls that change nothing, and ``submit`` (made
idempotent by its request_id), are retried while the server is UNAVAILABLE.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import uuid
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Iterator

import grpc
import numpy as np
from google.protobuf import json_format
from google.protobuf.message import Message

from optowave import files
from optowave.v1 import service_pb2, service_pb2_grpc, spec_pb2

from ._errors import TERMINAL, JobError, ServiceError
from ._bulk import bulk_host
from ._fetch import MAX_RESYNCS, FetchReport, _Resync, _StoreWriter

MiB = 2**20
_SERVICE = "optowave.v1.SimulationService"
_RETRY_CONFIG = json.dumps({"methodConfig": [{
    "name": [{"service": _SERVICE}],
    "retryPolicy": {"maxAttempts": 5, "initialBackoff": "0.2s", "maxBackoff": "3s", "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"]}}]})
#: Keepalive pings every 30 s (the server accepts them down to every 10 s), fast reconnects, room
#: for large specs; unary calls are retried while the server is UNAVAILABLE.
CHANNEL_OPTIONS = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.max_receive_message_length", 16 * MiB),
    ("grpc.max_send_message_length", 16 * MiB),
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 3_000),
    ("grpc.enable_retries", 1),
    ("grpc.service_config", _RETRY_CONFIG),
]
#: Status codes after which a stream is resumed (the connection dropped, the server restarted).
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED,
                       grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN})
@dataclass(frozen=True)
class TLS:
    """TLS settings: the CA that signed the server's certificate (None: the system's roots), and for
    mutual TLS this client's certificate and key (PEM files)."""

    ca: str | os.PathLike | None = None
    cert: str | os.PathLike | None = None
    key: str | os.PathLike | None = None

    def credentials(self) -> grpc.ChannelCredentials:
        read = lambda p: Path(p).read_bytes() if p else None  # noqa: E731
        return grpc.ssl_channel_credentials(root_certificates=read(self.ca), private_key=read(self.key),
                                            certificate_chain=read(self.cert))


@dataclass(frozen=True)
class Validation:
    ok: bool
    errors: tuple[tuple[str, str], ...]
    warnings: tuple[tuple[str, str], ...]
    cost: dict = field(default_factory=dict)   # cell_steps, output_bytes, state_bytes, seconds


# ---------------------------------------------------------------- specs


def spec_message(spec) -> spec_pb2.JobSpec:
    """A ``JobSpec`` message from a file path, JSON/YAML text, a dict, a message or a spec object
    (anything with the spec's JSON in ``.json``). Rasters given as ``.npy`` files, images given as PNG files and a
    Myokit model given as ``tissue.model.mmt_path`` are read (relative to the spec file) and sent inline (the
    model as ``tissue.model.definition``): a server never reads files named by a client."""
    base_dir = Path(".")
    if isinstance(spec, spec_pb2.JobSpec):
        msg = spec_pb2.JobSpec()
        msg.CopyFrom(spec)
        return _inline_files(msg, base_dir)
    if hasattr(spec, "json") and isinstance(spec.json, str):
        base_dir = Path(getattr(spec, "base_dir", ".") or ".")
        spec = json.loads(spec.json)
    elif isinstance(spec, (str, os.PathLike)):
        spec, found = _read_mapping(spec, "spec")
        base_dir = found or base_dir
    if not isinstance(spec, dict):
        raise ValueError("a spec must be a path, JSON/YAML text, a dict or a JobSpec message; "
                         f"got {type(spec).__name__}")
    solver_spec = _solver_spec()
    if solver_spec is not None:         # every problem, in the file's spelling, as `optowave validate` names it
        problems = solver_spec.schema_violations(spec, spec_pb2.JobSpec.DESCRIPTOR)
        if problems:
            raise solver_spec.SpecError(problems)
    msg = spec_pb2.JobSpec()
    try:
        json_format.ParseDict(spec, msg, ignore_unknown_fields=False)
    except json_format.ParseError as exc:
        raise ValueError(f"invalid spec: {exc}") from None
    return _inline_files(msg, base_dir)


def _solver_spec():
    """The solver's spec reading when it is installed (its limits, encodings and messages), else None: the lab
    client works without the solver, reading files with plain JSON/YAML and protobuf."""
    try:
        from solver.spec import SpecError, read_mapping
        from solver.spec._schema import schema_violations
    except ImportError:
        return None
    return SimpleNamespace(SpecError=SpecError, read_mapping=read_mapping, schema_violations=schema_violations)


def _read_mapping(source, what: str) -> tuple[object, Path | None]:
    text, base = str(source), None
    s = text.strip()
    is_path = isinstance(source, os.PathLike) or ("\n" not in s and not s.startswith("{")
                                                  and (s.endswith((".json", ".yaml", ".yml")) or os.path.exists(s)))
    if is_path and not Path(source).exists():
        raise FileNotFoundError(f"{what} file {str(source)!r} does not exist")
    solver_spec = _solver_spec()
    if solver_spec is not None:       # one reading of files: sizes and aliases bounded, UTF-16/32 decoded
        d, found = solver_spec.read_mapping(Path(source) if is_path else source, what=what)
        return d, (Path(found) if is_path else None)
    if is_path:
        path = Path(source)
        text, base = path.read_text(), path.resolve().parent
    try:
        return json.loads(text), base
    except json.JSONDecodeError as exc:
        if text.lstrip().startswith("{"):
            raise ValueError(f"{what} is not valid JSON: {exc}") from None
    import yaml

    return yaml.safe_load(text), base


def _inline_files(msg: Message, base_dir: Path, path: str = "") -> Message:
    """Replace every raster's ``npy_path`` and every image's ``png_path`` in ``msg`` by the file's values, in place;
    errors name the field (``light[0].pattern.image.png_path``)."""
    for fd, value in msg.ListFields():
        where = f"{path}.{fd.name}" if path else fd.name
        if fd.name == "npy_path" and value and msg.DESCRIPTOR.name == "Raster":
            file = Path(base_dir) / value
            if not file.exists():
                raise FileNotFoundError(f"{where}: raster file {str(file)!r} does not exist")
            _set_raster(msg, np.load(file))
            msg.npy_path = ""
        elif fd.name == "png_path" and value and msg.DESCRIPTOR.name == "Image":
            if msg.HasField("pixels"):
                raise ValueError(f"{path}: give pixels or png_path, not both")
            _set_raster(msg.pixels, _read_png(Path(base_dir) / value, where))
            msg.png_path = ""
        elif fd.name == "mmt_path" and value and msg.DESCRIPTOR.name == "CellModel":
            if msg.HasField("definition"):
                raise ValueError(f"{path}: give definition or mmt_path, not both")
            json_format.ParseDict(_read_mmt(Path(base_dir) / value, where), msg.definition)
            msg.mmt_path = ""
        elif fd.message_type is not None and not fd.message_type.GetOptions().map_entry:
            for k, item in enumerate(value) if fd.is_repeated else [(None, value)]:
                _inline_files(item, base_dir, where if k is None else f"{where}[{k}]")
    return msg


def _read_mmt(file: Path, where: str) -> dict:
    """The description of a Myokit model file (``solver.models.mmt``, here on the client's machine)."""
    if not file.exists():
        raise FileNotFoundError(f"{where}: model file {str(file)!r} does not exist")
    try:
        from solver.models.mmt import load_mmt
    except ImportError:
        raise ValueError(f"{where}: reading a Myokit .mmt file needs optowave's solver and Myokit on this machine "
                         "(pip install 'optowave[myokit]'); or send the model as tissue.model.definition "
                         "(`optowave model import FILE.mmt` writes one)") from None
    try:
        return load_mmt(file)
    except ValueError as exc:   # MmtError: the file, the line and the variable
        raise ValueError(f"{where}: {exc}") from None


def _set_raster(raster: spec_pb2.Raster, values: np.ndarray) -> None:
    del raster.shape[:]
    raster.shape.extend(values.shape)
    del raster.values[:]
    raster.values.extend(np.asarray(values, dtype=np.float64).ravel().tolist())


def _read_png(file: Path, where: str) -> np.ndarray:
    """The PNG's values in [0, 1] exactly as the solver reads an image's ``png_path`` (luminance, times alpha)."""
    if not file.exists():
        raise FileNotFoundError(f"{where}: image file {str(file)!r} does not exist")
    from solver.stimulus.patterns import load_image   # one reading of PNG images, the solver's
    from solver.spec import types

    image = types.Image(pixels=None, png_path=str(file), pixel_pitch_um=1.0, rotation_deg=0.0,
                        offset_um=types.Point(0.0, 0.0))
    try:
        return load_image(image)
    except (OSError, ValueError, SyntaxError) as exc:
        raise ValueError(f"{where}: cannot read {str(file)!r} as a PNG image: {exc}") from None


def design_message(design) -> service_pb2.DesignSpec:
    """A ``DesignSpec`` message from a design file, its text, a dict (the file's form) or a message, read as
    ``optowave design`` reads it here (:mod:`optowave.files`); the base (a file name relative to the design file,
    or inline) is sent as a ``JobSpec`` with its files inlined. Raises ``optowave.files.FileError`` listing
    every problem of the file; the server checks the rest."""
    if isinstance(design, service_pb2.DesignSpec):
        return design
    return _file_message(design, "design", files.design_message)


def sweep_message(sweep) -> service_pb2.SweepSpec:
    """A ``SweepSpec`` message from a sweep file, text, dict (the sweep file's form) or message, read as
    ``optowave sweep`` reads it here (:mod:`optowave.files`: every problem named, nothing replaced by a default);
    raises ``optowave.files.FileError``."""
    if isinstance(sweep, service_pb2.SweepSpec):
        return sweep
    return _file_message(sweep, "sweep", files.sweep_message)


def _file_message(source, what: str, convert):
    doc_dir = Path(".")
    if isinstance(source, (str, os.PathLike)):
        source, found = _read_mapping(source, what)
        doc_dir = found or doc_dir
    msg, _, problems = convert(source, doc_dir=str(doc_dir), read_base=_sent_base)
    if problems:
        raise files.FileError(problems, what="sweep spec" if what == "sweep" else what)
    return msg


def _sent_base(raw, doc_dir: str):
    """The base job spec of a sweep or design file as the server gets it (files inlined), for optowave.files."""
    if isinstance(raw, str):
        raw = Path(raw) if Path(raw).is_absolute() else Path(doc_dir) / raw
    try:
        return spec_message(raw), doc_dir, []
    except (ValueError, FileNotFoundError) as exc:
        found = getattr(exc, "violations", None)
        if found:
            return None, doc_dir, [("base" if v.field == "spec" else f"base.{v.field}", v.description) for v in found]
        return None, doc_dir, [("base", str(exc))]


# ---------------------------------------------------------------- the client


class Client:
    """A connection to an optowave server.

    Parameters
    ----------
    address
        ``HOST:PORT`` (or ``unix:PATH``).
    token
        The bearer token this client sends (``--token-file`` of the server lists it).
    tls
        None or False: plaintext; True: TLS with the system's roots; a path: TLS with that CA file;
        a :class:`TLS`: TLS with a CA and, for mutual TLS, a client certificate and key.
    timeout
        Seconds for each unary call.
    """

    def __init__(self, address: str, token: str | None = None, tls=None, *, timeout: float = 60.0):
        self.address, self.timeout = address, timeout
        if tls is True:
            tls = TLS()
        elif isinstance(tls, (str, os.PathLike)):
            tls = TLS(ca=tls)
        self._tls = tls or None
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self._channel = self._open()

    def _open(self) -> grpc.Channel:
        if self._tls is not None:
            channel = grpc.secure_channel(self.address, self._tls.credentials(), options=CHANNEL_OPTIONS)
        else:
            channel = grpc.insecure_channel(self.address, options=CHANNEL_OPTIONS)
        self.stub = service_pb2_grpc.SimulationServiceStub(channel)
        return channel

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.address!r}{', tls' if self._tls else ''})"

    def _call(self, name: str, request, *, timeout: float | None = None):
        try:   # UNAVAILABLE is retried a few times by the channel's retry policy, then reported
            return getattr(self.stub, name)(request, metadata=self._metadata, timeout=timeout or self.timeout)
        except grpc.RpcError as err:
            raise ServiceError.from_rpc(err) from None

    def _stream(self, name: str, request):
        return getattr(self.stub, name)(request, metadata=self._metadata, wait_for_ready=True)

    # ------------------------------------------------------------ jobs

    def validate(self, spec) -> Validation:
        """Errors, warnings and the cost estimate of a spec, as the server sees it (nothing runs)."""
        r = self._call("ValidateJob", service_pb2.ValidateJobRequest(spec=spec_message(spec)))
        cost = ({"cell_steps": int(r.cost.cell_steps), "output_bytes": int(r.cost.output_bytes),
                 "state_bytes": int(r.cost.state_bytes), "seconds": r.cost.seconds} if r.HasField("cost") else {})
        return Validation(r.ok, tuple((p.field, p.description) for p in r.errors),
                          tuple((p.field, p.description) for p in r.warnings), cost)

    def submit(self, spec, request_id: str | None = None) -> "Job":
        """Queue a job. Submitting again with the same ``request_id`` and spec returns the same job
        (default: a new UUID, so that this call's own retries cannot queue it twice)."""
        request = service_pb2.SubmitJobRequest(spec=spec_message(spec), request_id=request_id or str(uuid.uuid4()))
        r = self._call("SubmitJob", request)
        job = Job(self, r.job)
        job.warnings = tuple((p.field, p.description) for p in r.warnings)
        return job

    def job(self, job_id: str) -> "Job":
        return Job(self, self._call("GetJob", service_pb2.GetJobRequest(job_id=job_id)).job)

    def jobs(self, *, state: str | None = None, labels: dict | None = None, limit: int | None = None) -> list["Job"]:
        """This client's jobs in submission order (``state``: e.g. "RUNNING"; ``labels``: all must match)."""
        out, token = [], ""
        enum = service_pb2.JobState.Value(f"JOB_STATE_{state.upper()}") if state else 0
        while True:
            r = self._call("ListJobs", service_pb2.ListJobsRequest(
                page_size=min(1000, limit - len(out)) if limit else 0, page_token=token, state=enum,
                labels=labels or {}))
            out += [Job(self, j) for j in r.jobs]
            token = r.next_page_token
            if not token or (limit and len(out) >= limit):
                return out

    def interact(self, spec, include_v: bool = False, *, request_id: str | None = None,
                 reconnect_timeout: float | None = None) -> "RemoteSession":
        """A live session on the server (``Interact``) with the methods of :class:`solver.Session`: ``next_frame``,
        ``set_light``, ``clear_light``, ``commands``, ``recorded_spec``, ``finish``; a context manager. A dropped
        connection is taken up again for up to ``reconnect_timeout`` seconds (default: the server's grace period)."""
        from .interact import RemoteSession

        return RemoteSession(self, spec, include_v, request_id=request_id, reconnect_timeout=reconnect_timeout)

    # ------------------------------------------------------------ sweeps

    def sweep(self, sweep, request_id: str | None = None) -> "Sweep":
        """Start a parameter sweep (a sweep file, dict or ``SweepSpec``); see :class:`Sweep`."""
        request = service_pb2.SubmitSweepRequest(spec=sweep_message(sweep), request_id=request_id or str(uuid.uuid4()))
        return Sweep(self, self._call("SubmitSweep", request).sweep)

    def get_sweep(self, sweep_id: str) -> "Sweep":
        return Sweep(self, self._call("GetSweep", service_pb2.GetSweepRequest(sweep_id=sweep_id)).sweep)

    def sweeps(self, *, state: str | None = None) -> list["Sweep"]:
        """This client's sweeps in submission order (without their specs)."""
        return [Sweep(self, m) for m in self._pages("ListSweeps", service_pb2.ListSweepsRequest, "sweeps", state)]

    # ------------------------------------------------------------ designs

    def design(self, design, request_id: str | None = None) -> "Design":
        """Start a design search on the server (a design file of ``optowave design``, its text or dict, or a
        ``DesignSpec``); see :class:`Design`. A base given as a file name is read here and sent."""
        request = service_pb2.SubmitDesignRequest(spec=design_message(design),
                                                  request_id=request_id or str(uuid.uuid4()))
        return Design(self, self._call("SubmitDesign", request).design)

    def get_design(self, design_id: str) -> "Design":
        return Design(self, self._call("GetDesign", service_pb2.GetDesignRequest(design_id=design_id)).design)

    def designs(self, *, state: str | None = None) -> list["Design"]:
        """This client's designs in submission order (without their specs)."""
        return [Design(self, m) for m in self._pages("ListDesigns", service_pb2.ListDesignsRequest, "designs", state)]

    def _pages(self, method: str, request_cls, field: str, state: str | None) -> list:
        out, token = [], ""
        enum = service_pb2.JobState.Value(f"JOB_STATE_{state.upper()}") if state else 0
        while True:
            r = self._call(method, request_cls(page_token=token, state=enum))
            out += list(getattr(r, field))
            token = r.next_page_token
            if not token:
                return out

    # ------------------------------------------------------------ resumable streams

    def _resumable(self, open_stream: Callable[[], Iterator], *, reconnect_timeout: float,
                   is_progress: Callable[[object], bool] = lambda m: True) -> Iterator:
        """Messages of streams opened one after another by ``open_stream`` (which resumes where the
        last one stopped) until one ends normally; gives up after ``reconnect_timeout`` seconds
        without progress (a message for which ``is_progress`` holds: a stream that only repeats its
        header before failing again makes none)."""
        last, delay = time.monotonic(), 0.1
        while True:
            call = open_stream()
            try:
                for message in call:
                    if is_progress(message):
                        last, delay = time.monotonic(), 0.1
                    yield message
                return
            except grpc.RpcError as err:
                if err.code() not in RETRYABLE or time.monotonic() - last > reconnect_timeout:
                    raise ServiceError.from_rpc(err) from None
            finally:
                call.cancel()
            time.sleep(delay)
            delay = min(2 * delay, 2.0)


class Job:
    """A job on the server (a snapshot; :meth:`refresh` updates it)."""

    def __init__(self, client: Client, message: service_pb2.Job):
        self.client = client
        self.warnings: tuple = ()
        self.fetch_report: FetchReport | None = None     # how the last result() got its chunks
        self._set(message)

    def _set(self, m: service_pb2.Job) -> None:
        self.message = m
        self.id = m.id
        self.state = service_pb2.JobState.Name(m.state)[len("JOB_STATE_"):]
        self.progress = m.progress
        self.error = m.error
        self.request_id = m.request_id
        self.labels = dict(m.labels)

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    def __repr__(self) -> str:
        p = self.progress
        return (f"Job({self.id!r}, {self.state}, {p.chunks_committed}/{p.chunks_total} chunks, "
                f"{p.simulated_ms:g}/{p.duration_ms:g} ms)")

    def refresh(self) -> "Job":
        self._set(self.client._call("GetJob", service_pb2.GetJobRequest(job_id=self.id)).job)
        return self

    def cancel(self) -> "Job":
        """Stop the job within one chunk; its state becomes CANCELLED."""
        self._set(self.client._call("CancelJob", service_pb2.CancelJobRequest(job_id=self.id)).job)
        return self

    def delete(self) -> None:
        """Forget a finished job and delete its results on the server."""
        self.client._call("DeleteJob", service_pb2.DeleteJobRequest(job_id=self.id))

    def events(self, *, reconnect_timeout: float = 120.0) -> Iterator["Job"]:
        """The job after each change (state, each committed chunk) until it is terminal; survives
        dropped connections and server restarts."""
        seen = None
        request = service_pb2.WatchJobRequest(job_id=self.id)
        for event in self.client._resumable(lambda: self.client._stream("WatchJob", request),
                                            reconnect_timeout=reconnect_timeout):
            m = event.job
            key = (m.state, m.progress.chunks_committed, m.progress.simulated_ms)
            if key == seen:
                continue
            seen = key
            spec = self.message.spec
            self._set(m)
            self.message.spec.CopyFrom(spec)
            yield self

    def watch(self, *, progress: bool | None = None, stream=None, bar=None) -> "Job":
        """Follow the job to its end: a progress bar in a terminal, a line per state and every tenth
        of the run in a notebook, nothing otherwise (``progress`` forces it on or off). ``bar``: a
        tqdm-like class to draw the bar with instead (``tqdm.notebook.tqdm`` in a notebook)."""
        from clients.progress import progress_bar

        stream = stream or sys.stderr
        notebook = "ipykernel" in sys.modules and bar is None
        show = progress if progress is not None else (stream.isatty() or notebook)
        bar = progress_bar(f"job {self.id[:8]}", unit="chunks", bar=bar, stream=stream,
                           enabled=bool(show) and (stream.isatty() or progress is True) and not notebook)
        last_state, last_tenth, last_done = None, -1, -1
        for job in self.events():
            p = job.progress
            if p.chunks_committed != last_done:
                bar(p.chunks_committed, max(1, p.chunks_total))
                last_done = p.chunks_committed
            tenth = int(10 * p.chunks_committed / max(1, p.chunks_total))
            if show and notebook and (job.state != last_state or tenth != last_tenth):
                print(f"job {job.id}: {job.state}, {p.simulated_ms:g} of {p.duration_ms:g} ms", file=stream)
            last_state, last_tenth = job.state, tenth
        if show and self.state != "SUCCEEDED":
            print(f"job {self.id}: {self.state}" + (f": {self.error}" if self.error else ""), file=stream)
        return self

    def wait(self, timeout: float | None = None) -> "Job":
        """Block until the job is terminal (or ``timeout`` seconds, then TimeoutError)."""
        t0 = time.monotonic()
        for _ in self.events():
            if timeout is not None and time.monotonic() - t0 > timeout:
                raise TimeoutError(f"job {self.id} is still {self.state} after {timeout:g} s")
        return self

    def result(self, path: str | os.PathLike | None = None, *, on_chunk: Callable[[int], None] | None = None,
               reconnect_timeout: float = 120.0, bulk: bool = True):
        """Stream the job's result into a local Zarr store and open it as an ``xarray.Dataset``.

        Waits for chunks as the job commits them. ``path`` defaults to
        ``$TMPDIR/optowave/<job id>.zarr``; a store fetched partly before is resumed. ``on_chunk(k)``
        is called once chunk ``k`` is complete locally. Raises :class:`JobError` when the job
        ended FAILED or CANCELLED (the chunks it committed stay in the store), and :class:`ServiceError`
        with DATA_LOSS when a stored chunk on the server fails its checksum (naming the chunk).

        ``bulk``: where the server offers its bulk channel (``optowave serve --bulk-listen``; never over TLS),
        committed chunks come over it, file by file with ``sendfile``/``splice``, each checked against its
        CRC32C; whatever it does not deliver comes over the stream. :attr:`fetch_report` says which way each
        time chunk came.
        """
        path = Path(path) if path is not None else Path(tempfile.gettempdir()) / "optowave" / f"{self.id}.zarr"
        writer = _StoreWriter(path, self.id)
        host = bulk_host(self.client.address) if bulk and self.client._tls is None else None
        use_bulk = [host is not None]

        def open_stream():
            writer.settle()                 # resume after the last time chunk whose writes are done
            request = service_pb2.StreamResultsRequest(job_id=self.id, from_chunk=writer.next_chunk,
                                                       bulk=use_bulk[0])
            return self.client._stream("StreamResults", request)

        def done(chunks) -> None:
            if on_chunk is not None:
                for k in chunks:
                    on_chunk(k)

        with writer:
            while True:
                for attempt in range(MAX_RESYNCS + 1):
                    try:
                        with closing(self.client._resumable(open_stream, reconnect_timeout=reconnect_timeout,
                                                            is_progress=lambda m: not m.HasField("header"))) \
                                as messages:
                            for message in messages:
                                done(writer.take(message))
                        break
                    except _Resync as exc:
                        writer.settle()
                        if attempt == MAX_RESYNCS:
                            raise ServiceError(grpc.StatusCode.DATA_LOSS, f"job {self.id}: {exc} (after {attempt} "
                                               "retries)") from None
                    finally:
                        done(writer.completed())
                if writer.offer is None:    # the stream ran to the job's end
                    writer.settle()
                    done(writer.completed())
                    break
                # the stream ended with a bulk offer: take it (its ticket is handed in before the wait for a new
                # store's layout), then ask again from the first chunk missing (over the stream alone once a
                # transfer failed)
                use_bulk[0] = writer.take_bulk(host)
                done(writer.completed())
                if writer.next_chunk >= writer.chunks_total:
                    break
        self.fetch_report = writer.report
        self.refresh()
        if self.state != "SUCCEEDED" or writer.next_chunk < writer.chunks_total:
            raise JobError(f"job {self.id} is {self.state}" + (f": {self.error}" if self.error else "") +
                           f"; {writer.next_chunk} of {writer.chunks_total} chunks are in {path}")
        return writer.store.open_dataset()


from ._groups import Design, Sweep  # noqa: E402 - they use the client's helpers above
