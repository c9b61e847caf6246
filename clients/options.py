"""Flags several subcommands share (here, not in :mod:`clients.cli`, so that a subcommand's module never imports
the command line that imports it)."""
from __future__ import annotations

import argparse


def add_cluster_options(parser: argparse.ArgumentParser,
                        workers_help: str = "local Dask cluster of N worker processes (default: one per core)"):
    """``--workers N | --scheduler ADDR``: where the runs of a sweep or a design search go. Returns the group."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None, metavar="N", help=workers_help)
    where.add_argument("--scheduler", default=None, metavar="ADDR", help="existing Dask cluster (tcp://HOST:PORT)")
    return where
