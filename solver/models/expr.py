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

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

__all__ = [
    "BinOp", "BoolOp", "Call", "Compare", "ExpressionError", "FUNCTIONS", "If", "MAX_CHARS", "MAX_DEPTH",
    "MAX_NODES", "Name", "Node", "Not", "Num", "Neg", "evaluate", "names", "parse", "to_cuda", "to_numba",
    "to_numpy",
]  # fmt: skip

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


# ---------------------------------------------------------------------------------------------
# tokens


@dataclass(frozen=True)
class _Tok:
    kind: str  # "num", "name", "op", "end"
    text: str
    col: int  # 1-based


def _tokenize(text: str, where: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r\n":
            i += 1
            continue
        col = i + 1
        if ch.isdigit() or (ch == "." and i + 1 < n and text[i + 1].isdigit()):
            j = i
            while j < n and text[j].isdigit():
                j += 1
            if j < n and text[j] == ".":
                j += 1
                while j < n and text[j].isdigit():
                    j += 1
            if j < n and text[j] in "eE":
                k = j + 1
                if k < n and text[k] in "+-":
                    k += 1
                if k < n and text[k].isdigit():
                    while k < n and text[k].isdigit():
                        k += 1
                    j = k
            if j < n and (text[j].isalpha() or text[j] == "_" or text[j] == "."):
                raise ExpressionError(where, f"malformed number {text[i:j + 1]!r}", col, text)
            toks.append(_Tok("num", text[i:j], col))
            i = j
            continue
        if ch.isalpha() or ch == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            if word.startswith("__"):
                raise ExpressionError(where, f"dunder name {word!r} is not allowed", col, text)
            if word in _FORBIDDEN_WORDS:
                raise ExpressionError(where, f"{word!r} is not part of the expression language", col, text)
            toks.append(_Tok("name", word, col))
            i = j
            continue
        two = text[i:i + 2]
        if two in ("<=", ">=", "==", "!="):
            toks.append(_Tok("op", two, col))
            i += 2
            continue
        if two == "**":
            raise ExpressionError(where, "'**' is not allowed; write a power as a^b", col, text)
        if ch in "+-*/^(),<>":
            toks.append(_Tok("op", ch, col))
            i += 1
            continue
        if ch == ".":
            raise ExpressionError(where, "attribute access ('.') is not allowed", col, text)
        if ch in "[]":
            raise ExpressionError(where, "subscripts ('[...]') are not allowed", col, text)
        raise ExpressionError(where, f"unexpected character {ch!r}", col, text)
    toks.append(_Tok("end", "", n + 1))
    return toks


# ---------------------------------------------------------------------------------------------
# parser (recursive descent; precedence low to high: or, and, not, comparison, + -, * /, unary -, ^)


class _Parser:
    def __init__(self, text: str, where: str, allowed: frozenset[str] | None) -> None:
        self.text, self.where, self.allowed = text, where, allowed
        self.toks = _tokenize(text, where)
        self.pos = 0
        self.nodes = 0
        self.depth = 0

    # helpers
    def peek(self) -> _Tok:
        return self.toks[self.pos]

    def take(self) -> _Tok:
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def fail(self, problem: str, tok: _Tok | None = None) -> ExpressionError:
        return ExpressionError(self.where, problem, (tok or self.peek()).col, self.text)

    def expect(self, text: str) -> _Tok:
        tok = self.peek()
        if tok.text != text or tok.kind not in ("op",):
            got = "the end" if tok.kind == "end" else repr(tok.text)
            raise self.fail(f"expected {text!r}, found {got}")
        return self.take()

    def node(self, node: Node, tok: _Tok) -> Node:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(f"expression too large (more than {MAX_NODES} nodes)", tok)
        return node

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"expression nested too deeply (more than {MAX_DEPTH} levels)")

    def leave(self) -> None:
        self.depth -= 1

    def num(self, node: Node, tok: _Tok, what: str) -> Node:
        if isinstance(node, _BOOL_NODES):
            raise self.fail(f"{what} must be a number, not a truth value", tok)
        return node

    def cond(self, node: Node, tok: _Tok, what: str) -> Node:
        if not isinstance(node, _BOOL_NODES):
            raise self.fail(f"{what} must be a truth value (a comparison, and, or, not)", tok)
        return node

    # grammar
    def parse(self) -> Node:
        if not self.text.strip():
            raise ExpressionError(self.where, "empty expression")
        tok = self.peek()
        node = self.or_()
        end = self.peek()
        if end.kind != "end":
            raise self.fail(f"unexpected {end.text!r}", end)
        return self.num(node, tok, "the expression")

    def or_(self) -> Node:
        self.enter()
        tok = self.peek()
        left = self.and_()
        while self.peek().kind == "name" and self.peek().text == "or":
            op = self.take()
            right = self.and_()
            left = self.node(BoolOp("or", self.cond(left, tok, "'or' operand"),
                                    self.cond(right, op, "'or' operand")), op)  # fmt: skip
        self.leave()
        return left

    def and_(self) -> Node:
        tok = self.peek()
        left = self.not_()
        while self.peek().kind == "name" and self.peek().text == "and":
            op = self.take()
            right = self.not_()
            left = self.node(BoolOp("and", self.cond(left, tok, "'and' operand"),
                                    self.cond(right, op, "'and' operand")), op)  # fmt: skip
        return left

    def not_(self) -> Node:
        tok = self.peek()
        if tok.kind == "name" and tok.text == "not":
            self.take()
            self.enter()
            operand = self.not_()
            self.leave()
            return self.node(Not(self.cond(operand, tok, "'not' operand")), tok)
        return self.comparison()

    def comparison(self) -> Node:
        tok = self.peek()
        left = self.additive()
        if self.peek().kind == "op" and self.peek().text in _COMPARISONS:
            op = self.take()
            right = self.additive()
            if self.peek().kind == "op" and self.peek().text in _COMPARISONS:
                raise self.fail("chained comparisons are not allowed; join them with 'and'")
            return self.node(Compare(op.text, self.num(left, tok, "a compared value"),
                                     self.num(right, op, "a compared value")), op)  # fmt: skip
        return left

    def additive(self) -> Node:
        tok = self.peek()
        left = self.term()
        while self.peek().kind == "op" and self.peek().text in "+-":
            op = self.take()
            right = self.term()
            left = self.node(BinOp(op.text, self.num(left, tok, "an operand of " + op.text),
                                   self.num(right, op, "an operand of " + op.text)), op)  # fmt: skip
        return left

    def term(self) -> Node:
        tok = self.peek()
        left = self.unary()
        while self.peek().kind == "op" and self.peek().text in "*/":
            op = self.take()
            right = self.unary()
            left = self.node(BinOp(op.text, self.num(left, tok, "an operand of " + op.text),
                                   self.num(right, op, "an operand of " + op.text)), op)  # fmt: skip
        return left

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind == "op" and tok.text in "+-":
            self.take()
            self.enter()
            operand = self.num(self.unary(), tok, "the operand of a sign")
            self.leave()
            return operand if tok.text == "+" else self.node(Neg(operand), tok)
        return self.power()

    def power(self) -> Node:
        tok = self.peek()
        base = self.primary()
        if self.peek().kind == "op" and self.peek().text == "^":
            op = self.take()
            self.enter()
            exponent = self.unary()  # right-associative; a^-b allowed
            self.leave()
            return self.node(BinOp("^", self.num(base, tok, "a base"), self.num(exponent, op, "an exponent")), op)
        return base

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "num":
            try:
                value = float(tok.text)
            except ValueError:
                raise self.fail(f"malformed number {tok.text!r}", tok) from None
            if not math.isfinite(value):
                raise self.fail(f"number {tok.text!r} is not finite", tok)
            return self.node(Num(value), tok)
        if tok.kind == "op" and tok.text == "(":
            self.enter()
            inner = self.or_()
            self.leave()
            self.expect(")")
            return inner
        if tok.kind == "name":
            if self.peek().kind == "op" and self.peek().text == "(":
                return self.call(tok)
            if tok.text in _KEYWORDS:
                raise self.fail(f"{tok.text!r} cannot be used as a value", tok)
            if tok.text in FUNCTIONS:
                raise self.fail(f"function {tok.text!r} used without arguments", tok)
            if self.allowed is not None and tok.text not in self.allowed:
                shown = ", ".join(sorted(self.allowed)[:30])
                raise self.fail(f"unknown name {tok.text!r}; allowed: {shown or 'none'}", tok)
            return self.node(Name(tok.text), tok)
        got = "the end" if tok.kind == "end" else repr(tok.text)
        raise self.fail(f"expected a number, a name or '(', found {got}", tok)

    def call(self, tok: _Tok) -> Node:
        func = tok.text
        if func not in FUNCTIONS:
            raise self.fail(f"call of {func!r} is not allowed; allowed functions: {', '.join(FUNCTIONS)}", tok)
        self.expect("(")
        self.enter()
        args: list[Node] = []
        starts: list[_Tok] = []
        if not (self.peek().kind == "op" and self.peek().text == ")"):
            while True:
                starts.append(self.peek())
                args.append(self.or_())
                if self.peek().kind == "op" and self.peek().text == ",":
                    self.take()
                    continue
                break
        self.expect(")")
        self.leave()
        lo, hi = FUNCTIONS[func]
        if len(args) < lo or (hi is not None and len(args) > hi):
            want = f"{lo}" if lo == hi else (f"at least {lo}" if hi is None else f"{lo} to {hi}")
            raise self.fail(f"{func}() takes {want} arguments, got {len(args)}", tok)
        if func == "if":
            cond = self.cond(args[0], starts[0], "the condition of if()")
            return self.node(If(cond, self.num(args[1], starts[1], "a branch of if()"),
                                self.num(args[2], starts[2], "a branch of if()")), tok)  # fmt: skip
        for a, s in zip(args, starts):
            self.num(a, s, f"an argument of {func}()")
        return self.node(Call(func, tuple(args)), tok)


