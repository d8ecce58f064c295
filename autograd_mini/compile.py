"""am.compile: the recorded graph written out as plain NumPy, run at hand-written speed.

    cf = am.compile(loss_fn)       # called like am.value_and_grad(loss_fn), same results
    value, g = cf(w)               # the first call for these shapes and dtypes writes the code
    print(cf.code)                 # the function it wrote: the forward pass, then the chain rule

On the first call for each combination of argument shapes and dtypes, `loss_fn` runs once on
Tensors, as value_and_grad runs it, and the engine's one reverse sweep (`engine.sweep`) reads
the recorded graph. The reading here computes no numbers: its values are pieces of code
(`Code`), so each op's own VJP rule, applied to them, writes the NumPy expression it would
evaluate. The forward pass and the gradients are printed as one Python function (named after
your tensors, constants folded, shared pieces computed once, work nobody needs dropped, a
comment per chain-rule step), compiled with `exec` in a namespace that holds only numpy and
the few helpers the code calls, and run by every later call with the same signature.

A rule that needs real values (a mask such as relu's `x > 0`, the ties of max) cannot be
written out; its step becomes a call of the rule function itself on the arrays, so every op
of the table compiles. Python control flow that reads values is fixed at the first call (see
docs/compile.md); `check=True` runs value_and_grad beside every call and raises if they differ.
"""

from __future__ import annotations

import builtins
import functools
import hashlib
import inspect
import itertools
import keyword
import linecache
import re
import textwrap
import threading
import unicodedata
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from fractions import Fraction
from math import gcd, isfinite
from typing import Any

import numpy as np

from . import engine
from .graph import Node, gc_paused, toposort
from .mode import MODE
from .ops import OPS, Op
from .shapes import array_of, is_tensor, keepdims_shape, normalize_axis, reduced_axes
from .tensor import Tensor
from .transforms import _call, _positions, value_and_grad

__all__ = ["compile", "gradient_code", "Compiled", "CompileCheckError"]

MAX_SOURCE_OPS = 20_000  # larger graphs run as a recorded tape (see _Tape)
MAX_SIGNATURES = 64  # compiled signatures kept per function (least recently used dropped)
LINE = 72  # an inlined expression longer than this gets a line (and a name) of its own

Argnums = int | Sequence[int]


class CompileCheckError(RuntimeError):
    """am.compile(f, check=True): the compiled code and f run eagerly gave different results."""


# ---- names --------------------------------------------------------------------------------

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}\Z")
_BUILTINS = frozenset(dir(builtins))


def _safe(name: Any) -> str | None:
    """`name` if it may appear in generated code: a plain ASCII identifier, no keyword and no
    dunder (a builtin's name gets a trailing underscore); None for anything else."""
    if not isinstance(name, str) or not _IDENT.match(name) or keyword.iskeyword(name):
        return None
    if name.startswith("__") or name == "np":
        return None
    return name + "_" if name in _BUILTINS else name


@functools.lru_cache(maxsize=1024)
def _clean(text: str) -> str:
    """Text for a comment: no line breaks or control characters that could end it."""
    return "".join(" " if unicodedata.category(c)[0] == "C" or c in "\u2028\u2029\x85"
                   else c for c in text)


