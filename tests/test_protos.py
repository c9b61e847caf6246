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
