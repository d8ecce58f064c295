"""Loss functions, built from primitive ops so the graph and the explanation show their parts."""

from __future__ import annotations

import numpy as np

from .tensor import ArrayLike, Tensor

REDUCTIONS = ("mean", "sum", "none")


def mse_loss(pred: Tensor, target: ArrayLike, reduction: str = "mean") -> Tensor:
    """Mean squared error: mean((pred − target)²); its gradient is 2/N·(pred − target).

    `reduction` is "mean" (default), "sum" or "none" (the element-wise squares). `target`
    (a Tensor, ndarray, list or number) must have pred's shape, or be a single number.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"mse_loss: unknown reduction {reduction!r}; use one of "
                         f"{', '.join(map(repr, REDUCTIONS))}")
    pred_shape = np.shape(pred)
    try:
        # np.shape, not .shape: a list target has no .shape but broadcasts all the same.
        target_shape = np.shape(target)
    except ValueError:  # ragged data: the subtraction below names it
        target_shape = pred_shape
    if target_shape not in (pred_shape, ()):
        # (100,) against (100, 1) would broadcast to (100, 100): a silently wrong loss. A
        # single number (shape ()) is the same target for every element, never a mix-up.
        raise ValueError(f"mse_loss: pred has shape {pred_shape} but target has shape "
                         f"{target_shape}; they must match. Reshape one of them "
                         "(e.g. target.reshape(pred.shape)).")
    sq = (pred - target) ** 2
    if reduction == "mean":
        return sq.mean()
    if reduction == "sum":
        return sq.sum()
    return sq
