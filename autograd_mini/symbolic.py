"""Gradient expressions: a small tree of named tensors, sums and products, kept tidy as it is
built, printed in Unicode, ASCII or LaTeX, and evaluated back into numbers with NumPy.

The explainer builds these trees by running each op's symbolic VJP (`Op.formulas`) on them.
Those formulas are written with the same operator interface as the numeric rules (`+ - * /
** @`, `.T`, `.sum(axis, keepdims)`, `.reshape`), so `g @ b.T` reads the same in both.

Simplification is deliberately small, just enough for the textbook forms: numbers and sizes
(the N of a mean) are collected into one coefficient and pulled out of matrix products, equal
factors become powers, equal terms add up, x¹ is x and (xᵀ)ᵀ is x. Every expression keeps
its true NumPy shape; when a simplification drops something that carried shape, an `Expand`
puts it back, so evaluating an expression always gives the array the engine computes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from .ops import OPS
from .shapes import keepdims_shape, normalize_axis, reduced_axes

Shape = tuple[int, ...]
Number = Fraction


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

    def __add__(self, other: Any) -> Expr:
        return add(self, lift(other))

    def __radd__(self, other: Any) -> Expr:
        return add(lift(other), self)

    def __sub__(self, other: Any) -> Expr:
        return add(self, scale(lift(other), Fraction(-1)))

    def __rsub__(self, other: Any) -> Expr:
        return add(lift(other), scale(self, Fraction(-1)))

    def __mul__(self, other: Any) -> Expr:
        return mul(self, lift(other))

    def __rmul__(self, other: Any) -> Expr:
        return mul(lift(other), self)

    def __truediv__(self, other: Any) -> Expr:
        return mul(self, power(lift(other), Fraction(-1)))

    def __rtruediv__(self, other: Any) -> Expr:
        return mul(lift(other), power(self, Fraction(-1)))

    def __neg__(self) -> Expr:
        return scale(self, Fraction(-1))

    def __pow__(self, p: Any) -> Expr:
        return power(self, p if isinstance(p, Expr) else number(p))

    def __rpow__(self, base: Any) -> Expr:
        return power(lift(base), self)

    def __matmul__(self, other: Any) -> Expr:
        return matmul(self, lift(other))

    def __rmatmul__(self, other: Any) -> Expr:
        return matmul(lift(other), self)

    # Comparisons build 0/1 masks: formulas write [x > 0] as `x > 0`.
    def __gt__(self, other: Any) -> Expr:
        return Compare(">", self, lift(other), _bshape(self, lift(other)))

    def __lt__(self, other: Any) -> Expr:
        return Compare("<", self, lift(other), _bshape(self, lift(other)))

    def __ge__(self, other: Any) -> Expr:
        return Compare("≥", self, lift(other), _bshape(self, lift(other)))

    def __le__(self, other: Any) -> Expr:
        return Compare("≤", self, lift(other), _bshape(self, lift(other)))

    def eq(self, other: Any) -> Expr:
        """The mask [self = other] (`==` stays structural equality of expressions)."""
        return Compare("=", self, lift(other), _bshape(self, lift(other)))

    @property
    def T(self) -> Expr:
        """The matrix transpose: swap the last two axes (a vector stays as it is)."""
        if self.ndim < 2:
            return self
        n = self.ndim
        return transpose(self, tuple(range(n - 2)) + (n - 1, n - 2))

    def transpose(self, *axes: int) -> Expr:
        return transpose(self, tuple(axes) if axes else tuple(range(self.ndim))[::-1])

    def sum(self, axis: Any = None, keepdims: bool = False) -> Expr:
        axes = normalize_axis(axis, self.ndim)
        shape = keepdims_shape(self.shape, axes) if keepdims else tuple(
            n for i, n in enumerate(self.shape) if i not in axes)
        return reduce_sum(self, axes, shape)

    def sum_to(self, shape: Shape) -> Expr:
        """Undo broadcasting, as the engine does after every rule: Σ over the stretched axes."""
        if self.shape == shape:
            return self
        if len(self.shape) < len(shape):
            return expand(self, shape, ())
        return reduce_sum(self, reduced_axes(self.shape, shape), shape)

    def expand(self, shape: Shape, axis: Any, keepdims: bool) -> Expr:
        """Put back the axes a reduction removed, then broadcast to `shape`."""
        axes = () if keepdims else normalize_axis(axis, len(shape))
        return expand(self, shape, axes)

    def count(self, axis: Any) -> Expr:
        """The number of elements a reduction over `axis` combines: the N of a mean."""
        axes = normalize_axis(axis, self.ndim)
        n = int(np.prod([self.shape[a] for a in axes], dtype=np.int64))
        return Size(n) if n != 1 else Const(Fraction(1))

    def outer(self, other: Any) -> Expr:
        """u·vᵀ for vectors (batched over leading axes); a plain product if one is a scalar."""
        other = lift(other)
        if self.ndim == 0 or other.ndim == 0:
            return mul(self, other)
        shape = np.broadcast_shapes(self.shape[:-1], other.shape[:-1]) + (
            self.shape[-1], other.shape[-1])
        return Outer(self, other, shape)

    def reshape(self, *shape: Any) -> Expr:
        new = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], tuple) else shape
        return apply("reshape", (self,), {"shape": tuple(new)})

    def sign(self) -> Expr:
        return Sign(self, self.shape)

    def exp(self) -> Expr:
        return apply("exp", (self,), {})

    def log(self) -> Expr:
        return apply("log", (self,), {})

    def scatter(self, index: Any, shape: Shape) -> Expr:
        return apply("scatter", (self,), {"index": index, "shape": shape})

    def __getitem__(self, index: Any) -> Expr:
        return apply("getitem", (self,), {"index": index})


# ---- the nodes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sym(Expr):
    """A named tensor (the user's name, or ḡ for the upstream gradient)."""

    name: str
    shape: Shape


@dataclass(frozen=True)
class Const(Expr):
    """A scalar number, kept exact so ½ · 2 is 1."""

    value: Number
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

    coef: Number
    factors: tuple[Expr, ...]
    shape: Shape


@dataclass(frozen=True)
class Pow(Expr):
    base: Expr
    exponent: Number | Expr
    shape: Shape


@dataclass(frozen=True)
class MatMul(Expr):
    a: Expr
    b: Expr
    shape: Shape


@dataclass(frozen=True)
class Outer(Expr):
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


@dataclass(frozen=True)
class Sign(Expr):
    x: Expr
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


def _split(e: Expr) -> tuple[Fraction, tuple[Expr, ...]]:
    """e as coefficient × factors: 2/N · x gives (2, (N⁻¹, x)); broadcasts are looked through,
    since the product's shape is restored by whoever multiplies."""
    if isinstance(e, Mul):
        coef, factors = e.coef, list[Expr]()
        for f in e.factors:
            c, fs = _split(f)
            coef *= c
            factors.extend(fs)
        return coef, tuple(factors)
    if isinstance(e, Const):
        return e.value, ()
    if isinstance(e, Expand) and not e.axes:
        return _split(e.x)
    return Fraction(1), (e,)


def _power_of(f: Expr) -> tuple[Expr, Number | Expr]:
    return (f.base, f.exponent) if isinstance(f, Pow) else (f, Fraction(1))


def mul(*xs: Expr) -> Expr:
    """Element-wise product: one coefficient in front, equal bases merged into powers."""
    shape = _bshape(*xs)
    coef = Fraction(1)
    bases: list[Expr] = []
    exps: list[Any] = []
    for x in xs:
        c, fs = _split(x)
        coef *= c
        for f in fs:
            base, p = _power_of(f)
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


def scale(x: Expr, c: Fraction) -> Expr:
    return mul(Const(c), x)


def add(*xs: Expr) -> Expr:
    """Sum of terms in the order written; equal terms (up to a coefficient) are combined."""
    shape = _bshape(*xs)
    rests: list[tuple[Expr, ...]] = []
    coefs: list[Fraction] = []
    for x in xs:
        for t in (x.terms if isinstance(x, Add) else (x,)):
            c, fs = _split(t)
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


def power(x: Expr, p: Number | Expr) -> Expr:
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
        c, fs = _split(x.x)
        return c, fs, Expand(Const(Fraction(1)), x.shape, x.axes)
    c, fs = _split(x)
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
    """Insert `axes` into x and broadcast to `shape` (nothing to do if x has the shape)."""
    if axes == tuple(range(len(axes))) or x.shape == ():
        axes = ()  # new leading axes (or a scalar): NumPy's broadcasting does it by itself
    if x.shape == shape and not axes:
        return x
    if isinstance(x, Expand) and not axes and not x.axes:
        x = x.x
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
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "neg": lambda x: -x,
    "pow": lambda x, p: x ** p,
    "power": lambda a, b: a ** b,
    "matmul": lambda a, b: a @ b,
    "transpose": lambda x, axes: transpose(x, axes),
    "sum": lambda x, axis, keepdims: x.sum(axis, keepdims),
}


