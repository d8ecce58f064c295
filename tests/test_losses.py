"""mse_loss: value, gradient, reductions and misuse."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_mini as am
from tests.helpers import assert_close, numeric_grad


@pytest.mark.parametrize("reduction,value,grad", [
    ("mean", lambda d: np.mean(d ** 2), lambda d: 2 * d / d.size),
    ("sum", lambda d: np.sum(d ** 2), lambda d: 2 * d),
    ("none", lambda d: d ** 2, None),
])
def test_mse_loss_values_and_gradients(reduction, value, grad) -> None:
    rng = np.random.default_rng(0)
    pred = am.tensor(rng.normal(size=(5, 1)), requires_grad=True)
    target = rng.normal(size=(5, 1))
    loss = am.mse_loss(pred, target, reduction=reduction)
    d = pred.data - target
    assert_close(loss.data, np.asarray(value(d)))
    if grad is not None:
        loss.backward()
        assert_close(pred.grad, grad(d))


def test_unknown_reduction_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="reduction 'avg'"):
        am.mse_loss(am.tensor([1.0]), am.tensor([1.0]), reduction="avg")


def test_mismatched_shapes_are_refused_instead_of_broadcast() -> None:
    with pytest.raises(ValueError, match=r"\(100,\).*\(100, 1\)"):
        am.mse_loss(am.tensor(np.ones(100)), np.ones((100, 1)))


# ---- classification losses ----------------------------------------------------------------


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits_matches_the_textbook_formula_and_its_gradient(reduction: str) -> None:
    rng = np.random.default_rng(3)
    z = rng.normal(size=(6, 1)) * 3
    y = (rng.random((6, 1)) > 0.5).astype(float)
    y[0] = 0.3  # probabilities are allowed too
    logits = am.tensor(z, requires_grad=True)
    loss = am.binary_cross_entropy_with_logits(logits, y, reduction=reduction)
    p = _sigmoid(z)
    each = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    expected = {"mean": each.mean(), "sum": each.sum(), "none": each}[reduction]
    assert_close(loss.data, expected, rtol=1e-12)
    if reduction != "none":
        loss.backward()
        scale = 1 / z.size if reduction == "mean" else 1.0
        assert_close(logits.grad, scale * (p - y), rtol=1e-12)
        f = lambda v: float(am.binary_cross_entropy_with_logits(am.tensor(v), y,  # noqa: E731
                                                                reduction=reduction).data)
        assert_close(logits.grad, numeric_grad(f, z), rtol=1e-6)


def test_bce_with_logits_is_exact_at_extreme_logits() -> None:
    z = am.tensor(np.array([1000.0, -1000.0, 1000.0, -1000.0, 40.0]), requires_grad=True)
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    loss = am.binary_cross_entropy_with_logits(z, y, reduction="none")
    assert_close(loss.data, [0.0, 0.0, 1000.0, 1000.0, np.log1p(np.exp(-40.0))], rtol=1e-12)
    loss.sum().backward()
    assert_close(z.grad, [0.0, 0.0, 1.0, -1.0, _sigmoid(40.0) - 1.0], rtol=1e-12, atol=1e-300)
    assert np.all(np.isfinite(z.grad))


def test_bce_shape_and_range_errors_name_both() -> None:
    z = am.tensor(np.zeros((100, 1)), requires_grad=True)
    with pytest.raises(ValueError, match=r"logits have shape \(100, 1\) but target has shape "
                                         r"\(100,\)"):
        am.binary_cross_entropy_with_logits(z, np.zeros(100))
    with pytest.raises(ValueError, match=r"\[0, 1\].*from -1 to 2"):
        am.binary_cross_entropy_with_logits(z, np.linspace(-1, 2, 100).reshape(100, 1))
    with pytest.raises(ValueError, match="reduction 'avg'"):
        am.binary_cross_entropy_with_logits(z, np.zeros((100, 1)), reduction="avg")


def test_explain_of_logistic_regression_reads_like_the_textbook() -> None:
    rng = np.random.default_rng(0)
    X = am.tensor(rng.normal(size=(50, 3)), name="X")
    y = am.tensor((rng.random((50, 1)) > 0.5).astype(float), name="y")
    w = am.tensor(np.zeros((3, 1)), requires_grad=True, name="w")
    b = am.tensor(np.zeros(1), requires_grad=True, name="b")
    e = am.explain(am.binary_cross_entropy_with_logits(X @ w + b, y), wrt=w)
    assert e.formula == "1/N · Xᵀ · (σ(X·w + b) − y)"
    assert e.check() < 1e-12


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_with_integer_labels_and_with_probabilities(reduction: str) -> None:
    rng = np.random.default_rng(4)
    z = rng.normal(size=(5, 4)) * 2
    labels = np.array([0, 3, 1, 1, 2])
    onehot = np.eye(4)[labels]
    soft = _softmax(rng.normal(size=(5, 4)))
    for target, p in ((labels, onehot), (onehot, onehot), (soft, soft)):
        logits = am.tensor(z, requires_grad=True)
        loss = am.cross_entropy(logits, target, reduction=reduction)
        each = -(p * np.log(_softmax(z))).sum(axis=1)
        expected = {"mean": each.mean(), "sum": each.sum(), "none": each}[reduction]
        assert_close(loss.data, expected, rtol=1e-12)
        if reduction != "none":
            loss.backward()
            scale = 1 / 5 if reduction == "mean" else 1.0
            assert_close(logits.grad, scale * (_softmax(z) - p), rtol=1e-12, atol=1e-15)


def test_cross_entropy_is_exact_at_extreme_logits_and_a_single_row() -> None:
    z = am.tensor(np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]]), requires_grad=True)
    loss = am.cross_entropy(z, np.array([0, 2]), reduction="none")
    assert_close(loss.data, [0.0, 1000.0], rtol=1e-12)
    loss.sum().backward()
    assert_close(z.grad, [[0.0, 0.0, 0.0], [0.0, 1.0, -1.0]], atol=1e-300)
    row = am.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    single = am.cross_entropy(row, np.array(2))
    assert_close(single.data, -np.log(_softmax(np.array([1.0, 2.0, 3.0]))[2]), rtol=1e-12)


def test_cross_entropy_errors_name_the_shapes() -> None:
    z = am.tensor(np.zeros((5, 4)), requires_grad=True)
    with pytest.raises(ValueError, match=r"class indices 0 … 3 .*from 0 to 4"):
        am.cross_entropy(z, np.array([0, 1, 2, 3, 4]))
    with pytest.raises(ValueError, match=r"\(5, 4\) but labels have shape \(4,\)"):
        am.cross_entropy(z, np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"logits have shape \(2, 3, 4\)"):
        am.cross_entropy(am.tensor(np.zeros((2, 3, 4))), np.zeros((2, 3), dtype=int))
