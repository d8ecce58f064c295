"""The expression nodes, and constructors that simplify as they build: numbers and sizes (the N
of a mean) become one coefficient, pulled out of matrix products; equal factors become powers,
equal terms add up, x¹ is x and (xᵀ)ᵀ is x. Every node keeps its true NumPy shape: where a
simplification drops something that carried shape, an `Expand` puts it back."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ..ops import OPS
from ..shapes import keepdims_shape, normalize_axis, reduced_axes

Shape = tuple[int, ...]


class Expr:
    """Base of all expression nodes; the operators build simplified expressions."""

    shape: Shape

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @staticmethod
    def apply_op(name: str, *args: Any, **params: Any) -> Expr:
        """op `name` of the table applied to expressions (what ops.call does with them)."""
        return apply(name, tuple(lift(a) for a in args), params)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """np.exp(e), np.abs(e), ndarray * e: the op whose forward is that ufunc, applied to
        expressions, so a rule written in plain NumPy (am.defop) explains too; a comparison
        (np.equal(x, m)) is the 0/1 mask it makes."""
        if method != "__call__" or kwargs:
            return NotImplemented
        args = tuple(lift(x) for x in inputs)
        if ufunc in _COMPARISONS:
            return compare(_COMPARISONS[ufunc], *args)
        for op in OPS.values():
            if op.forward is ufunc:
                return ALGEBRA[op.name](*args) if op.name in ALGEBRA else apply(op.name, args, {})
        return NotImplemented

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        """np.broadcast_to(e, shape), as the reductions' rules put back the reduced axes."""
        if func is not np.broadcast_to or kwargs.get("subok"):
            return NotImplemented
        shape = kwargs["shape"] if "shape" in kwargs else args[1]
        return expand(lift(args[0]), tuple(shape), ())

    # The operators build simplified expressions. Comparisons build 0/1 masks, and & | ~ combine
    # masks (np.equal(a, b) is the mask [a = b], as `==` stays equality of expressions).
    __neg__ = lambda self: mul(Const(Fraction(-1)), self)
    __add__ = lambda self, other: add(self, lift(other))
    __radd__ = lambda self, other: add(lift(other), self)
    __sub__ = lambda self, other: add(self, -lift(other))
    __rsub__ = lambda self, other: add(lift(other), -self)
    __mul__ = lambda self, other: mul(self, lift(other))
    __rmul__ = lambda self, other: mul(lift(other), self)
    __truediv__ = lambda self, other: mul(self, power(lift(other), Fraction(-1)))
    __rtruediv__ = lambda self, other: mul(lift(other), power(self, Fraction(-1)))
    __pow__ = lambda self, p: power(self, p if isinstance(p, Expr) else number(p))
    __rpow__ = lambda self, base: power(lift(base), self)
    __matmul__ = lambda self, other: matmul(self, lift(other))
    __rmatmul__ = lambda self, other: matmul(lift(other), self)
    __gt__ = lambda self, other: compare(">", self, lift(other))
    __lt__ = lambda self, other: compare("<", self, lift(other))
    __ge__ = lambda self, other: compare("≥", self, lift(other))
    __le__ = lambda self, other: compare("≤", self, lift(other))
    __and__ = __rand__ = lambda self, other: mul(self, lift(other))
    __or__ = __ror__ = lambda self, other: add(self, lift(other)) - mul(self, lift(other))
    __invert__ = lambda self: 1 - self

    # Expressions stand for float64 values (evaluate computes in float64), so a rule that casts
    # a mask to the gradient's dtype leaves the expression as it is.
    dtype = np.dtype(np.float64)
    astype = lambda self, dtype, copy=True: self

    @property
    def T(self) -> Expr:
        """All axes reversed, as NumPy's and Tensor's .T (a vector stays as it is)."""
        return transpose(self, tuple(range(self.ndim))[::-1])

    def transpose(self, *axes: int) -> Expr:
        return transpose(self, tuple(axes) if axes else tuple(range(self.ndim))[::-1])

    def sum(self, axis: Any = None, keepdims: bool = False) -> Expr:
        axes = normalize_axis(axis, self.ndim)
        shape = keepdims_shape(self.shape, axes) if keepdims else tuple(
            n for i, n in enumerate(self.shape) if i not in axes)
        return reduce_sum(self, axes, shape)

    def sum_to(self, shape: Shape) -> Expr:
        """Undo broadcasting, as the engine does after every rule: Σ over the stretched axes."""
        if self.shape == shape or len(self.shape) < len(shape):
            return expand(self, shape, ())
        return reduce_sum(self, reduced_axes(self.shape, shape), shape)

    def count(self, axis: Any) -> Expr:
        """The number of elements a reduction over `axis` combines: the N of a mean."""
        axes = normalize_axis(axis, self.ndim)
        n = int(np.prod([self.shape[a] for a in axes], dtype=np.int64))
        return Size(n) if n != 1 else Const(Fraction(1))

    def reshape(self, *shape: Any) -> Expr:
        """A reshape; one that only inserts length-1 axes is an expansion (x[:, None])."""
        new = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], tuple) else shape
        if -1 in new:
            known = int(np.prod([n for n in new if n != -1], dtype=np.int64))
            new = tuple(int(np.prod(self.shape, dtype=np.int64)) // known if n == -1 else n
                        for n in new)
        axes = _inserted(self.shape, new)
        if axes is not None:
            return expand(self, new, axes)
        return _vector_product(self, new) or apply("reshape", (self,), {"shape": new})

    __getitem__ = lambda self, index: apply("getitem", (self,), {"index": index})