def forward(op: str, args: tuple[Expr, ...], params: dict[str, Any], shape: Shape) -> Expr:
    """The expression for op(*args): the algebra's own form if it has one, else an Apply."""
    if op in ALGEBRA:
        return _with_shape(ALGEBRA[op](*args, **params), shape)
    return apply(op, args, params, shape)


# ---- evaluation ---------------------------------------------------------------------------


def evaluate(e: Expr, env: dict[str, np.ndarray]) -> np.ndarray:
    """The value of e with NumPy, names looked up in `env`; shared subtrees computed once."""
    memo: dict[int, np.ndarray] = {}

    def ev(x: Expr) -> np.ndarray:
        key = id(x)
        if key not in memo:
            memo[key] = np.asarray(_eval(x, ev, env))
        return memo[key]

    with np.errstate(divide="ignore", invalid="ignore"):
        return np.broadcast_to(ev(e), e.shape)


def _eval(x: Expr, ev: Any, env: dict[str, np.ndarray]) -> Any:
    if isinstance(x, Sym):
        return env[x.name]
    if isinstance(x, Const):
        return float(x.value)
    if isinstance(x, Size):
        return float(x.value)
    if isinstance(x, Array):
        return x.data.astype(np.float64) if x.data.dtype == bool else x.data
    if isinstance(x, Add):
        out = ev(x.terms[0])
        for t in x.terms[1:]:
            out = out + ev(t)
        return out
    if isinstance(x, Mul):
        out = float(x.coef)
        for f in x.factors:
            out = out * ev(f)
        return out
    if isinstance(x, Pow):
        p = ev(x.exponent) if isinstance(x.exponent, Expr) else float(x.exponent)
        return np.power(ev(x.base), p)
    if isinstance(x, MatMul):
        return ev(x.a) @ ev(x.b)
    if isinstance(x, Outer):
        return ev(x.a)[..., :, None] * ev(x.b)[..., None, :]
    if isinstance(x, Transpose):
        return np.transpose(ev(x.x), x.axes)
    if isinstance(x, Sum):
        return np.sum(ev(x.x), axis=x.axes, keepdims=True).reshape(x.shape)
    if isinstance(x, Expand):
        v = ev(x.x)
        if x.axes:
            v = np.reshape(v, keepdims_shape(x.shape, x.axes))
        return np.broadcast_to(v, x.shape)
    if isinstance(x, Compare):
        a, b = ev(x.a), ev(x.b)
        hit = {">": a > b, "<": a < b, "≥": a >= b, "≤": a <= b, "=": a == b}[x.op]
        return hit.astype(np.float64)
    if isinstance(x, Sign):
        return np.sign(ev(x.x))
    if isinstance(x, Apply):
        return OPS[x.op].forward(*(ev(a) for a in x.args), **x.params)
    raise TypeError(f"cannot evaluate {type(x).__name__}")


