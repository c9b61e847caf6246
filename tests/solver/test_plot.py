"""Pictures and movies: the files exist, open, have the promised size and frames, and are not blank."""

from __future__ import annotations

from contextlib import nullcontext

import matplotlib.image as mpimg
import numpy as np
import pytest
from PIL import Image

from solver.analysis.synthetic import as_dataset, point_source_times, travelling_wave
from solver.plot import plot_dataset, write_movie
from solver.readout import Camera, Dye, observe

N, DX = 32, 10.0


@pytest.fixture(scope="module")
def result():
    """A point-source wave with a light spot, a hole in the tissue and a camera movie."""
    t = np.arange(0.0, 40.0, 0.5)
    tact = point_source_times(N, dx_um=DX, speed_cm_per_s=5.0, source_um=(80.0, 90.0))
    v = travelling_wave(tact, t)
    mask = np.ones((N, N), np.uint8)
    mask[20:26, 20:28] = 0
    v[:, mask == 0] = np.nan
    c = (np.arange(N) + 0.5) * DX
    spot = (np.hypot(*np.meshgrid(c - 80.0, c - 90.0)) < 40.0).astype(np.float32)
    irradiance = np.where((t < 5.0)[:, None, None], spot, 0.0).astype(np.float32)
    ds = as_dataset(v, t, dx_um=DX, mask=mask, irradiance=irradiance, seed=1)
    # the record opens with the stimulus: no quiet frames for a baseline, so F0 is the reference at V_ref
    return observe(ds, dye=Dye(), camera=Camera(frame_rate_hz=500.0, photons_per_pixel=5000.0), seed=1,
                   f0="reference")


def _not_blank(rgb: np.ndarray) -> None:
    colours = np.unique((rgb[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 100  # colour maps, traces, text: far more than a blank canvas's handful
    assert rgb[..., :3].std() > 0.1


def test_plot_dataset_writes_a_full_figure(result, tmp_path):
    path = plot_dataset(result, tmp_path / "fig.png", points=[(85.0, 95.0), (250.0, 250.0)])
    img = mpimg.imread(path)
    assert img.shape[0] >= 600 and img.shape[1] >= 1000
    _not_blank(img)


def test_plot_dataset_of_a_camera_movie_only(result, tmp_path):
    path = plot_dataset(result.drop_vars(["v", "irradiance"]), tmp_path / "camera.png", times=[8.0, 12.0])
    img = mpimg.imread(path)
    assert img.shape[0] >= 600
    _not_blank(img)


def test_gif_movie_has_one_frame_per_step(result, tmp_path):
    path = write_movie(result, tmp_path / "movie.gif", fps=10, step=4)
    with Image.open(path) as gif:
        assert gif.n_frames == len(range(0, result.sizes["time"], 4))
        assert gif.size[0] >= 200


def test_mp4_request_writes_mp4_or_falls_back_to_gif(result, tmp_path):
    expect = nullcontext() if _have_ffmpeg() else pytest.warns(UserWarning, match="ffmpeg plugin is not installed")
    with expect:
        path = write_movie(result, tmp_path / "movie.mp4", variable="dff", step=5)
    frames = len(range(0, result.sizes["frame"], 5))
    if path.suffix == ".gif":
        with Image.open(path) as gif:
            assert gif.n_frames == frames
    else:
        import imageio.v3 as iio

        assert len(list(iio.imiter(path))) == frames


def test_movie_rejects_an_unknown_suffix(result, tmp_path):
    with pytest.raises(ValueError, match=r"allowed suffixes \.mp4 and \.gif"):
        write_movie(result, tmp_path / "movie.avi")


def _have_ffmpeg() -> bool:
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True
