"""The checked-in generated code is what protoc makes from the .proto files today."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

PROTOS = Path(__file__).resolve().parent.parent / "protos"


def _normalise(text: str) -> str:
    # the protoc version stamp is the only line allowed to differ between tool releases
    return "\n".join(line for line in text.splitlines() if not line.startswith("# Protobuf Python Version"))


def test_generated_code_is_current(tmp_path):
    protoc = pytest.importorskip("grpc_tools.protoc")
    shutil.copytree(PROTOS / "optowave", tmp_path / "optowave", ignore=shutil.ignore_patterns("*.py", "*.pyi",
                                                                                              "__pycache__"))
    sources = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "optowave").rglob("*.proto"))
    assert sources, "no .proto files found"
    import grpc_tools

    well_known = Path(grpc_tools.__file__).parent / "_proto"   # google/protobuf/*.proto
    rc = protoc.main(["protoc", f"-I{tmp_path}", f"-I{well_known}", f"--python_out={tmp_path}", f"--pyi_out={tmp_path}",
                      f"--grpc_python_out={tmp_path}", *[str(tmp_path / s) for s in sources]])
    assert rc == 0
    generated = sorted(p for p in (tmp_path / "optowave").rglob("*_pb2*.py*"))
    assert generated
    for new in generated:
        rel = new.relative_to(tmp_path)
        old = PROTOS / rel
        assert old.exists(), f"{rel} is generated but not checked in; regenerate (see README)"
        assert _normalise(old.read_text()) == _normalise(new.read_text()), f"{rel} is stale; regenerate (see README)"


# ---------------------------------------------------------------- naming rules (buf's STANDARD lint rules)

PASCAL = r"^[A-Z][A-Za-z0-9]*$"
LOWER_SNAKE = r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$"
UPPER_SNAKE = r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$"


def _upper_snake(pascal: str) -> str:
    import re

    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", pascal).upper()


def _messages(container):
    for m in container.message_types_by_name.values() if hasattr(container, "message_types_by_name") else \
            container.nested_types:
        if m.GetOptions().map_entry:
            continue
        yield m
        yield from _messages(m)


def test_protos_follow_the_buf_style_guide():
    """buf is not installed here: the rules of its STANDARD lint category, checked on the descriptors (package
    version suffix and directory, file names, PascalCase services, RPCs, messages and enums, lower_snake_case
    fields and oneofs, UPPER_SNAKE_CASE enum values prefixed by the enum's name with an _UNSPECIFIED zero,
    Service suffix, and one <Rpc>Request / <Rpc>Response pair per RPC)."""
    import re

    from optowave.v1 import service_pb2, spec_pb2

    problems = []
    check = lambda ok, what: ok or problems.append(what)  # noqa: E731
    requests_seen: set[str] = set()
    for module in (service_pb2, spec_pb2):
        f = module.DESCRIPTOR
        check(re.match(r"^[a-z]+(\.[a-z]+)*\.v\d+$", f.package), f"{f.name}: package {f.package} has no version suffix")
        check(f.name == f"{f.package.replace('.', '/')}/{Path(f.name).name}", f"{f.name}: directory != package")
        check(re.match(LOWER_SNAKE, Path(f.name).stem), f"{f.name}: file name is not lower_snake_case")
        for service in f.services_by_name.values():
            check(re.match(PASCAL, service.name) and service.name.endswith("Service"), f"service {service.name}")
            for rpc in service.methods:
                check(re.match(PASCAL, rpc.name), f"rpc {rpc.name} is not PascalCase")
                check(rpc.input_type.name == f"{rpc.name}Request", f"rpc {rpc.name} takes {rpc.input_type.name}")
                check(rpc.output_type.name == f"{rpc.name}Response", f"rpc {rpc.name} returns {rpc.output_type.name}")
                check(rpc.input_type.name not in requests_seen, f"rpc {rpc.name}: request type used twice")
                requests_seen.add(rpc.input_type.name)
        enums = list(f.enum_types_by_name.values())
        for m in _messages(f):
            check(re.match(PASCAL, m.name), f"message {m.full_name} is not PascalCase")
            enums += list(m.enum_types)
            for field in m.fields:
                check(re.match(LOWER_SNAKE, field.name), f"field {m.full_name}.{field.name} is not lower_snake_case")
            for oneof in m.oneofs:
                if not oneof.name.startswith("_"):          # proto3 `optional` makes a synthetic _name oneof
                    check(re.match(LOWER_SNAKE, oneof.name), f"oneof {m.full_name}.{oneof.name}")
        for e in enums:
            check(re.match(PASCAL, e.name), f"enum {e.full_name} is not PascalCase")
            prefix = _upper_snake(e.name) + "_"
            for v in e.values:
                check(re.match(UPPER_SNAKE, v.name) and v.name.startswith(prefix), f"enum value {v.name} of {e.name}")
            check(e.values_by_number[0].name == prefix + "UNSPECIFIED", f"enum {e.name}: zero is not _UNSPECIFIED")
    assert not problems, "\n".join(problems)
