"""Errors as gRPC status codes with ``google.rpc`` details (read them with ``grpc_status.rpc_status``).

=========================================  ===================  ==========================
what                                       code                 details
=========================================  ===================  ==========================
a spec that fails validation               INVALID_ARGUMENT     BadRequest (spec.<field>)
a request field out of bounds              INVALID_ARGUMENT     BadRequest
from_chunk past the end                    OUT_OF_RANGE         BadRequest
a job over a limit, a full queue           RESOURCE_EXHAUSTED   QuotaFailure
an unknown job (or another client's)       NOT_FOUND            ResourceInfo
a deleted job, deleting a running one      FAILED_PRECONDITION  PreconditionFailure
(the same for sweeps and designs, naming sweep_id / design_id and their resource type)
the summary or report of a failed one      FAILED_PRECONDITION  PreconditionFailure
a request_id reused with another spec      ALREADY_EXISTS       ResourceInfo
resuming a live session that has ended     FAILED_PRECONDITION  PreconditionFailure
the server shutting down                   UNAVAILABLE          RetryInfo
=========================================  ===================  ==========================
"""
from __future__ import annotations

import logging

import grpc
from google.protobuf import any_pb2
from google.protobuf.duration_pb2 import Duration
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from service import jobs
from service.convert import bad_request
from service.interact import SessionEnded
from optowave.store import StoreIntegrityError
from service.runner import IntegrityError
from solver.spec import SpecError

log = logging.getLogger("optowave.server")

#: At most this many violations are spelled out in the status message (all are in the details).
MESSAGE_VIOLATIONS = 5
JOB_RESOURCE = "optowave.v1.Job"
SWEEP_RESOURCE = "optowave.v1.Sweep"
DESIGN_RESOURCE = "optowave.v1.Design"
SESSION_RESOURCE = "optowave.v1.Session"
_RESOURCES = {"job": JOB_RESOURCE, "sweep": SWEEP_RESOURCE, "design": DESIGN_RESOURCE, "session": SESSION_RESOURCE}


def status_for(exc: BaseException, *, spec_prefix: str = "spec") -> status_pb2.Status:
    """The ``google.rpc.Status`` a handler's exception turns into."""
    if isinstance(exc, SpecError):
        violations = exc.violations
        named = [f"{_prefixed(spec_prefix, v.field)}: {v.description}" for v in violations[:MESSAGE_VIOLATIONS]]
        more = len(violations) - len(named)
        message = "invalid spec: " + "; ".join(named) + (f" (and {more} more)" if more > 0 else "")
        return _status(code_pb2.INVALID_ARGUMENT, message, bad_request(violations, prefix=spec_prefix))
    if isinstance(exc, jobs.QuotaExceeded):
        qf = error_details_pb2.QuotaFailure()
        for subject, description in exc.violations:
            qf.violations.add(subject=_prefixed(spec_prefix, subject) if not subject.startswith("client:") else subject,
                              description=description)
        message = "over this server's limits: " + "; ".join(
            f"{v.subject}: {v.description}" for v in qf.violations[:MESSAGE_VIOLATIONS])
        return _status(code_pb2.RESOURCE_EXHAUSTED, message, qf)
    if isinstance(exc, jobs.BadArgument):
        br = error_details_pb2.BadRequest()
        br.field_violations.add(field=exc.field, description=exc.description)
        code = code_pb2.OUT_OF_RANGE if exc.out_of_range else code_pb2.INVALID_ARGUMENT
        return _status(code, str(exc), br)
    if isinstance(exc, jobs.NotFound):
        info = error_details_pb2.ResourceInfo(resource_type=_RESOURCES.get(exc.kind, JOB_RESOURCE),
                                              resource_name=exc.ident, description=f"no {exc.kind} with this id")
        return _status(code_pb2.NOT_FOUND, f"{exc.kind}_id: {exc}", info)
    for cls, kind in ((jobs.Deleted, "DELETED"), (jobs.NotTerminal, "NOT_TERMINAL"), (jobs.NotReady, "NO_RESULT")):
        if isinstance(exc, cls):
            pf = error_details_pb2.PreconditionFailure()
            pf.violations.add(type=kind, subject=f"{exc.kind}/{exc.ident}", description=str(exc))
            return _status(code_pb2.FAILED_PRECONDITION, f"{exc.kind}_id: {exc}", pf)
    if isinstance(exc, SessionEnded):
        pf = error_details_pb2.PreconditionFailure()
        pf.violations.add(type="ENDED", subject="session", description=str(exc))
        return _status(code_pb2.FAILED_PRECONDITION, f"session_id: {exc}", pf)
    if isinstance(exc, jobs.RequestConflict):
        info = error_details_pb2.ResourceInfo(resource_type=JOB_RESOURCE, resource_name=exc.existing_id,
                                              description=str(exc))
        return _status(code_pb2.ALREADY_EXISTS, f"request_id: {exc}", info)
    if isinstance(exc, (StoreIntegrityError, IntegrityError)):
        info = error_details_pb2.ResourceInfo(resource_type=JOB_RESOURCE + ".result", description=str(exc))
        return _status(code_pb2.DATA_LOSS, f"the stored result is damaged: {exc}", info)
    if isinstance(exc, jobs.ShuttingDown):
        retry = error_details_pb2.RetryInfo(retry_delay=Duration(seconds=1))
        return _status(code_pb2.UNAVAILABLE, str(exc), retry)
    log.exception("internal error", exc_info=exc)
    return _status(code_pb2.INTERNAL, f"internal error: {type(exc).__name__}: {exc}")


