"""NumPy-style functions: am.exp(x), am.sum(x, axis), am.where(c, a, b), ...

Each accepts Tensors, ndarrays or numbers and returns a Tensor. The functions written here
add something to the op: NumPy's argument names and defaults, checks, or several ops. Every
other op of the table gets its function from the table itself (`op_function`), so a new
op is callable as am.<name>(...) with no edit here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import backends
from .ops import OPS, Op
from .recording import record
from .shapes import array_of
from .tensor import ArrayLike, Axis, Tensor


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


def clip(x: ArrayLike, lo: ArrayLike | None = None, hi: ArrayLike | None = None) -> Tensor:
    return _t(x).clip(lo, hi)


def sum(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return _t(x).sum(axis=axis, keepdims=keepdims)


def mean(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return _t(x).mean(axis=axis, keepdims=keepdims)


def max(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return _t(x).max(axis=axis, keepdims=keepdims)


def min(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return _t(x).min(axis=axis, keepdims=keepdims)


def var(x: ArrayLike, axis: Axis = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
    """Variance Σ(x − x̄)² / (N − ddof) over `axis` (NumPy's argument order)."""
    return _t(x).var(axis=axis, ddof=ddof, keepdims=keepdims)


def std(x: ArrayLike, axis: Axis = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
    """Standard deviation √var over `axis` (NumPy's argument order)."""
    return _t(x).std(axis=axis, ddof=ddof, keepdims=keepdims)


def astype(x: ArrayLike, dtype: Any) -> Tensor:
    """x converted to `dtype`; gradients flow through a cast to a float dtype."""
    return _t(x).astype(dtype)


def matmul(a: ArrayLike, b: ArrayLike) -> Tensor:
    """a @ b, with NumPy's rules for 1-D operands and batches."""
    return record(OPS["matmul"], a, b)


def dot(a: ArrayLike, b: ArrayLike) -> Tensor:
    """np.dot: a @ b for 1-D and 2-D operands, a * b when either is a scalar.

    np.dot of N-d arrays contracts a's last axis with b's second-to-last over every pair of
    batch entries, which is not matmul's batched product; it is refused rather than mixed up.
    """
    na, nb = np.ndim(a), np.ndim(b)
    if na == 0 or nb == 0:
        return record(OPS["mul"], a, b)
    if na > 2 or nb > 2:
        raise ValueError(f"dot of shapes {np.shape(a)} and {np.shape(b)}: autograd_mini has "
                         "np.dot only for 1-d and 2-d operands. For a batched product write "
                         "a @ b (am.matmul); np.dot's N-d contraction can be written with "
                         "reshape and @.")
    return record(OPS["matmul"], a, b)


def maximum(a: ArrayLike, b: ArrayLike) -> Tensor:
    """Element-wise maximum; where a == b each side gets half the gradient."""
    return record(OPS["maximum"], a, b)


def minimum(a: ArrayLike, b: ArrayLike) -> Tensor:
    """Element-wise minimum; where a == b each side gets half the gradient."""
    return record(OPS["minimum"], a, b)


def where(cond: ArrayLike, a: ArrayLike, b: ArrayLike) -> Tensor:
    """a where cond is true, else b; the condition itself gets no gradient."""
    cond = array_of(cond)
    return record(OPS["where"], a, b, cond=backends.astype(cond, bool) if backends.is_foreign(cond)
                  else np.array(cond, dtype=bool))  # a copy: later changes cannot reach it


def concatenate(tensors: Sequence[ArrayLike], axis: int | None = 0) -> Tensor:
    """Join tensors along an existing axis; axis=None flattens them first (as NumPy does)."""
    if len(tensors) == 0:
        raise ValueError("concatenate needs at least one tensor")
    if axis is None:
        return record(OPS["concatenate"], *[_t(x).reshape(-1) for x in tensors], axis=0)
    return record(OPS["concatenate"], *tensors, axis=axis)


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


def reshape(x: ArrayLike, shape: int | Sequence[int]) -> Tensor:
    """The same values in a new shape (one entry may be -1), as np.reshape."""
    return _t(x).reshape(shape)


def transpose(x: ArrayLike, axes: Sequence[int] | None = None) -> Tensor:
    """Permute the axes (reverse them when axes is None), as np.transpose."""
    return _t(x).transpose() if axes is None else _t(x).transpose(*axes)


def broadcast_to(x: ArrayLike, shape: int | Sequence[int]) -> Tensor:
    """Repeat values along new or size-1 axes to reach `shape`, as np.broadcast_to."""
    return _t(x).broadcast_to((shape,) if isinstance(shape, (int, np.integer)) else tuple(shape))


def logsumexp(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """log Σ exp(x), shifted by the max so it never overflows."""
    t = _t(x)
    return record(OPS["logsumexp"], t, axis=_axis_param(axis), keepdims=keepdims)


def softmax(x: ArrayLike, axis: int = -1) -> Tensor:
    """exp(x) / Σ exp(x) along `axis`, shifted by the max so it never overflows."""
    return record(OPS["softmax"], _t(x), axis=axis)


def log_softmax(x: ArrayLike, axis: int = -1) -> Tensor:
    """log softmax(x) along `axis`: (x − m) − log Σ exp(x − m) with m = max x.

    Finite where softmax underflows to 0, and exact at any magnitude of x (the O(1) answer is
    never subtracted from a rounded logsumexp).
    """
    return record(OPS["log_softmax"], _t(x), axis=axis)


def _axis_param(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis


def op_function(op: Op) -> Callable[..., Tensor]:
    """The function that applies `op`: operands as its inputs, keywords as its params."""

    def apply(*args: ArrayLike, **params: Any) -> Tensor:
        return record(op, *args, **params)

    apply.__name__ = apply.__qualname__ = op.name
    apply.__doc__ = f"{op.name}: {op.why}" if op.why else op.name
    return apply


_WRITTEN = [n for n, f in list(globals().items()) if callable(f) and not n.startswith("_")
            and getattr(f, "__module__", None) == __name__ and n != "op_function"]
_FROM_TABLE = {name: op_function(op) for name, op in OPS.items() if name not in globals()}
globals().update(_FROM_TABLE)
__all__ = sorted(_WRITTEN + list(_FROM_TABLE))  # op_function is for am.defop, not users
