"""What the closed-loop examples share: a session in process or on a server, and the command line around it.

A controller is a plain function of a session: it calls ``next_frame()``, looks at the frame's ``dff`` and calls
``set_light`` / ``clear_light``. ``solver.Session(spec)`` runs the tissue in this process;
``clients.Client(ADDR).interact(spec)`` runs it on an optowave server and has the same methods, so the same
controller steers either.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def open_session(spec: dict, *, server: str | None = None, include_v: bool = False):
    """A session of ``spec``: in this process (``server`` None) or on the optowave server at ``server``."""
    if server is None:
        import solver

        return solver.Session(spec, include_v=include_v)
    from clients import Client

    return Client(server).interact(spec, include_v=include_v)


def command_line(description: str, default_png: str) -> argparse.Namespace:
    """The options every example takes: ``--server ADDR`` and ``-o PNG``."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--server", metavar="ADDR", default=None,
                    help="run the tissue on this optowave server (host:port) instead of in this process")
    ap.add_argument("-o", "--out", default=str(HERE / default_png), help="figure to write (PNG)")
    return ap.parse_args()


class Stopwatch:
    """The controller's own time per frame (s), so that loop latencies can leave it out."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._t0 = 0.0

    def __enter__(self) -> "Stopwatch":
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds.append(time.perf_counter() - self._t0)


def pixel_centres_um(frame) -> tuple[np.ndarray, np.ndarray]:
    """The frame's camera pixel centres (µm): ``(y, x)`` coordinate vectors."""
    return np.asarray(frame["cam_y"].values), np.asarray(frame["cam_x"].values)
