"""The safe expression language of cell-model descriptions.

An expression is parsed by a small parser of its own into the node types below and never evaluated
as Python. The language: numbers, names (the membrane potential, states, parameters, intermediates),
``+ - * /``, ``^`` (power, right-associative), unary ``-``, parentheses, the functions
``exp log sqrt pow abs min max tanh``, comparisons ``< <= > >= == !=``, ``and``/``or``/``not`` and
``if(cond, a, b)``. Every node is typed: numbers or truth values; a truth value is only allowed
where a condition is expected, and an expression is a number.

From a tree come: a tree-walking NumPy evaluation (:func:`evaluate`), and source text for NumPy
(:func:`to_numpy`), numba scalar code (:func:`to_numba`) and numba.cuda device code
(:func:`to_cuda`); the emitters take a function that says what each name becomes in the target.
Errors are :class:`ExpressionError` (a ``ValueError``) naming the variable (``where``), the column
and what is allowed.
"""

from __future__ import annotations

from ._emit import evaluate, to_cuda, to_numba, to_numpy
from ._nodes import (FUNCTIONS, MAX_CHARS, MAX_DEPTH, MAX_NODES, BinOp, BoolOp, Call, Compare, ExpressionError, If,
                     Name, Neg, Node, Not, Num)
from ._parse import library_calls, names, parse, walk

__all__ = [
    "BinOp", "BoolOp", "Call", "Compare", "ExpressionError", "FUNCTIONS", "If", "MAX_CHARS", "MAX_DEPTH",
    "MAX_NODES", "Name", "Node", "Not", "Num", "Neg", "evaluate", "library_calls", "names", "parse", "to_cuda",
    "to_numba", "to_numpy", "walk",
]  # fmt: skip
