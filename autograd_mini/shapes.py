"""Broadcast arithmetic shared by every op: undoing broadcasts and naming shape errors."""

from __future__ import annotations

from typing import Any

import numpy as np

Shape = tuple[int, ...]


class TensorBase:
    """The base of Tensor, so the modules below tensor.py (this one, ops.py) can recognise a
    Tensor with isinstance without importing it."""

    __slots__ = ()

    @property
    def array(self) -> Any:
        """The ndarray behind the tensor (Tensor defines it)."""
        raise NotImplementedError


def is_tensor(x: Any) -> bool:
    """True for autograd_mini Tensors."""
    return isinstance(x, TensorBase)


def array_of(x: Any) -> Any:
    """The ndarray behind a Tensor as it is now (no copy), or x itself."""
    return x.array if isinstance(x, TensorBase) else x


def normalize_axis(axis: int | tuple[int, ...] | None, ndim: int) -> tuple[int, ...]:
    """Turn `axis` (None, int, negative int or tuple) into a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for an array of {ndim} dimension(s)")
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"axis {axis} repeats an axis")
    return tuple(sorted(out))


def keepdims_shape(shape: Shape, axes: tuple[int, ...]) -> Shape:
    """The shape a reduction over `axes` has with keepdims=True."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def broadcast_to(x: Any, shape: Shape) -> Any:
    """Broadcast an array (a read-only view) or a Tensor (a recorded op) to `shape`."""
    if is_tensor(x):
        return x.broadcast_to(shape)
    return np.broadcast_to(x, shape)


def sum_to_shape(g: Any, shape: Shape) -> Any:
    """Undo broadcasting: sum `g` over the axes broadcasting added or stretched, giving `shape`.

    If y = broadcast(x), then ∂L/∂x = Σ over the broadcast axes of ∂L/∂y.
    """
    gshape = g.shape
    if gshape == shape:
        return g
    if len(gshape) < len(shape):  # a rule returned something smaller: stretch it
        return broadcast_to(g, shape)
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1
    )
    g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def reduced_axes(big: Shape, small: Shape) -> tuple[int, ...]:
    """Axes of `big` that sum_to_shape(·, small) sums over (for labels like 'sum over axis 0')."""
    lead = len(big) - len(small)
    return tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(small) if n == 1 and big[lead + i] != 1
    )


def broadcast_problem(*shapes: Shape) -> str | None:
    """Describe why `shapes` do not broadcast together, or None if they do."""
    ndim = max((len(s) for s in shapes), default=0)
    for k in range(1, ndim + 1):
        sizes = {s[-k] for s in shapes if len(s) >= k} - {1}
        if len(sizes) > 1:
            a, b = sorted(sizes)[:2]
            return (
                f"dimension {-k} (counting from the right) is {a} in one and {b} in the other; "
                "sizes must match or be 1"
            )
    return None
