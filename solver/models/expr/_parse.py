"""Tokens and the recursive-descent parser of the expression language, and the names a tree uses."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from ._nodes import (_BOOL_NODES, _COMPARISONS, _FORBIDDEN_WORDS, _KEYWORDS, FUNCTIONS, MAX_CHARS, MAX_DEPTH,
                     MAX_NODES, BinOp, BoolOp, Call, Compare, ExpressionError, If, Name, Neg, Node, Not, Num,
                     small_whole)


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


def walk(node: Node):
    """Every node of the tree, ``node`` first."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, (Neg, Not)):
            stack.append(n.operand)
        elif isinstance(n, (BinOp, Compare, BoolOp)):
            stack.extend((n.left, n.right))
        elif isinstance(n, Call):
            stack.extend(n.args)
        elif isinstance(n, If):
            stack.extend((n.cond, n.then, n.other))


def names(node: Node) -> frozenset[str]:
    """Every name the expression uses."""
    return frozenset(n.id for n in walk(node) if isinstance(n, Name))


def library_calls(node: Node) -> frozenset[str]:
    """The functions the compiled expression calls in the maths library (``exp``, ``log``, ``tanh``, ``pow``
    for a power whose exponent is not a small whole number): a loop around such a call stays scalar."""
    out: set[str] = set()
    for n in walk(node):
        if isinstance(n, Call) and n.func in ("exp", "log", "tanh"):
            out.add(n.func)
        elif (isinstance(n, Call) and n.func == "pow" and not small_whole(n.args[1])) or (
                isinstance(n, BinOp) and n.op == "^" and not small_whole(n.right)):
            out.add("pow")
    return frozenset(out)
