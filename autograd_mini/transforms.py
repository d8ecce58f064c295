"""Gradients as functions: grad, value_and_grad, jacobian, hessian.

These take and return ndarrays. Given a Tensor that requires grad (as inside another
transform) they return Tensors still attached to the graph, which is how
`hessian(f) = jacobian(grad(f))` differentiates twice.

Each call differentiates with respect to its own arguments only. Inside another transform
an argument may be the outer variable itself, which `f` may also close over: `grad(lambda
y: x * y)(x)` must be x, not 2x. So every call gives `f` a fresh alias of each argument it
differentiates (a vertex of its own in the graph) and stops the sweep there: uses of the
outer variable that do not go through the alias do not count.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import backends
from .functions import stack
from .mode import MODE, enable_grad
from .ops import OPS
from .recording import gradients, record
from .shapes import array_of
from .tensor import Tensor

__all__ = ["grad", "value_and_grad", "jacobian", "hessian"]

Argnums = int | Sequence[int]


def _variable(x: Any) -> tuple[Tensor, bool]:
    """The tensor to differentiate against, and whether we are inside another transform.

    Inside one, the result must stay attached to the graph even when x is a plain array:
    f may close over the outer variable (`grad(lambda y: y * x)(1.0)` is x, a function of x).
    """
    if isinstance(x, Tensor) and x.requires_grad:
        with enable_grad():
            return record(OPS["reshape"], x, shape=x.shape), True  # a fresh alias
    # integers become float64, float32 stays
    return Tensor(x, requires_grad=True), MODE.transforms > 0


def _positions(argnums: Argnums, n: int, who: str) -> tuple[tuple[int, ...], bool]:
    """`argnums` as non-negative positions, and whether it was a tuple (results are then too)."""
    many = not isinstance(argnums, (int, np.integer))
    nums: tuple[Any, ...] = tuple(argnums) if many else (argnums,)  # type: ignore[arg-type]
    if many and not nums:
        raise ValueError(f"{who}: argnums=() names no argument to differentiate")
    for k in nums:
        if not isinstance(k, (int, np.integer)) or not -n <= k < n:
            raise ValueError(f"{who}: argnums={argnums} but the function got {n} argument(s)")
    positions = tuple(int(k) % n for k in nums)
    if len(set(positions)) != len(positions):
        raise ValueError(f"{who}: argnums={argnums} names an argument twice")
    return positions, many


def _prepare(args: tuple[Any, ...], argnums: Argnums, who: str
             ) -> tuple[tuple[Any, ...], list[Tensor], bool, bool]:
    """Replace the differentiated arguments by variables: (args, variables, nested, many)."""
    positions, many = _positions(argnums, len(args), who)
    new = list(args)
    variables = []
    nested = False
    for k in positions:
        x, inner = _variable(args[k])
        new[k] = x
        variables.append(x)
        nested = nested or inner
    return tuple(new), variables, nested, many


def _gradients_of(out: Tensor, xs: list[Tensor], nested: bool, grad: Any = None) -> list[Any]:
    """[∂out/∂x for x in xs] (times `grad` for non-scalar out): zeros where out ignores x."""
    found: dict[Any, Any] = {}
    if out.requires_grad:
        found = gradients(out, grad, retain_graph=True, create_graph=nested,
                           wrt=tuple(x.vertex for x in xs))
    result = []
    for x in xs:
        g = found.get(x.vertex)
        if g is None:
            zeros = (np.zeros(x.shape, dtype=x.dtype) if type(x.array) is np.ndarray
                     else np.zeros(x.shape, dtype=x.dtype, like=x.array))  # Dask, CuPy
            result.append(Tensor(zeros) if nested else zeros)
        elif nested:
            result.append(g)
        else:  # a writable array of its own (a rule may return a read-only broadcast view)
            result.append(backends.copy_as(array_of(g), x.dtype, like=x.array))
    return result


def _call(f: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """f(*args) recorded, counted as running inside a transform (see `_variable`)."""
    MODE.transforms += 1
    try:
        with enable_grad():
            return f(*args, **kwargs)
    finally:
        MODE.transforms -= 1


def value_and_grad(f: Callable[..., Tensor], argnums: Argnums = 0
                   ) -> Callable[..., tuple[Any, Any]]:
    """Return a function giving (f(*args), ∂f/∂args[argnums]); f must return a scalar Tensor.

    With a tuple `argnums` the gradient is a tuple, one per argument named.
    """

    def wrapped(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        args, xs, nested, many = _prepare(args, argnums, "grad")
        out = _call(f, args, kwargs)
        if not isinstance(out, Tensor) or out.ndim != 0:
            raise ValueError(f"grad: the function must return a scalar (0-d) Tensor, got "
                             f"{type(out).__name__} of shape {np.shape(out)}. Reduce it "
                             "(.sum() or .mean()), or use am.jacobian for vector outputs.")
        gs = _gradients_of(out, xs, nested)
        return (out if nested else out.array.copy()), (tuple(gs) if many else gs[0])

    return wrapped


def grad(f: Callable[..., Tensor], argnums: Argnums = 0) -> Callable[..., Any]:
    """Return a function computing ∂f/∂args[argnums] (an ndarray of that argument's shape)."""
    vg = value_and_grad(f, argnums)
    return lambda *args, **kwargs: vg(*args, **kwargs)[1]


def jacobian(f: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """Return a function computing J[i..., j...] = ∂f(x)[i...]/∂x[j...] (out.shape + x.shape).

    With a tuple `argnums`, a tuple of Jacobians, one per argument named.
    """

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        args, xs, nested, many = _prepare(args, argnums, "jacobian")
        out = _call(f, args, kwargs)
        if not isinstance(out, Tensor):
            out = Tensor(out)
        rows: list[list[Any]] = [[] for _ in xs]
        for i in range(out.size):
            onehot = np.zeros(out.size, dtype=out.dtype)
            onehot[i] = 1
            for row, g in zip(rows, _gradients_of(out, xs, nested, onehot.reshape(out.shape)),
                              strict=True):
                row.append(g)
        jacobians = [_assemble(row, out.shape, x, nested) for row, x in zip(rows, xs,
                                                                            strict=True)]
        return tuple(jacobians) if many else jacobians[0]

    return wrapped


def _assemble(rows: list[Any], out_shape: tuple[int, ...], x: Tensor, nested: bool) -> Any:
    shape = out_shape + x.shape
    if nested:
        return stack(rows).reshape(shape) if rows else Tensor(np.zeros(shape))
    return np.array(rows, dtype=x.dtype).reshape(shape)


def hessian(f: Callable[..., Tensor], argnums: int = 0) -> Callable[..., Any]:
    """Return a function computing H = ∂²f/∂x² (x.shape + x.shape), via create_graph.

    `f` returns a scalar Tensor; x is its argument number `argnums` (the first by default).
    H is jacobian(grad(f, argnums), argnums): the gradient's graph is differentiated again.
    """
    return jacobian(grad(f, argnums), argnums)
