"""The blocked analysis of a stored movie against the in-memory ``analyse`` of the same movie: equal bit for bit."""

from __future__ import annotations

import errno
import json
import subprocess
import sys

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from solver.analysis import analyse, analyse_blocked
from solver.analysis import _blockfile
from solver.analysis import blocked as blocked_module
from solver.analysis.synthetic import action_potential, as_dataset, planar_wave_times, spiral_wave, travelling_wave
from solver.readout import Camera, Dye, observe

DX = 10.0


def _store(ds: xr.Dataset, path, *, tc: int, tile: int | None = None) -> xr.Dataset:
    """Write ``ds`` to a Zarr v3 store (time chunks of ``tc``, spatial tiles of min(side, ``tile``)) and open it
    lazily, as a job's result store is."""
    encoding = {}
    for name, var in ds.data_vars.items():
        if var.ndim == 3:
            side = [min(n, tile or 256) for n in var.shape[1:]]
            encoding[name] = {"chunks": (tc, *side)}
    ds.to_zarr(path, mode="w", zarr_format=3, consolidated=False, encoding=encoding)
    lazy = xr.open_zarr(path, consolidated=False)
    assert lazy[next(iter(encoding))].chunks is not None  # dask-backed: nothing read yet
    return lazy


def _spy(monkeypatch, *, scratch: bool | None = None) -> dict[str, list]:
    """Record the blocks measured and every read from the store; ``scratch`` forces the way blocks are read."""
    seen: dict[str, list] = {"blocks": [], "store": []}
    real_read, real_measure = _blockfile.read_region, blocked_module._Blocked.measure

    def read(var, region, times=slice(None)):
        seen["store"].append((region, times, var.shape[0]))
        return real_read(var, region, times)

    def measure(self, k, blk):
        seen["blocks"].append(blk)
        return real_measure(self, k, blk)

    monkeypatch.setattr(_blockfile, "read_region", read)
    monkeypatch.setattr(blocked_module._Blocked, "measure", measure)
    if scratch is not None:
        monkeypatch.setattr(blocked_module, "SCRATCH_ABOVE", 0.0 if scratch else np.inf)
    return seen


def _assert_equal(lazy: xr.Dataset, out: dict[str, xr.DataArray], *, source: str, **options) -> xr.Dataset:
    ref = analyse(lazy.load(), source=source, **options)
    added = [name for name in ref.data_vars if name not in lazy.data_vars]
    assert sorted(out) == sorted(added)
    for name in added:
        assert isinstance(out[name].data, np.ndarray)
        xr.testing.assert_identical(out[name], ref[name])  # values (NaN where NaN), dims, coords, attrs
    return ref


def _several_blocks_per_side(seen, shape, block_bytes: int, *, scratch: bool, at_least: int = 3) -> None:
    """Several blocks along each side, and no read from the store larger than the budget."""
    ys = {blk.y[0] for blk in seen["blocks"]}
    xs = {blk.x[0] for blk in seen["blocks"]}
    assert len(ys) >= at_least and len(xs) >= at_least, (ys, xs)
    for region, times, n_t in seen["store"]:
        frames = len(range(*times.indices(n_t)))
        assert frames * (region[0].stop - region[0].start) * (region[1].stop - region[1].start) * 4 <= block_bytes
        assert (frames < n_t) == scratch  # the scratch file is filled one time chunk at a time


@pytest.mark.parametrize("smooth_px", [None, 1.0])
def test_planar_wave_v_equals_analyse(tmp_path, monkeypatch, smooth_px):
    ny, nx = 40, 48  # not square: y and x cannot be swapped unnoticed
    tact = planar_wave_times(nx, dx_um=DX, speed_cm_per_s=5.0, angle_rad=0.4)[:ny]
    t = np.arange(0.0, 60.0, 0.25)
    mask = np.ones((ny, nx), np.uint8)
    mask[5:11, 20:27] = 0  # a hole, across block edges
    lazy = _store(as_dataset(travelling_wave(tact, t), t, dx_um=DX, mask=mask), tmp_path / "planar.zarr", tc=64,
                  tile=16)
    seen = _spy(monkeypatch)
    options = {} if smooth_px is None else {"smooth_px": smooth_px, "smooth_frames": 1.0}
    block_bytes = 150 * t.size * 4 * (1 if smooth_px is None else 3)
    out = analyse_blocked(lazy, source="v", block_bytes=block_bytes, **options)
    _several_blocks_per_side(seen, (ny, nx), block_bytes, scratch=True)
    ref = _assert_equal(lazy, out, source="v", **options)
    assert np.isfinite(ref["activation_time"].values).sum() == mask.sum()  # the measures ran, off tissue NaN
    assert 4.5 < float(ref["conduction_velocity"]) < 5.5


