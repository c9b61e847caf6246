"""Closed loop (b): find the spiral's phase singularity on the camera's ΔF/F and end the spiral with light.

A cross-field S1-S2 protocol (the spec's own light) starts a spiral on a small HEK sheet. The controller
watches the camera: each frame it reconstructs the phase of every pixel by time-delay embedding over the last
frames and looks for plaquettes around which the phase winds (:func:`solver.analysis.phase_singularities`).
Once a spiral has been seen for a few frames it acts:

- ``global`` (default): one pulse of light over the whole sheet, a few ms long, excites every excitable cell at
  once; the spiral's arm then has nowhere to go and the tissue falls quiet;
- ``tip``: the same pulse on a disk centred on the tip only. On this sheet it does not end the spiral within
  the run (the tip moves away and turns on; tried with a 300 µm disk and a 10 ms pulse): the global pulse does.

It reports the time from its first light to the last frame with a singularity. Run it::

    python examples/closed_loop/spiral_termination.py [--strategy global|tip] [--server ADDR] [-o fig.png]
"""
from __future__ import annotations

import sys
from collections import deque
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _loop import Stopwatch, command_line, open_session, pixel_centres_um  # noqa: E402

#: the sheet: 100 × 100 cells of 20 µm (one cell per node), the spiral example's tissue, coupling and protocol
#: shrunk to a sheet half as wide (the S2 comes when the S1 wave's tail crosses the middle)
N_CELLS, DX_UM = 100, 20.0
S2_MS = 44.0


def spiral_spec(*, n: int = N_CELLS, s2_ms: float = S2_MS, duration_ms: float = 300.0) -> dict:
    """The job spec: a spiral started by S1 (left bar at 1 ms) and S2 (lower-left quadrant at ``s2_ms``)."""
    side = n * DX_UM
    def rect(x0, y0, x1, y1):
        return {"rectangle": {"min_um": {"x": x0, "y": y0}, "max_um": {"x": x1, "y": y1}}}

    return {
        "name": "closed loop: spiral termination",
        "grid": {"nx": n, "ny": n, "dx_um": DX_UM},
        "tissue": {"model": {"preset": "hek_gokhale2017_35c", "ions": {"k_out_mm": 3.0}}},
        "coupling": {"gap_junction": {"conductance_ns": 37.5, "cell_size_um": DX_UM, "capacitance_pf": 15.0}},
        "opsin": {"preset": "cheriff"},
        "light": [
            {"name": "S1", "pattern": rect(0, 0, 5 * DX_UM, side),
             "waveform": {"pulse": {"start_ms": 1.0, "width_ms": 3.0}}, "irradiance_mw_per_mm2": 1.0},
            {"name": "S2", "pattern": rect(0, side / 2, side / 2, side),
             "waveform": {"pulse": {"start_ms": s2_ms, "width_ms": 3.0}}, "irradiance_mw_per_mm2": 1.0},
        ],
        "readout": {"enabled": True, "camera": {"frame_rate_hz": 500.0, "binning": 2, "photons_per_pixel": 20000.0}},
        "output": {"variables": ["v"], "sample_interval_ms": 2.0},
        "analysis": {"enabled": False},
        "numerics": {"dt_ms": 0.02, "duration_ms": duration_ms},
        "seed": 1,
    }


class TipFinder:
    """Phase singularities of the latest frame, from the last ``window`` frames of ΔF/F.

    The phase of a pixel is ``atan2(x(t − lag) − c, x(t) − c)`` with ``c`` the middle of its swing over the
    window; pixels that swing less than ``min_swing`` (in ΔF/F) are left out.
    """

    def __init__(self, *, lag: int = 4, window: int = 40, min_swing: float = 0.05) -> None:
        self.lag, self.min_swing = lag, min_swing
        self.frames: deque = deque(maxlen=window)

    def add(self, dff: np.ndarray) -> np.ndarray:
        """Take a frame; return the tips in it as rows ``(row, column, charge)`` of camera pixels (plaquette
        corners)."""
        from solver.analysis import phase_singularities

        self.frames.append(np.asarray(dff, dtype=np.float64))
        if len(self.frames) <= self.lag:
            return np.zeros((0, 3), np.int64)
        movie = np.stack(self.frames)
        with np.errstate(invalid="ignore"):
            lo, hi = np.nanmin(movie, axis=0), np.nanmax(movie, axis=0)
        centre = np.where(hi - lo >= self.min_swing, 0.5 * (lo + hi), np.nan)
        tips = phase_singularities(movie, lag=self.lag, centre=centre, frames=np.array([len(movie) - 1]))
        return tips[:, 1:]


