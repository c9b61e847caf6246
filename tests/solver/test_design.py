"""Design searches and protocols: thresholds bracket the propagation threshold, strength–duration curves fall,
an S1–S2 window yields sustained spirals inside and none outside, a bistable domain flips and its walls stay,
a ring oscillator circulates one way, a held line blocks conduction; bad designs name their field."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr

import solver
from service.sweep import SweepEvaluator
from solver.analysis import analyse
from solver.design import (DesignError, DesignSpecError, LocalEvaluator, find_threshold, find_window, load_design,
                           minimise, parse_criteria, protocols, run_design, spec_maker, strength_duration,
                           write_report)
from tests.specs import EXAMPLES

HEK = {"preset": "hek_gokhale2017_35c"}


def sheet(n: int = 48, duration: float = 20.0, dx: float = 10.0, **over) -> dict:
    spec = {"name": "design-test", "grid": {"nx": n, "ny": n, "dx_um": dx}, "tissue": {"model": dict(HEK)},
            "coupling": {"diffusivity_um2_per_ms": 1000.0},
            "numerics": {"dt_ms": 0.02, "duration_ms": duration}, "output": {"sample_interval_ms": 0.5}}
    spec.update(over)
    return spec


def spot(irradiance: float, pulse_ms: float = 2.0) -> dict:
    return protocols.pacing(sheet(), site="spot", radius_um=100, pulse_ms=pulse_ms, irradiance_mw_per_mm2=irradiance)


def far_corner_peak(spec: dict) -> float:
    """Peak V (mV) in the corner cell farthest from the spot: an AP there means the wave crossed the sheet."""
    ds = solver.simulate(solver.load_spec(spec))
    return float(ds.v.isel(x=-1, y=-1).max())


# ---------------------------------------------------------------- threshold and strength-duration


def test_threshold_brackets_the_propagation_threshold_within_the_tolerance_and_the_bisection_count():
    lo0, hi0, tol = 0.05, 5.0, 0.02
    ev = LocalEvaluator()
    r = find_threshold(lambda v: spot(v), lo0, hi0, criterion="propagated >= 1", rel_tol=tol, evaluator=ev,
                       parameter="irradiance_mw_per_mm2")
    s = r.summary
    lo, hi = s["bracket"]
    assert hi == s["threshold"] and (hi - lo) <= tol * hi
    # independently of the metric code: the wave reaches the far corner just above, not just below
    assert far_corner_peak(spot(hi)) > 0.0
    assert far_corner_peak(spot(lo)) < -60.0
    # no more runs than bisection needs: both ends, then log2 of the (log) range over the tolerance
    assert lo0 < hi < hi0
    bound = 2 + math.ceil(math.log2(math.log(hi0 / lo0) / -math.log(1 - tol)))
    assert r.n_runs == ev.runs <= bound
    assert s["run_bound"] <= bound


def test_a_range_that_misses_the_threshold_is_widened_or_named():
    r = find_threshold(lambda v: spot(v), 0.01, 0.1, rel_tol=0.1, expand=3, parameter="irradiance")
    assert r.summary["bracket_runs"] > 2 and 0.1 < r.summary["threshold"]
    with pytest.raises(DesignError, match=r"irradiance: no value tried up to 0\.1 meets propagated >= 1"):
        find_threshold(lambda v: spot(v), 0.01, 0.1, rel_tol=0.1, expand=0, parameter="irradiance")


def test_strength_duration_curve_is_monotone_decreasing():
    widths = [0.5, 1.0, 2.0, 5.0]
    r = strength_duration(lambda d, v: spot(v, pulse_ms=d), widths, 0.05, 20.0, rel_tol=0.05)
    thr = [c["threshold"] for c in r.curve]
    assert all(np.isfinite(thr))
    for k in range(len(widths) - 1):   # strictly lower, beyond the brackets' width
        assert thr[k + 1] < r.curve[k]["bracket"][0]
    assert r.summary["rheobase"] == thr[-1]
    assert widths[0] < r.summary["chronaxie_ms"] < widths[-1]   # where the threshold is twice the rheobase


# ---------------------------------------------------------------- S1-S2 spiral window


SPIRAL_DURATION = 350.0


def spiral_base() -> dict:
    base = json.loads((EXAMPLES / "spiral.json").read_text())
    base["numerics"] = {"dt_ms": 0.05, "duration_ms": SPIRAL_DURATION}   # half the diffusion limit at dx 20 µm
    base["output"] = {"variables": ["v"], "sample_interval_ms": 2.0}
    return base


def sustained_rotations(ds) -> float:
    """Rotations of the longest-lived single spiral, from the raw tip list and a probe's beat period."""
    r = analyse(ds, frequency=False)
    t = ds.time.values
    counts = np.array([np.count_nonzero(r.spiral_tip_time.values == ti) for ti in t])
    best, start, last = 0.0, None, 0.0
    for k, c in enumerate(counts):   # stretches of samples with exactly one tip, gaps up to 15 ms bridged
        if c == 1:
            if start is None or t[k] - last > 15.0:
                start = t[k]
            last = t[k]
            best = max(best, last - start)
    trace = ds.v.sel(x=3000.0, y=1000.0, method="nearest").values      # a probe far from the S1 and S2 light
    ups = t[1:][(trace[1:] >= -20.0) & (trace[:-1] < -20.0)]
    late = np.diff(ups[ups > 100.0])
    return best / float(np.median(late)) if late.size else 0.0


