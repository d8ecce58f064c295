"""NumPy's protocols for Tensor: np.asarray(t), np.add(t, x), np.dot(X, t), np.mean(t), ...

NumPy hands a call to the Tensor in it (NEP 13 for ufuncs, NEP 18 for other functions), so
NumPy-style code differentiates unchanged: `np.mean((np.dot(X, w) - y) ** 2)` records
matmul, sub, pow and mean, exactly as `((X @ w - y) ** 2).mean()` does.

Which op a NumPy function records is read from the op table, never listed here:

- an op whose forward *is* a ufunc implements that ufunc (`add` is `np.add`), taking the
  ufunc's operands as its inputs;
- an op declares the other NumPy functions it implements in its `numpy` field
  (`defop("sum", ..., numpy=(np.sum,))`). A declared ufunc passes its trailing operands as the
  op's parameters when they are plain numbers (`np.power(t, 3)` is `pow` with p=3; with an
  array exponent it is `power`). A declared function is called through the `am.` function of
  the same name (`np.clip` → `am.clip`, `np.amax` → `am.max` after the op): NumPy's own
  signature binds the call, NumPy's extra arguments (out, dtype, where, initial, casting,
  order, ...) must keep their defaults, and the remaining parameters map in order onto the
  am function's (np.clip's a, a_min, a_max onto am.clip's x, lo, hi).

The rest is not differentiation: the metadata functions (np.shape, np.ndim, np.size) answer
from the tensor; ufuncs that only ever return booleans (comparisons, np.isnan, ...) run on
the values, as Tensor's own comparison operators do; everything else is a TypeError that
names the function. `np.asarray(t)` gives the values of a tensor that does not require grad
and refuses one that does, because the array would have no graph.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np

from . import functions
from .ops import OPS, Op
from .recording import record
from .shapes import array_of
from .tensor import Tensor

# Parameters NumPy has and autograd_mini's functions do not: accepted only at their defaults.
NUMPY_ONLY = frozenset({"out", "dtype", "where", "initial", "casting", "order", "subok",
                        "copy", "min", "max"})
UFUNC_DEFAULTS: dict[str, Any] = {"where": True, "casting": "same_kind", "order": "K",
                                  "dtype": None, "subok": True, "signature": None}
METADATA = (np.shape, np.ndim, np.size)  # answered from the shape: no values, no gradient

_index: dict[Any, tuple[Op, ...]] = {}
_indexed: tuple[Op, ...] = ()


def implementations() -> dict[Any, tuple[Op, ...]]:
    """{NumPy ufunc or function: the ops that record it}, read from the op table.

    An op that declares a ufunc it is not the forward of specialises it (pow for np.power
    with a number exponent), so it comes before the op whose forward the ufunc is.
    """
    global _index, _indexed
    ops = tuple(OPS.values())
    if ops != _indexed:  # rebuilt only when the table changed
        index: dict[Any, list[Op]] = {}
        for op in ops:
            own = (op.forward,) if isinstance(op.forward, np.ufunc) else ()
            for f in own + op.numpy:
                index.setdefault(f, []).append(op)
        _index = {}
        for f, found in index.items():
            specialised = [op for op in found if op.forward is not f]
            _index[f] = tuple(specialised + [op for op in found if op.forward is f])
        _indexed = ops
    return _index


@cache
def _signature(func: Callable[..., Any]) -> inspect.Signature | None:
    """inspect.signature, once per function (it costs tens of microseconds)."""
    try:
        return inspect.signature(func)
    except (TypeError, ValueError):  # e.g. an older NumPy's C function without one
        return None


# ---- np.asarray(t) ------------------------------------------------------------------------

def to_array(t: Tensor, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
    """The values behind `t` for NumPy (`__array__`); an error if `t` requires grad."""
    if t.requires_grad:
        raise TypeError(
            f"NumPy asked for the values of a tensor of shape {t.shape} that requires grad: "
            "an ndarray would lose the graph, and no gradient could flow through it. Use "
            "t.data (or t.detach()) for the values without gradient. If this came from "
            "X.dot(w) with an ndarray X: ndarray.dot converts its argument to an array, so "
            "write X @ w or am.dot(X, w) (or np.dot(X, w)) instead.")
    values = t.data
    if dtype is not None and np.dtype(dtype) != values.dtype:
        if copy is False:
            raise ValueError(f"np.asarray(tensor, dtype={np.dtype(dtype)}, copy=False): the "
                             f"tensor holds {values.dtype}, so converting needs a copy")
        return values.astype(dtype)
    return values.copy() if copy else values


# ---- ufuncs: np.add(t, x), ndarray + t, np.exp(t), ... -------------------------------------

def ufunc(func: np.ufunc, method: str, inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Record the op the table has for `func` (`__array_ufunc__`)."""
    name = f"np.{func.__name__}"
    for x in inputs + tuple(kwargs.get("out", ()) or ()):
        own = getattr(type(x), "__array_ufunc__", None)
        if own is not None and own is not np.ndarray.__array_ufunc__ \
                and not isinstance(x, Tensor):
            return NotImplemented  # another library's array type: let it answer
    if _only_booleans(func):
        # Comparisons and predicates have no gradient: answer on the values, as t < x does.
        if any(isinstance(o, Tensor) for o in kwargs.get("out", ()) or ()):
            raise TypeError(f"{name}(..., out=tensor): a tensor cannot be written in place "
                            "by NumPy; assign the result instead")
        return getattr(func, method)(*[array_of(x) for x in inputs], **kwargs)
    call = name if method == "__call__" else f"{name}.{method}"
    if method != "__call__":
        raise TypeError(f"{call} on a tensor: only direct calls like {name}(a, b) are "
                        "recorded. For reductions use np.sum / np.max / np.min (or t.sum(), "
                        "t.max(), t.min()).")
    _refuse_ufunc_kwargs(call, kwargs)
    for op in implementations().get(func, ()):
        params = _as_params(op, func, inputs)
        if params is not None:
            return record(op, *inputs[:len(inputs) - len(params)], **params)
    raise TypeError(_no_op(call))


