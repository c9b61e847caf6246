"""A light program that grows while the run goes: the spec's own light plus the session's commands.

Each command is one light stimulus: its pattern (rasterised once per distinct pattern) times its irradiance, on
from the frame boundary where it took effect to the boundary where the next command (or ``clear_light``)
replaced it. While it is on, its end is not known yet: the run loop sees a pulse that never ends, which gives
the same factor as the recorded pulse at every step run so far. The recorded stimuli are exactly what
:func:`solver.engine.problem.build` makes of the recorded spec, so the replay adds the same numbers.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields

import numpy as np
from google.protobuf import json_format

from ..engine.problem import Problem, _drive
from ..spec import SpecError, parse_pattern, pattern_from_proto, validate_pattern
from ..spec import _types as t
from ..spec._limits import MAX_MAGNITUDE
from ..stimulus.light import plain
from ..stimulus.patterns import rasterise
from ..stimulus.waveforms import evaluate

__all__ = ["Command", "LiveProblem", "camera_raster"]

#: Wavelength of commanded light (nm): the spec's default for a light stimulus.
COMMAND_WAVELENGTH_NM = 470.0


@dataclass
class Command:
    """One light command: on from step ``start`` to step ``stop`` (None while it is on)."""

    frame: int
    start: int
    pattern_json: dict            # the pattern in the spec's JSON form, as recorded
    irradiance: float             # mW/mm²
    name: str
    key: str                      # the pattern's canonical JSON: rasters are shared between equal patterns
    stop: int | None = None

    def waveform(self, dt_ms: float) -> t.Pulse:
        """The pulse the run loop evaluates: open-ended while on, the recorded pulse once stopped."""
        start_ms = self.start * dt_ms
        if self.stop is None:
            return t.Pulse(start_ms, math.inf)
        return t.Pulse(start_ms, self.stop * dt_ms - start_ms)

    def stimulus(self, dt_ms: float) -> dict:
        """The command as an ordinary light stimulus of a spec (JSON form)."""
        w = self.waveform(dt_ms)
        return {"name": self.name, "pattern": self.pattern_json, "waveform": {"pulse": {
            "start_ms": w.start_ms, "width_ms": w.width_ms}}, "irradiance_mw_per_mm2": self.irradiance}


class LiveProblem(Problem):
    """A :class:`Problem` whose light program is the spec's own light followed by the session's commands."""

    commands: list[Command]

    @classmethod
    def of(cls, problem: Problem) -> "LiveProblem":
        live = cls(**{f.name: getattr(problem, f.name) for f in fields(problem)})
        live.commands = []
        live._own = (problem.light_waveforms, problem.light_drive if problem.light_drive is not None
                     else np.ones(len(problem.light_waveforms)))
        live._rasters: dict[str, np.ndarray] = {}
        live._weight_cache: tuple[int, np.ndarray] | None = None
        live._command_drive = _drive(problem.opsin_name, COMMAND_WAVELENGTH_NM, problem.opsin_spectrum)
        return live

    # ------------------------------------------------------------------ the program
    def raster(self, pattern: t.Pattern, key: str) -> np.ndarray:
        """The pattern's weights on the sheet, rasterised once per distinct pattern."""
        if key not in self._rasters:
            self._rasters[key] = rasterise(pattern, self.ny, self.nx, self.dx_um, base_dir=self.spec.base_dir)
        return self._rasters[key]

    def add(self, command: Command) -> None:
        """Stop the command that is on (at ``command.start``) and append ``command``."""
        self.stop(command.start)
        self.commands.append(command)
        self.refresh()

    def stop(self, at: int) -> None:
        """Stop the command that is on at step ``at``; one that began at ``at`` never ran and is dropped."""
        if self.commands and self.commands[-1].stop is None:
            if self.commands[-1].start >= at:
                self.commands.pop()
            else:
                self.commands[-1].stop = at
        self.refresh()

    def refresh(self) -> None:
        waves, drive = self._own
        self.light_waveforms = tuple(waves) + tuple(c.waveform(self.dt_ms) for c in self.commands)
        self.light_drive = np.concatenate([drive, np.full(len(self.commands), self._command_drive)])
        self._weight_cache = None

    def stimulus_factors(self, step0: int, step1: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`Problem.stimulus_factors`, evaluating only the commands on somewhere in ``[step0, step1)``: the
        others are 0 there (a long session gathers many commands, and a pulse is exactly 0 outside itself)."""
        n_own = len(self._own[0])
        if not self.commands:
            return super().stimulus_factors(step0, step1)
        tm = (np.arange(step0, step1, dtype=np.float64) + 0.5) * self.dt_ms
        light = np.zeros((tm.size, n_own + len(self.commands)))
        for k, w in enumerate(self._own[0]):
            light[:, k] = evaluate(w, tm)
        for k, c in enumerate(self.commands):
            if c.start < step1 and (c.stop is None or c.stop > step0):
                light[:, n_own + k] = evaluate(self.light_waveforms[n_own + k], tm)
        cur = np.stack([evaluate(w, tm) for w in self.current_waveforms], axis=1) if self.current_waveforms \
            else np.zeros((tm.size, 0))
        return light, cur

    def light_weight(self, k: int) -> np.ndarray:
        n_own = len(self._own[0])
        if k < n_own:
            return self.light_weights[k]
        if self._weight_cache is None or self._weight_cache[0] != k:
            c = self.commands[k - n_own]
            # the product build() forms for a stimulus: raster times irradiance
            self._weight_cache = (k, self._rasters[c.key] * c.irradiance)
        return self._weight_cache[1]


def parse_command_pattern(pattern, problem: Problem) -> tuple[t.Pattern, dict]:
    """A spec pattern (JSON dict, ``Shape``, ``Pattern`` message) as its spec object and its JSON form.

    Raises :class:`solver.SpecError` naming the field under ``pattern`` when it is not a valid pattern on the
    sheet.
    """
    msg = parse_pattern(plain(pattern))
    p = pattern_from_proto(msg)
    report = validate_pattern(p, problem.spec.grid, path="pattern", base_dir=problem.spec.base_dir)
    if report.errors:
        raise SpecError(report.errors)
    return p, json_format.MessageToDict(msg, preserving_proto_field_name=True)


def camera_raster(pixels, problem: Problem, camera_shape: tuple[int, int], binning: int) -> dict:
    """A 2-D array of weights on the camera's pixels as a raster pattern on the sheet (JSON form).

    Camera pixel ``(i, j)`` covers the ``binning × binning`` grid cells from ``(i·b, j·b)``; cells past the
    last whole pixel (the sensor's ROI drops them) get no light.
    """
    a = np.asarray(pixels)
    if a.ndim != 2 or tuple(a.shape) != tuple(camera_shape):
        raise SpecError([("pattern", f"an array of shape {list(a.shape)} is not allowed; a pattern given as an "
                                     f"array must be on the camera's pixels, shape {list(camera_shape)} (ny, nx)")])
    if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
        raise SpecError([("pattern", f"an array of dtype {a.dtype} is not allowed; give real weights in [0, 1]")])
    a = a.astype(np.float64)
    bad = ~np.isfinite(a) | (a < 0) | (a > 1)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise SpecError([("pattern", f"weight {float(a[i, j])!r} at camera pixel (row {i}, column {j}) is not allowed; "
                                     "weights must be finite and in [0, 1]")])
    sheet = np.zeros((problem.ny, problem.nx))
    ny_c, nx_c = a.shape
    sheet[: ny_c * binning, : nx_c * binning] = np.kron(a, np.ones((binning, binning)))
    return {"raster": {"shape": [problem.ny, problem.nx], "values": sheet.ravel().tolist()}}


def check_irradiance(value) -> float:
    """The irradiance of a command (mW/mm²): a finite number >= 0, else :class:`solver.SpecError`."""
    field = "irradiance_mw_per_mm2"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise SpecError([(field, f"{value!r} is not allowed; must be a number (mW/mm²)")])
    x = float(value)
    if not (math.isfinite(x) and 0.0 <= x <= MAX_MAGNITUDE):
        raise SpecError([(field, f"{x!r} mW/mm² is not allowed; must be finite, >= 0 and <= {MAX_MAGNITUDE:g}")])
    return x


def pattern_key(pattern_json: dict) -> str:
    return json.dumps(pattern_json, sort_keys=True)