@dataclass(frozen=True)
class Sym(Expr):
    """A named tensor (the user's name, or ḡ for the upstream gradient)."""

    name: str
    shape: Shape


@dataclass(frozen=True)
class Const(Expr):
    """A scalar number, kept exact so ½ · 2 is 1."""

    value: Fraction
    shape: Shape = ()


@dataclass(frozen=True)
class Size(Expr):
    """A count of elements (N); printed by a letter, its value listed beside the formula."""

    value: int
    shape: Shape = ()


@dataclass(frozen=True, eq=False)
class Array(Expr):
    """A constant array without a name (a mask or an unnamed constant), shown by its label."""

    label: str
    data: np.ndarray
    shape: Shape


@dataclass(frozen=True)
class Add(Expr):
    terms: tuple[Expr, ...]
    shape: Shape


@dataclass(frozen=True)
class Mul(Expr):
    """coef · f₁ ⊙ f₂ ⊙ …: an exact number times element-wise factors (sizes among them)."""

    coef: Fraction
    factors: tuple[Expr, ...]
    shape: Shape


@dataclass(frozen=True)
class Pow(Expr):
    base: Expr
    exponent: Fraction | Expr
    shape: Shape


@dataclass(frozen=True)
class MatMul(Expr):
    a: Expr
    b: Expr
    shape: Shape


@dataclass(frozen=True)
class Transpose(Expr):
    x: Expr
    axes: tuple[int, ...]
    shape: Shape


@dataclass(frozen=True)
class Sum(Expr):
    """Σ over `axes` of x, giving `shape` (axes removed or kept as 1, whichever `shape` says)."""

    x: Expr
    axes: tuple[int, ...]
    shape: Shape


@dataclass(frozen=True)
class Expand(Expr):
    """x with new axes inserted at `axes`, broadcast to `shape` (the adjoint of a reduction)."""

    x: Expr
    shape: Shape
    axes: tuple[int, ...] = ()


@dataclass(frozen=True)
class Compare(Expr):
    """The 0/1 mask [a op b]."""

    op: str
    a: Expr
    b: Expr
    shape: Shape


@dataclass(frozen=True, eq=False)
class Apply(Expr):
    """Any op of the table applied to expressions: printed by its `expr`, run by its forward."""

    op: str
    args: tuple[Expr, ...]
    params: dict[str, Any] = field(hash=False)
    shape: Shape = ()


# ---- building, with the simplifications ---------------------------------------------------