def parse(text: str, *, where: str = "expression", allowed_names: Iterable[str] | None = None) -> Node:
    """Parse ``text`` into a tree of the node types of this module.

    Parameters
    ----------
    text : str
        The expression.
    where : str
        The variable it defines (``states[2].gate.tau``), for the messages.
    allowed_names : iterable of str, optional
        The names it may use; others are refused naming the allowed ones. None: any name.

    Raises
    ------
    ExpressionError
        Malformed, refused or oversized expressions.
    """
    if not isinstance(text, str):
        raise ExpressionError(where, f"an expression must be a string, got {type(text).__name__}")
    if len(text) > MAX_CHARS:
        raise ExpressionError(where, f"expression too long ({len(text)} characters; at most {MAX_CHARS})")
    allowed = None if allowed_names is None else frozenset(allowed_names)
    return _Parser(text, where, allowed).parse()


# ---------------------------------------------------------------------------------------------
# analysis


def names(node: Node) -> frozenset[str]:
    """Every name the expression uses."""
    out: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Name):
            out.add(n.id)
        elif isinstance(n, (Neg, Not)):
            stack.append(n.operand)
        elif isinstance(n, (BinOp, Compare, BoolOp)):
            stack.extend((n.left, n.right))
        elif isinstance(n, Call):
            stack.extend(n.args)
        elif isinstance(n, If):
            stack.extend((n.cond, n.then, n.other))
    return frozenset(out)


