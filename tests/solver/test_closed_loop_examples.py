"""The closed-loop controllers of examples/closed_loop/, run on in-process sessions.

Each claim is checked twice: on what the controller saw (the camera) and on the true membrane potential of the
session's stored result, which the controller never sees.
"""
from __future__ import annotations

import importlib
import sys

import numpy as np
import solver
from solver.analysis import phase_singularities

from tests.specs import ROOT

sys.path.insert(0, str(ROOT / "examples" / "closed_loop"))
spiral = importlib.import_module("spiral_termination")
domain_wall = importlib.import_module("domain_wall")
pacing = importlib.import_module("demand_pacing")


def _tips_in_v(ds, *, window: int = 30, lag: int = 4, min_swing_mv: float = 20.0) -> int:
    """Phase singularities of the true V in the last sample (time-delay phase over the last ``window`` samples)."""
    movie = ds.v.values[-window:].astype(np.float64)
    lo, hi = movie.min(axis=0), movie.max(axis=0)
    centre = np.where(hi - lo >= min_swing_mv, 0.5 * (lo + hi), np.nan)
    return len(phase_singularities(movie, lag=lag, centre=centre, frames=np.array([window - 1])))


def test_the_spiral_controller_ends_the_spiral_that_lives_on_without_it():
    """100 × 100 cells (the smallest sheet found to hold this spiral past 100 ms), 120 ms, twice: about 20 s in
    all on two cores."""
    spec = spiral.spiral_spec(duration_ms=120.0)
    with solver.Session(spec) as s:
        ctl = spiral.terminate_spiral(s, strategy="global", quiet_ms=1e9)
        controlled = s.finish()
    with solver.Session(spec) as s:
        ref = spiral.terminate_spiral(s, strategy="none")
        free = s.finish()
    t = np.asarray(ctl["time_ms"])
    assert np.array_equal(t, ref["time_ms"]) and t[-1] == 118.0
    n_ctl, n_ref = np.asarray(ctl["n_tips"]), np.asarray(ref["n_tips"])
    # the spiral was there, and seen, before the controller's light
    first = ctl["first_light_ms"]
    assert first is not None and 60.0 <= first <= 80.0
    assert np.all(n_ctl[(t >= 56.0) & (t < first - 2.0)] >= 1)
    # from 100 ms on: none left with the controller, while the free spiral still turns
    late = t >= 100.0
    assert np.all(n_ctl[late] == 0)
    assert np.all(n_ref[late] >= 1)
    # the same on the true V, which the controller never saw
    assert _tips_in_v(controlled) == 0
    assert _tips_in_v(free) >= 1


def test_the_wall_controller_holds_the_domain_wall_within_two_cells_of_its_target():
    target = 520.0
    spec = domain_wall.strip_spec(duration_ms=300.0)
    with solver.Session(spec) as s:
        r = domain_wall.hold_wall(s, target_um=target)
        ds = s.finish()
    t, wall = np.asarray(r["time_ms"]), np.asarray(r["wall_um"])
    cell = domain_wall.DX_UM
    assert abs(wall[0] - domain_wall.START_UM) < cell                   # it started where the spec put it
    assert np.all(np.abs(wall[t >= 150.0] - target) <= 2 * cell)
    assert max(r["irradiance"]) > 0 and r["irradiance"][-1] == 0.0       # pushed by light, then held in the dark
    # the true wall: where V crosses the middle of the two stable states, on every row, at the end
    v = ds.v.isel(time=-1).values.astype(np.float64)
    mid = 0.5 * (v[:, 0].mean() + v[:, -1].mean())
    x = ds.x.values
    for row in v:
        j = np.flatnonzero((row[:-1] - mid) * (row[1:] - mid) <= 0)
        assert j.size == 1
        j = j[0]
        crossing = x[j] + (mid - row[j]) / (row[j + 1] - row[j]) * (x[j + 1] - x[j])
        assert abs(crossing - target) <= 2 * cell


def test_the_demand_pacer_flashes_after_the_rest_and_an_intrinsic_beat_in_time_holds_it_back():
    rest = 120.0
    with solver.Session(pacing.sheet_spec(duration_ms=300.0), include_v=True) as s:
        r = pacing.demand_pace(s, rest_ms=rest)
        ds = s.finish()
    t, level = np.asarray(r["time_ms"]), np.asarray(r["region_dff"])
    excited = t[level >= 0.03]
    # the intrinsic beats at 5 and 130 ms both reached the spot: no flash until 120 ms after the second one
    assert excited.min() < 30.0 and np.any((excited > 130.0) & (excited < 160.0))
    assert len(r["flashes_ms"]) == 1
    flash = r["flashes_ms"][0]
    last_beat_end = excited[excited < flash].max() + s.frame_period_ms
    assert rest <= flash - last_beat_end <= rest + s.frame_period_ms
    # the flash excited the tissue under the spot: on the camera, and in the true V
    assert level[(t >= flash) & (t < flash + 20.0)].max() > 0.1
    cy, cx = pacing.SPOT["center_um"][1], pacing.SPOT["center_um"][0]
    v = ds.v.sel(y=cy, x=cx, method="nearest")
    assert float(v.sel(time=slice(flash, flash + 15.0)).max()) > 0.0
    assert float(v.sel(time=slice(flash - 20.0, flash)).max()) < -60.0
