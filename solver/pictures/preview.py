"""The light program of a job spec, before anything runs: where each stimulus falls and when it is on.

:func:`light_program` returns it as an ``xarray.Dataset``: the per-stimulus irradiance maps the solver uses, the
time course of each stimulus and the light energy it delivers. :func:`preview` draws it: the stimuli over the
tissue mask, and their irradiance against time. The map is drawn as patterns are given: origin at the top-left,
x to the right, y downwards.
"""
from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from numpy.typing import ArrayLike

from ._axes import extent as _extent
from ._axes import scale_bar as _scale_bar
from ..engine.problem import Problem, build
from ..engine.result import coords
from ..spec import _types as t
from ..spec import load_spec
from ..stimulus.waveforms import evaluate

__all__ = ["light_program", "preview"]

#: Uniform samples of the default time axis at most (pulse edges come on top).
MAX_SAMPLES = 20_000
#: Pulse edges placed on the default time axis at most; past it the axis is uniform only.
MAX_EDGES = 1_000_000
#: Relative gap between the light a waveform asks for and what the solver's time steps deliver that draws a warning.
DELIVERY_TOLERANCE = 0.01
_STEPS_PER_BLOCK = 2**20
_MM2_PER_UM2 = 1e-6
_MJ_PER_UJ = 1e-3
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")
#: Sheets longer than this many times their width are drawn stretched (not to scale).
MAX_DRAWN_ASPECT = 12.0


def light_program(spec, *, t_ms: ArrayLike | None = None) -> xr.Dataset:
    """The light (and current) program of a spec, without running the model.

    Parameters
    ----------
    spec
        Anything :func:`solver.load_spec` accepts (path, text, dict, spec object), or a
        :class:`~solver.engine.problem.Problem` from :func:`solver.build`.
    t_ms : array of float, optional
        Times (ms) at which to evaluate the time courses. Default: 0 to the run's duration, at a step of
        ``min(dt, shortest pulse / 4)`` (at most :data:`MAX_SAMPLES` samples) plus every pulse edge; on that
        axis a piecewise-constant waveform is given as the value it holds from each time to the next, so a step
        plot of it is exact.

    Returns
    -------
    xarray.Dataset
        ``mask`` (y, x); ``weight`` (stimulus, y, x): pattern coverage × irradiance in mW/mm², exactly the
        solver's; ``factor`` (stimulus, time): the waveform factor; ``time_course`` = factor × irradiance
        (mW/mm²), so the irradiance at any time is ``(weight * factor).sum("stimulus")`` plus the
        ``background_irradiance_mw_per_mm2`` attribute; per stimulus ``irradiance_mw_per_mm2``,
        ``on_time_ms`` and ``light_energy_mj`` (∫∫ irradiance dA dt over the run and the whole grid, exact),
        ``delivered_light_energy_mj`` (the same with the solver's time steps, each holding the factor at its
        midpoint); current stimuli as ``current_weight``, ``current_factor``, ``current_time_course`` (A/F) and
        ``current_on_time_ms`` along ``current_stimulus``; ``opsin_conductance`` (nS/pF) when there is an
        opsin. Coordinates in µm and ms; the ``warnings`` attribute lists light that the solver's time steps miss
        and a default time axis too coarse to show a waveform.
    """
    problem = _problem(spec)
    if t_ms is None:
        times, notes = _default_times(problem, _duration(problem))
        return _program(problem, times, held=True, notes=notes)
    times = np.atleast_1d(np.asarray(t_ms, dtype=np.float64))
    return _program(problem, times, held=False, notes=[])


def _problem(spec) -> Problem:
    return spec if isinstance(spec, Problem) else build(load_spec(spec))


def _duration(problem: Problem) -> float:
    return problem.n_steps * problem.dt_ms


def _names(stimuli, kind: str) -> list[str]:
    return [s.name or f"{kind}[{k}]" for k, s in enumerate(stimuli)]


