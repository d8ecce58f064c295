"""The performance fast paths give the same gradients, dtypes and graph order as the plain ones."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import autograd_mini as am
from autograd_mini.graph import parents, toposort


@pytest.mark.parametrize("p", [2, 2.0, 3, 0.5, -1])
def test_pow_gradient_matches_finite_differences(p: float) -> None:
    x = np.random.default_rng(0).uniform(0.5, 2.0, (4, 3))
    assert am.gradcheck(lambda t: (t ** p * np.arange(12.0).reshape(4, 3)).sum(), (x,))


def test_square_gradient_is_exactly_two_x_g() -> None:
    x = am.tensor([[1.5, -2.0], [0.25, 3.0]], requires_grad=True)
    g = np.array([[1.0, 2.0], [-3.0, 0.5]])
    (x ** 2).backward(g)
    np.testing.assert_array_equal(x.grad, 2 * x.data * g)


@pytest.mark.parametrize("p", [2, 3])
def test_pow_keeps_float32(p: int) -> None:
    x = am.tensor(np.array([1.0, 2.0, 3.0], dtype=np.float32), requires_grad=True)
    y = (x ** p).mean()
    y.backward()
    assert y.dtype == np.float32
    assert x.grad is not None and x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, p * x.data ** (p - 1) / 3, rtol=1e-6)


def test_square_second_derivative() -> None:
    """The fast path runs on Tensors too (create_graph): the Hessian of Σx² is 2·I."""
    h = am.hessian(lambda t: (t ** 2).sum())(np.array([1.0, -2.0, 3.0]))
    np.testing.assert_allclose(h, 2 * np.eye(3))


def test_mse_gradient_closed_form() -> None:
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(50, 3)), rng.normal(size=(50, 1))
    w = am.tensor(rng.normal(size=(3, 1)), requires_grad=True)
    ((am.tensor(X) @ w - y) ** 2).mean().backward()
    np.testing.assert_allclose(w.grad, 2 / 50 * X.T @ (X @ w.data - y), rtol=1e-12)


def _reference_toposort(root: Any, only_requires_grad: bool = True) -> list[Any]:
    """The (vertex, iterator) depth-first post-order that toposort must keep reproducing."""
    order: list[Any] = []
    seen = {id(root)}
    stack = [(root, iter(parents(root)))]
    while stack:
        vertex, rest = stack[-1]
        for p in rest:
            if id(p) not in seen and (p.requires_grad or not only_requires_grad):
                seen.add(id(p))
                stack.append((p, iter(parents(p))))
                break
        else:
            stack.pop()
            order.append(vertex)
    return order


@pytest.mark.parametrize("seed", range(5))
def test_toposort_order_is_unchanged(seed: int) -> None:
    rng = np.random.default_rng(seed)
    pool = [am.tensor(rng.normal(size=3), requires_grad=bool(i % 2)) for i in range(4)]
    for _ in range(30):  # a random graph with fan-out, diamonds and constants
        a, b = (pool[int(i)] for i in rng.integers(0, len(pool), 2))
        pool.append([a + b, a * b, (a - b).tanh(), a * 2.0][int(rng.integers(0, 4))])
    root = sum(pool[-5:], start=am.tensor(np.zeros(3))).sum()
    node = root._node
    for flag in (True, False):
        got = toposort(node, only_requires_grad=flag)
        assert [id(v) for v in got] == [id(v) for v in _reference_toposort(node, flag)]


def test_deep_chain_backward() -> None:
    x = am.tensor(np.ones(4), requires_grad=True)
    y = x
    for _ in range(30_000):
        y = y * 1.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones(4))
