"""Job specs: read (JSON/YAML/dict/proto), convert to frozen objects, validate.

>>> spec = load_spec("examples/planar_wave.json")        # doctest: +SKIP
>>> report = validate(spec)                               # doctest: +SKIP
"""
from __future__ import annotations

from . import _types as types
from ._errors import FieldViolation, SpecError
from ._proto import from_proto, parse_pattern, parse_proto, pattern_from_proto, read_mapping, to_dict, to_json
from ._types import JobSpec
from ._validate import DEFAULT_MEMORY_LIMIT_BYTES, Report, validate, validate_pattern

__all__ = [
    "DEFAULT_MEMORY_LIMIT_BYTES", "FieldViolation", "JobSpec", "Report", "SpecError", "check", "from_proto",
    "load_spec", "parse_pattern", "parse_proto", "pattern_from_proto", "read_mapping", "to_dict", "to_json", "types",
    "validate", "validate_pattern",
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