def _program(problem: Problem, times: np.ndarray, *, held: bool, notes: list[str]) -> xr.Dataset:
    spec, duration = problem.spec, _duration(problem)
    area_mm2 = problem.dx_um**2 * _MM2_PER_UM2
    light_names, current_names = _names(spec.light, "light"), _names(spec.current, "current")
    factor = _factors(problem.light_waveforms, times, held)
    cfactor = _factors(problem.current_waveforms, times, held)
    irr = np.array([s.irradiance_mw_per_mm2 for s in spec.light], dtype=np.float64)
    amp = np.array([s.amplitude_a_per_f for s in spec.current], dtype=np.float64)
    integrals = [_integral(w, duration) for w in problem.light_waveforms]
    power_mw = problem.light_weights.sum(axis=(1, 2)) * area_mm2
    energy = np.array([i for i, _ in integrals]) * power_mw * _MJ_PER_UJ if integrals else np.zeros(0)
    delivered = _stepped_factor_integrals(problem) * power_mw * _MJ_PER_UJ
    for k, (asked, got) in enumerate(zip(energy, delivered)):
        if asked > 0 and abs(got - asked) > DELIVERY_TOLERANCE * asked:
            named = f" ({spec.light[k].name})" if spec.light[k].name else ""
            notes.append(f"light[{k}]{named}: the solver's steps of {problem.dt_ms:g} ms deliver "
                         f"{got:.3g} mJ of the {asked:.3g} mJ its waveform asks for; put the pulse edges on "
                         f"multiples of dt_ms and make pulses at least one step long")

    c = coords(problem, np.zeros(0, dtype=np.int64))
    time = xr.DataArray(times, dims="time", attrs={"units": "ms", "long_name": "time"})
    data = {
        "mask": (("y", "x"), problem.active.astype(np.uint8), {"units": "1", "long_name": "tissue mask (1 = cells)"}),
        "weight": (("stimulus", "y", "x"), problem.light_weights,
                   {"units": "mW/mm2", "long_name": "irradiance at waveform factor 1 (coverage × irradiance)"}),
        "factor": (("stimulus", "time"), factor, {"units": "1", "long_name": "waveform factor"}),
        "time_course": (("stimulus", "time"), factor * irr[:, None],
                        {"units": "mW/mm2", "long_name": "irradiance where the pattern covers a whole cell"}),
        "irradiance_mw_per_mm2": (("stimulus",), irr, {"units": "mW/mm2", "long_name": "irradiance setting"}),
        "on_time_ms": (("stimulus",), np.array([o for _, o in integrals], dtype=np.float64),
                       {"units": "ms", "long_name": "time the light is on during the run"}),
        "light_energy_mj": (("stimulus",), energy,
                            {"units": "mJ", "long_name": "light energy onto the grid over the run"}),
        "delivered_light_energy_mj": (("stimulus",), delivered,
                                      {"units": "mJ", "long_name": "light energy as the time steps deliver it"}),
        "current_weight": (("current_stimulus", "y", "x"), problem.current_weights,
                           {"units": "A/F", "long_name": "current density at waveform factor 1"}),
        "current_factor": (("current_stimulus", "time"), cfactor, {"units": "1", "long_name": "waveform factor"}),
        "current_time_course": (("current_stimulus", "time"), cfactor * amp[:, None],
                                {"units": "A/F", "long_name": "current density where the pattern covers a whole cell"}),
        "current_on_time_ms": (("current_stimulus",),
                               np.array([_integral(w, duration)[1] for w in problem.current_waveforms], np.float64),
                               {"units": "ms", "long_name": "time the current is on during the run"}),
    }
    if problem.has_opsin:
        data["opsin_conductance"] = (("y", "x"), problem.gop, {
            "units": "nS/pF", "long_name": f"{problem.opsin_name} conductance (g × density × region × mask)"})
    return xr.Dataset(
        {k: xr.DataArray(v, dims=d, attrs=a) for k, (d, v, a) in data.items()},
        coords={"time": time, "y": c["y"], "x": c["x"],
                "stimulus": ("stimulus", np.array(light_names, dtype=str)),
                "current_stimulus": ("current_stimulus", np.array(current_names, dtype=str))},
        attrs={"title": spec.name or "optowave light program", "spec": spec.json, "dx_um": float(problem.dx_um),
               "dt_ms": float(problem.dt_ms), "duration_ms": float(duration),
               "background_irradiance_mw_per_mm2": float(problem.background_irradiance),
               "warnings": "\n".join(notes)},
    )


