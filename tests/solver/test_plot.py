"""Pictures and movies: the files exist, open, have the promised size and frames, are not blank, and are drawn
with the origin at the top-left and y downwards, as light patterns are given."""

from __future__ import annotations


import matplotlib
import matplotlib.image as mpimg
import numpy as np
from scipy.spatial import cKDTree
import pytest
from PIL import Image

from solver.pictures import plot
from solver.analysis.synthetic import as_dataset, planar_wave_times, point_source_times, travelling_wave
from solver.pictures.plot import plot_dataset, write_movie
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


def test_plot_dataset_writes_a_full_figure(result, tmp_path, monkeypatch):
    """The traces drawn are V at the pixels holding the circled points (x = 85 µm: column 8 of 10 µm pixels
    centred at 5, 15, ...; y = 95 µm: row 9), and the light-on band covers the 0-5 ms flash."""
    made = _kept_figures(monkeypatch)
    path = plot_dataset(result, tmp_path / "fig.png", points=[(85.0, 95.0), (250.0, 250.0)])
    img = mpimg.imread(path)
    assert img.shape[0] >= 600 and img.shape[1] >= 1000
    _not_blank(img)
    traces = next(ax for fig in made for ax in fig.axes if ax.get_title() == "traces at the circled points")
    solid = [line for line in traces.get_lines() if line.get_linestyle() == "-"]
    assert [line.get_label() for line in solid] == ["(85, 95) µm", "(250, 250) µm"]
    for line, (row, col) in zip(solid, [(9, 8), (24, 24)]):
        np.testing.assert_array_equal(line.get_xdata(), result["time"].values)
        np.testing.assert_array_equal(line.get_ydata(), result["v"].values[:, row, col])
    band = traces.collections[0].get_paths()[0].vertices[:, 0]
    assert band.min() == 0.0 and band.max() == pytest.approx(4.5)   # the last sample with the light on


def test_plot_dataset_of_a_camera_movie_only(result, tmp_path):
    path = plot_dataset(result.drop_vars(["v", "irradiance"]), tmp_path / "camera.png", times=[8.0, 12.0])
    img = mpimg.imread(path)
    assert img.shape[0] >= 600
    _not_blank(img)


def _kept_figures(monkeypatch) -> list:
    """The figures :mod:`solver.pictures.plot` makes, kept to find where each axes landed in the PNG."""
    made = []

    class Kept(plot.Figure):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(plot, "Figure", Kept)
    return made


def _inside(img: np.ndarray, fig, ax, dpi: int) -> np.ndarray:
    """The PNG's pixels inside ``ax`` (3 pixels in from its frame); row 0 is the top of the picture."""
    box = ax.get_window_extent()
    s, h = dpi / fig.dpi, img.shape[0]
    return img[int(h - box.y1 * s) + 3:int(h - box.y0 * s) - 3, int(box.x0 * s) + 3:int(box.x1 * s) - 3]


def _rows_cols(where: np.ndarray) -> tuple[float, float]:
    """Mean row and column of the True pixels as fractions of the area (0 = top/left, 1 = bottom/right)."""
    r, c = np.nonzero(where)
    return r.mean() / where.shape[0], c.mean() / where.shape[1]


def _wave_from_the_top() -> object:
    """A planar wave entering at y = 0 and moving along +y (its front at y = 160 µm at 10 ms), and a light spot
    around (x, y) = (60, 60) µm for the first 3 ms."""
    t = np.arange(0.0, 30.0, 0.5)
    tact = planar_wave_times(N, dx_um=DX, speed_cm_per_s=2.0, angle_rad=np.pi / 2, t0_ms=2.0)
    c = (np.arange(N) + 0.5) * DX
    spot = (np.hypot(*np.meshgrid(c - 60.0, c - 60.0)) < 40.0).astype(np.float32)
    irradiance = np.where((t < 3.0)[:, None, None], spot, 0.0).astype(np.float32)
    return as_dataset(travelling_wave(tact, t, apd_ms=40.0), t, dx_um=DX, irradiance=irradiance)