async def abort_for(context: grpc.aio.ServicerContext, exc: BaseException, *, spec_prefix: str = "spec") -> None:
    """Abort the call with the status for ``exc`` (raises, as ``context.abort`` does)."""
    await context.abort_with_status(rpc_status.to_status(status_for(exc, spec_prefix=spec_prefix)))


def make_status(code: int, message: str, *details) -> status_pb2.Status:
    """A ``google.rpc.Status`` of ``code`` with ``message`` and ``details``, cut to what trailing metadata carries."""
    return _status(code, message, *details)


async def abort(context: grpc.aio.ServicerContext, code: int, message: str, *details) -> None:
    await context.abort_with_status(rpc_status.to_status(_status(code, message, *details)))


#: Longest status message, and the most bytes of details: the status travels in trailing metadata, which
#: gRPC caps at 16 KiB, and a request that echoes a 10 kB id must still get its answer.
MAX_MESSAGE_CHARS = 2000
MAX_DETAIL_BYTES = 8000
MAX_DESCRIPTION_CHARS = 400


def _status(code: int, message: str, *details) -> status_pb2.Status:
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS - 20] + " ... (shortened)"
    st = status_pb2.Status(code=code, message=message)
    for d in map(_fit, details):
        packed = any_pb2.Any()
        packed.Pack(d)
        st.details.append(packed)
    return st


def _fit(detail):
    """A detail cut to :data:`MAX_DETAIL_BYTES`: long strings shortened, violations past the budget left out."""
    def short(text: str) -> str:
        return text if len(text) <= MAX_DESCRIPTION_CHARS else text[:MAX_DESCRIPTION_CHARS - 15] + " ... (shortened)"

    if detail.ByteSize() <= MAX_DETAIL_BYTES:
        return detail
    if isinstance(detail, error_details_pb2.ResourceInfo):
        return error_details_pb2.ResourceInfo(resource_type=detail.resource_type,
                                              resource_name=short(detail.resource_name),
                                              description=short(detail.description))
    listed = {error_details_pb2.BadRequest: "field_violations", error_details_pb2.QuotaFailure: "violations",
              error_details_pb2.PreconditionFailure: "violations"}.get(type(detail))
    if listed is None:
        return type(detail)()
    out = type(detail)()
    for v in getattr(detail, listed):
        item = getattr(out, listed).add()
        item.CopyFrom(v)
        for f, value in item.ListFields():
            if isinstance(value, str):
                setattr(item, f.name, short(value))
        if out.ByteSize() > MAX_DETAIL_BYTES:
            del getattr(out, listed)[-1]
            break
    return out


def _prefixed(prefix: str, field: str) -> str:
    if not prefix:
        return field
    return prefix if field in ("", "spec") else f"{prefix}.{field}"
