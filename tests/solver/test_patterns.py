"""Spatial light patterns: areas, image placement, gray levels, the builder, and bad patterns."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml

import solver
from solver.stimulus import light
from solver.spec import SpecError

from tests.specs import small_hek_spec


def _grid(n, dx, ny=None):
    return {"nx": n, "ny": ny if ny is not None else n, "dx_um": dx}


def _rotate(u, v, deg):
    """Image (u, v) -> sheet offset direction, counter-clockwise as drawn (y down)."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return u * c + v * s, -u * s + v * c


# ---------------------------------------------------------------- areas


@pytest.mark.parametrize("radius_cells", [3.0, 7.3, 31.7])
@pytest.mark.parametrize("frac", [(0.5, 0.5), (0.37, 0.81)])
def test_disk_area_is_pi_r_squared(radius_cells, frac):
    dx = 2.0
    n = int(2 * radius_cells) + 6
    r = radius_cells * dx
    centre = ((n / 2 + frac[0]) * dx, (n / 2 + frac[1]) * dx)
    w = light.rasterise(light.disk(centre, r), _grid(n, dx))
    assert w.sum() * dx**2 == pytest.approx(math.pi * r**2, rel=0.01)


@pytest.mark.parametrize("inner_cells,outer_cells", [(2.0, 5.0), (4.2, 9.7), (10.5, 30.2)])
def test_ring_area_is_the_annulus(inner_cells, outer_cells):
    dx = 2.0
    n = int(2 * outer_cells) + 6
    centre = ((n / 2 + 0.29) * dx, (n / 2 + 0.63) * dx)
    w = light.rasterise(light.ring(centre, inner_cells * dx, outer_cells * dx), _grid(n, dx))
    assert w.sum() * dx**2 == pytest.approx(math.pi * ((outer_cells * dx) ** 2 - (inner_cells * dx) ** 2), rel=0.01)


def test_bar_spans_the_whole_sheet():
    w = light.rasterise(light.bar(20, 50), _grid(12, 10.0, ny=7))
    expected = np.zeros((7, 12))
    expected[:, 2:5] = 1.0
    np.testing.assert_array_equal(w, expected)
    np.testing.assert_array_equal(light.rasterise(light.bar_y(20, 50), _grid(7, 10.0, ny=12)), expected.T)


# ---------------------------------------------------------------- images


def test_image_corners_land_where_the_transform_says():
    dx, pitch, rot, offset = 2.0, 7.3, 30.0, (60.0, 140.0)
    rows, cols = 9, 13
    for r, c in [(0, 0), (0, cols - 1), (rows - 1, 0), (rows - 1, cols - 1)]:
        img = np.zeros((rows, cols))
        img[r, c] = 1.0
        w = light.rasterise(light.image(img, pitch, rotation_deg=rot, offset_um=offset), _grid(120, dx))
        ys, xs = (np.indices(w.shape) + 0.5) * dx
        centroid = np.array([(w * xs).sum(), (w * ys).sum()]) / w.sum()
        du, dv = _rotate(c + 0.5, r + 0.5, rot)
        expected = np.array([offset[0] + pitch * du, offset[1] + pitch * dv])
        assert np.abs(centroid - expected).max() < 0.1 * dx, f"pixel ({r}, {c}): {centroid} vs {expected}"
        assert w.sum() * dx**2 == pytest.approx(pitch**2, rel=0.02)      # one pixel's footprint


def test_quarter_turn_is_numpy_rot90_exactly():
    dx, rows, cols = 5.0, 3, 4
    img = np.arange(rows * cols, dtype=float).reshape(rows, cols) / 16.0
    offset = (15.0, 60.0)                                # top-left of pixel (0, 0): on a grid node
    w = light.rasterise(light.image(img, 2 * dx, rotation_deg=90, offset_um=offset), _grid(20, dx, ny=18))
    expected = np.zeros((18, 20))
    # turned counter-clockwise about (15, 60): the drawn image occupies x in [15, 45), y in [20, 60)
    expected[4:12, 3:9] = np.kron(np.rot90(img), np.ones((2, 2)))
    np.testing.assert_array_equal(w, expected)


