"""The light program of a spec: the solver's light maps, exact pulse timing and energy, and a figure that shows it."""
from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

import solver
from solver.pictures.preview import light_program, preview
from solver.stimulus.waveforms import evaluate

from tests.specs import small_hek_spec

DX = 10.0


def _rect(x0, y0, x1, y1) -> dict:
    return {"rectangle": {"min_um": {"x": x0, "y": y0}, "max_um": {"x": x1, "y": y1}}}


def _disk(cx, cy, r) -> dict:
    return {"disk": {"center_um": {"x": cx, "y": cy}, "radius_um": r}}


def _spec(light, *, n=(10, 12), dt=0.02, duration=2.0, **over) -> dict:
    ny, nx = n
    return small_hek_spec(grid={"nx": nx, "ny": ny, "dx_um": DX}, light=light,
                          numerics={"dt_ms": dt, "duration_ms": duration}, **over)


def _on_time(ds, k: int = 0) -> float:
    """On-time read off the time course as a step function: each value holds until the next sample."""
    f = ds["factor"][k].values
    return float(np.sum((f[:-1] > 0) * np.diff(ds["time"].values)))


def test_weights_are_the_pattern_coverage_times_the_irradiance():
    light = [{"name": "bar", "pattern": _rect(20, 30, 60, 80), "irradiance_mw_per_mm2": 2.5},
             {"name": "all", "irradiance_mw_per_mm2": 0.4}]
    ds = light_program(_spec(light))
    x, y = ds["x"].values, ds["y"].values
    inside = ((x >= 20) & (x < 60))[None, :] & ((y >= 30) & (y < 80))[:, None]   # cells on the grid lines
    np.testing.assert_array_equal(ds["weight"].sel(stimulus="bar").values, np.where(inside, 2.5, 0.0))
    np.testing.assert_array_equal(ds["weight"].sel(stimulus="all").values, np.full((10, 12), 0.4))
    assert ds["weight"].attrs["units"] == "mW/mm2" and ds["x"].attrs["units"] == "um"
    np.testing.assert_array_equal(ds["weight"].values, solver.prepare(_spec(light)).light_weights)


def test_pulse_train_on_time_is_exact_and_every_edge_is_a_sample_time():
    train = {"pulse_train": {"start_ms": 0.3, "width_ms": 0.07, "period_ms": 0.25, "count": 4}}
    ds = light_program(_spec([{"name": "train", "pattern": _rect(0, 0, 40, 100), "waveform": train,
                               "irradiance_mw_per_mm2": 1.5}]))
    edges = [0.3 + k * 0.25 + d for k in range(4) for d in (0.0, 0.07)]
    assert all(np.isclose(ds["time"].values, e, rtol=0, atol=1e-12).any() for e in edges)
    assert _on_time(ds) == pytest.approx(4 * 0.07, abs=1e-12)
    assert float(ds["on_time_ms"][0]) == pytest.approx(0.28, abs=1e-12)
    assert float(ds["time_course"][0].max()) == 1.5


def test_a_pulse_shorter_than_a_step_is_shown_and_the_step_that_misses_it_is_reported():
    short = {"pulse": {"start_ms": 100.003, "width_ms": 0.005}}    # between the step midpoints 99.99 and 100.01
    ds = light_program(_spec([{"pattern": _rect(0, 0, 40, 100), "waveform": short, "irradiance_mw_per_mm2": 4.0}],
                             duration=200.0))
    assert ds.sizes["time"] < 20_100         # far coarser than the pulse: only its edges catch it
    assert float(ds["time_course"][0].max()) == 4.0
    assert _on_time(ds) == pytest.approx(0.005, abs=1e-12)
    assert float(ds["light_energy_mj"][0]) == pytest.approx(4.0 * 0.004 * 0.005 * 1e-3, rel=1e-12)
    assert float(ds["delivered_light_energy_mj"][0]) == 0.0
    assert "light[0]" in ds.attrs["warnings"] and "deliver 0 mJ" in ds.attrs["warnings"]


def test_light_energy_of_a_disk_pulse_is_pi_r2_irradiance_width():
    r_um, irr, width = 100.0, 3.0, 2.0
    ds = light_program(_spec([{"pattern": _disk(200, 200, r_um), "waveform": {"pulse": {"start_ms": 1, "width_ms": width}},
                               "irradiance_mw_per_mm2": irr}], n=(40, 40), duration=5.0))
    expected_uj = math.pi * (r_um * 1e-3) ** 2 * irr * width     # mm² · mW/mm² · ms = µJ
    assert float(ds["light_energy_mj"][0]) == pytest.approx(expected_uj * 1e-3, rel=0.01)
    assert ds["light_energy_mj"].attrs["units"] == "mJ"
    assert float(ds["delivered_light_energy_mj"][0]) == pytest.approx(float(ds["light_energy_mj"][0]), rel=1e-9)
    assert ds.attrs["warnings"] == ""