# ---------------------------------------------------------------- time


def _held(w: t.Waveform) -> bool:
    """Piecewise constant in time (a step plot of it is exact)."""
    return isinstance(w, (t.Constant, t.Pulse, t.PulseTrain)) or (
        isinstance(w, t.Sampled) and w.interpolation != "linear")


def _factors(waveforms, times: np.ndarray, held: bool) -> np.ndarray:
    if not waveforms:
        return np.zeros((0, times.size))
    if held and times.size > 1:
        mid = 0.5 * (times[:-1] + times[1:])
        mid = np.append(mid, mid[-1])   # the last time ends the run: it keeps the value held up to it
        return np.stack([evaluate(w, mid if _held(w) else times) for w in waveforms])
    return np.stack([evaluate(w, times) for w in waveforms])


def _resolution(w: t.Waveform) -> float:
    """The time step (ms) that draws this waveform's shortest feature."""
    if isinstance(w, t.Pulse):
        return w.width_ms / 4
    if isinstance(w, t.PulseTrain):
        off = w.period_ms - w.width_ms
        return min(w.width_ms, off if off > 0 else w.width_ms) / 4
    if isinstance(w, t.Sampled) and len(w.times_ms) > 1:
        return float(np.min(np.diff(w.times_ms))) / 4
    if isinstance(w, t.Sine):
        return 1000.0 / w.frequency_hz / 20
    return math.inf


def _train_count(w: t.PulseTrain, t_end: float) -> int:
    """Pulses of a train that start before ``t_end``."""
    if t_end <= w.start_ms:
        return 0
    k = math.ceil((t_end - w.start_ms) / w.period_ms)
    while k > 0 and w.start_ms + (k - 1) * w.period_ms >= t_end:
        k -= 1
    while w.start_ms + k * w.period_ms < t_end:
        k += 1
    return min(k, w.count) if w.count else k


def _edges(w: t.Waveform, t_end: float) -> np.ndarray:
    if isinstance(w, t.Pulse):
        e = np.array([w.start_ms, w.start_ms + w.width_ms])
    elif isinstance(w, t.PulseTrain):
        starts = w.start_ms + np.arange(_train_count(w, t_end)) * w.period_ms
        e = np.concatenate([starts, starts + w.width_ms])
    elif isinstance(w, t.Sampled):
        e = np.asarray(w.times_ms, dtype=np.float64)
    elif isinstance(w, t.Ramp):
        e = np.array([w.start_ms, w.end_ms])
    elif isinstance(w, t.Sine):
        e = np.array([w.start_ms] + ([w.start_ms + w.duration_ms] if w.duration_ms > 0 else []))
    else:
        e = np.zeros(0)
    return e[(e >= 0) & (e <= t_end)]


def _edge_count(w: t.Waveform, t_end: float) -> int:
    if isinstance(w, t.PulseTrain):
        return 2 * _train_count(w, t_end)
    return len(w.times_ms) if isinstance(w, t.Sampled) else 2


def _default_times(problem: Problem, t_end: float) -> tuple[np.ndarray, list[str]]:
    waves = problem.light_waveforms + problem.current_waveforms
    step = min([problem.dt_ms] + [_resolution(w) for w in waves])
    n = max(2, min(MAX_SAMPLES, math.ceil(t_end / step) + 1))
    n_edges = sum(_edge_count(w, t_end) for w in waves)
    parts, notes = [np.linspace(0.0, t_end, n)], []
    if n_edges <= MAX_EDGES:
        parts += [_edges(w, t_end) for w in waves]
    else:
        notes.append(f"{n_edges} pulse edges before {t_end:g} ms: the time axis is sampled every "
                     f"{t_end / (n - 1):.3g} ms, not at every edge; preview a shorter window")
    if t_end / (n - 1) > min([_resolution(w) for w in waves if not _held(w)], default=math.inf):
        notes.append(f"the time axis is sampled every {t_end / (n - 1):.3g} ms, too coarse for a sine: it may "
                     "show a false slow oscillation; preview a shorter window")
    return np.unique(np.concatenate(parts)), notes


