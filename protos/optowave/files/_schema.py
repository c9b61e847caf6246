"""A document's JSON form checked against a message's schema, every problem at once.

``json_format`` stops at the first problem and names fields in protobuf's camelCase
(``Available Fields ... 'dxUm'``). This walk reports every unknown field (with the closest
allowed name), every wrong type, every integer out of its range and every unknown enum name or
number, each under its path in the file's own spelling (``light[0].pattern.disk.radius_um``).
Violations are ``(field, description)`` pairs. With ``short_enums`` (sweep and design files) an
enum is named as the file names it: ``product`` for ``SWEEP_COMBINE_PRODUCT``.
"""
from __future__ import annotations

import difflib
import math
import re
from typing import NamedTuple

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor


class FieldViolation(NamedTuple):
    field: str
    description: str


_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-2**31, 2**31 - 1, "int32"),
    FieldDescriptor.TYPE_SINT32: (-2**31, 2**31 - 1, "int32"),
    FieldDescriptor.TYPE_SFIXED32: (-2**31, 2**31 - 1, "int32"),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1, "uint32"),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1, "uint32"),
    FieldDescriptor.TYPE_INT64: (-2**63, 2**63 - 1, "int64"),
    FieldDescriptor.TYPE_SINT64: (-2**63, 2**63 - 1, "int64"),
    FieldDescriptor.TYPE_SFIXED64: (-2**63, 2**63 - 1, "int64"),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1, "uint64"),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1, "uint64"),
}
_FLOATS = (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT)
#: Strings json_format reads as floats.
_FLOAT_WORDS = ("NaN", "Infinity", "-Infinity")
#: The least value that makes sense for some integer fields (the schema's type allows 0).
SEMANTIC_MINIMUM = {"grid.nx": (1, "a grid needs at least one cell"), "grid.ny": (1, "a grid needs at least one cell"),
                    "optowave.v1.Range.num": (1, "an axis needs at least one value")}


def closest(name: str, allowed) -> str:
    """`` (did you mean 'x'?)`` for the allowed name closest to ``name``, or ``""``."""
    # compared without case or underscores, so that dxUM finds dx_um and G_na finds g_Na
    folded = {str(a).lower().replace("_", ""): str(a) for a in allowed}
    match = difflib.get_close_matches(str(name).lower().replace("_", ""), list(folded), n=1, cutoff=0.6)
    return f" (did you mean {folded[match[0]]!r}?)" if match else ""


#: Well-known messages whose JSON form is any JSON value (Value), a mapping (Struct) or a list (ListValue).
_ANY_JSON = {"google.protobuf.Value": None, "google.protobuf.Struct": dict, "google.protobuf.ListValue": list}


def schema_violations(value, descriptor: Descriptor, path: str = "", *, short_enums: bool = False
                      ) -> list[FieldViolation]:
    """Every problem of ``value`` (a JSON document's mapping) as the message ``descriptor``."""
    out: list[FieldViolation] = []
    _message(value, descriptor, path, out, short_enums)
    return out


def enum_prefix(enum: EnumDescriptor) -> str:
    """``SWEEP_COMBINE_`` for ``SweepCombine``: what the value names start with (the buf style)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"


def short_enum_names(enum: EnumDescriptor) -> list[str]:
    """The names a file gives the enum's values: ``product``, ``zip`` (UNSPECIFIED left out)."""
    prefix = enum_prefix(enum)
    return [v.name[len(prefix):].lower() for v in enum.values if v.number != 0]


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _message(value, descriptor: Descriptor, path: str, out: list, short: bool = False) -> None:
    if descriptor.full_name in _ANY_JSON:
        kind = _ANY_JSON[descriptor.full_name]
        if kind is not None and not isinstance(value, kind):
            out.append(FieldViolation(path, f"{_shown(value)} is not allowed; must be a "
                                            f"{'mapping' if kind is dict else 'list'}"))
        return
    if not isinstance(value, dict):
        out.append(FieldViolation(path or "spec", f"{_shown(value)} is not allowed; must be a mapping (a "
                                                  f"{descriptor.name} message)"))
        return
    by_name = {f.name: f for f in descriptor.fields}
    by_name.update({f.json_name: f for f in descriptor.fields})
    seen_oneof: dict[str, str] = {}
    for key, item in value.items():
        fd = by_name.get(key) if isinstance(key, str) else None
        where = _join(path, str(key))
        if fd is None:
            names = [f.name for f in descriptor.fields]
            out.append(FieldViolation(where, f"unknown field {key!r}{closest(key, names)}; allowed here: "
                                             f"{', '.join(names)}"))
            continue
        where = _join(path, fd.name)
        if fd.containing_oneof is not None and item is not None:
            group = fd.containing_oneof.name
            if group in seen_oneof:
                out.append(FieldViolation(where, f"{seen_oneof[group]} is given too; give only one of "
                                                 f"{', '.join(f.name for f in fd.containing_oneof.fields)}"))
            seen_oneof[group] = fd.name
        if item is None:
            continue
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            _map(item, fd, where, out, short)
        elif fd.is_repeated:
            if not isinstance(item, list):
                out.append(FieldViolation(where, f"{_shown(item)} is not allowed; must be a list"))
                continue
            for k, x in enumerate(item):
                _single(x, fd, f"{where}[{k}]", out, short)
        else:
            _single(item, fd, where, out, short)


