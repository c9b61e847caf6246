"""The dye and the camera against analytic references: photon statistics, exposure integration, PSF, ΔF/F."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import curve_fit
from scipy.special import ndtr

from solver.readout import Camera, CameraTracker, Dye, RunInfo, record_movie

V_REF = -70.0


def constant_movie(n_frames: int, period_ms: float, shape=(32, 32), v_mv=V_REF):
    """Two samples per frame boundary are enough for a constant field: the trapezoid is exact."""
    t = np.arange(n_frames + 1) * period_ms
    return np.full((t.size, *shape), v_mv, np.float32), t


# ---------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("settings", "field", "allowed"),
    [
        (Camera(frame_rate_hz=500.0, exposure_ms=3.0), "camera.exposure_ms", "0 < exposure_ms <= 2"),
        (Camera(frame_rate_hz=-5.0), "camera.frame_rate_hz", "0 < frame_rate_hz"),
        (Camera(binning=0), "camera.binning", "1 <= binning"),
        (Camera(photons_per_pixel=0.0), "camera.photons_per_pixel", "0 < photons_per_pixel"),
        (Camera(read_noise_e=-1.0), "camera.read_noise_e", "0 <= read_noise_e"),
        (Camera(crosstalk_fraction=1.5), "camera.crosstalk_fraction", "0 <= crosstalk_fraction <= 1"),
        (Dye(sensitivity_per_100mv=2.0), "dye.sensitivity_per_100mv", "-1 <= sensitivity_per_100mv <= 1"),
        (Dye(bleach_tau_ms=-3.0), "dye.bleach_tau_ms", "0 <= bleach_tau_ms"),
    ],
)
def test_validation_names_field_value_and_range(settings, field, allowed):
    with pytest.raises(ValueError) as err:
        settings.validate()
    assert field in str(err.value)
    assert allowed in str(err.value)


def test_brightness_map_must_match_the_grid():
    dye = Dye(brightness=np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"dye.brightness has shape \(4, 5\); allowed: the grid shape \(8, 8\)"):
        CameraTracker(dye, Camera(), seed=0).initialize(
            RunInfo(ny=8, nx=8, dx_um=10.0, dt_ms=0.01, n_steps=10, mask=np.ones((8, 8), np.uint8)))


def _documented_defaults(message: str) -> dict[str, float]:
    """``field -> default`` as the wire contract's comments state them (``// ... default 500``)."""
    text = (Path(__file__).resolve().parents[2] / "protos/optowave/v1/spec.proto").read_text()
    body = re.search(r"message %s \{(.*?)\n\}" % message, text, re.S).group(1)
    out = {}
    for name, comment in re.findall(r"optional \w+ (\w+) = \d+;[^\n]*?//(.*)", body):
        found = (re.search(r"default \(?([−-]?[\d.]+)(?![\d./])", comment)
                 or re.search(r"([\d.]+)[^\n]*\(default\)", comment))
        if found:
            out[name] = float(found.group(1).replace("−", "-"))
    return out


def test_defaults_are_the_wire_specs_documented_defaults():
    """What a spec file that leaves a camera or dye field out gets (spec.proto's comments) is what Camera() and
    Dye() hold here, and what a spec object holds."""
    from solver.spec import types

    camera, dye = _documented_defaults("Camera"), _documented_defaults("Dye")
    assert set(camera) >= {"frame_rate_hz", "psf_sigma_um", "binning", "photons_per_pixel", "read_noise_e",
                           "crosstalk_fraction", "imaging_irradiance_mw_per_mm2"}
    assert set(dye) == {"sensitivity_per_100mv", "v_ref_mv", "bleach_tau_ms"}
    for name, value in camera.items():
        assert getattr(Camera(), name) == value == getattr(types.CameraSpec(), name), name
    for name, value in dye.items():
        assert getattr(Dye(), name) == value == getattr(types.DyeSpec(), name), name
    assert Camera().exposure_time_ms == 1000.0 / camera["frame_rate_hz"]     # default 1000/frame_rate_hz
    assert Dye().brightness is None                                         # relative brightness 1 everywhere


# ---------------------------------------------------------------- noise


