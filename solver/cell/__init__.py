"""The patch-clamp bench: one cell of any model, with or without light.

Current clamp (steps, trains), voltage clamp (holding, steps, ramps; each channel's current), the steady-state
I-V, fixed points with their stability from the eigenvalues of the full system's Jacobian, and the continuation
of the fixed points in one parameter (irradiance, K+ out, a conductance) with saddle-nodes and bistable windows.

>>> import solver.cell as cell
>>> ds = cell.run_protocol("examples/single_cell.json", "examples/cell/hek_voltage_steps.json")  # doctest: +SKIP
>>> system = cell.cell_from_spec("examples/bistable_domains.json")                              # doctest: +SKIP
>>> [(fp.v, fp.stable) for fp in cell.fixed_points(system)]                                   # doctest: +SKIP
"""
from __future__ import annotations

from ._system import CellSystem, system_from_preset
from .clamp import Pulse, current_clamp, voltage_clamp_step, voltage_ramp
from .protocol import CellProtocolError, check_protocol, load_protocol
from .run import CELL_KIND, cell_from_spec, run_protocol
from .steady import Continuation, FixedPoint, continuation, fixed_points, jacobian, steady_iv

__all__ = [
    "CELL_KIND", "CellProtocolError", "CellSystem", "Continuation", "FixedPoint", "Pulse", "cell_from_spec",
    "check_protocol", "continuation", "current_clamp", "fixed_points", "jacobian", "load_protocol", "run_protocol",
    "steady_iv", "system_from_preset", "voltage_clamp_step", "voltage_ramp",
]
