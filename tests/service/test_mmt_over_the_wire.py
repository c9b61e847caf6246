"""A Myokit model on a server: the client reads ``tissue.model.mmt_path`` and sends the description; a server
never reads a file a spec names (a raw request with ``mmt_path`` is refused naming the field)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import grpc
import numpy as np
import pytest
from google.protobuf import json_format

import solver
from clients import Client
from clients.client import spec_message
from optowave.v1 import service_pb2, spec_pb2
from service.jobs import Limits
from service.server import embedded
from tests.service.test_server import ALICE, TOKENS, auth, raw_call

pytest.importorskip("myokit")

HH_MMT = Path(__file__).resolve().parent.parent / "data" / "hh_squid.mmt"


@pytest.fixture(autouse=True)
def _kernel_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("OPTOWAVE_KERNEL_CACHE", str(tmp_path_factory.getbasetemp() / "kernels"))


def _spec_file(tmp_path: Path) -> Path:
    (tmp_path / "models").mkdir()
    shutil.copy(HH_MMT, tmp_path / "models" / "squid.mmt")
    spec = {
        "name": "squid axon on a server", "grid": {"nx": 2, "ny": 2, "dx_um": 10.0},
        "tissue": {"model": {"mmt_path": "models/squid.mmt", "parameters": {"g_K": 30.0}}},
        "opsin": {"preset": "none"},
        "current": [{"name": "stim", "amplitude_a_per_f": -20.0, "waveform": {"pulse": {"start_ms": 1.0,
                                                                                        "width_ms": 0.5}}}],
        "output": {"sample_interval_ms": 0.1},
        "numerics": {"dt_ms": 0.01, "duration_ms": 8.0, "chunk_ms": 4.0},
    }
    path = tmp_path / "job.json"
    path.write_text(json.dumps(spec))
    return path


def test_the_client_sends_the_mmt_as_a_definition_and_the_server_runs_it(tmp_path):
    from solver.models.mmt import load_mmt

    path = _spec_file(tmp_path)
    msg = spec_message(path)
    model = msg.tissue.model
    assert model.mmt_path == "" and model.HasField("definition")
    assert json_format.MessageToDict(model.definition, preserving_proto_field_name=True) == \
        json_format.MessageToDict(json_format.ParseDict(load_mmt(path.parent / "models" / "squid.mmt"),
                                                        spec_pb2.ModelDefinition()), preserving_proto_field_name=True)
    local = np.asarray(solver.simulate(str(path))["v"])   # in process, reading the file itself
    assert local.max() > 25.0                               # the stimulated cells fire

    with embedded(tmp_path / "server", workers=1, tokens=TOKENS, limits=Limits(max_cell_steps=10**9)) as address:
        with Client(address, token=ALICE) as alice:
            job = alice.submit(path)
            job.wait(timeout=300)
            assert job.state == "SUCCEEDED", job.message.error
            assert job.message.spec.tissue.model.definition.name == "hh_squid_axon"
            remote = np.asarray(job.result(tmp_path / "fetched.zarr")["v"])
    np.testing.assert_array_equal(remote, local)   # the same kernel on the same description: the same bits


def test_a_raw_request_naming_an_mmt_file_is_refused_naming_the_field(tmp_path):
    spec = spec_pb2.JobSpec(name="x")
    spec.grid.nx = spec.grid.ny = 2
    spec.grid.dx_um = 10.0
    spec.numerics.duration_ms = 1.0
    spec.tissue.model.mmt_path = "/etc/passwd"
    request = service_pb2.SubmitJobRequest(spec=spec).SerializeToString()
    with embedded(tmp_path / "server", workers=0, tokens=TOKENS) as address:
        with grpc.insecure_channel(address) as channel:
            with pytest.raises(grpc.RpcError) as info:
                raw_call(channel, "SubmitJob")(request, metadata=auth(ALICE), timeout=30)
    err = info.value
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    text = err.details() + str(err.trailing_metadata())
    assert "tissue.model.mmt_path" in text and "a spec sent to a server cannot name a file" in text
    assert "root:" not in text   # nothing of the named file comes back


def test_the_client_names_the_field_and_the_line_of_a_bad_mmt(tmp_path):
    path = _spec_file(tmp_path)
    mmt = path.parent / "models" / "squid.mmt"
    mmt.write_text(mmt.read_text().replace("beta_n = 0.125 *", "beta_n = sin(0.125) *"))
    where = r"^tissue\.model\.mmt_path: .*squid\.mmt line 65: ik\.n\.beta_n: uses sin\(\)"
    with pytest.raises(ValueError, match=where):
        spec_message(path)
