"""The wave analysis against fields whose answers are known exactly (solver.analysis.synthetic)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import brentq, minimize_scalar

from solver.analysis import (
    action_potential_duration,
    activation_time,
    analyse,
    conduction_velocity,
    dominant_frequency,
    fraction_activated,
    plaquette_charge,
)
from solver.analysis.synthetic import (
    action_potential,
    as_dataset,
    planar_wave_times,
    point_source_times,
    spiral_wave,
    travelling_wave,
)
from solver.readout import Camera, Dye, observe

N, DX, SPEED = 64, 10.0, 5.0  # 640 µm sheet, 5 cm/s: the wave needs about 13 ms to cross it
CENTRE = N * DX / 2


# ---------------------------------------------------------------- activation and conduction velocity


@pytest.mark.parametrize("angle", [0.0, np.pi / 6])
def test_planar_wave_activation_and_cv_from_v(angle):
    tact = planar_wave_times(N, dx_um=DX, speed_cm_per_s=SPEED, angle_rad=angle)
    t = np.arange(0.0, 40.0, 0.1)
    act = activation_time(travelling_wave(tact, t), t)
    assert np.nanmax(np.abs(act - tact)) < 0.01  # the tanh upstroke crosses 50 % at τ = 0
    cv = conduction_velocity(act, dx_um=DX)
    assert abs(cv.median_cm_per_s / SPEED - 1.0) < 0.03
    assert cv.reliable.mean() > 0.95
    ux = np.median(cv.cv_x[cv.reliable] / cv.speed[cv.reliable])
    uy = np.median(cv.cv_y[cv.reliable] / cv.speed[cv.reliable])
    assert abs(ux - np.cos(angle)) < 1e-3 and abs(uy - np.sin(angle)) < 1e-3


def test_planar_wave_cv_from_a_noisy_camera_movie():
    """SNR 5.3: photons 400 and read noise 2 e⁻ give dF/F noise √404/400 = 0.050 per pixel and frame; the AP
    (110 mV) gives dF/F 0.24·1.10 = 0.264."""
    tact = planar_wave_times(N, dx_um=DX, speed_cm_per_s=SPEED, angle_rad=0.5)
    t = np.arange(0.0, 100.0, 0.1)
    ds = as_dataset(travelling_wave(tact, t), t, dx_um=DX)
    photons, read = 400.0, 2.0
    ds = observe(ds, dye=Dye(), camera=Camera(frame_rate_hz=1000.0, photons_per_pixel=photons,
                                              read_noise_e=read), seed=3)
    snr = 0.24 * 110.0 / 100.0 / (np.sqrt(photons + read**2) / photons)
    out = analyse(ds, source="dff", tips=False)
    assert abs(float(out["dff_conduction_velocity"]) / SPEED - 1.0) < 0.10
    assert abs(out["dff_activation_time"].attrs["snr"] / snr - 1.0) < 0.2
    assert float(out["dff_fraction_activated"]) == 1.0


def test_point_source_cv_points_radially_outward():
    source = (200.0, 250.0)
    tact = point_source_times(N, dx_um=DX, speed_cm_per_s=SPEED, source_um=source)
    t = np.arange(0.0, 40.0, 0.1)
    cv = conduction_velocity(activation_time(travelling_wave(tact, t), t), dx_um=DX)
    c = (np.arange(N) + 0.5) * DX
    x, y = np.meshgrid(c, c)
    rx, ry = x - source[0], y - source[1]
    cosine = (cv.cv_x * rx + cv.cv_y * ry) / (cv.speed * np.hypot(rx, ry))
    assert cv.reliable.mean() > 0.9
    assert np.min(cosine[cv.reliable]) > 0.99
    assert abs(cv.median_cm_per_s / SPEED - 1.0) < 0.03
    assert not cv.reliable[np.hypot(rx, ry) < DX].any()  # the source itself: no plane fits a cone's tip


def test_fraction_activated_when_the_wave_is_blocked():
    tact = planar_wave_times(N, dx_um=DX, speed_cm_per_s=SPEED)
    t = np.arange(0.0, 60.0, 0.2)
    v = travelling_wave(tact, t)
    blocked = np.s_[:, :, N // 2:]
    bump = 20.0 * np.exp(-((t - 20.0) / 5.0) ** 2)  # a subthreshold response where the wave died
    v[blocked] = (-75.0 + bump)[:, None, None]
    act = activation_time(v, t, min_amplitude=40.0)
    assert np.all(np.isfinite(act[:, : N // 2])) and np.all(np.isnan(act[:, N // 2:]))
    assert fraction_activated(act) == 0.5


# ---------------------------------------------------------------- APD and frequency


def test_apd50_and_apd90_match_the_analytic_profile():
    opts = dict(apd_ms=18.0, repolarisation_ms=2.5)

    def v(tau):
        return float(action_potential(tau, **opts))

    peak = -minimize_scalar(lambda s: -v(s), bounds=(0.0, 18.0), method="bounded").fun
    rest = -75.0
    up = brentq(lambda s: v(s) - (rest + 0.5 * (peak - rest)), -3.0, 3.0)
    ref = {p: brentq(lambda s: v(s) - (peak - p / 100 * (peak - rest)), 5.0, 40.0) - up for p in (50.0, 90.0)}
    t = np.arange(0.0, 60.0, 0.1)
    movie = travelling_wave(np.full((4, 4), 7.33), t, **opts)
    apd = action_potential_duration(movie, t)
    for p in (50.0, 90.0):
        assert np.max(np.abs(apd[p] - ref[p])) < 0.05


def test_dominant_frequency_of_a_rotating_spiral():
    t = np.arange(0.0, 400.0, 0.5)
    v = spiral_wave(32, t, dx_um=DX, period_ms=80.0, cores=((160.0, 160.0, 1),))
    f = dominant_frequency(v, t)
    assert np.nanmax(np.abs(f / 12.5 - 1.0)) < 0.01


# ---------------------------------------------------------------- phase singularities


def _tips_per_frame(out, prefix=""):
    times = out[f"{prefix}spiral_tip_time"].values
    tname = "frame_time" if prefix else "time"
    lag = out[f"{prefix}spiral_tip_charge"].attrs["phase_lag_ms"]
    frames = out[tname].values
    frames = frames[frames >= frames[0] + lag]
    return np.array([np.sum(times == f) for f in frames])


def test_phase_field_of_one_vortex_has_one_unit_charge():
    c = (np.arange(N) + 0.5) * DX
    x, y = np.meshgrid(c, c)
    charge = plaquette_charge(np.arctan2(y - 333.0, x - 301.0))
    assert np.abs(charge).sum() == 1 and charge.sum() == 1
    i, j = np.argwhere(charge)[0]
    assert c[i] < 333.0 < c[i + 1] and c[j] < 301.0 < c[j + 1]


@pytest.mark.parametrize("sign", [1, -1])
def test_rotating_spiral_has_exactly_one_singularity_at_its_core(sign):
    t = np.arange(0.0, 200.0, 1.0)
    v = spiral_wave(N, t, dx_um=DX, period_ms=50.0, cores=((CENTRE, CENTRE, sign),))
    out = analyse(as_dataset(v, t, dx_um=DX))
    assert np.all(_tips_per_frame(out) == 1)
    # V = f(θ − ωt): the phase grows as ωt − θ, so it winds against the spiral's own sign
    assert np.all(out["spiral_tip_charge"].values == -sign)
    assert np.all(np.abs(out["spiral_tip_x"].values - CENTRE) <= DX)
    assert np.all(np.abs(out["spiral_tip_y"].values - CENTRE) <= DX)


def test_planar_wave_has_no_singularity():
    t = np.arange(0.0, 200.0, 1.0)
    tact = planar_wave_times(N, dx_um=DX, speed_cm_per_s=SPEED, angle_rad=0.3)
    paced = np.maximum(travelling_wave(tact, t), travelling_wave(tact + 60.0, t))  # two beats
    out = analyse(as_dataset(paced, t, dx_um=DX))
    assert out["spiral_tip_time"].size == 0


def test_figure_of_eight_has_two_singularities_of_opposite_charge():
    cores = ((200.0, CENTRE, 1), (440.0, CENTRE, -1))
    t = np.arange(0.0, 200.0, 1.0)
    out = analyse(as_dataset(spiral_wave(N, t, dx_um=DX, period_ms=50.0, cores=cores), t, dx_um=DX))
    assert np.all(_tips_per_frame(out) == 2)
    for x0, sign in ((200.0, 1), (440.0, -1)):
        near = np.abs(out["spiral_tip_x"].values - x0) <= DX
        assert near.sum() == out["spiral_tip_x"].size // 2
        assert np.all(out["spiral_tip_charge"].values[near] == -sign)


def test_spiral_tip_from_a_noisy_camera_movie():
    t = np.arange(0.0, 400.0, 0.5)
    v = spiral_wave(N, t, dx_um=DX, period_ms=80.0, cores=((CENTRE, CENTRE, 1),))
    ds = observe(as_dataset(v, t, dx_um=DX), dye=Dye(), camera=Camera(frame_rate_hz=500.0, photons_per_pixel=400.0),
                 seed=4)
    out = analyse(ds, source="dff")
    assert out["dff_activation_time"].attrs["snr"] > 4.0
    assert np.all(_tips_per_frame(out, "dff_") == 1)
    assert np.all(out["dff_spiral_tip_charge"].values == -1)
    assert np.all(np.abs(out["dff_spiral_tip_x"].values - CENTRE) <= DX)


# ---------------------------------------------------------------- dataset level


def test_analyse_adds_variables_with_units():
    tact = planar_wave_times(16, dx_um=DX, speed_cm_per_s=SPEED)
    t = np.arange(0.0, 40.0, 0.5)
    mask = np.ones((16, 16), np.uint8)
    mask[:3, :3] = 0
    out = analyse(as_dataset(travelling_wave(tact, t), t, dx_um=DX, mask=mask))
    for name, unit in (("activation_time", "ms"), ("conduction_velocity_x", "cm/s"), ("conduction_velocity", "cm/s"),
                       ("apd50", "ms"), ("apd90", "ms"), ("dominant_frequency", "Hz"), ("fraction_activated", "1"),
                       ("spiral_tip_time", "ms"), ("spiral_tip_charge", "1")):
        assert out[name].attrs["units"] == unit and out[name].attrs["long_name"]
    assert np.all(np.isnan(out["activation_time"].values[:3, :3]))
    assert float(out["fraction_activated"]) == 1.0


def test_analyse_rejects_an_unknown_source():
    ds = as_dataset(np.zeros((4, 2, 2), np.float32), np.arange(4.0), dx_um=DX)
    with pytest.raises(ValueError, match=r"source = 'vm' is not allowed: use one of \('v', 'dff'\)"):
        analyse(ds, source="vm")
    with pytest.raises(ValueError, match=r"source = 'dff': the dataset has no variable 'dff'"):
        analyse(ds, source="dff")


# ---------------------------------------------------------------- the project's examples (need solver.simulate)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _simulate_example(name: str):
    """Run ``examples/<name>`` through ``solver.simulate``; skip, naming what is missing."""
    path = EXAMPLES / name
    solver = importlib.import_module("solver")
    simulate = getattr(solver, "simulate", None)
    missing = [what for what, ok in (("solver.simulate", simulate is not None), (f"examples/{name}", path.exists()))
               if not ok]
    if missing:
        pytest.skip(f"needs {' and '.join(missing)} (not in the tree yet)")
    load = getattr(solver, "load_spec", None)
    spec = load(path) if load is not None else json.loads(path.read_text())
    return simulate(spec)


@pytest.mark.slow
def test_spiral_example_has_one_phase_singularity():
    ds = _simulate_example("spiral.json")
    out = analyse(ds)
    times = out["spiral_tip_time"].values
    late = ds["time"].values[ds["time"].values > 0.5 * float(ds["time"].values[-1])]
    counts = np.array([np.sum(times == tm) for tm in late])
    assert np.mean(counts == 1) > 0.9  # the tip meanders; a frame may catch it between plaquettes
    assert np.all(np.abs(out["spiral_tip_charge"].values) == 1)


@pytest.mark.slow
def test_single_cell_example_apd90_matches_its_trace():
    ds = _simulate_example("single_cell.json")
    out = analyse(ds, tips=False, frequency=False)
    trace = ds["v"].values.reshape(ds.sizes["time"], -1)[:, 0].astype(np.float64)
    t = ds["time"].values
    rest, peak = trace.min(), trace.max()
    up_level, down_level = rest + 0.5 * (peak - rest), peak - 0.9 * (peak - rest)
    k = np.flatnonzero((trace[:-1] < up_level) & (trace[1:] >= up_level))[0]
    t_up = np.interp(up_level, trace[k:k + 2], t[k:k + 2])
    j = k + np.flatnonzero((trace[k:-1] > down_level) & (trace[k + 1:] <= down_level))[0]
    t_down = np.interp(-down_level, -trace[j:j + 2], t[j:j + 2])
    assert abs(float(out["apd90"].values.ravel()[0]) - (t_down - t_up)) < 0.01