# ---- printing -----------------------------------------------------------------------------

ADD, MUL, POW, ATOM = 1, 2, 4, 6
SIZE_LETTERS = "NMKPQRST"
_SUPERSCRIPT = str.maketrans("0123456789-/()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻ᐟ⁽⁾")
_SUBSCRIPT = str.maketrans("0123456789,", "₀₁₂₃₄₅₆₇₈₉,")
_VULGAR = {Fraction(1, 2): "½", Fraction(1, 3): "⅓", Fraction(2, 3): "⅔", Fraction(1, 4): "¼",
           Fraction(3, 4): "¾"}
_ASCII = [("ḡ", "g"), ("−", "-"), ("⊙", "*"), ("·", "*"), ("ᵀ", ".T"), ("Σ", "sum"),
          ("σ", "sigmoid"), ("√", "sqrt"), ("∂", "d"), ("≤", "<="), ("≥", ">="), ("¬", "~"),
          ("𝟙", "ones"), ("→", "->"), ("…", "..."), ("×", "x"), ("½", "1/2"), ("⅓", "1/3"),
          ("⅔", "2/3"), ("¼", "1/4"), ("¾", "3/4"), ("ᐟ", "/")]
_SUP_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_SUB_DIGITS = "₀₁₂₃₄₅₆₇₈₉"


