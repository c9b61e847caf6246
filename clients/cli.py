"""The ``optowave`` command line: one entry point, one subcommand per task (DESIGN.md)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # user-facing errors: print the message, not a traceback
        from solver import SimulationError, SpecError

        if isinstance(exc, (SpecError, SimulationError, FileNotFoundError)):
            print(f"error: {exc}", file=sys.stderr)
            return 1
        raise


def version() -> str:
    """This installation's version (the distribution's metadata; the source tree's pyproject when not installed)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("optowave")
    except PackageNotFoundError:
        import re

        text = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
        return re.search(r'^version\s*=\s*"([^"]+)"', text, re.M).group(1)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="optowave", description="Simulate optogenetic excitable media.")
    p.add_argument("--version", action="version", version=f"optowave {version()}")
    sub = p.add_subparsers(metavar="COMMAND")

    r = sub.add_parser("run", help="simulate a spec in checkpointed time chunks and write a Zarr store")
    r.add_argument("spec", help="job spec (JSON or YAML)")
    r.add_argument("-o", "--output", required=True, help="output Zarr store (a directory, e.g. out.zarr); an "
                   "interrupted run with the same spec resumes from its last committed chunk")
    r.add_argument("--chunk-ms", type=float, default=None,
                   help="time chunk in ms: one checkpoint and one Zarr chunk each (default: numerics.chunk_ms, "
                        "else a few seconds of compute); a whole number of output sample intervals")
    where = r.add_mutually_exclusive_group()
    where.add_argument("--scheduler", default=None, metavar="ADDR",
                       help="run the chunks on an existing Dask cluster (tcp://HOST:PORT); the output must be on a "
                            "file system the workers share")
    where.add_argument("--workers", type=int, default=None, metavar="N",
                       help="run the chunks on a local Dask cluster of N worker processes (default: in this process)")
    r.add_argument("--initial-state", default=None, metavar="RUN",
                   help="start from the final state of another finished run (its .zarr store or a checkpoint .npz)")
    r.add_argument("--overwrite", action="store_true", help="replace an output that holds a different job")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_run)

    sw = sub.add_parser("sweep", help="run a parameter sweep on a Dask cluster and write its summary as Zarr")
    sw.add_argument("sweep", help="sweep spec (JSON or YAML): base, axes, combine, metrics, keep_fields")
    sw.add_argument("-o", "--output", required=True, help="summary Zarr store (per-run records and stores go "
                    "beside it, in OUT.runs/); re-running skips the runs already done")
    from clients.options import add_cluster_options

    add_cluster_options(sw)
    sw.add_argument("--retry-failed", action="store_true", help="run again the runs recorded as failed")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    from clients import remote_cmds

    remote_cmds.add_connection_options(sw, server_default=None)   # --server ADDR: run the sweep on a server
    sw.set_defaults(func=cmd_sweep)

    v = sub.add_parser("validate", help="check a spec: errors, warnings and a cost estimate")
    v.add_argument("spec")
    v.add_argument("--json", action="store_true", help="print the report as JSON")
    v.set_defaults(func=cmd_validate)

    b = sub.add_parser("bench", help="measure the kernels: cell-steps/s, ratio to NumPy, bandwidth fraction")
    b.add_argument("--json", action="store_true", help="print the figures as JSON")
    b.add_argument("--sizes", default="256,1024", help="comma-separated sheet sizes (default 256,1024)")
    b.add_argument("--models", default="", help="comma-separated models (default all)")
    b.add_argument("--seconds", type=float, default=1.0, help="target seconds per measurement")
    b.add_argument("--rounds", type=int, default=7,
                   help="calls per measurement, interleaved with the other configurations (default 7)")
    b.set_defaults(func=cmd_bench)

    d = sub.add_parser("demo", help="the whole path: embedded server, submit the spiral example, stream it, draw it")
    d.add_argument("-o", "--output-dir", default="optowave-demo", help="where to write the store and figure")
    d.add_argument("--spec", default=None, help="spec to run (default examples/spiral.json)")
    d.add_argument("--workers", type=int, default=1, help="Dask worker processes of the embedded server (default 1)")
    d.set_defaults(func=cmd_demo)

    pl = sub.add_parser("plot", help="snapshots, activation map and traces of a result; --movie for a movie")
    pl.add_argument("store", help="result Zarr store")
    pl.add_argument("-o", "--output", required=True, help="PNG to write")
    pl.add_argument("--movie", default=None, help="also write a movie (.mp4 or .gif)")
    pl.set_defaults(func=cmd_plot)

    from clients import remote_cmds  # serve, submit, jobs, status, cancel, fetch (the service)

    remote_cmds.register(sub)
    from clients import preview_cmd  # preview: the light program of a spec, before anything runs

    preview_cmd.register(sub)
    from clients import design_cmd  # protocol, design: write a protocol's light, search for the pattern that works

    design_cmd.register(sub)
    from clients import model_cmd  # model import/show: the cell models users bring (Myokit .mmt)

    model_cmd.register(sub)
    from clients import cell_cmd  # cell: the patch-clamp bench on one cell of a spec

    cell_cmd.register(sub)
    return p


