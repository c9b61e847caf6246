"""Proto <-> Python helpers of the service beyond :func:`solver.load_spec` (the one spec conversion).

Job rows -> ``Job`` messages, violations -> ``google.rpc.BadRequest``, checks that only a spec
sent over the wire needs (unknown fields, file references). Sweep and design messages are read by
:mod:`optowave.files`, the reading of their files.
"""
from __future__ import annotations

import functools
import hashlib
import math
from google.protobuf import json_format, unknown_fields
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2

from optowave.v1 import service_pb2, spec_pb2
from solver.spec import FieldViolation, to_json

_WIRE_TYPES = {0: "varint", 1: "64-bit", 2: "length-delimited", 5: "32-bit"}
#: Fields that name a file, and what to send instead.
_FILE_FIELDS = {
    "npy_path": "give the raster's shape and values inline",
    "png_path": "give the image's pixels inline (a raster: shape [rows, columns] and values in [0, 1])",
    "mmt_path": "give the model as tissue.model.definition (`optowave model import FILE.mmt` writes one)",
}


# ---------------------------------------------------------------- states and rows


def state_enum(name: str) -> int:
    return service_pb2.JobState.Value(f"JOB_STATE_{name}")


def state_name(value: int) -> str | None:
    """``JOB_STATE_RUNNING`` -> ``RUNNING``; None for UNSPECIFIED."""
    if value == service_pb2.JOB_STATE_UNSPECIFIED:
        return None
    return service_pb2.JobState.Name(value)[len("JOB_STATE_"):]


def timestamp(t: float | None) -> Timestamp | None:
    if t is None:
        return None
    ts = Timestamp()
    ts.FromNanoseconds(int(round(t * 1e9)))
    return ts


def spec_message(spec_json: str) -> spec_pb2.JobSpec:
    return json_format.Parse(spec_json, spec_pb2.JobSpec())


@functools.lru_cache(maxsize=512)
def _stored_spec(spec_sha256: str, spec_json: str) -> spec_pb2.JobSpec:
    """A job's spec message, parsed from its stored JSON once (GetJob and ListJobs echo it on every call)."""
    return spec_message(spec_json)


def spec_sha256(msg: Message) -> str:
    """Hash of a message's canonical JSON: equal specs hash equal, whatever their field order."""
    return hashlib.sha256(to_json(msg).encode()).hexdigest()


def job_message(rec, *, with_spec: bool = True) -> service_pb2.Job:
    """A job row (:class:`service.jobs.JobRecord`) as its ``Job`` message."""
    job = service_pb2.Job(
        id=rec.id, state=state_enum(rec.state), request_id=rec.request_id, labels=rec.labels, error=rec.error,
        progress=service_pb2.Progress(
            simulated_ms=rec.simulated_ms, duration_ms=rec.duration_ms, chunks_committed=rec.chunks_committed,
            chunks_total=rec.chunks_total, cell_steps_per_second=_finite(rec.cell_steps_per_s),
            eta_seconds=_finite(rec.eta_s)))
    if with_spec:
        job.spec.CopyFrom(_stored_spec(rec.spec_sha256, rec.spec_json))
    for name in ("create_time", "start_time", "end_time"):
        ts = timestamp(getattr(rec, name))
        if ts is not None:
            getattr(job, name).CopyFrom(ts)
    return job


def sweep_message(rec, *, with_spec: bool = True) -> service_pb2.Sweep:
    """A sweep row (:class:`service.jobs.SweepRecord`) as its ``Sweep`` message."""
    sweep = service_pb2.Sweep(id=rec.id, state=state_enum(rec.state), runs_total=rec.runs_total,
                              runs_done=rec.runs_done, runs_failed=rec.runs_failed, error=rec.error,
                              request_id=rec.request_id, runs_per_second=_finite(rec.runs_per_s),
                              eta_seconds=_finite(rec.eta_s))
    for f in rec.failures:
        failure = sweep.failed_runs.add(error=f["error"])
        for name, value in f["parameters"].items():
            json_format.ParseDict(value, failure.parameters[name])
    if with_spec:   # shown as far as today's schema reads it (a sweep stored by an older server may hold more)
        json_format.Parse(rec.spec_json, sweep.spec, ignore_unknown_fields=True)
    sweep.create_time.CopyFrom(timestamp(rec.create_time))
    if rec.end_time is not None:
        sweep.end_time.CopyFrom(timestamp(rec.end_time))
    return sweep


