"""A spec's JSON form checked against ``JobSpec``'s schema: the walk of :mod:`optowave.files`, whose
violations become :class:`FieldViolation`."""
from __future__ import annotations

from google.protobuf.descriptor import Descriptor

from optowave.files._schema import closest
from optowave.files._schema import schema_violations as _walk

from ._errors import FieldViolation

__all__ = ["closest", "schema_violations"]


def schema_violations(value, descriptor: Descriptor, path: str = "") -> list[FieldViolation]:
    """Every problem of ``value`` (a JSON document's mapping) as the message ``descriptor``."""
    return [FieldViolation(f, d) for f, d in _walk(value, descriptor, path)]
