"""The safe expression language: what it refuses, how it reads, and emitted code against NumPy."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from numba import njit

from solver.models import expr

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("v.__class__", "attribute access"),
        ("np.exp(v)", "attribute access"),
        ("v[0]", "subscripts"),
        ("eval(v)", "call of 'eval' is not allowed; allowed functions: exp, log"),
        ("open(v)", "call of 'open' is not allowed"),
        ("__import__(v)", "dunder name '__import__'"),
        ("lambda x: x", "'lambda' is not part of the expression language"),
        ("v ** 2", "'**' is not allowed; write a power as a^b"),
        ("exp(v, 1)", "exp() takes 1 arguments, got 2"),
        ("min(v)", "min() takes at least 2 arguments, got 1"),
        ("if(v, 1, 2)", "the condition of if() must be a truth value"),
        ("(v < 1) + 2", "must be a number, not a truth value"),
        ("v < 1", "the expression must be a number"),
        ("1 < v < 2", "chained comparisons are not allowed"),
        ("v +", "expected a number, a name or '(', found the end"),
        ("(v + 1", "expected ')', found the end"),
        ("1.2.3", "malformed number"),
        ("v; 1", "unexpected character ';'"),
        ("", "empty expression"),
    ],
)
def test_refused_expressions_name_the_variable_and_the_problem(text, message):
    with pytest.raises(expr.ExpressionError) as err:
        expr.parse(text, where="states[2].gate.tau")
    assert str(err.value).startswith("states[2].gate.tau: ")
    assert message in str(err.value)


def test_errors_give_the_column():
    with pytest.raises(expr.ExpressionError, match=r"at column 9") as err:
        expr.parse("1 + v + foo(v)", where="m.tau")
    assert err.value.column == 9 and err.value.where == "m.tau"


def test_unknown_names_are_refused_listing_the_allowed_ones():
    with pytest.raises(expr.ExpressionError, match=r"m.inf: unknown name 'g_Kx'; allowed: g_K, v"):
        expr.parse("g_Kx * v", where="m.inf", allowed_names=["v", "g_K"])


def test_oversized_and_too_deep_expressions_are_refused():
    with pytest.raises(expr.ExpressionError, match=r"I_x: expression too long \(\d+ characters; at most 4000\)"):
        expr.parse("v + " * 1200 + "1", where="I_x")
    with pytest.raises(expr.ExpressionError, match=r"more than 1000 nodes"):
        expr.parse("+".join(["v"] * 1200), where="I_x")
    with pytest.raises(expr.ExpressionError, match=r"nested too deeply \(more than 40 levels\)"):
        expr.parse("(" * 60 + "v" + ")" * 60, where="I_x")
    with pytest.raises(expr.ExpressionError, match=r"nested too deeply"):
        expr.parse("-" * 60 + "v", where="I_x")
    # the limits are in the language, not in Python's recursion: a deep chain of powers is refused too
    with pytest.raises(expr.ExpressionError, match=r"nested too deeply"):
        expr.parse("^".join(["v"] * 60), where="I_x")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("-2^2", -4.0),            # unary minus binds looser than the power, as in mathematics
        ("2^3^2", 512.0),          # right-associative
        ("2^-1", 0.5),
        ("1e-3 * 1E+3 + .5", 1.5),
        ("10 - 4 - 3", 3.0),       # left-associative
        ("8 / 4 / 2", 1.0),
        ("if(1 < 2 and not 3 < 2, 7, 8)", 7.0),
        ("if(1 > 2 or 2 >= 3, 7, 8)", 8.0),
        ("min(3, 1, 2) + max(3, 1, 2)", 4.0),
        ("pow(2, 10) + abs(-1)", 1025.0),
    ],
)
def test_precedence_and_literals(text, value):
    assert expr.evaluate(expr.parse(text), {}) == value


def test_names_collects_every_name():
    tree = expr.parse("g_Na*m^3*h*(v - E_Na) + if(v > v_t, 1, 0)")
    assert expr.names(tree) == {"g_Na", "m", "h", "v", "E_Na", "v_t"}


# expression -> the same function written by hand with NumPy
CASES = [
    ("0.1*(v+50)/(1-exp(-(v+50)/10))", lambda v, a, b: 0.1 * (v + 50) / (1 - np.exp(-(v + 50) / 10))),
    ("4*exp(-(v+75)/18)", lambda v, a, b: 4 * np.exp(-(v + 75) / 18)),
    ("a*b^3*(v - 50) + sqrt(abs(v)) - log(b)", lambda v, a, b: a * b**3 * (v - 50) + np.sqrt(np.abs(v)) - np.log(b)),
    ("1/(1+exp((v+a)/-7.984)) - tanh(v/20)^2", lambda v, a, b: 1 / (1 + np.exp((v + a) / -7.984)) - np.tanh(v / 20) ** 2),
    ("pow(b, a/10) + min(v, a, 0) - max(v, -a)", lambda v, a, b: b ** (a / 10) + np.minimum(np.minimum(v, a), 0) - np.maximum(v, -a)),
    ("if(v < -40 and not a > 30 or v == 0, exp(v/10), -v/a)",
     lambda v, a, b: np.where(((v < -40) & ~(a > 30)) | (v == 0), np.exp(v / 10), -v / a)),
    ("-b^2 + 2^-b - (v - a + 200)^-2", lambda v, a, b: -(b**2) + 2.0 ** (-b) - (v - a + 200) ** -2.0),
    ("if(v != a, 1, 0) * if(v <= a, 2, 3) * if(v >= b, 5, 7)",
     lambda v, a, b: np.where(v != a, 1, 0) * np.where(v <= a, 2, 3) * np.where(v >= b, 5, 7)),
]  # fmt: skip


def _inputs(seed: int = 7, n: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    v = rng.uniform(-100, 60, n)
    v[:3] = (-50.5, 0.0, 12.0)
    a = rng.uniform(1, 50, n)
    a[2] = 12.0
    return v, a, rng.uniform(0.1, 3, n)


@pytest.mark.parametrize(("text", "hand"), CASES)
def test_evaluate_and_numpy_source_agree_with_hand_written_numpy(text, hand):
    v, a, b = _inputs()
    want = hand(v, a, b)
    tree = expr.parse(text, allowed_names=["v", "a", "b"])
    np.testing.assert_allclose(expr.evaluate(tree, {"v": v, "a": a, "b": b}), want, rtol=1e-14, atol=0)
    src = expr.to_numpy(tree, lambda n: f"env_{n}")
    fn = eval(compile(f"lambda env_v, env_a, env_b: {src}", "<generated>", "eval"), {"np": np})
    np.testing.assert_allclose(fn(v, a, b), want, rtol=1e-14, atol=0)


@pytest.mark.parametrize(("text", "hand"), CASES)
def test_numba_source_agrees_with_hand_written_numpy(text, hand):
    v, a, b = _inputs()
    want = hand(v, a, b)
    src = expr.to_numba(expr.parse(text), {"v": "x0", "a": "x1", "b": "x2"}.__getitem__)
    scope: dict = {"math": math}
    exec(f"def f(x0, x1, x2):\n    return {src}\n", scope)
    f = njit(scope["f"])
    got = np.array([f(*xs) for xs in zip(v, a, b)])
    assert f.signatures  # compiled by numba, not run as Python
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)


_CUDA = textwrap.dedent(
    """
    import json, math, sys, numpy as np
    sys.path.insert(0, ".")
    from numba import cuda
    from solver.models import expr
    from tests.solver.test_expr import CASES, _inputs
    v, a, b = _inputs(n=16)
    out = []
    for text, hand in CASES:
        src = expr.to_cuda(expr.parse(text), {"v": "x0", "a": "x1", "b": "x2"}.__getitem__)
        scope = {"math": math, "cuda": cuda}
        exec("def f(x0, x1, x2):\\n    return " + src + "\\n", scope)
        dev = cuda.jit(device=True)(scope["f"])
        def kern(v, a, b, out):
            i = cuda.grid(1)
            if i < out.size:
                out[i] = dev(v[i], a[i], b[i])
        res = np.zeros(v.size)
        cuda.jit(kern)[1, 32](v, a, b, res)
        want = hand(v, a, b)
        out.append(float(np.max(np.abs(res - want) / np.maximum(np.abs(want), 1e-300))))
    print("RESULT " + json.dumps(out))
    """
)


def test_cuda_source_agrees_with_hand_written_numpy_on_the_simulator():
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    proc = subprocess.run([sys.executable, "-c", _CUDA], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    rel = json.loads(proc.stdout.split("RESULT ", 1)[1])
    assert len(rel) == len(CASES) and max(rel) < 1e-13


def test_library_calls_name_what_keeps_a_loop_scalar():
    """Calls that compile to the maths library (exp, log, tanh, a power with an exponent that is not a small
    whole number) are found wherever they sit in the tree; polynomials, quotients, sqrt, abs, min and max
    are not calls."""
    def calls(text):
        return expr.library_calls(expr.parse(text))

    assert calls("k*u*(1 - u)*(u - a) + u^3/3 - sqrt(abs(w)) + min(u, w, 1)") == frozenset()
    assert calls("pow(u, 2) + u^16") == frozenset()
    assert calls("if(u > 0, exp(-u), 1)") == {"exp"}
    assert calls("log(1 + u) + tanh(w)") == {"log", "tanh"}
    assert calls("u^2.5") == {"pow"} and calls("pow(u, w)") == {"pow"} and calls("u^17") == {"pow"}
    assert calls("u^-2") == {"pow"}  # a negated number is an expression: emitted as a float power


def test_only_models_without_gates_or_library_calls_get_the_vectorised_exact_loop():
    from solver.models.codegen._exact import exact_kernel_source, vectorisable
    from solver.models.description import ModelDescription
    from solver.models.presets import generic_media, preset_description
    from tests.solver.hh_definition import HH_DEFINITION

    for name in generic_media.PRESETS:
        desc = ModelDescription.from_dict(preset_description(name), preset=True)
        assert vectorisable(desc), name
        assert "numba.literally(from_dst)" in exact_kernel_source(desc)  # the switches are compile-time constants
    hh = ModelDescription.from_dict(HH_DEFINITION)
    assert not vectorisable(hh)  # gates: Rush-Larsen calls exp
    assert "numba.literally" not in exact_kernel_source(hh)
    fhn = preset_description("fitzhugh_nagumo")
    fhn["states"][0]["derivative"] = "eps*(u + a - b*w) + 0*exp(u)"
    assert not vectorisable(ModelDescription.from_dict(fhn, preset=True))
