"""Map axes shared by the result figures (:mod:`solver.pictures.plot`) and the light preview (:mod:`solver.pictures.preview`):
pixel extents in µm, aspect, a scale bar. Only matplotlib here, so that a preview never imports the analysis."""
from __future__ import annotations

import math

import numpy as np
from matplotlib import patheffects


def nice(x: float) -> float:
    """The largest 1, 2 or 5 × 10^k not above ``x``."""
    k = 10.0 ** math.floor(math.log10(x))
    return max(m * k for m in (1, 2, 5) if m * k <= x)


def extent(y: np.ndarray, x: np.ndarray) -> tuple[float, float, float, float]:
    """``imshow`` extent (left, right, bottom, top) in µm for ``origin="upper"``: the largest y at the bottom."""
    d = float(x[1] - x[0]) if x.size > 1 else float(2 * x[0])
    return (x[0] - d / 2, x[-1] + d / 2, y[-1] + d / 2, y[0] - d / 2)


def aspect(extent) -> float:
    """Width over height of an extent."""
    return abs(extent[1] - extent[0]) / abs(extent[3] - extent[2])


def scale_bar(ax, extent) -> None:
    """A µm scale bar near the bottom-left corner as drawn; ``extent`` is (left, right, bottom, top)."""
    width = extent[1] - extent[0]
    length = nice(width / 4)
    x0 = extent[0] + 0.06 * width
    y0 = extent[2] + 0.07 * (extent[3] - extent[2])
    outline = [patheffects.withStroke(linewidth=2.5, foreground="black")]
    ax.plot([x0, x0 + length], [y0, y0], color="white", lw=3, solid_capstyle="butt",
            path_effects=[patheffects.withStroke(linewidth=5, foreground="black")])
    ax.text(x0 + length / 2, y0 + 0.04 * (extent[3] - extent[2]), f"{length:g} µm", color="white", ha="center",
            va="bottom", fontsize=8, fontweight="bold", path_effects=outline)
