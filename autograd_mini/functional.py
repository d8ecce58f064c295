"""Gradients as functions: grad, value_and_grad, jacobian, hessian (and the grad-mode switches).

These take and return ndarrays. Given a Tensor that requires grad (as inside another
transform) they return Tensors still attached to the graph, which is how
`hessian(f) = jacobian(grad(f))` differentiates twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .functions import stack
from .mode import enable_grad, no_grad
from .tensor import Tensor, _gradients, _vertex

__all__ = ["grad", "value_and_grad", "jacobian", "hessian", "no_grad", "enable_grad"]


def _variable(x: Any) -> tuple[Tensor, bool]:
    """The tensor to differentiate against, and whether we are inside another transform."""
    if isinstance(x, Tensor) and x.requires_grad:
        return x, True
    return Tensor(x, requires_grad=True), False  # integers become float64, float32 stays


def _gradient_of(out: Tensor, x: Tensor, nested: bool, grad: Any = None) -> Any:
    """∂out/∂x (times `grad` for non-scalar out): zeros if out does not depend on x."""
    if out.requires_grad:
        g = _gradients(out, grad, retain_graph=True, create_graph=nested,
                       wrt=(_vertex(x),)).get(_vertex(x))
        if g is not None:
            return g if nested else np.asarray(g)
    zeros = np.zeros(x.shape, dtype=x.dtype)
    return Tensor(zeros) if nested else zeros


def value_and_grad(f: Callable[..., Tensor], argnums: int = 0) -> Callable[..., tuple[Any, Any]]:
    """Return a function giving (f(*args), ∂f/∂args[argnums]); f must return a scalar Tensor."""

    def wrapped(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        if not -len(args) <= argnums < len(args):
            raise ValueError(f"argnums={argnums} but the function got {len(args)} argument(s)")
        x, nested = _variable(args[argnums])
        args = args[:argnums % len(args)] + (x,) + args[argnums % len(args) + 1:]
        with enable_grad():
            out = f(*args, **kwargs)
        if not isinstance(out, Tensor) or out.ndim != 0:
            raise ValueError(f"grad: the function must return a scalar (0-d) Tensor, got "
                             f"{type(out).__name__} of shape {np.shape(out)}. Reduce it "
                             "(.sum() or .mean()), or use am.jacobian for vector outputs.")
        g = _gradient_of(out, x, nested)
        return (out if nested else out.data), g

    return wrapped


def grad(f: Callable[..., Tensor], argnums: int = 0) -> Callable[..., Any]:
    """Return a function computing ∂f/∂args[argnums] (an ndarray of that argument's shape)."""
    vg = value_and_grad(f, argnums)
    return lambda *args, **kwargs: vg(*args, **kwargs)[1]


def jacobian(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Return a function computing J[i..., j...] = ∂f(x)[i...]/∂x[j...] (out.shape + x.shape)."""

    def wrapped(x: Any) -> Any:
        xt, nested = _variable(x)
        with enable_grad():
            out = f(xt)
        if not isinstance(out, Tensor):
            out = Tensor(out)
        rows = []
        for i in range(out.size):
            onehot = np.zeros(out.size, dtype=out.dtype)
            onehot[i] = 1
            rows.append(_gradient_of(out, xt, nested, onehot.reshape(out.shape)))
        if nested:
            return stack(rows).reshape(out.shape + xt.shape) if rows else Tensor(
                np.zeros(out.shape + xt.shape))
        return np.array(rows, dtype=xt.dtype).reshape(out.shape + xt.shape)

    return wrapped


def hessian(f: Callable[[Any], Tensor]) -> Callable[[Any], Any]:
    """Return a function computing H = ∂²f/∂x² (x.shape + x.shape), via create_graph."""
    return jacobian(grad(f))