def test_png_image_resolves_against_the_spec_file(tmp_path):
    from matplotlib import image as mpimg

    gray = np.array([[0.0, 0.2, 1.0], [0.6, 1.0, 0.0]])       # exact in 8 bits (k/255)
    mpimg.imsave(tmp_path / "dmd.png", np.repeat(gray[:, :, None], 3, axis=2))
    spec = small_hek_spec()
    geometry = {"pixel_pitch_um": 20.0, "rotation_deg": 0.0, "offset_um": {"x": 10, "y": 20}}
    spec["light"] = [light.stimulus("png", {"image": {"png_path": "dmd.png", **geometry}}, None, 1.0),
                     light.stimulus("inline", light.image(gray, 20.0, offset_um=(10, 20)), None, 1.0)]
    (tmp_path / "s.json").write_text(json.dumps(spec))
    w = solver.prepare(tmp_path / "s.json").light_weights
    np.testing.assert_allclose(w[0], w[1], atol=1e-6)
    np.testing.assert_allclose(w[0][2:6, 1:7], np.kron(gray, np.ones((2, 2))), atol=1e-6)


# ---------------------------------------------------------------- periodic patterns and sums


def test_checkerboard_squares_and_lit_fraction():
    w = light.rasterise(light.checkerboard(4.0, origin_um=(3.0, 5.0)), _grid(16, 1.0))
    i, j = np.indices(w.shape)
    np.testing.assert_array_equal(w, ((np.floor((j + 0.5 - 3) / 4) + np.floor((i + 0.5 - 5) / 4)) % 2 == 0) * 1.0)
    assert w[5, 3] == 1.0 and w[5, 2] == 0.0                  # the square right of and below the origin is lit
    w = light.rasterise(light.checkerboard(12.0, origin_um=(3.3, 5.1)), _grid(96, 1.0))
    assert w.mean() == pytest.approx(0.5, rel=0.01)


@pytest.mark.parametrize("duty,angle", [(0.25, 0.0), (0.3, 30.0), (0.7, 117.0)])
def test_grating_lit_fraction_is_the_duty_cycle(duty, angle):
    w = light.rasterise(light.grating(9.0, duty_cycle=duty, angle_deg=angle, phase_um=1.7), _grid(144, 0.5))
    assert w.mean() == pytest.approx(duty, rel=0.01)


def test_grating_angle_and_phase_follow_the_convention():
    # 90°: the normal points up the sheet (−y); s = −y − phase, lit where s mod 8 < 2
    w = light.rasterise(light.grating(8.0, duty_cycle=0.25, angle_deg=90, phase_um=-2.0), _grid(5, 1.0, ny=24))
    rows = np.flatnonzero(w[:, 0])
    np.testing.assert_array_equal(rows, [0, 1, 8, 9, 16, 17])
    assert (w == w[:, :1]).all()
    w0 = light.rasterise(light.grating(8.0, duty_cycle=0.25, phase_um=3.0), _grid(24, 1.0, ny=2))
    np.testing.assert_array_equal(np.flatnonzero(w0[0]), [3, 4, 11, 12, 19, 20])


def test_sum_is_the_scaled_sum_unclipped():
    dx, r = 2.0, 20.0
    spot = light.disk((50, 50), r)
    box = light.rectangle((40, 40), (90, 70))
    w = light.rasterise(2 * spot + 0.5 * box, _grid(50, dx))
    assert w[24, 24] == 2.5                                  # inside both: not clipped at 1
    assert w.sum() * dx**2 == pytest.approx(2 * math.pi * r**2 + 0.5 * 50 * 30, rel=0.01)
    assert w.max() == 2.5 and w.min() == 0.0


def test_a_sum_as_tissue_mask_keeps_cells_at_half_weight():
    """Two 0.3-weighted disks: tissue (weight >= 0.5) only where they overlap, all of the overlap's inner cells."""
    (ax, ay), (bx, by), r = (40, 50), (80, 50), 35
    spec = small_hek_spec(tissue={"mask": (0.3 * light.disk((ax, ay), r) + 0.3 * light.disk((bx, by), r)).to_dict()})
    active = solver.prepare(spec).active.astype(bool)
    i, j = np.indices(active.shape)
    corners = [((j + di) * 10.0, (i + dj) * 10.0) for di in (0, 1) for dj in (0, 1)]

    def all_in(cx, cy):
        return np.all([(x - cx) ** 2 + (y - cy) ** 2 < r**2 for x, y in corners], axis=0)

    def any_in(cx, cy):   # the disk reaches the cell: the cell's point nearest the centre is inside
        nx_, ny_ = np.clip(cx, j * 10.0, (j + 1) * 10.0), np.clip(cy, i * 10.0, (i + 1) * 10.0)
        return (nx_ - cx) ** 2 + (ny_ - cy) ** 2 < r**2

    inner = all_in(ax, ay) & all_in(bx, by)                  # weight 0.6
    assert inner.sum() >= 4 and active[inner].all()
    assert not active[~(any_in(ax, ay) & any_in(bx, by))].any()    # weight <= 0.3: no tissue