# ---------------------------------------------------------------------------------------------
# evaluation and emitters

_NP_FUNCS = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs, "tanh": np.tanh}
_NP_CMP = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal, "==": np.equal,
           "!=": np.not_equal}  # fmt: skip


def evaluate(node: Node, env: Mapping[str, object]) -> np.ndarray | float:
    """The value of the tree with NumPy (arrays broadcast); names are looked up in ``env``."""
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Name):
        return env[node.id]
    if isinstance(node, Neg):
        return -evaluate(node.operand, env)
    if isinstance(node, BinOp):
        a, b = evaluate(node.left, env), evaluate(node.right, env)
        if node.op == "+":
            return a + b
        if node.op == "-":
            return a - b
        if node.op == "*":
            return a * b
        if node.op == "/":
            return np.true_divide(a, b)
        return np.power(a, b)
    if isinstance(node, Call):
        args = [evaluate(a, env) for a in node.args]
        if node.func == "pow":
            return np.power(args[0], args[1])
        if node.func in ("min", "max"):
            f = np.minimum if node.func == "min" else np.maximum
            out = args[0]
            for a in args[1:]:
                out = f(out, a)
            return out
        return _NP_FUNCS[node.func](args[0])
    if isinstance(node, Compare):
        return _NP_CMP[node.op](evaluate(node.left, env), evaluate(node.right, env))
    if isinstance(node, BoolOp):
        f = np.logical_and if node.op == "and" else np.logical_or
        return f(evaluate(node.left, env), evaluate(node.right, env))
    if isinstance(node, Not):
        return np.logical_not(evaluate(node.operand, env))
    if isinstance(node, If):
        return np.where(evaluate(node.cond, env), evaluate(node.then, env), evaluate(node.other, env))
    raise TypeError(f"not an expression node: {node!r}")


