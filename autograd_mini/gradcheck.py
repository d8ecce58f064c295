"""Check analytic gradients against central finite differences, with a readable report."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .mode import no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Analytic and numeric gradients disagree; the message says where and by how much."""


def numeric_gradient(f: Callable[..., Tensor], arrays: list[np.ndarray], k: int,
                     eps: float) -> np.ndarray:
    """Central differences (f(x+εeⱼ) − f(x−εeⱼ)) / 2ε for every element j of input k."""
    x = arrays[k]
    out = np.zeros_like(x)
    with no_grad():
        for j in np.ndindex(x.shape):
            saved = x[j]
            x[j] = saved + eps
            hi = f(*[Tensor(a) for a in arrays]).item()
            x[j] = saved - eps
            lo = f(*[Tensor(a) for a in arrays]).item()
            x[j] = saved
            out[j] = (hi - lo) / (2 * eps)
    return out


def gradcheck(f: Callable[..., Tensor], inputs: Sequence[Any], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-4) -> bool:
    """Return True if f's backward gradients match finite differences; else raise.

    `f` takes one Tensor per entry of `inputs` (arrays or numbers, copied as float64) and
    returns a scalar Tensor. The numeric gradient is (f(x + eps) − f(x − eps)) / 2·eps, one
    element at a time. An element passes when |analytic − numeric| ≤ atol + rtol·|numeric|.
    Otherwise GradcheckError names, per failing input, the worst element with both values
    and the error.
    """
    arrays = [np.array(x, dtype=np.float64) for x in inputs]
    tensors = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    out = f(*tensors)
    if not isinstance(out, Tensor) or out.ndim != 0:
        raise ValueError(f"gradcheck: f must return a scalar (0-d) Tensor, got "
                         f"{type(out).__name__} of shape {np.shape(out)}")
    if out.requires_grad:
        out.backward()
    names = _names(f, len(arrays))
    problems = []
    for k, t in enumerate(tensors):
        analytic = t.grad if t.grad is not None else np.zeros_like(arrays[k])
        numeric = numeric_gradient(f, arrays, k, eps)
        err = np.abs(analytic - numeric)
        bad = ~(err <= atol + rtol * np.abs(numeric))  # also catches NaN
        if bad.any():
            excess = np.where(np.isnan(err), np.inf, err - rtol * np.abs(numeric))
            j = np.unravel_index(int(np.argmax(excess)), err.shape) if err.ndim else ()
            problems.append(
                f"  {names[k]} (shape {arrays[k].shape}): {int(bad.sum())} of {bad.size} "
                f"element(s) differ; worst at index {tuple(int(i) for i in j)}: "
                f"analytic {float(analytic[j]):.6g}, numeric {float(numeric[j]):.6g}, "
                f"error {err[j]:.3g} (allowed {atol:g} + {rtol:g}·|numeric|)")
    if problems:
        raise GradcheckError("gradcheck failed: backward disagrees with central differences "
                             f"(eps={eps:g})\n" + "\n".join(problems))
    return True


def _names(f: Callable[..., Any], n: int) -> list[str]:
    """The parameter names of f where it has them ("input 0", ... otherwise)."""
    try:
        params = [p.name for p in inspect.signature(f).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return [f"input {k} ({params[k]})" if k < len(params) else f"input {k}" for k in range(n)]