@pytest.mark.parametrize("scratch", [True, False])
def test_spiral_v_with_tips_equals_analyse(tmp_path, monkeypatch, scratch):
    n = 48
    t = np.arange(0.0, 240.0, 1.0)
    # a figure of eight whose cores sit near block edges: plaquettes across an edge must be found (the camera
    # test, with its smoothing halo, checks that a tip seen by two blocks is kept once)
    v = spiral_wave(n, t, dx_um=DX, period_ms=80.0, cores=((160.0, 240.0, 1), (330.0, 240.0, -1)))
    lazy = _store(as_dataset(v, t, dx_um=DX), tmp_path / "spiral.zarr", tc=50)
    seen = _spy(monkeypatch, scratch=scratch)
    block_bytes = 100 * t.size * 4
    out = analyse_blocked(lazy, source="v", block_bytes=block_bytes)
    _several_blocks_per_side(seen, (n, n), block_bytes, scratch=scratch)
    ref = _assert_equal(lazy, out, source="v")
    frames = np.unique(ref["spiral_tip_time"].values).size
    assert ref["spiral_tip_time"].size == 2 * frames and frames > 100  # two tips in every frame looked at
    assert sorted(set(ref["spiral_tip_charge"].values.tolist())) == [-1, 1]


@pytest.mark.parametrize("scratch", [True, False])
def test_camera_dff_equals_analyse(tmp_path, monkeypatch, scratch):
    n = 40
    t = np.arange(0.0, 300.0, 0.5)
    v = spiral_wave(n, t, dx_um=DX, period_ms=80.0, cores=((200.0, 200.0, 1),))
    ds = observe(as_dataset(v, t, dx_um=DX), dye=Dye(), camera=Camera(frame_rate_hz=500.0, photons_per_pixel=400.0),
                 seed=4).drop_vars("v")
    lazy = _store(ds, tmp_path / "camera.zarr", tc=40)
    seen = _spy(monkeypatch, scratch=scratch)
    block_bytes = 400 * lazy.sizes["frame"] * 4 * 2  # 20² pixels read: 9² inside a 5-pixel halo
    out = analyse_blocked(lazy, source="dff", block_bytes=block_bytes)
    _several_blocks_per_side(seen, (n, n), block_bytes, scratch=scratch)
    ref = _assert_equal(lazy, out, source="dff")
    assert ref["dff_activation_time"].attrs["snr"] > 4.0
    assert ref["dff_spiral_tip_time"].size > 0


def test_a_full_disk_falls_back_to_reading_blocks_from_the_store(tmp_path, monkeypatch):
    t = np.arange(0.0, 60.0, 0.5)
    v = spiral_wave(32, t, dx_um=DX, period_ms=40.0, cores=((160.0, 160.0, 1),))
    lazy = _store(as_dataset(v, t, dx_um=DX), tmp_path / "full.zarr", tc=40)
    seen = _spy(monkeypatch, scratch=True)

    def no_space(fd, arr, offset):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_blockfile, "_pwrite", no_space)
    block_bytes = 80 * t.size * 4
    with pytest.warns(RuntimeWarning, match=r"no room for the analysis scratch file \(.* GiB in .*TMPDIR"):
        out = analyse_blocked(lazy, source="v", block_bytes=block_bytes)
    assert any(times == slice(None) for _, times, _ in seen["store"])  # blocks read from the store after all
    ref = _assert_equal(lazy, out, source="v")
    assert ref["spiral_tip_time"].size > 0


def test_in_memory_dataset_and_the_default_block_size(tmp_path):
    """A dataset that is not dask-backed is cut by the store's tiles and read region by region too."""
    t = np.arange(0.0, 40.0, 0.5)
    ds = as_dataset(travelling_wave(planar_wave_times(24, dx_um=DX, speed_cm_per_s=5.0), t), t, dx_um=DX)
    out = analyse_blocked(ds)
    _assert_equal(ds, out, source="v")


