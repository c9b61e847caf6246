"""Parameter sweeps: one run per task on Dask workers, metrics on the worker, one summary Dataset.

>>> result = run_sweep("examples/sweep_gna.yaml", "out/sweep.zarr", client=client)   # doctest: +SKIP
>>> result.summary.conduction_velocity.plot()                                         # doctest: +SKIP

The summary has one dimension per axis (``combine: zip``: one shared dimension), one variable per
metric (NaN where a run failed or the metric is undefined), ``failed`` and ``error`` per run; it
is stored as Zarr, with per-run records (and stores, ``keep_fields: true``) beside it so that a
re-run skips the runs already done.
"""
from __future__ import annotations

from ._evaluate import RunsStopped, SweepEvaluator
from ._metrics import METRICS, MetricSpec, compute_metrics
from solver.spec.paths import PathError, assign, resolve
from ._run import (SweepProgress, SweepResult, iter_runs, iter_sweep, read_record, run_point, run_sweep, runs_dir_for,
                   summarise)
from ._spec import Axis, Point, SweepSpec, SweepSpecError, load_sweep

__all__ = [
    "METRICS", "Axis", "MetricSpec", "PathError", "Point", "RunsStopped", "SweepProgress", "SweepResult", "SweepSpec",
    "SweepEvaluator", "SweepSpecError", "assign", "compute_metrics", "iter_runs", "iter_sweep", "read_record", "load_sweep", "resolve", "run_point", "run_sweep",
    "runs_dir_for", "summarise",
]
