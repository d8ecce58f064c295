"""grad, value_and_grad, jacobian and hessian against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_mini as am
from tests.helpers import assert_close, numeric_grad

rng = np.random.default_rng(0)
X = rng.normal(size=(40, 3))
y = rng.normal(size=(40, 1))


def mse(w, X=X, y=y):
    return ((am.tensor(X) @ w - y) ** 2).mean()


def test_grad_takes_and_returns_ndarrays() -> None:
    w = rng.normal(size=(3, 1))
    g = am.grad(mse)(w)
    assert type(g) is np.ndarray and g.shape == w.shape
    np.testing.assert_allclose(g, 2 / len(X) * X.T @ (X @ w - y), rtol=1e-12)


def test_value_and_grad_and_argnums() -> None:
    w = rng.normal(size=(3, 1))
    value, g = am.value_and_grad(mse)(w)
    assert_close(value, np.mean((X @ w - y) ** 2))
    gy = am.grad(lambda w, X, y: mse(w, X, y), argnums=2)(w, X, y)
    assert_close(gy, -2 / len(X) * (X @ w - y))
    with pytest.raises(ValueError, match="scalar"):
        am.grad(lambda w: w * 2)(w)


def test_grad_of_a_function_that_ignores_its_input_is_zero() -> None:
    assert_close(am.grad(lambda w: am.tensor(3.0))(np.ones(2)), np.zeros(2))


def test_jacobian_shape_is_out_shape_plus_in_shape() -> None:
    A = rng.normal(size=(2, 3))
    J = am.jacobian(lambda x: am.tensor(A) @ x)(np.ones((3, 4)))
    assert J.shape == (2, 4, 3, 4)
    assert_close(J[:, 1, :, 1], A)
    assert_close(J[:, 0, :, 1], np.zeros((2, 3)))


def test_jacobian_of_elementwise_is_diagonal() -> None:
    x = np.array([0.1, -0.4, 2.0])
    assert_close(am.jacobian(am.tanh)(x), np.diag(1 - np.tanh(x) ** 2))


def test_hessian_of_mse_is_two_over_n_xtx() -> None:
    H = am.hessian(mse)(rng.normal(size=(3, 1)))
    assert H.shape == (3, 1, 3, 1)
    np.testing.assert_allclose(H.reshape(3, 3), 2 / len(X) * X.T @ X, rtol=1e-12)


def test_hessian_of_a_nonquadratic_function_matches_differences_of_the_gradient() -> None:
    def f(x):
        return (am.tanh(x) * am.exp(x[::-1])).sum() + am.logsumexp(x * x)

    x0 = np.array([0.2, -0.7, 1.1])
    H = am.hessian(f)(x0)
    for i in range(3):
        row = numeric_grad(lambda x, i=i: float(am.grad(f)(x)[i]), x0, eps=1e-5)
        assert_close(H[i], row, rtol=1e-5, atol=1e-7)
    assert_close(H, H.T, rtol=1e-10, atol=1e-12)