def test_shot_noise_variance_is_mean_plus_read_noise_squared():
    photons, read = 500.0, 5.0
    v, t = constant_movie(300, 2.0)
    counts = record_movie(v, t, dye=Dye(), camera=Camera(photons_per_pixel=photons, read_noise_e=read),
                          dx_um=10.0, seed=11)["fluorescence"].values.astype(np.float64)
    n = counts.shape[0] * counts.shape[1] * counts.shape[2]
    var = counts.var(axis=0, ddof=1).mean()  # variance over frames, averaged over pixels
    expected = photons + read**2
    # the variance estimate of n - pixels degrees of freedom has relative sd sqrt(2 / dof) (near-Gaussian counts)
    dof = n - counts.shape[1] * counts.shape[2]
    assert abs(var - expected) < 4.0 * expected * math.sqrt(2.0 / dof)
    assert abs(counts.mean() - photons) < 4.0 * math.sqrt(expected / n)


def test_same_seed_same_movie_other_seed_same_statistics():
    v, t = constant_movie(100, 2.0, shape=(16, 16))
    cam = Camera(photons_per_pixel=800.0, read_noise_e=3.0)
    a = record_movie(v, t, dye=Dye(), camera=cam, dx_um=10.0, seed=5)["fluorescence"].values
    b = record_movie(v, t, dye=Dye(), camera=cam, dx_um=10.0, seed=5)["fluorescence"].values
    c = record_movie(v, t, dye=Dye(), camera=cam, dx_um=10.0, seed=6)["fluorescence"].values
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    dof = a.size - 256
    assert abs(a.var(axis=0, ddof=1).mean() / c.var(axis=0, ddof=1).mean() - 1.0) < 6.0 * math.sqrt(4.0 / dof)


# ---------------------------------------------------------------- dF/F


@pytest.mark.parametrize("f0", ["median", "first_frames", "reference"])
def test_dff_of_a_voltage_step_is_s_times_dv(f0):
    dv = 80.0
    t = np.arange(0.0, 100.0001, 0.5)
    v = np.full((t.size, 16, 16), V_REF, np.float32)
    v[t > 60.0] += dv  # the step fills the last 40 % of the record: the median baseline is the rest level
    m = record_movie(v, t, dye=Dye(), camera=Camera(photons_per_pixel=1e6), dx_um=10.0, seed=1, f0=f0)
    dff = m["dff"].values
    after = m["dff"]["frame_time"].values > 62.0
    expected = 0.24 * dv / 100.0
    per_frame = np.nanmean(dff[after], axis=(1, 2))
    assert np.all(np.abs(per_frame / expected - 1.0) < 0.02)
    assert np.all(np.abs(np.nanmean(dff[m["dff"]["frame_time"].values < 58.0], axis=(1, 2))) < 0.02 * expected)


def test_dff_from_a_rest_away_from_v_ref():
    """With the baseline at V_rest, dF/F = s·ΔV/100 / (1 + s·(V_rest − V_ref)/100): what a lab measures."""
    rest, dv, s = -80.0, 100.0, 0.24
    t = np.arange(0.0, 50.0001, 0.5)
    v = np.full((t.size, 8, 8), rest, np.float32)
    v[t > 30.0] += dv
    m = record_movie(v, t, dye=Dye(), camera=Camera(photons_per_pixel=1e7), dx_um=10.0, seed=2)
    expected = s * dv / 100.0 / (1.0 + s * (rest - V_REF) / 100.0)
    got = np.nanmean(m["dff"].values[m["dff"]["frame_time"].values > 32.0])
    assert abs(got / expected - 1.0) < 0.005


def test_bleaching_follows_the_exposure_mean_and_dff_is_corrected():
    tau, period = 40.0, 2.0
    t = np.arange(0.0, 100.0001, 0.1)  # the trapezoid's error on exp(−t/τ): 0.1²/(12 τ²) ≈ 5e-7
    v = np.full((t.size, 4, 4), V_REF, np.float32)
    photons = 1e12  # shot noise 1e-6 relative
    m = record_movie(v, t, dye=Dye(bleach_tau_ms=tau), camera=Camera(photons_per_pixel=photons, read_noise_e=0.0),
                     dx_um=10.0, seed=0)
    start = m["dff"]["exposure_start"].values
    exact = tau / period * (np.exp(-start / tau) - np.exp(-(start + period) / tau))
    np.testing.assert_allclose(m["fluorescence"].values[:, 0, 0] / photons, exact, rtol=1e-5)
    assert np.nanmax(np.abs(m["dff"].values)) < 1e-4


# ---------------------------------------------------------------- exposure


def test_exposure_integrates_a_ramp_to_its_mean():
    slope = 2.0  # mV/ms
    t = np.arange(0.0, 30.0001, 0.07)  # samples that do not line up with the exposures
    v = (V_REF + slope * t)[:, None, None] * np.ones((1, 4, 4))
    cam = Camera(frame_rate_hz=1000.0 / 1.3, exposure_ms=0.9, photons_per_pixel=1e12, read_noise_e=0.0)
    m = record_movie(v, t, dye=Dye(), camera=cam, dx_um=5.0, seed=0, f0="reference")
    start = m["dff"]["exposure_start"].values
    np.testing.assert_allclose(start, np.arange(start.size) * 1.3, atol=1e-9)
    np.testing.assert_allclose(m["dff"]["frame_time"].values, start + 0.45, atol=1e-9)
    mean_v = V_REF + slope * (start + 0.45)  # the mean of a ramp over the exposure
    expected = 0.24 * (mean_v - V_REF) / 100.0
    np.testing.assert_allclose(m["dff"].values[:, 2, 1], expected, atol=2e-5)
    assert start[-1] + 0.9 <= 30.0 < start[-1] + 1.3 + 0.9  # every complete exposure, and only those


def test_tracker_in_a_run_loop_matches_the_offline_camera():
    dt, n_steps, shape = 0.01, 2400, (8, 8)
    dye, cam = Dye(), Camera(frame_rate_hz=500.0, photons_per_pixel=2000.0)
    tracker = CameraTracker(dye, cam, seed=3)
    every = tracker.initialize(RunInfo(ny=8, nx=8, dx_um=10.0, dt_ms=dt, n_steps=n_steps,
                                       mask=np.ones(shape, np.uint8), t0_ms=0.0))
    assert every * dt <= min(cam.exposure_time_ms / 10, 0.25) + 1e-12
    steps = np.arange(0, n_steps + 1, every)
    t = steps * dt
    v = (V_REF + 40.0 * np.sin(t / 3.0))[:, None, None] * np.ones((1, *shape))
    for s, tk, vk in zip(steps, t, v):
        tracker.handle(int(s), float(tk), vk)
    live = tracker.finalize()
    offline = record_movie(v, t, dye=dye, camera=cam, dx_um=10.0, seed=3)
    np.testing.assert_array_equal(live["fluorescence"].values, offline["fluorescence"].values)
    assert live["fluorescence"].sizes["frame"] == int(n_steps * dt / cam.frame_period_ms)


# ---------------------------------------------------------------- optics


def _edge_model(x_um, sigma_um, edge_um, *, pixel_um):
    """Camera pixel value of a unit step at ``edge_um`` blurred by a Gaussian, averaged over the pixel."""
    def psi(z):
        return z * ndtr(z) + np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)

    lo, hi = x_um - pixel_um / 2 - edge_um, x_um + pixel_um / 2 - edge_um
    return sigma_um / pixel_um * (psi(hi / sigma_um) - psi(lo / sigma_um))


