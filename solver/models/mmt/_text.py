"""Myokit expressions written in optowave's expression language (:mod:`solver.models.expr`).

The printer walks a ``myokit.Expression`` tree and writes text the safe parser reads back to the same tree: the
language's ``^``, ``if(c, a, b)``, ``and``/``or``/``not`` and its functions. Operands are parenthesised so
that the order of the floating-point operations is Myokit's own (``a + (b + c)`` stays so), and what the
language cannot say (``sin``, ``floor``, ``%``, a reference to ``dot(x)``...) raises :class:`Unsayable`,
which the importer turns into an error naming the variable and its line.

Myokit is imported lazily by the caller; this module only dispatches on the class names of Myokit's
expression types, so that importing it never needs Myokit.
"""
from __future__ import annotations

from typing import Callable

from ..expr import FUNCTIONS

#: What the language offers, for the messages that refuse the rest.
LANGUAGE_FUNCTIONS = tuple(f for f in FUNCTIONS if f != "if")

# Binding strength of each construct (higher binds tighter); atoms (numbers, names, calls) bind tightest.
_OR, _AND, _NOT, _COMPARE, _SUM, _PRODUCT, _NEGATE, _POWER, _ATOM = range(1, 10)

_INFIX = {   # Myokit class name -> (operator text, strength)
    "Plus": ("+", _SUM), "Minus": ("-", _SUM), "Multiply": ("*", _PRODUCT), "Divide": ("/", _PRODUCT),
    "Power": ("^", _POWER), "Equal": ("==", _COMPARE), "NotEqual": ("!=", _COMPARE), "More": (">", _COMPARE),
    "Less": ("<", _COMPARE), "MoreEqual": (">=", _COMPARE), "LessEqual": ("<=", _COMPARE),
    "And": ("and", _AND), "Or": ("or", _OR),
}
_CALLS = {"Exp": "exp", "Sqrt": "sqrt", "Abs": "abs"}
_MYOKIT_SPELLING = {   # how the refused constructs read in a .mmt file
    "Sin": "sin()", "Cos": "cos()", "Tan": "tan()", "ASin": "asin()", "ACos": "acos()", "ATan": "atan()",
    "Floor": "floor()", "Ceil": "ceil()", "Quotient": "integer division //", "Remainder": "remainder %",
    "Derivative": "a derivative dot()", "PartialDerivative": "a partial derivative", "InitialValue": "init()",
}


class Unsayable(ValueError):
    """A construct of a Myokit expression that optowave's expression language does not have."""


def number_text(value: float) -> str:
    """A float as the shortest text that reads back to the same float (``repr``), integers without ``.0``."""
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise Unsayable(f"the number {value}, which is not finite")
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def to_text(expr, name_of: Callable[[object], str], *, inline: Callable[[object], object | None] = lambda v: None
            ) -> str:
    """The text of a Myokit expression in optowave's expression language.

    Parameters
    ----------
    expr : myokit.Expression
        The expression.
    name_of : callable
        Maps a referenced ``myokit.Variable`` to its name in the description (raises :class:`Unsayable` for a
        variable the description cannot refer to, e.g. the time).
    inline : callable, optional
        Maps a referenced variable to the expression that replaces it (written in its place, in parentheses
        when needed), or None to refer to it by name.
    """
    return _text(expr, name_of, inline)[0]


def _text(e, name_of, inline) -> tuple[str, int]:
    kind = type(e).__name__
    if kind == "Number":
        text = number_text(e.eval())
        return text, _NEGATE if text.startswith("-") else _ATOM
    if kind == "Name":
        replacement = inline(e.var())
        if replacement is not None:
            try:
                return _text(replacement, name_of, inline)
            except Unsayable as exc:   # name the innermost variable written in place: its line holds the fault
                if getattr(exc, "variable", None) is None:   # (a Myokit variable without children is falsy)
                    exc.variable = e.var()
                raise
        return name_of(e.var()), _ATOM
    if kind == "PrefixPlus":
        return _text(e[0], name_of, inline)
    if kind == "PrefixMinus":
        return "-" + _wrap(e[0], _ATOM, name_of, inline), _NEGATE
    if kind == "Not":
        return "not " + _wrap(e[0], _ATOM, name_of, inline), _NOT
    if kind in _INFIX:
        op, strength = _INFIX[kind]
        if kind == "Power":   # right-associative: a^(b^c) needs no parentheses, (a^b)^c does
            left = _wrap(e[0], strength + 1, name_of, inline)
            right = _wrap(e[1], strength, name_of, inline)
        elif strength == _COMPARE:   # never chained: (a < b) < c is not a < b < c
            left = _wrap(e[0], strength + 1, name_of, inline)
            right = _wrap(e[1], strength + 1, name_of, inline)
        else:                 # left-associative: keep Myokit's grouping of the right operand exactly
            left = _wrap(e[0], strength, name_of, inline, leading=True)
            right = _wrap(e[1], strength + 1, name_of, inline)
        return f"{left} {op} {right}", strength
    if kind in _CALLS:
        return f"{_CALLS[kind]}({_text(e[0], name_of, inline)[0]})", _ATOM
    if kind == "Log":
        if len(e) == 1:
            return f"log({_text(e[0], name_of, inline)[0]})", _ATOM
        # log(x, b) = log(x) / log(b), as Myokit evaluates it
        return f"log({_text(e[0], name_of, inline)[0]}) / log({_text(e[1], name_of, inline)[0]})", _PRODUCT
    if kind == "Log10":
        return f"log({_text(e[0], name_of, inline)[0]}) / log(10)", _PRODUCT
    if kind == "If":
        parts = (_text(e[k], name_of, inline)[0] for k in range(3))
        return "if({}, {}, {})".format(*parts), _ATOM
    if kind == "Piecewise":   # piecewise(c1, a1, c2, a2, ..., else): nested ifs, first true condition wins
        ops = list(e)
        text = _text(ops[-1], name_of, inline)[0]
        for k in range(len(ops) - 3, -1, -2):
            text = f"if({_text(ops[k], name_of, inline)[0]}, {_text(ops[k + 1], name_of, inline)[0]}, {text})"
        return text, _ATOM
    what = _MYOKIT_SPELLING.get(kind, kind)
    raise Unsayable(f"{what}, which optowave's expression language does not have (it has + - * / ^, "
                    f"{' '.join(LANGUAGE_FUNCTIONS)}, comparisons, and/or/not and if(c, a, b))")


def _wrap(e, need: int, name_of, inline, *, leading: bool = False) -> str:
    text, strength = _text(e, name_of, inline)
    # a negation is bare only as the left operand of a left-associative operator ("-a / 10" is (-a) / 10 in
    # every grammar); elsewhere it is parenthesised: "a * (-b)", "(-x) ^ 2"
    if strength == _NEGATE and not leading:
        return f"({text})"
    return text if strength >= need else f"({text})"