def _upper_bright_lower_dark(area: np.ndarray) -> tuple[float, float]:
    """Fractions of inferno's bright end in the top 40 % of ``area`` and of its dark end in the bottom 40 %."""
    bright = (area[..., 0] > 200) & (area[..., 2] < 200)
    dark = area.sum(axis=-1) < 120
    return bright[: area.shape[0] * 2 // 5].mean(), dark[area.shape[0] * 3 // 5:].mean()


def test_maps_draw_small_y_at_the_top_and_the_scale_bar_at_the_bottom_left(monkeypatch, tmp_path):
    """In the snapshots and the activation map y points down; the scale bar stays at the bottom-left."""
    ds = _wave_from_the_top()
    made = _kept_figures(monkeypatch)
    path = plot_dataset(ds, tmp_path / "fig.png", times=[1.0, 10.0], points=[(160.0, 160.0)], dpi=110)
    (fig,) = made
    img = np.asarray(Image.open(path).convert("RGB"), dtype=float)
    spot_time, wave_time, activation = (_inside(img, fig, ax, 110) for ax in fig.axes[:3])
    assert "activation time" in fig.axes[2].get_title()

    # at 10 ms the front is at y = 160 µm: the upper half of the picture is depolarised (inferno's bright end)
    upper, lower = _upper_bright_lower_dark(wave_time)
    assert upper > 0.9 and lower > 0.9, (upper, lower)
    # the light spot's contour (deepskyblue) around (60, 60) µm: the top-left of the picture
    sky = (spot_time[..., 0] < 80) & (spot_time[..., 1] > 150) & (spot_time[..., 2] > 220)
    row, col = _rows_cols(sky)
    assert sky.sum() > 20 and row == pytest.approx(60 / 320, abs=0.05) and col == pytest.approx(60 / 320, abs=0.05)
    # the activation map, read back through viridis: early at the top, late at the bottom, rising row by row
    lut = matplotlib.colormaps["viridis"](np.linspace(0.0, 1.0, 256))[:, :3] * 255
    dist, nearest = cKDTree(lut).query(activation.reshape(-1, 3))
    dist, nearest = dist.reshape(activation.shape[:2]), nearest.reshape(activation.shape[:2])
    level = np.where(dist < 12, nearest / 255, np.nan)   # NaN: isochrones, labels
    by_row = np.nanmedian(level, axis=1)
    assert by_row[:3].max() < 0.1 and by_row[-3:].min() > 0.9
    assert np.corrcoef(np.arange(by_row.size), by_row)[0, 1] > 0.99
    # the scale bar (white, not inferno's yellow) sits at the bottom-left as drawn
    for area in (spot_time, wave_time):
        row, col = _rows_cols(area.min(axis=-1) > 245)
        assert row > 0.75 and col < 0.35, (row, col)


def test_movie_draws_small_y_at_the_top(monkeypatch, tmp_path):
    made = _kept_figures(monkeypatch)
    path = write_movie(_wave_from_the_top(), tmp_path / "movie.gif", step=20, dpi=80)    # frames at 0, 10, 20 ms
    (fig,) = made
    with Image.open(path) as gif:
        gif.seek(1)
        frame = np.asarray(gif.convert("RGB"), dtype=float)
    upper, lower = _upper_bright_lower_dark(_inside(frame, fig, fig.axes[0], int(fig.dpi)))
    assert upper > 0.9 and lower > 0.9, (upper, lower)


def test_gif_movie_has_one_frame_per_step(result, tmp_path):
    path = write_movie(result, tmp_path / "movie.gif", fps=10, step=4)
    with Image.open(path) as gif:
        assert gif.n_frames == len(range(0, result.sizes["time"], 4))
        assert gif.size[0] >= 200


def test_mp4_request_writes_mp4_or_is_refused(result, tmp_path):
    """An .mp4 path gets an MP4 or a clear refusal, never a GIF under another name."""
    target = tmp_path / "movie.mp4"
    if not _have_ffmpeg():
        with pytest.raises(ValueError, match=r"movie\.mp4': writing MP4 needs imageio's ffmpeg plugin"):
            write_movie(result, target, variable="dff", step=5)
        assert list(tmp_path.iterdir()) == []
        return
    path = write_movie(result, target, variable="dff", step=5)
    import imageio.v3 as iio

    assert path == target and len(list(iio.imiter(path))) == len(range(0, result.sizes["frame"], 5))


def test_movie_rejects_an_unknown_suffix(result, tmp_path):
    with pytest.raises(ValueError, match=r"allowed suffixes \.mp4 and \.gif"):
        write_movie(result, tmp_path / "movie.avi")


def _have_ffmpeg() -> bool:
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True
