"""Closed loop (a): demand pacing: flash a spot whenever the tissue under it has been at rest for T ms.

A HEK sheet is excited now and then by the spec's own light (a bar on its left edge, at irregular times: the
"intrinsic" beats). The controller watches ΔF/F in a region in the middle of the sheet; when it has stayed at rest
(below ``rest_dff``) for ``rest_ms``, it flashes a spot over that region for two frames, so that the region never
rests longer than about ``rest_ms``, while an intrinsic beat that comes in time inhibits the flash (a demand
pacemaker's logic).

Run it::

    python examples/closed_loop/demand_pacing.py [--rest-ms 120] [--server ADDR] [-o fig.png]
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _loop import Stopwatch, command_line, open_session, pixel_centres_um  # noqa: E402

N, DX_UM = 48, 20.0
SPOT = {"center_um": (480.0, 480.0), "radius_um": 120.0}
INTRINSIC_MS = (5.0, 130.0)      # the spec's own beats, then a long pause


def sheet_spec(*, duration_ms: float = 450.0) -> dict:
    """A 48 × 48 sheet of 20 µm cells, beaten from its left edge at :data:`INTRINSIC_MS`."""
    side = N * DX_UM
    bar = {"rectangle": {"min_um": {"x": 0, "y": 0}, "max_um": {"x": 3 * DX_UM, "y": side}}}
    return {
        "name": "closed loop: demand pacing",
        "grid": {"nx": N, "ny": N, "dx_um": DX_UM},
        "tissue": {"model": {"preset": "hek_gokhale2017_35c"}},
        "coupling": {"diffusivity_um2_per_ms": 1000.0},
        # CheRiff recovers from desensitisation in the dark over ~5 s (G_r0 = 2e-4 /ms): a spot lit every ~150 ms
        # would soon drive nothing. This opsin recovers in ~50 ms, so that the same spot can pace again and again.
        "opsin": {"preset": "cheriff", "parameters": {"Gr0": 0.02}},
        "light": [{"name": "intrinsic beats", "pattern": bar, "irradiance_mw_per_mm2": 10.0,
                   "waveform": {"sampled": {"times_ms": [x for t in INTRINSIC_MS for x in (t, t + 5.0)],
                                            "values": [v for _ in INTRINSIC_MS for v in (1.0, 0.0)],
                                            "interpolation": "INTERPOLATION_STEP"}}}],
        "readout": {"enabled": True, "camera": {"frame_rate_hz": 200.0, "photons_per_pixel": 20000.0}},
        "output": {"variables": ["v"], "sample_interval_ms": 5.0},
        "analysis": {"enabled": False},
        "numerics": {"dt_ms": 0.02, "duration_ms": duration_ms},
        "seed": 2,
    }


def demand_pace(session, *, rest_ms: float = 120.0, rest_dff: float = 0.03, irradiance_mw_per_mm2: float = 10.0,
                flash_frames: int = 2, spot: dict = SPOT, frames: int | None = None) -> dict:
    """Flash ``spot`` for ``flash_frames`` frames whenever the region under it has been at rest for ``rest_ms``.

    Returns
    -------
    dict
        Per frame: ``time_ms`` (exposure start), ``region_dff`` (mean ΔF/F under the spot); ``flashes_ms`` (when
        each flash took effect); ``controller_s`` (the controller's own time per frame).
    """
    n = frames if frames is not None else session.max_frames
    out = {"time_ms": [], "region_dff": [], "flashes_ms": [], "controller_s": []}
    cx, cy = spot["center_um"]
    pattern = {"disk": {"center_um": {"x": cx, "y": cy}, "radius_um": spot["radius_um"]}}
    clock = Stopwatch()
    rest_since, lit_left, region = 0.0, 0, None
    for _ in range(n):
        frame = session.next_frame()
        with clock:
            t = float(frame.attrs["time_ms"])
            now = t + session.frame_period_ms
            if region is None:
                ys, xs = pixel_centres_um(frame)
                region = (ys[:, None] - cy) ** 2 + (xs[None, :] - cx) ** 2 <= spot["radius_um"] ** 2
            level = float(np.nanmean(frame["dff"].values[region]))
            if level >= rest_dff:
                rest_since = now                      # excited during this frame: the rest starts over
            if lit_left:
                lit_left -= 1
                if not lit_left:
                    session.clear_light()
                rest_since = now
            elif now - rest_since >= rest_ms:
                session.set_light(pattern, irradiance_mw_per_mm2, name="demand pace")
                out["flashes_ms"].append(now)
                lit_left, rest_since = flash_frames, now
            out["time_ms"].append(t)
            out["region_dff"].append(level)
    out["controller_s"] = clock.seconds
    return out


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--rest-ms", type=float, default=120.0)
    known, rest = ap.parse_known_args()
    sys.argv = [sys.argv[0], *rest]
    args = command_line(__doc__.splitlines()[0], "demand_pacing.png")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open_session(sheet_spec(), server=args.server) as s:
        r = demand_pace(s, rest_ms=known.rest_ms)
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.plot(np.asarray(r["time_ms"]) + 2.5, r["region_dff"], color="C3", label="ΔF/F under the spot")
    for k, t in enumerate(INTRINSIC_MS):
        ax.axvline(t, color="0.6", ls=":", label="intrinsic beat (left edge)" if k == 0 else None)
    for k, t in enumerate(r["flashes_ms"]):
        ax.axvspan(t, t + 2 * s.frame_period_ms, color="C0", alpha=0.4, label="demand flash" if k == 0 else None)
    ax.set(xlabel="time (ms)", ylabel="ΔF/F", title=f"demand pacing: flash after {known.rest_ms:g} ms at rest")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"flashes at {r['flashes_ms']} ms; figure: {args.out}")


if __name__ == "__main__":
    main()
