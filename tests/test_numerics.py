"""Numerical edge cases: large logits, powers at 0, NaN in max/min, broadcast bounds, lists.

Each expected value is a closed form worked out by hand (or central differences); torch, when
installed, is a second opinion on the same points.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import autograd_mini as am
from autograd_mini.ops import OPS
from autograd_mini.recording import record
from autograd_mini.tensor import Tensor
from tests.helpers import assert_close, numeric_grad

# ---- log_softmax at large magnitude -------------------------------------------------------


@pytest.mark.parametrize("dtype,base", [(np.float32, 1e4), (np.float32, 1e7),
                                        (np.float64, 1e4), (np.float64, 1e16)])
@pytest.mark.parametrize("step", [0.0, 1.0])
def test_log_softmax_keeps_the_order_one_part_of_large_logits(dtype, base, step) -> None:
    """log_softmax([a, a + d]) = [−log(1 + eᵈ), −log(1 + e⁻ᵈ)] for any a.

    The gradient of its first entry is e₀ − softmax = [1 − s₀, −s₁], s₀ = 1/(1 + eᵈ).
    """
    v = np.array([base, base + step], dtype=dtype)
    d = float(v[1]) - float(v[0])  # the step as the dtype rounded it (exact for these)
    x = am.tensor(v, requires_grad=True)
    y = am.log_softmax(x)
    (y * np.array([1, 0], dtype=dtype)).sum().backward()
    s0 = 1 / (1 + math.exp(d))
    expected = np.array([-math.log1p(math.exp(d)), -math.log1p(math.exp(-d))])
    tol = 1e-6 if dtype == np.float32 else 1e-12
    assert y.dtype == dtype and x.grad.dtype == dtype
    assert_close(y.data, expected.astype(dtype), rtol=tol, atol=tol)
    assert_close(x.grad, np.array([1 - s0, -(1 - s0)], dtype=dtype), rtol=tol, atol=tol)


def test_log_softmax_of_large_float32_batches_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    v = (rng.normal(size=(4, 5)) * 3 + rng.choice([1e3, -1e5, 1e7], size=(4, 1))).astype(
        np.float32)
    w = rng.normal(size=(4, 5)).astype(np.float32)
    x = am.tensor(v, requires_grad=True)
    y = am.log_softmax(x, axis=1)
    (y * w).sum().backward()
    xt = torch.tensor(v, requires_grad=True)
    yt = torch.log_softmax(xt, 1)
    (yt * torch.tensor(w)).sum().backward()
    assert_close(y.data, yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    assert_close(x.grad, xt.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_log_softmax_is_unchanged_by_a_large_shift_and_keeps_minus_infinity() -> None:
    v = np.array([[1.0, -1.0, 2.0], [-np.inf, 0.0, 0.0]], dtype=np.float32)  # + 1e7: exact
    small = am.log_softmax(am.tensor(v), axis=1).data
    shifted = am.log_softmax(am.tensor(v + np.float32(1e7)), axis=1).data
    assert_close(shifted[0], small[0], rtol=1e-6)  # log_softmax(x + c) = log_softmax(x)
    assert_close(small[1], np.array([-np.inf, -math.log(2), -math.log(2)], dtype=np.float32))


# ---- powers at base 0 ---------------------------------------------------------------------


def test_x_to_the_zero_has_zero_derivative_at_zero() -> None:
    x = am.tensor([0.0, 1.0, -2.0], requires_grad=True)
    (x ** 0).sum().backward()
    assert_close(x.grad, np.zeros(3))


def test_pow_at_zero_gives_the_power_rules_value() -> None:
    """d(xᵖ)/dx at 0: 0 for p = 0 (x⁰ is constant), 1 for p = 1, 0 for p ≥ 2, ∞ for p = ½."""
    for p, expected in [(0, 0.0), (1, 1.0), (2, 0.0), (3, 0.0), (0.5, np.inf)]:
        x = am.tensor(0.0, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # 0 ** -0.5 divides by zero
            (x ** p).backward()
        assert x.grad == expected, f"p = {p}"


def test_polynomial_features_at_zero_have_finite_gradients() -> None:
    """d/dw Σ w^k for k = 0, 1, 2 is 0 + 1 + 2w: 1 at w = 0, not 0 · 0⁻¹ = NaN."""
    w = am.tensor(0.0, requires_grad=True)
    (w ** np.arange(3.0)).sum().backward()
    assert w.grad == 1.0


def test_array_power_at_zero_base_differentiates_the_exponent_to_zero() -> None:
    """d(aᵇ)/db = log(a)·aᵇ; aᵇ is 0 for b > 0 at a = 0 (and 1 at b = 0): 0 there."""
    a = am.tensor([0.0, 2.0, 0.0], requires_grad=True)
    b = am.tensor([2.0, 2.0, 0.0], requires_grad=True)
    (a ** b).sum().backward()
    assert_close(a.grad, np.array([0.0, 4.0, 0.0]))  # b·a^(b−1); 0⁰ is constant in a
    assert_close(b.grad, np.array([0.0, 4 * math.log(2), 0.0]))


def test_second_derivatives_of_powers_at_zero_are_finite() -> None:
    """d²/dw² (w⁰ + w¹ + w²) = 2 and d²/dx² x⁰ = 0, also at 0."""
    w = am.tensor(0.0, requires_grad=True)
    g = am.grad(lambda t: (t ** np.arange(3.0)).sum())(w)
    g.backward()
    assert w.grad == 2.0
    x = am.tensor([0.0, 3.0], requires_grad=True)
    gx = am.grad(lambda t: (t ** 0).sum())(x)
    assert isinstance(gx, Tensor) and np.all(gx.data == 0)
    assert_close(am.hessian(lambda t: (t ** 2).sum())(np.zeros(2)), 2 * np.eye(2))


def test_powers_at_zero_match_torch() -> None:
    torch = pytest.importorskip("torch")
    base = np.array([0.0, 0.0, 0.0, 0.0, 1.5, 2.0])
    expo = np.array([0.0, 1.0, 2.0, 3.0, 0.0, 2.0])
    a, b = am.tensor(base, requires_grad=True), am.tensor(expo, requires_grad=True)
    (a ** b).sum().backward()
    at, bt = torch.tensor(base, requires_grad=True), torch.tensor(expo, requires_grad=True)
    (at ** bt).sum().backward()
    assert_close(a.grad, at.grad.numpy())
    assert_close(b.grad, bt.grad.numpy())
    for p in (0, 1, 2, 3):
        x, xt = am.tensor(base, requires_grad=True), torch.tensor(base, requires_grad=True)
        (x ** p).sum().backward()
        (xt ** p).sum().backward()
        assert_close(x.grad, xt.grad.numpy())


# ---- max / min with NaN -------------------------------------------------------------------


@pytest.mark.parametrize("method", ["max", "min"])
def test_nan_takes_the_whole_gradient_of_max_and_min(method) -> None:
    x = am.tensor([1.0, np.nan, 3.0], requires_grad=True)
    getattr(x, method)().backward()
    assert_close(x.grad, np.array([0.0, 1.0, 0.0]))


def test_nans_share_the_gradient_along_an_axis() -> None:
    x = am.tensor([[1.0, np.nan, np.nan], [2.0, 5.0, 4.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    assert_close(x.grad, np.array([[0.0, 0.5, 0.5], [0.0, 1.0, 0.0]]))


def test_max_with_nan_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    v = np.array([1.0, np.nan, 3.0, -2.0])
    x, xt = am.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
    x.max().backward()
    xt.max().backward()
    assert_close(x.grad, xt.grad.numpy())


# ---- clip with array bounds, concatenate with axis=None -----------------------------------


def test_clip_with_a_larger_bound_broadcasts_and_sums_the_gradient_back() -> None:
    w0 = np.array([[0.5, -1.0, 2.0]])
    lo = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 1.0]])
    w = am.tensor(w0, requires_grad=True)
    out = w.clip(lo, None)
    assert out.shape == (2, 3)
    weights = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    (out * weights).sum().backward()
    expected = numeric_grad(lambda v: float((np.clip(v, lo, None) * weights).sum()), w0)
    assert_close(w.grad, expected)  # [[1, 5, 9]]: each row counts where w passes its bound


def test_clip_bounds_get_no_gradient() -> None:
    lo = am.tensor([0.0, 2.0], requires_grad=True)
    x = am.tensor([1.0, 1.0], requires_grad=True)
    x.clip(lo, None).sum().backward()
    assert_close(x.grad, np.array([1.0, 0.0]))
    assert lo.grad is None


def test_concatenate_axis_none_flattens_like_numpy() -> None:
    a0, b0 = np.arange(6.0).reshape(2, 3), np.array([7.0, 8.0])
    a, b = am.tensor(a0, requires_grad=True), am.tensor(b0, requires_grad=True)
    out = am.concatenate([a, b], axis=None)
    assert_close(out.data, np.concatenate([a0, b0], axis=None))
    weights = np.arange(8.0) + 1
    (out * weights).sum().backward()
    assert_close(a.grad, weights[:6].reshape(2, 3))
    assert_close(b.grad, weights[6:])


def test_concatenate_op_refuses_axis_none_at_forward() -> None:
    w = am.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"concatenate.*axis=None"):
        record(OPS["concatenate"], w, w, axis=None)


# ---- mse_loss with a list target ----------------------------------------------------------


def test_mse_loss_checks_the_shape_of_a_list_target() -> None:
    X = am.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    w = am.tensor(np.ones((2, 1)), requires_grad=True)
    with pytest.raises(ValueError, match=r"\(3, 1\).*\(3,\)"):
        am.mse_loss(X @ w, [3.0, 7.0, 11.0])  # would broadcast (3, 1) − (3,) to (3, 3)
    loss = am.mse_loss(X @ w, [[3.0], [7.0], [11.0]])  # y = X @ [1, 1]: an exact fit
    loss.backward()
    assert loss.item() == 0.0
    assert_close(w.grad, np.zeros((2, 1)))


def test_mse_loss_still_accepts_a_single_number_target() -> None:
    pred = am.tensor([[1.0], [3.0]], requires_grad=True)
    loss = am.mse_loss(pred, 1.0)
    loss.backward()
    assert loss.item() == 2.0  # ((1 − 1)² + (3 − 1)²) / 2
    assert_close(pred.grad, np.array([[0.0], [2.0]]))


# ---- list operands through backward -------------------------------------------------------


def test_matmul_with_a_list_on_either_side_differentiates() -> None:
    w = am.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    (w @ [1.0, 2.0]).sum().backward()  # Σᵢ Σⱼ wᵢⱼ vⱼ: ∂/∂wᵢⱼ = vⱼ
    assert_close(w.grad, np.array([[1.0, 2.0], [1.0, 2.0]]))
    w.grad = None
    ([1.0, 2.0] @ w).sum().backward()  # Σⱼ Σᵢ vᵢ wᵢⱼ: ∂/∂wᵢⱼ = vᵢ
    assert_close(w.grad, np.array([[1.0, 1.0], [2.0, 2.0]]))


def test_power_with_a_list_exponent_differentiates() -> None:
    w = am.tensor([3.0, 2.0], requires_grad=True)
    (w ** [1, 2]).sum().backward()  # w₀ + w₁²
    assert_close(w.grad, np.array([1.0, 4.0]))


# ---- the classification ops: exact where naive forms overflow or cancel --------------------


def test_softplus_and_logaddexp_are_exact_at_plus_minus_1000() -> None:
    x = am.tensor(np.array([1000.0, -1000.0, 0.0]), requires_grad=True)
    y = am.softplus(x)
    np.testing.assert_allclose(y.data, [1000.0, 0.0, np.log(2.0)], rtol=1e-15, atol=0)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0, 0.0, 0.5], rtol=1e-15, atol=0)
    a = am.tensor(np.array([1000.0, -1000.0]), requires_grad=True)
    b = am.tensor(np.array([1000.0, 5.0]), requires_grad=True)
    z = am.logaddexp(a, b)
    np.testing.assert_allclose(z.data, [1000.0 + np.log(2.0), 5.0 + np.exp(-1005.0)], rtol=1e-15)
    z.sum().backward()
    # e^(a − out) with out ≈ 1000.69: the rounding of out (ulp 1e-13) is the only error
    np.testing.assert_allclose(a.grad, [0.5, 0.0], rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(b.grad, [0.5, 1.0], rtol=1e-12)


def test_log1p_and_expm1_keep_their_digits_near_zero() -> None:
    x = am.tensor(np.array([1e-12, -1e-12]), requires_grad=True)
    np.testing.assert_allclose(am.log1p(x).data, [1e-12 - 5e-25, -1e-12 - 5e-25], rtol=1e-15)
    np.testing.assert_allclose(am.expm1(x).data, [1e-12 + 5e-25, -1e-12 + 5e-25], rtol=1e-15)
    (am.log1p(x) + am.expm1(x)).sum().backward()
    np.testing.assert_allclose(x.grad, 1 / (1 + x.data) + np.exp(x.data), rtol=1e-15)


@pytest.mark.parametrize("fn", [am.softplus, am.log1p, am.expm1, am.sin, am.cos, am.square,
                                lambda t: am.logaddexp(t, 0.5), lambda t: t.var(axis=0),
                                lambda t: t.std(ddof=1), lambda t: t.astype(np.float32)])
def test_float32_stays_float32(fn: object) -> None:
    x = am.tensor(np.array([[0.5, 1.5], [2.0, 0.25]], dtype=np.float32), requires_grad=True)
    y = fn(x)  # type: ignore[operator]
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_astype_passes_the_gradient_back_in_the_inputs_dtype() -> None:
    x = am.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x.astype(np.float32)
    assert y.dtype == np.float32 and y.requires_grad and y.op == "astype"
    (y * y).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad, [2.0, 4.0])
    assert not x.astype(int).requires_grad  # a cast to integers is a constant


def test_var_and_std_match_numpy_and_the_hand_gradient() -> None:
    rng = np.random.default_rng(5)
    v = rng.normal(size=(4, 3))
    for ddof in (0, 1):
        x = am.tensor(v, requires_grad=True)
        x.var(axis=0, ddof=ddof).sum().backward()
        np.testing.assert_allclose(x.grad, 2 * (v - v.mean(axis=0)) / (4 - ddof), rtol=1e-12)
        x = am.tensor(v, requires_grad=True)
        s = x.std(ddof=ddof)
        np.testing.assert_allclose(s.data, np.std(v, ddof=ddof), rtol=1e-14)
        s.backward()
        np.testing.assert_allclose(x.grad, (v - v.mean()) / ((12 - ddof) * np.std(v, ddof=ddof)),
                                   rtol=1e-12)
    with pytest.raises(ValueError, match="ddof"):
        am.tensor(v).var(ddof=-1)