@pytest.mark.slow
def test_s1s2_window_gives_a_spiral_of_three_rotations_inside_and_none_outside(tmp_path):
    base = spiral_base()
    make = spec_maker(base, "interval_ms", protocol="s1s2_spiral", protocol_params={"s2": "half"})
    ev = SweepEvaluator(tmp_path / "runs", keep_fields=True)   # the sweep runner, here; it keeps each run's store
    # the window lies near 50-65 ms (second-order steps: 3.4 rotations at 50, 6.3 at 63, 2.4 at 70; the
    # first-order step's slow waves had put it around 70-110)
    r = find_window(make, [30.0, 50.0, 90.0, 130.0], tol=20.0, parameter="interval_ms", evaluator=ev,
                    criterion=["spiral_rotations >= 3", "single_tip_fraction >= 0.8"])
    s = r.summary
    a, b = s["window"]
    out_lo, out_hi = s["outer"]
    assert out_lo is not None and out_hi is not None, s       # the scan reaches past both edges
    assert a - out_lo <= 20.0 and out_hi - b <= 20.0, s
    stored = lambda v: xr.open_zarr(ev.store_of(make(v)), consolidated=False).load()  # noqa: E731
    assert sustained_rotations(stored(s["best"])) >= 3.0, s   # the found interval: a sustained spiral
    assert sustained_rotations(stored(out_lo)) < 3.0, s       # just outside: none
    assert sustained_rotations(stored(out_hi)) < 3.0, s


# ---------------------------------------------------------------- bistable domain flip


FLIP_BAND = (1000.0, 2000.0)


def bistable_strip(duration: float = 300.0) -> dict:
    return {"name": "flip", "grid": {"nx": 150, "ny": 2, "dx_um": 20.0},
            "tissue": {"model": {"preset": "hek_bistable", "parameters": {"g_L": 0.32877}}},
            "coupling": {"diffusivity_um2_per_ms": 1000.0}, "opsin": {"preset": "cheriff"},
            "numerics": {"dt_ms": 0.04, "duration_ms": duration}, "output": {"sample_interval_ms": 5.0}}


def flip(duration_ms: float, total: float = 300.0, irradiance: float = 5.0) -> dict:
    region = {"rectangle": {"min_um": {"x": FLIP_BAND[0], "y": 0}, "max_um": {"x": FLIP_BAND[1], "y": 40}}}
    return protocols.domain_flip(bistable_strip(total), region=region, start_ms=10.0, duration_ms=duration_ms,
                                 irradiance_mw_per_mm2=irradiance)


def walls(profile: np.ndarray, level: float) -> np.ndarray:
    """x (µm) of the cell faces where the profile crosses ``level``."""
    return (np.flatnonzero(np.diff(np.sign(profile - level))) + 1) * 20.0


def test_domain_flip_flips_the_band_and_its_walls_stay_where_the_light_left_them():
    ds = solver.simulate(solver.load_spec(flip(20.0, total=600.0)))
    low, high = float(ds.v.isel(time=0).min()), -9.5          # the resting and the depolarised stable states
    level = 0.5 * (low + high)
    end = ds.v.isel(time=-1).mean("y").values
    x = ds.x.values
    inside = (x > FLIP_BAND[0] + 150) & (x < FLIP_BAND[1] - 150)
    outside = (x < FLIP_BAND[0] - 300) | (x > FLIP_BAND[1] + 300)
    assert end[inside].min() > -15.0 and end[outside].max() < low + 2.0
    w100 = walls(ds.v.sel(time=100.0).mean("y").values, level)
    w_end = walls(end, level)
    assert w100.size == 2 and w_end.size == 2
    assert np.abs(w_end - w100).max() <= 20.0                  # one cell in 500 ms
    assert np.abs(w_end - np.array(FLIP_BAND)).max() <= 200.0  # where the light was