def cost_message(cost) -> service_pb2.CostEstimate:
    return service_pb2.CostEstimate(cell_steps=int(cost.cell_steps), output_bytes=int(cost.output_bytes),
                                    state_bytes=int(cost.state_bytes), seconds=_finite(cost.seconds))


def spec_problems(violations, *, prefix: str = "") -> list[service_pb2.SpecProblem]:
    return [service_pb2.SpecProblem(field=_join(prefix, v.field), description=v.description) for v in violations]


def bad_request(violations, *, prefix: str = "") -> error_details_pb2.BadRequest:
    """``google.rpc.BadRequest`` naming each field as a path into the request (``spec.grid.nx``)."""
    br = error_details_pb2.BadRequest()
    for v in violations:
        br.field_violations.add(field=_join(prefix, v.field), description=v.description)
    return br


def _join(prefix: str, field: str) -> str:
    if not prefix:
        return field
    return prefix if field in ("", "spec") else f"{prefix}.{field}"


def _finite(x: float) -> float:
    return float(x) if x is not None and math.isfinite(x) else 0.0


# ---------------------------------------------------------------- checks of a spec from the wire


def unknown_field_violations(msg: Message, path: str = "") -> list[FieldViolation]:
    """Every field the server's schema does not know, or that came with the wrong wire type.

    protobuf keeps such fields aside as "unknown" instead of failing; the spec format rejects
    unknown fields, so the wire must too (a client with a newer schema learns what was ignored).
    """
    out: list[FieldViolation] = []
    for f in unknown_fields.UnknownFieldSet(msg):
        known = msg.DESCRIPTOR.fields_by_number.get(f.field_number)
        where = _join(path, known.name) if known else (path or "spec")
        wire = _WIRE_TYPES.get(f.wire_type, str(f.wire_type))
        if known is not None:
            out.append(FieldViolation(where, f"sent as {wire} data, which is the wrong type for this field "
                                             f"({_type_name(known)})"))
        else:
            out.append(FieldViolation(where, f"unknown field number {f.field_number} ({wire}) in "
                                             f"{msg.DESCRIPTOR.full_name}; this server's schema has no such field"))
    for fd, value in msg.ListFields():
        if fd.message_type is None or (fd.message_type.GetOptions().map_entry):
            continue
        if fd.is_repeated:
            for k, item in enumerate(value):
                out += unknown_field_violations(item, f"{_join(path, fd.name)}[{k}]")
        else:
            out += unknown_field_violations(value, _join(path, fd.name))
    return out