@pytest.mark.parametrize("waveform, analytic_ms", [
    ({"pulse_train": {"start_ms": 1.0, "width_ms": 0.5, "period_ms": 1.0}}, 9 * 0.5 + 0.25),  # last pulse cut
    ({"ramp": {"start_ms": 2.0, "end_ms": 6.0}}, 4.0 / 2 + 4.25),
    ({"sine": {"frequency_hz": 250.0, "amplitude": 0.5, "offset": 1.0, "start_ms": 1.0, "duration_ms": 7.0}},
     7.0 + 0.5 * (1 - math.cos(2 * math.pi * 0.25 * 7.0)) / (2 * math.pi * 0.25)),
    ({"sampled": {"times_ms": [1.0, 3.0, 4.5], "values": [0.2, 1.0, 0.0]}}, 0.2 * 2 + 1.5),
    ({"sampled": {"times_ms": [1.0, 3.0, 5.0], "values": [0.0, 1.0, 0.5], "interpolation": "INTERPOLATION_LINEAR"}},
     1.0 + 1.5 + 0.5 * 5.25),
])
def test_energy_is_the_exact_time_integral_of_the_waveform(waveform, analytic_ms):
    duration = 10.25
    ds = light_program(_spec([{"waveform": waveform, "irradiance_mw_per_mm2": 2.0}], n=(4, 5), dt=0.025,
                             duration=duration))
    power_mw = 2.0 * 4 * 5 * (DX * 1e-3) ** 2
    assert float(ds["light_energy_mj"][0]) == pytest.approx(power_mw * analytic_ms * 1e-3, rel=1e-9)
    w = solver.prepare(_spec([{"waveform": waveform, "irradiance_mw_per_mm2": 2.0}], n=(4, 5), dt=0.025,
                             duration=duration)).light_waveforms[0]
    tt = np.linspace(0.0, duration, 2_000_001)
    assert analytic_ms == pytest.approx(np.trapezoid(evaluate(w, tt), tt), rel=1e-4)   # the reference itself


def test_overlapping_stimuli_sum_to_the_irradiance_the_solver_applies():
    light = [{"name": "a", "pattern": _rect(0, 0, 70, 100), "waveform": {"pulse": {"start_ms": 0.2, "width_ms": 1.0}},
              "irradiance_mw_per_mm2": 1.0},
             {"name": "b", "pattern": _disk(60, 50, 35), "waveform": {"pulse": {"start_ms": 0.6, "width_ms": 1.0}},
              "irradiance_mw_per_mm2": 2.5}]
    spec = _spec(light, output={"variables": ["v", "irradiance"], "sample_interval_ms": 0.1})
    result = solver.simulate(spec)
    # a sample's irradiance is the light of the step that starts there, whose factor is taken at its midpoint
    ds = light_program(spec, t_ms=result["time"].values + result.attrs["dt_ms"] / 2)
    total = (ds["weight"] * ds["factor"]).sum("stimulus").transpose("time", "y", "x")
    np.testing.assert_allclose(total.values, result["irradiance"].values, rtol=1e-6, atol=1e-7)
    both = total.sel(time=1.01).values
    assert both.max() == pytest.approx(3.5)                  # cells under both patterns
    assert ds.attrs["background_irradiance_mw_per_mm2"] == 0.0


def _map_quadrants(fig, path, dpi: int = 110) -> dict[str, np.ndarray]:
    """The map's pixels in each quadrant of the picture as it is seen (top/bottom, left/right)."""
    img = np.asarray(Image.open(path).convert("RGB"), dtype=float)
    box = fig.axes[0].get_window_extent()
    s = dpi / fig.dpi
    h = img.shape[0]
    area = img[int(h - box.y1 * s) + 3:int(h - box.y0 * s) - 3, int(box.x0 * s) + 3:int(box.x1 * s) - 3]
    r, c = area.shape[0] // 2, area.shape[1] // 2      # PNG rows run from the top of the picture
    return {"top left": area[:r, :c], "top right": area[:r, c:], "bottom left": area[r:, :c],
            "bottom right": area[r:, c:]}


def _blue(px: np.ndarray) -> np.ndarray:
    return px[..., 2] - px[..., 0] > 40      # C0 (tab:blue) over grey; grey, black and white are neutral


