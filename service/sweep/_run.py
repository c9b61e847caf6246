"""Run a sweep: one task per run on Dask workers (or here), metrics on the worker, one summary Dataset.

Layout beside the summary store ``OUT.zarr``::

    OUT.runs/sweep.json          the sweep spec (canonical JSON)
    OUT.runs/<key>.json          one record per run: metrics, status, error text, seconds
    OUT.runs/<key>.zarr          the run's full result (keep_fields: true)

``<key>`` is a hash of the run's job spec, so a run done once (by this sweep, or by an earlier one
with the same base and value) is never run again; a failed run is recorded with its error and
skipped too, unless ``retry_failed`` (a run whose worker was lost is always retried).
"""
from __future__ import annotations

import json
import math
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import xarray as xr

from service.runner import _files as files

from ._metrics import METRICS, compute_metrics, metric_dims, metric_size, metrics_key
from ._spec import Point, SweepSpec, load_sweep


@dataclass(frozen=True)
class SweepProgress:
    """One event per finished run."""

    done: int              # runs finished (skipped ones included)
    total: int
    failed: int            # of those, failed
    ran: int               # runs this attempt has run
    elapsed_s: float
    runs_per_s: float      # this attempt's runs per wall second
    eta_s: float
    coords: dict           # the run just finished
    status: str            # "ok", "failed", "lost" or "cancelled" (stopped by its stop file; not recorded)
    error: str = ""        # why the run failed


@dataclass
class SweepResult:
    summary: xr.Dataset
    store: Path
    runs_dir: Path
    n_runs: int
    ran: int
    skipped: int
    n_failed: int
    elapsed_s: float
    metric_names: tuple[str, ...]
    failures: list[str] = field(default_factory=list)

    @property
    def runs_per_s(self) -> float:
        return self.ran / self.elapsed_s if self.elapsed_s > 0 else math.nan


def runs_dir_for(store: str | os.PathLike) -> Path:
    """Where a summary store's per-run records and stores go: ``<store stem>.runs`` beside it."""
    p = Path(store)
    stem = p.name[: -len(".zarr")] if p.name.endswith(".zarr") else p.name
    return p.with_name(stem + ".runs")


def run_key(point: Point, base_dir: str) -> str:
    return files.sha256(json.dumps({"spec": point.spec, "base_dir": base_dir}, sort_keys=True))[:24]


#: How often a run in progress looks for its stop file (seconds of wall time).
STOP_CHECK_S = 0.1


class _Stopped(Exception):
    pass


def _stop_check(stop_file: str | None):
    """A ``simulate`` progress callback that raises once ``stop_file`` exists (looked for every STOP_CHECK_S)."""
    if stop_file is None:
        return None
    last = [time.monotonic()]

    def check(step: int, n_steps: int) -> None:
        now = time.monotonic()
        if now - last[0] >= STOP_CHECK_S:
            last[0] = now
            if os.path.exists(stop_file):
                raise _Stopped(f"stopped at step {step} of {n_steps}")
    return check


def run_point(spec: dict, base_dir: str, metrics, analysis: dict, store: str | None,
              stop_file: str | None = None) -> dict:
    """One run of a sweep (a worker task): simulate, keep the store if asked, compute the metrics.

    Never raises for a failing run: a blow-up or any other error comes back as ``status: failed``
    with the error text. Once ``stop_file`` exists, a run that has not started never starts and a run in
    progress stops within a tenth of a second of compute: both come back as ``status: cancelled``.
    """
    from solver.engine.simulate import simulate
    from solver.spec import from_proto, parse_proto

    from service.runner import apply_numba_threads

    t0, c0, started = time.perf_counter(), time.process_time(), time.time()
    if stop_file is not None and os.path.exists(stop_file):
        return {"status": "cancelled", "error": "not started: the sweep was stopped", "metrics": {}, "seconds": 0.0,
                "cpu_seconds": 0.0, "store": None, "started": started}
    apply_numba_threads()
    try:
        msg, _ = parse_proto(spec)
        job = from_proto(msg, base_dir=base_dir)
        ds = simulate(job, progress=_stop_check(stop_file))
        if store is not None:
            from solver.engine.problem import build
            from solver.engine.result import write_zarr
            from service.runner import plan_chunks

            write_zarr(ds, store, time_chunk=plan_chunks(build(job)).time_chunk)
        values = compute_metrics(ds, metrics, analysis)
        return {"status": "ok", "error": "", "metrics": values, "seconds": time.perf_counter() - t0,
                "cpu_seconds": time.process_time() - c0, "store": store, "started": started}
    except _Stopped as exc:
        return {"status": "cancelled", "error": str(exc), "metrics": {}, "seconds": time.perf_counter() - t0,
                "cpu_seconds": time.process_time() - c0, "store": None, "started": started}
    except Exception as exc:  # noqa: BLE001 - a failed run is data, not a crash of the sweep
        return {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "metrics": {},
                "seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0, "store": None,
                "started": started}


