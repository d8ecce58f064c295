"""autograd_mini.symbolic: the algebra's simplifications, the evaluator, and LaTeX that a real
math parser (matplotlib's mathtext) accepts for every op of the table."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_mini as am
from autograd_mini.graph import Node, toposort
from autograd_mini.ops import OPS
from autograd_mini.symbolic import Printer, algebra, evaluate, evaluation, printing
from autograd_mini.symbolic.algebra import Add, Apply, Expand, Expr, Mul, Pow, Sum, Sym
from autograd_mini.tensor import Tensor
from tests.test_ops import CASES

Check = Callable[[str], None]  # fails the test if mathtext cannot typeset the math
x, y = Sym("x", (3,)), Sym("y", (3,))
X, w, r = Sym("X", (5, 3)), Sym("w", (3, 1)), Sym("r", (5, 1))


def text(e: Expr) -> str:
    return Printer()(e)


def latex(e: Expr) -> str:
    return Printer(latex=True)(e)


# ---- the algebra ----------------------------------------------------------------------------


@pytest.mark.parametrize("built, printed", [
    (lambda: 2 * x * 3, "6 · x"),
    (lambda: x * x, "x²"),
    (lambda: x + x, "2 · x"),
    (lambda: 0.5 * (2 * x), "x"),
    (lambda: x * x / x, "x"),
    (lambda: (x ** 2) ** 3, "x⁶"),
    (lambda: (2 * x) ** 2, "4 · x²"),
    (lambda: -x * -1, "x"),
    (lambda: X.T @ (2 * r / X.count(None)), "2/N · Xᵀ · r"),  # numbers leave the product
    (lambda: y / X.count(None) - x / X.count(None), "1/N · (y − x)"),  # a shared 1/N
    (lambda: (X @ w).T.T, "X · w"),
    (lambda: Sym("g", (4, 3)).sum_to((3,)), "Σ₀(g)"),  # undoing a broadcast
    (lambda: np.broadcast_to(Sym("g", (4,)).reshape(4, 1), (4, 3)), "g[:, None]"),
    (lambda: np.broadcast_to(2 * Sym("g", (4,)).reshape(-1, 1), (4, 3)), "2 · g[:, None]"),
    (lambda: (x > 0) * x, "[x > 0] ⊙ x"),
    # the masks the VJP rules make with NumPy's comparisons and & | ~
    (lambda: np.equal(x, y) | np.not_equal(x, x), "[x = y]"),  # x ≠ x is never true
    (lambda: (np.equal(x, 0) & (y >= 0)).astype(np.float32), "[x = 0] ⊙ [y ≥ 0]"),
    (lambda: 1 - ((x > y) + 0.5 * np.equal(x, y)), "1 − [x > y] − ½·[x = y]"),
    (lambda: x * ~(x > 0), "x ⊙ (1 − [x > 0])"),
])
def test_constructors_simplify_to_the_textbook_form(built: Callable[[], Expr], printed: str
                                                    ) -> None:
    assert text(built()) == printed


def test_simplifying_keeps_the_numpy_shape() -> None:
    zero = x - x
    assert isinstance(zero, Expand) and zero.shape == (3,) and text(zero) == "0"
    assert (Sym("s", ()) + x).shape == (3,)
    assert X.sum(axis=0, keepdims=True).shape == (1, 3)
    assert (X @ w).shape == (5, 1) and X.T.shape == (3, 5)
    assert Sym("B", (2, 3, 4)).T.shape == (4, 3, 2)  # .T reverses every axis, as in NumPy


def test_node_kinds_not_text_decide_the_parentheses() -> None:
    assert text((x + y) * x) == "(x + y) ⊙ x"
    assert text((x + y) ** 2) == "(x + y)²"
    assert text(x ** y) == "x^y" and text(x ** (y + 1)) == "x^(y + 1)"
    assert latex(x ** (y + 1)) == "x^{y + 1}"  # braces group an exponent by themselves
    assert text(Apply("exp", (x + y,), {}, (3,))) == "exp(x + y)"  # a call encloses its argument
    assert text(Apply("abs", (x + y,), {}, (3,)) * x) == "|x + y| ⊙ x"
    assert text(Apply("sqrt", (x + y,), {}, (3,))) == "√(x + y)"


# ---- the evaluator --------------------------------------------------------------------------


def test_evaluate_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    v = Sym("v", (5,))
    env = {s.name: rng.normal(size=s.shape) for s in (x, y, X, r, v)}
    xv, yv, Xv, rv, vv = (env[k] for k in ("x", "y", "X", "r", "v"))
    cases = [
        (x * x + 2 * x * y, xv * xv + 2 * xv * yv),
        (X.T @ (2 * r / X.count(None)), 2 / 15 * Xv.T @ rv),
        (X.sum(axis=1), Xv.sum(axis=1)),
        (np.broadcast_to(v.reshape(5, 1), (5, 3)) * X, vv[:, None] * Xv),
        ((x > 0) * x + (x < 0) - np.not_equal(x, y), (xv > 0) * xv + (xv < 0) - (xv != yv)),
        (np.log(np.exp(x)) / (y * y + 1), np.log(np.exp(xv)) / (yv * yv + 1)),
        (x ** Fraction(1, 3) * 0 + abs(yv).sum(), np.full(3, np.abs(yv).sum())),
    ]
    for e, want in cases:
        got = evaluate(e, env)
        assert got.shape == e.shape == np.shape(want)
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_every_node_class_has_one_evaluate_rule_and_one_print_rule() -> None:
    nodes = {c for c in vars(algebra).values()
             if isinstance(c, type) and issubclass(c, Expr) and c is not Expr}
    assert set(evaluation.RULES) == set(printing.RULES) == nodes
    assert {Add, Mul, Pow, Sum} <= nodes


# ---- LaTeX through a real parser ------------------------------------------------------------


@pytest.fixture(scope="module")
def typesets() -> Check:
    mathtext = pytest.importorskip("matplotlib.mathtext")
    parser = mathtext.MathTextParser("path")

    def check(math: str) -> None:
        try:
            parser.parse(f"${math}$")
        except ValueError as err:
            pytest.fail(f"mathtext cannot typeset {math!r}: {err}")
    return check


def rows(block: str) -> list[str]:
    """The maths of an `aligned` block row by row, without `&` and `\\boxed`, which mathtext
    lacks."""
    body = block.removeprefix("\\begin{aligned}\n").removesuffix("\n\\end{aligned}")
    out = []
    for row in body.split(" \\\\\n"):
        row = row.replace("&", "")
        if row.startswith("\\boxed{"):  # drop \boxed{ and its closing brace
            depth = 0
            for end, c in enumerate(row):
                depth += (c == "{") - (c == "}")
                if c == "}" and depth == 0:
                    row = row[len("\\boxed{"):end] + row[end + 1:]
                    break
        out.append(row)
    return out


OLD_REPLACEMENT_OUTPUT = [  # what the text replacement produced before the printer typeset
    r"\bar{g} - \exp(log_soft\\max(X W)) \odot \sum_{1}\left(\bar{g}\right)",
    r"\left(\frac{1}{N}\right)[:, None] \odot \exp(X W - log\Sigma \\exp(X W)[:, None])",
    r"\frac{1}{2} \frac{\bar{g}}{\left(\sqrtx_{0}\right)}",
]


@pytest.mark.parametrize("broken", OLD_REPLACEMENT_OUTPUT + [r"\left(x", r"x^\top^{2}"])
def test_the_parser_check_rejects_broken_latex(typesets: Check, broken: str) -> None:
    with pytest.raises(pytest.fail.Exception):
        typesets(broken)


@pytest.mark.parametrize("name", sorted(OPS))
@settings(max_examples=5)
@given(data=st.data())
def test_latex_of_every_ops_explanation_typesets(typesets: Check, name: str,
                                                 data: st.DataObject) -> None:
    assert name in CASES, f"no graph uses {name}: add its case to tests/test_ops.py CASES"
    fn, inputs = CASES[name](data)
    ts = [Tensor(v, requires_grad=True, name=f"x{i}") for i, v in enumerate(inputs)]
    out = fn(*ts)
    loss = am.tanh(out * np.linspace(-1, 1, out.size).reshape(out.shape)).sum()
    e = am.explain(loss, wrt=ts)
    maths = rows(e.latex())
    # The op itself, printed by its template from the table (add and mul too, which the
    # explanation writes with the algebra's own nodes).
    for v in toposort(e.root, only_requires_grad=False):
        if isinstance(v, Node) and v.op.name == name:
            args = tuple(Sym(f"a{i}", p.shape) for i, p in enumerate(v.inputs))
            maths.append(latex(Apply(name, args, v.params, v.shape)))
    for math in maths:
        assert math.isascii() and "\\\\" not in math, math  # every sign typeset, no stray \\
        typesets(math)


@pytest.mark.parametrize("op, expected", [
    ("exp", r"\exp\left(a\right)"), ("log", r"\log\left(a\right)"),
    ("tanh", r"\tanh\left(a\right)"), ("sigmoid", r"\sigma\left(a\right)"),
    ("mean", r"\operatorname{mean}\left(a\right)"),
    ("log_softmax", r"\operatorname{log\_softmax}\left(a\right)"),
    ("logsumexp", r"\operatorname{logsumexp}\left(a\right)"),
    ("softplus", r"\operatorname{softplus}\left(a\right)"),
    ("var", r"\operatorname{var}\left(a\right)"), ("max", r"\max\left(a\right)"),
    ("abs", r"\left|a\right|"), ("sqrt", r"\sqrt{a}"), ("square", r"{a}^{2}"),
    ("transpose", r"{a}^{\top}"), ("neg", "-a"),
])
def test_operator_names_come_from_the_op_template(op: str, expected: str) -> None:
    a = Sym("a", (2, 2))
    assert latex(Apply(op, (a,), {}, (2, 2))) == expected


def test_parameters_and_compound_arguments_typeset() -> None:
    a = Sym("a", (3, 4))
    got = latex(Apply("getitem", (a,), {"index": (slice(1, None), Ellipsis, None)}, (2, 4)))
    assert got == r"a\left[1:, \ldots, \mathrm{None}\right]"
    assert latex(Apply("sqrt", (x + y,), {}, (3,))) == r"\sqrt{x + y}"
    assert latex(Apply("square", (x + y,), {}, (3,))) == r"{\left(x + y\right)}^{2}"
    assert latex(Apply("clip", (x,), {"lo": -1.0, "hi": None}, (3,))) == \
        r"\operatorname{clip}\left(x, -1.0, \mathrm{None}\right)"
    assert latex(Sym("W1", (2,))) == "W_{1}" and latex(Sym("θ", ())) == r"\theta"


def test_an_op_registered_later_typesets_from_its_template(monkeypatch: pytest.MonkeyPatch,
                                                           typesets: Check) -> None:
    for name, template, expected in [
        ("soft_sign", "soft_sign({0})", r"\operatorname{soft\_sign}\left(x\right)"),
        ("inverse", "{0}⁻¹", r"{x}^{-1}"),
        ("total", "Σ{0}", r"\sum{x}"),
        ("cube_root", "∛{0}", "∛x"),  # a sign without a LaTeX form stays as written
    ]:
        monkeypatch.setitem(OPS, name, dataclasses.replace(OPS["tanh"], name=name, expr=template))
        assert latex(Apply(name, (x,), {}, (3,))) == expected
    phi = am.defop("phi_test", forward=np.tanh, vjps=(lambda g, x, out: g * (1 - out * out),),
                   expr="φ({0})")
    try:
        t = am.tensor([0.5, -2.0], requires_grad=True, name="t")
        block = am.explain(phi(t).sum(), wrt=t).latex()
        assert r"\phi\left(t\right)^{2}" in block
        for math in rows(block):
            typesets(math)
    finally:
        del OPS["phi_test"]