def cmd_run(args) -> int:
    import solver
    from clients.progress import ProgressBar
    from service.runner import RunnerError, dask_client, open_job

    try:
        job = open_job(args.spec, args.output, chunk_ms=args.chunk_ms, initial_state=args.initial_state,
                       overwrite=args.overwrite)
    except RunnerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    problem, plan = job.problem, job.plan
    for w in solver.validate(problem.spec).warnings:
        print(f"warning: {w}", file=sys.stderr)
    first = job.next_chunk
    if first >= job.n_chunks:
        print(f"{args.output} is already complete ({job.n_chunks} chunks)")
        return 0
    if first > 0:
        print(f"resuming from chunk {first} of {job.n_chunks} (t = {plan.steps(first)[0] * plan.dt_ms:g} ms)",
              flush=True)
    bar = ProgressBar("run", enabled=False if args.quiet else None)
    bar(plan.steps(first)[0], plan.n_steps)

    def show(event) -> None:
        bar(event.step, event.n_steps)

    try:
        if args.scheduler or args.workers:
            with dask_client(scheduler=args.scheduler, workers=args.workers) as client:
                result = job.run(client, on_progress=show)
        else:
            result = job.run(on_progress=show)
    except (RunnerError, solver.SimulationError, KeyboardInterrupt) as exc:
        print("interrupted" if isinstance(exc, KeyboardInterrupt) else f"error: {exc}", file=sys.stderr)
        print(_partial_note(job, args), file=sys.stderr)
        return 130 if isinstance(exc, KeyboardInterrupt) else 1
    stored = job.dataset()
    extra = sorted(n for n in stored.data_vars if n not in problem.spec.output.variables
                   and n not in ("mask", "diffusivity"))
    print(f"wrote {args.output}: {', '.join(problem.spec.output.variables)}; {plan.n_samples} samples over "
          f"{plan.n_steps * plan.dt_ms:g} ms on a {problem.ny}×{problem.nx} grid in {result.chunks_run} chunk(s) "
          f"of {plan.chunk_ms:g} ms ({result.cell_steps_per_s:.3g} cell-steps/s)"
          + (f"; also {', '.join(extra)}" if extra else ""))
    return 0


def _partial_note(job, args) -> str:
    """The last line of an interrupted run: what is in the store, where the checkpoint is, how to resume."""
    from service.runner import runner_dir_for

    done = job.next_chunk
    rdir = runner_dir_for(args.output)
    checkpoint = sorted(rdir.glob("state-*.npz"))
    where = checkpoint[-1] if checkpoint else rdir
    again = " ".join(["optowave run", str(args.spec), "-o", str(args.output)]
                     + (["--chunk-ms", f"{args.chunk_ms:g}"] if args.chunk_ms else []))
    return (f"{args.output} is partial ({done} of {job.n_chunks} chunks committed; its attribute optowave_complete "
            f"is false); the checkpoint is {where}; run `{again}` again to resume from chunk {done}")


def cmd_sweep(args) -> int:
    if args.server:
        from clients.remote_cmds import cmd_sweep_remote

        return cmd_sweep_remote(args)
    from clients.progress import ProgressBar
    from service.runner import dask_client
    from service.sweep import load_sweep, run_sweep

    sweep = load_sweep(args.sweep)
    bar = ProgressBar("sweep", unit="runs", enabled=False if args.quiet else None)

    def show(event) -> None:
        bar(event.done, event.total)

    with dask_client(scheduler=args.scheduler, workers=args.workers) as client:
        result = run_sweep(sweep, args.output, client=client, on_progress=show, retry_failed=args.retry_failed)
    ds = result.summary
    print(f"wrote {args.output}: {result.n_runs} runs ({result.skipped} already done, {result.n_failed} failed) over "
          f"{', '.join(f'{d} ({n})' for d, n in ds.sizes.items())}; metrics {', '.join(result.metric_names)}")
    for line in result.failures[:5]:
        print(f"failed: {line}", file=sys.stderr)
    return 0


