"""Every op in the table, checked against central finite differences.

The tests iterate over the registry: an op without a case here fails `test_every_op_has_a_case`,
so adding an op to ops.py means adding its case below and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import autograd_mini as am
from autograd_mini.ops import OPS
from autograd_mini.recording import record
from autograd_mini.tensor import Tensor
from tests.helpers import assert_close, numeric_grad

Case = tuple[Callable[..., Tensor], list[np.ndarray]]
BROADCAST_PAIRS = [((3, 1), (1, 4)), ((5,), (2, 5)), ((), (3,)), ((2, 3), ()), ((), ()),
                   ((4, 1, 3), (2, 1))]

shapes = array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
pairs = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4)


def _rng(data: st.DataObject) -> np.random.Generator:
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))


def _away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values in ±[0.5, 2]: clear of kinks at 0 and of division by zero."""
    return rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def _positive(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.uniform(0.5, 2.0, shape)


def _distinct(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values at least 0.1 apart, so max/min have no near-ties within finite-difference reach."""
    n = int(np.prod(shape, dtype=np.int64))
    return (rng.permutation(n) * 0.1 + rng.uniform(-0.01, 0.01)).reshape(shape) - 0.05 * n


def _binary(fn: Callable[..., Tensor], make: Callable[..., np.ndarray] = _away_from_zero,
            make_b: Callable[..., np.ndarray] | None = None) -> Callable[..., Case]:
    def build(data: st.DataObject) -> Case:
        rng = _rng(data)
        sa, sb = data.draw(st.one_of(st.sampled_from(BROADCAST_PAIRS),
                                     pairs.map(lambda s: s.input_shapes)))
        return fn, [make(rng, sa), (make_b or make)(rng, sb)]
    return build


def _unary(fn: Callable[..., Tensor], make: Callable[..., np.ndarray] = _away_from_zero
           ) -> Callable[..., Case]:
    def build(data: st.DataObject) -> Case:
        return fn, [make(_rng(data), data.draw(shapes))]
    return build


def _axis_for(data: st.DataObject, ndim: int) -> Any:
    if ndim == 0:
        return None
    axes = st.one_of(st.none(), st.integers(-ndim, ndim - 1),
                     st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim,
                              unique=True).map(tuple))
    return data.draw(axes, label="axis")


def _reduction(method: str, make: Callable[..., np.ndarray] = _away_from_zero
               ) -> Callable[..., Case]:
    def build(data: st.DataObject) -> Case:
        shape = data.draw(shapes)
        axis, keepdims = _axis_for(data, len(shape)), data.draw(st.booleans())
        if method == "logsumexp":
            return (lambda x: am.logsumexp(x, axis=axis, keepdims=keepdims)), [
                make(_rng(data), shape)]
        return (lambda x: getattr(x, method)(axis=axis, keepdims=keepdims)), [
            make(_rng(data), shape)]
    return build


def _spread(method: str) -> Callable[..., Case]:
    """var/std: every reduced axis of length ≥ 2, so the spread is never 0 (std's kink)."""
    def build(data: st.DataObject) -> Case:
        shape = data.draw(array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=4))
        axis, keepdims = _axis_for(data, len(shape)), data.draw(st.booleans())
        ddof = data.draw(st.sampled_from([0, 1]), label="ddof")
        return (lambda x: getattr(x, method)(axis=axis, keepdims=keepdims, ddof=ddof)), [
            _distinct(_rng(data), shape)]
    return build


def _along_axis(fn: Callable[..., Tensor]) -> Callable[..., Case]:
    def build(data: st.DataObject) -> Case:
        shape = data.draw(array_shapes(min_dims=1, max_dims=3, max_side=4))
        axis = data.draw(st.integers(-len(shape), len(shape) - 1))
        return (lambda x: fn(x, axis=axis)), [_away_from_zero(_rng(data), shape)]
    return build


MATMUL_SHAPES = [((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)), ((3,), (3,)),
                 ((2, 2, 3), (3, 4)), ((3,), (2, 3, 4)), ((2, 1, 2, 3), (3, 3, 2)),
                 ((1, 3), (3, 1))]


def _matmul(data: st.DataObject) -> Case:
    sa, sb = data.draw(st.sampled_from(MATMUL_SHAPES))
    rng = _rng(data)
    return (lambda a, b: a @ b), [rng.normal(size=sa), rng.normal(size=sb)]


def _pow(data: st.DataObject) -> Case:
    p = data.draw(st.sampled_from([2, 3, 0.5, -1, 1.5, 0]))
    make = _positive if p in (0.5, 1.5) else _away_from_zero
    return (lambda x: x ** p), [make(_rng(data), data.draw(shapes))]


def _clip(data: st.DataObject) -> Case:
    lo, hi = data.draw(st.sampled_from([(-1.0, 1.0), (None, 0.3), (-0.2, None)]))
    x = _rng(data).uniform(-3, 3, data.draw(shapes))
    for bound in (lo, hi):  # keep finite differences away from the kinks
        if bound is not None:
            x = np.where(np.abs(x - bound) < 0.05, bound + 0.1, x)
    return (lambda t: t.clip(lo, hi)), [x]


def _where(data: st.DataObject) -> Case:
    sa, sb, sc = data.draw(mutually_broadcastable_shapes(num_shapes=3, max_dims=3,
                                                         max_side=3)).input_shapes
    rng = _rng(data)
    cond = rng.random(sc) > 0.5
    return (lambda a, b: am.where(cond, a, b)), [rng.normal(size=sa), rng.normal(size=sb)]


def _reshape(data: st.DataObject) -> Case:
    shape = data.draw(shapes)
    n = int(np.prod(shape, dtype=np.int64))
    new = data.draw(st.sampled_from([(n,), (1, n), (n, 1), (-1,), ()] if n == 1 else
                                    [(n,), (1, n), (n, 1), (-1,), (n, -1)]))
    return (lambda x: x.reshape(new)), [_rng(data).normal(size=shape)]


def _transpose(data: st.DataObject) -> Case:
    shape = data.draw(shapes)
    axes = data.draw(st.permutations(range(len(shape))))
    use_T = data.draw(st.booleans())
    return ((lambda x: x.T) if use_T else (lambda x: x.transpose(*axes))), [
        _rng(data).normal(size=shape)]


def _broadcast_to(data: st.DataObject) -> Case:
    small, big = data.draw(st.sampled_from([((3, 1), (2, 3, 4)), ((), (2, 2)),
                                             ((4,), (3, 4)), ((1, 1), (1, 5))]))
    return (lambda x: x.broadcast_to(big)), [_rng(data).normal(size=small)]


def _getitem(data: st.DataObject) -> Case:
    index = data.draw(st.sampled_from([
        (slice(None, None, -1), 0), (np.array([0, 2, 0, 0]),), (Ellipsis, None, 1),
        (slice(1, None), slice(None, 2)), (np.array([1, 1]), np.array([0, 2])), (-1,),
        (slice(None, None, 2),),
    ]))
    return (lambda x: x[index]), [_rng(data).normal(size=(3, 4))]


def _scatter(data: st.DataObject) -> Case:
    index = (np.array([0, 2, 0]),)
    return (lambda g: record(OPS["scatter"], g, index=index, shape=(4, 2))), [
        _rng(data).normal(size=(3, 2))]


def _concatenate(data: st.DataObject) -> Case:
    rng = _rng(data)
    axis = data.draw(st.sampled_from([0, 1, -1]))
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    ins = [rng.normal(size=(n, 2) if axis == 0 else (2, n)) for n in sizes]
    return (lambda *ts: am.concatenate(ts, axis=axis)), ins


CASES: dict[str, Callable[[st.DataObject], Case]] = {
    "add": _binary(lambda a, b: a + b),
    "sub": _binary(lambda a, b: a - b),
    "mul": _binary(lambda a, b: a * b),
    "div": _binary(lambda a, b: a / b),
    "neg": _unary(lambda x: -x),
    "pow": _pow,
    "power": _binary(lambda a, b: a ** b, make=_positive),
    "exp": _unary(am.exp),
    "log": _unary(am.log, make=_positive),
    "sqrt": _unary(am.sqrt, make=_positive),
    "tanh": _unary(am.tanh),
    "sigmoid": _unary(am.sigmoid),
    "relu": _unary(am.relu),
    "abs": _unary(am.abs),
    "softplus": _unary(am.softplus),
    "log1p": _unary(am.log1p, make=_positive),
    "expm1": _unary(am.expm1),
    "sin": _unary(am.sin),
    "cos": _unary(am.cos),
    "square": _unary(am.square),
    "logaddexp": _binary(am.logaddexp),
    "var": _spread("var"),
    "std": _spread("std"),
    "astype": _unary(lambda x: x.astype(np.float64) * x),
    "clip": _clip,
    "maximum": _binary(am.maximum, make_b=lambda rng, s: _away_from_zero(rng, s) + 0.01),
    "minimum": _binary(am.minimum, make_b=lambda rng, s: _away_from_zero(rng, s) + 0.01),
    "where": _where,
    "matmul": _matmul,
    "sum": _reduction("sum"),
    "mean": _reduction("mean"),
    "max": _reduction("max", make=_distinct),
    "min": _reduction("min", make=_distinct),
    "logsumexp": _reduction("logsumexp"),
    "softmax": _along_axis(am.softmax),
    "log_softmax": _along_axis(am.log_softmax),
    "reshape": _reshape,
    "transpose": _transpose,
    "broadcast_to": _broadcast_to,
    "getitem": _getitem,
    "scatter": _scatter,
    "concatenate": _concatenate,
}


def _scalar_loss(fn: Callable[..., Tensor], weights: np.ndarray) -> Callable[..., Tensor]:
    """L = Σ fn(inputs) ⊙ W: random weights make every output element matter differently."""
    return lambda *ts: (fn(*ts) * weights).sum()


def _weights(fn: Callable[..., Tensor], inputs: list[np.ndarray]) -> np.ndarray:
    out = fn(*[Tensor(x) for x in inputs])
    return np.random.default_rng(1).normal(size=out.shape)


def test_every_op_has_a_case() -> None:
    assert sorted(CASES) == sorted(OPS), "add a case for each op in ops.OPS"


def test_every_op_record_is_complete() -> None:
    for op in OPS.values():
        arity = 1 if op.variadic else len(op.vjps)
        assert op.vjps and all(callable(r) for r in op.vjps), op.name
        assert op.formulas is None or len(op.formulas) == arity, op.name
        assert op.expr and op.why, op.name


def test_one_rule_per_input_prints_too() -> None:
    """The explainer runs each op's VJP itself; a printed form of its own is the exception."""
    assert {n for n, op in OPS.items() if op.formulas is not None} <= {"power"}
    assert OPS["sum"].formula(0) is OPS["sum"].vjp(0)


@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_gradient_matches_finite_differences(name: str, data: st.DataObject) -> None:
    fn, inputs = CASES[name](data)
    loss = _scalar_loss(fn, _weights(fn, inputs))
    tensors = [Tensor(x, requires_grad=True) for x in inputs]
    loss(*tensors).backward()
    for k, t in enumerate(tensors):
        def f_k(xk: np.ndarray, k: int = k) -> float:
            args = [Tensor(xk if i == k else x) for i, x in enumerate(inputs)]
            return float(loss(*args).data)
        expected = numeric_grad(f_k, inputs[k])
        assert t.grad is not None and t.grad.shape == inputs[k].shape
        assert_close(t.grad, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_second_derivative_matches_finite_differences(name: str, data: st.DataObject) -> None:
    """create_graph runs the same VJP rules on Tensors: ∂/∂x of ⟨v, ∂L/∂x⟩ vs differences."""
    fn, inputs = CASES[name](data)
    loss = _scalar_loss(fn, _weights(fn, inputs))
    v = np.random.default_rng(2).normal(size=inputs[0].shape)

    def directional(x0: Any) -> Tensor:
        # ⟨v, ∂L/∂x0⟩ with the other inputs held fixed: a scalar whose gradient is H·v.
        g = am.grad(lambda x: loss(x, *inputs[1:]))(x0)
        return (g * v).sum() if isinstance(g, Tensor) else float((g * v).sum())

    x = Tensor(inputs[0], requires_grad=True)
    out = directional(x)
    if out.requires_grad:  # piecewise-linear ops give a constant gradient: H·v = 0
        out.backward()
    expected = numeric_grad(lambda x0: directional(x0), inputs[0], eps=1e-5)
    got = x.grad if x.grad is not None else np.zeros_like(inputs[0])
    assert_close(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("sa,sb", BROADCAST_PAIRS)
def test_broadcast_gradients_sum_back_to_each_operand(sa: tuple[int, ...],
                                                      sb: tuple[int, ...]) -> None:
    a = am.tensor(np.ones(sa), requires_grad=True)
    b = am.tensor(np.full(sb, 2.0), requires_grad=True)
    (a * b).sum().backward()
    out_size = np.broadcast_shapes(sa, sb)
    n = int(np.prod(out_size, dtype=np.int64))
    # each element of a is used n / a.size times, multiplied by 2 each time
    assert_close(a.grad, np.full(sa, 2.0 * n / max(a.data.size, 1)))
    assert_close(b.grad, np.full(sb, 1.0 * n / max(b.data.size, 1)))


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=10)
@given(data=st.data())
def test_float32_inputs_get_float32_gradients(name: str, data: st.DataObject) -> None:
    """Masks and counts in the rules take the gradient's dtype: float32 stays float32."""
    fn, inputs = CASES[name](data)
    weights = _weights(fn, inputs).astype(np.float32)
    loss = _scalar_loss(fn, weights)
    want = [Tensor(x, requires_grad=True) for x in inputs]
    loss(*want).backward()
    got = [Tensor(x.astype(np.float32), requires_grad=True) for x in inputs]
    loss(*got).backward()
    for g32, g64 in zip(got, want, strict=True):
        assert g32.grad is not None and g32.grad.dtype == np.float32, name
        assert_close(g32.grad, g64.grad, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("method, sign", [("max", 1.0), ("min", -1.0)])
def test_ties_split_evenly_in_max_and_min_also_when_differentiated_again(method: str,
                                                                          sign: float) -> None:
    data = sign * np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])  # ties: 3, 3 and 2, 2, 2
    x = am.tensor(data, requires_grad=True)
    getattr(x, method)(axis=1).sum().backward()
    assert_close(x.grad, np.array([[0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]]))
    g = am.grad(lambda t: (getattr(t, method)(axis=1) ** 2).sum())(
        am.tensor(data, requires_grad=True))
    assert isinstance(g, Tensor) and g.requires_grad  # the rule ran on Tensors
    assert_close(g.data, sign * np.array([[0.0, 3.0, 3.0], [4 / 3, 4 / 3, 4 / 3]]))  # 2m·share


@pytest.mark.parametrize("fn", [am.maximum, am.minimum])
def test_maximum_and_minimum_split_ties_so_the_shares_add_up(fn: Callable[..., Tensor]) -> None:
    a = am.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = am.tensor([2.0, 2.0, 2.0], requires_grad=True)
    fn(a, b).sum().backward()
    assert a.grad is not None and b.grad is not None
    assert_close(a.grad + b.grad, np.ones(3))
    assert a.grad[1] == b.grad[1] == 0.5
    assert a.grad[2] == (1.0 if fn is am.maximum else 0.0)
