"""The opsin presets as data: one JSON file per opsin in this folder; adding an opsin is adding a file.

A file holds ``name`` (the file's stem), ``kinetics`` (``"three_state"``: the PyRhO cycle of MODEL.md 4,
the one scheme the kernels couple to V), ``description``, ``parameters`` (every parameter of the scheme,
in its units: :data:`solver.models.opsin.OPSIN_PARAM_UNITS`), optional ``targets`` (the figures the
parameters were fitted to) and ``spectrum``: ``peak_nm`` and ``fwhm_nm`` of the action spectrum, optional
measured ``points`` ([nm, action relative to the peak], increasing nm) and their ``source``.
:func:`read_opsin_files` checks the form (errors name the file and the field); the parameters' values are
checked against their bounds by :class:`solver.models.opsin.OpsinPreset`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

__all__ = ["KINETICS", "OPSIN_DIR", "OpsinFileError", "read_opsin_files"]

OPSIN_DIR = Path(__file__).resolve().parent
#: The kinetic schemes the kernels implement.
KINETICS = ("three_state",)
_FIELDS = ("name", "kinetics", "description", "parameters", "targets", "spectrum")
_SPECTRUM_FIELDS = ("peak_nm", "fwhm_nm", "points", "source")


class OpsinFileError(ValueError):
    """A malformed opsin file; the message names the file and the field."""


def _number(value, where: str, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or (positive and value <= 0):  # fmt: skip
        allowed = "a positive number" if positive else "a finite number"
        raise OpsinFileError(f"{where}: {value!r}; allowed: {allowed}")
    return float(value)


def _object(value, where: str, allowed: tuple[str, ...] | None = None) -> dict:
    if not isinstance(value, dict):
        raise OpsinFileError(f"{where}: must be an object, got {type(value).__name__}")
    unknown = sorted(set(value) - set(allowed)) if allowed is not None else []
    if unknown:
        raise OpsinFileError(f"{where}: unknown field {unknown[0]!r}; allowed: {', '.join(allowed)}")
    return value


def _read(path: Path) -> dict:
    where = path.name
    try:
        d = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise OpsinFileError(f"{where}: not JSON ({err.msg}, line {err.lineno})") from None
    d = _object(d, where, _FIELDS)
    if d.get("name") != path.stem:
        raise OpsinFileError(f"{where}.name: {d.get('name')!r}; allowed: {path.stem!r}, the file's stem")
    if d.get("kinetics") not in KINETICS:
        raise OpsinFileError(f"{where}.kinetics: {d.get('kinetics')!r}; allowed: {', '.join(KINETICS)}")
    params = {k: _number(v, f"{where}.parameters.{k}") for k, v in _object(d.get("parameters"), f"{where}.parameters").items()}
    targets = {k: _number(v, f"{where}.targets.{k}") for k, v in _object(d.get("targets", {}), f"{where}.targets").items()}
    s = _object(d.get("spectrum"), f"{where}.spectrum", _SPECTRUM_FIELDS)
    spectrum = {"peak_nm": _number(s.get("peak_nm"), f"{where}.spectrum.peak_nm", positive=True),
                "fwhm_nm": _number(s.get("fwhm_nm"), f"{where}.spectrum.fwhm_nm", positive=True),
                "source": str(s.get("source", ""))}  # fmt: skip
    if "points" in s:
        points = s["points"]
        if not isinstance(points, list) or len(points) < 2 or any(not isinstance(p, list) or len(p) != 2 for p in points):
            raise OpsinFileError(f"{where}.spectrum.points: must be a list of at least two [nm, action] pairs")
        pts = tuple((_number(a, f"{where}.spectrum.points[{k}][0]", positive=True),
                     _number(b, f"{where}.spectrum.points[{k}][1]")) for k, (a, b) in enumerate(points))  # fmt: skip
        if any(b[0] <= a[0] for a, b in zip(pts, pts[1:])):
            raise OpsinFileError(f"{where}.spectrum.points: wavelengths must increase")
        spectrum["points"] = pts
    return {"name": path.stem, "kinetics": d["kinetics"], "description": str(d.get("description", "")),
            "parameters": params, "targets": targets, "spectrum": spectrum}  # fmt: skip


def read_opsin_files(folder: Path = OPSIN_DIR) -> dict[str, dict]:
    """Every ``*.json`` opsin file of ``folder``, checked, by name (sorted)."""
    return {path.stem: _read(path) for path in sorted(folder.glob("*.json"))}
