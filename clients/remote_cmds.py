"""Subcommands that talk to an optowave server (``serve``, ``submit``, ``jobs``, ``status``, ``cancel``, ``fetch``).

The connection flags are the same for every client command: ``--server ADDR`` (default
``$OPTOWAVE_SERVER``, else ``localhost:50051``), ``--token T`` or ``--token-file F`` (default
``$OPTOWAVE_TOKEN``), ``--tls-ca F`` for TLS (and ``--tls-cert``/``--tls-key`` for mutual TLS).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

DEFAULT_SERVER = "localhost:50051"
GiB = 2**30


def register(sub) -> None:
    """Add the service's subcommands to the ``optowave`` parser."""
    s = sub.add_parser("serve", help="run an optowave server (gRPC): jobs in SQLite, results in Zarr, chunks on Dask")
    s.add_argument("--listen", default="127.0.0.1:50051", metavar="ADDR",
                   help="HOST:PORT to listen on (default 127.0.0.1:50051; port 0 picks a free one). A non-loopback "
                        "address needs --token-file or --tls-client-ca, or --insecure")
    s.add_argument("--data", default="optowave-data", metavar="DIR",
                   help="job table and result stores (every Dask worker must see it under the same path)")
    where = s.add_mutually_exclusive_group()
    where.add_argument("--scheduler", default=None, metavar="ADDR", help="run chunks on an existing Dask cluster")
    where.add_argument("--workers", type=int, default=None, metavar="N",
                       help="local Dask cluster of N worker processes (default: one per core; 0: in the server "
                            "process, for tiny jobs)")
    s.add_argument("--token-file", default=None, metavar="F",
                   help="accepted tokens, one per line, optionally 'client_name token' (jobs are per client)")
    s.add_argument("--tls-cert", default=None, metavar="F", help="server certificate (PEM)")
    s.add_argument("--tls-key", default=None, metavar="F", help="server private key (PEM)")
    s.add_argument("--tls-client-ca", default=None, metavar="F",
                   help="mutual TLS: require client certificates signed by this CA")
    s.add_argument("--insecure", action="store_true",
                   help="allow a non-loopback address without client authentication")
    s.add_argument("--max-concurrent", type=int, default=2, metavar="N", help="jobs running at once (default 2)")
    s.add_argument("--max-queued-per-client", type=int, default=100, metavar="N")
    s.add_argument("--max-cell-steps", type=float, default=1e13, metavar="X", help="per job (default 1e13)")
    s.add_argument("--max-memory-gib", type=float, default=8.0, metavar="X", help="state memory per job (default 8)")
    s.add_argument("--max-output-gib", type=float, default=64.0, metavar="X", help="result size per job (default 64)")
    s.add_argument("--disk-reserve-gib", type=float, default=1.0, metavar="X",
                   help="free space the data directory keeps: a job whose output would eat into it is refused, and a "
                        "running job whose next chunk finds less free space fails naming the figure (default 1)")
    s.add_argument("--max-sweep-runs", type=int, default=10_000, metavar="N", help="runs per sweep (default 10000)")
    s.add_argument("--max-pattern-leaves", type=int, default=4096, metavar="N",
                   help="shapes in one light, current or tissue pattern (default 4096)")
    s.add_argument("--max-pattern-depth", type=int, default=16, metavar="N",
                   help="nested unions, differences, sums and regions in one pattern (default 16)")
    s.add_argument("--max-polygon-vertices", type=int, default=10_000, metavar="N", help="per polygon (default 10000)")
    s.add_argument("--max-label-bytes", type=int, default=16 * 1024, metavar="N",
                   help="all labels of a job together, keys and values (default 16384)")
    s.add_argument("--max-request-mib", type=float, default=16.0, metavar="X",
                   help="largest request or response message (default 16)")
    s.add_argument("--grace", type=float, default=10.0, metavar="S",
                   help="seconds streams get to finish at shut-down (default 10)")
    s.add_argument("--max-sessions", type=int, default=4, metavar="N",
                   help="live sessions (Interact) at once (default 4)")
    s.add_argument("--max-session-frames", type=int, default=1_000_000, metavar="N",
                   help="frames one live session may film (default 1000000)")
    s.add_argument("--interact-queue-frames", type=int, default=8, metavar="N",
                   help="frames a live session films ahead of its stream before it pauses (default 8)")
    s.add_argument("--interact-buffer-frames", type=int, default=64, metavar="N",
                   help="sent frames a live session keeps for a resume after a dropped stream (default 64)")
    s.add_argument("--interact-grace-s", type=float, default=30.0, metavar="S",
                   help="seconds a live session whose stream dropped waits for a resume before it is stored as "
                        "a job (default 30)")
    s.add_argument("--bulk-listen", default=None, metavar="ADDR",
                   help="HOST:PORT of the bulk channel: a plain TCP port (0 picks a free one) that sends stored "
                        "result files with sendfile to clients that ask for it (optowave fetch, Job.result), "
                        "several times faster than the gRPC stream; each transfer needs a one-time ticket from an "
                        "authorised StreamResults call. Default: off. Not with --tls-cert (it is not encrypted)")
    s.add_argument("--bulk-transfers", type=int, default=4, metavar="N",
                   help="bulk transfers served at once; one more connection is refused and its client takes the "
                        "gRPC stream (default 4)")
    s.set_defaults(func=cmd_serve)

    p = sub.add_parser("submit", help="submit a spec to a server; --follow to watch it, -o to fetch its result")
    p.add_argument("spec", help="job spec (JSON or YAML)")
    add_connection_options(p)
    p.add_argument("-o", "--output", default=None, help="fetch the result into this Zarr store (waits for the job)")
    p.add_argument("--follow", action="store_true", help="show progress until the job ends")
    p.add_argument("--request-id", default=None, help="idempotency key: resubmitting with it returns the same job")
    p.set_defaults(func=cmd_submit)

    j = sub.add_parser("jobs", help="list your jobs on a server")
    add_connection_options(j)
    j.add_argument("--state", default=None, choices=["queued", "running", "succeeded", "failed", "cancelled"])
    j.add_argument("--label", action="append", default=[], metavar="KEY=VALUE", help="only jobs with this label")
    j.add_argument("--json", action="store_true")
    j.set_defaults(func=cmd_jobs)

    for name, func, text in (("status", cmd_status, "show one job"), ("cancel", cmd_cancel, "cancel a job")):
        c = sub.add_parser(name, help=text)
        c.add_argument("job_id", metavar="ID")
        add_connection_options(c)
        c.set_defaults(func=func)

    f = sub.add_parser("fetch", help="stream a job's result into a local Zarr store (resumes a partial fetch)")
    f.add_argument("job_id", metavar="ID")
    f.add_argument("-o", "--output", required=True, help="Zarr store to write")
    add_connection_options(f)
    f.set_defaults(func=cmd_fetch)


