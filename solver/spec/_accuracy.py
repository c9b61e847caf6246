"""The estimated conduction-velocity error of a spec's dt and dx: ``validate`` warns past 2 %.

Measured by ``benchmarks/error_model.py`` for each preset that carries waves, on a study cable per
model against scipy's BDF (solver.numerics.convergence), and stored in ``accuracy_constants.json``
beside this module (the script rewrites it): the time-step error is |CV error| ≈ C·dt^p (p the order
of the time scheme), nearly independent of D and dx (for HEK 35 °C the same C within 5 % at dx
9–20 µm, D 1000–4000 µm²/ms); the grid error of the 5-point coupling is |CV error| ≈ K·dx²/D. Both
make waves slow, so they add. The dimensionless media use their model units.

On a discrete grid (gap-junction coupling with one node per cell) the grid is the tissue, not a
discretised continuum: there is no dx error, the reference is the dt -> 0 limit at that dx.
``hek_bistable`` has no CV error model (no excitation wave; :data:`NO_CV_MODEL` says why), nor has a
single cell.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TIME_CONSTANTS", "GRID_CONSTANTS", "NO_CV_MODEL", "WARN_ABOVE", "Accuracy", "estimate_cv_error",
           "check_accuracy", "SINGLE_CELL_NOTE"]  # fmt: skip

_DATA = json.loads(Path(__file__).with_name("accuracy_constants.json").read_text(encoding="utf-8"))
#: C of |CV error| ≈ C·dt^order (dt in ms), per model and order (benchmarks/error_model.py).
TIME_CONSTANTS = {m: {int(o): float(c) for o, c in d["time"].items()} for m, d in _DATA["models"].items()}
#: K of |CV error| ≈ K·dx²/D (dx in µm, D in µm²/ms).
GRID_CONSTANTS = {m: float(d["grid"]) for m, d in _DATA["models"].items()}
#: Presets without a CV error model, and why.
NO_CV_MODEL = dict(_DATA["no_cv_model"])
#: What validate says of a single cell's accuracy.
SINGLE_CELL_NOTE = ("a single cell: no conduction velocity, so no CV error model; the single-cell example's "
                    "figures (peak, max dV/dt, APD90) are tested within 2 % of a Radau solve at its dt")
#: The CV error past which ``validate`` warns.
WARN_ABOVE = 0.02
#: What each warned part is brought to by the suggested dt or dx (leaves room for the other part).
SUGGEST_AT = 0.01


@dataclass(frozen=True)
class Accuracy:
    """Estimated relative CV error (both parts make the wave slower) of one spec."""

    model: str
    time: float              # of the time step
    grid: float              # of the grid spacing (0 on a discrete grid)
    order: int
    dt_ms: float
    dx_um: float
    discrete: bool
    suggested_dt_ms: float   # where the time part is SUGGEST_AT
    suggested_dx_um: float   # where the grid part is SUGGEST_AT (inf on a discrete grid)

    @property
    def total(self) -> float:
        return self.time + self.grid

    def describe(self) -> str:
        scheme = "second" if self.order == 2 else "first"
        grid = ("one node per cell: the grid is the tissue, the reference is the dt -> 0 limit at this dx"
                if self.discrete else f"{self.grid:.2%} from the grid spacing (against dx -> 0)")
        return f"estimated CV error {self.total:.2%}: {self.time:.2%} from the time step ({scheme} order), {grid}"


def estimate_cv_error(model_name: str, order: int, dt_ms: float, dx_um: float, diffusivity: float, *,
                      discrete: bool) -> Accuracy | None:  # fmt: skip
    """The :class:`Accuracy` of these numerics, or None where no error model was measured."""
    consts = TIME_CONSTANTS.get(model_name)
    if consts is None or order not in consts or not diffusivity > 0:
        return None
    c = consts[order]
    k = GRID_CONSTANTS[model_name]
    time_err = c * dt_ms**order
    grid_err = 0.0 if discrete else k * dx_um**2 / diffusivity
    return Accuracy(
        model=model_name, time=time_err, grid=grid_err, order=order, dt_ms=dt_ms, dx_um=dx_um, discrete=discrete,
        suggested_dt_ms=(SUGGEST_AT / c) ** (1.0 / order),
        suggested_dx_um=math.inf if discrete else math.sqrt(SUGGEST_AT * diffusivity / k),
    )  # fmt: skip


def check_accuracy(c, acc: Accuracy | None, *, grid_warned: bool = False) -> None:
    """Warn (through the checker ``c``) when the estimated CV error is past :data:`WARN_ABOVE`;
    ``grid_warned``: grid.dx_um already has a warning (the electrotonic length's), say no more there."""
    if acc is None or acc.total <= WARN_ABOVE:
        return
    head = f"the estimated CV error of this spec is {acc.total:.1%} (past {WARN_ABOVE:.0%}; benchmarks/convergence.py)"
    if acc.time > SUGGEST_AT:
        other = ""
        if acc.order == 1:
            second = TIME_CONSTANTS[acc.model][2] * acc.dt_ms**2
            other = f", or numerics.time_scheme TIME_SCHEME_SECOND_ORDER ({second:.2%} at this dt)"
        note = (" (one node per cell: the grid is the tissue; the reference is the dt -> 0 limit at this dx)"
                if acc.discrete else "")
        c.warn("numerics.dt_ms", f"{acc.dt_ms:g} ms: {head}, {acc.time:.1%} of it from the time step{note}; "
               f"use dt <= {acc.suggested_dt_ms:.3g} ms for {SUGGEST_AT:.0%}{other}")
    if acc.grid > SUGGEST_AT and not grid_warned:
        c.warn("grid.dx_um", f"{acc.dx_um:g} µm: {head}, {acc.grid:.1%} of it from the grid spacing against "
               f"dx -> 0; use dx <= {acc.suggested_dx_um:.3g} µm for {SUGGEST_AT:.0%}")

