"""am.compile: the generated code reads as written by hand and computes what eager autodiff does.

Golden text for the two regressions of the seeds; the compiled value and gradients against
am.value_and_grad for every op case of the registry (tests/test_ops.py) and for random
programs (tests/test_properties.py); retracing, tuple argnums, check=True, hostile names and
graphs too large to write out.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

import autograd_mini as am
from autograd_mini.compile import CompileCheckError
from tests.test_ops import CASES
from tests.test_properties import AM, Program, programs

RNG = np.random.default_rng(0)
X = RNG.normal(size=(100, 3))
y = RNG.normal(size=(100, 1))


def mse(w: Any) -> Any:
    return ((X @ w - y) ** 2).mean()


MSE_CODE = '''\
def mse_value_and_grad(w):
    """mse(w) and its gradient with respect to w, for w (3, 1) float64."""
    r = X @ w - y
    loss = np.mean(r ** 2)

    # mean: mean(x) = Σ(x) / N, so each of the N elements gets 1/N of the upstream gradient: the
    #   1/N comes from here
    # pow 2: power rule: d(xᵖ)/dx = p·xᵖ⁻¹ (for a square, the 2 in front comes from here)
    # sub: subtraction passes the gradient to the left side and its negative to the right
    # matmul: ḡ has the product's shape; Aᵀ·ḡ is the only product of A and ḡ with B's shape (and
    #   ḡ·Bᵀ the only one with A's): that is why the transpose appears
    g_w = X.T @ (r * (2 / 100))
    return loss, g_w
'''

BIAS_CODE = '''\
def linear_value_and_grad(W, b, X, Y):
    """linear(W, b, X, Y) and its gradient with respect to W, b, for W (3, 2) float64, b (2,)
    float64, X (100, 3) float64, Y (100, 2) float64."""
    r = X @ W + b - Y
    loss = am.mean(r ** 2)

    # mean: mean(x) = Σ(x) / N, so each of the N elements gets 1/N of the upstream gradient: the
    #   1/N comes from here
    # pow 2: power rule: d(xᵖ)/dx = p·xᵖ⁻¹ (for a square, the 2 in front comes from here)
    # sub: subtraction passes the gradient to the left side and its negative to the right
    # add: addition passes the gradient through unchanged to both sides
    g_r = r * (2 / 200)
    # b (2,) was broadcast to (100, 2) in the forward pass, so its gradient sums over axis 0
    g_b = np.sum(g_r, axis=0)
    # matmul: ḡ has the product's shape; Aᵀ·ḡ is the only product of A and ḡ with B's shape (and
    #   ḡ·Bᵀ the only one with A's): that is why the transpose appears
    g_W = X.T @ g_r
    return loss, (g_W, g_b)
'''.replace("am.mean", "np.mean")


def linear(W: Any, b: Any, X: Any, Y: Any) -> Any:
    return am.mean((X @ W + b - Y) ** 2)


def assert_same(got: Any, want: Any, rtol: float = 1e-12) -> None:
    """Same shape and dtype, and equal to `rtol` of the larger magnitude."""
    got, want = np.asarray(got), np.asarray(want)
    assert type(got) is np.ndarray
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype,
                                                                  want.shape, want.dtype)
    scale = max(float(np.max(np.abs(want), initial=0.0)), 1e-300)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale)


def assert_matches_eager(f: Any, args: list[Any], argnums: Any) -> Any:
    cf = am.compile(f, argnums=argnums)
    value, grads = cf(*args)
    want_value, want_grads = am.value_and_grad(f, argnums=argnums)(*args)
    assert_same(value, want_value)
    many = not isinstance(argnums, int)
    for g, e in zip(grads if many else [grads], want_grads if many else [want_grads],
                    strict=True):
        assert_same(g, e)
    return cf


# ---- the code a learner reads -------------------------------------------------------------


def test_mse_code_is_the_textbook_gradient() -> None:
    w = RNG.normal(size=(3, 1))
    assert am.gradient_code(mse, w) == MSE_CODE
    cf = assert_matches_eager(mse, [w], 0)
    assert cf.code == MSE_CODE
    value, g = cf(w)
    assert_same(g, 2 / 100 * X.T @ (X @ w - y))


def test_bias_code_sums_the_broadcast_gradient_over_axis_0() -> None:
    W, b, Y = RNG.normal(size=(3, 2)), RNG.normal(size=2), RNG.normal(size=(100, 2))
    assert am.gradient_code(linear, W, b, X, Y, argnums=(0, 1)) == BIAS_CODE
    cf = assert_matches_eager(linear, [W, b, X, Y], (0, 1))
    _, (_, g_b) = cf(W, b, X, Y)
    assert_same(g_b, 2 / 200 * (X @ W + b - Y).sum(axis=0))


def test_code_runs_alone_with_numpy() -> None:
    """The printed function is the whole computation: exec it with X and y and compare."""
    w = RNG.normal(size=(3, 1))
    space: dict[str, Any] = {"np": np, "X": X, "y": y}
    exec(am.gradient_code(mse, w), space)
    value, g = space["mse_value_and_grad"](w)
    want = am.value_and_grad(mse)(w)
    assert_same(np.asarray(value), want[0])
    assert_same(g, want[1])


# ---- every op of the table, and random programs ------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_every_op_compiles_to_eager_results(name: str, data: st.DataObject) -> None:
    fn, inputs = CASES[name](data)
    weights = np.random.default_rng(1).normal(size=fn(*[am.tensor(x) for x in inputs]).shape)

    def loss(*ts: Any) -> Any:
        return (fn(*ts) * weights).sum()

    cf = assert_matches_eager(loss, inputs, tuple(range(len(inputs))))
    note(cf.code)


@settings(max_examples=200)
@given(programs())
def test_random_programs_compile_to_eager_results(prog: Program) -> None:
    note(f"shapes {[x.shape for x in prog.leaves]}, steps {prog.steps}")
    leaves = [x.copy() for x in prog.leaves]

    def f(*xs: Any) -> Any:
        return prog.run(AM, list(xs))[0]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value, _ = am.value_and_grad(f, argnums=tuple(range(len(leaves))))(*leaves)
        assume(np.isfinite(value))
        cf = assert_matches_eager(f, leaves, tuple(range(len(leaves))))
    note(cf.code)
