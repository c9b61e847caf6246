"""Measures that are NaN where they are undefined, and a CV estimator without bias at any pitch.

References: Nagumo's exact travelling front u = 1/(1 + exp((x − c·t)·sqrt(k/2D))), c = sqrt(Dk/2)(1 − 2a),
sampled on the grid (every pixel's activation time is known exactly); synthetic action potentials
whose beats and APDs are set by construction; and the solver's own Nagumo cable, against an implicit
(BDF) solve of the same cable (solver.numerics.convergence).
"""
from __future__ import annotations

import numpy as np
import pytest

from solver.analysis import action_potential_duration, analyse, dominant_frequency
from solver.analysis.synthetic import action_potential, as_dataset, travelling_wave

K, A, D = 1.0, 0.1, 1.0
C_EXACT = np.sqrt(D * K / 2) * (1 - 2 * A)  # model units (the dimensionless media: µm and ms in name only)


def nagumo_front(ny: int, nx: int, dx: float, t: np.ndarray, *, angle: float = 0.0) -> np.ndarray:
    """The exact front, entering from outside the sheet, moving at ``angle`` from +x."""
    xs, ys = (np.arange(nx) + 0.5) * dx, (np.arange(ny) + 0.5) * dx
    x, y = np.meshgrid(xs, ys)
    s = x * np.cos(angle) + y * np.sin(angle)
    z = (s[None] + 3.0 - C_EXACT * t[:, None, None]) * np.sqrt(K / (2 * D))
    return (1.0 / (1.0 + np.exp(np.clip(z, -60.0, 60.0)))).astype(np.float32)


def _cv(ds) -> float:
    out = analyse(ds, frequency=False, tips=False)
    assert out["conduction_velocity"].attrs["n_reliable_pixels"] > 0.4 * ds.sizes["x"] * ds.sizes["y"]
    return float(out["conduction_velocity"])


@pytest.mark.parametrize("dx", [0.25, 0.5, 1.0])
@pytest.mark.parametrize("shape", ["strip", "sheet"])
def test_cv_estimator_on_exact_nagumo_fronts(shape, dx):
    """Three pitches, a 4-row strip and a square sheet (the front oblique on the sheet): within 2 %."""
    length = 40.0
    n = int(round(length / dx))
    ny, nx, angle = (4, n, 0.0) if shape == "strip" else (n, n, np.pi / 7)
    t = np.arange(0.0, (length * 1.5 + 6.0) / C_EXACT, 1.0)
    ds = as_dataset(nagumo_front(ny, nx, dx, t, angle=angle), t, dx_um=dx)
    ds["v"].attrs["units"] = "1"
    cv = _cv(ds) * 10.0  # the summary is in cm/s for µm and ms: back to model units
    print(f"\n{shape} dx {dx}: CV {cv:.5f} vs exact {C_EXACT:.5f} ({cv / C_EXACT - 1:+.3%})")
    assert abs(cv / C_EXACT - 1) < 0.02


@pytest.mark.parametrize("ny", [4, 96])
def test_cv_on_a_fine_grid_sampled_coarsely_in_time(ny):
    """The case that read 9 % high: HEK-like upstrokes (0.3 ms), dx 2.25 µm, V sampled every 0.5 ms
    (the wave moves 11 pixels per sample, twice the default window): analyse widens its window."""
    dx, speed = 2.25, 5.0
    nx = 400
    x = (np.arange(nx) + 0.5) * dx
    act = np.broadcast_to(2.0 + x / (speed * 10.0), (ny, nx))
    t = np.arange(0.0, act.max() + 25.0, 0.5)
    ds = as_dataset(travelling_wave(act, t), t, dx_um=dx)
    out = analyse(ds, frequency=False, tips=False)
    cv = float(out["conduction_velocity"])
    print(f"\n{ny} rows: CV {cv:.4f} cm/s vs {speed}; window {out['conduction_velocity'].attrs['window_px']}")
    assert abs(cv / speed - 1) < 0.02
    assert out["conduction_velocity"].attrs["window_px"] > 2  # the widened window is what made it so


def test_cv_of_the_solvers_nagumo_front_against_a_bdf_cable():
    """The whole path: a Nagumo strip through the solver and analyse(), against the BDF solve of the
    same discrete cable (same dx: its front speed, not the continuum's, is the reference)."""
    import solver
    from solver.numerics.convergence import Cable, run_bdf

    dx, n = 0.5, 200
    ref = run_bdf(Cable(model="nagumo", n=n, dx_um=dx, diffusivity_um2_per_ms=D, stim_cells=20, stim_amplitude=-1.0,
                        stim_ms=2.0, t_end_ms=120.0, probes=(60, 140), threshold=0.5, parameters={"k": K, "a": A}))
    spec = {"grid": {"nx": n, "ny": 3, "dx_um": dx},
            "tissue": {"model": {"preset": "nagumo", "parameters": {"k": K, "a": A}}},
            "coupling": {"diffusivity_um2_per_ms": D},
            "current": [{"pattern": {"rectangle": {"min_um": {"x": 0, "y": 0}, "max_um": {"x": 10, "y": 1.5}}},
                         "waveform": {"pulse": {"start_ms": 0.0, "width_ms": 2.0}}, "amplitude_a_per_f": -1.0}],
            "output": {"variables": ["v"], "sample_interval_ms": 0.5},
            "numerics": {"dt_ms": 0.02, "duration_ms": 120.0}}  # fmt: skip
    ds = solver.simulate(spec)
    ds = ds.isel(x=slice(60, 141))  # between the cable's probes
    cv = _cv(ds) * 10.0
    print(f"\nsolver + analyse: {cv:.5f}; BDF cable {ref.cv:.5f}; continuum {C_EXACT:.5f}")
    assert abs(cv / ref.cv - 1) < 0.02


def test_dominant_frequency_is_nan_with_fewer_than_two_beats():
    t = np.arange(0.0, 300.0, 0.5)
    one = travelling_wave(np.full((3, 3), 20.0), t)  # one beat
    assert np.all(np.isnan(dominant_frequency(one, t)))
    # two beats 100 ms apart: a frequency (10 Hz, within the spectrum's resolution of 1/300 ms)
    two = (action_potential(t - 20.0) + action_potential(t - 120.0) + 75.0).astype(np.float32)
    f = dominant_frequency(np.broadcast_to(two[:, None, None], (t.size, 2, 2)).copy(), t)
    assert np.all(np.abs(f - 10.0) < 1.7)
    # the same through analyse(): a run with one beat has no dominant frequency anywhere
    out = analyse(as_dataset(one, t, dx_um=10.0), tips=False)
    assert np.all(np.isnan(out["dominant_frequency"].values))


def test_apd_is_nan_where_the_cell_never_repolarised():
    t = np.arange(0.0, 80.0, 0.1)
    ap = action_potential(t - 10.0, apd_ms=20.0)
    stuck = action_potential(t - 10.0, apd_ms=500.0)  # depolarised to the end of the record
    movie = np.stack([ap, stuck])[:, :, None].transpose(1, 0, 2).astype(np.float32)  # (n_t, 2, 1)
    apd = action_potential_duration(movie, t)
    assert np.isnan(apd[90.0][1, 0]) and np.isnan(apd[50.0][1, 0])
    # the other one has its APD: 90 % down is atanh(0.8) repolarisation widths (3 ms) past the 50 % point
    assert abs(apd[90.0][0, 0] - (20.0 + 3.0 * np.arctanh(0.8))) < 0.02