def _integral(w: t.Waveform, t_end: float) -> tuple[float, float]:
    """Exact ∫ f dt over [0, t_end] (ms) and the time f is not 0 (ms)."""
    if isinstance(w, t.Constant):
        return t_end, t_end
    if isinstance(w, t.Pulse):
        on = max(0.0, min(w.start_ms + w.width_ms, t_end) - min(w.start_ms, t_end))
        return on, on
    if isinstance(w, t.PulseTrain):
        k = _train_count(w, t_end)
        if k == 0:
            return 0.0, 0.0
        last = t_end - w.start_ms - (k - 1) * w.period_ms
        on = (k - 1) * w.width_ms + min(max(last, 0.0), w.width_ms)
        return on, on
    if isinstance(w, t.Ramp):
        if t_end <= w.start_ms:
            return 0.0, 0.0
        u = min(t_end, w.end_ms) - w.start_ms
        return u * u / (2 * (w.end_ms - w.start_ms)) + max(0.0, t_end - w.end_ms), t_end - w.start_ms
    if isinstance(w, t.Sine):
        a = w.start_ms
        b = t_end if w.duration_ms <= 0 else min(t_end, w.start_ms + w.duration_ms)
        if b <= a:
            return 0.0, 0.0
        omega, phi = 2 * np.pi * w.frequency_hz / 1000.0, np.deg2rad(w.phase_deg)
        value = w.offset * (b - a) + w.amplitude * (np.cos(phi) - np.cos(omega * (b - a) + phi)) / omega
        return float(value), (b - a) if (w.offset or w.amplitude) else 0.0
    if isinstance(w, t.Sampled):
        ts, vs = np.asarray(w.times_ms, float), np.asarray(w.values, float)
        if w.interpolation == "linear":
            a = max(0.0, ts[0])
            if t_end <= a:
                return 0.0, 0.0
            xs = np.unique(np.concatenate([[a, t_end], ts[(ts > a) & (ts < t_end)]]))
            ys = np.interp(xs, ts, vs)
            seg = np.diff(xs)
            return float(np.sum(seg * (ys[:-1] + ys[1:]) / 2)), float(np.sum(seg[(ys[:-1] != 0) | (ys[1:] != 0)]))
        lo = np.clip(ts, 0.0, t_end)
        seg = np.clip(np.append(ts[1:], np.inf), 0.0, t_end) - lo
        return float(np.sum(seg * vs)), float(np.sum(seg[vs != 0]))
    raise TypeError(f"not a waveform: {w!r}")


def _stepped_factor_integrals(problem: Problem) -> np.ndarray:
    """Σ f · dt over the run, with f held over each step at its midpoint value, as the solver steps."""
    total = np.zeros(len(problem.light_waveforms))
    if not problem.light_waveforms:
        return total
    for s0 in range(0, problem.n_steps, _STEPS_PER_BLOCK):
        light, _ = problem.stimulus_factors(s0, min(problem.n_steps, s0 + _STEPS_PER_BLOCK))
        total += light.sum(axis=0)
    return total * problem.dt_ms


# ---------------------------------------------------------------- figure


def preview(spec, path=None, *, t_max_ms: float | None = None, dpi: int = 110) -> Figure:
    """Draw the light program of a spec: where each stimulus falls on the tissue, and when it is on.

    Parameters
    ----------
    spec
        As for :func:`light_program`.
    path : str or Path, optional
        Where to write the figure (``.png``, ``.svg`` or ``.pdf``).
    t_max_ms : float, optional
        End of the time axis (ms), at most the run's duration; default the whole run.
    dpi : int
        Resolution of a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        Left, the tissue mask (grey) with each light stimulus in its own colour, filled by irradiance and outlined
        at half its maximum; right, each stimulus's irradiance (mW/mm²) against time, current stimuli (A/F) dashed
        on a second axis. The legend names each stimulus with its irradiance, on-time and light energy.
    """
    if path is not None and Path(path).suffix.lower() not in FIGURE_SUFFIXES:
        raise ValueError(f"figure path {str(path)!r}: allowed suffixes {', '.join(FIGURE_SUFFIXES)}")
    problem = _problem(spec)
    duration = _duration(problem)
    if t_max_ms is not None and not 0 < t_max_ms <= duration:
        raise ValueError(f"t_max_ms = {t_max_ms!r} is out of range: allowed 0 < t_max_ms <= {duration:g} "
                         "(the run's duration_ms)")
    times, notes = _default_times(problem, duration if t_max_ms is None else float(t_max_ms))
    fig = _figure(problem, _program(problem, times, held=True, notes=notes))
    if path is not None:
        fig.savefig(Path(path), dpi=dpi)
    return fig


