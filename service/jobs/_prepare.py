"""From a spec on the wire to a job the runner accepts: checks, limits, the store's skeleton.

Everything here is CPU or disk work; the job manager runs it in a thread pool, never on the
event loop. The spec goes through :func:`solver.load_spec` (the one conversion from the proto)
and :func:`service.runner.open_job` (so a job that is accepted is one the runner can run).
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from solver import estimate, validate
from solver.spec import DEFAULT_MEMORY_LIMIT_BYTES, FieldViolation, SpecError, SpecLimits, load_spec, to_json

from ._errors import QuotaExceeded

GiB = 2**30


@dataclass(frozen=True)
class Limits:
    """What one job (or one client) may ask of the server."""

    max_cell_steps: int = 10**13               # tissue cells × time steps of one job
    max_memory_bytes: int = 8 * GiB            # state and maps of one job (solver.validate's bound)
    max_output_bytes: int = 64 * GiB           # stored result of one job, uncompressed
    disk_reserve_bytes: int = 1 * GiB          # free space the data directory keeps after a job's output
    max_queued_per_client: int = 100          # QUEUED jobs of one client
    max_sweep_runs: int = 10_000               # runs of one sweep
    spec: SpecLimits = SpecLimits()           # pattern depth, leaves and vertices, labels, names of one spec


@dataclass(frozen=True)
class Prepared:
    """A spec that passed every check, and what the job table records about it."""

    spec_json: str
    spec_sha256: str
    labels: dict
    plan: dict
    n_chunks: int
    duration_ms: float
    variables: tuple[str, ...]
    cost: object                   # solver.Cost
    warnings: tuple[FieldViolation, ...]
    job: object = None             # the runner's ChunkedJob: the spec parsed and rasterised once, ready to run


def wire_spec_violations(msg, limits: SpecLimits = SpecLimits()) -> list[FieldViolation]:
    """Problems only a spec from the wire can have: unknown fields, names of the server's files; and sizes,
    read off the message before it is converted."""
    from service.convert import file_reference_violations, size_violations, unknown_field_violations

    return size_violations(msg, limits) or (unknown_field_violations(msg) + file_reference_violations(msg))


def check_spec(msg, limits: Limits):
    """Validate a wire spec against the solver and the server's memory limit.

    Returns ``(spec, report)``; raises :class:`SpecError` (INVALID_ARGUMENT) or
    :class:`QuotaExceeded` (a spec that is valid but over this server's memory limit).
    """
    problems = wire_spec_violations(msg, limits.spec)
    if problems:
        raise SpecError(problems)
    spec = load_spec(msg, check_spec=False)
    report = validate(spec, memory_limit_bytes=limits.max_memory_bytes, limits=limits.spec)
    if report.errors:
        # A spec that is valid under the solver's own bounds is only over this server's limits.
        if (limits.max_memory_bytes < DEFAULT_MEMORY_LIMIT_BYTES or limits.spec != SpecLimits()) and validate(spec).ok:
            raise QuotaExceeded([(v.field, f"{v.description} (this server's memory limit per job)")
                                 for v in report.errors])
        raise SpecError(report.errors)
    return spec, report


def prepare_job(msg, store: Path, limits: Limits) -> Prepared:
    """Check ``msg`` completely and create the job's store skeleton at ``store`` (removed again on
    any error). Raises :class:`SpecError` or :class:`QuotaExceeded`."""
    from service.runner import RunnerError, open_job

    spec, report = check_spec(msg, limits)
    store.parent.mkdir(parents=True, exist_ok=True)
    try:
        job = open_job(spec, store)
        cost = estimate(job.problem, cores=1)
        _check_cost(cost, store, limits)
    except RunnerError as exc:
        remove_job_files(store)
        raise SpecError([("spec", str(exc))]) from None
    except BaseException:
        remove_job_files(store)
        raise
    plan = job.plan
    return Prepared(spec_json=spec.json, spec_sha256=sha256_text(spec.json), labels=dict(spec.labels),
                    plan=plan.to_dict(), n_chunks=plan.n_chunks, duration_ms=plan.n_steps * plan.dt_ms,
                    variables=tuple(spec.output.variables), cost=cost, warnings=tuple(report.warnings), job=job)


def _check_cost(cost, store: Path, limits: Limits) -> None:
    over = []
    if cost.cell_steps > limits.max_cell_steps:
        over.append(("numerics.duration_ms", f"the job needs {cost.cell_steps:.3g} cell-steps (tissue cells × time "
                                             f"steps); this server allows at most {limits.max_cell_steps:.3g} per job "
                                             "(a smaller grid, a shorter duration or a larger dt)"))
    if cost.output_bytes > limits.max_output_bytes:
        over.append(("output", f"the result needs {cost.output_bytes / GiB:.2f} GiB; this server stores at most "
                               f"{limits.max_output_bytes / GiB:.2f} GiB per job (fewer output.variables or a larger "
                               "output.sample_interval_ms)"))
    free = shutil.disk_usage(store.parent).free
    if cost.output_bytes + limits.disk_reserve_bytes > free:
        over.append(("output", f"the result needs {cost.output_bytes / GiB:.2f} GiB and the server's disk has "
                               f"{max(0, free - limits.disk_reserve_bytes) / GiB:.2f} GiB to spare ({free / GiB:.2f} "
                               f"GiB free, of which the server keeps {limits.disk_reserve_bytes / GiB:.2f} GiB in "
                               "reserve: --disk-reserve-gib)"))
    if over:
        raise QuotaExceeded(over)


def sha256_text(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def canonical(msg) -> tuple[str, str]:
    """Canonical JSON of a message and its hash (the identity of a request_id's spec)."""
    text = to_json(msg)
    return text, sha256_text(text)


def remove_job_files(store: Path) -> None:
    """Remove a job's directory (its store, the runner's bookkeeping, flags)."""
    shutil.rmtree(store.parent, ignore_errors=True)
