"""Sweep and design files as the messages they are: the one reading of both, here, for a server alike.

A sweep file is ``SweepSpec``'s JSON form and a design file ``DesignSpec``'s (YAML read by a safe loader
into the same mapping), with proto field names and a few shorthands a person writes (see the messages'
comments in ``service.proto``): ``base`` as a job spec file name, enums by their short names
(``combine: product``), a metric by its name alone, a point as ``[x, y]``. :func:`sweep_message` and
:func:`design_message` turn such a mapping into its message with ``json_format``, every problem at once,
each named in the file's own spelling (``axes[1].linspace.num``) with the closest allowed name;
:func:`to_document` turns a message back into the file's form, which the sweep and design checks read.
Needs only protobuf, so that the lab client reads files as the server does.
"""
from __future__ import annotations

import copy
import re
from typing import Callable

from google.protobuf import json_format
from google.protobuf.message import Message

from optowave.v1 import service_pb2

from ._schema import FieldViolation, closest, enum_prefix, schema_violations, short_enum_names

__all__ = ["FieldViolation", "FileError", "closest", "design_message", "parse_message", "short_enum_names",
           "sweep_message", "to_document", "without_named"]

#: ``read_base(raw, doc_dir) -> (JobSpec message or None, its base_dir, violations named base.<field>)``.
BaseReader = Callable[[object, str], "tuple[Message | None, str, list]"]


class FileError(ValueError):
    """A sweep or design file that cannot be read into its message; ``violations`` are ``(field, description)``."""

    def __init__(self, violations, what: str = "sweep spec"):
        self.violations = [_violation(v) for v in violations]
        lines = "\n".join(f"  {f}: {d}" for f, d in self.violations)
        n = len(self.violations)
        super().__init__(f"invalid {what} ({n} problem{'s' if n != 1 else ''}):\n{lines}")


def sweep_message(doc, *, doc_dir: str = ".", read_base: BaseReader | None = None
                  ) -> tuple[service_pb2.SweepSpec, str, list[FieldViolation]]:
    """A sweep file's mapping as a ``SweepSpec``; see :func:`parse_message`."""
    return parse_message(doc, service_pb2.SweepSpec, doc_dir=doc_dir, read_base=read_base, what="sweep")


def design_message(doc, *, doc_dir: str = ".", read_base: BaseReader | None = None
                   ) -> tuple[service_pb2.DesignSpec, str, list[FieldViolation]]:
    """A design file's mapping as a ``DesignSpec``; see :func:`parse_message`."""
    return parse_message(doc, service_pb2.DesignSpec, doc_dir=doc_dir, read_base=read_base, what="design")


def parse_message(doc, cls, *, doc_dir: str = ".", read_base: BaseReader | None = None, what: str = "file"
                  ) -> tuple[Message, str, list[FieldViolation]]:
    """``(message, base_dir, violations)`` of a file's mapping read as the message ``cls``.

    Every field the schema refuses is named and left out; the rest is parsed, so that later checks of the
    message can report their problems beside these (with :func:`without_named`). ``read_base`` reads the
    ``base`` job spec (a file name relative to ``doc_dir``, or the spec inline); without it ``base`` must be
    inline and is parsed as it is. ``base_dir`` is where the base's own relative paths resolve.
    """
    msg = cls()
    if not isinstance(doc, dict):
        return msg, doc_dir, [FieldViolation(what, f"must be a mapping of {', '.join(_names(cls))}; got "
                                                   f"{type(doc).__name__}")]
    doc = dict(doc)
    raw_base = doc.pop("base", None)
    doc = _expand(doc, cls.DESCRIPTOR)
    problems = schema_violations(doc, cls.DESCRIPTOR, short_enums=True)
    pruned = copy.deepcopy(doc)
    for v in problems:
        _drop(pruned, v.field)
    try:
        json_format.ParseDict(_full_enums(pruned, cls.DESCRIPTOR), msg, ignore_unknown_fields=True)
    except (json_format.ParseError, RecursionError) as exc:     # what the walk cannot foresee (nesting, say)
        problems.append(FieldViolation(what, str(exc).rsplit("field: ", 1)[-1]))
    base_dir = doc_dir
    if "base" in cls.DESCRIPTOR.fields_by_name:
        if raw_base is None:
            problems.append(FieldViolation("base", "missing: give the base job spec (a file name or the spec "
                                                   "inline)"))
        elif read_base is not None:
            base, base_dir, base_problems = read_base(raw_base, doc_dir)
            problems += [_violation(v) for v in base_problems]
            if base is not None:
                msg.base.CopyFrom(base)
        elif isinstance(raw_base, dict):
            from optowave.v1 import spec_pb2

            found = schema_violations(raw_base, spec_pb2.JobSpec.DESCRIPTOR, "base")
            problems += found
            if not found:
                json_format.ParseDict(raw_base, msg.base)
        else:
            problems.append(FieldViolation("base", f"{raw_base!r}: give the base job spec inline"))
    return msg, base_dir, problems