def number(x: Any) -> Fraction:
    """An exact Fraction for a Python or NumPy number (0.5 becomes ½, 0.1 becomes 1/10)."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, (int, np.integer)):
        return Fraction(int(x))
    return Fraction(repr(float(x)))


def lift(x: Any) -> Expr:
    """Expressions stay; numbers become Const; arrays become an unnamed constant."""
    if isinstance(x, Expr):
        return x
    if isinstance(x, np.ndarray) and x.ndim > 0:
        return Array("c", x, x.shape)
    if not np.isfinite(x):
        return Array(str(x), np.asarray(x), ())
    return Const(number(x))


def _bshape(*xs: Expr) -> Shape:
    return tuple(np.broadcast_shapes(*(x.shape for x in xs)))


def _with_shape(e: Expr, shape: Shape) -> Expr:
    """e broadcast to `shape` if a simplification made it smaller."""
    return e if e.shape == shape else expand(e, shape, ())


def split(e: Expr) -> tuple[Fraction, tuple[Expr, ...]]:
    """e as coefficient × factors: 2/N · x gives (2, (N⁻¹, x)); broadcasts are looked through,
    since the product's shape is restored by whoever multiplies."""
    if isinstance(e, Mul):
        coef, factors = e.coef, list[Expr]()
        for f in e.factors:
            c, fs = split(f)
            coef *= c
            factors.extend(fs)
        return coef, tuple(factors)
    if isinstance(e, Const):
        return e.value, ()
    if isinstance(e, Expand) and not e.axes:
        return split(e.x)
    return Fraction(1), (e,)


def compare(op: str, a: Expr, b: Expr) -> Expr:
    """The mask [a op b]; an expression compared with itself is all ones or all zeros."""
    shape = _bshape(a, b)
    if a == b:
        return expand(Const(Fraction(int(op in "=≤≥"))), shape, ())
    return Compare(op, a, b, shape)


_COMPARISONS = {np.equal: "=", np.not_equal: "≠", np.greater: ">", np.less: "<",
                np.greater_equal: "≥", np.less_equal: "≤"}


def _inserted(old: Shape, new: Shape) -> tuple[int, ...] | None:
    """The axes of `new` that are length-1 axes inserted into `old`, or None if new is not old
    with such axes inserted."""
    axes, j = [], 0
    for i, n in enumerate(new):
        if j < len(old) and old[j] == n:
            j += 1
        elif n == 1:
            axes.append(i)
        else:
            return None
    return tuple(axes) if j == len(old) else None


def power_of(f: Expr) -> tuple[Expr, Fraction | Expr]:
    return (f.base, f.exponent) if isinstance(f, Pow) else (f, Fraction(1))


def mul(*xs: Expr) -> Expr:
    """Element-wise product: one coefficient in front, equal bases merged into powers."""
    shape = _bshape(*xs)
    coef = Fraction(1)
    bases: list[Expr] = []
    exps: list[Any] = []
    for x in xs:
        c, fs = split(x)
        coef *= c
        for f in fs:
            base, p = power_of(f)
            if base in bases and isinstance(p, Fraction):
                k = bases.index(base)
                if isinstance(exps[k], Fraction):
                    exps[k] += p
                    continue
            bases.append(base)
            exps.append(p)
    if coef == 0:
        return expand(Const(Fraction(0)), shape, ())
    factors = tuple(power(b, p) for b, p in zip(bases, exps, strict=True)
                    if not (isinstance(p, Fraction) and p == 0))
    factors = tuple(f for f in factors if not (isinstance(f, Const) and f.value == 1))
    if not factors:
        return _with_shape(Const(coef), shape)
    if coef == 1 and len(factors) == 1:
        return _with_shape(factors[0], shape)
    return _with_shape(Mul(coef, factors, _bshape(*factors)), shape)


def add(*xs: Expr) -> Expr:
    """Sum of terms in the order written; equal terms (up to a coefficient) are combined."""
    shape = _bshape(*xs)
    rests: list[tuple[Expr, ...]] = []
    coefs: list[Fraction] = []
    for x in xs:
        c, fs = split(x)
        if len(fs) == 1 and isinstance(fs[0], Add) and abs(c) == 1:  # ±(a + b) is ±a ± b
            x = fs[0] if c == 1 else Add(tuple(-t for t in fs[0].terms), fs[0].shape)
        for t in (x.terms if isinstance(x, Add) else (x,)):
            c, fs = split(t)
            if fs in rests:
                coefs[rests.index(fs)] += c
            else:
                rests.append(fs)
                coefs.append(c)
    kept = [(c, fs) for c, fs in zip(coefs, rests, strict=True) if c != 0]
    if not kept:
        return expand(Const(Fraction(0)), shape, ())
    if len(kept) > 1:
        factored = _factor_scalars(kept)
        if factored is not None:
            return _with_shape(factored, shape)
    kept.sort(key=lambda t: t[0] < 0)  # x − y, not −y + x: positive terms first, stable
    terms = tuple(mul(Const(c), *fs) for c, fs in kept)
    if len(terms) == 1:
        return _with_shape(terms[0], shape)
    return _with_shape(Add(terms, _bshape(*terms)), shape)