def add_connection_options(p: argparse.ArgumentParser, *, server_default: str | None = "env") -> None:
    """Connection options; ``server_default="env"``: $OPTOWAVE_SERVER or the default address."""
    if server_default == "env":
        server_default = os.environ.get("OPTOWAVE_SERVER", DEFAULT_SERVER)
    p.add_argument("--server", default=server_default, metavar="ADDR",
                   help="an optowave server (host:port)" + ("" if server_default else "; default: run here"))
    tok = p.add_mutually_exclusive_group()
    tok.add_argument("--token", default=None, help="bearer token (default $OPTOWAVE_TOKEN)")
    tok.add_argument("--token-file", default=None, metavar="F", help="file whose first token is sent")
    p.add_argument("--tls-ca", default=None, metavar="F", help="use TLS; the CA that signed the server's certificate")
    p.add_argument("--tls-cert", default=None, metavar="F", help="client certificate (mutual TLS)")
    p.add_argument("--tls-key", default=None, metavar="F", help="client key (mutual TLS)")


def _client(args):
    from clients import TLS, Client

    token = args.token or os.environ.get("OPTOWAVE_TOKEN")
    if args.token_file:
        token = _first_token(args.token_file)
    tls = TLS(ca=args.tls_ca, cert=args.tls_cert, key=args.tls_key) if (args.tls_ca or args.tls_cert) else None
    return Client(args.server, token=token, tls=tls)