def _map(value, fd: FieldDescriptor, path: str, out: list, short: bool = False) -> None:
    if not isinstance(value, dict):
        out.append(FieldViolation(path, f"{_shown(value)} is not allowed; must be a mapping of names to values"))
        return
    value_fd = fd.message_type.fields_by_name["value"]
    for key, item in value.items():
        _single(item, value_fd, f"{path}.{key}", out, short)


def _single(value, fd: FieldDescriptor, path: str, out: list, short: bool = False) -> None:
    if fd.message_type is not None:
        _message(value, fd.message_type, path, out, short)
    elif fd.enum_type is not None and short:
        names = short_enum_names(fd.enum_type)
        if not (isinstance(value, str) and value in names):
            out.append(FieldViolation(path, f"{_shown(value)} is not allowed{closest(value, names)}; allowed: "
                                            f"{', '.join(names)}"))
    elif fd.enum_type is not None:
        names = [v.name for v in fd.enum_type.values]
        if isinstance(value, str):
            if value not in fd.enum_type.values_by_name:
                out.append(FieldViolation(path, f"{value!r} is not a {fd.enum_type.name}{closest(value, names)}; "
                                                f"allowed: {', '.join(names)}"))
        elif isinstance(value, int) and not isinstance(value, bool):
            if value not in fd.enum_type.values_by_number:
                out.append(FieldViolation(path, f"{value} is not a {fd.enum_type.name} number; allowed: "
                                                f"{', '.join(names)}"))
        else:
            out.append(FieldViolation(path, f"{_shown(value)} is not allowed; must be one of {', '.join(names)}"))
    elif fd.type in _INT_RANGES:
        lo, hi, kind = _INT_RANGES[fd.type]
        lo_sem, why = SEMANTIC_MINIMUM.get(path) or SEMANTIC_MINIMUM.get(fd.full_name, (lo, ""))
        if isinstance(value, str):
            try:
                value = int(value)
            except ValueError:
                out.append(FieldViolation(path, f"{value!r} is not allowed; must be a whole number"))
                return
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.append(FieldViolation(path, f"{_shown(value)} is not allowed; must be a whole number"))
        elif isinstance(value, float) and not (math.isfinite(value) and value == int(value)):
            out.append(FieldViolation(path, f"{value!r} is not allowed; must be a whole number"))
        elif not lo <= value <= hi:     # 0 <= nx < 1 is the validator's to name, with its own words
            reason = f" ({why})" if why and value < lo_sem else ""
            out.append(FieldViolation(path, f"{_shown(value)} is not allowed; must be a whole number >= {lo_sem} and "
                                            f"<= {hi} ({kind}){reason}"))
    elif fd.type in _FLOATS:
        if isinstance(value, str) and value in _FLOAT_WORDS:
            return          # parsed, then refused by validation with the field's own bound
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.append(FieldViolation(path, f"{_shown(value)} is not allowed; must be a number"))
        elif isinstance(value, int) and abs(value) > 1.8e308:
            out.append(FieldViolation(path, f"{_shown(value)} is not allowed; must be a finite number"))
    elif fd.type == FieldDescriptor.TYPE_BOOL:
        if not isinstance(value, bool):
            out.append(FieldViolation(path, f"{_shown(value)} is not allowed; must be true or false"))
    elif fd.type == FieldDescriptor.TYPE_STRING:
        if not isinstance(value, str):
            out.append(FieldViolation(path, f"{_shown(value)} is not allowed; must be a string"))


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