def _factor_scalars(kept: list[tuple[Fraction, tuple[Expr, ...]]]) -> Expr | None:
    """c·s·a + c·s·b as c·s·(a + b), for a coefficient c and scalar factors s (like 1/N) that
    every term shares: 1/N · (σ(z) − y) reads better than −1/N·y + 1/N·σ(z). None if none."""
    common = [f for f in kept[0][1] if f.shape == () and all(f in fs for _, fs in kept[1:])]
    size = abs(kept[0][0])
    coef = size if all(abs(c) == size for c, _ in kept) else Fraction(1)
    if not common and coef == 1:
        return None
    rest = [(c / coef, tuple(f for f in fs if f not in common)) for c, fs in kept]
    inner = add(*(mul(Const(c), *fs) for c, fs in rest))
    return mul(Const(coef), *common, inner)


def power(x: Expr, p: Fraction | Expr) -> Expr:
    """x**p: x¹ is x, x⁰ is 1, (xᵃ)ᵇ is xᵃᵇ for whole a and b, (c·x)ᵖ is cᵖ·xᵖ."""
    if isinstance(p, Expr):
        return Pow(x, p, _bshape(x, p))
    if p == 1:
        return x
    if p == 0:
        return expand(Const(Fraction(1)), x.shape, ())
    if isinstance(x, Const) and (p.denominator == 1 and (x.value != 0 or p > 0)):
        return Const(x.value ** int(p))
    if isinstance(x, Pow) and isinstance(x.exponent, Fraction) and \
            x.exponent.denominator == 1 and p.denominator == 1:
        return power(x.base, x.exponent * p)
    if isinstance(x, Mul) and p.denominator == 1 and x.coef != 0:
        return mul(Const(x.coef ** int(p)), *(power(f, p) for f in x.factors))
    if isinstance(x, Expand) and not x.axes:
        return _with_shape(power(x.x, p), x.shape)
    return Pow(x, p, x.shape)


def _matmul_shape(a: Shape, b: Shape) -> Shape:
    a2 = (1,) + a if len(a) == 1 else a
    b2 = b + (1,) if len(b) == 1 else b
    shape = tuple(np.broadcast_shapes(a2[:-2], b2[:-2])) + (a2[-2], b2[-1])
    if len(b) == 1:
        shape = shape[:-1]
    if len(a) == 1:
        shape = shape[:-2] + shape[-1:]
    return shape


def _scalars_out(x: Expr) -> tuple[Fraction, tuple[Expr, ...], Expr]:
    """Split x into (number, scalar factors, the rest): scalars commute with matrix products."""
    if isinstance(x, Expand) and x.x.shape == ():
        c, fs = split(x.x)
        return c, fs, Expand(Const(Fraction(1)), x.shape, x.axes)
    c, fs = split(x)
    scalars = tuple(f for f in fs if f.shape == ())
    rest = tuple(f for f in fs if f.shape != ())
    if not rest:
        return c, scalars, expand(Const(Fraction(1)), x.shape, ())
    body = rest[0] if len(rest) == 1 else Mul(Fraction(1), rest, _bshape(*rest))
    return c, scalars, _with_shape(body, x.shape)


def matmul(a: Expr, b: Expr) -> Expr:
    """a · b with every number and size pulled out in front: Xᵀ·(2/N·r) is 2/N · Xᵀ·r."""
    if a.ndim == 0 or b.ndim == 0:
        return mul(a, b)
    ca, sa, ra = _scalars_out(a)
    cb, sb, rb = _scalars_out(b)
    product = MatMul(ra, rb, _matmul_shape(a.shape, b.shape))
    return mul(Const(ca * cb), *sa, *sb, product)