def test_preview_png_shows_the_light_where_the_pattern_is(tmp_path):
    spec = _spec([{"name": "corner", "pattern": _rect(0, 0, 200, 200), "waveform": {"pulse": {"start_ms": 0.5,
                   "width_ms": 1.0}}, "irradiance_mw_per_mm2": 1.0}], n=(40, 40))
    path = tmp_path / "light.png"
    fig = preview(spec, path)
    raw = path.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n" and len(raw) > 20_000
    quadrants = _map_quadrants(fig, path)
    white = {k: int((q.min(axis=-1) > 250).sum()) for k, q in quadrants.items()}   # the scale bar, not grey 0.93
    assert white["bottom left"] > 50 and white["bottom left"] == sum(white.values())
    assert _blue(quadrants.pop("top left")).mean() > 0.7          # x < 200 µm, y < 200 µm: y grows downwards
    assert all(_blue(q).mean() < 0.02 for q in quadrants.values())
    assert fig.axes[0].yaxis_inverted() and fig.axes[0].get_ylim() == (400.0, 0.0)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["corner: 1 mW/mm², on 1 ms, 4e-05 mJ"]        # 0.2 × 0.2 mm² · 1 mW/mm² · 1 ms


def test_a_short_pulse_in_a_long_run_stays_visible(tmp_path):
    train = {"pulse_train": {"start_ms": 100.0, "width_ms": 1.0, "period_ms": 1000.0}}
    spec = _spec([{"pattern": _rect(0, 0, 60, 100), "waveform": train, "irradiance_mw_per_mm2": 2.0}],
                 duration=5000.0)
    path = tmp_path / "long.png"
    fig = preview(spec, path)
    ax = fig.axes[1]
    img = np.asarray(Image.open(path).convert("RGB"), dtype=float)
    s = 110 / fig.dpi
    for t_ms in (100.5, 2100.5, 4100.5):                       # 1 ms of 5 s: far under one pixel wide
        x, y = ax.transData.transform((t_ms, 1.0)) * s
        patch = img[int(img.shape[0] - y) - 2:int(img.shape[0] - y) + 3, int(x) - 3:int(x) + 4]
        assert _blue(patch).any(), t_ms
    x, y = ax.transData.transform((600.0, 1.0)) * s                 # between pulses: nothing
    assert not _blue(img[int(img.shape[0] - y) - 2:int(img.shape[0] - y) + 3, int(x) - 3:int(x) + 4]).any()


@pytest.mark.parametrize("case", ["no light", "one cell", "strip", "tall"])
def test_preview_of_unusual_sheets(case, tmp_path):
    light = [{"name": "on", "pattern": _rect(0, 0, 50, 40), "irradiance_mw_per_mm2": 0.5}]
    spec = {"no light": _spec([]), "one cell": _spec([{"name": "on", "irradiance_mw_per_mm2": 0.5}], n=(1, 1)),
            "strip": _spec(light, n=(4, 500)), "tall": _spec(light, n=(400, 3))}[case]
    path = tmp_path / "p.svg"
    fig = preview(spec, path)
    assert path.read_text().lstrip().startswith("<?xml")
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    if case == "no light":
        assert texts.count("no light stimuli") == 2 and not fig.legends
        return
    label = fig.legends[0].get_texts()[0].get_text()
    area_mm2 = {"one cell": 1e-4, "strip": 0.05 * 0.04, "tall": 0.03 * 0.04}[case]
    assert label == f"on: 0.5 mW/mm², always on, {0.5 * area_mm2 * 2.0 * 1e-3:.3g} mJ"
    stretched = "not to scale" in fig.axes[0].get_title()
    assert stretched == (case in ("strip", "tall"))


def test_t_max_zooms_the_time_axis_but_not_the_energies(tmp_path):
    spec = _spec([{"name": "p", "waveform": {"pulse": {"start_ms": 0.2, "width_ms": 0.3}}, "irradiance_mw_per_mm2": 1.0}],
                 duration=20.0)
    fig = preview(spec, t_max_ms=1.0)
    assert fig.axes[1].get_xlim() == (0.0, 1.0)
    assert "on 0.3 ms" in fig.legends[0].get_texts()[0].get_text()
    with pytest.raises(ValueError, match=r"t_max_ms = 30\.0 is out of range: allowed 0 < t_max_ms <= 20"):
        preview(spec, t_max_ms=30.0)
    with pytest.raises(ValueError, match=r"allowed suffixes \.png, \.svg, \.pdf"):
        preview(spec, tmp_path / "light.jpg")


def test_current_stimuli_and_opsin_region_are_in_the_program():
    spec = _spec([], current=[{"name": "kick", "pattern": _rect(0, 0, 20, 20),
                               "waveform": {"pulse": {"start_ms": 0.5, "width_ms": 0.25}}, "amplitude_a_per_f": -40}],
                 opsin={"region": _rect(0, 0, 60, 100)})
    ds = light_program(spec)
    assert ds.sizes["stimulus"] == 0
    assert float(ds["current_time_course"][0].min()) == -40.0
    assert float(ds["current_on_time_ms"][0]) == pytest.approx(0.25, abs=1e-12)
    g = ds["opsin_conductance"].values
    assert (g[:, ds["x"].values < 60] > 0).all() and (g[:, ds["x"].values > 60] == 0).all()
