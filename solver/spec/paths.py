"""Parameter paths into a job spec's JSON form: ``tissue.model.parameters.g_Na``, ``light[0].irradiance_mw_per_mm2``.

A path is checked against the proto schema (``optowave.v1.JobSpec``) and the base spec: each name
must be a field of its message, an index must name an element the base spec has, a map key of
``tissue.model.parameters`` must be a parameter of the base spec's model, and the path must end
at a single value (a number, a string, a bool or an enum), never a message.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from google.protobuf.descriptor import FieldDescriptor

from optowave.files import closest
from optowave.v1 import spec_pb2

_SEGMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?$")
_NUMBER_TYPES = {FieldDescriptor.CPPTYPE_DOUBLE, FieldDescriptor.CPPTYPE_FLOAT}
_INT_TYPES = {FieldDescriptor.CPPTYPE_INT32, FieldDescriptor.CPPTYPE_INT64, FieldDescriptor.CPPTYPE_UINT32,
              FieldDescriptor.CPPTYPE_UINT64}


class PathError(ValueError):
    """A path that does not name a single value of the base spec (the message says why)."""


@dataclass(frozen=True)
class Step:
    key: str                     # the JSON key (proto field name) or map key
    index: int | None            # element of a repeated field
    field: FieldDescriptor | None  # None for a map key
    oneof_siblings: tuple[str, ...] = ()  # keys to drop when this one is set (members of the same oneof)


@dataclass(frozen=True)
class ResolvedPath:
    path: str
    steps: tuple[Step, ...]
    leaf: FieldDescriptor        # the field (or map value field) the value lands in

    @property
    def kind(self) -> str:
        """"number", "integer", "bool", "string" or "enum"."""
        t = self.leaf.cpp_type
        if t in _NUMBER_TYPES:
            return "number"
        if t in _INT_TYPES:
            return "integer"
        if t == FieldDescriptor.CPPTYPE_BOOL:
            return "bool"
        if t == FieldDescriptor.CPPTYPE_ENUM:
            return "enum"
        return "string"

    def enum_names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.leaf.enum_type.values) if self.kind == "enum" else ()


def _is_map(f: FieldDescriptor) -> bool:
    return f.message_type is not None and f.message_type.GetOptions().map_entry


def _is_repeated(f: FieldDescriptor) -> bool:
    if hasattr(f, "is_repeated"):  # protobuf >= 6 (``label`` is deprecated there)
        return bool(f.is_repeated)
    return f.label == FieldDescriptor.LABEL_REPEATED  # pragma: no cover - older protobuf


def _siblings(f: FieldDescriptor) -> tuple[str, ...]:
    o = f.containing_oneof
    if o is None or (len(o.fields) == 1 and o.name.startswith("_")):  # proto3 `optional`: a synthetic oneof
        return ()
    return tuple(g.name for g in o.fields if g.name != f.name)


def resolve(path: str, base: dict, *, parameter_names: tuple[str, ...] = (),
            opsin_parameter_names: tuple[str, ...] = ()) -> ResolvedPath:
    """Check ``path`` against the schema and ``base`` (the base spec, proto field names); raise :class:`PathError`."""
    if not isinstance(path, str) or not path:
        raise PathError(f"{path!r} is not a path; write one such as tissue.model.parameters.g_Na or "
                        "light[0].irradiance_mw_per_mm2")
    parts = path.split(".")
    desc = spec_pb2.JobSpec.DESCRIPTOR
    node = base
    steps: list[Step] = []
    i = 0
    while i < len(parts):
        here = ".".join(parts[: i + 1])
        m = _SEGMENT.match(parts[i])
        if not m:
            raise PathError(f"{parts[i]!r} (in {here}) is not a field name, optionally with an index such as light[0]")
        name, index = m.group(1), (int(m.group(2)) if m.group(2) is not None else None)
        f = desc.fields_by_name.get(name)
        if f is None:
            allowed = ", ".join(sorted(desc.fields_by_name))
            raise PathError(f"{here}: {desc.name} has no field {name!r}{closest(name, desc.fields_by_name)}; "
                            f"allowed: {allowed}")
        last = i == len(parts) - 1
        if _is_map(f):
            if index is not None:
                raise PathError(f"{here}: {name} is a map; name a key as {'.'.join(parts[:i])}.{name}.KEY")
            if last:
                raise PathError(f"{here} is a map; name one of its keys, e.g. {here}.KEY")
            if i + 2 != len(parts):
                raise PathError(f"{path}: a key of {here} holds a single value; nothing can follow it")
            key = parts[i + 1]
            prefix = ".".join(parts[:i + 1])
            allowed = parameter_names if prefix == "tissue.model.parameters" else \
                opsin_parameter_names if prefix == "opsin.parameters" else ()
            if allowed and key not in allowed:
                what = ("parameter of the base spec's model" if prefix == "tissue.model.parameters"
                        else "opsin parameter")
                raise PathError(f"{path}: {key!r} is not a {what}{closest(key, allowed)}; allowed: "
                                f"{', '.join(allowed)}")
            value_field = f.message_type.fields_by_name["value"]
            if value_field.message_type is not None:
                raise PathError(f"{path}: the values of {here} are messages; name one of their fields")
            steps.append(Step(name, None, f, _siblings(f)))
            steps.append(Step(key, None, None))
            return ResolvedPath(path, tuple(steps), value_field)
        if _is_repeated(f):
            if index is None:
                example = ".".join(parts[:i] + [name + "[0]"])
                raise PathError(f"{here}: {name} is a list; name one element, e.g. {example}")
            have = node.get(name, []) if isinstance(node, dict) else []
            if index >= len(have):
                raise PathError(f"{here}: the base spec has {len(have)} element{'s' if len(have) != 1 else ''} in "
                                f"{'.'.join(parts[:i] + [name])}; index {index} does not exist")
            steps.append(Step(name, index, f, _siblings(f)))
            if f.message_type is None:
                if not last:
                    raise PathError(f"{here} holds a single value; nothing can follow it")
                return ResolvedPath(path, tuple(steps), f)
            node = have[index]
        else:
            if index is not None:
                raise PathError(f"{here}: {name} is not a list; drop the [{index}]")
            steps.append(Step(name, None, f, _siblings(f)))
            if f.message_type is None:
                if not last:
                    raise PathError(f"{here} holds a single value; nothing can follow it")
                return ResolvedPath(path, tuple(steps), f)
            node = node.get(name, {}) if isinstance(node, dict) else {}
        if last:
            raise PathError(f"{here} is a message ({f.message_type.name}), not a single value; name one of its "
                            f"fields: {', '.join(sorted(f.message_type.fields_by_name))}")
        desc = f.message_type
        i += 1
    raise AssertionError(path)  # pragma: no cover - the loop returns at the last segment


def assign(spec: dict, resolved: ResolvedPath, value) -> dict:
    """A copy of ``spec`` with ``value`` at ``resolved`` (a oneof's other members dropped on the way)."""
    out = copy.deepcopy(spec)
    node = out
    steps = resolved.steps
    for k, step in enumerate(steps):
        last = k == len(steps) - 1
        for other in step.oneof_siblings:
            node.pop(other, None)
        if step.index is not None:
            seq = node[step.key]
            if last:
                seq[step.index] = value
            else:
                node = seq[step.index]
        elif last:
            node[step.key] = value
        else:
            child = node.get(step.key)
            if not isinstance(child, dict):
                child = node[step.key] = {}
            node = child
    return out
