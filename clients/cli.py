"""The ``optowave`` command line: one entry point, one subcommand per task (DESIGN.md)."""
from __future__ import annotations

import argparse
import json
import os
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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="optowave", description="Simulate optogenetic excitable media.")
    sub = p.add_subparsers(metavar="COMMAND")

    r = sub.add_parser("run", help="simulate a spec in this process and write a Zarr store")
    r.add_argument("spec", help="job spec (JSON or YAML)")
    r.add_argument("-o", "--output", required=True, help="output Zarr store (a directory, e.g. out.zarr)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_run)

    v = sub.add_parser("validate", help="check a spec: errors, warnings and a cost estimate")
    v.add_argument("spec")
    v.add_argument("--json", action="store_true", help="print the report as JSON")
    v.set_defaults(func=cmd_validate)

    b = sub.add_parser("bench", help="measure the kernels: cell-steps/s, ratio to NumPy, bandwidth fraction")
    b.add_argument("--json", action="store_true", help="print the figures as JSON")
    b.add_argument("--sizes", default="256,1024", help="comma-separated sheet sizes (default 256,1024)")
    b.add_argument("--models", default="", help="comma-separated models (default all)")
    b.add_argument("--seconds", type=float, default=1.0, help="target seconds per measurement")
    b.set_defaults(func=cmd_bench)

    d = sub.add_parser("demo", help="run the spiral example and write a figure")
    d.add_argument("-o", "--output-dir", default="optowave-demo", help="where to write the store and figure")
    d.add_argument("--spec", default=None, help="spec to run (default examples/spiral.json)")
    d.set_defaults(func=cmd_demo)

    pl = sub.add_parser("plot", help="snapshots, activation map and traces of a result; --movie for a movie")
    pl.add_argument("store", help="result Zarr store")
    pl.add_argument("-o", "--output", required=True, help="PNG to write")
    pl.add_argument("--movie", default=None, help="also write a movie (.mp4 or .gif)")
    pl.set_defaults(func=cmd_plot)
    return p


def cmd_run(args) -> int:
    import solver
    from clients.progress import ProgressBar

    problem = solver.prepare(args.spec)
    for w in solver.validate(problem.spec).warnings:
        print(f"warning: {w}", file=sys.stderr)
    bar = ProgressBar("run", enabled=False if args.quiet else None)
    ds = solver.simulate(problem.spec, progress=bar)
    chunk = _time_chunk(problem)
    solver.write_zarr(ds, args.output, time_chunk=chunk)
    print(f"wrote {args.output}: {', '.join(ds.data_vars)}; {ds.sizes['time']} samples over "
          f"{float(ds.time[-1]):g} ms on a {problem.ny}×{problem.nx} grid")
    return 0


def _time_chunk(problem) -> int:
    chunk_ms = problem.spec.numerics.chunk_ms or 50.0
    return max(1, int(round(chunk_ms / (problem.sample_every * problem.dt_ms))))


def cmd_validate(args) -> int:
    import solver
    from solver.spec import SpecError

    try:
        spec = solver.load_spec(args.spec, check_spec=False)
    except SpecError as exc:
        return _print_report(args, list(exc.violations), [], None)
    report = solver.validate(spec)
    cost = solver.estimate(solver.build(spec)) if report.ok else None
    return _print_report(args, list(report.errors), list(report.warnings), cost)


def _print_report(args, errors, warnings, cost) -> int:
    if args.json:
        out = {"ok": not errors, "errors": [e.__dict__ for e in errors], "warnings": [w.__dict__ for w in warnings]}
        if cost is not None:
            out["cost"] = {**cost.__dict__}
        print(json.dumps(out, indent=2))
    else:
        for e in errors:
            print(f"error: {e}")
        for w in warnings:
            print(f"warning: {w}")
        if cost is not None:
            print(f"ok: {cost.describe()}")
    return 1 if errors else 0


def cmd_bench(args) -> int:
    from solver.bench import run_bench

    sizes = [int(s) for s in args.sizes.split(",") if s]
    models = [m for m in args.models.split(",") if m] or None
    results = run_bench(sizes=sizes, models=models, seconds=args.seconds, verbose=not args.json)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


def cmd_demo(args) -> int:
    import solver
    from clients.progress import ProgressBar

    spec = args.spec or str(Path(__file__).resolve().parent.parent / "examples" / "spiral.json")
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    problem = solver.prepare(spec)
    print(f"simulating {spec}: {problem.ny}×{problem.nx} cells, {problem.n_steps} steps "
          f"({solver.estimate(problem).describe()})")
    ds = solver.simulate(problem.spec, progress=ProgressBar("demo"))
    store = out / "spiral.zarr"
    solver.write_zarr(ds, store, time_chunk=_time_chunk(problem))
    png = out / "spiral.png"
    _figure(ds, png)
    print(f"result: {store}\nfigure: {png.resolve()}")
    return 0


def cmd_plot(args) -> int:
    import xarray as xr

    ds = xr.open_zarr(args.store, consolidated=False)
    _figure(ds, Path(args.output), movie=args.movie)
    print(f"figure: {Path(args.output).resolve()}")
    if args.movie:
        print(f"movie: {Path(args.movie).resolve()}")
    return 0


def _figure(ds, png: Path, movie: str | None = None) -> None:
    from solver import plot

    plot.plot_dataset(ds, png)
    if movie:
        plot.write_movie(ds, movie)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
