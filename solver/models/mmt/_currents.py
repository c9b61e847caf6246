"""The currents of a Myokit model: ``dot(V)`` split into its terms, and the walks over expressions it needs."""
from __future__ import annotations


class DvDtTerms:
    """Splits ``dot(V)`` into currents; mixed into the importer, whose ``myokit``, ``v``, ``time``, ``pace``,
    ``stimulus`` (the variables whose terms are dropped) and ``error`` it uses."""

    # -- walking expressions ------------------------------------------------------------------------------
    def _names(self, expr):
        """The variables an expression refers to (``Name`` leaves)."""
        return {e.var() for e in expr.walk() if type(e).__name__ == "Name"}

    def _deep(self, expr, stop) -> set:
        """Every variable an expression uses, directly or through variables; ``stop(var)`` ends a branch."""
        seen, todo = set(), list(self._names(expr))
        while todo:
            var = todo.pop()
            if var in seen:
                continue
            seen.add(var)
            if not stop(var):
                todo.extend(self._names(var.rhs()))
        return seen

    def _is_constant(self, expr) -> bool:
        return all(var.is_constant() for var in self._names(expr))

    # -- dV/dt's terms -> currents --------------------------------------------------------------------------
    def _split(self, e) -> list[tuple[int, object]]:
        """``e`` as a sum of (sign, term): a constant factor is distributed over a sum, never a state-dependent one."""
        m, kind = self.myokit, type(e).__name__
        if kind == "Plus":
            return self._split(e[0]) + self._split(e[1])
        if kind == "Minus":
            return self._split(e[0]) + [(-s, t) for s, t in self._split(e[1])]
        if kind == "PrefixMinus":
            return [(-s, t) for s, t in self._split(e[0])]
        if kind == "PrefixPlus":
            return self._split(e[0])
        if kind == "Multiply":
            for k in (0, 1):
                terms, factor = self._split(e[k]), e[1 - k]
                if self._currents_sum(terms) and self._is_constant(factor):
                    return [(s, m.Multiply(t, factor) if k == 0 else m.Multiply(factor, t)) for s, t in terms]
        if kind == "Divide":
            terms = self._split(e[0])
            if self._currents_sum(terms) and self._is_constant(e[1]):
                return [(s, m.Divide(t, e[1])) for s, t in terms]
        if kind == "Name" and not e.var().is_state() and not e.var().is_constant():
            terms = self._split(e.var().rhs())   # i_ion = INa + IK + ...: open it when each term is a current
            if self._currents_sum(terms):
                return terms
        return [(1, e)]

    def _currents_sum(self, terms) -> bool:
        """True for a sum of several currents (or the stimulus): ``INa + IK``, not ``g*(V + 40)``."""
        return len(terms) > 1 and all(
            self._current_var(t) is not None or self._deep(t, lambda u: u.is_state()) & (self.stimulus | {self.pace})
            for _, t in terms)

    def _current_var(self, e):
        """The variable a term is (up to constant factors), if it is a non-constant variable; else None."""
        kind = type(e).__name__
        if kind == "Name":
            return None if e.var().is_constant() or e.var().is_state() else e.var()
        if kind in ("PrefixMinus", "PrefixPlus"):
            return self._current_var(e[0])
        if kind == "Multiply":
            for k in (0, 1):
                if self._is_constant(e[1 - k]):
                    return self._current_var(e[k])
        if kind == "Divide" and self._is_constant(e[1]):
            return self._current_var(e[0])
        return None

    def _currents(self) -> list[tuple[str | None, object, object]]:
        """(variable or None, expression of the current, its Myokit variable to inline) per current of dV/dt."""
        named, lumped = [], []
        for sign, term in self._split(self.v.rhs()):
            used = self._deep(term, stop=lambda var: var.is_state() or var in self.stimulus)
            if used & self.stimulus:
                continue
            if self.pace in used and self._is_constant(term) and term.eval() == 0:
                continue   # the pacing's own term, zero now
            if self.time is not None and self.time in used:
                raise self.error("a term of dot(V) depends on the time; label the model's stimulus current "
                                 "`label stimulus_current` or bind its pacing to `pace` so that it can be "
                                 "switched off (optowave stimulates with light and its own currents)", self.v)
            current = self.myokit.PrefixMinus(term) if sign > 0 else term   # I = -dV/dt's part
            var = self._current_var(term)
            if var is not None and var not in (n for n, _ in named):
                named.append((var, current))
            else:
                lumped.append(current)
        if not named and not lumped:
            raise self.error("dot(V) has no ionic current (every term is the stimulus)", self.v)
        out = [(var, expr) for var, expr in named]
        if lumped:
            total = lumped[0]
            for expr in lumped[1:]:
                total = self.myokit.Plus(total, expr)
            out.append((None, total))
        return out