def _first_token(path: str) -> str:
    for line in Path(path).read_text().splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            return words[-1]
    raise ValueError(f"{path}: no token")


def _errors(func):
    """Print a server's error (code, message, each field) instead of a traceback."""

    def run(args) -> int:
        from clients import JobError, ServiceError

        try:
            return func(args)
        except ServiceError as exc:
            print(f"error: {exc.code.name}: {exc.message}", file=sys.stderr)
            for where, what in exc.violations[5:]:   # the message names the first five
                print(f"  {where}: {what}", file=sys.stderr)
            return 1
        except (JobError, ValueError, FileNotFoundError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1

    return run


def cmd_serve(args) -> int:
    from service.interact import InteractLimits
    from service.jobs import Limits, StartupError
    from service.server import InsecureListenError, ServerConfig, TokenFileError, serve
    from solver.spec import SpecLimits

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for flag in ("max_cell_steps", "max_memory_gib", "max_output_gib", "max_sweep_runs", "max_pattern_leaves",
                 "max_pattern_depth", "max_polygon_vertices", "max_label_bytes", "max_request_mib",
                 "max_queued_per_client", "max_concurrent", "max_sessions", "max_session_frames",
                 "interact_queue_frames", "interact_buffer_frames", "bulk_transfers"):
        if not getattr(args, flag) > 0:
            print(f"error: --{flag.replace('_', '-')} {getattr(args, flag)} is not allowed; must be > 0",
                  file=sys.stderr)
            return 2
    for flag in ("disk_reserve_gib", "interact_grace_s"):
        if not getattr(args, flag) >= 0:
            print(f"error: --{flag.replace('_', '-')} {getattr(args, flag)} is not allowed; must be >= 0",
                  file=sys.stderr)
            return 2
    spec_limits = SpecLimits(max_pattern_depth=args.max_pattern_depth, max_pattern_leaves=args.max_pattern_leaves,
                             max_polygon_vertices=args.max_polygon_vertices, max_label_bytes=args.max_label_bytes)
    limits = Limits(max_cell_steps=int(args.max_cell_steps), max_memory_bytes=int(args.max_memory_gib * GiB),
                    max_output_bytes=int(args.max_output_gib * GiB), max_queued_per_client=args.max_queued_per_client,
                    disk_reserve_bytes=int(args.disk_reserve_gib * GiB), max_sweep_runs=args.max_sweep_runs,
                    spec=spec_limits)
    config = ServerConfig(listen=args.listen, data_dir=args.data, scheduler=args.scheduler, workers=args.workers,
                          token_file=args.token_file, tls_cert=args.tls_cert, tls_key=args.tls_key,
                          tls_client_ca=args.tls_client_ca, insecure=args.insecure,
                          max_concurrent=args.max_concurrent, limits=limits, grace_s=args.grace,
                          max_message_bytes=int(args.max_request_mib * 2**20),
                          interact=InteractLimits(max_sessions=args.max_sessions, max_frames=args.max_session_frames,
                                                  queue_frames=args.interact_queue_frames,
                                                  buffer_frames=args.interact_buffer_frames,
                                                  grace_s=args.interact_grace_s),
                          bulk_listen=args.bulk_listen, bulk_transfers=args.bulk_transfers)
    try:
        return serve(config, announce=lambda text: print(text, flush=True))
    except (InsecureListenError, TokenFileError, StartupError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


@_errors
def cmd_submit(args) -> int:
    client = _client(args)
    job = client.submit(args.spec, request_id=args.request_id)
    for where, what in job.warnings:
        print(f"warning: {where}: {what}", file=sys.stderr)
    print(job.id, flush=True)
    if args.follow:
        job.watch()
    if args.output:
        ds = job.result(args.output)
        print(f"wrote {args.output}: {', '.join(ds.data_vars)}")
    elif args.follow and job.state != "SUCCEEDED":
        return 1
    return 0


@_errors
def cmd_jobs(args) -> int:
    labels = dict(item.split("=", 1) for item in args.label)
    jobs = _client(args).jobs(state=args.state, labels=labels)
    if args.json:
        print(json.dumps([_job_dict(j) for j in jobs], indent=2))
        return 0
    for j in jobs:
        p = j.progress
        print(f"{j.id}  {j.state:<9}  {p.chunks_committed:>4}/{p.chunks_total:<4} chunks  "
              f"{p.simulated_ms:>9g}/{p.duration_ms:g} ms  {j.message.spec.name}")
    return 0


@_errors
def cmd_status(args) -> int:
    print(json.dumps(_job_dict(_client(args).job(args.job_id)), indent=2))
    return 0


@_errors
def cmd_cancel(args) -> int:
    job = _client(args).job(args.job_id).cancel()
    print(f"{job.id}: {job.state}")
    return 0


@_errors
def cmd_fetch(args) -> int:
    job = _client(args).job(args.job_id)
    ds = job.result(args.output)
    r = job.fetch_report
    via = (f"; {r.bulk_chunks} of {r.bulk_chunks + r.stream_chunks} time chunks over the bulk channel"
           if r is not None and r.bulk_chunks else "")
    print(f"wrote {args.output}: {', '.join(ds.data_vars)} ({dict(ds.sizes)}){via}")
    return 0


@_errors
def cmd_sweep_remote(args) -> int:
    """``optowave sweep SWEEP --server ADDR [-o SUMMARY.zarr]``: run a sweep on a server, with a progress bar;
    Ctrl-C cancels it on the server (the runs that finished stay in its summary)."""
    sweep = _client(args).sweep(args.sweep)
    print(sweep.id, flush=True)
    try:
        sweep.watch(progress=False if getattr(args, "quiet", False) else None)
    except KeyboardInterrupt:
        return 130
    print(f"{sweep.id}: {sweep.state}, {sweep.runs_done}/{sweep.runs_total} runs, {sweep.runs_failed} failed")
    for parameters, error in sweep.failed_runs[:5]:
        where = ", ".join(f"{k}={v!r}" for k, v in parameters.items())
        print(f"failed: {where}: {error}", file=sys.stderr)
    if getattr(args, "output", None) and sweep.state in ("SUCCEEDED", "CANCELLED"):
        sweep.summary().to_zarr(args.output, mode="w", zarr_format=3, consolidated=False)
        print(f"wrote {args.output}")
    return 0 if sweep.state == "SUCCEEDED" else 1


@_errors
def cmd_design_remote(args) -> int:
    """``optowave design DESIGN --server ADDR [-o DIR]``: run a design search on a server, a line per round;
    Ctrl-C cancels it on the server. With -o the report files are fetched into DIR."""
    design = _client(args).design(args.design)
    print(design.id, flush=True)
    quiet = getattr(args, "quiet", False)
    try:
        seen = -1
        for d in design.events():
            if not quiet and d.rounds_done != seen:
                seen = d.rounds_done
                print(f"{d.state.lower()}: round {d.rounds_done}, {d.runs_done} runs" + _design_progress(d),
                      file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        design.cancel()
        print(f"{design.id}: {design.state} (cancelled on the server)", file=sys.stderr)
        return 130
    if design.state != "SUCCEEDED":
        print(f"{design.id}: {design.state}" + (f": {design.error}" if design.error else ""), file=sys.stderr)
        return 1
    print(f"{design.id}: SUCCEEDED, {design.runs_done} runs; {json.dumps(design.result['summary'])}")
    if args.output:
        paths = design.report(args.output)
        print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0


def _design_progress(d) -> str:
    parts = [f"{b['parameter']}" + "".join(f" at {k} = {v:g}" for k, v in b["fixed"].items()) +
             f" in [{b['low']:.5g}, {b['high']:.5g}]" for b in d.brackets]
    if d.best:
        parts.append("best so far " + ", ".join(f"{k} = {v:.4g}" for k, v in d.best.items()))
    if d.rounds_left is not None:
        parts.append(f"at most {d.rounds_left} rounds left")
    return "".join(f"; {p}" for p in parts)


def _job_dict(job) -> dict:
    from google.protobuf import json_format

    d = json_format.MessageToDict(job.message, preserving_proto_field_name=True)
    d.pop("spec", None)
    d["spec_name"] = job.message.spec.name
    return d
