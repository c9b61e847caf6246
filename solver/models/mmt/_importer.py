"""One pass over a parsed Myokit model, from which the description's JSON form is written."""
from __future__ import annotations

import keyword
import re
from pathlib import Path

from ..description import RESERVED_NAMES
from ..expr import ExpressionError, parse
from ._currents import DvDtTerms
from ._errors import MmtError, line_of
from ._text import Unsayable, to_text

_V_NAMES = ("V", "v", "Vm")
#: The name of the current made of dV/dt's terms that are not a named variable.
LUMPED_CURRENT = "I_ion"


class Importer(DvDtTerms):
    """One pass over a parsed Myokit model; :meth:`description` is the result."""

    def __init__(self, myokit, model, path: Path):
        self.myokit, self.model, self.path = myokit, model, path
        self.v = self._membrane_potential()
        self.time = model.time()
        self.stimulus = self._zero_stimulus()
        model.validate()   # recomputes which variables are constant now that the pacing is zero
        self.forms = self._hh_forms()   # before the time is converted: that divides each dot(x) by a factor
        self.ms_per_time_unit = 1.0
        self._convert_units()

    # -- errors -------------------------------------------------------------------------------------------
    def error(self, message: str, var=None) -> MmtError:
        return MmtError(self.path, message, line=line_of(var) if var is not None else None,
                        variable=var.qname() if var is not None else None)

    # -- the membrane potential and the stimulus ------------------------------------------------------------
    def _membrane_potential(self):
        v = self.model.label("membrane_potential")
        if v is None:
            for comp in self.model.components():
                if comp.name() == "membrane":
                    v = next((comp.var(n) for n in _V_NAMES if comp.has_variable(n)), None)
        if v is None:
            raise self.error("no membrane potential: label its state `label membrane_potential`, or name it V in a "
                             "[membrane] component")
        if not v.is_state():
            raise self.error("the membrane potential must be a state (dot(V) = ...)", v)
        return v

    def _zero_stimulus(self) -> set:
        """Set the pacing and the stimulus current to 0; the variables whose terms of dV/dt are dropped.

        The term of the labelled stimulus current is dropped; a term that uses the pacing is dropped when it is
        zero once the pacing is (``i_stim = pace * amplitude``), else kept (and refused if it depends on time).
        """
        self.pace = self.model.binding("pace")
        # inputs a Myokit simulator supplies: the coupling of a multi-cell simulation is optowave's own (its
        # term is dropped like the stimulus); the rest (realtime, evaluations...) a model may not use
        bound = {label: var for label, var in self.model.bindings() if label != "time"}
        self.unsupplied = {var: label for label, var in bound.items() if label not in ("pace", "diffusion_current")}
        dropped = {bound["diffusion_current"]} if "diffusion_current" in bound else set()
        for var in bound.values():
            var.set_binding(None)
            var.set_rhs(self.myokit.Number(0))
        stim = self.model.label("stimulus_current")
        if stim is not None:
            if stim.is_state():
                raise self.error("the stimulus current must not be a state", stim)
            stim.set_rhs(self.myokit.Number(0))
            dropped.add(stim)
        return dropped

    def _convert_units(self) -> None:
        """V in mV and time in ms: a file that declares other units (V, s) is converted by Myokit's own rules."""
        units = self.myokit.units
        for var, unit, what in ((self.v, units.mV, "the membrane potential"), (self.time, units.ms, "the time")):
            if var is None or var.unit() is None or var.unit() == unit:
                continue
            try:   # scales the variable, its initial value and every reference to it (dot() for the time)
                factor = float(self.myokit.Unit.conversion_factor(var.unit(), unit).value())
                var.convert_unit(unit)
            except self.myokit.IncompatibleUnitError:
                raise self.error(f"{what} is in {var.unit()}, which cannot be converted to {unit}; optowave's "
                                 "models are in mV and ms", var) from None
            if var is self.time:
                self.ms_per_time_unit = factor
        self.model.validate()

    # -- the description ------------------------------------------------------------------------------------
    def description(self) -> dict:
        model, v = self.model, self.v
        others = [x for x in model.states() if x is not v]
        params = lambda var: var.is_literal() and var is not v and not var.is_state()   # noqa: E731
        keep = lambda var: var is v or params(var)   # noqa: E731  (what a gate may refer to)

        gates = {}
        for x in others:
            gates[x] = self._gate(x, keep)
        currents = self._currents()

        # What the kept expressions use: intermediates are by name; gates and currents inline their own
        expressions = [x.rhs() for x in others if gates[x] is None]
        stop_at = lambda var: var.is_state() or params(var) or var is self.time   # noqa: E731
        needed = set()
        for e in expressions:
            needed |= self._deep(e, stop_at)
        for var, expr in currents:   # a current's own variable is written in place (``inline`` below)
            needed |= self._deep(expr, stop_at) - {var}
        for x, gate in gates.items():
            if gate is not None:
                # written out in V and parameters (``gate_inline``): only the parameters are needed
                needed |= {u for e in gate.values() for u in self._deep(e, keep) if params(u)}
        if self.time in needed:
            user = next(u for u in needed if u is not self.time and self.time in self._names(u.rhs()))
            raise self.error("depends on the time; optowave's models are autonomous (switch stimuli off with "
                             "`label stimulus_current` or `bind pace`)", user)
        for u in needed & set(self.unsupplied):
            user = next((w for w in needed if u in self._names(w.rhs())), u)
            raise self.error(f"uses {u.qname()}, bound to {self.unsupplied[u]!r}, which optowave does not supply "
                             "(it supplies none of a Myokit simulation's inputs; pace and the stimulus are off)", user)
        intermediates = [u for u in self._order(needed) if not u.is_state() and not params(u)]
        parameters = sorted((u for u in needed if params(u)), key=lambda u: line_of(u) or 0)
        own = [var for var, _ in currents if var is not None and var not in needed]   # written in place
        self.name = self._namer([v, *others, *parameters, *intermediates, *own])

        def text(expr, owner, *, inline=lambda var: None) -> str:
            try:
                out = to_text(expr, self._name_of, inline=inline)
            except Unsayable as exc:
                inner = getattr(exc, "variable", None)
                raise self.error(f"uses {exc}", owner if inner is None else inner) from None
            try:   # the language's own limits (size, depth) hold for what is written here too
                parse(out, where=owner.qname())
            except ExpressionError as exc:
                raise self.error(f"written out, its expression is refused: {exc.problem}", owner) from None
            return out

        def gate_inline(var):
            return None if keep(var) else var.rhs()

        states = []
        init = dict(zip(model.states(), model.initial_values(as_floats=True)))
        for x in others:
            entry = {"name": self.name[x], "units": _unit(x, "1")}
            entry["initial"] = init[x]
            if gates[x] is not None:
                entry["gate"] = {k: text(e, x, inline=gate_inline) for k, e in gates[x].items()}
            else:
                entry["derivative"] = text(x.rhs(), x)
            states.append(_described(entry, x))

        out = {
            "name": self._model_name(),
            "description": (model.meta.get("desc") or "").strip(),
            "voltage": {"name": self.name[v], "units": "mV", "initial": init[v]},
            "parameters": [self._parameter(u) for u in parameters],
            "states": states,
            "intermediates": [_described({"name": self.name[u], "expression": text(u.rhs(), u), "units": _unit(u, "")},
                                         u) for u in intermediates],
            "currents": [],
        }
        used = set(self.name.values())
        for var, expr in currents:
            if var is None:
                name, inline = _fresh(LUMPED_CURRENT, used), (lambda u: None)
            elif var in own:
                name, inline = self.name[var], (lambda u, var=var: u.rhs() if u is var else None)
            else:   # also used elsewhere: an intermediate of its own name, referred to here
                name, inline = _fresh(f"{self.name[var]}_current", used), (lambda u: None)
            used.add(name)
            current = {"name": name, "expression": text(expr, v if var is None else var, inline=inline), "units": "A/F"}
            out["currents"].append(current if var is None else _described(current, var))
        return out

    def _model_name(self) -> str:
        """The model's name as a description name (an identifier that is not a preset's name)."""
        from .. import MODELS

        name = re.sub(r"[^A-Za-z0-9_]+", "_", self.model.name() or self.path.name.split(".")[0]).strip("_") or "model"
        name = f"m_{name}" if name[0].isdigit() else name
        return f"{name}_mmt" if name in MODELS else name

    def _hh_forms(self) -> dict:
        """{state qname: ((key, variable qname), ...)} of the states in HH form (``myokit.lib.hh``)."""
        hh, out = self.myokit.lib.hh, {}
        for x in self.model.states():
            if x is self.v:
                continue
            found, keys = hh.get_alpha_and_beta(x, self.v), ("alpha", "beta")
            if found is None:
                found, keys = hh.get_inf_and_tau(x, self.v), ("inf", "tau")
            if found is not None:
                out[x.qname()] = tuple((k, var.qname()) for k, var in zip(keys, found))
        return out

    def _gate(self, x, keep) -> dict | None:
        """The gate's expressions (alpha/beta or inf/tau, Myokit expressions in ms) when x is in HH form."""
        m = self.myokit
        if x.qname() not in self.forms:
            return None
        exprs = {k: m.Name(self.model.get(q)) for k, q in self.forms[x.qname()]}
        f = self.ms_per_time_unit
        if f != 1.0:   # a model in seconds: tau in ms, alpha and beta per ms
            exprs = {k: m.Multiply(e, m.Number(f)) if k == "tau" else e if k == "inf" else m.Divide(e, m.Number(f))
                     for k, e in exprs.items()}
        # Myokit allows any non-state variable; the description's gates are functions of V and parameters only
        for e in exprs.values():
            if any(not keep(u) and (u.is_state() or u is self.time)
                   for u in self._deep(e, lambda u: keep(u) or u.is_state())):
                return None
        return exprs

    def _order(self, variables: set) -> list:
        """The variables, each after every variable of the set it uses (Myokit's models have no cycles)."""
        done, out = set(), []

        def visit(var, trail):
            if var in done:
                return
            if var in trail:
                raise self.error("is defined in terms of itself", var)
            for u in sorted(self._names(var.rhs()) & variables, key=lambda u: u.qname()):
                if not u.is_state():
                    visit(u, trail | {var})
            done.add(var)
            out.append(var)

        for var in sorted(variables, key=lambda u: (line_of(u) or 0, u.qname())):
            visit(var, frozenset())
        return out

    def _namer(self, variables: list) -> dict:
        """A name per variable: its own where unique and not a word of the language, else component_name."""
        count = {}
        for var in variables:
            count[var.name()] = count.get(var.name(), 0) + 1
        used, out = set(), {}
        for var in variables:
            base = var.name()
            if count[base] > 1 or base in RESERVED_NAMES or keyword.iskeyword(base):
                base = var.qname().replace(".", "_")
            out[var] = _fresh(base, used)
            used.add(out[var])
        return out

    def _name_of(self, var) -> str:
        if var is self.time:
            raise Unsayable("the time, which optowave's models cannot depend on")
        try:
            return self.name[var]
        except KeyError:   # a variable the walk did not keep: a bug in this module, not the user's file
            raise Unsayable(f"{var.qname()}, which the description does not hold") from None

    def _parameter(self, var) -> dict:
        return _described({"name": self.name[var], "value": float(var.eval()), "units": _unit(var, "")}, var)


def _described(entry: dict, var) -> dict:
    """The entry with the variable's ``desc:`` meta-data as its description, where the file gives one."""
    desc = var.meta.get("desc") if var.meta else None
    return {**entry, "description": str(desc).strip()} if desc else entry


def _unit(var, default: str) -> str:
    unit = var.unit()
    return default if unit is None else str(unit).strip("[]")


def _fresh(base: str, used: set) -> str:
    name, k = base, 2
    while name in used or name in RESERVED_NAMES:
        name, k = f"{base}_{k}", k + 1
    return name
