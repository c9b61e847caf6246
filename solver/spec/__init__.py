"""Job specs: read (JSON/YAML/dict/proto), convert to frozen objects, validate.

>>> spec = load_spec("examples/planar_wave.json")        # doctest: +SKIP
>>> report = validate(spec)                               # doctest: +SKIP
"""
from __future__ import annotations

from pathlib import Path

from . import _types as types
from ._errors import FieldViolation, SpecError
from ._proto import from_proto, parse_pattern, parse_proto, pattern_from_proto, read_mapping, to_dict, to_json
from ._limits import DEFAULT_SPEC_LIMITS, MAX_DOCUMENT_DEPTH, MAX_DOCUMENT_VALUES, SpecLimits
from ._schema import closest
from ._types import JobSpec
from ._validate import DEFAULT_MEMORY_LIMIT_BYTES, Report, accuracy_note, accuracy_of, validate, validate_pattern

__all__ = [
    "DEFAULT_MEMORY_LIMIT_BYTES", "DEFAULT_SPEC_LIMITS", "MAX_DOCUMENT_DEPTH", "MAX_DOCUMENT_VALUES", "SpecLimits",
    "closest", "FieldViolation", "JobSpec", "Report", "SpecError", "check", "from_proto",
    "load_spec", "parse_pattern", "read_base", "base_message", "parse_proto", "pattern_from_proto", "read_mapping",
    "to_dict", "to_json", "types",
    "validate", "validate_pattern", "accuracy_of", "accuracy_note",
]


def load_spec(source, *, check_spec: bool = True) -> JobSpec:
    """Read a spec from a path, JSON/YAML text, a dict, a ``JobSpec`` message or a spec object.

    With ``check_spec`` (default) the spec is validated and :class:`SpecError` lists every
    problem, each naming its field.
    """
    if isinstance(source, JobSpec) and not check_spec:
        return source
    msg, base_dir = parse_proto(source)
    spec = from_proto(msg, base_dir=base_dir)
    if check_spec:
        check(spec)
    return spec


def check(spec: JobSpec, **kwargs) -> Report:
    """Validate and raise :class:`SpecError` on any error; return the report (with warnings)."""
    report = validate(spec, **kwargs)
    if report.errors:
        raise SpecError(report.errors)
    return report


def read_base(raw, doc_dir: str, where: str = "base") -> tuple[dict | None, JobSpec | None, str, list[FieldViolation]]:
    """The job spec inside another document (a sweep's or a design's ``base``): a file name relative to
    ``doc_dir``, or the spec inline. Returns ``(spec dict, spec object, its base_dir, violations)``; the spec
    object is None when the spec has errors, and every violation is named ``<where>.<field>``."""
    if raw is None:
        return None, None, doc_dir, [FieldViolation(where, "missing: give the base job spec (a file name or the "
                                                           "spec inline)")]
    base_dir = doc_dir
    if isinstance(raw, str):
        path = Path(raw) if Path(raw).is_absolute() else Path(doc_dir) / raw
        if not path.exists():
            return None, None, doc_dir, [FieldViolation(where, f"file {raw!r} does not exist (looked in "
                                                               f"{path.parent})")]
        base_dir, raw = str(path.resolve().parent), str(path)
    try:
        msg, found = parse_proto(raw)
        base_dir = found if isinstance(raw, str) else base_dir
        spec = from_proto(msg, base_dir=base_dir)
        errors = [FieldViolation(f"{where}.{v.field}", v.description) for v in validate(spec).errors]
        return to_dict(msg), (None if errors else spec), base_dir, errors
    except SpecError as exc:
        return None, None, base_dir, [FieldViolation(f"{where}.{v.field}", v.description) for v in exc.violations]


def base_message(raw, doc_dir: str, where: str = "base"):
    """The job spec inside a sweep or design file as a ``JobSpec`` message, for :mod:`optowave.files`:
    ``(message or None, its base_dir, violations named <where>.<field>)``; the schema only (the sweep's and the
    design's checks validate the spec afterwards, with :func:`read_base`)."""
    if isinstance(raw, str):
        path = Path(raw) if Path(raw).is_absolute() else Path(doc_dir) / raw
        if not path.exists():
            return None, doc_dir, [FieldViolation(where, f"file {raw!r} does not exist (looked in {path.parent})")]
        raw = str(path)
    try:
        msg, found = parse_proto(raw)
    except SpecError as exc:
        return None, doc_dir, [FieldViolation(where if v.field == "spec" else f"{where}.{v.field}", v.description)
                               for v in exc.violations]
    return msg, (found if isinstance(raw, str) else doc_dir), []
