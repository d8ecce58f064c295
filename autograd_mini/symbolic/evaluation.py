"""Evaluating an expression with NumPy: one rule per node class, in the table `RULES`."""

from __future__ import annotations

import operator
from collections.abc import Callable
from functools import reduce
from typing import Any

import numpy as np

from ..ops import OPS
from ..shapes import keepdims_shape
from . import algebra as alg


def evaluate(e: alg.Expr, env: dict[str, np.ndarray]) -> np.ndarray:
    """The value of e with NumPy, names looked up in `env`; shared subtrees computed once."""
    memo: dict[int, np.ndarray] = {}

    def ev(x: alg.Expr) -> np.ndarray:
        if id(x) not in memo:
            memo[id(x)] = np.asarray(RULES[type(x)](x, ev, env))
        return memo[id(x)]

    with np.errstate(divide="ignore", invalid="ignore"):
        return np.broadcast_to(ev(e), e.shape)


_MASKS = {">": np.greater, "<": np.less, "≥": np.greater_equal, "≤": np.less_equal,
          "=": np.equal, "≠": np.not_equal}

RULES: dict[type[alg.Expr], Callable[[Any, Callable[..., Any], dict[str, Any]], Any]] = {
    alg.Sym: lambda x, ev, env: env[x.name],
    alg.Const: lambda x, ev, env: float(x.value),
    alg.Size: lambda x, ev, env: float(x.value),
    alg.Array: lambda x, ev, env: x.data.astype(np.float64) if x.data.dtype == bool else x.data,
    alg.Add: lambda x, ev, env: reduce(operator.add, map(ev, x.terms)),
    alg.Mul: lambda x, ev, env: reduce(operator.mul, map(ev, x.factors), float(x.coef)),
    alg.Pow: lambda x, ev, env: np.power(ev(x.base), ev(x.exponent) if isinstance(
        x.exponent, alg.Expr) else float(x.exponent)),
    alg.MatMul: lambda x, ev, env: ev(x.a) @ ev(x.b),
    alg.Transpose: lambda x, ev, env: np.transpose(ev(x.x), x.axes),
    alg.Sum: lambda x, ev, env: np.sum(ev(x.x), axis=x.axes, keepdims=True).reshape(x.shape),
    alg.Expand: lambda x, ev, env: np.broadcast_to(np.reshape(ev(x.x), keepdims_shape(
        x.shape, x.axes)) if x.axes else ev(x.x), x.shape),
    alg.Compare: lambda x, ev, env: _MASKS[x.op](ev(x.a), ev(x.b)).astype(np.float64),
    alg.Apply: lambda x, ev, env: OPS[x.op].forward(*map(ev, x.args), **x.params),
}
