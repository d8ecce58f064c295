"""am.defop: a differentiable op of your own, read by every part of the library like a built-in.

    softsign = am.defop(
        "softsign", forward=lambda x: x / (1 + np.abs(x)),
        vjps=(lambda g, x, out: g / (1 + np.abs(x)) ** 2,),
        why="d/dx x/(1 + |x|) = 1/(1 + |x|)²")
    y = softsign(t)          # recorded: backward, am.hessian, draw_graph and explain read it

A VJP rule is `rule(g, *inputs, out=out, **params)` returning ∂L/∂input for its input, with
g = ∂L/∂out. Write it in plain NumPy (operators and np functions): on arrays it runs as
written; under create_graph its inputs are Tensors and NumPy hands each np call back to the
library, so it records and can be differentiated again; in am.explain they are expressions.
Broadcasting is undone for you, after the rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from . import ops
from .functions import op_function
from .tensor import Tensor

__all__ = ["defop"]


def defop(name: str, forward: Callable[..., Any], vjps: Sequence[Callable[..., Any]], *,
          expr: str | None = None, why: str = "", **options: Any) -> Callable[..., Tensor]:
    """Define op `name` and return the function that applies it: am.defop(name, f, (rule,)).

    `forward(*arrays, **params)` computes the value; `vjps` holds one rule per input. `expr`
    is how graphs and explanations write the op, with {0}, {1}… for the inputs (default
    "name({0}, …)"); `why` is the one line the explanation gives for its rule. `options` are
    the op record's: save_inputs, save_out, variadic, label, formulas, shape_error, numpy.
    """
    if not name.isidentifier():
        raise ValueError(f"am.defop: name {name!r} must be a Python identifier, e.g. 'softsign'")
    if name in ops.OPS:
        raise ValueError(f"am.defop: an op named {name!r} exists already; choose another name")
    if not callable(forward):
        raise TypeError(f"am.defop({name!r}): forward must be a function of the input arrays")
    rules = tuple(vjps)
    if not rules or not all(callable(r) for r in rules):
        raise TypeError(f"am.defop({name!r}): vjps must be a tuple with one rule per input, "
                        "each a function (g, *inputs, out, **params) -> ∂L/∂input")
    if expr is None:
        slots = "{0}, …" if options.get("variadic") else ", ".join(
            f"{{{i}}}" for i in range(len(rules)))
        expr = f"{name}({slots})"
    op = ops.defop(name, forward, rules, expr=expr, why=why or f"the rule defined for {name}",
                   **options)
    return op_function(op)
