"""The reverse sweep: accumulation, fan-out, retain_graph, create_graph, freeing, depth."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import autograd_mini as am
from autograd_mini.graph import toposort
from tests.helpers import assert_close


def _mse_setup(n: int = 50, d: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = am.tensor(rng.normal(size=(n, d)), name="X")
    y = am.tensor(rng.normal(size=(n, 1)), name="y")
    w = am.tensor(rng.normal(size=(d, 1)), requires_grad=True, name="w")
    return X, y, w


def test_mse_gradient_is_two_over_n_xt_residual() -> None:
    X, y, w = _mse_setup()
    ((X @ w - y) ** 2).mean().backward()
    Xd, yd, wd = X.data, y.data, w.data
    expected = 2 / len(Xd) * Xd.T @ (Xd @ wd - yd)
    np.testing.assert_allclose(w.grad, expected, rtol=1e-12)


def test_half_mse_gradient_is_the_seeds_negative_xt_error_over_n() -> None:
    """mean(½(y − Xw)²) has gradient −Xᵀ(y − Xw)/N: the seed's X.T.dot(error)/len(X), negated."""
    X, y, w = _mse_setup()
    (0.5 * (y - X @ w) ** 2).mean().backward()
    error = y.data - X.data @ w.data
    np.testing.assert_allclose(w.grad, -X.data.T @ error / len(X.data), rtol=1e-12)


def test_gradients_accumulate_across_backward_calls() -> None:
    x = am.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    assert_close(x.grad, 3 + 2 * x.data)
    x.grad = None
    (x * 3).sum().backward()
    assert_close(x.grad, np.full(2, 3.0))


def test_fan_out_and_diamond_add_their_contributions() -> None:
    x = am.tensor(2.0, requires_grad=True)
    a = x * 3          # da/dx = 3
    b = x ** 2         # db/dx = 2x = 4
    (a * b + a).backward()  # d/dx = b·3 + a·4 + 3 = 12 + 24 + 3
    assert_close(x.grad, np.array(39.0))


def test_same_tensor_on_both_sides() -> None:
    x = am.tensor([3.0], requires_grad=True)
    (x * x).sum().backward()
    assert_close(x.grad, np.array([6.0]))
    y = am.tensor([3.0], requires_grad=True)
    (y - y).sum().backward()
    assert_close(y.grad, np.array([0.0]))


def test_unused_and_constant_inputs_get_no_gradient() -> None:
    used = am.tensor([1.0], requires_grad=True)
    unused = am.tensor([1.0], requires_grad=True)
    const = am.tensor([5.0])
    (used * const).sum().backward()
    assert unused.grad is None and const.grad is None
    assert_close(used.grad, np.array([5.0]))


def test_second_backward_without_retain_graph_raises_and_names_it() -> None:
    X, y, w = _mse_setup()
    loss = ((X @ w - y) ** 2).mean()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        loss.backward()


def test_retain_graph_allows_a_second_backward_that_adds_up() -> None:
    X, y, w = _mse_setup()
    loss = ((X @ w - y) ** 2).mean()
    loss.backward(retain_graph=True)
    first = w.grad.copy()
    loss.backward()
    assert_close(w.grad, 2 * first)


def test_backward_frees_saved_arrays_but_keeps_structure() -> None:
    x = am.tensor(np.ones(1000), requires_grad=True)
    h = x * 2
    h_data = weakref.ref(h.data)  # saved by the mul below for its VJP
    loss = (h * h).sum()
    del h
    gc.collect()
    assert h_data() is not None, "the graph must hold the array backward needs"
    loss.backward()
    gc.collect()
    assert h_data() is None, "backward() without retain_graph must release saved arrays"
    labels = [v.label for v in toposort(loss._node) if not v.is_leaf]
    assert labels == ["mul", "mul", "sum"]


def test_a_dropped_graph_is_freed() -> None:
    x = am.tensor(np.ones(10), requires_grad=True)
    loss = ((x * 2) ** 2).sum()
    node = weakref.ref(loss._node)
    del loss
    gc.collect()
    assert node() is None


def test_million_op_chain_runs_backward_without_recursion() -> None:
    x = am.tensor(1.0, requires_grad=True)
    t = x
    for _ in range(1_000_000):
        t = t + 1e-6
    t.backward()
    assert_close(x.grad, np.array(1.0))
    del t  # dropping a million-node graph must not overflow the C stack either
    gc.collect()


def test_create_graph_gives_second_derivatives() -> None:
    x = am.tensor(np.array([0.3, -1.2]), requires_grad=True)
    y = (x ** 3).sum()
    (dx,) = [am.grad(lambda t: (t ** 3).sum())(x)]
    assert isinstance(dx, am.Tensor) and dx.requires_grad  # still attached to the graph
    dx.sum().backward()
    assert_close(x.grad, 6 * x.data)  # d/dx Σ 3x² = 6x
    assert y.requires_grad


def test_backward_with_create_graph_still_leaves_ndarray_grads() -> None:
    x = am.tensor([1.0, 2.0], requires_grad=True)
    (x ** 2).sum().backward(create_graph=True)
    assert type(x.grad) is np.ndarray
    assert_close(x.grad, 2 * x.data)


def test_non_scalar_backward_uses_grad_as_the_upstream_vector() -> None:
    x = am.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x ** 2).backward(np.array([1.0, 0.0, 2.0]))
    assert_close(x.grad, np.array([2.0, 0.0, 12.0]))


def test_nothing_is_recorded_under_no_grad_or_without_requires_grad() -> None:
    w = am.tensor([1.0], requires_grad=True)
    with am.no_grad():
        out = w * 2
    assert out.is_leaf and not out.requires_grad and out.op is None
    const = am.tensor([1.0]) * 2
    assert const.is_leaf and not const.requires_grad

    @am.no_grad()
    def evaluate(t):
        return t * 3

    assert not evaluate(w).requires_grad
    with am.no_grad(), am.enable_grad():
        assert (w * 2).requires_grad


def test_nan_inputs_propagate_nan_gradients() -> None:
    x = am.tensor([1.0, np.nan], requires_grad=True)
    with np.errstate(invalid="ignore"):
        (x * x).sum().backward()
    assert x.grad[0] == 2.0 and np.isnan(x.grad[1])


def test_float32_in_float32_out() -> None:
    x = am.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    y = (x * 2.5 + 1) ** 2 / 3.0 - am.tensor(np.float32(1))
    assert y.dtype == np.float32
    loss = y.mean()
    assert loss.dtype == np.float32
    loss.backward()
    assert x.grad.dtype == np.float32


def test_leaf_grad_takes_the_leafs_dtype_when_mixed() -> None:
    x = am.tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    (x * np.ones(2)).sum().backward()  # a float64 constant promotes the graph to float64
    assert x.grad.dtype == np.float32


def test_grad_is_a_fresh_array_not_an_alias() -> None:
    a = am.tensor([1.0, 2.0], requires_grad=True)
    b = am.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    assert a.grad is not b.grad and not np.shares_memory(a.grad, b.grad)
    a.grad[0] = 100
    assert b.grad[0] == 1.0
