"""Loss functions, built from primitive ops so the graph and the explanation show their parts."""

from __future__ import annotations

import numpy as np

from .functions import log_softmax
from .ops import OPS
from .recording import record
from .tensor import ArrayLike, Tensor

REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(loss: str, reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{loss}: unknown reduction {reduction!r}; use one of "
                         f"{', '.join(map(repr, REDUCTIONS))}")


def _reduce(values: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    return values


def mse_loss(pred: Tensor, target: ArrayLike, reduction: str = "mean") -> Tensor:
    """Mean squared error: mean((pred − target)²); its gradient is 2/N·(pred − target).

    `reduction` is "mean" (default), "sum" or "none" (the element-wise squares). `target`
    (a Tensor, ndarray, list or number) must have pred's shape, or be a single number.
    """
    _check_reduction("mse_loss", reduction)
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
    return _reduce((pred - target) ** 2, reduction)


def binary_cross_entropy_with_logits(logits: Tensor, target: ArrayLike,
                                     reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of labels y ∈ [0, 1] given logits z (before the sigmoid).

    −[y·log σ(z) + (1 − y)·log(1 − σ(z))] = softplus(z) − y·z, computed in that form: no
    log(0) and no overflow, even at z = ±1000. Its gradient is σ(z) − y (over N with "mean").

    `target` holds the labels y (0/1 or probabilities) in the shape of `logits`, or is a
    single number. `reduction` is "mean" (default), "sum" or "none" (one loss per logit).
    """
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    z_shape, y_shape = np.shape(logits), np.shape(target)
    if y_shape not in (z_shape, ()):
        raise ValueError(f"binary_cross_entropy_with_logits: logits have shape {z_shape} but "
                         f"target has shape {y_shape}; they must match (one label per logit). "
                         "Reshape one of them, e.g. y.reshape(logits.shape).")
    y = np.asarray(getattr(target, "data", target), dtype=float)
    if y.size and (np.min(y) < 0 or np.max(y) > 1):
        raise ValueError("binary_cross_entropy_with_logits: targets must lie in [0, 1] "
                         f"(got values from {np.min(y):g} to {np.max(y):g}); pass labels 0/1 "
                         "or probabilities.")
    return _reduce(record(OPS["softplus"], logits) - target * logits, reduction)


def cross_entropy(logits: Tensor, labels: ArrayLike, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy −Σ_c p_c·log softmax(z)_c per row of logits z (N, C).

    `labels` are class indices (N,) in [0, C), or probabilities (N, C) such as one-hot rows.
    Written with log_softmax, so it is exact at any logit size; its gradient is
    softmax(z) − p (over N with "mean"). A single row (C,) takes one label or (C,) probabilities.
    `reduction` is "mean" (default), "sum" or "none" (one loss per row).
    """
    _check_reduction("cross_entropy", reduction)
    z_shape = np.shape(logits)
    if len(z_shape) not in (1, 2) or z_shape[-1] == 0:
        raise ValueError(f"cross_entropy: logits have shape {z_shape}; pass (N, C): one row "
                         "of C class scores per sample (or a single row (C,)).")
    target = np.asarray(getattr(labels, "data", labels))
    classes = z_shape[-1]
    if target.dtype.kind in "iu" and target.shape == z_shape[:-1]:
        if target.size and (target.min() < 0 or target.max() >= classes):
            raise ValueError(f"cross_entropy: labels must be class indices 0 … {classes - 1} "
                             f"for logits of shape {z_shape}; got values from {target.min()} "
                             f"to {target.max()}.")
        target = np.eye(classes)[target]  # one-hot: the probabilities of the true class
    elif target.dtype.kind not in "f" or target.shape != z_shape:
        raise ValueError(f"cross_entropy: logits have shape {z_shape} but labels have shape "
                         f"{target.shape} and dtype {target.dtype}; pass integer class indices "
                         f"of shape {z_shape[:-1]} or probabilities of shape {z_shape}.")
    return _reduce(-(target * log_softmax(logits, axis=-1)).sum(axis=-1), reduction)
