"""The sweep and design RPCs of ``optowave.v1.SimulationService``: small handlers over their managers."""
from __future__ import annotations

import json
import time

import google_crc32c

from optowave.v1 import service_pb2
from service import jobs
from service.convert import design_message, design_runs, state_name, sweep_message

from . import _results as results
from ._auth import CLIENT

#: Largest piece of a report file in one message.
PIECE_BYTES = 1 << 20


class GroupHandlers:
    """Sweep and design handlers; ``self.jobs`` is the :class:`service.jobs.JobManager`."""

    jobs: jobs.JobManager

    async def _follow(self, groups, ident: str, *, until=lambda rec: rec.terminal):
        """The object now, then after every change, until ``until(rec)`` (a deleted one is FAILED_PRECONDITION)."""
        with self.jobs.subscribe(ident) as sub:
            rec = await groups.get(CLIENT.get(), ident)
            yield rec
            while not until(rec):
                if self.jobs.draining:
                    raise jobs.ShuttingDown("the server is shutting down; watch again once it is back (the "
                                            f"{groups.kind} resumes)")
                new = await sub.next()
                if new is None or new.version <= rec.version:
                    continue
                if new.deleted:
                    raise jobs.Deleted(ident, groups.kind)
                rec = new
                yield rec

    # ------------------------------------------------------------ sweeps

    async def SubmitSweep(self, request, context):
        rec = await self.jobs.sweeps.submit(CLIENT.get(), request.spec, request.request_id)
        return service_pb2.SubmitSweepResponse(sweep=sweep_message(rec))

    async def GetSweep(self, request, context):
        rec = await self.jobs.sweeps.get(CLIENT.get(), request.sweep_id)
        return service_pb2.GetSweepResponse(sweep=sweep_message(rec))

    async def ListSweeps(self, request, context):
        page, token = await self.jobs.sweeps.list(CLIENT.get(), page_size=request.page_size,
                                                  page_token=request.page_token, state=state_name(request.state))
        return service_pb2.ListSweepsResponse(sweeps=[sweep_message(r, with_spec=False) for r in page],
                                              next_page_token=token)

    async def WatchSweep(self, request, context):
        async for rec in self._follow(self.jobs.sweeps, request.sweep_id):
            event = service_pb2.WatchSweepResponse(sweep=sweep_message(rec, with_spec=False))
            event.event_time.FromNanoseconds(time.time_ns())
            yield event

    async def CancelSweep(self, request, context):
        rec = await self.jobs.sweeps.cancel(CLIENT.get(), request.sweep_id)
        return service_pb2.CancelSweepResponse(sweep=sweep_message(rec))

    async def DeleteSweep(self, request, context):
        await self.jobs.sweeps.delete(CLIENT.get(), request.sweep_id)
        return service_pb2.DeleteSweepResponse()

    async def StreamSweepSummary(self, request, context):
        """Once the sweep is SUCCEEDED or CANCELLED: its summary Dataset (a header, then each variable in pieces)."""
        sweeps = self.jobs.sweeps
        async for rec in self._follow(sweeps, request.sweep_id):
            pass
        await sweeps.settled(rec.id)          # a cancelled sweep writes the summary of its finished runs
        store = sweeps.store_path(rec.id)
        if rec.state == jobs.FAILED or not (await self.jobs.io((store / "zarr.json").exists)):
            raise jobs.NotReady(rec.id, "sweep", rec.state, f"summary: {rec.error or 'no run finished'}")
        header, arrays = await self.jobs.io(_summary, store)
        yield service_pb2.StreamSweepSummaryResponse(header=service_pb2.ResultHeader(
            dataset_json=json.dumps(header), chunks_total=1))
        for array in arrays:
            for piece in array:
                yield service_pb2.StreamSweepSummaryResponse(chunk=piece)

    # ------------------------------------------------------------ designs

    async def SubmitDesign(self, request, context):
        rec = await self.jobs.designs.submit(CLIENT.get(), request.spec, request.request_id)
        return service_pb2.SubmitDesignResponse(design=design_message(rec))

    async def GetDesign(self, request, context):
        rec = await self.jobs.designs.get(CLIENT.get(), request.design_id)
        return service_pb2.GetDesignResponse(design=design_message(rec))

    async def ListDesigns(self, request, context):
        page, token = await self.jobs.designs.list(CLIENT.get(), page_size=request.page_size,
                                                   page_token=request.page_token, state=state_name(request.state))
        return service_pb2.ListDesignsResponse(designs=[design_message(r, with_spec=False) for r in page],
                                               next_page_token=token)

    async def WatchDesign(self, request, context):
        first = True
        async for rec in self._follow(self.jobs.designs, request.design_id):
            event = service_pb2.WatchDesignResponse(design=design_message(rec, with_spec=False),
                                                    runs=[] if first else design_runs(rec))
            event.event_time.FromNanoseconds(time.time_ns())
            first = False
            yield event

    async def CancelDesign(self, request, context):
        rec = await self.jobs.designs.cancel(CLIENT.get(), request.design_id)
        return service_pb2.CancelDesignResponse(design=design_message(rec))

    async def DeleteDesign(self, request, context):
        await self.jobs.designs.delete(CLIENT.get(), request.design_id)
        return service_pb2.DeleteDesignResponse()

    async def StreamDesignReport(self, request, context):
        """Once the design SUCCEEDED: each report file in pieces (each <= 1 MiB, CRC32C on the last)."""
        designs = self.jobs.designs
        async for rec in self._follow(designs, request.design_id):
            pass
        if rec.state != jobs.SUCCEEDED:
            raise jobs.NotReady(rec.id, "design", rec.state, f"report: {rec.error or 'it did not finish'}")
        for name, data in await designs.report_files(rec):
            crc = google_crc32c.value(data)
            for start in range(0, max(len(data), 1), PIECE_BYTES):
                piece = data[start:start + PIECE_BYTES]
                last = start + PIECE_BYTES >= len(data)
                yield service_pb2.StreamDesignReportResponse(piece=service_pb2.DesignReportPiece(
                    name=name, byte_offset=start, total_bytes=len(data), data=piece, crc32c=crc if last else 0))


def _summary(store):
    import xarray as xr

    with xr.open_zarr(store, consolidated=False) as ds:
        return results.dataset_payload(ds.load())