def size_violations(msg: spec_pb2.JobSpec, limits) -> list[FieldViolation]:
    """The sizes of :class:`solver.spec.SpecLimits` read off the wire message itself, before it is converted
    (a 10 MB labels map or a 100,000-vertex polygon is refused without being copied into Python objects)."""
    out: list[FieldViolation] = []
    if len(msg.labels) > limits.max_labels:
        out.append(FieldViolation("labels", f"{len(msg.labels)} labels; the limit is {limits.max_labels}"))
    else:
        n = sum(len(k.encode()) + len(v.encode()) for k, v in msg.labels.items())
        if n > limits.max_label_bytes:
            out.append(FieldViolation("labels", f"{n:,} bytes of keys and values; the limit is "
                                                f"{limits.max_label_bytes:,} bytes"))
    stack: list = [(msg, "", 0, None)]      # message, its path, pattern depth, [leaves, reported] of its pattern
    while stack:
        m, path, depth, root = stack.pop()
        if isinstance(m, spec_pb2.Pattern):
            root = root if root is not None else [0, False]
            depth += 1
            if root[1]:
                continue
            kind = m.WhichOneof("kind")
            root[0] += kind not in ("union", "difference", "sum")
            problem = None
            if kind == "polygon" and len(m.polygon.vertices_um) > limits.max_polygon_vertices:
                path, problem = f"{path}.polygon.vertices_um", (f"{len(m.polygon.vertices_um):,} vertices; the limit is "
                                                                f"{limits.max_polygon_vertices:,} per polygon")
            elif depth > limits.max_pattern_depth:
                problem = (f"nests more than {limits.max_pattern_depth} levels of union, difference, sum or region; "
                           f"the limit is {limits.max_pattern_depth}")
            elif root[0] > limits.max_pattern_leaves:
                problem = f"has more than {limits.max_pattern_leaves:,} shapes; the limit is {limits.max_pattern_leaves:,}"
            if problem:
                out.append(FieldViolation(path, problem))
                root[1] = True
                continue
        for fd, value in m.ListFields():
            if fd.message_type is None or fd.message_type.GetOptions().map_entry:
                continue
            where = _join(path, fd.name)
            if fd.is_repeated:
                stack += [(item, f"{where}[{k}]", depth, root) for k, item in enumerate(value)]
            else:
                stack.append((value, where, depth, root))
    return out


def file_reference_violations(msg: Message, path: str = "") -> list[FieldViolation]:
    """Rasters that name a ``.npy`` file and images that name a PNG file: a server must not read its own files
    on a client's say-so (the Python client inlines both before sending, see :class:`clients.Client`)."""
    out: list[FieldViolation] = []
    for fd, value in msg.ListFields():
        where = _join(path, fd.name)
        if fd.name in _FILE_FIELDS and value:
            out.append(FieldViolation(where, f"{value!r}: a spec sent to a server cannot name a file; "
                                             f"{_FILE_FIELDS[fd.name]}; the Python client does this itself"))
        elif fd.message_type is not None and not fd.message_type.GetOptions().map_entry:
            items = enumerate(value) if fd.is_repeated else [(None, value)]
            for k, item in items:
                out += file_reference_violations(item, where if k is None else f"{where}[{k}]")
    return out


def _type_name(fd: FieldDescriptor) -> str:
    if fd.message_type is not None:
        return f"a {fd.message_type.name} message"
    names = {v: k[len("TYPE_"):].lower() for k, v in vars(FieldDescriptor).items() if k.startswith("TYPE_")}
    return names.get(fd.type, "scalar")


# ---------------------------------------------------------------- designs


def design_message(rec, *, with_spec: bool = True) -> service_pb2.Design:
    p = rec.progress
    design = service_pb2.Design(
        id=rec.id, state=state_enum(rec.state), request_id=rec.request_id, name=rec.name, search=rec.search,
        rounds_done=rec.rounds_done, runs_done=rec.runs_done, best=p.get("best") or {},
        best_objective=_finite(p.get("best_objective")), result_json=rec.result_json, error=rec.error)
    if p.get("rounds_left") is not None:
        design.rounds_left = int(p["rounds_left"])
    for b in p.get("brackets") or ():
        design.brackets.add(parameter=b["parameter"], fixed=b["fixed"], low=b["low"], high=b["high"],
                            status=b["status"])
    if with_spec:   # as for sweeps: a design stored by an older server is shown as far as it can be read
        json_format.Parse(rec.spec_json, design.spec, ignore_unknown_fields=True)
    design.create_time.CopyFrom(timestamp(rec.create_time))
    if rec.end_time is not None:
        design.end_time.CopyFrom(timestamp(rec.end_time))
    return design


def design_runs(rec) -> list[service_pb2.DesignRun]:
    """The runs of the design's last finished round."""
    return [service_pb2.DesignRun(round=r["round"], parameters=r["parameters"], success=r["success"],
                                  status=r["status"], error=r["error"], seconds=_finite(r["seconds"]),
                                  metrics={k: v for k, v in r["metrics"].items() if math.isfinite(v)})
            for r in rec.progress.get("runs") or ()]
