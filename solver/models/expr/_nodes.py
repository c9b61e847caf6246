"""The expression language's node types, limits, functions and error (see :mod:`solver.models.expr`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: Limits that refuse oversized expressions (characters of the text, nodes of the tree, nesting depth).
MAX_CHARS = 4000
MAX_NODES = 1000
MAX_DEPTH = 40

#: Allowed functions and their numbers of arguments (min, max; None: no upper bound).
FUNCTIONS: Mapping[str, tuple[int, int | None]] = {
    "exp": (1, 1), "log": (1, 1), "sqrt": (1, 1), "pow": (2, 2), "abs": (1, 1),
    "min": (2, None), "max": (2, None), "tanh": (1, 1), "if": (3, 3),
}  # fmt: skip

_KEYWORDS = {"and", "or", "not", "if"}
# Python words that are never names here: a clear message rather than "unknown name"
_FORBIDDEN_WORDS = {
    "lambda", "import", "def", "class", "for", "while", "in", "is", "else", "return", "yield", "del",
    "global", "nonlocal", "with", "as", "try", "except", "raise", "from", "assert", "pass", "break",
    "continue", "True", "False", "None", "async", "await", "elif", "finally",
}  # fmt: skip
_COMPARISONS = ("<=", ">=", "==", "!=", "<", ">")


class ExpressionError(ValueError):
    """A malformed or refused expression; the message names the variable and the column."""

    def __init__(self, where: str, problem: str, column: int | None = None, text: str = "") -> None:
        self.where, self.problem, self.column, self.text = where, problem, column, text
        at = f" at column {column}" if column is not None else ""
        shown = text if len(text) <= 80 else text[:77] + "..."
        super().__init__(f"{where}: {problem}{at} in {shown!r}" if text else f"{where}: {problem}{at}")


# ---------------------------------------------------------------------------------------------
# nodes


@dataclass(frozen=True)
class Num:
    """A number literal."""

    value: float


@dataclass(frozen=True)
class Name:
    """A variable: the voltage, a state, a parameter or an intermediate."""

    id: str


@dataclass(frozen=True)
class Neg:
    """Unary minus."""

    operand: Node


@dataclass(frozen=True)
class BinOp:
    """``left op right`` with ``op`` one of ``+ - * / ^``."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    """One of :data:`FUNCTIONS` except ``if``."""

    func: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Compare:
    """``left op right``, a truth value."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class BoolOp:
    """``left and right`` / ``left or right``."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    """``not operand``."""

    operand: Node


@dataclass(frozen=True)
class If:
    """``if(cond, then, other)``."""

    cond: Node
    then: Node
    other: Node


Node = Num | Name | Neg | BinOp | Call | Compare | BoolOp | Not | If
_BOOL_NODES = (Compare, BoolOp, Not)


def small_whole(node: Node) -> bool:
    """A number that is a whole number of magnitude at most 16: as an exponent, numba multiplies."""
    return isinstance(node, Num) and node.value == int(node.value) and abs(node.value) <= 16
