"""What the client and its sweeps and designs share without importing each other: the terminal states and
the errors a call raises."""
from __future__ import annotations

import grpc
from grpc_status import rpc_status

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})


class ServiceError(Exception):
    """An error status from the server; ``violations`` are the ``(field, description)`` pairs of its
    ``google.rpc.BadRequest`` or ``QuotaFailure`` details."""

    def __init__(self, code: grpc.StatusCode, message: str, violations=()):
        self.code, self.message, self.violations = code, message, tuple(violations)
        super().__init__(f"{code.name}: {message}")

    @classmethod
    def from_rpc(cls, err: grpc.RpcError) -> "ServiceError":
        from google.rpc import error_details_pb2

        violations = []
        status = rpc_status.from_call(err) if hasattr(err, "trailing_metadata") else None
        for detail in status.details if status is not None else ():
            for kind, attr, pair in ((error_details_pb2.BadRequest, "field_violations", ("field", "description")),
                                     (error_details_pb2.QuotaFailure, "violations", ("subject", "description"))):
                if detail.Is(kind.DESCRIPTOR):
                    msg = kind()
                    detail.Unpack(msg)
                    violations += [(getattr(v, pair[0]), getattr(v, pair[1])) for v in getattr(msg, attr)]
        return cls(err.code(), err.details() or "", violations)


class JobError(RuntimeError):
    """A job that ended without a result (FAILED or CANCELLED)."""
