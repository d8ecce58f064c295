"""NumPy's protocols on Tensor: np.asarray(t), NumPy ufuncs and functions that record ops.

The dispatch test walks the op table: every NumPy counterpart of every op (its ufunc forward,
the functions it declares, np.<op name>) must record that op, with NumPy's own values and a
gradient that matches central differences of the same NumPy call on plain arrays.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import autograd_mini as am
from autograd_mini import numpy_api
from autograd_mini.ops import OPS, Op, defop
from autograd_mini.tensor import Tensor
from tests.helpers import assert_close, numeric_grad

# Clear of clip's bounds (0.7, 1.5), of 0 and of each other (max/min have no near-ties).
VALUES = np.array([[0.6, 1.0, 1.9], [1.2, 0.8, 1.7]])
MASK = np.array([[True, False, True], [False, False, True]])

# How to call each NumPy function an op declares (an op whose forward is a ufunc needs none:
# the ufunc gets one (2, 3) operand per input). A new declared function without a sample fails
# test_every_numpy_counterpart_records_its_op, asking for one.
SAMPLES: dict[Any, Callable[..., Any]] = {
    np.power: lambda x: np.power(x, 3),  # declared by pow: a number exponent is its p
    np.dot: lambda a, b: np.dot(a, b.T),
    np.sum: lambda x: np.sum(x, axis=0, keepdims=True),
    np.mean: lambda x: np.mean(x, axis=1),
    np.max: lambda x: np.max(x, axis=0),
    np.amax: lambda x: np.amax(x),
    np.min: lambda x: np.min(x, axis=1, keepdims=True),
    np.amin: lambda x: np.amin(x, axis=0),
    np.clip: lambda x: np.clip(x, 0.7, 1.5),
    np.where: lambda a, b: np.where(MASK, a, b),
    np.reshape: lambda x: np.reshape(x, (3, 2)),
    np.transpose: lambda x: np.transpose(x),
    np.broadcast_to: lambda x: np.broadcast_to(x, (4, 2, 3)),
    np.concatenate: lambda a, b: np.concatenate([a, b], axis=1),
    np.stack: lambda a, b: np.stack([a, b], axis=1),
    np.var: lambda x: np.var(x, axis=1, ddof=1),
    np.std: lambda x: np.std(x, axis=0, keepdims=True),
}
if hasattr(np, "astype"):  # NumPy ≥ 2.1
    SAMPLES[np.astype] = lambda x: np.astype(x, np.float64)


def _counterparts(op: Op) -> set[Any]:
    """The NumPy functions that should record `op`: its ufunc, its declared ones, np.<name>."""
    found = set(op.numpy)
    if isinstance(op.forward, np.ufunc):
        found.add(op.forward)
    named = getattr(np, op.name, None)
    if callable(named):
        found.add(named)
    return found


def _sample(op: Op, func: Any) -> tuple[Callable[..., Any], int]:
    """A call of `func` on tensors (or arrays) that records `op`, and how many operands it takes."""
    if op.forward is func:
        if func.signature:  # a gufunc: matmul's (n, k), (k, m) core
            return (lambda a, b: func(a, b.T)), 2
        return (lambda *xs: func(*xs)), func.nin
    assert func in SAMPLES, f"np.{func.__name__} records op {op.name!r}: add a sample call"
    return SAMPLES[func], len(inspect.signature(SAMPLES[func]).parameters)


PAIRS = sorted(((op.name, f) for op in OPS.values() for f in _counterparts(op)),
               key=lambda pair: (pair[0], pair[1].__name__))


def test_the_table_has_numpy_counterparts_to_check() -> None:
    names = {name for name, _ in PAIRS}
    assert {"add", "pow", "power", "matmul", "sum", "max", "clip", "concatenate"} <= names


@pytest.mark.parametrize("name,func", PAIRS, ids=[f"{n}-{f.__name__}" for n, f in PAIRS])
def test_every_numpy_counterpart_records_its_op(name: str, func: Any) -> None:
    op = OPS[name]
    assert op in numpy_api.implementations().get(func, ()), (
        f"np.{func.__name__} does not reach op {name!r}: declare it with numpy=(...) in ops.py")
    call, n = _sample(op, func)
    arrays = [VALUES * (k + 1) if k else VALUES for k in range(n)]
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    out = call(*tensors)
    assert isinstance(out, Tensor) and out.op == name, f"np.{func.__name__} gave {out!r}"
    expected = np.asarray(call(*arrays))  # NumPy itself on the plain arrays
    assert_close(out.data, expected)
    weights = np.random.default_rng(0).normal(size=expected.shape)
    (out * weights).sum().backward()
    for k, t in enumerate(tensors):
        def f_k(xk: np.ndarray, k: int = k) -> float:
            return float((call(*[xk if i == k else a for i, a in enumerate(arrays)])
                          * weights).sum())
        assert_close(t.grad, numeric_grad(f_k, arrays[k]), rtol=1e-5, atol=1e-6)


def test_the_mapping_is_read_from_the_op_table() -> None:
    """An op registered now, whose forward is np.sinh, is what np.sinh(t) records."""
    assert np.sinh not in numpy_api.implementations()
    defop("sinh_probe", np.sinh, (lambda g, x, out: g * np.cosh(x),), expr="sinh({0})",
          why="d sinh x = cosh x dx")
    try:
        x = am.tensor([0.5, 2.0], requires_grad=True)
        y = np.sinh(x)
        assert y.op == "sinh_probe"
        y.sum().backward()
        assert_close(x.grad, np.cosh([0.5, 2.0]))
    finally:
        del OPS["sinh_probe"]
    with pytest.raises(TypeError, match="np.sinh"):
        np.sinh(x)


# ---- np.asarray(t) ------------------------------------------------------------------------


def _kinds() -> list[tuple[str, Tensor]]:
    w = am.tensor([1.0, 2.0], requires_grad=True)
    with am.no_grad():
        under_no_grad = w * 3
    held = am.tensor([[1.0, 2.0]])
    _ = (held * w).sum()  # a graph saved held's values for backward
    return [("0-d", am.tensor(3.5)), ("float32", am.tensor([1.5, 2.5], dtype=np.float32)),
            ("int", am.tensor([1, 2, 3])), ("bool", am.tensor([True, False])),
            ("empty", am.tensor(np.zeros((0, 2)))), ("non-leaf under no_grad", under_no_grad),
            ("detached", (w * 2).detach()), ("held by a graph", held)]


@pytest.mark.parametrize("convert", [np.asarray, np.array, np.asanyarray])
def test_asarray_gives_the_values_of_a_tensor_without_grad(convert) -> None:
    for kind, t in _kinds():
        arr = convert(t)
        assert type(arr) is np.ndarray and arr.dtype == t.dtype, kind
        assert arr.shape == t.shape and np.array_equal(arr, t.data), kind


def test_asarray_follows_dtype_and_copy() -> None:
    t = am.tensor([1.0, 2.0])
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    assert np.asarray(t) is t.data  # shared, as t.numpy()
    copied = np.array(t, copy=True)
    copied[0] = 9.0
    assert t.data[0] == 1.0
    with pytest.raises(ValueError, match="copy"):
        np.asarray(t, dtype=np.int64, copy=False)


def test_a_list_of_tensors_becomes_a_numeric_array() -> None:
    arr = np.array([am.tensor([1.0, 2.0]), am.tensor([3.0, 4.0])])
    assert arr.dtype == np.float64 and arr.shape == (2, 2)
    with pytest.raises(TypeError, match="requires grad"):
        np.array([am.tensor([1.0], requires_grad=True), am.tensor([2.0])])


@pytest.mark.parametrize("convert", [np.asarray, np.array, lambda t: np.asarray(t, float)])
def test_asarray_refuses_a_tensor_that_requires_grad(convert) -> None:
    w = am.tensor([[1.0], [2.0]], requires_grad=True)
    for t in (w, w * 2):
        with pytest.raises(TypeError) as e:
            convert(t)
        message = str(e.value)
        for hint in ("(2, 1)", "graph", ".data", ".detach()", "X @ w", "am.dot(X, w)"):
            assert hint in message, (hint, message)


def test_ndarray_dot_tensor_says_to_write_matmul() -> None:
    X = np.ones((3, 2))
    w = am.tensor([[1.0], [2.0]], requires_grad=True)
    with pytest.raises(TypeError, match=r"X @ w or am\.dot\(X, w\)"):
        X.dot(w)


# ---- the seed's code, unchanged, on a tensor ----------------------------------------------


@pytest.mark.parametrize("y_shape,w_shape", [((20,), (3,)), ((20, 1), (3, 1))])
def test_numpy_style_mse_code_differentiates_unchanged(y_shape, w_shape) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(20, 3))
    y = rng.normal(size=y_shape)
    w = am.tensor(rng.normal(size=w_shape), requires_grad=True)
    score = np.dot(x, w)
    error = np.mean((1 / 2) * ((y - score) ** 2))
    error.backward()
    # mean(½(y − xw)²) has gradient −xᵀ(y − xw)/N: the seed's x.T.dot(y − score)/len(x)
    assert_close(w.grad, -x.T.dot(y - score.data) / len(x), rtol=1e-12, atol=1e-12)
    assert_close(error.data, np.mean((y - x @ w.data) ** 2) / 2)


# ---- operators and ufuncs with an ndarray on the left -------------------------------------

BINARY = [(np.add, lambda a, b: a + b, "add"), (np.subtract, lambda a, b: a - b, "sub"),
          (np.multiply, lambda a, b: a * b, "mul"), (np.divide, lambda a, b: a / b, "div"),
          (np.true_divide, lambda a, b: a / b, "div"), (np.power, lambda a, b: a ** b, "power"),
          (np.matmul, lambda a, b: a @ b, "matmul"), (np.maximum, None, "maximum"),
          (np.minimum, None, "minimum")]


@pytest.mark.parametrize("ufunc,operator,name", BINARY, ids=[b[2] + "-" + b[0].__name__
                                                              for b in BINARY])
def test_ndarray_on_the_left_keeps_operand_order(ufunc, operator, name) -> None:
    a = np.array([[0.5, 2.0], [1.5, 0.7]])
    b0 = np.array([[1.3, 0.4], [0.9, 2.2]])
    for call in (ufunc, operator):
        if call is None:
            continue
        b = am.tensor(b0, requires_grad=True)
        out = call(a, b)
        assert isinstance(out, Tensor) and out.op == name
        assert_close(out.data, ufunc(a, b0))
        out.sum().backward()
        assert_close(b.grad, numeric_grad(lambda v: float(ufunc(a, v).sum()), b0))


def test_numpy_scalars_and_float32_keep_working() -> None:
    t = am.tensor([1.5, 2.5], dtype=np.float32, requires_grad=True)
    assert (np.float64(2.0) * t).op == "mul"
    out = np.exp(np.float32(2.0) - t)
    assert out.dtype == np.float32 and out.op == "exp"
    assert (np.ones(2, dtype=np.float32) + t).dtype == np.float32


def test_unary_ufuncs_record_their_ops() -> None:
    x0 = np.array([0.5, 2.0])
    for ufunc, name in [(np.negative, "neg"), (np.exp, "exp"), (np.log, "log"),
                        (np.sqrt, "sqrt"), (np.tanh, "tanh"), (np.abs, "abs"),
                        (np.absolute, "abs")]:
        x = am.tensor(x0, requires_grad=True)
        y = ufunc(x)
        assert y.op == name
        y.sum().backward()
        assert_close(x.grad, numeric_grad(lambda v, f=ufunc: float(f(v).sum()), x0))


def test_power_picks_pow_for_a_number_and_power_for_an_array() -> None:
    x = am.tensor([1.5, 2.0], requires_grad=True)
    assert np.power(x, 2).label == "pow 2"
    assert np.power(x, np.float64(0.5)).label == "pow 0.5"
    assert np.power(x, np.array([2.0, 3.0])).op == "power"
    assert np.power(2.0, x).op == "power"
    assert np.power(x, x).op == "power"


# ---- NumPy's extra arguments --------------------------------------------------------------


def test_numpy_defaults_are_accepted() -> None:
    t = am.tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True)
    out = np.add(t, 1, out=None, where=True, casting="same_kind", order="K", dtype=None)
    assert out.op == "add"
    assert np.sum(t, axis=0, dtype=None, out=None, keepdims=False, where=True).op == "sum"
    assert np.mean(t, None, None, None, True).shape == (1, 1)  # positional, as NumPy binds
    assert np.max(t, axis=1, out=None).op == "max"
    assert np.concatenate([t, t], axis=0, out=None, dtype=None, casting="same_kind").op == \
        "concatenate"
    assert np.reshape(t, (4,), order="C").shape == (4,)
    assert np.clip(t, a_max=2.0).op == "clip"
    assert_close(np.clip(t, a_max=2.0).data, np.array([[1.0, -2.0], [2.0, 2.0]]))


@pytest.mark.parametrize("call,words", [
    (lambda t, a: np.add(t, 1, out=a), ["np.add", "out=", "lose the graph"]),
    (lambda t, a: np.multiply(a, t, out=a), ["np.multiply", "out="]),
    (lambda t, a: np.add(t, 1, dtype=np.float32), ["np.add", "dtype="]),
    (lambda t, a: np.add(t, 1, where=a > 0), ["np.add", "where="]),
    (lambda t, a: np.sum(t, initial=1.0), ["np.sum", "initial=", "am.sum(x, axis, keepdims)"]),
    (lambda t, a: np.mean(t, dtype=np.float32), ["np.mean", "dtype="]),
    (lambda t, a: np.max(t, where=a > 0, initial=0), ["np.max"]),
    (lambda t, a: np.matmul(t, a.T, axes=[(0, 1), (0, 1), (0, 1)]), ["np.matmul", "axes="]),
    (lambda t, a: np.add.reduce(t), ["np.add.reduce", "np.sum"]),
    (lambda t, a: np.where(t), ["np.where", "am.where(cond, a, b)"]),
    (lambda t, a: np.clip(t, 0, 1, casting="unsafe"), ["np.clip", "casting"]),
])
def test_other_numpy_arguments_are_refused_by_name(call, words) -> None:
    t = am.tensor(np.ones((2, 2)), requires_grad=True)
    a = np.zeros((2, 2))
    with pytest.raises(TypeError) as e:
        call(t, a)
    for word in words:
        assert word in str(e.value), (word, str(e.value))
    assert np.all(a == 0)  # nothing was written


def test_ndarray_in_place_add_of_a_tensor_is_refused() -> None:
    a = np.zeros(2)
    with pytest.raises(TypeError, match=r"a = a \+ t"):
        a += am.tensor([1.0, 2.0], requires_grad=True)
    assert np.all(a == 0)


@pytest.mark.parametrize("call,name", [
    (np.sinh, "np.sinh"), (np.arctan, "np.arctan"), (np.cumsum, "np.cumsum"),
    (lambda t: np.linalg.norm(t), "np.linalg.norm"), (np.cbrt, "np.cbrt"),
])
def test_functions_without_an_op_name_themselves_and_the_way_out(call, name) -> None:
    t = am.tensor([0.5, 1.0], requires_grad=True)
    with pytest.raises(TypeError) as e:
        call(t)
    message = str(e.value)
    assert name.split(".")[-1] in message and "no op" in message and "t.data" in message


def test_dot_follows_numpy_for_scalars_and_refuses_n_d() -> None:
    t = am.tensor([1.0, 2.0], requires_grad=True)
    assert (np.dot(t, 3.0)).op == "mul"
    assert_close(am.dot(2.0, t).data, np.array([2.0, 4.0]))
    with pytest.raises(ValueError, match=r"\(2, 2, 3\).*\(3, 2\).*a @ b"):
        np.dot(am.tensor(np.ones((2, 2, 3)), requires_grad=True), np.ones((3, 2)))


# ---- answers without a graph --------------------------------------------------------------


def test_metadata_and_comparisons_answer_from_the_tensor() -> None:
    w = am.tensor([[1.0, np.nan, 3.0]], requires_grad=True)
    assert np.shape(w) == (1, 3) and np.ndim(w) == 2 and np.size(w) == 3
    assert np.size(w, 1) == 3
    a = np.array([[2.0, 2.0, 2.0]])
    assert np.array_equal(a < w, [[False, False, True]])
    assert np.array_equal(np.equal(a, w), [[False, False, False]])
    assert np.array_equal(np.isnan(w), [[False, True, False]])
    assert np.array_equal(np.isfinite(w), [[True, False, True]])
    assert type(np.isnan(w)) is np.ndarray


def test_another_librarys_array_type_gets_its_turn() -> None:
    class Other:
        def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> str:
            return "other answered"

    assert np.add(am.tensor([1.0]), Other()) == "other answered"


def test_numpy_api_results_match_the_methods() -> None:
    """A NumPy call records the node its Tensor method does: same label, same values."""
    rng = np.random.default_rng(1)
    x0 = rng.normal(size=(3, 4))
    x = am.tensor(x0, requires_grad=True)
    pairs = [(np.sum(x, axis=1), x.sum(axis=1)), (np.mean(x), x.mean()),
             (np.transpose(x, (1, 0)), x.T), (np.max(x, axis=0), x.max(axis=0))]
    for a, b in pairs:
        assert a.label == b.label
        assert_close(a.data, b.data)
    assert math.isclose(float(np.sum(x).data), float(x0.sum()))
