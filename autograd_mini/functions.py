"""NumPy-style functions: am.exp(x), am.sum(x, axis), am.where(c, a, b), ...

Each accepts Tensors, ndarrays or numbers and returns a Tensor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .ops import OPS
from .tensor import ArrayLike, Axis, Tensor, _value


def _t(x: ArrayLike) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def exp(x: ArrayLike) -> Tensor:
    return _t(x).exp()


def log(x: ArrayLike) -> Tensor:
    return _t(x).log()


def sqrt(x: ArrayLike) -> Tensor:
    return _t(x).sqrt()


def tanh(x: ArrayLike) -> Tensor:
    return _t(x).tanh()


def sigmoid(x: ArrayLike) -> Tensor:
    """σ(x) = 1/(1+e⁻ˣ), computed without overflow for any x."""
    return _t(x).sigmoid()


def relu(x: ArrayLike) -> Tensor:
    return _t(x).relu()


def abs(x: ArrayLike) -> Tensor:
    return _t(x).abs()


def clip(x: ArrayLike, lo: float | None, hi: float | None) -> Tensor:
    return _t(x).clip(lo, hi)


def sum(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return _t(x).sum(axis=axis, keepdims=keepdims)


def mean(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return _t(x).mean(axis=axis, keepdims=keepdims)


def max(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return _t(x).max(axis=axis, keepdims=keepdims)


def min(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return _t(x).min(axis=axis, keepdims=keepdims)


def matmul(a: ArrayLike, b: ArrayLike) -> Tensor:
    """a @ b, with NumPy's rules for 1-D operands and batches."""
    return Tensor._record(OPS["matmul"], a, b)


def dot(a: ArrayLike, b: ArrayLike) -> Tensor:
    """a @ b (for 1-D and 2-D operands this is np.dot)."""
    return Tensor._record(OPS["matmul"], a, b)


def maximum(a: ArrayLike, b: ArrayLike) -> Tensor:
    """Element-wise maximum; where a == b each side gets half the gradient."""
    return Tensor._record(OPS["maximum"], a, b)


def minimum(a: ArrayLike, b: ArrayLike) -> Tensor:
    """Element-wise minimum; where a == b each side gets half the gradient."""
    return Tensor._record(OPS["minimum"], a, b)


def where(cond: ArrayLike, a: ArrayLike, b: ArrayLike) -> Tensor:
    """a where cond is true, else b; the condition itself gets no gradient."""
    return Tensor._record(OPS["where"], a, b, cond=np.array(_value(cond), dtype=bool))


def concatenate(tensors: Sequence[ArrayLike], axis: int = 0) -> Tensor:
    if len(tensors) == 0:
        raise ValueError("concatenate needs at least one tensor")
    return Tensor._record(OPS["concatenate"], *tensors, axis=axis)


def stack(tensors: Sequence[ArrayLike], axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis."""
    ts = [_t(x) for x in tensors]
    if not ts:
        raise ValueError("stack needs at least one tensor")
    shapes = {t.shape for t in ts}
    if len(shapes) > 1:
        raise ValueError(f"stack needs tensors of one shape, got shapes {sorted(shapes)}")
    ndim = ts[0].ndim + 1
    if not -ndim <= axis < ndim:
        raise ValueError(f"stack: axis {axis} is out of range for {ndim}-d output")
    ax = axis % ndim
    shape = ts[0].shape
    return concatenate([t.reshape(shape[:ax] + (1,) + shape[ax:]) for t in ts], axis=ax)


def logsumexp(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """log Σ exp(x), shifted by the max so it never overflows."""
    t = _t(x)
    return Tensor._record(OPS["logsumexp"], t, axis=_axis_param(axis), keepdims=keepdims)


def softmax(x: ArrayLike, axis: int = -1) -> Tensor:
    """exp(x) / Σ exp(x) along `axis`, shifted by the max so it never overflows."""
    return Tensor._record(OPS["softmax"], _t(x), axis=axis)


def log_softmax(x: ArrayLike, axis: int = -1) -> Tensor:
    """x − logsumexp(x) along `axis`: finite even where softmax underflows to 0."""
    return Tensor._record(OPS["log_softmax"], _t(x), axis=axis)


def _axis_param(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis
