"""The lab client stands alone: the whole submit / watch / result / sweep / design path runs in a fresh
interpreter where numba, Dask, SciPy, the solver and the service cannot be imported (a lab machine installs none
of them), and leaves them out of ``sys.modules``.

xarray imports Dask and SciPy whenever they are installed (duck arrays, backends); on a lab machine they are
not, which the interpreter here mimics by marking all six as missing.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import xarray as xr

from service.server import embedded
from tests.service.test_server import ALICE, TOKENS, nagumo_spec
from tests.service.test_server_groups import example_design

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("numba", "dask", "distributed", "scipy", "solver", "service")

LAB = """
import hashlib, json, sys, time

HEAVY = %r
for name in HEAVY:      # as if not installed: importing them fails, importlib.util.find_spec finds nothing
    sys.modules[name] = None
t0 = time.perf_counter()
from clients import Client
import_s = time.perf_counter() - t0
address, token, spec, sweep, design, out = sys.argv[1:]
client = Client(address, token=token)
checked = client.validate(spec)
job = client.submit(spec).watch(progress=False)
ds = job.result(out + "/job.zarr")
v_sha = hashlib.sha256(ds.v.values.tobytes()).hexdigest()
s = client.sweep(sweep).watch(progress=False)
fraction = s.summary()["fraction_activated"].values.tolist()
d = client.design(design).watch(progress=False)
files = sorted(d.report(out + "/report"))
heavy = sorted({m.split(".")[0] for m, mod in sys.modules.items() if mod is not None and m.split(".")[0] in HEAVY})
print(json.dumps({"import_s": import_s, "ok": checked.ok, "cells": checked.cost["cell_steps"], "v_sha": v_sha,
                  "job": job.id, "sweep": s.state, "fraction": fraction, "design": d.state,
                  "threshold": d.result["summary"]["threshold"], "files": files, "heavy": heavy}))
""" % (HEAVY,)


def test_the_whole_client_path_imports_no_solver_numba_dask_or_scipy(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(nagumo_spec(name="lab")))
    sweep = tmp_path / "sweep.json"
    sweep.write_text(json.dumps({"name": "lab-sweep", "base": "spec.json", "metrics": ["fraction_activated"],
                                 "axes": [{"path": "coupling.diffusivity_um2_per_ms", "values": [0.5, 2.0]}]}))
    design = example_design(tmp_path, tolerance=0.2)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "protos")])
    with embedded(tmp_path / "data", workers=0, tokens=TOKENS) as address:
        out = subprocess.run([sys.executable, "-c", LAB, address, ALICE, str(spec), str(sweep), str(design),
                              str(tmp_path)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["heavy"] == []
    print(f"client import {got['import_s']:.3f} s")
    # and the path did its work: the server's numbers reached the lab machine
    assert got["ok"] and got["cells"] == 16 * 16 * 200
    with xr.open_zarr(tmp_path / "data" / "jobs" / got["job"] / "result.zarr", consolidated=False) as on_server:
        assert got["v_sha"] == hashlib.sha256(on_server.v.values.tobytes()).hexdigest()
    assert got["sweep"] == "SUCCEEDED" and got["fraction"][1] > got["fraction"][0]
    assert got["design"] == "SUCCEEDED" and 0.05 <= got["threshold"] <= 5.0
    assert got["files"] == ["found.json", "report.json", "report.png", "runs.csv"]