def terminate_spiral(session, *, strategy: str = "global", act_after_ms: float = 60.0, confirm_frames: int = 3,
                     pulse_ms: float = 10.0, settle_ms: float = 40.0, irradiance_mw_per_mm2: float = 1.0,
                     disk_radius_um: float = 300.0, quiet_ms: float = 40.0, frames: int | None = None,
                     finder: TipFinder | None = None) -> dict:
    """Run ``session`` frame by frame and end its spiral (``strategy`` "global", "tip", or "none" to only watch).

    The controller acts once a tip has been seen in ``confirm_frames`` frames in a row from ``act_after_ms`` on
    (the spec's own protocol is over by then): a pulse of ``pulse_ms`` over the whole sheet (``global``) or on a
    disk of ``disk_radius_um`` about the first tip (``tip``), then ``settle_ms`` in which tips are not acted on
    (the pulse's own wave confuses the phase for a while), then it watches again. It stops after ``frames`` frames
    (default: the whole session), or when no tip has been seen for ``quiet_ms`` after its first light.

    Returns
    -------
    dict
        ``time_ms`` (exposure start) and ``n_tips`` per frame, ``tips`` (per frame, rows ``(y_um, x_um,
        charge)``), ``light_on`` per frame, ``first_light_ms`` (when the first command took effect),
        ``terminated_ms`` (the end of the last frame with a tip, once ``quiet_ms`` followed it; else None),
        ``time_to_termination_ms``, ``controller_s`` (the controller's own time per frame) and ``snapshots``
        (ΔF/F when the controller first acts, and at the end).
    """
    if strategy not in ("global", "tip", "none"):
        raise ValueError(f"strategy = {strategy!r} is not allowed; use 'global', 'tip' or 'none'")
    finder = finder or TipFinder()
    period = session.frame_period_ms
    n_frames = frames if frames is not None else session.max_frames
    out = {"time_ms": [], "n_tips": [], "tips": [], "light_on": [], "first_light_ms": None, "terminated_ms": None,
           "time_to_termination_ms": None, "snapshots": {}, "controller_s": []}
    seen, light_on, pulse_end, ignore_until, last_tip_end = 0, False, None, -np.inf, None
    clock = Stopwatch()
    for _ in range(n_frames):
        frame = session.next_frame()
        with clock:
            t = float(frame.attrs["time_ms"])
            now = t + period                           # the boundary where a command given now takes effect
            ys, xs = pixel_centres_um(frame)
            tips = finder.add(frame["dff"].values)
            half = 0.5 * (ys[1] - ys[0])
            where = np.column_stack([ys[tips[:, 0]] + half, xs[tips[:, 1]] + half, tips[:, 2]]) if len(tips) \
                else np.zeros((0, 3))
            for key, value in (("time_ms", t), ("n_tips", len(tips)), ("tips", where), ("light_on", light_on)):
                out[key].append(value)
            if len(tips):
                last_tip_end = now
            seen = seen + 1 if len(tips) and t >= act_after_ms and now >= ignore_until else 0
            first = out["first_light_ms"]
            if strategy != "none":
                if light_on and now >= pulse_end:
                    session.clear_light()
                    light_on, ignore_until = False, now + settle_ms
                elif not light_on and seen >= confirm_frames:
                    if strategy == "global":
                        session.set_light({"everywhere": {}}, irradiance_mw_per_mm2, name="global pulse")
                    else:
                        session.set_light({"disk": {"center_um": {"x": float(where[0, 1]), "y": float(where[0, 0])},
                                                    "radius_um": disk_radius_um}}, irradiance_mw_per_mm2,
                                          name="pulse on the tip")
                    light_on, pulse_end, seen = True, now + pulse_ms, 0
            if first is None and light_on:
                out["first_light_ms"] = first = now
                out["snapshots"]["first light"] = frame["dff"].values.copy()
            if first is not None and not light_on and now - max(first, last_tip_end or first) >= quiet_ms:
                end = max(first, last_tip_end or first)
                out["terminated_ms"], out["time_to_termination_ms"] = end, end - first
                break
    out["controller_s"] = clock.seconds
    out["snapshots"]["last"] = frame["dff"].values.copy()
    return out


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--strategy", choices=("global", "tip"), default="global")
    known, rest = ap.parse_known_args()
    sys.argv = [sys.argv[0], *rest]
    ap_args = command_line(__doc__.splitlines()[0], "spiral_termination.png")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spec = spiral_spec()
    with open_session(spec, server=ap_args.server) as s:
        ctl = terminate_spiral(s, strategy=known.strategy)
    with open_session(spec, server=ap_args.server) as s:
        ref = terminate_spiral(s, strategy="none", frames=len(ctl["time_ms"]))
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    axes[0].plot(ref["time_ms"], ref["n_tips"], label="no control", color="0.5")
    axes[0].plot(ctl["time_ms"], ctl["n_tips"], label="controller", color="C3")
    if ctl["first_light_ms"] is not None:
        axes[0].axvline(ctl["first_light_ms"], color="C0", ls="--", label="light")
    axes[0].set(xlabel="time (ms)", ylabel="phase singularities", title="tips seen by the camera")
    axes[0].legend()
    for ax, (title, img) in zip(axes[1:], [("at the first light", ctl["snapshots"].get("first light")),
                                           ("controlled, at the end", ctl["snapshots"]["last"])]):
        if img is not None:
            ax.imshow(img, cmap="magma", vmin=-0.05, vmax=0.3)    # one scale: a quiet sheet looks quiet
        ax.set(title=f"ΔF/F {title}", xticks=[], yticks=[])
    ttt = ctl["time_to_termination_ms"]
    fig.suptitle("spiral termination: " + (f"ended {ttt:g} ms after the first light" if ttt is not None
                                           else "not ended"))
    fig.tight_layout()
    fig.savefig(ap_args.out, dpi=110)
    print(f"time to termination: {ttt} ms; figure: {ap_args.out}")


if __name__ == "__main__":
    main()