# ---------------------------------------------------------------- stimuli add


def test_overlapping_stimuli_add_in_the_irradiance():
    spec = small_hek_spec(output={"variables": ["v", "irradiance"], "sample_interval_ms": 0.5})
    spec["light"] = [light.stimulus("bar", light.rectangle((0, 0), (30, 100)), light.pulse(1, 2), 1.0),
                     light.stimulus("spot", light.disk((30, 50), 25), None, 0.5)]
    problem = solver.prepare(spec)
    both_on = problem.irradiance(np.array([1.0, 1.0]))
    assert both_on[4, 1] == 1.5 and both_on[4, 3] == 0.5 and both_on[0, 0] == 1.0 and both_on[0, 8] == 0.0
    ds = solver.simulate(spec)
    irr = ds.irradiance
    np.testing.assert_allclose(irr.sel(time=2.0).values, both_on, atol=1e-6)       # pulse on: the sum
    np.testing.assert_allclose(irr.sel(time=0.5).values, problem.light_weights[1], atol=1e-6)   # spot only


# ---------------------------------------------------------------- the builder


HAND_WRITTEN = [
    (light.disk((52.5, 41), 22), {"disk": {"center_um": {"x": 52.5, "y": 41}, "radius_um": 22}}),
    (light.ring((60, 50), 10, 35), {"ring": {"center_um": {"x": 60, "y": 50}, "inner_radius_um": 10,
                                              "outer_radius_um": 35}}),
    (light.polygon([(5, 5), (90, 20), (40, 80)]),
     {"polygon": {"vertices_um": [{"x": 5, "y": 5}, {"x": 90, "y": 20}, {"x": 40, "y": 80}]}}),
    (light.line((0, 10), (100, 70), 12), {"line": {"start_um": {"x": 0, "y": 10}, "end_um": {"x": 100, "y": 70},
                                                   "width_um": 12}}),
    (light.checkerboard(15, origin_um=(2, 3), region=light.disk((60, 50), 40)),
     {"checkerboard": {"square_um": 15, "origin_um": {"x": 2, "y": 3},
                       "region": {"disk": {"center_um": {"x": 60, "y": 50}, "radius_um": 40}}}}),
    (light.grating(25, duty_cycle=0.4, angle_deg=20, phase_um=3),
     {"grating": {"period_um": 25, "duty_cycle": 0.4, "angle_deg": 20, "phase_um": 3}}),
    (light.image([[0.0, 0.5], [1.0, 0.25]], 30, rotation_deg=15, offset_um=(20, 10)),
     {"image": {"pixels": {"shape": [2, 2], "values": [0, 0.5, 1, 0.25]}, "pixel_pitch_um": 30, "rotation_deg": 15,
                "offset_um": {"x": 20, "y": 10}}}),
    (light.rectangle((0, 0), (50, 100)) | light.disk((80, 50), 20) | light.everywhere() - light.bar(0, 60),
     {"union": {"patterns": [
         {"rectangle": {"min_um": {"x": 0, "y": 0}, "max_um": {"x": 50, "y": 100}}},
         {"disk": {"center_um": {"x": 80, "y": 50}, "radius_um": 20}},
         {"difference": {"patterns": [{"everywhere": {}}, {"rectangle": {"min_um": {"x": 0, "y": -1e9},
                                                                         "max_um": {"x": 60, "y": 1e9}}}]}}]}}),
    (0.5 * light.disk((30, 30), 20) + 1.5 * light.bar_y(40, 60),
     {"sum": {"terms": [{"pattern": {"disk": {"center_um": {"x": 30, "y": 30}, "radius_um": 20}}, "scale": 0.5},
                        {"pattern": {"rectangle": {"min_um": {"x": -1e9, "y": 40}, "max_um": {"x": 1e9, "y": 60}}},
                         "scale": 1.5}]}}),
]