def _violation(v) -> FieldViolation:
    """A ``(field, description)`` pair, or anything with ``.field`` and ``.description``, as a violation."""
    return FieldViolation(v.field, v.description) if hasattr(v, "field") else FieldViolation(*v)


def without_named(later, named) -> list:
    """The violations (with ``.field``) of ``later`` not about a field ``named`` names already (nor one inside it,
    nor around it)."""
    fields = [v.field for v in named]
    return [v for v in later if not any(v.field == n or v.field.startswith((n + ".", n + "["))
                                        or n.startswith((v.field + ".", v.field + "[")) for n in fields)]


def to_document(msg: Message) -> dict:
    """A sweep's or design's message in its file's form: short enum names, metrics and points as a file writes
    them, ``Struct`` numbers that are whole as integers, the base as its JSON form; fields left at their
    defaults are left out (a range keeps all three of its numbers)."""
    return _doc(msg)


# ---------------------------------------------------------------- shorthands


def _expand(value, descriptor):
    """The file's shorthands written out: a metric's name -> ``{name}``, ``[x, y]`` -> ``{x, y}``."""
    name = descriptor.full_name
    if name == "optowave.v1.SweepMetric" and isinstance(value, str):
        return {"name": value}
    if name == "optowave.v1.Point" and isinstance(value, list) and len(value) == 2:
        return {"x": value[0], "y": value[1]}
    if not isinstance(value, dict) or name.startswith("google.protobuf."):
        return value
    out = {}
    for key, item in value.items():
        fd = descriptor.fields_by_name.get(key) if isinstance(key, str) else None
        if fd is None or fd.message_type is None or fd.message_type.GetOptions().map_entry:
            out[key] = item
        elif fd.is_repeated and isinstance(item, list):
            out[key] = [_expand(x, fd.message_type) for x in item]
        else:
            out[key] = _expand(item, fd.message_type)
    return out


def _full_enums(value, descriptor):
    """Short enum names (``zip``) as json_format reads them (``SWEEP_COMBINE_ZIP``)."""
    if not isinstance(value, dict) or descriptor.full_name.startswith("google.protobuf."):
        return value
    out = {}
    for key, item in value.items():
        fd = descriptor.fields_by_name.get(key)
        if fd is not None and fd.enum_type is not None and isinstance(item, str):
            out[key] = enum_prefix(fd.enum_type) + item.upper()
        elif fd is not None and fd.message_type is not None and not fd.message_type.GetOptions().map_entry:
            out[key] = [_full_enums(x, fd.message_type) for x in item] if isinstance(item, list) else \
                _full_enums(item, fd.message_type)
        else:
            out[key] = item
    return out


def _drop(doc, path: str) -> None:
    """Remove the field at ``path`` (``axes[0].linspace.num``) from a document, if it is there."""
    parts = [p for p in re.split(r"\.|\[(\d+)\]", path) if p]
    node = doc
    for part in parts[:-1]:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return
    last = parts[-1] if parts else None
    if isinstance(node, dict):
        node.pop(last, None)
    elif isinstance(node, list) and last is not None and last.isdigit() and int(last) < len(node):
        if isinstance(node[int(last)], (dict, list, str)):
            node[int(last)] = {}        # an item of messages: kept empty, so that later items keep their index
        else:
            del node[int(last)]


def _names(cls) -> list[str]:
    return [f.name for f in cls.DESCRIPTOR.fields]


# ---------------------------------------------------------------- message -> the file's form


def _doc(msg: Message):
    name = msg.DESCRIPTOR.full_name
    if name.startswith("google.protobuf."):
        return _whole(json_format.MessageToDict(msg))
    if name == "optowave.v1.JobSpec":
        return json_format.MessageToDict(msg, preserving_proto_field_name=True)
    if name == "optowave.v1.Point":
        return [msg.x, msg.y]
    if name == "optowave.v1.Range":
        return {"start": msg.start, "stop": msg.stop, "num": msg.num}
    out: dict = {}
    for fd, value in msg.ListFields():
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            value_fd = fd.message_type.fields_by_name["value"]
            out[fd.name] = {k: (_doc(v) if value_fd.message_type is not None else v) for k, v in value.items()}
        elif fd.is_repeated:
            out[fd.name] = [_one(fd, x) for x in value]
        else:
            out[fd.name] = _one(fd, value)
    if name == "optowave.v1.SweepMetric" and set(out) == {"name"}:
        return out["name"]
    return out


def _one(fd, value):
    if fd.message_type is not None:
        return _doc(value)
    if fd.enum_type is not None:
        return fd.enum_type.values_by_number[value].name[len(enum_prefix(fd.enum_type)):].lower() \
            if value in fd.enum_type.values_by_number else value
    return value


def _whole(value):
    """JSON numbers of a ``Struct`` (all doubles on the wire) that are whole, as integers (``num: 5``)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _whole(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole(v) for v in value]
    return value
