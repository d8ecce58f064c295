"""am.explain: the textbook formulas, the step text, the output forms, and check() on every op."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd_mini as am
from autograd_mini.ops import OPS
from autograd_mini.tensor import Tensor
from tests.test_ops import CASES

GOLDEN = Path(__file__).parent / "golden"


def _data(n: int = 100, d: int = 3, k: int = 1, seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    rng = np.random.default_rng(seed)
    X = am.tensor(rng.normal(size=(n, d)), name="X")
    y = am.tensor(rng.normal(size=(n, k)), name="y")
    w = am.tensor(rng.normal(size=(d, k)), requires_grad=True, name="w")
    return X, y, w


def test_mse_formula_reads_like_the_textbook_and_checks() -> None:
    X, y, w = _data()
    loss = ((X @ w - y) ** 2).mean()
    loss.backward()  # frees the saved arrays: explain must not need them
    e = am.explain(loss, wrt=w)
    assert e.formula == "2/N · Xᵀ · (X·w − y)"
    assert "where N = 100" in str(e)
    assert e.check() <= 1e-12


def test_half_mse_loses_the_2() -> None:
    X, y, w = _data()
    e = am.explain((0.5 * (X @ w - y) ** 2).mean(), wrt=w)
    assert e.formula == "1/N · Xᵀ · (X·w − y)"
    assert e.check() <= 1e-12


def test_seed_convention_keeps_the_sign_with_the_residual_as_written() -> None:
    X, y, w = _data()
    e = am.explain((0.5 * (y - X @ w) ** 2).mean(), wrt=w)
    assert e.formula == "−1/N · Xᵀ · (y − X·w)"
    assert e.check() <= 1e-12


def test_bias_gets_the_sum_over_the_batch() -> None:
    rng = np.random.default_rng(1)
    X = am.tensor(rng.normal(size=(50, 3)), name="X")
    Y = am.tensor(rng.normal(size=(50, 2)), name="Y")
    W = am.tensor(rng.normal(size=(3, 2)), requires_grad=True, name="W")
    b = am.tensor(rng.normal(size=(2,)), requires_grad=True, name="b")
    e = am.explain(((X @ W + b - Y) ** 2).mean(), wrt=[W, b])
    assert e.formulas == {"W": "2/N · Xᵀ · (X·W + b − Y)", "b": "2/N · Σ₀(X·W + b − Y)"}
    assert e.formula.splitlines() == ["∂L/∂W = 2/N · Xᵀ · (X·W + b − Y)",
                                      "∂L/∂b = 2/N · Σ₀(X·W + b − Y)"]
    assert "N = 100" in str(e)  # the mean runs over all 50 × 2 entries
    assert "b (2,) was stretched along axis 0" in str(e)
    assert e.check() <= 1e-12


def test_two_layer_tanh_net_checks() -> None:
    rng = np.random.default_rng(2)
    X = am.tensor(rng.normal(size=(40, 3)), name="X")
    y = am.tensor(rng.normal(size=(40, 1)), name="y")
    W1 = am.tensor(rng.normal(size=(3, 5)), requires_grad=True, name="W1")
    b1 = am.tensor(rng.normal(size=(5,)), requires_grad=True, name="b1")
    W2 = am.tensor(rng.normal(size=(5, 1)), requires_grad=True, name="W2")
    loss = ((am.tanh(X @ W1 + b1) @ W2 - y) ** 2).mean()
    e = am.explain(loss, wrt=[W1, b1, W2])
    assert e.formulas["W2"] == "2/N · tanh(X·W1 + b1)ᵀ · (tanh(X·W1 + b1)·W2 − y)"
    assert "(1 − tanh(X·W1 + b1)²)" in e.formulas["W1"] and "W2ᵀ" in e.formulas["W1"]
    assert e.check() <= 1e-12


def test_str_has_one_step_per_op_matching_the_golden_file() -> None:
    X, y, w = _data()
    text = str(am.explain(((X @ w - y) ** 2).mean(), wrt=w))
    assert text == (GOLDEN / "explain_mse.txt").read_text(encoding="utf-8").rstrip("\n")
    labels = [line.split(":")[0] for line in text.splitlines() if line.startswith("step")]
    assert labels == ["step 1  mean", "step 2  pow 2", "step 3  sub", "step 4  matmul"]


def test_steps_say_where_each_factor_comes_from() -> None:
    X, y, w = _data()
    text = str(am.explain(((X @ w - y) ** 2).mean(), wrt=w))
    assert "the 1/N comes from here" in text
    assert "the 2 in front comes from here" in text
    assert "Xᵀ (3, 100) · ḡ (100, 1) → (3, 1), the shape of w" in text
    assert "∂L/∂w = Xᵀ · ḡ = 2/N · Xᵀ · (X·w − y)" in text


def test_named_intermediate_stays_a_name() -> None:
    X, y, w = _data()
    score = X @ w
    score.name = "score"
    loss = ((score - y) ** 2).mean()
    loss.name = "loss"
    e = am.explain(loss, wrt=w)
    assert e.formula == "2/N · Xᵀ · (score − y)"
    assert "where N = 100, the number of rows of X; score = X · w" in str(e)
    assert "∂loss/∂w" in str(e)
    assert "step 4  matmul: score = X · w" in str(e)
    assert e.check() <= 1e-12


def test_wrt_a_named_intermediate() -> None:
    X, y, w = _data()
    score = X @ w
    score.name = "score"
    e = am.explain(((score - y) ** 2).mean(), wrt=score)
    assert e.formula == "2/N · (score − y)"
    assert e.check() <= 1e-12


def test_only_ops_on_the_path_are_steps() -> None:
    rng = np.random.default_rng(3)
    X = am.tensor(rng.normal(size=(10, 3)), name="X")
    W = am.tensor(rng.normal(size=(3, 2)), requires_grad=True, name="W")
    b = am.tensor(rng.normal(size=(2,)), requires_grad=True, name="b")
    text = str(am.explain((X @ W + b).sum(), wrt=b))
    assert "matmul" not in text
    assert "∂L/∂b = Σ₀(𝟙)" in text


def test_unrelated_tensor_gets_zero() -> None:
    X, y, w = _data()
    v = am.tensor(np.ones(2), requires_grad=True, name="v")
    e = am.explain(((X @ w - y) ** 2).mean() + 0 * v.sum(), wrt=[w, v])
    assert e.formulas["v"] == "0"
    e2 = am.explain(((X @ w - y) ** 2).mean(), wrt=v)
    assert e2.formula == "0"
    assert e2.check() == 0.0


def test_fan_out_adds_contributions() -> None:
    x = am.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True, name="x")
    e = am.explain((x * x).sum(), wrt=x)
    assert e.formula == "2 · x"
    assert "+=" in str(e)
    assert e.check() <= 1e-15


def test_check_notices_a_wrong_formula() -> None:
    X, y, w = _data()
    e = am.explain(((X @ w - y) ** 2).mean(), wrt=w)
    e.expressions["w"] = e.expressions["w"] * 2
    assert e.check() == pytest.approx(0.5)


def test_ascii_fallback_is_plain_ascii() -> None:
    X, y, w = _data()
    e = am.explain(((X @ w - y) ** 2).mean(), wrt=w, ascii=True)
    assert e.formula == "2/N * X.T @ (X@w - y)"
    assert str(e).isascii()
    assert "dL/dw = 2/N * X.T @ (X@w - y)" in str(e)
    unicode = am.explain(((X @ w - y) ** 2).mean(), wrt=w)
    assert unicode.text(ascii=True) == str(e)


def test_latex_and_jupyter() -> None:
    X, y, w = _data()
    e = am.explain(((X @ w - y) ** 2).mean(), wrt=w)
    tex = e.latex()
    assert r"\frac{2}{N} X^\top \left(X w - y\right)" in tex
    assert tex.startswith(r"\begin{aligned}") and r"N = 100" in tex
    assert e._repr_latex_() == "$$" + tex + "$$"


def test_latex_sets_each_op_by_its_name() -> None:
    rng = np.random.default_rng(4)
    X = am.tensor(rng.normal(size=(20, 3)), name="X")
    W = am.tensor(rng.normal(size=(3, 4)), requires_grad=True, name="W")
    tex = am.explain(-am.log_softmax(X @ W, axis=1).mean(), wrt=W).latex()
    assert r"\operatorname{mean}\left(\operatorname{log\_softmax}\left(X W\right)\right)" in tex
    assert r"\exp\left(\operatorname{log\_softmax}\left(X W\right)\right)" in tex
    assert r"\\max" not in tex and r"soft\max" not in tex and r"\\exp" not in tex
    tex = am.explain(am.logsumexp(X @ W, axis=1).mean(), wrt=W).latex()
    assert r"X W - \operatorname{logsumexp}\left(X W\right)\left[:, \mathrm{None}\right]" in tex
    assert tex.isascii()  # every Unicode sign of the text form is typeset


def test_markdown_table() -> None:
    X, y, w = _data()
    md = am.explain(((X @ w - y) ** 2).mean(), wrt=w).markdown()
    assert md.splitlines()[0] == "| step | op | upstream ḡ | rule | gives |"
    assert "**`∂L/∂w = 2/N · Xᵀ · (X·w − y)`**" in md
    assert md.count("\n| ") == 4  # one row per step


def test_errors_name_the_problem() -> None:
    X, y, w = _data()
    with pytest.raises(ValueError, match="'X' does not require grad"):
        am.explain(((X @ w - y) ** 2).mean(), wrt=X)
    with pytest.raises(ValueError, match="scalar"):
        am.explain(X @ w, wrt=w)


def test_unnamed_constants_show_by_value_and_arrays_get_a_name() -> None:
    x = am.tensor(np.array([0.5, 2.0]), requires_grad=True)
    c = np.array([3.0, 4.0])
    e = am.explain((x * c).sum() / 4, wrt=x)
    assert e.formula == "¼ · t2"
    assert "t1 = an unnamed tensor of shape (2,)" in str(e)
    assert e.check() <= 1e-15


def test_every_op_has_a_callable_symbolic_vjp_per_input() -> None:
    for op in OPS.values():
        arity = 1 if op.variadic else len(op.vjps)
        assert all(callable(op.formula(i)) for i in range(arity)), op.name
        assert op.why, op.name


@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_check_passes_on_random_graphs_using_each_op(name: str, data: st.DataObject) -> None:
    fn, inputs = CASES[name](data)
    ts = [Tensor(x, requires_grad=True, name=f"x{i}") for i, x in enumerate(inputs)]
    out = fn(*ts)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="weights"))
    weights = rng.normal(size=out.shape)
    post = data.draw(st.sampled_from(["sum", "mean", "tanh-sum", "square-mean"]), label="post")
    if post == "tanh-sum":
        loss = am.tanh(out * weights).sum()
    elif post == "square-mean":
        loss = ((out - weights) ** 2).mean()
    else:
        loss = getattr(out * weights, post)()
    e = am.explain(loss, wrt=ts)
    assert e.check() <= 1e-10, (name, e.formula)


def test_too_deep_a_graph_is_refused_clearly_not_by_recursion() -> None:
    x = am.tensor(np.ones(3), requires_grad=True, name="x")
    t = x
    for _ in range(300):
        t = am.tanh(t)
    with pytest.raises(ValueError, match="301 ops deep.*max_depth=200"):
        am.explain(t.sum(), wrt=x)
    shallow = am.tanh(am.tanh(x)).sum()
    assert am.explain(shallow, wrt=x, max_depth=3).check() < 1e-12
    with pytest.raises(ValueError, match="max_depth=2"):
        am.explain(shallow, wrt=x, max_depth=2)