def test_refusals_name_the_option(tmp_path):
    t = np.arange(0.0, 40.0, 0.5)
    ds = as_dataset(travelling_wave(planar_wave_times(16, dx_um=DX, speed_cm_per_s=5.0), t), t, dx_um=DX)
    with pytest.raises(ValueError, match=r"phase = True is not allowed in a blocked analysis"):
        analyse_blocked(ds, phase=True)
    with pytest.raises(ValueError, match=r"block_bytes = 1000 is too small: .* needs at least 1280 bytes"):
        analyse_blocked(ds, block_bytes=1000)  # 2x2 pixels (one and the tips' halo) x 80 frames x 4 bytes
    with pytest.raises(ValueError, match=r"source = 'vm' is not allowed"):
        analyse_blocked(ds, source="vm")
    with pytest.raises(ValueError, match=r"tip_stride = 0 is out of range"):
        analyse_blocked(ds, tip_stride=0)


# ---------------------------------------------------------------- memory: a movie far larger than the limit

_ANALYSE_IN_A_FRESH_PROCESS = """
import json, resource, sys
import numpy as np, xarray as xr
from solver.analysis import analyse_blocked
if len(sys.argv) > 2:   # the kernels first, on a small store: then the peak of the analysis alone is measured
    analyse_blocked(xr.open_zarr(sys.argv[2], consolidated=False), source="v")
try:                    # Linux: reset the resident-set high-water mark (VmHWM) after imports and compiling
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
except OSError:
    pass
out = analyse_blocked(xr.open_zarr(sys.argv[1], consolidated=False), source="v")
try:
    with open("/proc/self/status") as f:
        peak = [int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:")][0]
except (OSError, IndexError):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
print(json.dumps({"peak_bytes": peak, "act": out["activation_time"].values[::97].tolist(),
                  "cv": float(out["conduction_velocity"]), "f": np.nanmedian(out["dominant_frequency"].values),
                  "fraction": float(out["fraction_activated"]), "tips": int(out["spiral_tip_time"].size)}))
"""


@pytest.mark.slow
def test_analysis_of_a_1024_sheet_over_2000_frames_stays_under_three_time_chunks(tmp_path):
    """1024² × 2000 frames of float32 V is 7.8 GiB; one time chunk of the store (100 frames × 1024²) is 400 MiB.
    The analysis, in a fresh interpreter that does nothing else, must peak below 3 × 400 MiB = 1.2 GiB.

    The movie is a plane wave along x paced every 250 ms at 5 cm/s (every row alike, so zstd keeps the store
    to a few MB and it is written in seconds, chunk by chunk through dask)."""
    n, n_t, tc, dx, dt = 1024, 2000, 100, 10.0, 0.5
    t = np.arange(n_t) * dt
    x = (np.arange(n) + 0.5) * dx
    tact = 5.0 + x / 50.0  # 50 µm/ms = 5 cm/s
    row = np.full((n_t, n), -75.0)
    for beat in range(4):
        row = np.maximum(row, action_potential(t[:, None] - tact[None, :] - 250.0 * beat, upstroke_ms=1.0,
                                               apd_ms=40.0))
    lazy = da.broadcast_to(da.from_array(row.astype(np.float32)[:, None, :], chunks=(tc, 1, 256)), (n_t, n, n),
                           chunks=(tc, 256, 256))
    ds = xr.Dataset({"v": (("time", "y", "x"), lazy, {"units": "mV"})}, coords={"time": t, "y": x, "x": x},
                    attrs={"dx_um": dx})
    path = tmp_path / "big.zarr"
    ds.to_zarr(path, zarr_format=3, consolidated=False)
    # The process first analyses a small store (imports, kernels compiled or loaded from numba's cache), then the
    # high-water mark is reset: what is measured is the process's peak while it analyses the large movie, not
    # LLVM compiling the kernels (a few hundred MB more on a fresh checkout).
    small = tmp_path / "small.zarr"
    ds.isel(time=slice(0, 200), y=slice(0, 48), x=slice(0, 300)).chunk({"time": tc, "y": 16, "x": 64}).to_zarr(
        small, zarr_format=3, consolidated=False)
    run = subprocess.run([sys.executable, "-c", _ANALYSE_IN_A_FRESH_PROCESS, str(path), str(small)],
                         capture_output=True, text=True, check=True)
    got = json.loads(run.stdout)
    chunk_bytes = tc * n * n * 4
    assert got["peak_bytes"] < 3 * chunk_bytes, f"peak RSS {got['peak_bytes'] / 2**20:.0f} MiB"
    act = np.asarray(got["act"])  # every 97th row: the analytic activation map, the whole way across
    assert np.max(np.abs(act - tact[None, :])) < 0.05
    assert abs(got["cv"] / 5.0 - 1.0) < 0.01 and abs(got["f"] - 4.0) < 0.01
    assert got["fraction"] == 1.0 and got["tips"] == 0
