"""am.explain as a lesson: the transpose's reason in index form, 1/N recognised in a user's
constant, ASCII output that is ASCII and writes matrix products with @, and a Jupyter view
that keeps the rule sentences."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_mini as am
from autograd_mini.ops import OPS
from autograd_mini.tensor import Tensor
from tests.test_ops import CASES


def _regression(n: int = 100, seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    rng = np.random.default_rng(seed)
    x = am.tensor(rng.normal(size=(n, 3)), name="x")
    y = am.tensor(rng.normal(size=(n, 1)), name="y")
    theta = am.tensor(rng.normal(size=(3, 1)), requires_grad=True, name="theta")
    return x, y, theta


def _pretty(e: am.Explanation) -> str:
    """What IPython's plain-text display shows (it calls _repr_pretty_ with its printer)."""
    shown: list[str] = []
    e._repr_pretty_(type("Printer", (), {"text": lambda self, t: shown.append(t)})(), False)
    return "".join(shown)


def _seed_loss() -> tuple[am.Tensor, Tensor]:
    """The question's own form: error = x·θ − y, J = Σ(error²) / (2·len(x))."""
    x, y, theta = _regression()
    error = x @ theta - y
    error.name = "error"
    return (error ** 2).sum() / (2 * len(x)), theta


# ---- the transpose: its reason is the index form; matching shapes is only a check ------------


def test_matmul_rule_gives_the_index_form_and_keeps_shapes_as_a_check() -> None:
    why = OPS["matmul"].why
    assert "Σᵢ" in why and "Aᵢⱼ" in why and "only" not in why
    assert "handy check" in why
    x, y, theta = _regression()
    text = str(am.explain(((x @ theta - y) ** 2).mean(), wrt=theta))
    assert "∂(x·θ)ᵢ/∂θⱼ = xᵢⱼ, so ∂L/∂θⱼ = Σᵢ xᵢⱼ ḡᵢ = (xᵀ·ḡ)ⱼ" in text.replace("theta", "θ")
    shapes = next(line for line in text.splitlines() if line.strip().startswith("shapes"))
    assert "handy check" in shapes and "only" not in text


def test_the_index_form_names_both_operands_of_a_matrix_product() -> None:
    rng = np.random.default_rng(3)
    A = am.tensor(rng.normal(size=(4, 4)), requires_grad=True, name="A")
    B = am.tensor(rng.normal(size=(4, 4)), requires_grad=True, name="B")
    text = str(am.explain(am.tanh(A @ B).sum(), wrt=[A, B]))
    assert "∂(A·B)ᵢₖ/∂Bⱼₖ = Aᵢⱼ, so ∂L/∂Bⱼₖ = Σᵢ Aᵢⱼ ḡᵢₖ = (Aᵀ·ḡ)ⱼₖ" in text
    assert "∂(A·B)ᵢₖ/∂Aᵢⱼ = Bⱼₖ, so ∂L/∂Aᵢⱼ = Σₖ ḡᵢₖ Bⱼₖ = (ḡ·Bᵀ)ᵢⱼ" in text


def test_a_vector_operand_reads_as_numpy_writes_it() -> None:
    """X·v and v·M with a 1-D v: no reshape bookkeeping in the formula, and the index form."""
    rng = np.random.default_rng(4)
    X = am.tensor(rng.normal(size=(5, 3)), name="X")
    M = am.tensor(rng.normal(size=(3, 4)), name="M")
    v = am.tensor(rng.normal(size=3), requires_grad=True, name="v")
    e = am.explain(am.tanh(X @ v).sum(), wrt=v)
    assert e.formula == "Xᵀ · (1 − tanh(X·v)²)" and e.check() <= 1e-12
    assert "∂(X·v)ᵢ/∂vⱼ = Xᵢⱼ, so ∂L/∂vⱼ = Σᵢ Xᵢⱼ ḡᵢ = (Xᵀ·ḡ)ⱼ" in str(e)
    e = am.explain(am.tanh(v @ M).sum(), wrt=v)
    assert e.formula == "(1 − tanh(v·M)²) · Mᵀ" and e.check() <= 1e-12
    assert "∂(v·M)ₖ/∂vⱼ = Mⱼₖ, so ∂L/∂vⱼ = Σₖ ḡₖ Mⱼₖ = (ḡ·Mᵀ)ⱼ" in str(e)


# ---- 1/N in the user's own constant -----------------------------------------------------------