def _vector_product(x: Expr, shape: Shape) -> Expr | None:
    """A matrix product with a vector as its column (or row), reshaped to drop that axis: the
    product with the vector itself, as NumPy writes it (Xᵀ·ḡ, not reshape(Xᵀ·ḡ[:, None]))."""
    c, scalars, rest = _scalars_out(x)
    if not isinstance(rest, MatMul) or rest.a.ndim < 2 or rest.b.ndim < 2:
        return None
    a, b = rest.a, rest.b
    if (shape == rest.shape[:-1] and isinstance(b, Expand) and b.x.ndim == 1
            and b.shape == b.x.shape + (1,)):
        b = b.x
    elif (shape == rest.shape[:-2] + rest.shape[-1:] and isinstance(a, Expand) and a.x.ndim == 1
          and a.shape == (1,) + a.x.shape):
        a = a.x
    else:
        return None
    return mul(Const(c), *scalars, MatMul(a, b, shape))


def transpose(x: Expr, axes: tuple[int, ...]) -> Expr:
    """Permute axes; two transposes compose, the identity disappears, numbers stay outside."""
    axes = tuple(int(a) % max(x.ndim, 1) for a in axes)
    if isinstance(x, Transpose):
        return transpose(x.x, tuple(x.axes[a] for a in axes))
    if axes == tuple(range(x.ndim)):
        return x
    c, scalars, rest = _scalars_out(x)
    if c != 1 or scalars:
        return mul(Const(c), *scalars, transpose(rest, axes))
    return Transpose(x, axes, tuple(x.shape[a] for a in axes))


def reduce_sum(x: Expr, axes: tuple[int, ...], shape: Shape) -> Expr:
    """Σ over `axes`; numbers and sizes stay outside the Σ."""
    if not axes:
        return x.reshape(shape) if x.shape != shape else x
    c, scalars, rest = _scalars_out(x)
    if c != 1 or scalars:
        return mul(Const(c), *scalars, reduce_sum(rest, axes, shape))
    return Sum(x, axes, shape)


def expand(x: Expr, shape: Shape, axes: tuple[int, ...]) -> Expr:
    """Insert `axes` into x and broadcast to `shape` (nothing to do if x has the shape); numbers
    and sizes stay outside, and an expansion of an expansion is one."""
    if axes == tuple(range(len(axes))) or x.shape == ():
        axes = ()  # new leading axes (or a scalar): NumPy's broadcasting does it by itself
    if x.shape == shape and not axes:
        return x
    if isinstance(x, Expand) and (not axes or x.x.shape == ()):
        axes = () if axes else x.axes  # a broadcast scalar needs no inserted axes
        x = x.x
    elif axes:
        c, scalars, rest = _scalars_out(x)
        if c != 1 or scalars:
            return mul(Const(c), *scalars, expand(rest, shape, axes))
    return Expand(x, shape, axes)


def apply(op: str, args: tuple[Expr, ...], params: dict[str, Any],
          shape: Shape | None = None) -> Expr:
    """A table op applied to expressions; its shape found by running it on zeros if unknown."""
    if shape is None:
        with np.errstate(all="ignore"):
            shape = np.shape(OPS[op].forward(*(np.zeros(a.shape) for a in args), **params))
    return Apply(op, args, params, tuple(shape))


# The ops the algebra writes with its own operators (so they simplify and print as math);
# every other op is an `Apply`, printed from its `expr` and evaluated by its forward.
ALGEBRA: dict[str, Any] = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
    "neg": operator.neg, "power": operator.pow, "matmul": operator.matmul,
    "pow": lambda x, p: x ** p, "transpose": lambda x, axes: transpose(x, axes),
    "sum": lambda x, axis, keepdims: x.sum(axis, keepdims),
    # A cast to float64 is the identity on expressions, which evaluate in float64.
    "astype": lambda x, dtype: x if np.dtype(dtype) == x.dtype else apply(
        "astype", (x,), {"dtype": dtype}),
}


def forward(op: str, args: tuple[Expr, ...], params: dict[str, Any], shape: Shape) -> Expr:
    """The expression for op(*args): the algebra's own form if it has one, else an Apply."""
    if op in ALGEBRA:
        return _with_shape(ALGEBRA[op](*args, **params), shape)
    return apply(op, args, params, shape)

