"""``optowave design`` and ``optowave protocol``: find the light pattern that does what you want.

    optowave protocol s1s2_spiral BASE.json --set interval_ms=60 -o spiral.json
    optowave design DESIGN.yaml -o OUTDIR [--workers N | --scheduler ADDR]
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path


def register(sub) -> None:
    pr = sub.add_parser("protocol", help="write a job spec lit by a named protocol (pacing, s1s2_spiral, "
                        "conduction_block, domain_flip, ring_oscillator)")
    pr.add_argument("name", help="the protocol; --list shows each one's parameters")
    pr.add_argument("base", nargs="?", help="base job spec (JSON or YAML): grid, tissue, coupling, numerics")
    pr.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a protocol parameter (repeatable); VALUE is read as JSON when it parses, e.g. "
                         "interval_ms=60, center_um=[500,500], region='{\"rectangle\": ...}'")
    pr.add_argument("-o", "--output", default="-", help="where to write the spec (default: standard output)")
    pr.add_argument("--list", action="store_true", help="print the protocol's parameters and defaults")
    pr.set_defaults(func=cmd_protocol)

    d = sub.add_parser("design", help="search for a light pattern: a threshold, a strength-duration curve, an S2 "
                       "window, a least dose, or a constrained minimum; writes a report")
    d.add_argument("design", help="design file (JSON or YAML): base, protocol, search, parameter, range, criterion")
    d.add_argument("-o", "--output", default=None, help="report directory: report.json, found.json, runs.csv, "
                   "report.png; runs are recorded in OUT/runs/ and a re-run reuses them (required here; with "
                   "--server the report is fetched into it when given)")
    from clients.options import add_cluster_options
    from clients.remote_cmds import add_connection_options

    add_cluster_options(d, workers_help="run each round's runs side by side on a local Dask cluster of N worker "
                        "processes (default: here, one run after another with numba threads on every core, which "
                        "is faster for a single bisection; workers pay off when rounds hold several runs)")
    add_connection_options(d, server_default=None)   # --server ADDR: the rounds run on the server's workers
    d.add_argument("--quiet", action="store_true", help="no progress lines")
    d.set_defaults(func=cmd_design)


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def cmd_protocol(args) -> int:
    from solver.design.protocols import apply_protocol, protocol_parameters

    try:
        params = protocol_parameters(args.name)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.list:
        import inspect

        for k, v in params.items():
            print(f"  {k} = {'(required)' if v is inspect.Parameter.empty else json.dumps(v)}")
        return 0
    if not args.base:
        print("error: base: give the base job spec (or --list)", file=sys.stderr)
        return 2
    values = {}
    for item in args.set:
        key, sep, text = item.partition("=")
        if not sep:
            print(f"error: --set {item!r}: write KEY=VALUE", file=sys.stderr)
            return 2
        values[key.strip()] = _value(text)
    try:
        spec = apply_protocol(args.name, args.base, **values)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    from solver.spec import load_spec

    load_spec(spec)  # the written spec must run: report its problems now
    text = json.dumps(spec, indent=2)
    if args.output == "-":
        print(text)
    else:
        Path(args.output).write_text(text + "\n")
        print(f"wrote {args.output}: {len(spec['light'])} light stimuli ({args.name})")
    return 0


def cmd_design(args) -> int:
    if args.server:
        from clients.remote_cmds import cmd_design_remote

        return cmd_design_remote(args)
    if not args.output:
        print("error: -o/--output: give the report directory (required unless --server)", file=sys.stderr)
        return 2
    from service.sweep import SweepEvaluator
    from solver.design import DesignError, load_design, run_design, write_report

    design = load_design(args.design)
    out = Path(args.output)
    say = (lambda *a: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))

    def on_round(rnd: int, n_runs: int, state: dict) -> None:
        say(f"round {rnd} done: {n_runs} runs so far{_progress_text(state)}")

    def on_run(event) -> None:
        say(f"  run {event.done}/{event.total} of this round: {event.status}, {event.elapsed_s:.1f} s")

    def run(client) -> int:
        ev = SweepEvaluator(out / "runs", client=client, base_dir=design.base_dir,
                            analysis=design.doc.get("analysis"), on_progress=on_run)
        try:
            result = run_design(design, ev, on_round=on_round)
        except DesignError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        paths = write_report(result, out, title=design.name)
        print(_summary_line(result, ev))
        print(f"wrote {', '.join(str(p) for p in paths.values())}")
        return 0

    if args.workers is None and args.scheduler is None:
        return run(None)
    from service.runner import dask_client

    with dask_client(scheduler=args.scheduler, workers=args.workers) as client:
        return run(client)


def _progress_text(state: dict) -> str:
    """``; bracket [lo, hi]; at most N rounds left`` from a round's progress (see solver.design.search)."""
    parts = []
    for b in state.get("brackets") or ():
        fixed = "".join(f" at {k} = {v:g}" for k, v in b["fixed"].items())
        parts.append(f"{b['parameter']}{fixed} in [{b['low']:.5g}, {b['high']:.5g}]")
    if state.get("best"):
        parts.append("best so far " + ", ".join(f"{k} = {v:.4g}" for k, v in state["best"].items()))
    if state.get("rounds_left") is not None:
        parts.append(f"at most {state['rounds_left']} rounds left")
    return "".join(f"; {p}" for p in parts)


def _summary_line(result, ev) -> str:
    s = result.summary
    runs = f"{result.n_runs} runs ({ev.ran} simulated, {ev.runs - ev.ran} from earlier records)"
    if result.kind == "threshold":
        lo, hi = s["bracket"]
        return (f"threshold of {result.parameters[0]}: {s['threshold']:.5g} (bracket [{lo:.5g}, {hi:.5g}], "
                f"{100 * s['relative_width']:.2g} % wide); {runs}, bisection needs at most {s['run_bound']}")
    if result.kind == "strength_duration":
        pts = ", ".join(f"{c[result.parameters[0]]:g} ms: {c['threshold']:.4g}" for c in result.curve)
        fit = (f"; rheobase {s['rheobase']:.4g}, chronaxie {s['chronaxie_ms']:.3g} ms"
               if math.isfinite(s.get("rheobase", math.nan)) else "")
        return f"strength-duration ({result.parameters[1]}): {pts}{fit}; {runs}"
    if result.kind == "window":
        if not s["window"]:
            return f"no window: {s['message']}; {runs}"
        a, b = s["window"]
        return f"window of {result.parameters[0]}: [{a:.5g}, {b:.5g}], centre {s['center']:.5g}; {runs}"
    if not s["best"]:
        return f"no run met the criteria; {runs}"
    best = ", ".join(f"{k} = {v:.4g}" for k, v in s["best"].items())
    return f"best: {best} with {s['objective']} = {s['best_objective']:.5g}; {runs}"
