"""Live sessions over the wire: the ``Interact`` stream's sessions, their flow control, resumes and storing.

>>> sessions = SessionManager(job_manager, InteractLimits(grace_s=30))       # doctest: +SKIP
>>> live = await sessions.start("lab-a", start_request)                      # doctest: +SKIP
>>> stream = await live.attach()                                             # doctest: +SKIP

A session is a :class:`solver.Session` run on the server, stepped only as far as its client asks
(lockstep), its frames sent compressed; a dropped stream leaves it waiting ``grace_s`` seconds for a
resume, and an ended session is stored as a job of its client (:mod:`._manager`).
"""
from __future__ import annotations

from ._manager import SessionManager
from ._session import InteractLimits, LiveSession, SessionEnded

__all__ = ["InteractLimits", "LiveSession", "SessionEnded", "SessionManager"]