@pytest.mark.parametrize("binning", [1, 2])
def test_psf_conserves_photons_and_has_the_set_width(binning):
    n, dx, sigma = 64, 10.0, 30.0
    brightness = np.zeros((n, n))
    brightness[:, n // 2:] = 1.0
    brightness[5, 3] = 50.0  # a bright cell near the corner: its blur reaches the edge of the sensor
    photons = 1e12
    v, t = constant_movie(1, 1.0, shape=(n, n))
    cam = Camera(frame_rate_hz=1000.0, psf_sigma_um=sigma, binning=binning, photons_per_pixel=photons,
                 read_noise_e=0.0)
    m = record_movie(v, t, dye=Dye(brightness=brightness), camera=cam, dx_um=dx, seed=0)
    frame = m["fluorescence"].values[0].astype(np.float64)
    assert abs(frame.sum() / (brightness.sum() * photons / binning**2) - 1.0) < 1e-6
    rows = slice(20 // binning, 60 // binning)  # away from the bright cell
    profile = frame[rows].mean(axis=0) / photons
    x = m["fluorescence"]["cam_x"].values
    (fit_sigma, fit_edge), _ = curve_fit(lambda x, s, e: _edge_model(x, s, e, pixel_um=binning * dx), x, profile,
                                         p0=[20.0, 300.0])
    assert abs(fit_sigma / sigma - 1.0) < 0.05
    assert abs(fit_edge - n / 2 * dx) < 1.0


def test_layout_units_and_mask():
    n = 16
    mask = np.ones((n, n), np.uint8)
    mask[:, :4] = 0
    v, t = constant_movie(5, 2.0, shape=(n, n))
    m = record_movie(v, t, dye=Dye(), camera=Camera(binning=2, read_noise_e=1.0), dx_um=7.0, seed=0, mask=mask)
    for name in ("fluorescence", "dff"):
        da = m[name]
        assert da.dims == ("frame", "cam_y", "cam_x")
        assert da.attrs["units"] and da.attrs["long_name"]
        assert da["frame_time"].attrs["units"] == "ms"
        assert da["cam_x"].attrs["units"] == "µm"
    np.testing.assert_allclose(m["dff"]["cam_x"].values, (np.arange(8) + 0.5) * 14.0)
    assert np.all(np.isnan(m["dff"].values[:, :, :2])) and np.all(np.isfinite(m["dff"].values[:, :, 2:]))
    off = m["fluorescence"].values[:, :, :2]
    assert abs(off.mean()) < 4.0 / math.sqrt(off.size)  # no dye off tissue: read noise only


# ---------------------------------------------------------------- on the solver's run loop


def _small_planar_spec(seed: int) -> dict:
    return {
        "name": "camera on the run loop",
        "grid": {"nx": 40, "ny": 6, "dx_um": 10.0},
        "tissue": {"model": {"preset": "hek_gokhale2017_35c"}},
        "coupling": {"diffusivity_um2_per_ms": 1000.0},
        "opsin": {"preset": "cheriff"},
        "light": [{"name": "edge", "pattern": {"rectangle": {"min_um": {"x": 0, "y": 0}, "max_um": {"x": 40, "y": 60}}},
                   "waveform": {"pulse": {"start_ms": 6.0, "width_ms": 3.0}}, "irradiance_mw_per_mm2": 2.0}],
        "readout": {"enabled": True, "camera": {"frame_rate_hz": 1000.0, "photons_per_pixel": 1e7}},
        "output": {"variables": ["v"], "sample_interval_ms": 0.1},
        "numerics": {"dt_ms": 0.02, "duration_ms": 30.0},
        "seed": seed,
    }


def test_camera_on_the_solver_run_loop():
    solver = pytest.importorskip("solver")
    if not hasattr(solver, "simulate"):
        pytest.skip("needs solver.simulate")
    a, b = solver.simulate(_small_planar_spec(7)), solver.simulate(_small_planar_spec(7))
    np.testing.assert_array_equal(a["fluorescence"].values, b["fluorescence"].values)
    assert a.sizes["frame"] == 30
    assert a["dff"].attrs["f0_frames"] == 6  # frames 0..5 end by 6 ms, when the light comes on
    # ΔF/F against the true V: the frames before the light set F0 = F(V_rest), so ΔF/F = s·(V − V_rest)/100 /
    # (1 + s·(V_rest − V_ref)/100), with V averaged over each 1 ms exposure (trapezoid of the 0.1 ms output)
    s, v, t = 0.24, a["v"].values.astype(np.float64), a["time"].values
    start = a["exposure_start"].values
    mean_v = np.stack([np.trapezoid(v[(t >= s0 - 1e-9) & (t <= s0 + 1.0 + 1e-9)], dx=0.1, axis=0) / 1.0
                       for s0 in start])
    rest = v[0, 0, 0]
    expected = s * (mean_v - rest) / 100.0 / (1.0 + s * (rest - V_REF) / 100.0)
    err = np.abs(a["dff"].values - expected)
    assert np.max(err) < 0.01 * s  # within 1 % of the ΔF/F of a 100 mV action potential
