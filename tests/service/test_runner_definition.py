"""A user's model (``tissue.model.definition``) on a real Dask LocalCluster with worker processes: the
workers rebuild the model from its description and store the same result as this process does."""

from __future__ import annotations

import numpy as np
import xarray as xr

from service.runner import dask_client, run_job
from tests.service.test_runner import assert_same_store
from tests.solver.test_model_definition_spec import _spec


def test_a_definition_runs_on_dask_workers_as_in_process(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTOWAVE_KERNEL_CACHE", str(tmp_path / "kernels"))  # the workers inherit it
    spec = _spec()
    run_job(spec, tmp_path / "local.zarr", chunk_ms=1.0)
    with dask_client(workers=1, numba_threads=1) as client:
        result = run_job(spec, tmp_path / "dask.zarr", chunk_ms=1.0, client=client)
    assert result.chunks_run == result.n_chunks == 3
    assert_same_store(tmp_path / "local.zarr", tmp_path / "dask.zarr")
    v = xr.open_zarr(tmp_path / "dask.zarr").v.values
    assert v[-1, :, 0].min() > 0.0 and np.abs(v[0] + 65.0).max() < 0.05  # the lit strip fired, from rest
