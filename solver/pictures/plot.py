"""Figures and movies of a result: what a lab person looks at first.

:func:`plot_dataset` draws one PNG: snapshots of V (or dF/F) with a µm scale bar, time stamps and the light
pattern as a contour, the activation map with isochrones, and traces at chosen points. :func:`write_movie`
writes the movie of one variable, as MP4 through imageio's ffmpeg plugin when it is installed, else as GIF
(Pillow, which matplotlib already needs). Everything renders with the Agg backend, without a display.

Maps are drawn as light patterns and camera frames are given: origin at the top-left, x to the right, y downwards
(row 0, the smallest y, at the top).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from ._axes import aspect as _aspect  # noqa: E402
from ._axes import extent as _extent  # noqa: E402
from ._axes import nice as _nice  # noqa: E402
from ._axes import scale_bar as _scale_bar  # noqa: E402

__all__ = ["plot_dataset", "write_movie"]

_AXES = {"v": ("time", "y", "x", "time"), "dff": ("frame", "cam_y", "cam_x", "frame_time")}
_LABEL = {"v": "V", "dff": "ΔF/F"}


def _layout(ds: xr.Dataset, variable: str) -> tuple[xr.DataArray, np.ndarray, np.ndarray, np.ndarray]:
    if variable not in _AXES or variable not in ds:
        raise ValueError(f"variable = {variable!r} is not plottable here: allowed "
                         f"{[v for v in _AXES if v in ds]} (present in the dataset)")
    tdim, ydim, xdim, tname = _AXES[variable]
    da = ds[variable].transpose(tdim, ydim, xdim)
    return da, np.asarray(ds[tname].values, float), np.asarray(ds[ydim].values, float), np.asarray(
        ds[xdim].values, float)


def _light_contour(ax, ds: xr.Dataset, t_ms: float) -> None:
    """Light pattern at ``t_ms`` (solid, half-maximum contour), else its footprint over the run (dashed)."""
    if "irradiance" not in ds:
        return
    irr = ds["irradiance"].transpose("time", "y", "x")
    frame = np.asarray(irr.sel(time=t_ms, method="nearest").values, float)
    style = "solid"
    if not np.nanmax(frame) > 0:
        frame = np.asarray(irr.max("time").values, float)
        style = "dashed"
    if np.nanmax(frame) > 0:
        ax.contour(ds["x"].values, ds["y"].values, frame, levels=[0.5 * np.nanmax(frame)], colors="deepskyblue",
                   linewidths=1.2, linestyles=style)


def _color_limits(da: xr.DataArray) -> tuple[float, float]:
    sample = np.asarray(da[:: max(1, da.shape[0] // 50)].values, float)
    lo, hi = np.nanpercentile(sample, [0.5, 99.5]) if np.isfinite(sample).any() else (0.0, 1.0)
    return (float(lo), float(hi)) if hi > lo else (float(lo) - 1.0, float(lo) + 1.0)


def _activation(ds: xr.Dataset, variable: str) -> xr.DataArray | None:
    name = "activation_time" if variable == "v" else "dff_activation_time"
    if name not in ds:
        from ..analysis import analyse  # analysis is optional for a picture: import only when needed
        try:
            ds = analyse(ds, source=variable, tips=False, frequency=False)
        except ValueError as err:
            warnings.warn(f"no activation map: {err}", stacklevel=3)
            return None
    act = ds[name]
    return act if np.isfinite(act.values).sum() >= 4 else None


def _default_times(act, t) -> list[float]:
    """Snapshots that tell the story: the first activation's spread, or the whole run when
    activity goes on long after the tissue first fired (re-entry, pacing)."""
    if act is None or not np.nanmax(act.values) > np.nanmin(act.values):
        return list(np.linspace(t[0], t[-1], 6)[1:-1])
    q = np.nanquantile(act.values, [0.05, 0.35, 0.65, 0.95])
    if q[-1] >= 0.6 * t[-1]:
        return list(q)
    return list(np.linspace(q[0], t[-1], 4))


def plot_dataset(ds: xr.Dataset, path: str | Path, *, times: list[float] | None = None,
                 points: list[tuple[float, float]] | None = None, variable: str | None = None,
                 dpi: int = 110) -> Path:
    """Write a PNG summary of a result: snapshots, light pattern, activation map, traces.

    Parameters
    ----------
    ds : xarray.Dataset
        A result dataset (``v`` and/or ``dff``; ``irradiance`` and ``activation_time`` are used when present).
    path : str or Path
        Where to write the PNG.
    times : list of float, optional
        Snapshot times (ms); default: when 5, 35, 65 and 95 % of the tissue has activated, else evenly spaced.
    points : list of (x_um, y_um), optional
        Where to draw traces; default: the earliest, a middle and the latest activated pixel.
    variable : {"v", "dff"}, optional
        What the snapshots show; default ``v`` when present.
    dpi : int
        Resolution.

    Returns
    -------
    Path
        The file written.
    """
    variable = variable or ("v" if "v" in ds else "dff")
    da, t, y, x = _layout(ds, variable)
    act = _activation(ds, variable)
    if times is None:
        times = _default_times(act, t)
    if points is None:
        points = _default_points(act, y, x)
    extent = _extent(y, x)
    vmin, vmax = _color_limits(da)
    unit = da.attrs.get("units", "")

    n = len(times)
    aspect = _aspect(extent)
    cmap = plt.get_cmap("inferno").with_extremes(bad="0.55")
    if aspect > 2.5:  # a strip: snapshots stacked, then the activation map, then the traces
        row = 10.0 / aspect + 0.45
        fig = Figure(figsize=(12.0, n * row + row + 0.6 + 3.6), layout="constrained")
        top, middle, bottom = fig.subfigures(3, 1, height_ratios=[n * row, row + 0.6, 3.6])
        axes = top.subplots(n, 1, squeeze=False)[:, 0]
        ax_act, ax_tr = middle.subplots(), bottom.subplots()
    else:
        fig = Figure(figsize=(max(3.2 * n + 1.2, 11.0), 7.4), layout="constrained")
        top, middle = fig.subfigures(2, 1, height_ratios=[1.0, 1.1])
        axes = top.subplots(1, n, squeeze=False)[0]
        ax_act, ax_tr = middle.subplots(1, 2, width_ratios=[1.0, 1.5])
    for ax, tm in zip(axes, times):
        k = int(np.argmin(np.abs(t - tm)))
        im = ax.imshow(np.asarray(da[k].values, float), origin="upper", extent=extent, cmap=cmap, vmin=vmin,
                       vmax=vmax, interpolation="nearest")
        if variable == "v":
            _light_contour(ax, ds, t[k])
        _scale_bar(ax, extent)
        for j, (px, py) in enumerate(points):
            ax.plot(px, py, "o", mfc="none", mec=f"C{j}", ms=7, mew=1.5)
        ax.set_title(f"t = {t[k]:.1f} ms", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    top.colorbar(im, ax=axes, shrink=0.85, label=f"{_LABEL[variable]} ({unit})")
    if variable == "v" and "irradiance" in ds:
        top.supxlabel("light (blue contour): solid = on at that time, dashed = where it shone during the run",
                      fontsize=8, color="0.3")

    if act is not None:
        _plot_activation(middle, ax_act, act, ds, variable)
    else:
        ax_act.text(0.5, 0.5, "no activation", ha="center", va="center", transform=ax_act.transAxes)
        ax_act.set_axis_off()
    _plot_traces(ax_tr, ds, points)
    fig.suptitle(_title(ds), fontsize=11)
    path = Path(path)
    fig.savefig(path, dpi=dpi)
    return path


def _title(ds: xr.Dataset) -> str:
    parts = [str(ds.attrs.get("model", "optowave result"))]
    if "dx_um" in ds.attrs:
        parts.append(f"dx = {float(ds.attrs['dx_um']):g} µm")
    for name in ("conduction_velocity", "dff_conduction_velocity"):
        if name in ds and np.isfinite(ds[name].values):
            parts.append(f"{'camera ' if name.startswith('dff') else ''}CV = {float(ds[name]):.1f} cm/s")
    if "seed" in ds.attrs:
        parts.append(f"seed {ds.attrs['seed']}")
    return ",  ".join(parts)


def _default_points(act: xr.DataArray | None, y: np.ndarray, x: np.ndarray) -> list[tuple[float, float]]:
    if act is None:
        return [(float(x[len(x) // 2]), float(y[len(y) // 2]))]
    a = np.asarray(act.values, float)
    ay, ax_ = np.asarray(act[act.dims[0]].values, float), np.asarray(act[act.dims[1]].values, float)
    good = np.flatnonzero(np.isfinite(a).ravel())
    order = good[np.argsort(a.ravel()[good])]
    picks = order[[int(q * (order.size - 1)) for q in (0.02, 0.5, 0.98)]]
    return [(float(ax_[p % a.shape[1]]), float(ay[p // a.shape[1]])) for p in picks]


def _plot_activation(fig, ax, act: xr.DataArray, ds: xr.Dataset, variable: str) -> None:
    a = np.asarray(act.values, float)
    ay, axc = np.asarray(act[act.dims[0]].values, float), np.asarray(act[act.dims[1]].values, float)
    cmap = plt.get_cmap("viridis").with_extremes(bad="0.85")
    im = ax.imshow(a, origin="upper", extent=_extent(ay, axc), cmap=cmap, interpolation="nearest")
    lo, hi = np.nanmin(a), np.nanmax(a)
    step = 0.0
    if hi > lo:
        step = _nice((hi - lo) / 8)
        levels = np.arange(math.ceil(lo / step) * step, hi, step)
        if levels.size:
            cs = ax.contour(axc, ay, a, levels=levels, colors="white", linewidths=0.8)
            ax.clabel(cs, fmt="%g", fontsize=7)
    _scale_bar(ax, _extent(ay, axc))
    ax.set_xticks([])
    ax.set_yticks([])
    what = "camera" if variable == "dff" else "V"
    ax.set_title(f"activation time from {what} (isochrones every {step:g} ms)", fontsize=10)
    fig.colorbar(im, ax=ax, shrink=0.9, label="activation time (ms)")


def _plot_traces(ax, ds: xr.Dataset, points: list[tuple[float, float]]) -> None:
    twin = None
    for j, (px, py) in enumerate(points):
        label = f"({px:.0f}, {py:.0f}) µm"
        if "v" in ds:
            v = ds["v"].sel(x=px, y=py, method="nearest")
            ax.plot(ds["time"].values, v.values, color=f"C{j}", lw=1.2, label=label)
        if "dff" in ds:
            twin = twin or (ax.twinx() if "v" in ds else ax)
            f = ds["dff"].sel(cam_x=px, cam_y=py, method="nearest")
            twin.plot(ds["frame_time"].values, f.values, color=f"C{j}", lw=0.8, ls="--" if "v" in ds else "-",
                      alpha=0.8, label=None if "v" in ds else label)
    ax.set_xlabel("time (ms)")
    if "v" in ds:
        ax.set_ylabel(f"V ({ds['v'].attrs.get('units', '')}), solid")
    if twin is not None:
        twin.set_ylabel("ΔF/F, dashed" if twin is not ax else "ΔF/F")
    if "irradiance" in ds:
        on = (ds["irradiance"] > 0).any(dim=("y", "x")).values
        tt = ds["time"].values
        ax.fill_between(tt, 0, 1, where=on, transform=ax.get_xaxis_transform(), color="deepskyblue", alpha=0.15,
                        lw=0, label="light on")
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title("traces at the circled points", fontsize=10)


def write_movie(ds: xr.Dataset, path: str | Path, *, variable: str = "v", fps: float = 20.0, step: int = 1,
                dpi: int = 80) -> Path:
    """Write a movie of ``variable`` (one frame per ``step`` samples) in the format its suffix names; returns the path.

    MP4 needs imageio with its ffmpeg plugin (``imageio-ffmpeg``); without it an ``.mp4`` path is refused
    (:func:`check_movie_path`) rather than written in another format. GIF timing has 10 ms resolution.
    """
    path = check_movie_path(path)
    da, t, y, x = _layout(ds, variable)
    if step < 1:
        raise ValueError(f"step = {step!r} is out of range: allowed step >= 1")
    if not fps > 0:
        raise ValueError(f"fps = {fps!r} is out of range: allowed fps > 0")
    frames = list(_render(ds, da, t, y, x, variable, step, dpi))
    if path.suffix.lower() == ".mp4":
        import imageio.v2 as imageio

        imageio.mimwrite(path, frames, fps=fps, macro_block_size=1)
    else:
        from PIL import Image

        images = [Image.fromarray(f).convert("P", palette=Image.Palette.ADAPTIVE) for f in frames]
        images[0].save(path, save_all=True, append_images=images[1:], duration=max(10, int(1000 / fps)),
                       loop=0, optimize=False, disposal=1)
    return path


def check_movie_path(path: str | Path) -> Path:
    """The movie path, if this machine can write what its suffix says; otherwise ``ValueError`` saying why."""
    path = Path(path)
    if path.suffix.lower() not in (".mp4", ".gif"):
        raise ValueError(f"movie path {str(path)!r}: allowed suffixes .mp4 and .gif")
    if path.suffix.lower() == ".mp4" and not _have_ffmpeg():
        raise ValueError(f"movie path {str(path)!r}: writing MP4 needs imageio's ffmpeg plugin (pip install "
                         "imageio-ffmpeg), which is not installed here; give a .gif path instead")
    return path


def _have_ffmpeg() -> bool:
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True


def _render(ds, da, t, y, x, variable, step, dpi):
    extent = _extent(y, x)
    vmin, vmax = _color_limits(da)
    aspect = _aspect(extent)
    width = 3.6 * min(max(aspect, 1.0), 2.5)  # a strip gets a wide frame, a square a square one
    fig = Figure(figsize=(width + 1.0, width / aspect + 0.5), layout="constrained")
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    cmap = plt.get_cmap("inferno").with_extremes(bad="0.55")
    im = ax.imshow(np.asarray(da[0].values, float), origin="upper", extent=extent, cmap=cmap, vmin=vmin,
                   vmax=vmax, interpolation="nearest")
    fig.colorbar(im, ax=ax, shrink=0.85, label=f"{_LABEL[variable]} ({da.attrs.get('units', '')})")
    _scale_bar(ax, extent)
    ax.set_xticks([])
    ax.set_yticks([])
    stamp = ax.text(0.03, 0.95, "", transform=ax.transAxes, color="white", fontsize=10, va="top")
    for k in range(0, t.size, step):
        im.set_data(np.asarray(da[k].values, float))
        stamp.set_text(f"t = {t[k]:.1f} ms")
        for c in list(ax.collections):
            c.remove()
        if variable == "v":
            _light_contour(ax, ds, t[k])
        fig.set_dpi(dpi)
        canvas.draw()
        yield np.asarray(canvas.buffer_rgba())[..., :3].copy()
