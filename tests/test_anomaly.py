"""am.detect_anomaly: the first op with NaN or Inf, forward or backward, named with its line."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_mini as am
from autograd_mini.mode import MODE

HERE = "test_anomaly.py:"


def test_nan_without_detect_anomaly_propagates_silently_into_the_gradient() -> None:
    x = am.tensor([-1.0, 4.0], requires_grad=True, name="x")
    with pytest.warns(RuntimeWarning, match="invalid value encountered in sqrt"):
        y = x.sqrt()
    y.sum().backward()
    assert np.isnan(x.grad[0])  # NumPy's warning is all you get: hence detect_anomaly


def test_forward_nan_names_the_op_inputs_and_line() -> None:
    x = am.tensor([-1.0, 4.0], requires_grad=True, name="x")
    with am.detect_anomaly(), pytest.raises(FloatingPointError) as e:
        with np.errstate(invalid="ignore"):
            (x * 2).log()  # the line the error must point at
    msg = str(e.value)
    for words in ("log produced NaN", "shape (2,)", "input 0 (2,)", HERE,
                  "(x * 2).log()  # the line", "the inputs were finite"):
        assert words in msg, (words, msg)


def test_forward_inf_is_caught_too() -> None:
    w = am.tensor([1.0, 1000.0], requires_grad=True, name="w")
    with am.detect_anomaly(), pytest.raises(FloatingPointError, match=r"exp produced Inf"):
        with np.errstate(over="ignore"):
            w.exp()


def test_input_that_is_already_nan_is_flagged_as_the_cause() -> None:
    data = am.tensor([np.nan, 1.0], name="data")
    w = am.tensor([1.0, 2.0], requires_grad=True, name="w")
    with am.detect_anomaly(), pytest.raises(FloatingPointError) as e:
        w * data
    assert "data (2,) [already has NaN]" in str(e.value)
    assert "an input was already non-finite" in str(e.value)


def test_backward_inf_names_the_op_the_input_and_the_forward_line() -> None:
    x = am.tensor([0.0, 4.0], requires_grad=True, name="x")
    with am.detect_anomaly():
        loss = x.sqrt().sum()  # sqrt at 0 is finite forward, infinite backward
        with pytest.raises(FloatingPointError) as e, np.errstate(divide="ignore"):
            loss.backward()
    msg = str(e.value)
    for words in ("backward of sqrt produced Inf", "input 0 (x, shape (2,))",
                  HERE, "loss = x.sqrt().sum()", "incoming gradient was finite"):
        assert words in msg, (words, msg)


def test_backward_nan_from_zero_times_inf() -> None:
    x = am.tensor([0.0], requires_grad=True, name="x")
    with am.detect_anomaly(), np.errstate(all="ignore"):
        y = x.sqrt() * 0.0
        with pytest.raises(FloatingPointError, match="backward of sqrt produced NaN"):
            y.sum().backward()


def test_graph_recorded_outside_says_so() -> None:
    x = am.tensor([0.0], requires_grad=True)
    loss = x.sqrt().sum()
    with am.detect_anomaly(), np.errstate(divide="ignore"):
        with pytest.raises(FloatingPointError, match="recorded outside detect_anomaly"):
            loss.backward()


def test_off_by_default_and_restored_after_the_block_even_on_error() -> None:
    assert MODE.anomaly is False
    with pytest.raises(FloatingPointError), am.detect_anomaly(), np.errstate(all="ignore"):
        assert MODE.anomaly is True
        am.tensor([-1.0]).log()
    assert MODE.anomaly is False


def test_nesting_and_decorator() -> None:
    @am.detect_anomaly()
    def f(x: am.Tensor) -> bool:
        return MODE.anomaly

    assert f(am.tensor(1.0)) is True
    with am.detect_anomaly():
        with am.detect_anomaly():
            pass
        assert MODE.anomaly is True
    assert MODE.anomaly is False


def test_trace_is_recorded_only_in_anomaly_mode() -> None:
    w = am.tensor([1.0], requires_grad=True)
    assert (w * 2)._node.trace is None
    with am.detect_anomaly():
        y = w * 2
    assert y._node.trace is not None and HERE in y._node.trace


def test_finite_computation_is_unchanged_under_anomaly_mode() -> None:
    w = am.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    with am.detect_anomaly():
        loss = (w @ w).tanh().sum()
        loss.backward()
    expected = w.grad.copy()
    w.grad = None
    (w @ w).tanh().sum().backward()
    np.testing.assert_array_equal(w.grad, expected)


def test_hessian_under_anomaly_mode() -> None:
    with am.detect_anomaly():
        h = am.hessian(lambda x: (x ** 3).sum())(np.array([1.0, 2.0]))
    np.testing.assert_allclose(h, np.diag([6.0, 12.0]))
