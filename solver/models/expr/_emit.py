"""A tree's value with NumPy, and its source for NumPy, numba and numba.cuda."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from ._nodes import BinOp, BoolOp, Call, Compare, If, Name, Neg, Node, Not, Num, small_whole

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
    if small_whole(node):
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