def cmd_validate(args) -> int:
    import solver
    from solver.spec import SpecError

    try:
        spec = solver.load_spec(args.spec, check_spec=False)
    except SpecError as exc:
        return _print_report(args, list(exc.violations), [], None)
    report = solver.validate(spec)
    cost = solver.estimate(solver.build(spec)) if report.ok else None
    accuracy = note = None
    if report.ok:
        from solver.spec import accuracy_note, accuracy_of

        accuracy = accuracy_of(spec)
        note = accuracy_note(spec) if accuracy is None else None
    return _print_report(args, list(report.errors), list(report.warnings), cost, accuracy, note)


def _print_report(args, errors, warnings, cost, accuracy=None, note=None) -> int:
    if args.json:
        out = {"ok": not errors, "errors": [e.__dict__ for e in errors], "warnings": [w.__dict__ for w in warnings]}
        if cost is not None:
            out["cost"] = {**cost.__dict__}
        if accuracy is not None:
            out["accuracy"] = {"cv_error": accuracy.total, "cv_error_time": accuracy.time, "cv_error_grid": accuracy.grid,
                               "one_node_per_cell": accuracy.discrete, "suggested_dt_ms": accuracy.suggested_dt_ms}
        elif note is not None:
            out["accuracy"] = {"note": note}
        print(json.dumps(out, indent=2))
    else:
        for e in errors:
            print(f"error: {e}")
        for w in warnings:
            print(f"warning: {w}")
        if cost is not None:
            print(f"ok: {cost.describe()}")
        if accuracy is not None:
            print(f"accuracy: {accuracy.describe()}")
        elif note is not None:
            print(f"accuracy: {note}")
    return 1 if errors else 0


def cmd_bench(args) -> int:
    from solver.numerics.bench import run_bench

    sizes = [int(s) for s in args.sizes.split(",") if s]
    models = [m for m in args.models.split(",") if m] or None
    if args.rounds < 1 or args.seconds <= 0:
        print(f"error: --rounds must be at least 1 (got {args.rounds}) and --seconds above 0 (got {args.seconds})",
              file=sys.stderr)
        return 2
    results = run_bench(sizes=sizes, models=models, seconds=args.seconds, verbose=not args.json, rounds=args.rounds)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


def cmd_demo(args) -> int:
    """The whole path: an embedded server with a local Dask cluster, a client that submits the
    spiral example, watches it, streams the result into a local store, and draws it."""
    import solver
    from clients import Client
    from service.server import embedded

    spec = args.spec or str(Path(__file__).resolve().parent.parent / "examples" / "spiral.json")
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    problem = solver.prepare(spec)
    print(f"{Path(spec).name}: {problem.ny}×{problem.nx} cells, {problem.n_steps} steps "
          f"({solver.estimate(problem).describe()})")
    store = out / "spiral.zarr"
    if store.exists():
        import shutil

        shutil.rmtree(store)   # a store from an earlier demo belongs to another job
    with embedded(out / "server-data", workers=args.workers) as address:
        print(f"server: {address} (embedded, {args.workers} Dask worker{'s' if args.workers != 1 else ''})")
        job = Client(address).submit(spec)
        print(f"submitted job {job.id}")
        job.watch(progress=True if sys.stderr.isatty() else None)
        ds = job.result(store)
    png, movie = out / "spiral.png", out / "spiral.gif"
    _figure(ds, png, movie=str(movie))
    print(f"result: {store.resolve()}\nfigure: {png.resolve()}\nmovie:  {movie.resolve()}")
    return 0


def cmd_plot(args) -> int:
    import xarray as xr

    from solver.pictures.plot import check_movie_path

    if args.movie:
        try:
            check_movie_path(args.movie)       # refuse before the figure is drawn, not after
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    ds = xr.open_zarr(args.store, consolidated=False)
    from solver.pictures.cell_plot import is_cell_result, plot_cell

    if is_cell_result(ds):            # a patch-clamp bench result (optowave cell): traces, I-V, continuation
        if args.movie:
            print(f"error: --movie {args.movie}: a cell-bench result has no movie (one cell, no sheet)",
                  file=sys.stderr)
            return 1
        plot_cell(ds.load(), args.output)
        print(f"figure: {Path(args.output).resolve()}")
        return 0
    movie = _figure(ds, Path(args.output), movie=args.movie)
    print(f"figure: {Path(args.output).resolve()}")
    if movie is not None:
        print(f"movie: {movie.resolve()}")
    return 0


def _figure(ds, png: Path, movie: str | None = None) -> Path | None:
    """Draw the figure and, when asked, the movie; returns the movie's path as written."""
    from solver.pictures import plot

    plot.plot_dataset(ds, png)
    return plot.write_movie(ds, movie) if movie else None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
