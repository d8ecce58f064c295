"""NumPy-style functions: am.exp(x), am.sum(x, axis), am.where(c, a, b), ...

Each accepts Tensors, ndarrays or numbers and returns a Tensor. The functions written here
add something to the op: NumPy's argument names and defaults, checks, or several ops. Every
other op of the table gets its function from the table itself (`op_function`), so a new
op is callable as am.<name>(...) with no edit here.
"""

from __future__ import annotations

import inspect
import re
import string
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
    """eˣ, element-wise, for `x` a Tensor, ndarray or number; d eˣ/dx = eˣ."""
    return _t(x).exp()


def log(x: ArrayLike) -> Tensor:
    """The natural logarithm log(x), element-wise; d log(x)/dx = 1/x."""
    return _t(x).log()


def sqrt(x: ArrayLike) -> Tensor:
    """√x, element-wise; d√x/dx = 1/(2√x), infinite at x = 0."""
    return _t(x).sqrt()


def tanh(x: ArrayLike) -> Tensor:
    """tanh(x), element-wise; d tanh(x)/dx = 1 − tanh(x)²."""
    return _t(x).tanh()


def sigmoid(x: ArrayLike) -> Tensor:
    """σ(x) = 1/(1 + e⁻ˣ), element-wise, computed without overflow for any x; dσ/dx = σ(1 − σ)."""
    return _t(x).sigmoid()


def relu(x: ArrayLike) -> Tensor:
    """max(x, 0), element-wise; the gradient passes where x > 0 (0 at exactly 0)."""
    return _t(x).relu()


def abs(x: ArrayLike) -> Tensor:
    """|x|, element-wise; d|x|/dx = sign(x) (0 at exactly 0)."""
    return _t(x).abs()


def clip(x: ArrayLike, lo: ArrayLike | None = None, hi: ArrayLike | None = None) -> Tensor:
    """x limited to [lo, hi] (None: no bound on that side), as np.clip.

    The gradient passes where lo ≤ x ≤ hi and is 0 where a bound was applied; the bounds are
    constants (no gradient flows to them).
    """
    return _t(x).clip(lo, hi)


