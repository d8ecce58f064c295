"""am.minimize: SciPy's minimize driven by autodiff gradients and Hessians."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

import autograd_mini as am
from autograd_mini import optimize

from .helpers import assert_close

# SciPy is an optional extra; without it only the ImportError test runs.
needs_scipy = pytest.mark.skipif(importlib.util.find_spec("scipy") is None,
                                 reason="scipy is not installed")

rng = np.random.default_rng(0)
X = rng.normal(size=(50, 3))
Y = X @ np.array([[1.5], [-2.0], [0.5]]) + 0.1 * rng.normal(size=(50, 1))
LSTSQ = np.linalg.lstsq(X, Y, rcond=None)[0]  # shape (3, 1)


def mse(w: am.Tensor) -> am.Tensor:
    return ((am.tensor(X) @ w - Y) ** 2).mean()


@needs_scipy
def test_lbfgsb_reaches_the_least_squares_solution() -> None:
    res = am.minimize(mse, np.zeros((3, 1)), tol=1e-14)
    assert res.success
    assert res.x.shape == (3, 1)
    assert_close(res.x, LSTSQ, rtol=1e-7, atol=1e-9)
    assert res.jac.shape == (3, 1)
    assert np.abs(res.jac).max() < 1e-6
    # f and its gradient come from one evaluation each: SciPy counts them together.
    assert res.nfev == res.njev


@needs_scipy
def test_newton_cg_uses_the_hessian(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def counting_hessian(f):
        inner = am.hessian(f)

        def h(*args):
            calls.append(1)
            return inner(*args)
        return h

    monkeypatch.setattr(optimize, "hessian", counting_hessian)
    res = am.minimize(mse, np.zeros((3, 1)), method="Newton-CG", options={"xtol": 1e-12})
    assert res.success
    assert res.nhev > 0 and len(calls) == res.nhev
    assert_close(res.x, LSTSQ, rtol=1e-8, atol=1e-9)


@needs_scipy
@pytest.mark.parametrize("method", ["trust-exact", "trust-ncg", "trust-krylov", "dogleg"])
def test_trust_region_methods_get_the_hessian(method: str) -> None:
    res = am.minimize(mse, np.zeros((3, 1)), method=method, options={"gtol": 1e-10})
    assert res.success, res.message
    assert res.nhev > 0
    assert_close(res.x, LSTSQ, rtol=1e-8, atol=1e-10)


@needs_scipy
def test_the_hessian_passed_is_the_true_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # For the MSE, H = 2/N·XᵀX whatever w is, and ∇f = 2/N·Xᵀ(Xw − y): look at what SciPy gets.
    import scipy.optimize

    seen = {}
    original = scipy.optimize.minimize

    def spy(fun, x0, **kw):
        seen["H"] = kw["hess"](x0)
        seen["f"], seen["g"] = fun(x0)
        return original(fun, x0, **kw)

    monkeypatch.setattr(scipy.optimize, "minimize", spy)
    am.minimize(mse, np.ones((3, 1)), method="trust-exact")
    w = np.ones((3, 1))
    assert_close(seen["H"], 2 / 50 * X.T @ X, rtol=1e-12)
    assert_close(seen["g"], (2 / 50 * X.T @ (X @ w - Y)).ravel(), rtol=1e-12)
    assert seen["f"] == pytest.approx(np.mean((X @ w - Y) ** 2), rel=1e-14)


@needs_scipy
def test_keywords_pass_through() -> None:
    loose = am.minimize(mse, np.zeros((3, 1)), method="BFGS", tol=1e-1)
    tight = am.minimize(mse, np.zeros((3, 1)), method="BFGS", tol=1e-12)
    assert np.abs(tight.x - LSTSQ).max() < 1e-8
    assert np.abs(loose.x - LSTSQ).max() > np.abs(tight.x - LSTSQ).max()
    capped = am.minimize(mse, np.zeros((3, 1)), method="L-BFGS-B", options={"maxiter": 1})
    assert capped.nit == 1 and not np.allclose(capped.x, LSTSQ, atol=1e-3)
    bounded = am.minimize(mse, np.zeros((3, 1)), bounds=[(0, 1)] * 3)
    assert bounded.x.min() >= 0 and bounded.x.max() <= 1


@needs_scipy
def test_args_reach_f() -> None:
    def shifted(w: am.Tensor, c: np.ndarray) -> am.Tensor:
        return ((w - c) ** 2).sum()

    c = np.array([[1.0, -2.0], [3.0, 0.5]])
    for method in ("L-BFGS-B", "Newton-CG"):
        res = am.minimize(shifted, np.zeros((2, 2)), method=method, args=(c,))
        assert_close(res.x, c, rtol=1e-6, atol=1e-8)


@needs_scipy
@pytest.mark.parametrize("x0", [np.zeros(3), np.zeros((3, 1)), np.zeros((1, 3, 1)),
                                [0.0, 0.0, 0.0]], ids=["(3,)", "(3,1)", "(1,3,1)", "list"])
def test_x0_shape_is_kept_and_f_sees_it(x0) -> None:
    shapes = set()

    def f(w: am.Tensor) -> am.Tensor:
        shapes.add(w.shape)
        return ((am.tensor(X) @ w.reshape(3, 1) - Y) ** 2).mean()

    res = am.minimize(f, x0)
    assert res.x.shape == np.shape(x0)
    assert shapes == {np.shape(x0)}
    assert_close(res.x.reshape(3, 1), LSTSQ, rtol=1e-5, atol=1e-7)


@needs_scipy
def test_x0_is_not_changed_and_may_be_a_tensor() -> None:
    x0 = np.zeros((3, 1))
    am.minimize(mse, x0)
    assert np.array_equal(x0, np.zeros((3, 1)))
    w = am.tensor(np.zeros((3, 1)), requires_grad=True)
    res = am.minimize(mse, w)
    assert_close(res.x, LSTSQ, rtol=1e-5, atol=1e-7)


@needs_scipy
def test_a_gradient_free_method_gets_no_jac() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # SciPy warns when a method is given an unused jac
        res = am.minimize(lambda w: ((w - 3.0) ** 2).sum(), np.zeros(2), method="Nelder-Mead",
                          options={"xatol": 1e-8, "fatol": 1e-12})
    assert_close(res.x, np.array([3.0, 3.0]), rtol=1e-6)


@needs_scipy
def test_a_rosenbrock_valley() -> None:
    def rosen(v: am.Tensor) -> am.Tensor:
        x, y = v[0], v[1]
        return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2

    for method in ("L-BFGS-B", "trust-exact"):
        res = am.minimize(rosen, np.array([-1.2, 1.0]), method=method, tol=1e-12)
        assert_close(res.x, np.array([1.0, 1.0]), rtol=1e-6)


@needs_scipy
def test_jac_and_hess_may_not_be_given() -> None:
    with pytest.raises(TypeError, match="jac= is computed by autodiff"):
        am.minimize(mse, np.zeros((3, 1)), jac=lambda x: x)
    with pytest.raises(TypeError, match="hess= is computed by autodiff"):
        am.minimize(mse, np.zeros((3, 1)), method="Newton-CG", hess=lambda x: x)


@needs_scipy
def test_f_must_return_a_scalar() -> None:
    with pytest.raises(ValueError, match="scalar"):
        am.minimize(lambda w: am.tensor(X) @ w, np.zeros((3, 1)))


def test_without_scipy_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes `import scipy.optimize` raise ImportError.
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)
    with pytest.raises(ImportError) as caught:
        am.minimize(mse, np.zeros((3, 1)))
    message = str(caught.value)
    assert message == "am.minimize needs SciPy: pip install 'autograd-mini[examples]'"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