def _num_literal(value: float) -> str:
    text = repr(float(value))
    return f"({text})" if value < 0 else text


def _exponent(node: Node, e: Callable[[Node], str]) -> str:
    # a small whole exponent as an integer literal: numba then multiplies instead of calling pow
    if isinstance(node, Num) and node.value == int(node.value) and abs(node.value) <= 16:
        return f"({int(node.value)})" if node.value < 0 else str(int(node.value))
    return e(node)


def _emit(node: Node, name_of: Callable[[str], str], scalar: bool, mod: str) -> str:
    def e(n: Node) -> str:
        return _emit(n, name_of, scalar, mod)

    if isinstance(node, Num):
        return _num_literal(node.value)
    if isinstance(node, Name):
        return name_of(node.id)
    if isinstance(node, Neg):
        return f"(-{e(node.operand)})"
    if isinstance(node, BinOp):
        if node.op == "^":
            return f"({e(node.left)} ** {_exponent(node.right, e)})"
        return f"({e(node.left)} {node.op} {e(node.right)})"
    if isinstance(node, Call):
        args = [e(a) for a in node.args]
        if node.func == "pow":
            return f"({args[0]} ** {_exponent(node.args[1], e)})"
        if node.func in ("min", "max"):
            if scalar:
                return f"{node.func}({', '.join(args)})"
            f = f"{mod}.minimum" if node.func == "min" else f"{mod}.maximum"
            out = args[0]
            for a in args[1:]:
                out = f"{f}({out}, {a})"
            return out
        if node.func == "abs":
            return f"abs({args[0]})" if scalar else f"{mod}.abs({args[0]})"
        return f"{mod}.{node.func}({args[0]})"
    if isinstance(node, Compare):
        return f"({e(node.left)} {node.op} {e(node.right)})"
    if isinstance(node, BoolOp):
        if scalar:
            return f"({e(node.left)} {node.op} {e(node.right)})"
        f = "logical_and" if node.op == "and" else "logical_or"
        return f"{mod}.{f}({e(node.left)}, {e(node.right)})"
    if isinstance(node, Not):
        return f"(not {e(node.operand)})" if scalar else f"{mod}.logical_not({e(node.operand)})"
    if isinstance(node, If):
        if scalar:
            return f"({e(node.then)} if {e(node.cond)} else {e(node.other)})"
        return f"{mod}.where({e(node.cond)}, {e(node.then)}, {e(node.other)})"
    raise TypeError(f"not an expression node: {node!r}")


def to_numpy(node: Node, name_of: Callable[[str], str] = str, *, module: str = "np") -> str:
    """NumPy source of the tree (array-valued; ``module`` is the name NumPy is imported as)."""
    return _emit(node, name_of, False, module)


def to_numba(node: Node, name_of: Callable[[str], str] = str, *, module: str = "math") -> str:
    """Scalar source for a numba ``njit`` function (``module`` is the name ``math`` is imported as)."""
    return _emit(node, name_of, True, module)


def to_cuda(node: Node, name_of: Callable[[str], str] = str, *, module: str = "math") -> str:
    """Scalar source for a numba.cuda device function (the ``math`` functions numba.cuda supports)."""
    return _emit(node, name_of, True, module)