class _Names:
    """Hands out distinct names: the wanted one, else it with 2, 3, ... appended."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = set(taken)
        self.next: dict[str, int] = {}  # base -> the number to try next

    def claim(self, base: str) -> str:
        name = base
        k = self.next.get(base, 2)
        while name in self.taken:
            name = f"{base}_{k}" if base[-1].isdigit() else f"{base}{k}"
            k += 1
        self.next[base] = k
        self.taken.add(name)
        return name


# Short names for the forward values nobody named, by the op that made them.
_SHORT = {"sub": "r", "add": "z", "matmul": "z", "mul": "p", "div": "q", "neg": "n",
          "tanh": "h", "sigmoid": "h", "relu": "h", "softplus": "h", "softmax": "sm",
          "log_softmax": "logp", "exp": "e", "log": "lg", "sum": "s", "mean": "m",
          "pow": "u", "square": "u", "logsumexp": "lse", "getitem": "sel", "reshape": "v",
          "transpose": "v", "concatenate": "cat", "where": "pick"}


# ---- numbers ------------------------------------------------------------------------------


class _Num:
    """A scalar constant: an exact n/d when it came from integers (kept unreduced, so the
    MSE's factor prints as 2 / 100, the 2 and the N it came from), else a float or bool."""

    __slots__ = ("n", "d", "value")

    def __init__(self, value: Any, n: int | None = None, d: int = 1) -> None:
        self.n = n
        self.d = d
        self.value = value

    @staticmethod
    def of(x: Any) -> _Num:
        if isinstance(x, bool):
            return _Num(x)
        if isinstance(x, int):
            return _Num(x, x, 1)
        return _Num(float(x))

    @staticmethod
    def exact(n: int, d: int) -> _Num:
        if d < 0:
            n, d = -n, -d
        if max(abs(n), d) > 10**12:
            k = gcd(n, d)
            n, d = n // k, d // k
        if max(abs(n), d) > 10**15:
            return _Num(n / d)
        return _Num(n if d == 1 else n / d, n, d)

    @property
    def number(self) -> bool:
        return not isinstance(self.value, bool)

    def key(self) -> Any:
        if self.n is not None:
            return ("q", self.n, self.d)
        return ("f", float.hex(self.value)) if isinstance(self.value, float) else ("b", self.value)

    def is_(self, k: int) -> bool:
        return self.number and self.value == k and (self.n is None or self.n == k * self.d)


def _mul(a: _Num, b: _Num) -> _Num | None:
    if not (a.number and b.number):
        return None
    if a.n is not None and b.n is not None:
        return _Num.exact(a.n * b.n, a.d * b.d)
    return _Num(float(a.value) * float(b.value))


def _add(a: _Num, b: _Num) -> _Num | None:
    if not (a.number and b.number):
        return None
    if a.n is not None and b.n is not None:
        n, d = a.n * b.d + b.n * a.d, a.d * b.d
        k = gcd(n, d) or 1
        return _Num.exact(n // k, d // k)
    return _Num(float(a.value) + float(b.value))


def _neg(a: _Num) -> _Num | None:
    if not a.number:
        return None
    return _Num.exact(-a.n, a.d) if a.n is not None else _Num(-a.value)


def _inv(a: _Num) -> _Num | None:
    if not a.number or a.value == 0:
        return None
    return _Num.exact(a.d, a.n) if a.n is not None else _Num(1 / a.value)


def _fold(name: str, c: list[_Num]) -> _Num | None:
    """The ufunc `name` of numbers, computed now (exactly where they are exact)."""
    if name == "negative":
        return _neg(c[0])
    other = c[1] if name in ("add", "multiply") else (
        _neg(c[1]) if name == "subtract" else _inv(c[1]))
    if other is None:
        return None
    return _add(c[0], other) if name in ("add", "subtract") else _mul(c[0], other)


# Precedence of Python expressions, loosest first.
CMP, ADD, MUL, UNARY, POW, PRIMARY, ATOM = range(7)


def _literal(num: _Num) -> tuple[str, int]:
    """Python source for a number, and its precedence (2 / 100 binds like a product)."""
    v = num.value
    if isinstance(v, bool):
        return repr(v), ATOM
    if num.n is not None:
        if num.d == 1:
            return str(num.n), (ATOM if num.n >= 0 else UNARY)
        return f"{num.n} / {num.d}", MUL
    v = float(v)
    if not isfinite(v):
        return ("np.nan", PRIMARY) if v != v else ("np.inf", PRIMARY) if v > 0 \
            else ("-np.inf", UNARY)
    if len(repr(v)) > 8 and (v != int(v) or abs(v) >= 1e16):
        q = Fraction(v).limit_denominator(1000)
        if q.denominator != 1 and float(q.numerator) / q.denominator == v:
            return f"{q.numerator} / {q.denominator}", MUL  # 2 / 3 reads better than 0.666…
    text = repr(v)
    return text, (UNARY if text.startswith("-") else ATOM)


def _dtype_text(dtype: Any) -> str | None:
    """`np.float32` for a NumPy dtype, or None if it has no plain name in numpy."""
    try:
        d = np.dtype(dtype)
    except TypeError:
        return None
    name = d.name
    if _IDENT.match(name) and getattr(np, name, None) is d.type:
        return f"np.{name}"
    return None


def _shape_text(shape: tuple[int, ...]) -> str:
    return repr(tuple(int(n) for n in shape))


# ---- code values --------------------------------------------------------------------------


class Code:
    """A value of the program being written: how to compute it (`kind`, `args`, `attrs`), its
    shape and dtype, and the chain-rule steps that produced it (`tags`, for the comments).

    It supports what VJP rules use (operators, `.T`, `.transpose`, `.reshape`, `.sum`,
    indexing, `.shape`/`.ndim`/`.dtype`, NumPy ufuncs, `np.broadcast_to`, and `ops.call`
    through `apply_op`), each building a new Code. Anything that needs the values (`bool()`,
    `==`, `np.asarray`) raises TypeError: the rule is then called on arrays instead.
    """

    __slots__ = ("w", "kind", "args", "attrs", "shape", "dtype", "index", "tags", "grad_of",
                 "vertex")

    def __init__(self, w: _Writer, kind: str, args: tuple[Any, ...], attrs: Any,
                 shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.w = w
        self.kind = kind
        self.args = args
        self.attrs = attrs
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        self.index = 0
        self.tags: list[tuple[Any, ...]] = []
        self.grad_of: Any = None  # the graph vertex whose whole gradient this is
        self.vertex: Any = None  # the graph vertex whose forward value this is

    def __repr__(self) -> str:
        return f"<Code {self.kind} {self.shape} {self.dtype}>"

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d value")
        return self.shape[0]

    # Values are unknown while the code is written: refuse whatever would need them.
    def _unknown(self, *_: Any) -> Any:
        raise TypeError("the value of generated code is not known while it is written")

    __bool__ = __float__ = __int__ = __index__ = __iter__ = __eq__ = __ne__ = _unknown  # type: ignore[assignment]
    __hash__ = object.__hash__

    def __array__(self, *_: Any, **__: Any) -> Any:
        raise TypeError("the value of generated code is not known while it is written")

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method != "__call__" or kwargs:
            return NotImplemented
        return self.w.ufunc(ufunc, *inputs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        if func is np.broadcast_to and not kwargs.get("subok"):
            shape = kwargs["shape"] if "shape" in kwargs else args[1]
            return self.w.broadcast(args[0], tuple(shape))
        return NotImplemented

    def apply_op(self, name: str, *args: Any, **params: Any) -> Code:
        """Op `name` of the table applied to code values (what ops.call does with them)."""
        return self.w.apply_op(OPS[name], args, params)

    def __add__(self, o: Any) -> Code:
        return self.w.ufunc(np.add, self, o)

    def __radd__(self, o: Any) -> Code:
        return self.w.ufunc(np.add, o, self)

    def __sub__(self, o: Any) -> Code:
        return self.w.ufunc(np.subtract, self, o)

    def __rsub__(self, o: Any) -> Code:
        return self.w.ufunc(np.subtract, o, self)

    def __mul__(self, o: Any) -> Code:
        return self.w.ufunc(np.multiply, self, o)

    def __rmul__(self, o: Any) -> Code:
        return self.w.ufunc(np.multiply, o, self)

    def __truediv__(self, o: Any) -> Code:
        return self.w.ufunc(np.divide, self, o)

    def __rtruediv__(self, o: Any) -> Code:
        return self.w.ufunc(np.divide, o, self)

    def __pow__(self, o: Any) -> Code:
        return self.w.ufunc(np.power, self, o)

    def __rpow__(self, o: Any) -> Code:
        return self.w.ufunc(np.power, o, self)

    def __matmul__(self, o: Any) -> Code:
        return self.w.ufunc(np.matmul, self, o)

    def __rmatmul__(self, o: Any) -> Code:
        return self.w.ufunc(np.matmul, o, self)

    def __neg__(self) -> Code:
        return self.w.ufunc(np.negative, self)

    def __pos__(self) -> Code:
        return self

    def __lt__(self, o: Any) -> Code:
        return self.w.ufunc(np.less, self, o)

    def __le__(self, o: Any) -> Code:
        return self.w.ufunc(np.less_equal, self, o)

    def __gt__(self, o: Any) -> Code:
        return self.w.ufunc(np.greater, self, o)

    def __ge__(self, o: Any) -> Code:
        return self.w.ufunc(np.greater_equal, self, o)

    @property
    def T(self) -> Code:
        return self.w.transpose(self, tuple(range(self.ndim))[::-1])

    def transpose(self, *axes: Any) -> Code:
        if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)):
            axes = tuple(axes[0])
        return self.w.transpose(self, tuple(axes) if axes else tuple(range(self.ndim))[::-1])

    def reshape(self, *shape: Any) -> Code:
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = tuple(shape[0])
        return self.w.reshape(self, tuple(int(n) for n in shape))

    def sum(self, axis: Any = None, keepdims: bool = False) -> Code:
        return self.w.reduce("sum", self, axis, keepdims)

    def astype(self, dtype: Any) -> Code:
        return self.w.astype(self, dtype)

    def __getitem__(self, index: Any) -> Code:
        return self.w.getitem(self, index)


def _freeze(x: Any, keep: list[Any]) -> Any:
    """A hashable key for a param (arrays by identity; `keep` holds them alive)."""
    if isinstance(x, Code):
        return ("code", id(x))
    if isinstance(x, np.ndarray):
        keep.append(x)
        return ("array", id(x))
    if isinstance(x, (tuple, list)):
        return (type(x).__name__, tuple(_freeze(i, keep) for i in x))
    if isinstance(x, dict):
        return ("dict", tuple((k, _freeze(v, keep)) for k, v in x.items()))
    if isinstance(x, slice):
        return ("slice", _freeze(x.start, keep), _freeze(x.stop, keep), _freeze(x.step, keep))
    if isinstance(x, float):
        return ("float", float.hex(x))
    try:
        hash(x)
    except TypeError:
        keep.append(x)
        return ("object", id(x))
    return (type(x).__name__, x)


def _dummy(x: Any) -> Any:
    """A stand-in with x's shape and dtype for finding a result's shape and dtype: weak
    numbers stay Python numbers (NumPy's promotion treats them differently)."""
    if not isinstance(x, Code):
        return x
    if x.kind == "const" and x.attrs[1]:  # weak
        return x.attrs[0].value
    return np.broadcast_to(np.zeros((), x.dtype), x.shape)


def _matmul_shape(sa: tuple[int, ...], sb: tuple[int, ...]) -> tuple[int, ...]:
    if not sa or not sb:
        raise ValueError("matmul of a 0-d operand")
    a = sa if len(sa) > 1 else (1,) + sa
    b = sb if len(sb) > 1 else sb + (1,)
    if a[-1] != b[-2]:
        raise ValueError(f"matmul of shapes {sa} and {sb}")
    out = np.broadcast_shapes(a[:-2], b[:-2]) + (a[-2], b[-1])
    if len(sa) == 1:
        out = out[:-2] + out[-1:]
    if len(sb) == 1:
        out = out[:-1]
    return out


_OPERATORS = {"add": ("+", ADD), "subtract": ("-", ADD), "multiply": ("*", MUL),
              "divide": ("/", MUL), "matmul": ("@", MUL), "power": ("**", POW),
              "less": ("<", CMP), "greater": (">", CMP), "less_equal": ("<=", CMP),
              "greater_equal": (">=", CMP)}
_SHORTER = {"absolute": "abs", "conjugate": "conj"}  # the names people write
_REDUCTIONS = ("sum", "mean", "var", "std", "max", "min")
_VIEWS = ("arg", "array", "const", "broadcast", "reshape", "T", "getitem", "call", "rule")
_SPELLED = dict(OPS)  # the built-in ops, whose NumPy spelling below is theirs


class _Writer:
    """Builds code values: each new one is looked up first (shared sub-expressions are made
    once), simplified where that keeps shape and dtype (numbers folded, x·1 is x, x + x is
    2x, a sum kept to drop a reshape), and tagged with the chain-rule step being written."""

    def __init__(self) -> None:
        self.nodes: list[Code] = []
        self.table: dict[Any, Code] = {}
        self.keep: list[Any] = []  # arrays and objects whose ids are in keys
        self.tag: tuple[Any, ...] | None = None
        self.hint = ""  # the op whose rule is being written: names the arrays it makes
        self.vertex_codes: dict[int, Code] = {}  # id(graph vertex) -> its forward value
        self.dtypes: dict[Any, np.dtype] = {}

    # ---- making nodes -----------------------------------------------------------------

    def make(self, kind: str, args: tuple[Any, ...], attrs: Any, shape: tuple[int, ...],
             dtype: Any, key: Any = None) -> Code:
        k = (kind, tuple(id(a) for a in args), key if key is not None else attrs)
        hit = self.table.get(k)
        if hit is not None:
            if kind not in _LEAVES:
                self._tag(hit)
            return hit
        node = Code(self, kind, args, attrs, shape, dtype)
        node.index = len(self.nodes)
        self.nodes.append(node)
        self.table[k] = node
        self._tag(node)
        return node

    def _tag(self, node: Code) -> None:
        t = self.tag
        if t is None:
            return
        if t[1] == "engine":  # after a rule: the engine summing a broadcast, or adding shares
            t = (t[0], "sum" if node.kind in ("reduce", "reshape", "broadcast") else "add", t[2])
        if t not in node.tags:
            node.tags.append(t)

    def absorb(self, into: Code, *parts: Any) -> Code:
        """`into` replaces `parts` (folded or simplified away): it inherits their comments."""
        for p in parts:
            if isinstance(p, Code) and p is not into:
                for t in p.tags:
                    if t not in into.tags:
                        into.tags.append(t)
        self._tag(into)
        return into

    def const(self, num: _Num, dtype: Any = None, weak: bool = True,
              shape: tuple[int, ...] = ()) -> Code:
        if dtype is None:
            dtype = np.dtype(bool) if isinstance(num.value, bool) else np.dtype(
                int if num.n is not None and num.d == 1 else float)
        return self.make("const", (), (num, weak), shape, dtype,
                         key=(num.key(), weak, np.dtype(dtype).str, tuple(shape)))

    def array(self, a: np.ndarray, hint: str = "c") -> Code:
        self.keep.append(a)
        return self.make("array", (), (a, hint), a.shape, a.dtype, key=("array", id(a)))

    def lift(self, x: Any, hint: str | None = None) -> Code:
        if isinstance(x, Code):
            return x
        if isinstance(x, (bool, int, float)) and not isinstance(x, np.generic):
            return self.const(_Num.of(x))
        if is_tensor(x):
            raise TypeError("a Tensor inside generated code")
        if isinstance(x, (np.generic, np.ndarray)) and x.dtype.kind in "biuf":
            if np.ndim(x) == 0:
                return self.const(_Num.of(x.item()), dtype=x.dtype, weak=False)
            x = np.asarray(x)
            if hint is None:
                mask = x.dtype == bool or bool(np.isin(x, (0, 1)).all())
                hint = f"{self.hint or 'c'}_{'mask' if mask else 'const'}"
            return self.array(x, hint)
        raise TypeError(f"cannot write a {type(x).__name__} into generated code")

    # ---- ufuncs: operators and NumPy functions -----------------------------------------

    def _dtype(self, uf: np.ufunc, xs: Sequence[Code]) -> np.dtype:
        key = (uf, tuple((x.dtype.str, type(x.attrs[0].value)) if x.kind == "const" and
                         x.attrs[1] else x.dtype.str for x in xs))
        d = self.dtypes.get(key)
        if d is None:
            dummies = [_dummy(x) if not isinstance(_dummy(x), np.ndarray)
                       else np.zeros((1,) if uf is np.matmul else (), x.dtype) for x in xs]
            with np.errstate(all="ignore"):
                d = np.asarray(uf(*dummies)).dtype
            self.dtypes[key] = d
        return d

    def ufunc(self, uf: np.ufunc, *args: Any) -> Code:
        if uf.nout != 1 or len(args) != uf.nin:
            raise TypeError(f"{uf.__name__} with {len(args)} arguments")
        xs = [self.lift(a) for a in args]
        if uf is np.matmul and min(x.ndim for x in xs) >= 2 and xs[0].shape[-1] == 1:
            return self.ufunc(np.multiply, *xs)  # a sum over one term: an outer product
        shape = (_matmul_shape(xs[0].shape, xs[1].shape) if uf is np.matmul
                 else np.broadcast_shapes(*(x.shape for x in xs)))
        dtype = self._dtype(uf, xs)
        simple = self._simplify(uf, xs, shape, dtype)
        if simple is not None and simple.shape == shape and simple.dtype == dtype:
            return simple
        return self.make("ufunc", tuple(xs), uf, shape, dtype, key=(uf.__name__, id(uf)))

    def _simplify(self, uf: np.ufunc, xs: list[Code], shape: tuple[int, ...],
                  dtype: np.dtype) -> Code | None:
        name = uf.__name__
        consts = [x.attrs[0] if x.kind == "const" else None for x in xs]
        if name in ("add", "subtract", "multiply", "divide", "negative") and all(
                c is not None for c in consts):
            num = _fold(name, consts)  # type: ignore[arg-type]
            if num is None:
                return None
            weak = all(x.attrs[1] for x in xs)
            return self.absorb(self.const(num, dtype=dtype, weak=weak, shape=shape), *xs)
        if uf is np.matmul:
            return self._scaled_product(xs[0], xs[1], shape)
        if uf.nin != 2 and name != "negative":
            return None
        if name == "negative":
            (x,) = xs
            if x.kind == "ufunc" and x.attrs is np.negative:
                return self.absorb(x.args[0], x)
            if x.kind == "ufunc" and x.attrs is np.multiply and x.args[1].kind == "const":
                num = _neg(x.args[1].attrs[0])
                if num is not None:
                    c = x.args[1]
                    return self.absorb(self.ufunc(np.multiply, x.args[0], self.const(
                        num, dtype=c.dtype, weak=c.attrs[1])), x)
            return None
        a = self._scalar_like(xs[0], xs[1], shape)
        b = self._scalar_like(xs[1], a, shape)  # against the new a: both must still give shape
        ca = a.attrs[0] if a.kind == "const" and not a.shape else None
        cb = b.attrs[0] if b.kind == "const" and not b.shape else None
        if a is not xs[0] or b is not xs[1]:
            return self.absorb(self.ufunc(uf, a, b), *xs)
        if name == "add":
            if cb is not None and cb.is_(0):
                return self.absorb(a, b)
            if ca is not None and ca.is_(0):
                return self.absorb(b, a)
            if a is b:
                return self.ufunc(np.multiply, a, 2)
        elif name == "subtract":
            if cb is not None and cb.is_(0):
                return self.absorb(a, b)
            if ca is not None and ca.is_(0):
                return self.absorb(self.ufunc(np.negative, b), a)
        elif name == "multiply":
            if ca is not None and cb is None:
                return self.ufunc(np.multiply, b, a)  # the number on the right: x * 2
            if cb is not None:
                if cb.is_(1):
                    return self.absorb(a, b)
                if cb.is_(-1):
                    return self.absorb(self.ufunc(np.negative, a), b)
                if a.kind == "ufunc" and a.attrs is np.multiply and a.args[1].kind == "const":
                    num = _mul(a.args[1].attrs[0], cb)
                    if num is not None:
                        c = self.const(num, dtype=np.result_type(a.args[1].dtype, b.dtype),
                                       weak=a.args[1].attrs[1] and b.attrs[1])
                        return self.absorb(self.ufunc(np.multiply, a.args[0], c), a, b)
                if a.kind == "ufunc" and a.attrs is np.negative:
                    num = _neg(cb)
                    if num is not None:
                        c = self.const(num, dtype=b.dtype, weak=b.attrs[1])
                        return self.absorb(self.ufunc(np.multiply, a.args[0], c), a, b)
        elif name == "divide" and cb is not None:
            if cb.is_(1):
                return self.absorb(a, b)
            if cb.n is not None:  # x / 100 as x · (1/100), so it merges with other factors
                inv = _inv(cb)
                if inv is not None:
                    c = self.const(inv, dtype=b.dtype, weak=b.attrs[1])
                    return self.absorb(self.ufunc(np.multiply, a, c), b)
        elif name == "power" and cb is not None and cb.is_(1):
            return self.absorb(a, b)
        return None

    def _scaled_product(self, a: Code, b: Code, shape: tuple[int, ...]) -> Code | None:
        """A @ (v · c) as (A @ v) · c for a number c, when the product is smaller than v:
        the number then scales the short result instead of a long temporary (the MSE's
        X.T @ r · (2/N) scales D values, not N)."""
        size = int(np.prod(shape, dtype=np.int64))
        for k, x in enumerate((a, b)):
            if (x.kind == "ufunc" and x.attrs is np.multiply and x.args[1].kind == "const"
                    and not x.args[1].shape and size < x.size):
                pair = (x.args[0], b) if k == 0 else (a, x.args[0])
                product = self.ufunc(np.matmul, *pair)
                return self.absorb(self.ufunc(np.multiply, product, x.args[1]), x)
        return None

    def _sum_of_squares(self, f: str, x: Code, axes: tuple[int, ...]) -> Code | None:
        """Σ(v²) over all of v as v @ v (np.vdot(v, v) unless v is a vector), and mean(v²)
        as that / N, for float v: no temporary the size of v for the squares."""
        if not (f in ("sum", "mean") and x.ndim and axes == tuple(range(x.ndim))
                and x.dtype.kind == "f" and x.kind == "ufunc" and x.attrs is np.power
                and x.args[1].kind == "const" and x.args[1].attrs[0].is_(2)
                and x.args[0].dtype == x.dtype):
            return None
        v = x.args[0]
        dot = self.ufunc(np.matmul, v, v) if v.ndim == 1 else self.npcall("vdot", (v, v))
        dot = self.absorb(dot, x)
        return dot if f == "sum" else self.ufunc(np.divide, dot, v.size)

    def _scalar_like(self, x: Code, other: Code, shape: tuple[int, ...]) -> Code:
        """x without a broadcast the element-wise op does anyway: a number filled to a shape
        becomes the number, np.broadcast_to(y, s) becomes y."""
        if x.kind == "const" and x.shape and np.broadcast_shapes(other.shape) == shape:
            return self.absorb(self.const(x.attrs[0], dtype=x.dtype, weak=x.attrs[1]), x)
        if x.kind in ("broadcast", "reshape"):
            y = x.args[0]
            lead = x.ndim - y.ndim
            ones = x.kind == "broadcast" or (lead >= 0 and x.shape[lead:] == y.shape and
                                             all(n == 1 for n in x.shape[:lead]))
            if ones and np.broadcast_shapes(y.shape, other.shape) == shape:
                return self.absorb(y, x)
        return x

    # ---- shapes and reductions ---------------------------------------------------------

    def transpose(self, x: Code, axes: tuple[int, ...]) -> Code:
        x = self.lift(x)
        axes = tuple(int(a) % max(x.ndim, 1) for a in axes)
        if sorted(axes) != list(range(x.ndim)):
            raise ValueError(f"transpose axes {axes} for shape {x.shape}")
        if axes == tuple(range(x.ndim)):
            return x
        if x.kind == "T":
            inner = x.attrs
            return self.absorb(self.transpose(x.args[0], tuple(inner[a] for a in axes)), x)
        shape = tuple(x.shape[a] for a in axes)
        if x.kind == "const":
            return self.absorb(self.const(x.attrs[0], x.dtype, x.attrs[1], shape), x)
        moved = [a for a in axes if x.shape[a] != 1]
        if moved == sorted(moved):  # only axes of length 1 move: the same as a reshape
            return self.reshape(x, shape)
        return self.make("T", (x,), axes, shape, x.dtype)

    def reshape(self, x: Code, shape: tuple[int, ...]) -> Code:
        x = self.lift(x)
        if -1 in shape:
            known = int(np.prod([n for n in shape if n != -1], dtype=np.int64))
            shape = tuple(x.size // known if n == -1 and known else n for n in shape)
        if int(np.prod(shape, dtype=np.int64)) != x.size:
            raise ValueError(f"reshape of {x.shape} to {shape}")
        if shape == x.shape:
            return x
        if x.kind == "reshape":
            return self.absorb(self.reshape(x.args[0], shape), x)
        if x.kind == "const":
            return self.absorb(self.const(x.attrs[0], x.dtype, x.attrs[1], shape), x)
        if x.kind == "reduce" and x.attrs[2]:  # np.sum(..., keepdims=True).reshape(dropped)
            f, axes, _, ddof, axis = x.attrs
            inner = x.args[0]
            if shape == tuple(n for i, n in enumerate(inner.shape) if i not in axes):
                return self.absorb(self.reduce(f, inner, axis, False, ddof), x)
        if x.kind == "ufunc" and x.attrs is np.matmul:
            vector = self._vector_product(x, shape)
            if vector is not None:
                return vector
        return self.make("reshape", (x,), shape, shape, x.dtype)

    def _vector_product(self, x: Code, shape: tuple[int, ...]) -> Code | None:
        """A @ v for (A @ v as a column) reshaped back to a vector, and v @ B for (v as a row
        @ B) reshaped back: how matmul's rule handles a vector, undone."""
        a, b = x.args
        if (b.kind == "reshape" and b.args[0].ndim == 1 and b.shape == b.args[0].shape + (1,)
                and shape == x.shape[:-1]):
            product = self.ufunc(np.matmul, a, b.args[0])
        elif (a.kind == "reshape" and a.args[0].ndim == 1 and b.ndim == 2
              and a.shape == (1,) + a.args[0].shape and shape == x.shape[:-2] + x.shape[-1:]):
            product = self.ufunc(np.matmul, a.args[0], b)
        else:
            return None
        return self.absorb(product, x, a, b) if product.shape == shape else None

    def broadcast(self, x: Any, shape: tuple[int, ...]) -> Code:
        x = self.lift(x)
        shape = tuple(int(n) for n in shape)
        if np.broadcast_shapes(x.shape, shape) != shape:
            raise ValueError(f"broadcast of {x.shape} to {shape}")
        if shape == x.shape:
            return x
        if x.kind == "const":
            return self.absorb(self.const(x.attrs[0], x.dtype, x.attrs[1], shape), x)
        return self.make("broadcast", (x,), shape, shape, x.dtype)

    def reduce(self, f: str, x: Any, axis: Any, keepdims: bool, ddof: int | None = None
               ) -> Code:
        x = self.lift(x)
        axes = normalize_axis(axis, x.ndim)
        if axes == () and f == "sum":
            return x
        if not keepdims:
            squares = self._sum_of_squares(f, x, axes)
            if squares is not None:
                return squares
        shape = (keepdims_shape(x.shape, axes) if keepdims else
                 tuple(n for i, n in enumerate(x.shape) if i not in axes))
        if x.kind == "const" and f in ("sum", "mean") and x.attrs[0].number:
            count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
            num = _mul(x.attrs[0], _Num.of(count)) if f == "sum" else x.attrs[0]
            if num is not None and x.dtype.kind == "f":
                return self.absorb(self.const(num, x.dtype, x.attrs[1], shape), x)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            kw = {} if ddof is None else {"ddof": ddof}
            dtype = np.asarray(getattr(np, f)(np.zeros((1,) * x.ndim, x.dtype), axis=axes,
                                              **kw)).dtype
        # attrs: the function, the normalized axes, keepdims, ddof, the axis as written
        return self.make("reduce", (x,), (f, axes, bool(keepdims), ddof, axis), shape, dtype,
                         key=(f, axes, bool(keepdims), ddof))

    def getitem(self, x: Any, index: Any) -> Code:
        x = self.lift(x)
        dummy = np.broadcast_to(np.zeros((), x.dtype), x.shape)[index]
        return self.make("getitem", (x,), index, np.shape(dummy), dummy.dtype,
                         key=_freeze(index, self.keep))

    def astype(self, x: Any, dtype: Any) -> Code:
        x = self.lift(x)
        dtype = np.dtype(dtype)
        if x.dtype == dtype:
            return x
        return self.make("astype", (x,), dtype, x.shape, dtype, key=dtype.str)

    def npcall(self, f: str, args: tuple[Any, ...], listed: bool = False, **kw: Any) -> Code:
        """np.<f>(*args, **kw) (a list of the args for concatenate)."""
        xs = tuple(None if a is None else self.lift(a) for a in args)
        dummies = [_dummy(a) for a in xs]
        with np.errstate(all="ignore"):
            out = np.asarray(getattr(np, f)(dummies, **kw) if listed else
                             getattr(np, f)(*dummies, **kw))
        return self.make("np", tuple(a for a in xs if a is not None),
                         (f, tuple(a is None for a in xs), tuple(kw.items()), listed),
                         out.shape, out.dtype, key=(f, tuple(a is None for a in xs),
                                                    _freeze(kw, self.keep), listed))

    # ---- ops of the table ----------------------------------------------------------------

    def apply_op(self, op: Op, args: Sequence[Any], params: dict[str, Any]) -> Code:
        """Op `op` on code values, as a rule's `call` asks for it."""
        xs = [self.lift(a) for a in args]
        code = self.spell(op, xs, params)
        if code is not None:
            return code
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            out = np.asarray(op.forward(*[_dummy(x) for x in xs], **params))
        return self.call(op, xs, params, out.shape, out.dtype)

    def spell(self, op: Op, xs: list[Code], params: dict[str, Any]) -> Code | None:
        """NumPy source for an op NumPy spells directly (operators, np functions), or None."""
        try:
            if _SPELLED.get(op.name) is op:
                code = self._spelled(op, xs, params)
                if code is not None:
                    return code
            if isinstance(op.forward, np.ufunc) and not params:
                return self.ufunc(op.forward, *xs)
        except (TypeError, ValueError, IndexError):
            return None
        return None

    def call(self, op: Op, xs: Sequence[Code], params: dict[str, Any],
             shape: tuple[int, ...], dtype: Any) -> Code:
        """A call of the op's own forward function (for ops NumPy has no spelling of)."""
        return self.make("call", tuple(xs), (op, params), shape, dtype,
                         key=(op.name, id(op), _freeze(params, self.keep)))

    def _spelled(self, op: Op, xs: list[Code], params: dict[str, Any]) -> Code | None:
        n = op.name
        if n == "pow":
            return self.ufunc(np.power, xs[0], self.param(params["p"], "p"))
        if n == "relu":
            return self.ufunc(np.maximum, xs[0], 0)
        if n == "softplus":
            return self.ufunc(np.logaddexp, 0.0, xs[0])
        if n in _REDUCTIONS:
            return self.reduce(n, xs[0], params["axis"], params["keepdims"], params.get("ddof"))
        if n == "reshape":
            return self.reshape(xs[0], tuple(params["shape"]))
        if n == "transpose":
            return self.transpose(xs[0], tuple(params["axes"]))
        if n == "broadcast_to":
            return self.broadcast(xs[0], tuple(params["shape"]))
        if n == "getitem":
            return self.getitem(xs[0], params["index"])
        if n == "astype":
            return self.astype(xs[0], params["dtype"])
        if n == "where":
            return self.npcall("where", (self.param(params["cond"], "cond"), xs[0], xs[1]))
        if n == "clip":
            lo, hi = (None if params[k] is None else self.param(params[k], k)
                      for k in ("lo", "hi"))
            return self.npcall("clip", (xs[0], lo, hi))
        if n == "concatenate":
            return self.npcall("concatenate", tuple(xs), listed=True, axis=params["axis"])
        return None

    def param(self, v: Any, hint: str) -> Code:
        """A param that is a value of the code: a number, an array, or a Tensor's value."""
        if is_tensor(v):
            code = self.vertex_codes.get(id(v.vertex))
            return code if code is not None else self.lift(v.array, hint)
        return self.lift(v, hint)

    def rule_call(self, op: Op, i: int, g: Code, xs: Sequence[Code], out: Code | None,
                  params: dict[str, Any], probe: Callable[[], Any]) -> Code:
        """The rule function itself, called on arrays: for a rule that reads values."""
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            gi = np.asarray(probe())
        args = (g, *xs) + ((out,) if out is not None else ())
        return self.make("rule", args, (op, i, params, out is not None), gi.shape, gi.dtype,
                         key=(op.name, id(op), i, _freeze(params, self.keep), out is not None))


# ---- the reading: the reverse sweep, writing code ---------------------------------------


class _Reading:
    """engine.sweep's reading for code: gradients are code values, and each op's rule applied
    to them writes its step; a rule that needs values becomes a call of it on the arrays."""

    def __init__(self, w: _Writer, codes: dict[int, Code]) -> None:
        self.w = w
        self.codes = codes
        self.steps: list[Node] = []

    def enter(self, node: Node, g: Code) -> Any:
        self.steps.append(node)
        k = len(self.steps) - 1
        self.w.tag = (k, "step")
        if g.grad_of is None:
            g.grad_of = node
        return k, tuple(self.codes[id(p)] for p in node.inputs), self.codes[id(node)]

    def rule(self, node: Node, i: int, g: Code, inputs: Any) -> Code:
        k, xs, out = inputs
        w = self.w
        w.tag = (k, "step")
        before = len(w.nodes)
        rule = node.op.vjp(i)
        w.hint = node.op.name
        try:
            gi = rule(g, *xs, out=out, **node.params)
            if not isinstance(gi, Code):
                raise TypeError(f"the rule gave a {type(gi).__name__}")
        except Exception:  # it reads values (a mask, ties): call it on the arrays instead
            args, saved_out = _probe(node, g)
            gi = w.rule_call(node.op, i, g, xs, out if node.op.save_out else None,
                             node.params, lambda: rule(*args, out=saved_out, **node.params))
        if gi.index < before and gi.kind not in _LEAVES:  # passed on unchanged (add, sub)
            w._tag(gi)
        w.hint = ""
        w.tag = (k, "engine", i)  # the engine's broadcast sums and fan-out additions follow
        return gi

    def leave(self, node: Node) -> None:
        self.w.tag = None


def _probe(node: Node, g: Code) -> tuple[tuple[Any, ...], Any]:
    """Arguments to run a rule on once, to learn the shape and dtype it returns: the arrays
    the trace saved where it saved them, zeros elsewhere."""
    zeros = tuple(np.broadcast_to(np.zeros((), p.dtype), p.shape) for p in node.inputs)
    xs = tuple(node.saved) if node.saved is not None else zeros
    out = (node.saved_out if node.saved_out is not None else
           np.broadcast_to(np.zeros((), node.dtype), node.shape))
    return (np.broadcast_to(np.zeros((), g.dtype), g.shape), *xs), out


# ---- printing -----------------------------------------------------------------------------


class _Printer:
    """Writes the function body: a line per value that has a name (the outputs, tensors the
    user named, values used twice, anything too long to inline), the rest inlined, and
    before each line of the gradient the comments of the steps it completes."""

    def __init__(self, w: _Writer, steps: list[Node], names: _Names, codes: dict[int, Code],
                 sweep_start: int) -> None:
        self.w = w
        self.steps = steps
        self.names = names
        self.codes = codes
        self.sweep_start = sweep_start
        self.text: dict[int, tuple[str, int]] = {}
        self.named: dict[int, str] = {}
        self.inlined: dict[int, list[Code]] = {}  # the values a value's text spells out
        self.consts: dict[int, str] = {}
        self.helpers: dict[Any, str] = {}
        self.namespace: dict[str, Any] = {}
        self.said: set[tuple[Any, ...]] = set()
        self.ops_said: set[str] = set()
        self.lines: list[str] = []

    def write(self, outputs: list[tuple[str, Code]], user: dict[int, str]) -> list[str]:
        """The lines for `outputs` ((name, value) pairs); returns the names to return."""
        reach: dict[int, Code] = {}
        stack = [c for _, c in outputs]
        while stack:
            x = stack.pop()
            if x.index not in reach:
                reach[x.index] = x
                stack.extend(x.args)
        uses: dict[int, int] = {}
        for x in reach.values():
            for a in x.args:
                uses[a.index] = uses.get(a.index, 0) + 1
        wanted: dict[int, str] = {}
        for name, c in outputs:
            wanted.setdefault(c.index, name)
        shared = {i for i, n in uses.items() if n > 1 and not _cheap(reach[i])}
        shared |= {i for i in user if i in reach}
        for i in list(shared | set(wanted)):  # g_h is named after h: give h a line too
            v = reach[i].grad_of
            fc = self.codes.get(id(v)) if v is not None else None
            if fc is not None and fc.index < self.sweep_start and fc.kind not in _LEAVES:
                shared.add(fc.index)
        self.user = user
        gap = False
        for i in sorted(reach):
            x = reach[i]
            if x.kind in _LEAVES and i not in wanted:
                self.text[i] = (self.leaf(x), ATOM) if x.kind != "const" else self.number(x)
                self.inlined[i] = [x]
                continue
            if i >= self.sweep_start and not gap and self.lines:
                self.lines.append("")
                gap = True
            if i in wanted:
                self.line(x, wanted[i])
            elif i in shared:
                self.line(x, self.name_for(x))
            else:
                self.inline(x)
        rets = []
        for name, c in outputs:
            if c.index not in self.named:
                self.line(c, name)
            rets.append(self.named[c.index])
        return rets

    def fit(self, x: Code) -> tuple[str, int]:
        """x's text, after giving its longest parts lines of their own while it is too long
        to read in one go."""
        text = self.render(x)
        while len(text[0]) > LINE:
            kids = [c for c in x.args if c.index not in self.named and c.kind not in _LEAVES]
            if not kids:
                break
            self.line(max(kids, key=lambda c: len(self.text[c.index][0])), None)
            text = self.render(x)
        return text

    def inline(self, x: Code) -> None:
        self.text[x.index] = self.fit(x)
        self.inlined[x.index] = [x] + [p for c in x.args for p in self.inlined[c.index]]

    def line(self, x: Code, name: str | None) -> None:
        text, _ = self.fit(x)
        name = name or self.name_for(x)
        if x.index >= self.sweep_start:
            self.lines += self.comments([x] + [p for c in x.args for p in self.inlined[c.index]])
        self.lines.append(f"    {name} = {text}")
        self.named[x.index] = name
        self.text[x.index] = (name, ATOM)
        self.inlined[x.index] = [x]

    def name_for(self, x: Code) -> str:
        v = x.vertex
        if isinstance(v, Node):
            base = self.user.get(x.index) or _SHORT.get(v.op.name, "t")
        elif x.grad_of is not None:
            fc = self.codes.get(id(x.grad_of))
            of = self.named.get(fc.index) if fc is not None else None
            base = f"g_{of}" if of else "t"
        else:
            base = "t"
        return self.names.claim(base)

    # ---- what the code reads -------------------------------------------------------------

    def leaf(self, x: Code) -> str:
        if x.kind == "arg":
            return str(x.attrs[1])
        return self.constant(x.attrs[0], x.attrs[1])

    def constant(self, a: Any, hint: str) -> str:
        """A namespace name for an array (or another object) the code reads."""
        got = self.consts.get(id(a))
        if got is None:
            got = self.names.claim(_safe(hint) or "c")
            self.consts[id(a)] = got
            self.namespace[got] = a
        return got

    def helper(self, key: Any, fn: Any, name: str) -> str:
        """A namespace name for a function the code calls (an op's forward or rule)."""
        got = self.helpers.get(key)
        if got is None:
            got = self.names.claim(_safe(name) or "helper")
            self.helpers[key] = got
            self.namespace[got] = fn
        return got

    def value(self, v: Any, hint: str) -> str:
        """Python source for a param: literals for numbers, shapes, None and dtypes; a
        namespace constant for anything else."""
        if v is None or isinstance(v, (bool, np.bool_)):
            return repr(bool(v)) if v is not None else "None"
        if isinstance(v, (int, np.integer)):
            return str(int(v))
        if isinstance(v, (float, np.floating)) and type(v) in (float, np.float64):
            return _literal(_Num(float(v)))[0]
        if isinstance(v, tuple) and all(isinstance(i, (int, np.integer)) and not isinstance(
                i, (bool, np.bool_)) for i in v):
            return _shape_text(v)
        if isinstance(v, (np.dtype, type)):
            text = _dtype_text(v)
            if text is not None:
                return text
        if isinstance(v, Code):
            return self.text[v.index][0]
        if isinstance(v, (tuple, slice)) or v is Ellipsis:
            text = self.literal(v)
            if text is not None:
                return text
        return self.constant(array_of(v), hint)

    def literal(self, v: Any) -> str | None:
        """Source for an index-like param (ints, slices, None, ..., small integer arrays),
        or None if it has no short literal form."""
        if v is None or v is Ellipsis:
            return "None" if v is None else "..."
        if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
            return str(int(v))
        if isinstance(v, slice):
            parts = [self.literal(p) for p in (v.start, v.stop, v.step)]
            if any(p is None or p == "..." for p in parts):
                return None
            if v.step is None:  # slice(None) is ':', slice(1, None) is '1:'
                parts = parts[:1] if parts[:2] == ["None", "None"] else parts[:2]
            return f"slice({', '.join(parts)})"  # type: ignore[arg-type]
        if isinstance(v, np.ndarray) and v.ndim == 1 and v.dtype.kind in "iu" and v.size <= 8:
            return f"np.array({[int(n) for n in v]!r})"
        if isinstance(v, tuple):
            items = [self.literal(i) for i in v]
            if any(i is None for i in items):
                return None
            return f"({', '.join(items)}{',' if len(items) == 1 else ''})"  # type: ignore[arg-type]
        return None

    def index(self, index: Any) -> str:
        items = index if isinstance(index, tuple) else (index,)
        out = []
        for i in items:
            if i is None:
                out.append("None")
            elif i is Ellipsis:
                out.append("...")
            elif isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_)):
                out.append(str(int(i)))
            elif isinstance(i, slice) and all(p is None or (isinstance(p, (int, np.integer))
                                                            and not isinstance(p, bool))
                                               for p in (i.start, i.stop, i.step)):
                text = ":".join("" if p is None else str(int(p)) for p in (i.start, i.stop))
                out.append(text + (f":{int(i.step)}" if i.step is not None else ""))
            elif (isinstance(i, np.ndarray) and i.ndim == 1 and i.dtype.kind in "iu"
                  and 0 < i.size <= 8):
                out.append(repr([int(n) for n in i]))
            else:
                return self.constant(index, "index")
        if not out:
            return "()"
        return ", ".join(out)

    # ---- expressions --------------------------------------------------------------------

    def wrap(self, x: Code, need: int) -> str:
        text, prec = self.text[x.index]
        return f"({text})" if prec < need else text

    def render(self, x: Code) -> tuple[str, int]:
        kind, a = x.kind, x.attrs
        if kind in ("arg", "array"):
            return self.leaf(x), ATOM
        if kind == "const":
            return self.number(x)
        if kind == "zeros":
            return self.fill(x, _Num.of(0))
        if kind == "ufunc":
            return self.ufunc(x)
        first = self.wrap(x.args[0], PRIMARY) if x.args else ""
        if kind == "T":
            if a == tuple(range(x.ndim))[::-1]:
                return f"{first}.T", PRIMARY
            return f"{first}.transpose({_shape_text(a)})", PRIMARY
        if kind == "reshape":
            return f"{first}.reshape({_shape_text(a)})", PRIMARY
        if kind == "getitem":
            return f"{first}[{self.index(a)}]", PRIMARY
        if kind == "astype":
            return f"{first}.astype({self.value(a, 'dtype')})", PRIMARY
        if kind == "broadcast":
            return f"np.broadcast_to({self.text[x.args[0].index][0]}, {_shape_text(a)})", PRIMARY
        if kind == "reduce":
            f, _, keepdims, ddof, axis = a
            parts = [self.text[x.args[0].index][0]]
            if axis is not None:
                one = isinstance(axis, tuple) and len(axis) == 1
                parts.append(f"axis={self.value(axis[0] if one else axis, 'axis')}")
            if keepdims:
                parts.append("keepdims=True")
            if ddof:
                parts.append(f"ddof={int(ddof)}")
            return f"np.{f}({', '.join(parts)})", PRIMARY
        if kind == "np":
            f, nones, kw, listed = a
            it = iter(x.args)
            args = ["None" if none else self.text[next(it).index][0] for none in nones]
            inner = f"[{', '.join(args)}]" if listed else ", ".join(args)
            kws = "".join(f", {k}={self.value(v, k)}" for k, v in kw)
            return f"np.{f}({inner}{kws})", PRIMARY
        if kind == "call":
            op, params = a
            fn = self.helper(("forward", id(op)), op.forward, op.name)
            return self.call(fn, [self.text[c.index][0] for c in x.args], params), PRIMARY
        if kind == "rule":
            op, i, params, has_out = a
            one = len(op.vjps) == 1 and not op.variadic
            fn = self.helper(("vjp", id(op), i), op.vjp(i),
                             f"{op.name}_vjp" if one else f"{op.name}_vjp{i}")
            args = [self.text[c.index][0] for c in x.args]
            out = args.pop() if has_out else "None"
            return self.call(fn, args, params, out=out), PRIMARY
        raise AssertionError(f"no printer for {kind}")

    def call(self, fn: str, args: list[str], params: dict[str, Any], out: str | None = None
             ) -> str:
        kw = [] if out is None else [f"out={out}"]
        if all(_safe(k) == k and k != "out" for k in params):
            kw += [f"{k}={self.value(v, k)}" for k, v in params.items()]
        elif params:  # names that are not plain identifiers: passed as one dict
            kw.append(f"**{self.constant(dict(params), 'params')}")
        return f"{fn}({', '.join(args + kw)})"

    def number(self, x: Code) -> tuple[str, int]:
        num, weak = x.attrs
        if x.shape:
            return self.fill(x, num)
        text, prec = _literal(num)
        if weak:
            return text, prec
        name = _dtype_text(x.dtype)
        return (f"{name}({text})", PRIMARY) if name else (text, prec)

    def fill(self, x: Code, num: _Num) -> tuple[str, int]:
        dt = "" if x.dtype == np.dtype(float) else f", dtype={self.value(x.dtype, 'dtype')}"
        if num.is_(0) or num.is_(1):
            return f"np.{'zeros' if num.is_(0) else 'ones'}({_shape_text(x.shape)}{dt})", PRIMARY
        return f"np.full({_shape_text(x.shape)}, {_literal(num)[0]}{dt})", PRIMARY

    def operand(self, node: Code, k: int) -> tuple[str, int]:
        """Argument k of a ufunc: a number is written plainly when NumPy then gives the same
        dtype as it should (weak, as Python numbers are), else with its dtype."""
        x = node.args[k]
        if x.kind != "const" or x.shape or x.attrs[1]:
            return self.text[x.index]
        args = list(node.args)
        num = x.attrs[0]
        tries = [num] + ([_Num(float(num.value))] if num.number and x.dtype.kind == "f" else [])
        for plain in tries:  # 2, then 2.0 (a bool array times 1.0 is float64, times 1 is not)
            args[k] = self.w.const(plain)
            if self.w._dtype(node.attrs, args) == node.dtype:
                return _literal(plain)
        return self.number(x)

    def ufunc(self, x: Code) -> tuple[str, int]:
        uf = x.attrs
        name = uf.__name__
        if name == "negative":
            text, prec = self.operand(x, 0)
            return f"-{text if prec >= UNARY else f'({text})'}", UNARY
        if name in _OPERATORS and len(x.args) == 2:
            sym, prec = _OPERATORS[name]
            (la, pa), (lb, pb) = self.operand(x, 0), self.operand(x, 1)
            b = x.args[1]
            if (name == "multiply" and b.kind == "const" and not b.shape and
                    b.attrs[0].n in (1, -1) and b.attrs[0].d > 1
                    and lb == _literal(b.attrs[0])[0]):  # x · 1/N reads x / N
                sign = "-" if b.attrs[0].n < 0 else ""
                return f"{sign}{la if pa >= UNARY else f'({la})'} / {b.attrs[0].d}", MUL
            if name == "power":
                left = la if pa > POW else f"({la})"
                right = lb if pb >= UNARY else f"({lb})"
            else:
                left = la if pa > prec or (pa == prec and prec != CMP) else f"({la})"
                right = lb if pb > prec else f"({lb})"
            return f"{left} {sym} {right}", prec
        args = ", ".join(self.operand(x, k)[0] for k in range(len(x.args)))
        name = _SHORTER.get(name, name)
        fn = f"np.{name}" if getattr(np, name, None) is uf else self.helper(
            ("ufunc", id(uf)), uf, name)
        return f"{fn}({args})", PRIMARY

    # ---- comments -----------------------------------------------------------------------

    def comments(self, parts: list[Code]) -> list[str]:
        tags = sorted({t for p in parts for t in p.tags if t not in self.said},
                      key=lambda t: (t[0], t[1] != "step", t[2:]))
        out: list[str] = []
        texts: list[str] = []
        for t in tags:
            self.said.add(t)
            node = self.steps[t[0]]
            if t[1] == "step":
                why = _clean(node.op.why)
                text = _clean(node.label)
                if why and node.op.name not in self.ops_said:
                    text += f": {why}"
                self.ops_said.add(node.op.name)
            else:
                parent = node.inputs[t[2]]
                who = self.describe(parent)
                axes = reduced_axes(node.shape, parent.shape) if len(node.shape) >= len(
                    parent.shape) else ()
                if t[1] == "add":
                    text = f"{who} is used more than once: the gradients of its uses add up"
                elif axes:
                    text = (f"{who} {parent.shape} was broadcast to {node.shape} in the forward "
                            f"pass, so its gradient sums over axis {', '.join(map(str, axes))}")
                else:
                    text = f"{who}'s gradient is brought back to its shape {parent.shape}"
            if text not in texts:
                texts.append(text)
        for text in texts:
            out += textwrap.wrap(text, width=96, initial_indent="    # ",
                                 subsequent_indent="    #   ", break_on_hyphens=False)
        return out

    def describe(self, v: Any) -> str:
        fc = self.codes.get(id(v))
        if fc is not None and (fc.index in self.named or fc.kind in ("arg", "array")):
            return self.text[fc.index][0]
        return f"the {_clean(v.label)} result" if isinstance(v, Node) else "a constant"


_LEAVES = ("arg", "array", "const")


def _cheap(x: Code) -> bool:
    """A view of a name (X.T): written out at each use rather than given a line."""
    return x.kind == "T" and x.args[0].kind in ("arg", "array")


# ---- tracing and writing ------------------------------------------------------------------


def _param_names(f: Callable[..., Any], n: int) -> list[str]:
    """Names for f's n positional arguments: f's own where they are safe, else x0, x1, ..."""
    names: list[str] = []
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        params = []
    for p in params:
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
        elif p.kind == p.VAR_POSITIONAL:
            names += [f"{p.name}{i}" for i in range(max(n - len(names), 0))]
            break
    names = names[:n] + [f"x{i}" for i in range(len(names), n)]
    alloc = _Names({"np"})
    return [alloc.claim(_safe(name) or f"x{i}") for i, name in enumerate(names)]


def _outer_names(f: Callable[..., Any]) -> dict[int, str]:
    """id of each array or Tensor f reads from its closure or globals -> that variable's name."""
    code = getattr(f, "__code__", None)
    if code is None:
        return {}
    found: list[tuple[str, Any]] = []
    for name, cell in zip(code.co_freevars, getattr(f, "__closure__", None) or (), strict=False):
        try:
            found.append((name, cell.cell_contents))
        except ValueError:  # an empty cell
            continue
    space = getattr(f, "__globals__", {})
    found += [(name, space[name]) for name in code.co_names if name in space]
    out: dict[int, str] = {}
    for name, obj in found:
        safe = _safe(name)
        if safe is None:
            continue
        if isinstance(obj, np.ndarray):
            out.setdefault(id(obj), safe)
        elif is_tensor(obj):
            out.setdefault(id(obj), safe)
            out.setdefault(id(obj.array), safe)
    return out


def _classify(a: Any, differentiate: bool) -> tuple[Any, str, Any]:
    """(cache key, kind, what the compiled function gets) for one argument.

    Kinds: "v" a variable (differentiated), "d" float data (traced, its uses become code),
    "s" anything else, a constant of the trace: its value is part of the key.
    """
    if differentiate:
        arr = np.asarray(a)
        if arr.dtype.kind != "f":
            arr = arr.astype(np.float64)  # as value_and_grad: integers become float64
        return ("v", arr.shape, arr.dtype), "v", arr
    if isinstance(a, (np.ndarray, np.generic)):
        arr = np.asarray(a)
        if arr.dtype.kind == "f":
            return ("d", arr.shape, arr.dtype), "d", arr
        digest = hashlib.blake2b(np.ascontiguousarray(arr).view(np.uint8).data).hexdigest() \
            if arr.dtype.kind in "biuf" else id(a)
        return ("s", arr.shape, arr.dtype, digest), "s", a
    try:
        hash(a)
        return ("s", type(a), a), "s", a
    except TypeError:
        return ("s", "id", id(a)), "s", a


class _Trace:
    """One run of f on Tensors: its graph, and which vertices are which arguments."""

    def __init__(self, f: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                 argnums: Argnums, who: str) -> None:
        self.positions, self.many = _positions(argnums, len(args), who)
        self.names = _param_names(f, len(args))
        self.traced: dict[int, int] = {}  # id(Tensor given to f) -> argument position
        self.static: dict[int, int] = {}  # id(array given to f as it is) -> position
        self.tensors: dict[int, Tensor] = {}
        self.kinds: list[str] = []
        call_args = list(args)
        for k, a in enumerate(args):
            _, kind, arr = _classify(a, k in self.positions)
            self.kinds.append(kind)
            if kind in "vd":
                t = Tensor(arr, requires_grad=True, name=self.names[k])
                call_args[k] = t
                self.traced[id(t)] = k
                self.tensors[k] = t
            elif isinstance(a, np.ndarray):
                self.static[id(a)] = k
        try:
            out = _call(f, tuple(call_args), kwargs)
        except Exception as e:
            data = [self.names[k] for k, kind in enumerate(self.kinds) if kind == "d"]
            if data and hasattr(e, "add_note"):  # Python 3.11+
                e.add_note(
                    f"{who} runs f on Tensors for its float arguments, the data ones too "
                    f"({', '.join(data)}), so that what f computes from them becomes code. "
                    "A NumPy or SciPy call that needs their values cannot be traced: compute it "
                    "before calling, read the array from a closure instead of an argument, or "
                    "use am.value_and_grad.")
            raise
        if not isinstance(out, Tensor) or out.ndim != 0:
            raise ValueError(f"{who}: the function must return a scalar (0-d) Tensor, got "
                             f"{type(out).__name__} of shape {np.shape(out)}. Reduce it "
                             "(.sum() or .mean()), or use am.jacobian for vector outputs.")
        self.root = out.vertex
        self.order = toposort(self.root, only_requires_grad=False)
        self.n_ops = sum(1 for v in self.order if isinstance(v, Node))
        self.fname = _safe(getattr(f, "__name__", None)) or "f"
        self.outer = _outer_names(f)


def _forward(w: _Writer, v: Node, xs: list[Code], strong: list[Code | None]) -> Code:
    """The code for a recorded op's output: NumPy's spelling when it gives the recorded shape
    and dtype (numbers tried as Python numbers first, then with their dtype), else a call of
    the op's forward function."""
    expect = (v.shape, v.dtype)
    code = w.spell(v.op, xs, v.params)
    if code is not None and (code.shape, code.dtype) == expect:
        return code
    if any(s is not None for s in strong):
        ys = [s if s is not None else x for x, s in zip(xs, strong, strict=True)]
        code = w.spell(v.op, ys, v.params)
        if code is not None and (code.shape, code.dtype) == expect:
            return code
    return w.call(v.op, xs, v.params, v.shape, v.dtype)


def _leaf(w: _Writer, t: Any, trace: _Trace, params: list[str],
          strong: dict[int, Code]) -> Code:
    k = trace.traced.get(id(t))
    data = array_of(t)
    if k is None:
        k = trace.static.get(id(data))
    if k is not None:
        return w.make("arg", (), (k, params[k]), data.shape, data.dtype, key=("arg", k))
    if data.ndim == 0 and data.dtype.kind in "biuf":  # a number: folded into the text
        strong[id(t)] = w.const(_Num.of(data.item()), dtype=data.dtype, weak=False)
        return w.const(_Num.of(data.item()))
    hint = _safe(t.name) or trace.outer.get(id(t)) or trace.outer.get(id(data)) or "const"
    return w.array(data, hint)


class _Program:
    """One signature's compiled function, and how its results become value_and_grad's."""

    def __init__(self, fn: Callable[..., Any], code: str, many: bool, value_dtype: np.dtype,
                 dtypes: list[np.dtype], copies: list[bool]) -> None:
        self.fn = fn
        self.code = code
        self.many = many
        self.value_dtype = value_dtype
        self.outs = list(zip(dtypes, copies, strict=True))

    def run(self, arrays: list[Any]) -> tuple[Any, Any]:
        value, g = self.fn(*arrays)
        gs = g if self.many else (g,)
        # a copy where the code may return a view, a number, another output or a wider dtype
        gs = tuple(np.array(x, dtype=d) if copy else x
                   for x, (d, copy) in zip(gs, self.outs, strict=True))
        return np.array(value, dtype=self.value_dtype), (gs if self.many else gs[0])


_COUNTER = itertools.count(1)


def _write(trace: _Trace) -> tuple[str, dict[str, Any], list[bool]]:
    """The source of the function for a trace, its namespace, and which outputs to copy."""
    w = _Writer()
    try:
        return _write_with(w, trace)
    finally:  # no cycles left: the trace's graph (and its read-only locks) goes with it
        w.nodes.clear()
        w.table.clear()
        w.keep.clear()
        w.vertex_codes.clear()


def _write_with(w: _Writer, trace: _Trace) -> tuple[str, dict[str, Any], list[bool]]:
    names = _Names({"np"})
    params = [names.claim(n) for n in trace.names]
    fname = names.claim(f"{trace.fname}_value_and_grad")
    codes = w.vertex_codes
    strong: dict[int, Code] = {}
    for v in trace.order:
        if isinstance(v, Node):
            xs = [codes[id(p)] for p in v.inputs]
            code = _forward(w, v, xs, [strong.get(id(p)) for p in v.inputs])
            if code.vertex is None and code.kind not in _LEAVES:
                code.vertex = v
        else:
            code = _leaf(w, v, trace, params, strong)
        codes[id(v)] = code
    root = trace.root
    sweep_start = len(w.nodes)
    reading = _Reading(w, codes)
    found: dict[Any, Any] = {}
    if root.requires_grad:
        found = engine.sweep(root, w.const(_Num.of(1), dtype=root.dtype, weak=False), reading)
    w.tag = None
    by_id = {id(v): g for v, g in found.items()}
    grads: list[Code] = []
    for k in trace.positions:
        t = trace.tensors[k]
        g = by_id.get(id(t))
        grads.append(g if g is not None else
                     w.make("zeros", (), None, t.shape, t.dtype, key=("zeros", k)))
    root_name = _safe(root.name) if isinstance(root, Node) else None
    outputs = [(names.claim(root_name or "loss"), codes[id(root)])]
    outputs += [(names.claim(f"g_{params[k]}"), g) for k, g in zip(trace.positions, grads,
                                                                    strict=True)]
    user = {codes[id(v)].index: base for v in trace.order if isinstance(v, Node) and
            v is not root and v.name and (base := _safe(v.name) or _SHORT.get(v.op.name, "t"))}
    printer = _Printer(w, reading.steps, names, codes, sweep_start)
    rets = printer.write(outputs, user)
    grads_text = f"({', '.join(rets[1:])}{',' if len(rets) == 2 else ''})" if trace.many \
        else rets[1]
    wrt = ", ".join(params[k] for k in trace.positions)
    seen = ", ".join(f"{params[k]} {trace.tensors[k].shape} {trace.tensors[k].dtype}"
                     for k in sorted(trace.tensors))
    doc = textwrap.wrap(f"{trace.fname}({', '.join(params)}) and its gradient with respect to "
                        f"{wrt}, for {seen or 'these arguments'}.", width=88)
    lines = [f"def {fname}({', '.join(params)}):"]
    lines += [f'    """{doc[0]}'] + [f"    {d}" for d in doc[1:]]
    lines[-1] += '"""'
    lines += printer.lines + [f"    return {rets[0]}, {grads_text}"]
    copies = []
    firsts: set[int] = set()
    for k, g in zip(trace.positions, grads, strict=True):
        copies.append(g.kind in _VIEWS or not g.shape or g.dtype != trace.tensors[k].dtype
                      or g.index in firsts or g is codes[id(root)])
        firsts.add(g.index)
    namespace = {"np": np, "__builtins__": {"slice": slice}, **printer.namespace}
    return "\n".join(lines) + "\n", namespace, copies


def _program(trace: _Trace) -> _Program:
    source, namespace, copies = _write(trace)
    fname = source.split("(", 1)[0][4:]
    filename = f"<am.compile {fname} #{next(_COUNTER)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(builtins.compile(source, filename, "exec"), namespace)  # our own text: see _safe
    dtypes = [trace.tensors[k].dtype for k in trace.positions]
    return _Program(namespace[fname], source, trace.many, trace.root.dtype, dtypes, copies)


# ---- graphs too large to write out: the recorded tape ------------------------------------


class _Fixed:
    """A replayed node's input that gets no gradient: only its shape and dtype are read."""

    __slots__ = ("shape", "dtype", "ndim")
    requires_grad = False

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.shape, self.dtype, self.ndim = shape, dtype, len(shape)


class _Tape:
    """The recorded ops, replayed: for graphs too large to write out as source.

    Each call runs the ops' forward functions in the recorded order on the new arrays, then
    the engine's reverse sweep over a graph of the ops a gradient flows through (made once,
    holding no arrays), with a reading (`_Replay`) that hands each rule this call's arrays.
    """

    def __init__(self, trace: _Trace) -> None:
        slot: dict[int, int] = {}
        self.args: list[tuple[int, int]] = []  # (slot, argument position)
        self.consts: list[tuple[int, Any]] = []
        self.instrs: list[tuple[int, Op, tuple[int, ...], dict[str, Any],
                                tuple[tuple[int, Any], ...]]] = []
        vertex: list[Any] = []  # the sweep's graph: Nodes where a gradient flows
        zero_d: dict[int, Any] = {}  # slot of a number -> its 0-d array
        self.variables: list[Tensor] = []
        for v in trace.order:
            s = slot[id(v)] = len(vertex)
            vertex.append(_Fixed(v.shape, v.dtype))
            if not isinstance(v, Node):
                k = trace.traced.get(id(v))
                if k is not None:
                    self.args.append((s, k))
                    if k in trace.positions:
                        t = Tensor(np.broadcast_to(np.zeros((), v.dtype), v.shape),
                                   requires_grad=True)  # a stand-in: the sweep reads its shape
                        vertex[s] = t
                else:
                    data = array_of(v)
                    self.consts.append((s, data))
                    if data.ndim == 0:
                        zero_d[s] = data
                continue
            ins = tuple(slot[id(p)] for p in v.inputs)
            if any(vertex[i].requires_grad for i in ins):
                vertex[s] = Node(v.op, tuple(vertex[i] for i in ins), v.params, None, None,
                                 vertex[s])  # it reads only the output's shape and dtype
            self.instrs.append((s, v.op, ins, v.params, _numbers(v, ins, zero_d)))
        self.slot_of = {id(x): s for s, x in enumerate(vertex) if isinstance(x, Node)}
        self.n_slots = len(vertex)
        self.root = vertex[slot[id(trace.root)]]
        self.root_slot = slot[id(trace.root)]
        by_position = {k: vertex[s] for s, k in self.args}
        self.variables = [by_position[k] for k in trace.positions]
        self.many = trace.many
        self.dtypes = [trace.tensors[k].dtype for k in trace.positions]
        self.code = (f"# {trace.fname}: {trace.n_ops:,} recorded ops, more than am.compile "
                     f"writes out as source ({MAX_SOURCE_OPS:,}).\n# Each call replays the "
                     "recorded tape: the ops' forward functions, then the engine's reverse "
                     "sweep.\n")

    def run(self, arrays: list[Any]) -> tuple[Any, Any]:
        vals: list[Any] = [None] * self.n_slots
        inputs: list[Any] = [None] * self.n_slots
        for s, k in self.args:
            vals[s] = arrays[k]
        for s, value in self.consts:
            vals[s] = value
        for s, op, ins, params, numbers in self.instrs:
            xs = [vals[i] for i in ins]
            for p, value in numbers:
                xs[p] = value
            out = op.forward(*xs, **params)
            vals[s] = out if type(out) is np.ndarray else np.asarray(out)
            inputs[s] = xs
        value = vals[self.root_slot]
        found: dict[Any, Any] = {}
        if self.root.requires_grad:
            found = engine.sweep(self.root, np.ones((), dtype=value.dtype),
                                 _Replay(self.slot_of, vals, inputs))
        gs = tuple(np.array(found[t], dtype=d) if t in found else np.zeros(t.shape, d)
                   for t, d in zip(self.variables, self.dtypes, strict=True))
        return np.array(value), (gs if self.many else gs[0])


class _Replay:
    """The reverse sweep's reading for a replayed tape: the numeric rules on this call's
    arrays (what Backward does, without the checks a graph that users hold needs)."""

    def __init__(self, slot_of: dict[int, int], vals: list[Any], inputs: list[Any]) -> None:
        self.slot_of, self.vals, self.inputs = slot_of, vals, inputs

    def enter(self, node: Node, g: Any) -> Any:
        s = self.slot_of[id(node)]
        return self.inputs[s], self.vals[s]

    def rule(self, node: Node, i: int, g: Any, inputs: Any) -> Any:
        xs, out = inputs
        return node.op.vjp(i)(g, *xs, out=out, **node.params)

    def leave(self, node: Node) -> None:
        pass


def _numbers(v: Node, ins: tuple[int, ...], zero_d: dict[int, Any]) -> tuple[tuple[int, Any], ...]:
    """The operands of a recorded op that were numbers, as NumPy saw them when recording: a
    Python number is weak (float32 · 0.5 stays float32), a 0-d array is not."""
    out = []
    for p, s in enumerate(ins):
        if s not in zero_d:
            continue
        if v.saved is not None:
            out.append((p, v.saved[p]))
            continue
        others = [q.dtype for q, i in zip(v.inputs, ins, strict=True) if i not in zero_d]
        weak = not others or np.result_type(*others) == v.dtype
        out.append((p, zero_d[s].item() if weak else zero_d[s]))
    return tuple(out)


# ---- the public functions ---------------------------------------------------------------


class Compiled:
    """What am.compile returns: call it as am.value_and_grad(f, argnums) would be called.

    `code` is the source written for the signature of the last call (None before the first).
    """

    def __init__(self, f: Callable[..., Any], argnums: Argnums, check: bool) -> None:
        self.f = f
        self.argnums = argnums
        self.check = check
        self.code: str | None = None
        self.__name__ = getattr(f, "__name__", "f")
        self.__doc__ = getattr(f, "__doc__", None)
        self._programs: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<am.compile of {self.__name__}: {len(self._programs)} signature(s)>"

    def __call__(self, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        if MODE.transforms or any(is_tensor(a) for a in (*args, *kwargs.values())):
            # inside another transform, or given Tensors: the graph must stay attached
            return value_and_grad(self.f, self.argnums)(*args, **kwargs)
        positions, _ = _positions(self.argnums, len(args), "compile")
        keys, arrays = [], []
        for k, a in enumerate(args):
            key, _, arr = _classify(a, k in positions)
            keys.append(key)
            arrays.append(arr)
        if kwargs:
            keys.append(tuple(sorted((k, _classify(v, False)[0]) for k, v in kwargs.items())))
        key = tuple(keys)
        program = self._programs.get(key)
        if program is not None:
            try:
                self._programs.move_to_end(key)  # least recently used goes first
            except KeyError:  # another thread just dropped it: it still runs
                pass
        else:
            with self._lock:
                program = self._programs.get(key)
                if program is None:
                    program = _build(self.f, args, kwargs, self.argnums)
                    self._programs[key] = program
                    while len(self._programs) > MAX_SIGNATURES:
                        self._programs.popitem(last=False)
        self.code = program.code
        result = program.run(arrays)
        if self.check:
            self._compare(result, args, kwargs)
        return result  # type: ignore[no-any-return]

    def _compare(self, result: tuple[Any, Any], args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> None:
        value, grads = value_and_grad(self.f, self.argnums)(*args, **kwargs)
        positions, many = _positions(self.argnums, len(args), "compile")
        names = _param_names(self.f, len(args))
        got = [result[0], *(result[1] if many else (result[1],))]
        want = [value, *(grads if many else (grads,))]
        what = ["the value"] + [f"the gradient for {names[k]}" for k in positions]
        for w_, a, b in zip(what, got, want, strict=True):
            diff = _difference(a, b)
            if diff is not None:
                raise CompileCheckError(
                    f"am.compile(check=True): for these arguments the compiled code of "
                    f"{self.__name__} gives {w_} {diff}. The code was written when the first "
                    "call with these shapes and dtypes ran the function, and it follows the "
                    "branches that call took: the function reads values (an if or while on a "
                    "tensor, float(t), t.item(), a comparison used as a mask), and these "
                    "arguments go another way. Write the branch with am.where, am.maximum or "
                    "clip, pass the value that decides it as a Python number (each new number "
                    "is traced again), or call the function without compiling it.")


def _difference(a: Any, b: Any) -> str | None:
    """None if a (compiled) and b (eager) agree to about √ε of their scale, else how not."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return f"of shape {a.shape}, but running it gives shape {b.shape}"
    kind = b.dtype if b.dtype.kind == "f" else np.dtype(np.float64)
    tol = float(np.sqrt(np.finfo(kind).eps))
    scale = max(float(np.max(np.abs(b), initial=0.0, where=np.isfinite(b))),
                float(np.max(np.abs(a), initial=0.0, where=np.isfinite(a))), 1e-300)
    with np.errstate(all="ignore"):
        bad = ~(np.isclose(a, b, rtol=tol, atol=tol * scale, equal_nan=True))
    if not bad.any():
        return None
    worst = float(np.max(np.abs(np.where(bad, a - b, 0)), initial=0.0))
    return (f"that differs from running it by up to {worst:.3g} (scale {scale:.3g})"
            if np.isfinite(worst) else "with values that are not finite where running it "
            "gives finite ones (or the other way round)")


def _build(f: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
           argnums: Argnums) -> Any:
    trace = _Trace(f, args, kwargs, argnums, "compile")
    with gc_paused():  # many small objects, none in cycles: collections would only rescan
        return _Tape(trace) if trace.n_ops > MAX_SOURCE_OPS else _program(trace)


def compile(f: Callable[..., Any], argnums: Argnums = 0, check: bool = False) -> Compiled:
    """Return `cf`, called as am.value_and_grad(f, argnums): cf(*args) -> (value, gradient).

    The first call for each combination of argument shapes and dtypes runs f once on Tensors
    and writes its value and gradient as one plain NumPy function (`cf.code`); later calls with
    the same shapes and dtypes run only that function. Float arrays are the function's inputs;
    other arguments (numbers, integer arrays, ...) are constants of the code, compared by
    value. Control flow that reads values is fixed by the first call: `check=True` runs f
    eagerly beside every call and raises CompileCheckError if they differ. Graphs of more than
    MAX_SOURCE_OPS ops run as a replayed tape instead. See docs/compile.md.
    """
    if not callable(f):
        raise TypeError(f"am.compile: f must be a function, got {type(f).__name__}")
    _positions(argnums, max(_max_position(argnums) + 1, 1), "compile")  # a clear error now
    return Compiled(f, argnums, bool(check))


def _max_position(argnums: Argnums) -> int:
    nums = [argnums] if isinstance(argnums, (int, np.integer)) else list(argnums)
    return max((int(k) if k >= 0 else -int(k) - 1 for k in nums
                if isinstance(k, (int, np.integer))), default=0)


def gradient_code(f: Callable[..., Any], *args: Any, argnums: Argnums = 0) -> str:
    """The NumPy source am.compile(f, argnums) writes for these arguments (without keeping a
    compiled function): the forward pass, then ∂/∂args[argnums] one chain-rule step at a time."""
    trace = _Trace(f, args, {}, argnums, "gradient_code")
    if trace.n_ops > MAX_SOURCE_OPS:
        raise ValueError(f"gradient_code: the graph of {trace.fname} has {trace.n_ops:,} ops, "
                         f"more than am.compile writes out as source ({MAX_SOURCE_OPS:,}); "
                         "am.compile runs such graphs as a replayed tape instead. Trace a "
                         "smaller version of the function (fewer steps or layers) to read its "
                         "code.")
    with gc_paused():
        return _write(trace)[0]
