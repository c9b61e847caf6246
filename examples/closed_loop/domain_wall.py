"""Closed loop (c): hold a bistable domain wall at a target position with a proportional controller on light.

A strip of Kir2.1-bistable HEK cells (``hek_bistable``) at the equal-area leak (MODEL.md 3.2): the left part
starts depolarised, the right part hyperpolarised, and the wall between them stands in the dark because
∫ I_ss dV = 0 between the two stable potentials. Blue light adds a depolarising opsin current, tips the balance
and moves the wall into the hyperpolarised domain (to the right), faster for more light. The controller reads
the wall's position from each camera frame and sets a uniform irradiance proportional to how far the wall is
short of the target; at the target the light is off and the wall stays.

The wall is found on the counts (``fluorescence``), not on ΔF/F: ΔF/F against the frames before the first light
is zero in both domains while they stand, whereas the counts are higher where the cells are depolarised.

Run it::

    python examples/closed_loop/domain_wall.py [--target-um 520] [--server ADDR] [-o fig.png]
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _loop import Stopwatch, command_line, open_session, pixel_centres_um  # noqa: E402

#: the leak at which the dark wall stands (solver.models.hek.equal_area_g_L of the preset, nS/pF)
EQUAL_AREA_G_L = 0.32877
DX_UM, NX, NY = 10.0, 96, 8
START_UM = 300.0


def strip_spec(*, duration_ms: float = 300.0, start_um: float = START_UM) -> dict:
    """A 96 × 8 strip, depolarised (−10 mV) left of ``start_um``, hyperpolarised right of it."""
    return {
        "name": "closed loop: a bistable domain wall held by light",
        "grid": {"nx": NX, "ny": NY, "dx_um": DX_UM},
        "tissue": {"model": {"preset": "hek_bistable", "parameters": {"g_L": EQUAL_AREA_G_L}},
                   "initial": {"regions": [{"pattern": {"rectangle": {"min_um": {"x": 0, "y": 0},
                                                                      "max_um": {"x": start_um, "y": NY * DX_UM}}},
                                            "values": {"v": -10.0}}]}},
        "coupling": {"diffusivity_um2_per_ms": 1000.0},
        "opsin": {"preset": "cheriff"},
        "readout": {"enabled": True, "camera": {"frame_rate_hz": 200.0, "photons_per_pixel": 100000.0}},
        "output": {"variables": ["v", "irradiance"], "sample_interval_ms": 5.0},
        "analysis": {"enabled": False},
        "numerics": {"dt_ms": 0.02, "duration_ms": duration_ms},
        "seed": 3,
    }


def wall_position_um(counts: np.ndarray, x_um: np.ndarray, *, edge_pixels: int = 8) -> float:
    """Where the bright (depolarised, left) domain ends (µm): its width measured by the profile's area.

    The column means of the counts are scaled so that the mean of the ``edge_pixels`` leftmost columns is 1 and
    that of the rightmost is 0; the wall sits at the left edge plus the area under that profile. Unlike a
    threshold crossing this uses every pixel, so shot noise averages out.
    """
    profile = np.nanmean(np.asarray(counts, dtype=np.float64), axis=0)
    hi, lo = profile[:edge_pixels].mean(), profile[-edge_pixels:].mean()
    if not hi > lo:
        return float("nan")
    pitch = float(x_um[1] - x_um[0])
    return float(x_um[0] - 0.5 * pitch + np.clip((profile - lo) / (hi - lo), 0.0, 1.0).sum() * pitch)


def hold_wall(session, *, target_um: float, gain_mw_per_mm2_per_um: float = 1e-6, max_mw_per_mm2: float = 0.001,
              frames: int | None = None) -> dict:
    """Hold the wall at ``target_um`` with irradiance = gain × (target − wall), clipped to [0, max].

    Light only pushes the wall to the right (into the hyperpolarised domain); a wall right of the target is
    left in the dark, where it stands. Commands change only when the rounded irradiance does (1 nW/mm² steps).

    Returns
    -------
    dict
        Per frame: ``time_ms`` (exposure start), ``wall_um``, ``irradiance`` (the command given after the
        frame, mW/mm²); ``controller_s`` (the controller's own time per frame); ``profile`` (the last frame's
        column means).
    """
    n = frames if frames is not None else session.max_frames
    out = {"time_ms": [], "wall_um": [], "irradiance": [], "controller_s": []}
    clock = Stopwatch()
    current = None
    for _ in range(n):
        frame = session.next_frame()
        with clock:
            _, xs = pixel_centres_um(frame)
            x = wall_position_um(frame["fluorescence"].values, xs)
            irr = float(np.clip(gain_mw_per_mm2_per_um * (target_um - x), 0.0, max_mw_per_mm2)) if np.isfinite(x) \
                else 0.0
            irr = round(irr, 6)
            if irr != current:
                if irr > 0:
                    session.set_light({"everywhere": {}}, irr, name="wall controller")
                else:
                    session.clear_light()
                current = irr
            out["time_ms"].append(float(frame.attrs["time_ms"]))
            out["wall_um"].append(x)
            out["irradiance"].append(irr)
    out["controller_s"] = clock.seconds
    out["profile"] = np.nanmean(frame["fluorescence"].values, axis=0)
    return out


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--target-um", type=float, default=520.0)
    known, rest = ap.parse_known_args()
    sys.argv = [sys.argv[0], *rest]
    args = command_line(__doc__.splitlines()[0], "domain_wall.png")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open_session(strip_spec(), server=args.server) as s:
        r = hold_wall(s, target_um=known.target_um)
    t = np.asarray(r["time_ms"])
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    a1.plot(t, r["wall_um"], color="C3", label="wall (camera)")
    a1.axhline(known.target_um, color="k", ls="--", label="target")
    a1.axhspan(known.target_um - 2 * DX_UM, known.target_um + 2 * DX_UM, color="0.9", label="± 2 cells")
    a1.set(ylabel="wall position (µm)")
    a1.legend(loc="lower right")
    a2.step(t + s.frame_period_ms, 1e3 * np.asarray(r["irradiance"]), where="post", color="C0")
    a2.set(xlabel="time (ms)", ylabel="irradiance (µW/mm²)")
    fig.suptitle("a domain wall held by a proportional controller on light")
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    late = np.abs(np.asarray(r["wall_um"])[t >= 150.0] - known.target_um)
    print(f"wall within {late.max():.1f} µm of the target from 150 ms on; figure: {args.out}")


if __name__ == "__main__":
    main()
