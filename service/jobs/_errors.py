"""What the job store refuses, as exceptions the server turns into gRPC status codes."""
from __future__ import annotations


class JobStoreError(Exception):
    """Base class: a request the job store cannot carry out."""


class NotFound(JobStoreError):
    """No such job (or sweep) for this client; another client's job is not found either."""

    def __init__(self, kind: str, ident: str):
        self.kind, self.ident = kind, ident
        shown = ident if len(ident) <= 80 else f"{ident[:40]}...({len(ident)} characters)"
        super().__init__(f"{kind} {shown!r} not found")


class Deleted(JobStoreError):
    """The job (sweep, design) existed and was deleted: its results are gone."""

    def __init__(self, ident: str, kind: str = "job"):
        self.ident, self.kind = ident, kind
        super().__init__(f"{kind} {ident!r} was deleted; its results are gone")


class NotTerminal(JobStoreError):
    """An operation that needs a finished job (sweep, design), such as delete, on one still queued or running."""

    def __init__(self, ident: str, state: str, kind: str = "job"):
        self.ident, self.state, self.kind = ident, state, kind
        super().__init__(f"{kind} {ident!r} is {state}; cancel it first (only a terminal {kind} can be deleted)")


class NotReady(JobStoreError):
    """A result asked of a sweep or design that has none (it failed, or was cancelled before any run)."""

    def __init__(self, ident: str, kind: str, state: str, why: str):
        self.ident, self.kind, self.state = ident, kind, state
        super().__init__(f"{kind} {ident!r} is {state}, it has no {why}")


class RequestConflict(JobStoreError):
    """A request_id already used by this client for another spec (or for a deleted job)."""

    def __init__(self, request_id: str, existing_id: str, reason: str):
        self.request_id, self.existing_id = request_id, existing_id
        super().__init__(f"request_id {request_id!r} {reason}; use a new request_id")


class QuotaExceeded(JobStoreError):
    """A job over a server limit. ``violations`` are ``(subject, description)`` pairs; the subject
    names the spec field (``grid``, ``numerics.duration_ms``) or the quota (``client:NAME``)."""

    def __init__(self, violations):
        self.violations = tuple(violations)
        super().__init__("; ".join(f"{s}: {d}" for s, d in self.violations))


class BadArgument(JobStoreError):
    """A request field (not a spec field) with a value that is not allowed."""

    def __init__(self, field: str, description: str, *, out_of_range: bool = False):
        self.field, self.description, self.out_of_range = field, description, out_of_range
        super().__init__(f"{field}: {description}")


class StartupError(Exception):
    """The server cannot start: one line naming the file or address at fault (``optowave serve`` exits 2)."""


class ShuttingDown(JobStoreError):
    """The server is draining: retry against the restarted server (jobs resume)."""