def test_least_flip_dose_brackets_flipping():
    """The least irradiance of a 10 ms exposure (dose = irradiance × 10 ms) that flips the band for good."""
    crit = {"metric": {"name": "fraction_above", "box_um": [1200, 0, 1800, 40], "threshold_mv": -30}, "op": ">=",
            "value": 0.95}
    r = find_threshold(lambda i: flip(10.0, irradiance=i), 0.001, 5.0, criterion=crit, rel_tol=0.05,
                       parameter="irradiance_mw_per_mm2")
    lo, hi = r.summary["bracket"]

    def flipped(irradiance: float) -> float:   # from the raw V: fraction of the band's middle above -30 mV at the end
        v = solver.simulate(solver.load_spec(flip(10.0, irradiance=irradiance))).v.isel(time=-1)
        return float((v.sel(x=slice(1200, 1800)) > -30.0).mean())

    assert flipped(hi) >= 0.95 > flipped(lo)
    assert flipped(2 * hi) == 1.0 and flipped(lo / 2) == 0.0   # and clearly so on either side
    assert (hi - lo) <= 0.05 * hi


# ---------------------------------------------------------------- ring oscillator and conduction block


def test_ring_oscillator_sends_the_wave_one_way_round_and_it_circulates():
    base = sheet(100, duration=180.0)
    spec = protocols.ring_oscillator(base, inner_radius_um=380, outer_radius_um=480, direction="clockwise")
    ds = solver.simulate(solver.load_spec(spec))
    t, first, counts = ds.time.values, [], []
    for ang in (0, 90, 180, 270):     # clockwise as drawn (y down) from the block at -90°
        a = math.radians(ang)
        tr = ds.v.sel(x=500 + 430 * math.cos(a), y=500 + 430 * math.sin(a), method="nearest").values
        ups = t[1:][(tr[1:] >= -20.0) & (tr[:-1] < -20.0)]
        first.append(ups[0])
        counts.append(ups.size)
    assert first == sorted(first)     # 0° → 90° → 180° → 270°: one way round
    assert min(counts) >= 2           # and round again


def test_a_held_line_blocks_conduction():
    base = sheet(duration=90.0)
    base["grid"] = {"nx": 150, "ny": 4, "dx_um": 10.0}
    paced = protocols.pacing(base, site="edge", edge="left", width_um=50, start_ms=50, pulse_ms=2,
                             irradiance_mw_per_mm2=5)
    blocked = protocols.conduction_block(paced, start_um=(750, 0), end_um=(750, 40), start_ms=10)
    peak = lambda spec: solver.simulate(solver.load_spec(spec)).v.max("time").mean("y").values  # noqa: E731
    free, held = peak(paced), peak(blocked)
    assert free[-10:].min() > 0.0                  # without the line the wave reaches the far edge
    assert held[:60].min() > 0.0 and held[-60:].max() < -70.0   # with it: fires up to the line, rests beyond


# ---------------------------------------------------------------- general search, files, errors


def test_minimise_finds_the_least_energy_spot_that_still_paces():
    def make(v: dict) -> dict:
        return protocols.pacing(sheet(), site="spot", radius_um=v["radius_um"], pulse_ms=2.0,
                                irradiance_mw_per_mm2=v["irradiance"])

    energy = lambda v: math.pi * (v["radius_um"] / 1000) ** 2 * v["irradiance"] * 2.0  # noqa: E731 µJ
    r = minimise(make, {"radius_um": (60.0, 200.0), "irradiance": (0.2, 5.0)}, objective="light_energy",
                 objective_fn=energy, criterion="propagated >= 1", points=3, rounds=2, log=("irradiance",))
    best = r.summary["best"]
    feasible = [x for x in r.runs if x.success]
    assert best is not None and all(energy(best) <= energy(x.values) for x in feasible)
    assert any(not x.success and energy(x.values) < energy(best) for x in r.runs)   # cheaper ones failed
    assert far_corner_peak(r.spec) > 0.0


