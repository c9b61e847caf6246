"""The live sessions of a server: starting, resuming (owner and token checked), storing them as jobs.

A session that ends (``finish``, its grace period run out, the server stopping) is stored as a job of
its client with the session's id: its recorded light program (``Session.recorded_spec``, which replays
the live run bit for bit) is submitted as an ordinary job, so the job's store is written by the runner,
with its records and checksums, and its analysis, listing and streaming are those of every job.
"""
from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from google.protobuf import json_format

from optowave.v1 import service_pb2, spec_pb2
from service.jobs import BadArgument, JobManager, NotFound, QuotaExceeded, ShuttingDown, check_spec, new_id
from service.jobs._prepare import wire_spec_violations

from ._session import InteractLimits, LiveSession

log = logging.getLogger("optowave.interact")

#: Solver step (ms) assumed for the cell-step bound of a spec that leaves dt_ms to a model without a preset.
_DEFAULT_DT_MS = 0.02


class SessionManager:
    """Live sessions of one server, beside its :class:`service.jobs.JobManager`."""

    def __init__(self, jobs: JobManager, limits: InteractLimits = InteractLimits()):
        for name in ("max_sessions", "max_frames", "queue_frames", "buffer_frames"):
            if getattr(limits, name) < 1:
                raise ValueError(f"{name} = {getattr(limits, name)} is not allowed; must be >= 1")
        if not limits.grace_s >= 0:
            raise ValueError(f"grace_s = {limits.grace_s} is not allowed; must be >= 0")
        self.jobs, self.limits = jobs, limits
        self._live: dict[str, LiveSession] = {}
        self._pool = ThreadPoolExecutor(limits.max_sessions + 1, thread_name_prefix="optowave-session")
        self._starting = 0
        self._closing = False

    async def _run(self, fn, *args, **kwargs):
        return await asyncio.get_running_loop().run_in_executor(self._pool, partial(fn, *args, **kwargs))

    # ------------------------------------------------------------ opening a stream

    async def start(self, client: str, req: service_pb2.InteractStart) -> LiveSession:
        """A new session of ``client`` from an ``InteractStart`` (its spec checked as a job's is)."""
        if self._closing or self.jobs.draining:
            raise ShuttingDown("the server is shutting down; start the session again once it is back")
        n = len(self._live) + self._starting
        if n >= self.limits.max_sessions:
            raise QuotaExceeded([(f"client:{client or '(local)'}",
                                  f"{n} live sessions on this server; it runs at most {self.limits.max_sessions} at "
                                  "once (--max-sessions): finish one first")])
        if len(req.request_id) > 128:
            raise BadArgument("start.request_id", f"{len(req.request_id)} characters; at most 128 allowed")
        self._starting += 1
        try:
            spec, _ = await self.jobs.io(check_spec, req.spec, self.jobs.limits)
            if not spec.readout.enabled:
                raise BadArgument("start.spec.readout.enabled", "false; a session films frames: turn the camera on "
                                                               "(readout.enabled: true)")
            _check_cell_steps(spec, self.jobs.limits.max_cell_steps)
            session = await self._run(_open_session, spec, req.include_v)
            session_id = new_id()
            live = LiveSession(session_id=session_id, client=client, token=secrets.token_urlsafe(24), session=session,
                               limits=self.limits, run=self._run, store=self._store, check_pattern=self._check_pattern,
                               request_id=req.request_id)
            self._live[session_id] = live
        finally:
            self._starting -= 1
        log.info("session %s started for %s: %d×%d camera pixels, a frame every %g ms", session_id,
                 client or "(local)",
                 *live.shape, live.frame_period_ms)
        return live

    async def resume(self, client: str, req: service_pb2.InteractResume) -> LiveSession:
        """The session ``req.session_id`` of ``client``, when ``req.resume_token`` is its token; another client's
        session, or a wrong token, is NOT_FOUND."""
        live = self._live.get(req.session_id)
        if live is None or live.client != client or not hmac.compare_digest(live.token.encode(),
                                                                              req.resume_token.encode()):
            raise NotFound("session", req.session_id)
        return live

    @staticmethod
    def started(live: LiveSession) -> service_pb2.InteractResponse:
        return service_pb2.InteractResponse(started=service_pb2.InteractStartedResponse(
            session_id=live.id, resume_token=live.token, frame_period_ms=live.frame_period_ms, shape=list(live.shape),
            next_frame=live.next_frame, last_sequence=live.last_sequence, grace_s=live.limits.grace_s,
            max_frames=live.max_frames))

    def _check_pattern(self, pattern: spec_pb2.Pattern) -> list[tuple[str, str]]:
        """The wire checks of a job spec (sizes, unknown fields, server files) on a light command's pattern."""
        probe = spec_pb2.JobSpec(light=[spec_pb2.LightStimulus(pattern=pattern)])
        prefix = "light[0].pattern"
        return [(v.field[len(prefix):], v.description) for v in wire_spec_violations(probe, self.jobs.limits.spec)]

    # ------------------------------------------------------------ ending

    async def _store(self, live: LiveSession) -> str:
        """Store an ended session as a job (its recorded program, replayed); ``""`` when it filmed nothing."""
        self._live.pop(live.id, None)
        try:
            if live.next_frame == 0:
                return ""
            recorded = await self._run(live.session.recorded_spec)
            msg = json_format.ParseDict(recorded, spec_pb2.JobSpec())
            rec, _ = await self.jobs.submit(live.client, msg, live.request_id or f"interact:{live.id}", job_id=live.id)
            log.info("session %s stored as job %s (%d frames, %d light commands)", live.id, rec.id, live.next_frame,
                     len(live.session.commands))
            return rec.id
        finally:
            await self._run(_close_session, live.session)

    async def stop(self) -> None:
        """End every live session (each stored as a job as far as it got) before the job manager drains."""
        self._closing = True
        await asyncio.gather(*(live.close() for live in list(self._live.values())), return_exceptions=True)
        self._pool.shutdown(wait=False)


def _check_cell_steps(spec, max_cell_steps: int) -> None:
    """The server's cell-step limit on the longest run the session's spec allows (its numerics.duration_ms)."""
    from solver.models import get_model

    dt = spec.numerics.dt_ms
    if dt is None:
        try:
            dt = get_model(spec.tissue.model.preset).default_dt_ms
        except Exception:  # noqa: BLE001 - a model given by definition: the bound is an estimate
            dt = _DEFAULT_DT_MS
    cell_steps = spec.grid.nx * spec.grid.ny * round(spec.numerics.duration_ms / dt)
    if cell_steps > max_cell_steps:
        raise QuotaExceeded([("numerics.duration_ms",
                               f"the session may run {cell_steps:.3g} cell-steps (tissue cells × time steps); this "
                               f"server allows at most {max_cell_steps:.3g} per job (a shorter duration or a smaller "
                               "grid)")])


def _open_session(spec, include_v: bool):
    import solver

    try:
        return solver.Session(spec, include_v=include_v)
    except ValueError as exc:     # a spec the job path accepts but a session cannot film
        from solver.spec import SpecError

        if isinstance(exc, SpecError):
            raise
        raise BadArgument("start.spec", str(exc)) from None


def _close_session(session) -> None:
    close = getattr(session, "close", None)
    if close is not None:
        close()
    elif hasattr(session, "__exit__"):
        session.__exit__(None, None, None)


__all__ = ["SessionManager"]