def _figure(problem: Problem, ds: xr.Dataset) -> Figure:
    ny, nx, dx = problem.ny, problem.nx, problem.dx_um
    aspect = nx / ny
    n_items = ds.sizes["stimulus"] + ds.sizes["current_stimulus"]
    legend_h = 0.3 + 0.22 * n_items
    stretched = max(aspect, 1 / aspect) > MAX_DRAWN_ASPECT
    if aspect > 2.5:   # a strip: the map above the time course
        map_h = 1.8 if stretched else min(6.0, 10.0 / aspect + 0.9)
        fig = Figure(figsize=(11.0, map_h + 3.4 + legend_h + 0.6), layout="constrained")
        ax_map, ax_t = fig.subplots(2, 1, height_ratios=[map_h, 3.4])
    else:
        fig = Figure(figsize=(12.0, 5.4 + legend_h), layout="constrained")
        ax_map, ax_t = fig.subplots(1, 2, width_ratios=[1.0, 1.25])
    colours = [f"C{k}" for k in range(n_items)]
    _draw_map(ax_map, ds, colours, stretched=stretched)
    _draw_time(ax_t, problem, ds, colours)

    handles, labels = [], []
    for k, name in enumerate(ds["stimulus"].values):
        handles.append(Patch(facecolor=colours[k], edgecolor=colours[k], alpha=0.6))
        labels.append(f"{name}: {float(ds.irradiance_mw_per_mm2[k]):g} mW/mm², "
                      f"{_on_text(problem.light_waveforms[k], float(ds.on_time_ms[k]))}, "
                      f"{float(ds.light_energy_mj[k]):.3g} mJ")
    for j, name in enumerate(ds["current_stimulus"].values):
        handles.append(Line2D([], [], color=colours[ds.sizes["stimulus"] + j], ls="--"))
        labels.append(f"{name} (current): {problem.spec.current[j].amplitude_a_per_f:g} A/F, "
                      f"{_on_text(problem.current_waveforms[j], float(ds.current_on_time_ms[j]))}")
    if handles:
        fig.legend(handles, [textwrap.shorten(s, 140) for s in labels], loc="outside lower center", fontsize=8,
                   frameon=False)
    width_um, height_um = nx * dx, ny * dx
    title = (f"{ds.attrs['title']} — light program: {ny}×{nx} cells of {dx:g} µm "
             f"({width_um:g} × {height_um:g} µm), {float(ds.attrs['duration_ms']):g} ms")
    fig.suptitle("\n".join(textwrap.wrap(title, 120)), fontsize=11)
    return fig


def _on_text(w: t.Waveform, on_ms: float) -> str:
    return "always on" if isinstance(w, t.Constant) else f"on {on_ms:.6g} ms"


