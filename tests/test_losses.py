"""mse_loss: value, gradient, reductions and misuse."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_mini as am
from tests.helpers import assert_close


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