def test_builder_dicts_load_and_match_hand_written_json():
    spec = small_hek_spec()
    spec["light"] = [light.stimulus(f"b{k}", built, light.pulse(0, 1), 1.0)
                     for k, (built, _) in enumerate(HAND_WRITTEN)]
    spec["light"] += [{"name": f"h{k}", "pattern": hand, "waveform": {"pulse": {"start_ms": 0, "width_ms": 1}},
                       "irradiance_mw_per_mm2": 1.0} for k, (_, hand) in enumerate(HAND_WRITTEN)]
    weights = solver.build(solver.load_spec(json.loads(json.dumps(spec)))).light_weights
    n = len(HAND_WRITTEN)
    for k in range(n):
        assert weights[k].any(), k
        np.testing.assert_array_equal(weights[k], weights[n + k], err_msg=str(HAND_WRITTEN[k][1]))
        np.testing.assert_array_equal(light.rasterise(HAND_WRITTEN[k][0], spec["grid"]), weights[k])


def test_builder_waveforms_and_shape_algebra():
    assert light.pulse_train(5, 2, 100, 3) == {"pulse_train": {"start_ms": 5, "width_ms": 2, "period_ms": 100,
                                                               "count": 3}}
    assert light.sampled([0, 1], [0, 1], interpolation="linear")["sampled"]["interpolation"] == "INTERPOLATION_LINEAR"
    a, b, c = light.disk((1, 1), 1), light.disk((2, 2), 1), light.disk((3, 3), 1)
    assert (a - b) - c == light.difference(a, b, c)
    assert sum([a, b]) == a + b == light.scaled_sum(a, b)
    assert 2 * (a + 3 * b) == light.scaled_sum((2, a), (6, b))
    assert {"disk": a["disk"]} | b == light.union(a, b)
    spec = small_hek_spec(tissue={"mask": 2 * a | light.ring((50, 50), 10, 40)})   # a Shape drops into a spec as is
    assert solver.load_spec(spec) == solver.load_spec(yaml.safe_load(yaml.safe_dump(spec)))


# ---------------------------------------------------------------- bad patterns

PX = {"pixel_pitch_um": 10.0, "offset_um": {"x": 0, "y": 0}}
IMG = {"pixels": {"shape": [2, 2], "values": [0, 1, 1, 0]}}
BAD = [
    ("polygon two points", {"polygon": {"vertices_um": [{"x": 0, "y": 0}, {"x": 5, "y": 5}]}},
     "polygon.vertices_um", "at least 3"),
    ("raster wrong shape", {"raster": {"shape": [3, 3], "values": [1] * 9}}, "raster.shape",
     "does not match the grid [ny, nx] = [10, 12]"),
    ("disk negative radius", {"disk": {"center_um": {"x": 5, "y": 5}, "radius_um": -3}}, "disk.radius_um",
     "must be > 0"),
    ("ring negative inner", {"ring": {"inner_radius_um": -1, "outer_radius_um": 5}}, "ring.inner_radius_um",
     "must be >= 0"),
    ("ring inner equals outer", {"ring": {"inner_radius_um": 5, "outer_radius_um": 5}}, "ring.outer_radius_um",
     "must be > inner_radius_um"),
    ("line zero width", {"line": {"end_um": {"x": 9, "y": 0}, "width_um": 0}}, "line.width_um", "must be > 0"),
    ("checkerboard zero square", {"checkerboard": {"square_um": 0}}, "checkerboard.square_um", "must be > 0"),
    ("checkerboard bad region", {"checkerboard": {"square_um": 5, "region": {"disk": {"radius_um": -1}}}},
     "checkerboard.region.disk.radius_um", "must be > 0"),
    ("grating negative period", {"grating": {"period_um": -10, "duty_cycle": 0.5}}, "grating.period_um", "must be > 0"),
    ("grating duty zero", {"grating": {"period_um": 10, "duty_cycle": 0}}, "grating.duty_cycle", "must be > 0"),
    ("grating duty one", {"grating": {"period_um": 10, "duty_cycle": 1}}, "grating.duty_cycle", "must be < 1"),
    ("image zero pitch", {"image": {**IMG, "pixel_pitch_um": 0}}, "image.pixel_pitch_um", "must be > 0"),
    ("image off the sheet", {"image": {**IMG, **PX, "offset_um": {"x": 130, "y": 0}}}, "image",
     "lands entirely off the sheet"),
    ("image turned off the sheet", {"image": {**IMG, **PX, "rotation_deg": 180}}, "image",
     "spans x in [0, 120], y in [0, 100]"),
    ("image value above one", {"image": {**PX, "pixels": {"shape": [1, 2], "values": [0.5, 1.5]}}},
     "image.pixels.values", "1.5 at (row 0, column 1) is outside [0, 1]"),
    ("image value negative", {"image": {**PX, "pixels": {"shape": [1, 2], "values": [-0.1, 1]}}},
     "image.pixels.values", "outside [0, 1]"),
    ("image pixels do not fill shape", {"image": {**PX, "pixels": {"shape": [2, 2], "values": [1]}}},
     "image.pixels.values", "1 values do not fill shape [2, 2]"),
    ("image without pixels", {"image": PX}, "image", "give pixels"),
    ("image missing png", {"image": {**PX, "png_path": "nowhere.png"}}, "image.png_path", "cannot read"),
    ("sum negative scale", {"sum": {"terms": [{"pattern": {"everywhere": {}}, "scale": 1},
                                              {"pattern": {"everywhere": {}}, "scale": -0.5}]}},
     "sum.terms[1].scale", "must be >= 0"),
    ("sum no terms", {"sum": {}}, "sum.terms", "give at least one term"),
    ("sum bad term", {"sum": {"terms": [{"pattern": {"grating": {"period_um": 10, "duty_cycle": 1.5}}}]}},
     "sum.terms[0].pattern.grating.duty_cycle", "must be < 1"),
]


@pytest.mark.parametrize("where", ["light[0].pattern", "tissue.mask", "opsin.region"])
@pytest.mark.parametrize("case_id,pattern,field,fragment", BAD, ids=[b[0] for b in BAD])
def test_bad_pattern_is_rejected_naming_the_field(case_id, pattern, field, fragment, where):
    spec = small_hek_spec()
    if where == "light[0].pattern":
        spec["light"][0]["pattern"] = pattern
    elif where == "tissue.mask":
        spec["tissue"]["mask"] = pattern
    else:
        spec["opsin"] = {"region": pattern}
    with pytest.raises(SpecError) as info:
        solver.load_spec(spec)
    path = f"{where}.{field}"
    messages = [str(v) for v in info.value.violations if v.field == path]
    assert messages, f"{case_id}: expected a violation of {path}, got {info.value}"
    assert any(fragment in m for m in messages), f"{case_id}: {messages} do not say {fragment!r}"


def test_opsin_region_above_one_is_rejected():
    spec = small_hek_spec(opsin={"region": (1.5 * light.everywhere()).to_dict()})
    with pytest.raises(SpecError) as info:
        solver.load_spec(spec)
    (v,) = [v for v in info.value.violations if v.field == "opsin.region"]
    assert "weight 1.5" in v.description and "must be <= 1" in v.description and "density_map" in v.description


def test_every_bad_pattern_is_reported_at_once():
    spec = small_hek_spec(tissue={"mask": {"grating": {"period_um": 10, "duty_cycle": 2}}})
    spec["light"] = [light.stimulus("a", {"checkerboard": {"square_um": -1}}, None, 1.0),
                     light.stimulus("b", light.image([[1.0]], 10, offset_um=(-50, -50)), None, 1.0),
                     light.stimulus("c", {"sum": {"terms": [{"scale": -1}]}}, None, 1.0)]
    with pytest.raises(SpecError) as info:
        solver.load_spec(spec)
    fields = {v.field for v in info.value.violations}
    assert {"tissue.mask.grating.duty_cycle", "light[0].pattern.checkerboard.square_um", "light[1].pattern.image",
            "light[2].pattern.sum.terms[0].scale"} <= fields


def test_rasterise_names_the_field_of_a_bad_pattern():
    with pytest.raises(SpecError) as info:
        light.rasterise({"disk": {"radius": 3}}, _grid(4, 1.0))
    assert info.value.violations[0].field == "pattern.disk.radius"
    with pytest.raises(SpecError) as info:
        light.rasterise(light.grating(5, duty_cycle=1.2), _grid(4, 1.0))
    assert [v.field for v in info.value.violations] == ["pattern.grating.duty_cycle"]
