"""A cell model as data: states, gates, intermediates, currents and parameters with units.

The types mirror the ``ModelDefinition`` proto message (``protos/optowave/v1/spec.proto``) and its
JSON form, the one a Myokit import writes and a spec's ``tissue.model.definition`` holds::

    {"name": ..., "voltage": {"name": "v", "units": "mV", "initial": -75.0},
     "parameters": [{"name", "value", "units", "min", "max", "description"}, ...],
     "states": [{"name", "units", "initial",
                 "gate": {"inf", "tau"} | {"alpha", "beta"} | {"inf", "instantaneous": true}}
                | {"name", "units", "initial", "derivative"}, ...],
     "intermediates": [{"name", "expression", "units"}, ...],
     "currents": [{"name", "expression", "units"}, ...], "source": {"file", "sha256"}}

Currents are per unit capacitance (A/F = mV/ms), positive outward: dV/dt = coupling − Σ currents −
I_opsin − I_ext. Gate expressions may use V and parameters only (they are stepped by Rush–Larsen
and can be tabulated); derivatives, intermediates (in order) and currents may use V, states,
parameters and intermediates (derivatives the currents too). An instantaneous gate is always at its
steady state: wherever the model reads it, it is ``inf`` at the state's V, and a step stores ``inf``
at the new V (Kir2.1's fast gates in the bistable HEK preset). :func:`ModelDescription.from_dict`
validates and raises :class:`DescriptionError` naming the field (``states[2].gate.tau``).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from . import expr

__all__ = ["Current", "DescriptionError", "Gate", "Intermediate", "ModelDescription", "Parameter", "Source",
           "State", "Voltage", "RESERVED_NAMES"]  # fmt: skip

#: Names a description cannot give a variable (the expression language's own words and functions).
RESERVED_NAMES = frozenset({"and", "or", "not", "if", *expr.FUNCTIONS})

_MAX_VARIABLES = 200


class DescriptionError(ValueError):
    """A malformed model description; the message names the field path."""


def _where(path: str, name: str) -> str:
    return f"{path} ({name})" if name else path


def _str(d: Mapping, key: str, path: str, *, required: bool = False) -> str:
    value = d.get(key, "")
    if not isinstance(value, str):
        raise DescriptionError(f"{path}.{key}: must be a string, got {value!r}")
    if required and not value:
        raise DescriptionError(f"{path}.{key}: required")
    return value


def _float(d: Mapping, key: str, path: str, default: float) -> float:
    value = d.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DescriptionError(f"{path}.{key}: must be a number, got {value!r}")
    return float(value)


def _keys(d: object, path: str, allowed: tuple[str, ...]) -> Mapping:
    if not isinstance(d, Mapping):
        raise DescriptionError(f"{path}: must be an object, got {type(d).__name__}")
    unknown = sorted(set(d) - set(allowed))
    if unknown:
        raise DescriptionError(f"{path}: unknown field {unknown[0]!r}; allowed: {', '.join(allowed)}")
    return d


def _list(d: Mapping, key: str, path: str) -> list:
    value = d.get(key, [])
    if not isinstance(value, list):
        raise DescriptionError(f"{path}.{key}: must be a list, got {type(value).__name__}")
    if len(value) > _MAX_VARIABLES:
        raise DescriptionError(f"{path}.{key}: {len(value)} entries; at most {_MAX_VARIABLES}")
    return value


@dataclass(frozen=True)
class Voltage:
    """The membrane potential: its name, units (mV, or "1" for a dimensionless medium) and rest value."""

    name: str
    units: str = "mV"
    initial: float = 0.0


@dataclass(frozen=True)
class Parameter:
    """A named constant with its default value, units and allowed closed range."""

    name: str
    value: float
    units: str = ""
    min: float = -math.inf
    max: float = math.inf
    description: str = ""


@dataclass(frozen=True)
class Gate:
    """A gate's kinetics: ``inf`` + ``tau`` (ms), or ``alpha`` + ``beta`` (1/ms), functions of V; or
    ``inf`` alone with ``instantaneous`` (the gate is always at its steady state)."""

    inf: str = ""
    tau: str = ""
    alpha: str = ""
    beta: str = ""
    instantaneous: bool = False

    @property
    def kind(self) -> str:
        """``"inf_tau"``, ``"alpha_beta"`` or ``"instantaneous"``."""
        if self.instantaneous:
            return "instantaneous"
        return "inf_tau" if self.inf else "alpha_beta"

    @property
    def keys(self) -> tuple[str, ...]:
        """The expressions this gate is given by."""
        return {"inf_tau": ("inf", "tau"), "alpha_beta": ("alpha", "beta"), "instantaneous": ("inf",)}[self.kind]


@dataclass(frozen=True)
class State:
    """A state variable: a gate (Rush–Larsen) or a ``derivative`` (explicit)."""

    name: str
    initial: float
    units: str = "1"
    gate: Gate | None = None
    derivative: str = ""
    description: str = ""


@dataclass(frozen=True)
class Intermediate:
    """A named expression evaluated before the currents, in order."""

    name: str
    expression: str
    units: str = ""
    description: str = ""


@dataclass(frozen=True)
class Current:
    """A membrane current (A/F, positive outward)."""

    name: str
    expression: str
    units: str = "A/F"
    description: str = ""


@dataclass(frozen=True)
class Source:
    """Where a description came from (an imported file and its SHA-256)."""

    file: str = ""
    sha256: str = ""


@dataclass(frozen=True)
class ModelDescription:
    """A cell model as data (see the module). Build with :meth:`from_dict`, which validates."""

    name: str
    voltage: Voltage
    parameters: tuple[Parameter, ...] = ()
    states: tuple[State, ...] = ()
    intermediates: tuple[Intermediate, ...] = ()
    currents: tuple[Current, ...] = ()
    description: str = ""
    source: Source | None = None
    _trees: Mapping[str, expr.Node] = field(default=None, repr=False, compare=False, hash=False)

    # ---------------------------------------------------------------- reading

    @classmethod
    def from_dict(cls, d: Mapping, *, path: str = "definition", preset: bool = False) -> ModelDescription:
        """Validate the JSON form ``d``; errors name the field under ``path``. ``preset``: the registry's own
        description of a preset, which takes the preset's name (a user's may not)."""
        d = _keys(d, path, ("name", "description", "voltage", "parameters", "states", "intermediates", "currents",
                            "source"))  # fmt: skip
        name = _str(d, "name", path, required=True)
        if not _is_identifier(name):
            raise DescriptionError(f"{path}.name: {name!r} is not a name (letters, digits, _; not starting with a digit)")
        from .presets import PRESET_NAMES  # a user's model may not take a preset's name: the name selects one

        if name in PRESET_NAMES and not preset:
            raise DescriptionError(f"{path}.name: {name!r} is the name of a preset; choose another")
        vd = _keys(d.get("voltage"), f"{path}.voltage", ("name", "units", "initial"))
        voltage = Voltage(_str(vd, "name", f"{path}.voltage", required=True), _str(vd, "units", f"{path}.voltage") or "mV",
                          _float(vd, "initial", f"{path}.voltage", 0.0))  # fmt: skip
        params = []
        for k, pd in enumerate(_list(d, "parameters", path)):
            p = f"{path}.parameters[{k}]"
            pd = _keys(pd, p, ("name", "value", "units", "min", "max", "description"))
            params.append(Parameter(_str(pd, "name", p, required=True), _float(pd, "value", p, 0.0),
                                    _str(pd, "units", p), _float(pd, "min", p, -math.inf),
                                    _float(pd, "max", p, math.inf), _str(pd, "description", p)))  # fmt: skip
        states = []
        for k, sd in enumerate(_list(d, "states", path)):
            p = f"{path}.states[{k}]"
            sd = _keys(sd, p, ("name", "units", "initial", "gate", "derivative", "description"))
            gate = None
            if "gate" in sd:
                gd = _keys(sd["gate"], f"{p}.gate", ("inf", "tau", "alpha", "beta", "instantaneous"))
                inst = gd.get("instantaneous", False)
                if not isinstance(inst, bool):
                    raise DescriptionError(f"{p}.gate.instantaneous: must be true or false, got {inst!r}")
                gate = Gate(*(_str(gd, key, f"{p}.gate") for key in ("inf", "tau", "alpha", "beta")), inst)
            states.append(State(_str(sd, "name", p, required=True), _float(sd, "initial", p, 0.0),
                                _str(sd, "units", p) or "1", gate, _str(sd, "derivative", p),
                                _str(sd, "description", p)))  # fmt: skip
        inters = []
        for k, xd in enumerate(_list(d, "intermediates", path)):
            p = f"{path}.intermediates[{k}]"
            xd = _keys(xd, p, ("name", "expression", "units", "description"))
            inters.append(Intermediate(_str(xd, "name", p, required=True), _str(xd, "expression", p),
                                       _str(xd, "units", p), _str(xd, "description", p)))  # fmt: skip
        currents = []
        for k, cd in enumerate(_list(d, "currents", path)):
            p = f"{path}.currents[{k}]"
            cd = _keys(cd, p, ("name", "expression", "units", "description"))
            currents.append(Current(_str(cd, "name", p, required=True), _str(cd, "expression", p),
                                    _str(cd, "units", p) or "A/F", _str(cd, "description", p)))  # fmt: skip
        source = None
        if "source" in d:
            sd = _keys(d["source"], f"{path}.source", ("file", "sha256"))
            source = Source(_str(sd, "file", f"{path}.source"), _str(sd, "sha256", f"{path}.source"))
        desc = cls(name, voltage, tuple(params), tuple(states), tuple(inters), tuple(currents),
                   _str(d, "description", path), source)  # fmt: skip
        object.__setattr__(desc, "_trees", desc._check(path))
        return desc

    def _check(self, path: str) -> dict[str, expr.Node]:
        """Names unique and well formed, values in range, every expression parsed against the names it
        may use; returns the parsed trees keyed ``"I_Na"``, ``"m.inf"``, ``"ca.derivative"``."""
        seen: dict[str, str] = {}

        def claim(name: str, where: str) -> None:
            if not _is_identifier(name) or name in RESERVED_NAMES:
                raise DescriptionError(f"{where}.name: {name!r} cannot name a variable (letters, digits and _, not "
                                       f"starting with a digit or '__', not one of {', '.join(sorted(RESERVED_NAMES))})")
            if name in seen:
                raise DescriptionError(f"{where}.name: {name!r} is already the name of {seen[name]}")
            seen[name] = where

        claim(self.voltage.name, f"{path}.voltage")
        for k, p in enumerate(self.parameters):
            where = f"{path}.parameters[{k}]"
            claim(p.name, where)
            if not (math.isfinite(p.value) and p.min <= p.value <= p.max) or math.isnan(p.min) or math.isnan(p.max):
                raise DescriptionError(f"{where}.value: {p.name} = {p.value!r} is outside its range [{p.min}, {p.max}]")
        if not self.states and not self.currents:
            raise DescriptionError(f"{path}: a model needs at least one state or current")
        for k, s in enumerate(self.states):
            claim(s.name, f"{path}.states[{k}]")
            if not math.isfinite(s.initial):
                raise DescriptionError(f"{path}.states[{k}].initial: {s.initial!r} is not finite")
        for k, x in enumerate(self.intermediates):
            claim(x.name, f"{path}.intermediates[{k}]")
        for k, c in enumerate(self.currents):
            claim(c.name, f"{path}.currents[{k}]")
        if not math.isfinite(self.voltage.initial):
            raise DescriptionError(f"{path}.voltage.initial: {self.voltage.initial!r} is not finite")

        v = self.voltage.name
        pnames = [p.name for p in self.parameters]
        snames = [s.name for s in self.states]
        trees: dict[str, expr.Node] = {}
        earlier: list[str] = []
        for k, x in enumerate(self.intermediates):
            trees[x.name] = _parse(x.expression, f"{path}.intermediates[{k}].expression", x.name,
                                   [v, *pnames, *snames, *earlier])  # fmt: skip
            earlier.append(x.name)
        for k, c in enumerate(self.currents):
            trees[c.name] = _parse(c.expression, f"{path}.currents[{k}].expression", c.name,
                                   [v, *pnames, *snames, *earlier])  # fmt: skip
        cnames = [c.name for c in self.currents]
        for k, s in enumerate(self.states):
            where = f"{path}.states[{k}]"
            if (s.gate is None) == (not s.derivative):
                raise DescriptionError(f"{where}: state {s.name!r} needs exactly one of 'gate' and 'derivative'")
            if s.gate is None:
                trees[f"{s.name}.derivative"] = _parse(s.derivative, f"{where}.derivative", s.name,
                                                       [v, *pnames, *snames, *earlier, *cnames])  # fmt: skip
                continue
            g = s.gate
            if g.instantaneous:
                if not g.inf or g.tau or g.alpha or g.beta:
                    raise DescriptionError(f"{where}.gate: the instantaneous gate {s.name!r} needs 'inf' and nothing "
                                           f"else (it is always at its steady state)")
            elif bool(g.inf) != bool(g.tau) or bool(g.alpha) != bool(g.beta) or bool(g.inf) == bool(g.alpha):
                raise DescriptionError(f"{where}.gate: gate {s.name!r} needs either 'inf' and 'tau' or 'alpha' and "
                                       f"'beta' (or 'inf' with 'instantaneous': true)")
            for key in g.keys:
                trees[f"{s.name}.{key}"] = _parse(getattr(g, key), f"{where}.gate.{key}", f"{s.name}.{key}",
                                                  [v, *pnames], gate=True)  # fmt: skip
        return trees

    def to_dict(self) -> dict:
        """The JSON form (the proto's, snake_case); infinite bounds are left out."""
        out: dict = {"name": self.name}
        if self.description:
            out["description"] = self.description
        out["voltage"] = {"name": self.voltage.name, "units": self.voltage.units, "initial": self.voltage.initial}
        out["parameters"] = []
        for p in self.parameters:
            pd = {"name": p.name, "value": p.value, "units": p.units}
            if math.isfinite(p.min):
                pd["min"] = p.min
            if math.isfinite(p.max):
                pd["max"] = p.max
            if p.description:
                pd["description"] = p.description
            out["parameters"].append(pd)
        out["states"] = []
        for s in self.states:
            sd: dict = {"name": s.name, "units": s.units, "initial": s.initial}
            if s.gate is not None:
                sd["gate"] = {k: getattr(s.gate, k) for k in ("inf", "tau", "alpha", "beta") if getattr(s.gate, k)}
                if s.gate.instantaneous:
                    sd["gate"]["instantaneous"] = True
            else:
                sd["derivative"] = s.derivative
            if s.description:
                sd["description"] = s.description
            out["states"].append(sd)
        for key, items in (("intermediates", self.intermediates), ("currents", self.currents)):
            out[key] = [{"name": x.name, "expression": x.expression, "units": x.units,
                         **({"description": x.description} if x.description else {})} for x in items]  # fmt: skip
        if self.source is not None:
            out["source"] = {"file": self.source.file, "sha256": self.source.sha256}
        return out

    # ---------------------------------------------------------------- derived

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 (hex) of what the kernels depend on: names, order, units and expressions.

        Parameter values, bounds, initial values, descriptions and the source do not change the
        generated code (values are passed to the kernel), so they are left out.
        """
        d = self.to_dict()
        key = {
            "voltage": [d["voltage"]["name"], d["voltage"]["units"]],
            "parameters": [p["name"] for p in d["parameters"]],
            "states": [{k: v for k, v in s.items() if k not in ("initial", "description")} for s in d["states"]],
            "intermediates": [[x["name"], x["expression"]] for x in d["intermediates"]],
            "currents": [[x["name"], x["expression"]] for x in d["currents"]],
        }
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()

    def tree(self, key: str) -> expr.Node:
        """The parsed expression ``key`` (``"I_Na"``, ``"m.tau"``, ``"ca.derivative"``, an intermediate)."""
        return self._trees[key]

    @property
    def state_names(self) -> tuple[str, ...]:
        """Kernel order: the voltage, then the states."""
        return (self.voltage.name, *(s.name for s in self.states))

    @property
    def param_names(self) -> tuple[str, ...]:
        """Kernel order of the parameters."""
        return tuple(p.name for p in self.parameters)

    @property
    def dimensionless(self) -> bool:
        """True when the voltage has no unit ("1" or empty): a generic medium, no opsin."""
        return self.voltage.units in ("", "1")


def _is_identifier(name: str) -> bool:
    return bool(name) and name.isidentifier() and name.isascii() and not name.startswith("__")


def _parse(text: str, where: str, name: str, allowed: list[str], *, gate: bool = False) -> expr.Node:
    if not text:
        raise DescriptionError(f"{where}: the expression of {name!r} is empty")
    try:
        return expr.parse(text, where=f"{where} ({name})", allowed_names=allowed)
    except expr.ExpressionError as err:
        if gate and err.problem.startswith("unknown name"):
            raise DescriptionError(f"{err} (a gate is a function of the voltage and parameters only)") from None
        raise DescriptionError(str(err)) from None
