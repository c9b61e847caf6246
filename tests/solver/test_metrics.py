"""Run metrics for sweeps and design searches: spiral persistence from tip lists, the fraction of a box above a
potential, the light energy of a spec; bad metric options name their field."""
from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

import solver
from service.sweep import SweepSpecError, load_sweep
from solver.analysis.metrics import MetricSpec, compute_metrics, spiral_persistence
from tests.specs import small_hek_spec


def test_spiral_persistence_bridges_short_gaps_and_keeps_the_longest_stretch():
    t = np.arange(0.0, 300.0, 2.0)
    # a tip from 40 to 100 ms, lost 104-110 (bridged), back until 200 with two tips at 150; a late blip at 280
    tips = [x for x in t if 40 <= x <= 100 or 112 <= x <= 200] + [150.0] + [280.0]
    life, single = spiral_persistence(np.array(tips), t, max_gap_ms=15.0)
    assert life == 160.0
    n_samples = np.count_nonzero((t >= 40) & (t <= 200))
    assert single == pytest.approx((n_samples - 1 - 5) / n_samples)   # 150 has two tips, 102-110 none
    assert spiral_persistence(np.array(tips), t, max_gap_ms=5.0)[0] == 88.0   # the gap now splits it: 112-200
    assert spiral_persistence(np.zeros(0), t, 15.0) == (0.0, pytest.approx(math.nan, nan_ok=True))


def _ramp_dataset() -> xr.Dataset:
    x = (np.arange(10) + 0.5) * 10.0
    y = (np.arange(4) + 0.5) * 10.0
    v = np.broadcast_to(np.linspace(-80, 10, 10), (3, 4, 10)).copy()   # V rises along x
    return xr.Dataset({"v": (("time", "y", "x"), v)}, coords={"time": [0.0, 1.0, 2.0], "y": y, "x": x})


def test_fraction_above_counts_the_cells_of_the_box_above_the_level():
    ds = _ramp_dataset()
    every = compute_metrics(ds, [MetricSpec("fraction_above", (("threshold_mv", -30.0),))])
    assert every["fraction_above"] == pytest.approx(0.4)     # −20, −10, 0, 10 of −80..10 in steps of 10
    box = compute_metrics(ds, [MetricSpec("fraction_above", (("box_um", [0, 0, 50, 40]), ("threshold_mv", -60.0)))])
    assert box["fraction_above"] == pytest.approx(2 / 5)     # x centres 5..45: −80, −70, −60(not >), −50, −40


def test_light_energy_metric_is_area_times_irradiance_times_on_time():
    spec = small_hek_spec(numerics={"duration_ms": 4.0})   # a 30 × 100 µm strip at 1 mW/mm², on 1-3 ms
    ds = solver.simulate(solver.load_spec(spec))
    got = compute_metrics(ds, ["light_energy"])["light_energy"]
    assert got == pytest.approx(0.030 * 0.100 * 1.0 * 2.0 / 1000, rel=1e-9)   # mm² · mW/mm² · ms = µJ → mJ


@pytest.mark.parametrize(("metric", "field", "fragment"), [
    ({"name": "fraction_above", "box_um": [10, 0, 5, 10]}, "metrics[0].box_um", "x0 < x1"),
    ({"name": "fraction_above", "threshold_mv": "high"}, "metrics[0].threshold_mv",
     "'high' is not allowed; must be a number"),
    ({"name": "spiral_rotations", "max_gap_ms": 0}, "metrics[0].max_gap_ms", "> 0"),
    ({"name": "spiral_lifetime", "gap": 3}, "metrics[0].gap", "unknown field 'gap'; allowed here: name, points_um"),
    ({"name": "spiral_lifetime", "min_fraction": 0.5}, "metrics[0].min_fraction",
     "unknown option of spiral_lifetime; allowed: max_gap_ms"),
    ({"name": "propagated", "min_fraction": 1.5}, "metrics[0].min_fraction", "must be in (0, 1]"),
])
def test_bad_metric_options_name_the_field(metric, field, fragment):
    with pytest.raises(SweepSpecError) as err:
        load_sweep({"base": small_hek_spec(), "axes": [{"path": "light[0].irradiance_mw_per_mm2", "values": [1, 2]}],
                    "metrics": [metric]})
    hit = [v for v in err.value.violations if v.field == field]
    assert hit and fragment in hit[0].description, err.value.violations