@cache
def _only_booleans(func: np.ufunc) -> bool:
    """True for ufuncs whose every numeric loop returns bool (==, <, isnan, logical_and, ...)."""
    loops = [t for t in func.types if "O" not in t]
    return bool(loops) and all(t.endswith("?") for t in loops)


def _as_params(op: Op, func: np.ufunc, inputs: tuple[Any, ...]) -> dict[str, Any] | None:
    """How `op` takes these ufunc operands as parameters, or None if it does not fit.

    {} when the ufunc is the op's forward (every operand an input); for an op that declares
    the ufunc, its trailing operands become the op's parameters if they are numbers (pow's p).
    """
    if op.forward is func:
        return {}
    sig = _signature(op.forward)
    names = list(sig.parameters)[len(op.vjps):] if sig is not None else []
    ins, rest = inputs[:len(inputs) - len(names)], inputs[len(inputs) - len(names):]
    numbers = all(isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_))
                  for v in rest)
    if names and numbers and any(isinstance(x, Tensor) for x in ins):
        return dict(zip(names, rest, strict=True))
    return None


def _refuse_ufunc_kwargs(call: str, kwargs: dict[str, Any]) -> None:
    out = kwargs.get("out")
    if out is not None and any(o is not None for o in out):
        raise TypeError(
            f"{call}(..., out=...) with a tensor operand: writing the result into an existing "
            "array would lose the graph (for `a += t` with an ndarray a, this is that call). "
            "Assign the result instead: a = a + t, or y = np.add(t, x).")
    for key, value in kwargs.items():
        if key == "out":
            continue
        if key not in UFUNC_DEFAULTS or not _is_default(value, UFUNC_DEFAULTS[key]):
            raise TypeError(f"{call}(..., {key}={value!r}) with a tensor operand: autograd_mini "
                            f"records {call} only without {key}=. Convert the result "
                            "afterwards, or use t.data for values without gradient.")


# ---- other functions: np.sum(t), np.dot(X, t), np.shape(t), ... ---------------------------