def sum(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Σ of x over `axis` (an int, a tuple of ints, or None for all axes); keepdims keeps the
    summed axes as length 1. Every summed element gets the upstream gradient once."""
    return _t(x).sum(axis=axis, keepdims=keepdims)


def mean(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """The mean Σx / N of x over `axis` (all axes when None); keepdims keeps the averaged axes
    as length 1. Each of the N elements gets 1/N of the upstream gradient."""
    return _t(x).mean(axis=axis, keepdims=keepdims)


def max(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """The largest value of x over `axis` (all axes when None); keepdims keeps the reduced
    axes as length 1. Only the maximal entries get the gradient; ties share it evenly."""
    return _t(x).max(axis=axis, keepdims=keepdims)


def min(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """The smallest value of x over `axis` (all axes when None); keepdims keeps the reduced
    axes as length 1. Only the minimal entries get the gradient; ties share it evenly."""
    return _t(x).min(axis=axis, keepdims=keepdims)


def var(x: ArrayLike, axis: Axis = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
    """Variance Σ(x − x̄)² / (N − ddof) of x over `axis` (all axes when None), in NumPy's
    argument order: ddof=0 the population variance, ddof=1 the sample variance; keepdims
    keeps the reduced axes as length 1."""
    return _t(x).var(axis=axis, ddof=ddof, keepdims=keepdims)


def std(x: ArrayLike, axis: Axis = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
    """Standard deviation √var of x over `axis` (all axes when None), in NumPy's argument
    order: N − ddof divides, so ddof=1 gives the sample standard deviation; keepdims keeps
    the reduced axes as length 1."""
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
    """The values of x in a new `shape` (one entry may be -1), as np.reshape; the gradient
    is reshaped back."""
    return _t(x).reshape(shape)


def transpose(x: ArrayLike, axes: Sequence[int] | None = None) -> Tensor:
    """x with its axes permuted by `axes` (reversed when None), as np.transpose; the gradient
    is transposed back."""
    return _t(x).transpose() if axes is None else _t(x).transpose(*axes)


def broadcast_to(x: ArrayLike, shape: int | Sequence[int]) -> Tensor:
    """x's values repeated along new or size-1 axes to reach `shape`, as np.broadcast_to;
    each copy's gradient is summed back into the value it came from."""
    return _t(x).broadcast_to((shape,) if isinstance(shape, (int, np.integer)) else tuple(shape))


def logsumexp(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """log Σ exp(x) over `axis` (all axes when None), shifted by the max so it never
    overflows; keepdims keeps the reduced axes as length 1. Its gradient is the softmax."""
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


def op_signature(op: Op) -> inspect.Signature | None:
    """The parameters of am.<op>: its inputs, positional, then its params, keywords only.

    Read from the op's first VJP rule, `rule(g, *inputs, out, **params)`, which names both;
    None when the rule does not spell them out (a `**params` catch-all, say).
    """
    try:
        rule = list(inspect.signature(op.vjps[0]).parameters.values())[1:]  # after g
    except (TypeError, ValueError, IndexError):
        return None
    names = [p.name for p in rule]
    if "out" not in names:
        return None
    before, after = rule[:names.index("out")], rule[names.index("out") + 1:]
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if op.variadic:
        if len(before) != 1 or before[0].kind is not inspect.Parameter.VAR_POSITIONAL:
            return None
        after = [p for p in after if p.name != "i"]  # which input the rule is for: not a param
        inputs = [inspect.Parameter(before[0].name, inspect.Parameter.VAR_POSITIONAL,
                                    annotation=ArrayLike)]
    elif len(before) != len(op.vjps) or any(p.kind not in positional for p in before):
        return None
    else:
        inputs = [inspect.Parameter(p.name, inspect.Parameter.POSITIONAL_ONLY,
                                    annotation=ArrayLike) for p in before]
    if any(p.kind not in positional + (inspect.Parameter.KEYWORD_ONLY,) for p in after):
        return None
    params = [inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, default=p.default,
                                annotation=Any) for p in after]
    return inspect.Signature(inputs + params, return_annotation=Tensor)


def _listed(names: list[str]) -> str:
    """`a`, `a` and `b`, `a`, `b` and `c`."""
    quoted = [f"`{n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def op_doc(op: Op, signature: inspect.Signature | None) -> str:
    """am.<op>'s docstring, from the op record: what it computes (its expr), why its gradient
    is what it is (its why), and its parameters by name."""
    if signature is None:
        lines = [f"Applies op {op.name}: the positional `args` are its inputs (Tensors, "
                 "ndarrays or numbers), the keyword `params` its parameters."]
    else:
        kinds = [p.kind for p in signature.parameters.values()]
        inputs = [p for p, k in zip(signature.parameters, kinds, strict=True)
                  if k is not inspect.Parameter.KEYWORD_ONLY]
        params = [p for p, k in zip(signature.parameters, kinds, strict=True)
                  if k is inspect.Parameter.KEYWORD_ONLY]
        try:
            formula = string.Formatter().vformat(op.expr, tuple(inputs), _Names())
        except (IndexError, ValueError):
            formula = f"{op.name}({', '.join(inputs)})"
        lines = [f"Computes {formula}."]
        if op.variadic:
            text = f"{_listed(inputs)}: any number of Tensors, ndarrays or numbers."
        elif len(inputs) == 1:
            text = f"{_listed(inputs)} is a Tensor, an ndarray or a number."
        else:
            text = f"{_listed(inputs)} are Tensors, ndarrays or numbers."
        if params:
            one = len(params) == 1
            text += (f" {_listed(params)} {'is a keyword' if one else 'are keywords'}: "
                     f"{'a constant' if one else 'constants'} of the op (no gradient flows "
                     f"to {'it' if one else 'them'}).")
        lines.append(text)
    if op.why:
        out = " (out is the result)" if re.search(r"\bout\b", op.why) else ""
        lines.insert(1, f"Gradient: {op.why.rstrip('.')}{out}.")
    return "\n\n".join(lines)


class _Names(dict[str, str]):
    """For str.format: a named field ({p}, {index}) prints as its name."""

    def __missing__(self, key: str) -> str:
        return key


def op_function(op: Op) -> Callable[..., Tensor]:
    """The function that applies `op`: operands as its inputs, keywords as its params."""

    def apply(*args: ArrayLike, **params: Any) -> Tensor:
        return record(op, *args, **params)

    apply.__name__ = apply.__qualname__ = op.name
    signature = op_signature(op)
    if signature is not None:
        apply.__signature__ = signature  # type: ignore[attr-defined]
    apply.__doc__ = op_doc(op, signature)
    return apply


_WRITTEN = [n for n, f in list(globals().items()) if callable(f) and not n.startswith("_")
            and getattr(f, "__module__", None) == __name__
            and n not in ("op_function", "op_signature", "op_doc")]
_FROM_TABLE = {name: op_function(op) for name, op in OPS.items() if name not in globals()}
globals().update(_FROM_TABLE)
__all__ = sorted(_WRITTEN + list(_FROM_TABLE))  # op_function is for am.defop, not users