def iter_sweep(sweep, store: str | os.PathLike, *, client=None, retry_failed: bool = False,
               stop_file: str | None = None) -> Iterator[SweepProgress]:
    """Run the runs of ``sweep`` not done yet, yielding a :class:`SweepProgress` as each finishes.

    Records go to ``<store>.runs/``; call :func:`summarise` (or use :func:`run_sweep`) for the summary.
    ``stop_file``: see :func:`run_point` (a stopped run is not recorded, so a later attempt runs it).
    """
    sweep = load_sweep(sweep)
    rdir = runs_dir_for(store)
    rdir.mkdir(parents=True, exist_ok=True)
    files.write_json(rdir / "sweep.json", json.loads(sweep.json))
    yield from iter_runs(sweep.points(), rdir, base_dir=sweep.base_dir, metrics=sweep.metrics,
                         analysis=sweep.analysis, keep_fields=sweep.keep_fields, client=client,
                         retry_failed=retry_failed, stop_file=stop_file)


def iter_runs(points: list[Point], rdir: Path, *, base_dir: str, metrics, analysis: dict, keep_fields: bool = False,
              client=None, retry_failed: bool = False, stop_file: str | None = None) -> Iterator[SweepProgress]:
    """Run those of ``points`` without a reusable record in ``rdir`` (one task each on ``client``, or here),
    yielding a :class:`SweepProgress` as each finishes; its record is written to ``rdir/<key>.json``.

    The engine of sweeps and of design searches (:mod:`solver.design`): any list of job specs, each run once.
    """
    mkey = metrics_key(metrics, analysis)
    todo, done, failed = [], 0, 0
    for p in points:
        key = run_key(p, base_dir)
        rec = files.read_json(rdir / f"{key}.json")
        if _reusable(rec, mkey, keep_fields, retry_failed, rdir):
            done += 1
            failed += rec["status"] != "ok"
        else:
            todo.append((p, key))
    total = len(points)
    t0 = time.perf_counter()
    ran = 0

    def finish(p: Point, key: str, result: dict) -> SweepProgress:
        nonlocal done, failed, ran
        if result["status"] == "cancelled":
            elapsed = time.perf_counter() - t0
            return SweepProgress(done, total, failed, ran, elapsed, math.nan, math.nan, p.coords, "cancelled",
                                 result["error"])
        rec = {"key": key, "coords": p.coords, "metrics_key": mkey, **result}
        if rec.get("store"):
            rec["store"] = Path(rec["store"]).name
        files.write_json(rdir / f"{key}.json", rec)
        done, ran = done + 1, ran + 1
        failed += result["status"] != "ok"
        elapsed = time.perf_counter() - t0
        rate = ran / elapsed if elapsed > 0 else math.nan
        left = total - done
        return SweepProgress(done, total, failed, ran, elapsed, rate, left / rate if rate > 0 else math.nan,
                             p.coords, result["status"], result["error"])

    def args(p: Point, key: str):
        out = str(rdir / f"{key}.zarr") if keep_fields else None
        return (p.spec, base_dir, metrics, analysis, out, stop_file)

    if client is None:
        for p, key in todo:
            yield finish(p, key, run_point(*args(p, key)))
        return
    from distributed import as_completed

    token = uuid.uuid4().hex[:8]
    futures = {client.submit(run_point, *args(p, key), key=f"optowave-run-{key}-{token}", pure=False): (p, key)
               for p, key in todo}
    try:
        for fut in as_completed(futures):
            p, key = futures.pop(fut)
            try:
                result = fut.result()
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: the run never finished
                result = {"status": "lost", "error": f"{type(exc).__name__}: {exc}", "metrics": {}, "seconds": math.nan,
                          "cpu_seconds": math.nan, "store": None}
            yield finish(p, key, result)
    finally:
        if futures:
            client.cancel(list(futures))