def test_design_file_runs_and_writes_the_report(tmp_path):
    (tmp_path / "base.json").write_text(json.dumps(sheet()))
    (tmp_path / "d.yaml").write_text(
        "name: spot threshold\nbase: base.json\nprotocol: pacing\n"
        "protocol_parameters: {site: spot, radius_um: 100, pulse_ms: 2}\nsearch: threshold\n"
        "parameter: irradiance_mw_per_mm2\nrange: [0.05, 5]\ntolerance: 0.05\ncriterion: propagated >= 1\n")
    r = run_design(tmp_path / "d.yaml")
    paths = write_report(r, tmp_path / "out", title="spot threshold")
    found = json.loads(paths["found"].read_text())
    assert found["light"][0]["irradiance_mw_per_mm2"] == r.summary["threshold"]
    assert found["labels"]["protocol"] == "pacing"
    report = json.loads(paths["report"].read_text())
    assert report["n_runs"] == len(report["runs"]) == r.n_runs
    assert paths["figure"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(paths["runs"].read_text().splitlines()) == r.n_runs + 1


@pytest.mark.parametrize(("doc", "field", "fragment"), [
    ({"search": "bisect"}, "search", "allowed: threshold, strength_duration, window, minimise"),
    ({"parameter": "light[3].irradiance_mw_per_mm2"}, "parameter", "index 3 does not exist"),
    ({"range": [5, 1]}, "range", "lo < hi"),
    ({"range": [0, 1]}, "range", "log scale"),
    ({"tolerance": 1.5}, "tolerance", "(0, 1)"),
    ({"criterion": "propagated ~ 1"}, "criterion", "METRIC OP VALUE"),
    ({"criterion": "speed >= 1"}, "criterion", "not a metric"),
    ({"protocol": "strobe"}, "protocol", "allowed: pacing"),
    ({"protocol": "pacing", "protocol_parameters": {"radius": 5}}, "protocol_parameters.radius", "radius_um"),
    ({"protocol": "s1s2_spiral", "parameter": "pulse_ms"}, "protocol_parameters", "needs interval_ms"),
    ({"protocol": "pacing", "parameter": "count", "range": [0.5, 4]}, "protocol_parameters", "count = 0.5"),
    ({"base": "missing.json"}, "base", "does not exist"),
    ({"base": {"grid": {"nx": -3, "ny": 4, "dx_um": 10}}}, "base.grid.nx", "-3"),
    ({"colour": "blue"}, "colour", "unknown field"),
    ({"set": {"grid.nx": 0}}, "set.grid.nx", "must be >= 1"),
    ({"set": {"grid.nz": 3}}, "set.grid.nz", "no field 'nz'"),
    ({"search": "window", "values": {"start": 1, "stop": 2, "num": 2**32 - 1}, "tolerance": 0.1}, "values",
     "4,294,967,295 values (runs in the first round); the limit is 1,000"),
    ({"search": "strength_duration", "durations": [1.0] * 5000}, "durations", "5,000 durations"),
    ({"search": "minimise", "objective": "light_energy", "space": {"a": [0, 1], "b": [0, 1], "c": [0, 1]},
      "points": 50}, "points", "50 points on each of 3 parameters make 125,000 runs per round; the limit is 1,000"),
    ({"search": "minimise", "objective": "light_energy", "space": {"a": [0, 1]}, "rounds": 10**9}, "rounds",
     "1,000,000,000 rounds; the limit is 100"),
])
def test_bad_design_is_rejected_naming_the_field(tmp_path, doc, field, fragment):
    d = {"name": "bad", "base": sheet(), "search": "threshold", "parameter": "light[0].irradiance_mw_per_mm2",
         "range": [0.1, 1.0], "criterion": "propagated >= 1"}
    d["base"] = protocols.pacing(d["base"])
    d.update(doc)
    if isinstance(d["base"], str):
        d["base"] = str(tmp_path / d["base"])
    with pytest.raises(DesignSpecError) as err:
        load_design(d)
    hit = [v for v in err.value.violations if v.field == field]
    assert hit and fragment in hit[0].description, err.value.violations


@pytest.mark.parametrize(("call", "message"), [
    (lambda: protocols.pacing(sheet(), site="corner"), "site = 'corner' is not allowed"),
    (lambda: protocols.pacing(sheet(), pulse_ms=-1), "pulse_ms = -1"),
    (lambda: protocols.s1s2_spiral(sheet(), interval_ms=50, s1_edge="middle"), "s1_edge = 'middle'"),
    (lambda: protocols.ring_oscillator(sheet(), inner_radius_um=300, outer_radius_um=200), "inner_radius_um = 300"),
    (lambda: protocols.apply_protocol("pacing", sheet(), period=3), "'period' is not a parameter of protocol pacing"),
    (lambda: protocols.apply_protocol("s1s2_spiral", sheet()), "needs interval_ms"),
    (lambda: parse_criteria({"metric": "propagated", "op": "=>", "value": 1}), "op = '=>' is not allowed"),
])
def test_bad_protocol_parameters_name_the_parameter(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()