def _ascii_power(m: re.Match[str]) -> str:
    p = m.group().translate(str.maketrans("⁻ᵖ" + _SUP_DIGITS, "-p0123456789"))
    return "**" + (p if re.fullmatch(r"-?\d+", p) else f"({p})")


def to_ascii(text: str) -> str:
    """Transliterate printed Unicode math to plain ASCII (x² → x**2, Xᵀ → X.T, Σ₀ → sum_0)."""
    text = re.sub("[⁻ᵖ" + _SUP_DIGITS + "]+", _ascii_power, text)
    text = re.sub("[" + _SUB_DIGITS + "]+", lambda m: "_" + m.group().translate(
        str.maketrans(_SUB_DIGITS, "0123456789")), text)
    for u, a in _ASCII:
        text = text.replace(u, a)
    return text.encode("ascii", "replace").decode()


@dataclass
class Printer:
    """Prints expressions; `sizes` maps each count N to its letter, shared by one explanation."""

    latex: bool = False
    ascii: bool = False  # then finish with to_ascii(); here only · splits into * and @
    sizes: dict[int, str] = field(default_factory=dict)

    def dot(self, matrix: bool, tight: bool) -> str:
        """The product sign: a matrix product, or a number times something."""
        if self.latex:
            return " "
        sign = ("@" if matrix else "*") if self.ascii else "·"
        return sign if tight else f" {sign} "

    def __call__(self, e: Expr) -> str:
        return self.fmt(e, tight=False)[0]

    def size_name(self, n: int) -> str:
        if n not in self.sizes:
            i = len(self.sizes)
            self.sizes[n] = SIZE_LETTERS[i] if i < len(SIZE_LETTERS) else f"N{i}"
        return self.sizes[n]

    def wrap(self, e: Expr, prec: int, tight: bool = True) -> str:
        """e printed, in parentheses if it binds more loosely than `prec`."""
        text, p = self.fmt(e, tight)
        if p < prec:
            return r"\left(" + text + r"\right)" if self.latex else f"({text})"
        return text

    def fmt(self, e: Expr, tight: bool) -> tuple[str, int]:
        """(text, precedence): tight means nested, where matrix products drop their spaces."""
        method = getattr(self, "_" + type(e).__name__.lower())
        return method(e, tight)  # type: ignore[no-any-return]

    def name(self, name: str) -> str:
        if not self.latex:
            return name
        if name == "ḡ":
            return r"\bar{g}"
        m = re.fullmatch(r"([A-Za-z])(\d+)", name)
        if m:
            return f"{m.group(1)}_{{{m.group(2)}}}"
        return name if len(name) == 1 else r"\mathrm{" + name.replace("_", r"\_") + "}"

    def _sym(self, e: Sym, tight: bool) -> tuple[str, int]:
        return self.name(e.name), ATOM

    def _array(self, e: Array, tight: bool) -> tuple[str, int]:
        return self.name(e.label), ATOM

    def _size(self, e: Size, tight: bool) -> tuple[str, int]:
        return self.size_name(e.value), ATOM

    def number(self, q: Fraction) -> tuple[str, int]:
        sign = "-" if self.latex else "−"
        s = sign if q < 0 else ""
        q = abs(q)
        if q.denominator == 1:
            return s + str(q.numerator), ATOM if not s else MUL
        if self.latex:
            return s + rf"\frac{{{q.numerator}}}{{{q.denominator}}}", ATOM if not s else MUL
        if q in _VULGAR:
            return s + _VULGAR[q], ATOM if not s else MUL
        d = q.denominator
        if 10 ** len(str(d)) % d == 0 and q < 1000:  # a terminating decimal, as typed
            return s + str(float(q)), ATOM if not s else MUL
        return s + f"{q.numerator}/{q.denominator}", MUL

    def _const(self, e: Const, tight: bool) -> tuple[str, int]:
        return self.number(e.value)

    def _add(self, e: Add, tight: bool) -> tuple[str, int]:
        parts: list[str] = []
        for i, t in enumerate(e.terms):
            c, fs = _split(t)
            negative = c < 0
            body = self.wrap(mul(Const(abs(c)), *fs) if negative else t, ADD + 1 if i else ADD)
            if i == 0:
                parts.append(("-" if self.latex else "−") + body if negative else body)
            else:
                parts.append((" - " if self.latex else " − ") if negative else " + ")
                parts.append(body)
        return "".join(parts), ADD

    def _coefficient(self, c: Fraction, sizes: list[tuple[str, Any]]) -> str:
        """2/N, 1/(2N), N/2 ... from a positive number and (letter, exponent) pairs."""
        up = [s if p == 1 else s + self.sup(p) for s, p in sizes if p > 0]
        down = [s if p == -1 else s + self.sup(-p) for s, p in sizes if p < 0]
        if not up and not down:
            return self.number(c)[0]
        top = ("" if c.numerator == 1 and up else str(c.numerator)) + "".join(up)
        bottom = ("" if c.denominator == 1 else str(c.denominator)) + "".join(down)
        if not bottom:
            return top
        if self.latex:
            return rf"\frac{{{top}}}{{{bottom}}}"
        return f"{top}/{bottom}" if len(down) + (c.denominator != 1) <= 1 else f"{top}/({bottom})"

    def sup(self, p: Any) -> str:
        if self.latex:
            return "^{" + (self.number(p)[0] if isinstance(p, Fraction) else p) + "}"
        if isinstance(p, Fraction) and p.denominator == 1:
            return str(p.numerator).translate(_SUPERSCRIPT)
        text = self.number(p)[0] if isinstance(p, Fraction) else p
        return "^" + (text if re.fullmatch(r"[\w.]+", text) else f"({text})")

    def _mul(self, e: Mul, tight: bool) -> tuple[str, int]:
        sizes: list[tuple[str, Any]] = []
        num: list[Expr] = []
        den: list[Expr] = []
        for f in e.factors:
            base, p = _power_of(f)
            if isinstance(base, Size) and isinstance(p, Fraction):
                sizes.append((self.size_name(base.value), p))
            elif isinstance(p, Fraction) and p < 0:
                den.append(power(base, -p))
            else:
                num.append(f)
        neg = e.coef < 0
        coef = self._coefficient(abs(e.coef), sizes)
        has_coef = coef != "1"
        inner = MUL + 1 if len(num) + len(den) > 1 else MUL
        sep = " \\odot " if self.latex else " ⊙ "
        body = sep.join(self.wrap(f, inner, tight or len(num) > 1) for f in num)
        if den:
            d = self.wrap(den[0], POW) if len(den) == 1 else "(" + sep.join(
                self.wrap(f, MUL + 1) for f in den) + ")"
            if self.latex:
                body = rf"\frac{{{body or coef}}}{{{d}}}"
                has_coef = has_coef and bool(num)
            else:
                body = f"{body or coef} / {d}"
                has_coef = has_coef and bool(num)
        dot = self.dot(False, tight)
        text = (coef + dot + body if body else coef) if has_coef else body
        sign = "-" if self.latex else "−"
        return (sign + text if neg else text), MUL

    def _pow(self, e: Pow, tight: bool) -> tuple[str, int]:
        if isinstance(e.base, Size):  # N⁻¹ reads better as 1/N
            return self._mul(Mul(Fraction(1), (e,), e.shape), tight)
        base = self.wrap(e.base, ATOM if not isinstance(e.base, Apply) else POW)
        if isinstance(e.exponent, Expr):
            ex = self.wrap(e.exponent, ATOM)
            return (base + "^{" + ex + "}" if self.latex else f"{base}^{ex}"), POW
        return base + self.sup(e.exponent), POW

    def _matmul(self, e: MatMul, tight: bool) -> tuple[str, int]:
        dot = self.dot(True, tight)
        a = self.wrap(e.a, MUL, tight) if isinstance(e.a, MatMul) else self.wrap(e.a, MUL + 1,
                                                                                 tight)
        return a + dot + self.wrap(e.b, MUL + 1, tight) if not isinstance(e.b, MatMul) \
            else a + dot + self.wrap(e.b, MUL, tight), MUL

    def _outer(self, e: Outer, tight: bool) -> tuple[str, int]:
        dot = self.dot(True, tight)
        t = "^\\top" if self.latex else "ᵀ"
        return self.wrap(e.a, MUL + 1, tight) + dot + self.wrap(e.b, ATOM) + t, MUL

    def _transpose(self, e: Transpose, tight: bool) -> tuple[str, int]:
        n = e.x.ndim
        if e.axes == tuple(range(n - 2)) + (n - 1, n - 2) or e.axes == tuple(range(n))[::-1]:
            return self.wrap(e.x, ATOM) + ("^\\top" if self.latex else "ᵀ"), POW
        return f"transpose({self.fmt(e.x, True)[0]}, {e.axes})", ATOM

    def _sum(self, e: Sum, tight: bool) -> tuple[str, int]:
        every = e.axes == tuple(range(e.x.ndim))
        sub = "" if every else ",".join(map(str, e.axes))
        body = self.fmt(e.x, True)[0]
        if self.latex:
            return rf"\sum{'_{' + sub + '}' if sub else ''}\left({body}\right)", ATOM
        return f"Σ{sub.translate(_SUBSCRIPT)}({body})", ATOM

    def _expand(self, e: Expand, tight: bool) -> tuple[str, int]:
        if isinstance(e.x, Const) and e.x.value == 1:
            return (r"\mathbf{1}" if self.latex else "𝟙"), ATOM
        if not e.axes or e.axes == tuple(range(len(e.axes))):
            return self.fmt(e.x, tight)  # NumPy broadcasting does exactly this
        index = ", ".join("None" if i in e.axes else ":" for i in range(len(e.shape)))
        return f"{self.wrap(e.x, ATOM)}[{index}]", ATOM

    def _compare(self, e: Compare, tight: bool) -> tuple[str, int]:
        a, b = self.fmt(e.a, True)[0], self.fmt(e.b, True)[0]
        op = {"≥": r"\geq", "≤": r"\leq"}.get(e.op, e.op) if self.latex else e.op
        return (rf"\mathbb{{1}}[{a} {op} {b}]" if self.latex else f"[{a} {op} {b}]"), ATOM

    def _sign(self, e: Sign, tight: bool) -> tuple[str, int]:
        body = self.fmt(e.x, True)[0]
        return (rf"\operatorname{{sign}}\left({body}\right)" if self.latex
                else f"sign({body})"), ATOM

    def _apply(self, e: Apply, tight: bool) -> tuple[str, int]:
        template = OPS[e.op].expr
        if OPS[e.op].variadic:
            template = e.op + "(" + ", ".join(f"{{{i}}}" for i in range(len(e.args))) + ")"
        params = {k: _param_text(v) for k, v in e.params.items()}
        args = [self._slot(template, i, a) for i, a in enumerate(e.args)]
        text = template.format(*args, **params)
        if self.latex:
            text = _latexify(text)
        atomic = re.fullmatch(r"[^\s{}]*\(.*\)|\[.*\]|\|.*\||\{0\}\[.*\]", template) is not None
        return text, ATOM if atomic else MUL

    def _slot(self, template: str, i: int, a: Expr) -> str:
        """An argument as it goes into the op's template: bare inside brackets, else wrapped."""
        enclosed = re.search(r"[(\[|,] ?\{" + str(i) + r"\}[)\]|,]", template) is not None
        return self.fmt(a, True)[0] if enclosed else self.wrap(a, ATOM)


def _param_text(v: Any) -> str:
    if isinstance(v, slice):
        start, stop = ("" if x is None else str(x) for x in (v.start, v.stop))
        return f"{start}:{stop}" + ("" if v.step is None else f":{v.step}")
    if isinstance(v, tuple):
        return ", ".join(_param_text(x) for x in v)
    if isinstance(v, np.ndarray):
        return np.array2string(v, separator=", ", threshold=6) if v.ndim else str(v.item())
    if v is Ellipsis:
        return "…"
    return str(v)


_LATEX = [("−", "-"), ("⊙", r"\odot "), ("·", r"\cdot "), ("ᵀ", r"^\top"), ("σ", r"\sigma"),
          ("Σ", r"\Sigma "), ("√", r"\sqrt"), ("≤", r"\leq "), ("¬", r"\neg "), ("…", r"\ldots"),
          ("exp(", r"\exp("), ("log(", r"\log("), ("tanh(", r"\tanh("), ("max(", r"\max("),
          ("min(", r"\min(")]


def _latexify(text: str) -> str:
    for u, t in _LATEX:
        text = text.replace(u, t)
    return text
