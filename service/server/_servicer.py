"""``optowave.v1.SimulationService`` on ``grpc.aio``: small handlers over the job manager.

Handlers do no CPU work: checks, store reads and the simulation itself run in the manager's
pools and on the runner's workers. Requests arrive as bytes and are parsed here, so that a
request that is not a valid message is INVALID_ARGUMENT (not INTERNAL) and any exception becomes
the status of :mod:`._status`.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time

import grpc
from google.protobuf.message import DecodeError
from google.rpc import code_pb2
from grpc_status import rpc_status

from optowave.v1 import service_pb2
from service import jobs
from service.convert import cost_message, job_message, spec_problems, state_name
from service.jobs import JobManager

from . import _results as results
from ._bulk import BulkChannel
from ._auth import CLIENT
from ._groups import GroupHandlers
from ._interact import InteractHandler
from ._status import make_status, status_for

log = logging.getLogger("optowave.server")
SERVICE = service_pb2.DESCRIPTOR.services_by_name["SimulationService"]


class SimulationServicer(GroupHandlers, InteractHandler):
    """One method per RPC (sweeps and designs: :class:`._groups.GroupHandlers`; the live sessions of
    ``Interact``: :class:`._interact.InteractHandler`); ``request`` is the parsed message, the caller is
    :data:`CLIENT`."""

    def __init__(self, manager: JobManager, sessions=None, bulk: BulkChannel | None = None):
        from service.interact import SessionManager

        self.jobs = manager
        self.sessions = sessions if sessions is not None else SessionManager(manager)
        self.bulk = bulk

    # ------------------------------------------------------------ jobs

    async def ValidateJob(self, request, context):
        errors, warnings, cost = await self.jobs.validate(request.spec)
        response = service_pb2.ValidateJobResponse(ok=not errors, errors=spec_problems(errors),
                                                   warnings=spec_problems(warnings))
        if cost is not None:
            response.cost.CopyFrom(cost_message(cost))
        return response

    async def SubmitJob(self, request, context):
        rec, warnings = await self.jobs.submit(CLIENT.get(), request.spec, request.request_id)
        return service_pb2.SubmitJobResponse(job=job_message(rec), warnings=spec_problems(warnings))

    async def GetJob(self, request, context):
        return service_pb2.GetJobResponse(job=job_message(await self.jobs.get(CLIENT.get(), request.job_id)))

    async def ListJobs(self, request, context):
        if request.state not in service_pb2.JobState.values():
            raise jobs.BadArgument("state", f"{request.state} is not a JobState; allowed: "
                                            f"{', '.join(service_pb2.JobState.keys())}")
        page, token = await self.jobs.list(CLIENT.get(), page_size=request.page_size, page_token=request.page_token,
                                           state=state_name(request.state), labels=dict(request.labels))
        messages, cut = await self.jobs.io(bounded_page, page)    # up to 1000 specs to parse
        if cut < len(page):
            token = self.jobs.token_after(page[cut - 1])
        return service_pb2.ListJobsResponse(jobs=messages, next_page_token=token)

    async def CancelJob(self, request, context):
        return service_pb2.CancelJobResponse(job=job_message(await self.jobs.cancel(CLIENT.get(), request.job_id)))

    async def DeleteJob(self, request, context):
        await self.jobs.delete(CLIENT.get(), request.job_id)
        return service_pb2.DeleteJobResponse()

    async def WatchJob(self, request, context):
        """The job now, then every change (state, each committed chunk) in order, until terminal."""
        client = CLIENT.get()
        with self.jobs.subscribe(request.job_id) as sub:
            rec = await self.jobs.get(client, request.job_id)
            yield _event(rec)
            while not rec.terminal:
                if self.jobs.draining:
                    raise jobs.ShuttingDown("the server is shutting down; watch again once it is back "
                                            "(the job resumes)")
                new = await sub.next()
                if new is None or new.version <= rec.version:
                    continue
                if new.deleted:
                    raise jobs.Deleted(new.id)
                rec = new
                yield _event(rec)

    async def StreamResults(self, request, context):
        """A header, then chunk after chunk as each commits, until the job is terminal. Asked for ``bulk`` (and
        with a bulk channel), the header and one offer of the chunks committed now (:meth:`_bulk_offer`)."""
        client = CLIENT.get()
        with self.jobs.subscribe(request.job_id) as sub:
            rec = await self.jobs.get(client, request.job_id)
            if request.from_chunk > rec.chunks_total:
                raise jobs.BadArgument("from_chunk", f"{request.from_chunk} is past the end; the job has chunks "
                                       f"0..{rec.chunks_total - 1}", out_of_range=True)
            store = self.jobs.store_path(rec.id)
            header, announced = await self._read(rec.id, results.result_header, store, rec.chunks_total)
            yield service_pb2.StreamResultsResponse(header=header)
            k = request.from_chunk
            if request.bulk and self.bulk is not None and k < rec.chunks_committed:
                before, offer = await self._bulk_offer(rec, store, k, announced)
                for message in before:
                    yield message
                if offer is not None:
                    yield service_pb2.StreamResultsResponse(bulk=offer)
                    return
            ahead: asyncio.Task | None = None     # chunk k + 1, read while chunk k is being sent
            try:
                while True:
                    while k < rec.chunks_committed:
                        messages = await (ahead or self._read(rec.id, results.chunk_messages, store, k, announced))
                        ahead = None
                        if k + 1 < rec.chunks_committed:
                            ahead = asyncio.ensure_future(
                                self._read(rec.id, results.chunk_messages, store, k + 1, announced))
                        for message in messages:
                            yield message
                        k += 1
                    if rec.terminal:
                        return
                    if self.jobs.draining:
                        raise jobs.ShuttingDown(f"the server is shutting down; stream again from chunk {k} once it "
                                                "is back (the job resumes)")
                    new = await sub.next()
                    if new is not None and new.version > rec.version:
                        if new.deleted:
                            raise jobs.Deleted(new.id)
                        rec = new
            finally:
                if ahead is not None:
                    ahead.cancel()

    async def _bulk_offer(self, rec, store, k: int, announced: set[str]):
        """The ``added`` messages to send first, and a ``BulkOffer`` of time chunks ``k``... committed now whose
        ticket is bound to their files (None when no ticket is to be had: the plain stream follows)."""
        before, chunks, files = await self._read(rec.id, results.bulk_chunks, store, k, rec.chunks_committed,
                                                 announced)
        ticket = self.bulk.grant(files, f"job {rec.id} chunks {k}..{k + len(chunks) - 1}")
        if ticket is None:
            return before, None
        return before, service_pb2.BulkOffer(port=self.bulk.port, ticket=ticket,
                                             ticket_ms=round(1e3 * self.bulk.ticket_s), chunks=chunks)

    async def _read(self, job_id: str, fn, *args):
        """Read the store off the loop; a store deleted under a stream is FAILED_PRECONDITION."""
        try:
            return await self.jobs.io(fn, *args)
        except (FileNotFoundError, KeyError) as exc:
            rec = await self.jobs.db(jobs.JobTable.get, job_id)
            if rec is not None and rec.deleted:
                raise jobs.Deleted(job_id) from exc
            raise

#: A ListJobs reply stops adding jobs past this many bytes (the rest come with the next page token), so that one
#: large job cannot push every list over the message limit and lock its owner out of ``optowave jobs``.
LIST_REPLY_BYTES = 4 * 2**20
#: A job whose message alone is larger is listed without its spec (GetJob has it).
LIST_JOB_BYTES = 256 * 2**10


def bounded_page(page) -> tuple[list, int]:
    """The ``Job`` messages of ``page`` that fit :data:`LIST_REPLY_BYTES`, and how many of the rows they are."""
    out, total = [], 0
    for rec in page:
        msg = job_message(rec)
        if msg.ByteSize() > LIST_JOB_BYTES:
            msg.ClearField("spec")
            msg.spec.name = json.loads(rec.spec_json).get("name", "")[:256]
        size = msg.ByteSize() + 8
        if out and total + size > LIST_REPLY_BYTES:
            break
        out.append(msg)
        total += size
    return out, len(out)



def _event(rec) -> service_pb2.WatchJobResponse:
    event = service_pb2.WatchJobResponse(job=job_message(rec, with_spec=False))
    event.event_time.FromNanoseconds(time.time_ns())
    return event


# ---------------------------------------------------------------- registration


def generic_handler(servicer: SimulationServicer) -> grpc.GenericRpcHandler:
    """The service's method handlers: requests arrive as bytes and are parsed in :func:`_unary` /
    :func:`_stream` (a malformed request is INVALID_ARGUMENT), errors become statuses."""
    handlers = {}
    for method in SERVICE.methods:
        request_cls = getattr(service_pb2, method.input_type.name)
        response_cls = getattr(service_pb2, method.output_type.name)
        impl = getattr(servicer, method.name)
        spec_prefix = "spec"
        if method.client_streaming:      # Interact: requests are parsed by the handler as they come
            handlers[method.name] = grpc.stream_stream_rpc_method_handler(
                _stream(impl, None, "start.spec"), request_deserializer=None,
                response_serializer=response_cls.SerializeToString)
        elif method.server_streaming:
            handlers[method.name] = grpc.unary_stream_rpc_method_handler(
                _stream(impl, request_cls, spec_prefix), request_deserializer=None,
                response_serializer=_serialize)
        else:
            handlers[method.name] = grpc.unary_unary_rpc_method_handler(
                _unary(impl, request_cls, spec_prefix), request_deserializer=None,
                response_serializer=response_cls.SerializeToString)
    return grpc.method_handlers_generic_handler(SERVICE.full_name, handlers)


def _serialize(message) -> bytes:
    """A response message, or one already encoded (the result stream's pieces: :func:`._results.stored_piece`)."""
    return message if isinstance(message, bytes) else message.SerializeToString()


def _parse(request_cls, raw: bytes):
    try:
        return request_cls.FromString(raw)
    except DecodeError as exc:
        raise _Malformed(f"the request is not a valid {request_cls.DESCRIPTOR.full_name} message ({exc})") from None


class _Malformed(Exception):
    pass


def _unary(impl, request_cls, spec_prefix: str):
    async def behavior(raw: bytes, context: grpc.aio.ServicerContext):
        try:
            return await impl(_parse(request_cls, raw), context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:  # noqa: BLE001 - every error is a status
            status = _status_of(exc, spec_prefix)
        del raw
        await _abort(context, status)

    behavior.__name__ = impl.__name__
    return behavior


def _stream(impl, request_cls, spec_prefix: str):
    """A server-streaming handler; with ``request_cls`` None a bidirectional one, handed the request iterator."""
    async def behavior(raw, context: grpc.aio.ServicerContext):
        try:
            async for message in impl(raw if request_cls is None else _parse(request_cls, raw), context):
                yield message
            return
        except grpc.aio.AbortError:
            raise
        except Exception as exc:  # noqa: BLE001
            status = _status_of(exc, spec_prefix)
        del raw
        await _abort(context, status)

    behavior.__name__ = impl.__name__
    return behavior


def _status_of(exc: BaseException, spec_prefix: str):
    """The status for a handler's exception, made inside the ``except`` block; the call is aborted after it, so
    that the abort does not carry the exception (and through its traceback the request, megabytes of it) along
    as its context, for gRPC to keep."""
    if isinstance(exc, _Malformed):
        return make_status(code_pb2.INVALID_ARGUMENT, str(exc))
    return status_for(exc, spec_prefix=spec_prefix)


async def _abort(context: grpc.aio.ServicerContext, status) -> None:
    await context.abort_with_status(rpc_status.to_status(status))