def read_record(rdir: Path, point: Point, base_dir: str) -> dict | None:
    """The record of one run in ``rdir`` (None if it never ran)."""
    return files.read_json(rdir / f"{run_key(point, base_dir)}.json")


def _reusable(rec: dict | None, mkey: str, keep: bool, retry_failed: bool, rdir: Path) -> bool:
    if rec is None or rec.get("metrics_key") != mkey or rec.get("status") == "lost":
        return False
    if rec["status"] != "ok":
        return not retry_failed
    return not keep or (rec.get("store") and (rdir / rec["store"] / "zarr.json").exists())


def run_sweep(sweep, store: str | os.PathLike, *, client=None, retry_failed: bool = False,
              on_progress: Callable[[SweepProgress], None] | None = None) -> SweepResult:
    """Run a sweep (spec file, text, dict or :class:`SweepSpec`) and write its summary to ``store``.

    Parameters
    ----------
    sweep
        The sweep spec; validated first (:class:`SweepSpecError` names the field).
    store
        The summary Zarr store; per-run records (and stores, with ``keep_fields``) go to
        ``<store>.runs/`` beside it, on a file system the workers share.
    client
        A ``distributed.Client`` (one task per run); None runs here, one run after another.
    retry_failed
        Run again the runs recorded as failed (by default a re-run skips every run already done).
    """
    sweep = load_sweep(sweep)
    t0 = time.perf_counter()
    ran = 0
    for event in iter_sweep(sweep, store, client=client, retry_failed=retry_failed):
        ran = event.ran
        if on_progress is not None:
            on_progress(event)
    summary = summarise(sweep, store)
    elapsed = time.perf_counter() - t0
    failed = summary["failed"].values
    failures = [f"{_where(summary, idx)}: {summary['error'].values[idx]}" for idx in zip(*np.nonzero(failed))]
    return SweepResult(summary, Path(store), runs_dir_for(store), sweep.n_runs, ran, sweep.n_runs - ran,
                       int(failed.sum()), elapsed, tuple(m.name for m in sweep.metrics), failures)


def _number(x) -> float:
    return float(x) if isinstance(x, (int, float)) else np.nan


def _where(summary: xr.Dataset, idx: tuple[int, ...]) -> str:
    """``a0=-120.0, a1=-120.0``: the axis values of a run (zip: all axes at its index)."""
    parts = []
    for dim, i in zip(summary["failed"].dims, idx):
        names = [c for c in summary.coords if summary[c].dims == (dim,) and c != "probe"] or [dim]
        parts += [f"{c}={np.asarray(summary[c].values[i]).item()!r}" if c in summary.coords else f"{c}={i}"
                  for c in names]
    return ", ".join(parts)