def _draw_map(ax, ds: xr.Dataset, colours, *, stretched: bool) -> None:
    y, x = np.asarray(ds.y.values, float), np.asarray(ds.x.values, float)
    extent = _extent(y, x)
    mask = ds["mask"].values > 0
    ax.imshow(np.where(mask, 0.62, 0.93), origin="upper", extent=extent, cmap="gray", vmin=0.0, vmax=1.0,
              interpolation="nearest")
    contourable = mask.shape[0] > 1 and mask.shape[1] > 1
    lit = [k for k in range(ds.sizes["stimulus"]) if float(ds["weight"][k].max()) > 0]
    for k in lit:   # every fill first, so that no fill hides another stimulus's outline
        w = np.asarray(ds["weight"][k].values, float)
        rgba = np.zeros(w.shape + (4,))
        rgba[..., :3] = to_rgb(colours[k])
        rgba[..., 3] = 0.6 * w / w.max()
        ax.imshow(rgba, origin="upper", extent=extent, interpolation="nearest")
    for k in lit:
        w = np.asarray(ds["weight"][k].values, float)
        if contourable and (w < 0.5 * w.max()).any():
            ax.contour(x, y, w, levels=[0.5 * w.max()], colors=[colours[k]], linewidths=1.4)
    if "opsin_conductance" in ds and contourable:
        g = np.where(mask, ds["opsin_conductance"].values, np.nan)
        if np.nanmax(g) > 0 and np.nanmin(g) < 0.5 * np.nanmax(g):
            ax.contour(x, y, np.nan_to_num(g), levels=[0.5 * np.nanmax(g)], colors="black", linewidths=0.9,
                       linestyles="dotted")
            ax.text(0.99, 0.01, "dotted: where the opsin is expressed", transform=ax.transAxes, ha="right",
                    va="bottom", fontsize=7, color="0.2")
    if ds.sizes["stimulus"] == 0:
        ax.text(0.5, 0.5, "no light stimuli", transform=ax.transAxes, ha="center", va="center", fontsize=11,
                bbox={"facecolor": "white", "edgecolor": "0.6"})
    _scale_bar(ax, extent)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")
    ax.set_title("where: light on the tissue (grey)", fontsize=10)
    if stretched:   # a cable drawn to scale would be a hairline
        ax.set_aspect("auto")
        ax.set_title("where: light on the tissue (grey); not to scale", fontsize=10)


def _draw_time(ax, problem: Problem, ds: xr.Dataset, colours) -> None:
    tt = np.asarray(ds.time.values, float)
    n_light = ds.sizes["stimulus"]
    top = 0.0
    for k in range(n_light):
        tc = np.asarray(ds["time_course"][k].values, float)
        step = "post" if _held(problem.light_waveforms[k]) else None
        if step:
            ax.step(tt, tc, where="post", color=colours[k], lw=1.3)
        else:
            ax.plot(tt, tc, color=colours[k], lw=1.3)
        ax.fill_between(tt, 0, tc, step=step, color=colours[k], alpha=0.15, lw=0)
        top = max(top, float(tc.max()) if tc.size else 0.0)
    bg = float(ds.attrs["background_irradiance_mw_per_mm2"])
    if bg > 0:
        ax.axhline(bg, color="0.4", ls=":", lw=1.0)
        ax.text(tt[0], bg, " imaging light (crosstalk)", fontsize=7, color="0.3", va="bottom")
        top = max(top, bg)
    if n_light == 0:
        ax.text(0.5, 0.5, "no light stimuli", transform=ax.transAxes, ha="center", va="center", fontsize=11)
    ax.set_ylim(0.0, 1.12 * top if top > 0 else 1.0)
    ax.set_xlim(tt[0], tt[-1] if tt[-1] > tt[0] else tt[0] + 1.0)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("irradiance (mW/mm²)")
    ax.set_title("when: irradiance of each stimulus", fontsize=10)
    if ds.sizes["current_stimulus"]:
        twin = ax.twinx()
        for j in range(ds.sizes["current_stimulus"]):
            cc = np.asarray(ds["current_time_course"][j].values, float)
            if _held(problem.current_waveforms[j]):
                twin.step(tt, cc, where="post", color=colours[n_light + j], lw=1.2, ls="--")
            else:
                twin.plot(tt, cc, color=colours[n_light + j], lw=1.2, ls="--")
        twin.set_ylabel("current (A/F), dashed")
        ax = twin   # drawn last: the warnings go on top
    if ds.attrs["warnings"]:
        text = "\n".join(textwrap.fill(line, 90) for line in ds.attrs["warnings"].splitlines())
        ax.text(0.01, 0.99, text, transform=ax.transAxes, ha="left", va="top", fontsize=7, color="firebrick",
                bbox={"facecolor": "white", "edgecolor": "firebrick", "alpha": 0.9}, zorder=5)
