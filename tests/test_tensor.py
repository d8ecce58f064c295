"""The Tensor API: creation, attributes, operators, methods and their errors."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_mini as am
from tests.helpers import assert_close


def test_creation_and_attributes() -> None:
    t = am.tensor([[1.0, 2.0, 3.0]], requires_grad=True, name="w")
    assert isinstance(t, am.Tensor)
    assert t.shape == (1, 3) and t.ndim == 2 and t.size == 3 and len(t) == 1
    assert t.dtype == np.float64 and t.name == "w" and t.is_leaf and t.op is None
    assert t.grad is None and t.requires_grad
    assert isinstance(t.data, np.ndarray) and t.numpy() is t.data
    out = t * 2
    assert not out.is_leaf and out.op == "mul" and out.requires_grad


def test_dtypes_default_keep_and_promote() -> None:
    assert am.tensor(1.5).dtype == np.float64
    assert am.tensor(np.ones(2, np.float32)).dtype == np.float32
    assert am.tensor([1, 2]).dtype.kind == "i"  # constants keep their integer dtype
    assert am.tensor([1, 2], requires_grad=True).dtype == np.float64
    assert am.tensor([True, False], requires_grad=True).dtype == np.float64
    assert am.tensor([1, 2], dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("bad,error", [([[1, 2], [3]], ValueError), (["a", "b"], TypeError),
                                       ("text", TypeError), (None, TypeError),
                                       (np.array([object()]), TypeError)])
def test_bad_data_is_refused_clearly(bad: object, error: type) -> None:
    with pytest.raises(error, match="am.tensor"):
        am.tensor(bad)


def test_item_detach_repr_and_len() -> None:
    t = am.tensor([2.5], requires_grad=True, name="a")
    assert t.item() == 2.5
    with pytest.raises(ValueError, match="one element"):
        am.tensor([1.0, 2.0]).item()
    d = (t * 2).detach()
    assert d.is_leaf and not d.requires_grad and d.item() == 5.0
    assert "requires_grad=True" in repr(t) and "'a'" in repr(t)
    assert "op='mul'" in repr(t * 2)
    with pytest.raises(TypeError, match="0-d"):
        len(am.tensor(1.0))


@pytest.mark.parametrize("left", [np.array([1.0, 2.0]), 3.0, 2])
def test_reflected_operators_with_arrays_and_scalars(left: object) -> None:
    x = am.tensor([1.5, 4.0], requires_grad=True)
    for expr, grad in [
        (lambda: left + x, lambda: np.ones(2)),
        (lambda: left - x, lambda: -np.ones(2)),
        (lambda: left * x, lambda: np.broadcast_to(left, (2,))),
        (lambda: left / x, lambda: -np.asarray(left) / x.data ** 2),
        (lambda: left ** x, lambda: np.log(left) * np.asarray(left) ** x.data),
    ]:
        x.grad = None
        out = expr()
        assert isinstance(out, am.Tensor)
        out.sum().backward()
        assert_close(x.grad, np.asarray(grad(), dtype=float))


def test_reflected_matmul_with_an_ndarray_on_the_left() -> None:
    A = np.arange(6.0).reshape(2, 3)
    w = am.tensor(np.ones((3, 1)), requires_grad=True)
    out = A @ w
    assert isinstance(out, am.Tensor) and out.shape == (2, 1)
    out.sum().backward()
    assert_close(w.grad, A.T @ np.ones((2, 1)))


def test_comparisons_give_boolean_arrays_and_tensors_stay_hashable() -> None:
    x = am.tensor([1.0, 2.0, 3.0])
    for result in (x == 2, x != 2, x < 2, x <= 2, x > 2, x >= 2, np.array(2.0) < x):
        assert isinstance(result, np.ndarray) and result.dtype == bool
    assert (x > 1.5).tolist() == [False, True, True]
    assert len({x, am.tensor([1.0, 2.0, 3.0])}) == 2


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2), (-1, 0)])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("method", ["sum", "mean", "max", "min"])
def test_reductions_match_numpy_in_value_and_shape(method: str, axis: object,
                                                    keepdims: bool) -> None:
    data = np.random.default_rng(0).normal(size=(2, 3, 4))
    got = getattr(am.tensor(data), method)(axis=axis, keepdims=keepdims)
    expected = getattr(data, method)(axis=axis, keepdims=keepdims)
    assert_close(got.data, np.asarray(expected))


def test_reduction_with_a_bad_axis_names_it() -> None:
    with pytest.raises(ValueError, match="axis 3"):
        am.tensor(np.ones((2, 2))).sum(axis=3)


def test_max_ties_share_the_gradient_evenly() -> None:
    x = am.tensor([1.0, 3.0, 3.0, 2.0], requires_grad=True)
    x.max().backward()
    assert_close(x.grad, np.array([0.0, 0.5, 0.5, 0.0]))


def test_maximum_ties_split_so_shares_add_to_one() -> None:
    a = am.tensor([1.0, 2.0], requires_grad=True)
    b = am.tensor([1.0, 3.0], requires_grad=True)
    am.maximum(a, b).sum().backward()
    assert_close(a.grad, np.array([0.5, 0.0]))
    assert_close(b.grad, np.array([0.5, 1.0]))


def test_integer_array_indexing_accumulates_repeated_indices() -> None:
    x = am.tensor(np.arange(4.0), requires_grad=True)
    x[np.array([0, 2, 0, 0])].sum().backward()
    assert_close(x.grad, np.array([3.0, 0.0, 1.0, 0.0]))


def test_basic_indexing_forms() -> None:
    data = np.arange(12.0).reshape(3, 4)
    x = am.tensor(data, requires_grad=True)
    for index in [(0,), (slice(None, None, -1),), (Ellipsis, None, 1), (-1, slice(1, 3)),
                  (am.tensor([2, 0]),), (data > 5,)]:
        x.grad = None
        out = x[index]
        key = tuple(i.data if isinstance(i, am.Tensor) else i for i in index)
        assert_close(out.data, data[key])
        out.sum().backward()
        expected = np.zeros_like(data)
        np.add.at(expected, key, 1.0)
        assert_close(x.grad, expected)


def test_reshape_and_transpose_take_varargs_or_a_tuple() -> None:
    x = am.tensor(np.arange(24.0).reshape(2, 3, 4))
    assert x.reshape(4, 6).shape == x.reshape((4, 6)).shape == (4, 6)
    assert x.reshape(-1).shape == (24,)
    assert x.transpose(2, 0, 1).shape == x.transpose((2, 0, 1)).shape == (4, 2, 3)
    assert x.T.shape == (4, 3, 2) and x.transpose().shape == (4, 3, 2)
    with pytest.raises(ValueError, match="permutation"):
        x.transpose(0, 0, 1)


def test_methods_and_functions_agree_with_numpy() -> None:
    v = np.array([-2.0, -0.5, 0.5, 3.0])
    x = am.tensor(v)
    pairs = [
        (x.exp(), np.exp(v)), (am.exp(x), np.exp(v)), (x.abs().log(), np.log(np.abs(v))),
        (x.abs().sqrt(), np.sqrt(np.abs(v))), (am.tanh(x), np.tanh(v)),
        (am.sigmoid(x), 1 / (1 + np.exp(-v))), (am.relu(x), np.maximum(v, 0)),
        (x.clip(-1, 1), np.clip(v, -1, 1)), (am.maximum(x, 0.0), np.maximum(v, 0)),
        (am.minimum(x, 0.0), np.minimum(v, 0)), (am.where(v > 0, x, 0.0), np.where(v > 0, v, 0)),
        (x.dot(x), v @ v), (am.dot(x, x), v @ v), (am.matmul(x, x), v @ v),
        (am.sum(x), v.sum()), (am.mean(x), v.mean()),
        (am.concatenate([x, x]), np.concatenate([v, v])), (am.stack([x, x], axis=1),
                                                          np.stack([v, v], axis=1)),
        (am.softmax(x), np.exp(v) / np.exp(v).sum()),
        (am.log_softmax(x), v - np.log(np.exp(v).sum())),
        (am.logsumexp(x), np.log(np.exp(v).sum())),
    ]
    for got, expected in pairs:
        assert_close(got.data, np.asarray(expected))


def test_stable_functions_stay_finite_at_plus_minus_1000() -> None:
    v = np.array([-1000.0, 0.0, 1000.0])
    x = am.tensor(v, requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        s = am.sigmoid(x)
        assert_close(s.data, np.array([0.0, 0.5, 1.0]))
        assert_close(am.logsumexp(x).data, np.array(1000.0))
        assert_close(am.softmax(x).data, np.array([0.0, 0.0, 1.0]))
        ls = am.log_softmax(x)
        assert np.all(np.isfinite(ls.data)) and ls.data[2] == 0.0
        (s.sum() + am.logsumexp(x) + ls[0]).backward()
    assert np.all(np.isfinite(x.grad))


@pytest.mark.parametrize("left_array", [False, True])
def test_shape_mismatch_names_both_shapes(left_array: bool) -> None:
    a = np.ones((2, 3)) if left_array else am.tensor(np.ones((2, 3)))
    b = am.tensor(np.ones((4,)))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        a + b
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        a * b


def test_matmul_mismatch_names_both_shapes_and_the_inner_dimensions() -> None:
    X = am.tensor(np.ones((100, 3)), name="X")
    w = am.tensor(np.ones((4, 1)), name="w")
    with pytest.raises(ValueError, match=r"matmul.*X \(100, 3\).*w \(4, 1\).*3 and 4"):
        X @ w
    with pytest.raises(ValueError, match=r"\(100, 3\).*\(4, 1\)"):
        X.data @ w


def test_backward_errors() -> None:
    x = am.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(ValueError, match="scalar"):
        y.backward()
    with pytest.raises(ValueError, match="shape"):
        y.backward(np.ones(3))
    with pytest.raises(ValueError, match="scalar"):
        (x.sum().reshape(1)).backward()  # shape (1,) is not 0-d
    with pytest.raises(RuntimeError, match="requires_grad"):
        am.tensor(1.0).backward()


def test_data_assignment_counts_as_an_in_place_change() -> None:
    w = am.tensor([1.0, 2.0], requires_grad=True, name="w")
    loss = (w * w).sum()
    w.data = w.data * 10
    with pytest.raises(RuntimeError, match="'w'.*modified in place"):
        loss.backward()