def summarise(sweep: SweepSpec, store: str | os.PathLike | None = None) -> xr.Dataset:
    """The summary Dataset from the run records (one dimension per axis; zip: one shared dimension);
    written to ``store`` as Zarr when given. Runs without a record are NaN and failed = False, error = "not run"."""
    rdir = runs_dir_for(store)
    shape, dims = sweep.shape, sweep.dims
    mkey = metrics_key(sweep.metrics, sweep.analysis)
    data = {}
    for m in sweep.metrics:
        n = metric_size(m)
        data[m.name] = np.full(shape + ((n,) if n else ()), np.nan)
    failed = np.zeros(shape, bool)
    error = np.full(shape, "", dtype=object)
    seconds = np.full(shape, np.nan)
    cpu = np.full(shape, np.nan)
    stores = np.full(shape, "", dtype=object)
    for p in sweep.points():
        rec = files.read_json(rdir / f"{run_key(p, sweep.base_dir)}.json")
        if rec is None or rec.get("metrics_key") != mkey:
            error[p.index] = "not run"
            continue
        failed[p.index] = rec["status"] != "ok"
        error[p.index] = rec["error"]
        seconds[p.index] = _number(rec.get("seconds"))
        cpu[p.index] = _number(rec.get("cpu_seconds"))
        stores[p.index] = rec.get("store") or ""
        for name, value in rec["metrics"].items():
            if name in data:
                data[name][p.index] = value
    data_vars = {}
    for m in sweep.metrics:
        units, long = METRICS[m.name]
        attrs = {"units": units, "long_name": long, **{k: json.dumps(v) for k, v in m.options}}
        data_vars[m.name] = xr.DataArray(data[m.name], dims=dims + metric_dims(m), attrs=attrs)
    data_vars["failed"] = xr.DataArray(failed, dims=dims, attrs={"long_name": "the run failed (see error)"})
    data_vars["error"] = xr.DataArray(error, dims=dims, attrs={"long_name": "error text of a failed run"})
    data_vars["run_seconds"] = xr.DataArray(seconds, dims=dims, attrs={"units": "s",
                                                                       "long_name": "wall time of the run"})
    data_vars["run_cpu_seconds"] = xr.DataArray(cpu, dims=dims, attrs={
        "units": "s", "long_name": "CPU time of the worker process during the run (all its threads)"})
    if sweep.keep_fields:
        data_vars["run_store"] = xr.DataArray(stores, dims=dims, attrs={
            "long_name": f"the run's result store, relative to {rdir.name}/"})
    coords = {}
    for k, a in enumerate(sweep.axes):
        vals = np.asarray(a.values, dtype=object if isinstance(a.values[0], str) else None)
        attrs = {"long_name": f"sweep axis {a.path}", "path": a.path, **_units(a.path, sweep)}
        coords[a.name] = xr.DataArray(vals, dims=(a.name if sweep.combine == "product" else sweep.zip_dim),
                                      attrs=attrs)
    probes = [m for m in sweep.metrics if m.name == "activation_time"]
    if probes:
        pts = np.asarray(probes[0].option("points_um"), dtype=np.float64)
        coords["probe_x"] = xr.DataArray(pts[:, 0], dims="probe", attrs={"units": "um", "long_name": "probe x"})
        coords["probe_y"] = xr.DataArray(pts[:, 1], dims="probe", attrs={"units": "um", "long_name": "probe y"})
    from solver.engine.result import __version__

    ds = xr.Dataset(data_vars, coords=coords, attrs={
        "title": sweep.name, "Conventions": "CF-1.10", "source": f"optowave {__version__}",
        "software_version": __version__, "sweep": sweep.json, "combine": sweep.combine,
        "n_runs": sweep.n_runs, "n_failed": int(failed.sum())})
    if store is not None:
        ds.to_zarr(store, mode="w", zarr_format=3, consolidated=False)
    return ds


_SUFFIX_UNITS = (("_um2_per_ms", "um2/ms"), ("_mw_per_mm2", "mW/mm2"), ("_a_per_f", "A/F"), ("_ms", "ms"),
                 ("_um", "um"), ("_hz", "Hz"), ("_mv", "mV"), ("_mm", "mM"), ("_c", "degC"), ("_ns", "nS"),
                 ("_pf", "pF"))


def _units(path: str, sweep: SweepSpec) -> dict:
    last = path.split(".")[-1]
    if path.startswith("tissue.model.parameters."):
        from solver.models import get_model

        preset = sweep.base.get("tissue", {}).get("model", {}).get("preset") or "hek_gokhale2017_35c"
        u = get_model(preset).param_units.get(last)
        return {"units": u} if u else {}
    for suffix, unit in _SUFFIX_UNITS:
        if last.endswith(suffix):
            return {"units": unit}
    return {}
