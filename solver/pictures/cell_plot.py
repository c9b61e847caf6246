"""The figure of a patch-clamp bench result (:mod:`solver.cell`): one panel per part the result holds.

Current-clamp traces (V and the injected current / light), voltage-clamp currents of every sweep with the peak
I-V, the steady-state I-V with its fixed points coloured by stability (filled: stable, open: unstable), and the
continuation diagram (fixed points against the parameter, coloured by stability, saddle-nodes and Hopf points
marked, the bistable window shaded). Renders with the Agg backend.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["is_cell_result", "plot_cell"]

STABLE, UNSTABLE = "tab:blue", "tab:red"


def is_cell_result(ds: xr.Dataset) -> bool:
    """True for a dataset written by ``optowave cell`` / :func:`solver.cell.run_protocol`."""
    return ds.attrs.get("optowave_kind") == "cell"


def _units(da) -> str:
    return da.attrs.get("units", "")


def plot_cell(ds: xr.Dataset, path: str | Path) -> list[str]:
    """Draw ``ds`` to ``path`` (PNG, SVG or PDF by suffix); returns the titles of the panels drawn."""
    panels = [name for name, present in (
        ("current clamp", "cc_v" in ds), ("voltage clamp", "vc_i_total" in ds), ("peak I-V", "vc_peak_i_total" in ds),
        ("ramp", "ramp_i_total" in ds), ("steady-state I-V", "iv_i_total" in ds),
        ("continuation", "cont_v" in ds)) if present]
    if not panels:
        raise ValueError("the dataset holds no cell-bench part (cc_v, vc_i_total, ramp_i_total, iv_i_total, cont_v)")
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig = Figure(figsize=(5.2 * cols, 4.0 * rows), constrained_layout=True)
    FigureCanvasAgg(fig)
    fig.suptitle(f"{ds.attrs.get('title', '')}\n{ds.attrs.get('model', '')}, opsin {ds.attrs.get('opsin', 'none')}",
                 fontsize=10)
    channels = ds.attrs.get("channels", "").split()
    for k, name in enumerate(panels):
        ax = fig.add_subplot(rows, cols, k + 1)
        ax.set_title(name, fontsize=10)
        _PANELS[name](ax, ds, channels)
    fig.savefig(str(path), dpi=110)
    return panels


def _current_clamp(ax, ds, channels) -> None:
    t = ds["cc_time"].values
    ax.plot(t, ds["cc_v"].values, color="k", lw=1.0)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(f"V ({_units(ds['cc_v'])})")
    twin = ax.twinx()
    twin.plot(t, ds["cc_i_ext"].values, color="tab:green", lw=0.8, label="injected current")
    if np.any(ds["cc_irradiance"].values > 0):
        twin.plot(t, ds["cc_irradiance"].values, color="deepskyblue", lw=0.8, label="irradiance (mW/mm²)")
    twin.set_ylabel(f"I ({_units(ds['cc_i_ext'])}) / light", color="tab:green")
    twin.legend(loc="upper right", fontsize=7)


def _voltage_clamp(ax, ds, channels) -> None:
    t = ds["vc_time"].values
    total = ds["vc_i_total"].values
    colors = _cmap(total.shape[0])
    for k in range(total.shape[0]):
        ax.plot(t, total[k], color=colors[k], lw=0.8, label=f"{ds['vc_step'].values[k]:g}")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(f"total current ({_units(ds['vc_i_total'])})")
    if total.shape[0] <= 13:
        ax.legend(title=f"step ({_units(ds['vc_step'])})", fontsize=6, title_fontsize=7, ncol=2)


def _peak_iv(ax, ds, channels) -> None:
    v = ds["vc_step"].values
    for name in [*channels, "i_total"]:
        key = f"vc_peak_{name}"
        if key in ds and np.any(ds[key].values != 0):
            ax.plot(v, ds[key].values, marker="o", ms=3, lw=1.0, label=name,
                    color="k" if name == "i_total" else None)
    ax.axhline(0.0, color="0.6", lw=0.6)
    ax.set_xlabel(f"step potential ({_units(ds['vc_step'])})")
    ax.set_ylabel(f"peak current ({_units(ds['vc_peak_i_total'])})")
    ax.legend(fontsize=7)


def _ramp(ax, ds, channels) -> None:
    v = ds["ramp_v"].values
    for name in channels:
        if f"ramp_{name}" in ds and np.any(ds[f"ramp_{name}"].values != 0):
            ax.plot(v, ds[f"ramp_{name}"].values, lw=0.8, label=name)
    ax.plot(v, ds["ramp_i_total"].values, color="k", lw=1.2, label="i_total")
    ax.axhline(0.0, color="0.6", lw=0.6)
    ax.set_xlabel(f"command potential ({_units(ds['ramp_v'])})")
    ax.set_ylabel(f"current ({_units(ds['ramp_i_total'])})")
    ax.legend(fontsize=7)


def _steady_iv(ax, ds, channels) -> None:
    v = ds["iv_v"].values
    for name in channels:
        if f"iv_{name}" in ds and np.any(ds[f"iv_{name}"].values != 0):
            ax.plot(v, ds[f"iv_{name}"].values, lw=0.8, label=name)
    i_ext = float(ds["iv_i_ext"].values) if "iv_i_ext" in ds else 0.0
    ax.plot(v, ds["iv_i_total"].values + i_ext, color="k", lw=1.4, label="total" + (" + i_ext" if i_ext else ""))
    ax.axhline(0.0, color="0.6", lw=0.6)
    for fv, st in zip(ds["fp_v"].values, ds["fp_stable"].values):
        ax.plot([fv], [0.0], marker="o", ms=8, color=STABLE if st else UNSTABLE,
                markerfacecolor=STABLE if st else "white", zorder=5)
    total = ds["iv_i_total"].values + i_ext
    span = np.nanpercentile(np.abs(total), 90) or 1.0
    ax.set_ylim(-1.5 * span, 1.5 * span)
    ax.set_xlabel(f"V ({_units(ds['iv_v'])})")
    ax.set_ylabel(f"steady-state current ({_units(ds['iv_i_total'])})")
    ax.legend(fontsize=7, title="filled: stable, open: unstable", title_fontsize=7)


def _continuation(ax, ds, channels) -> None:
    lam, v, st = ds["cont_parameter"].values, ds["cont_v"].values, ds["cont_stable"].values.astype(bool)
    ax.plot(lam[st], v[st], ".", color=STABLE, ms=3, label="stable")
    ax.plot(lam[~st], v[~st], ".", color=UNSTABLE, ms=3, label="unstable")
    if ds.sizes.get("saddle_node", 0):
        ax.plot(ds["sn_parameter"].values, ds["sn_v"].values, "kx", ms=9, mew=2, label="saddle-node")
    if ds.sizes.get("hopf_point", 0):
        ax.plot(ds["hopf_parameter"].values, ds["hopf_v"].values, "D", color="tab:purple", ms=7, label="Hopf")
    for lo, hi in ds["bistable_window"].values:
        ax.axvspan(lo, hi, color="0.85", zorder=0, label="bistable")
    protocol = ds.attrs.get("protocol", "")
    if '"log_spacing": true' in protocol:
        ax.set_xscale("log")
    name = ds.attrs.get("continuation_parameter", "parameter")
    ax.set_xlabel(f"{name} ({_units(ds['cont_parameter'])})")
    ax.set_ylabel(f"V at the fixed point ({_units(ds['cont_v'])})")
    ax.legend(fontsize=7)


def _cmap(n: int):
    import matplotlib

    return [matplotlib.colormaps["viridis"](x) for x in np.linspace(0.0, 0.9, max(n, 1))]


_PANELS = {"current clamp": _current_clamp, "voltage clamp": _voltage_clamp, "peak I-V": _peak_iv, "ramp": _ramp,
           "steady-state I-V": _steady_iv, "continuation": _continuation}
