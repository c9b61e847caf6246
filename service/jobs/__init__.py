"""The job store: a SQLite job table, the job state machine, the queue and the drivers.

>>> manager = JobManager("/srv/optowave", backend=Backend(workers=4), max_concurrent=4)   # doctest: +SKIP
>>> await manager.start()                                                                # doctest: +SKIP
>>> job, warnings = await manager.submit("lab-a", spec_message, request_id="...")        # doctest: +SKIP

States: QUEUED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED (:mod:`._states`); a terminal
state is final and an update that arrives after it changes nothing. Job ids are unguessable.
On start every job that was RUNNING resumes from its last committed chunk; sweeps and designs
(:class:`SweepManager`, :class:`DesignManager`) resume from the runs they recorded.
"""
from __future__ import annotations

from ._backend import Backend
from ._errors import (BadArgument, Deleted, JobStoreError, NotFound, NotReady, NotTerminal, QuotaExceeded,
                      RequestConflict, ShuttingDown, StartupError)
from ._manager import JobManager, Subscription, new_id
from ._prepare import Limits, Prepared, check_spec, prepare_job
from ._runs import StopFlag, StopRequested
from ._designs import DesignManager
from ._states import ALLOWED, CANCELLED, FAILED, QUEUED, RUNNING, STATES, SUCCEEDED, TERMINAL, is_terminal
from ._sweeps import SweepManager
from ._table import JobRecord, JobTable, NewJob, SweepRecord
from ._table_designs import DesignRecord

__all__ = [
    "ALLOWED", "BadArgument", "Backend", "CANCELLED", "Deleted", "DesignManager", "DesignRecord", "FAILED",
    "JobManager", "JobRecord", "JobStoreError", "JobTable", "Limits", "NewJob", "NotFound", "NotReady", "NotTerminal",
    "Prepared", "QUEUED", "QuotaExceeded", "RUNNING", "RequestConflict", "STATES", "SUCCEEDED", "ShuttingDown",
    "StartupError", "StopFlag", "StopRequested", "Subscription", "SweepManager", "SweepRecord", "TERMINAL",
    "check_spec", "is_terminal", "new_id", "prepare_job",
]