def test_the_questions_loss_prints_one_over_2n() -> None:
    loss, theta = _seed_loss()
    e = am.explain(loss, wrt=theta)
    text = str(e)
    assert "L = 1/(2N) · Σ(error²)" in text and "0.005" not in text
    assert e.formula == "1/N · xᵀ · error"
    assert "N = 100, the number of rows of x" in text
    assert e.check() <= 1e-12


@pytest.mark.parametrize("scale, printed", [(lambda n: n, "1/N"), (lambda n: 2 * n, "1/(2N)"),
                                            (lambda n: n / 2, "2/N"), (lambda n: 1 / n, "N")])
def test_constants_that_are_fractions_of_a_size_print_as_such(scale, printed) -> None:
    x, y, theta = _regression(n=50)
    loss = ((x @ theta - y) ** 2).sum() / scale(len(x))
    text = str(am.explain(loss, wrt=theta))
    assert f"L = {printed} · Σ((x·θ − y)²)".replace("θ", "theta") in text
    assert "N = 50, the number of rows of x" in text


def test_a_constant_unrelated_to_any_size_stays_a_number() -> None:
    x, y, theta = _regression(n=50)
    text = str(am.explain(((x @ theta - y) ** 2).sum() * 0.37, wrt=theta))
    assert "0.37 · Σ" in text and "N" not in text.split("with respect")[0]


# ---- ASCII: no Unicode, @ for matrix products ---------------------------------------------------


def test_ascii_formula_of_several_tensors_is_ascii_and_uses_at() -> None:
    x, y, theta = _regression()
    b = am.tensor(np.zeros(1), requires_grad=True, name="b")
    e = am.explain(((x @ theta + b - y) ** 2).mean(), wrt=[theta, b], ascii=True)
    assert e.formula.isascii() and "dL/dtheta = 2/N * x.T @ (x@theta + b - y)" in e.formula
    text = str(e)
    assert text.isascii()
    shapes = next(line for line in text.splitlines() if line.strip().startswith("shapes"))
    assert "x.T (3, 100) @ g (100, 1)" in shapes
    assert "(x.T@g)_j" in text and "*" not in shapes


@pytest.mark.parametrize("name", sorted(OPS))
@settings(max_examples=5, deadline=None)
@given(data=st.data())
def test_every_ops_explanation_is_pure_ascii_in_ascii_mode(name: str, data: st.DataObject
                                                          ) -> None:
    fn, inputs = CASES[name](data)
    ts = [Tensor(v, requires_grad=True, name=f"x{i}") for i, v in enumerate(inputs)]
    out = fn(*ts)
    loss = am.tanh(out * np.linspace(-1, 1, out.size).reshape(out.shape)).sum()
    e = am.explain(loss, wrt=ts, ascii=True)
    for form in (str(e), e.formula, repr(e), e.markdown(), _pretty(e)):
        assert form.isascii(), [c for c in form if not c.isascii()]
    assert e._repr_latex_() is None and e._repr_markdown_() is None


# ---- Jupyter: the equations and the sentences that explain them --------------------------------


def test_jupyter_view_keeps_the_rule_sentences_with_the_equations() -> None:
    loss, theta = _seed_loss()
    md = am.explain(loss, wrt=theta)._repr_markdown_()
    assert md is not None
    for sentence in (OPS["div"].why, OPS["pow"].why, OPS["matmul"].why):
        assert sentence[1:] in md.replace("\\*", "*")
    assert r"\frac{1}{2N}" in md and r"x^\top" in md  # the equations, as LaTeX
    assert "N = 100, the number of rows of x" in md
    maths = re.findall(r"\$\$(.+?)\$\$|\$(.+?)\$", md, flags=re.S)
    assert len(maths) >= 5


def test_jupyter_view_math_typesets() -> None:
    mathtext = pytest.importorskip("matplotlib.mathtext")
    parser = mathtext.MathTextParser("path")
    loss, theta = _seed_loss()
    md = am.explain(loss, wrt=theta)._repr_markdown_()
    assert md is not None
    for block, inline in re.findall(r"\$\$(.+?)\$\$|\$(.+?)\$", md, flags=re.S):
        math = (block or inline).replace(r"\boxed", "")
        parser.parse(f"${math}$")


def test_ascii_mode_shows_plain_text_in_jupyter() -> None:
    loss, theta = _seed_loss()
    e = am.explain(loss, wrt=theta, ascii=True)
    assert e._repr_latex_() is None and e._repr_markdown_() is None
    assert _pretty(e) == str(e) and str(e).isascii()