def function(func: Callable[..., Any], types: tuple[type, ...], args: tuple[Any, ...],
             kwargs: dict[str, Any]) -> Any:
    """Record the op the table has for `func` (`__array_function__`)."""
    if not all(issubclass(t, (Tensor, np.ndarray)) for t in types):
        return NotImplemented
    if func in METADATA:
        return func._implementation(*args, **kwargs)  # type: ignore[attr-defined]
    name = f"np.{func.__name__}"
    ops = implementations().get(func)
    if not ops:
        raise TypeError(_no_op(name))
    target = am_function(func, ops[0])
    return target(**_bind(name, func, target, args, kwargs))


def am_function(func: Callable[..., Any], op: Op) -> Callable[..., Any]:
    """The am function a declared NumPy function is called through: its namesake, else the op's."""
    target = getattr(functions, func.__name__, None) or getattr(functions, op.name, None)
    if target is None:
        raise TypeError(f"np.{func.__name__} is declared by op {op.name!r} but autograd_mini "
                        f"has no am.{func.__name__} or am.{op.name} to call it through")
    return target  # type: ignore[no-any-return]


@cache
def _plan(func: Callable[..., Any], target: Callable[..., Any]
          ) -> tuple[inspect.Signature, dict[str, str], tuple[str, ...], str]:
    """How NumPy's parameters of `func` map onto `target`'s, worked out once per pair.

    Returns NumPy's signature, {NumPy name: am name}, the am parameters a call must give,
    and the am call's usage for messages.
    """
    own = _signature(target)
    assert own is not None  # a Python function
    ours = list(own.parameters)
    sig = _signature(func) or own  # without NumPy's signature, accept only what am takes
    shared = [p.name for p in sig.parameters.values()  # NumPy's dtype= is am.astype's too
              if (p.name not in NUMPY_ONLY or p.name in own.parameters)
              and p.kind is not p.VAR_KEYWORD]
    required = tuple(p.name for p in own.parameters.values() if p.default is p.empty)
    return sig, dict(zip(shared, ours, strict=False)), required, \
        f"am.{target.__name__}({', '.join(ours)})"


def _bind(name: str, func: Callable[..., Any], target: Callable[..., Any],
          args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """NumPy's arguments as keyword arguments of the am function `target`."""
    sig, rename, required, usage = _plan(func, target)
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{name} on a tensor: {e}; it is recorded as {usage}") from None
    call = {}
    for key, value in bound.arguments.items():
        if key in rename:
            call[rename[key]] = value
            continue
        param = sig.parameters[key]
        if param.kind is param.VAR_KEYWORD:
            if value:
                raise TypeError(f"{name}(..., {', '.join(value)}=...) on a tensor: "
                                f"autograd_mini records it as {usage}, without those")
        elif not _is_default(value, param.default) and not (key == "where" and value is True):
            raise TypeError(f"{name}(..., {key}={value!r}) on a tensor: autograd_mini records "
                            f"it as {usage}, without {key}=. Leave {key} out, or use t.data "
                            "for values without gradient.")
    missing = [n for n in required if n not in call]
    if missing:
        raise TypeError(f"{name} on a tensor needs {', '.join(missing)}: it is recorded as "
                        f"{usage}")
    return call


# ---- shared -------------------------------------------------------------------------------

def _is_default(value: Any, default: Any) -> bool:
    """`value` is the default (compared only for plain values, never element-wise)."""
    if value is default:
        return True
    plain = (str, bool, int, float, type(None))
    return isinstance(value, plain) and isinstance(default, plain) and value == default


def _no_op(name: str) -> str:
    """Why `name` cannot run on a tensor, and what to write instead."""
    short = name.removeprefix("np.").split(".")[0]
    alternative = getattr(functions, short, None)
    if alternative is not None and callable(alternative):
        hint = f"Use am.{short} (it records the op), or t.data for values without gradient."
    else:
        hint = (f"For values without gradient use t.data ({name}(t.data)); to differentiate, "
                "write it with the recorded ops (operators, am.exp, am.log, am.sum, ...).")
    return f"{name} on a tensor: autograd_mini has no op for {name} yet. {hint}"
