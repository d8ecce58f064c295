"""The op table: every differentiable op, defined once.

Each `Op` record holds the forward function (NumPy arrays in, array out), one VJP rule per
input, the label the graph shows and the text the explainer prints. The engine, the
visualizer and the explainer read only these records; adding an op touches nothing else.

A VJP rule is `rule(g, *xs, out=out, **params)` returning ∂L/∂xᵢ for its input, where g is
∂L/∂out. It is written against the interface ndarrays, Tensors and the explainer's
expressions share (operators, comparisons, `.T`, `.sum(axis, keepdims)`, `.reshape`,
`.astype`, NumPy ufuncs, `np.broadcast_to`) plus `call`, so the same rule runs on arrays
(plain backward), on Tensors (`create_graph=True`, higher derivatives) and on expressions
(`am.explain`). Masks come from comparisons, which give constants on all three. Inputs an op
does not save arrive as shape-only stand-ins (anything with `.shape`). Broadcasting is undone
by the engine after the rule (`sum_to_shape`), so element-wise rules ignore shapes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from . import backends
from .shapes import (
    array_of,
    broadcast_problem,
    broadcast_to,
    is_tensor,
    keepdims_shape,
    normalize_axis,
)

Rule = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Op:
    """One differentiable primitive: forward, VJPs, graph label and how explanations print it.

    `expr` is the forward in the inputs' names ("{0} · {1}"); `why` is the one-line reason the
    explainer gives for the rule. `formulas`, where given, replaces the VJPs for printing only:
    a rule like the numeric one that the explainer and the graph's edge labels run on
    expressions instead (for a printed form that must differ from the computed one).

    `numpy` lists the NumPy functions whose calls this op records when they meet a Tensor
    (`np.sum(t)`, `np.dot(X, t)`); a forward that is itself a ufunc (`np.add`) needs no entry.
    numpy_api.py reads both to dispatch NumPy's protocols, so there is no second list.
    """

    name: str
    forward: Callable[..., Any]  # may return a NumPy scalar; the caller makes it an array
    vjps: tuple[Rule, ...]
    label: Callable[..., str]
    expr: str
    formulas: tuple[Rule, ...] | None = None
    why: str = ""
    save_inputs: bool = True
    save_out: bool = False
    variadic: bool = False
    shape_error: Callable[..., str | None] | None = None
    numpy: tuple[Callable[..., Any], ...] = ()

    def vjp(self, i: int) -> Rule:
        """The rule giving input i's share of the gradient (a variadic op has one rule for
        all its inputs, told which one by `i=`)."""
        return partial(self.vjps[0], i=i) if self.variadic else self.vjps[i]

    def formula(self, i: int) -> Rule:
        """The rule the explainer applies to expressions for input i: the VJP itself, unless
        the op gives a printed form of its own."""
        if self.formulas is None:
            return self.vjp(i)
        return partial(self.formulas[0], i=i) if self.variadic else self.formulas[i]


OPS: dict[str, Op] = {}


def defop(name: str, forward: Callable[..., Any], vjps: tuple[Rule, ...], *,
          expr: str, formulas: tuple[Rule, ...] | None = None,
          label: Callable[..., str] | None = None, **options: Any) -> Op:
    """Register an op under `name`; the label defaults to the name.

    The explainer prints the VJPs themselves; give `formulas` only where the printed form must
    differ from the computed one.
    """
    op = Op(name, forward, vjps, label or (lambda **_: name), expr, formulas, **options)
    OPS[name] = op
    return op


def call(name: str, *xs: Any, **params: Any) -> Any:
    """Apply op `name` inside a rule: NumPy on arrays, a recorded op when given Tensors, the
    op applied to expressions when given the explainer's symbolic ones."""
    for x in xs:
        if is_tensor(x):
            from .recording import record  # above this module: imported when first needed

            return record(OPS[name], *xs, **params)
        if hasattr(x, "apply_op"):
            return x.apply_op(name, *xs, **params)
    return OPS[name].forward(*xs, **params)


def _keep(y: Any, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Any:
    """A reduction's result y with the reduced axes of `shape` put back as length 1."""
    return y if keepdims else y.reshape(keepdims_shape(shape, normalize_axis(axis, len(shape))))


def _expand(g: Any, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Any:
    """Put back the axes a reduction removed, then broadcast g to the input's `shape`."""
    return broadcast_to(_keep(g, shape, axis, keepdims), shape)


def _count(x: Any, axis: Any) -> Any:
    """N, the number of elements a reduction of x over `axis` combines: an int, or for the
    explainer's expressions a size, which it prints as N."""
    if hasattr(x, "count"):
        return x.count(axis)
    shape = x.shape
    return math.prod(shape[a] for a in normalize_axis(axis, len(shape)))


def _binary_shape_error(a: Any, b: Any, **_: Any) -> str | None:
    return broadcast_problem(np.shape(a), np.shape(b))


# ---- element-wise arithmetic --------------------------------------------------------------

defop("add", np.add, (lambda g, a, b, out: g, lambda g, a, b, out: g),
      expr="{0} + {1}", save_inputs=False,
      why="addition passes the gradient through unchanged to both sides",
      shape_error=_binary_shape_error)

defop("sub", np.subtract, (lambda g, a, b, out: g, lambda g, a, b, out: -g),
      expr="{0} − {1}", save_inputs=False,
      why="subtraction passes the gradient to the left side and its negative to the right",
      shape_error=_binary_shape_error)

defop("mul", np.multiply, (lambda g, a, b, out: g * b, lambda g, a, b, out: g * a),
      expr="{0} ⊙ {1}",
      why="each factor's gradient is the upstream gradient times the other factor",
      shape_error=_binary_shape_error)

defop("div", np.divide,
      (lambda g, a, b, out: g / b, lambda g, a, b, out: -g * out / b),
      expr="{0} / {1}",
      save_out=True,
      why="d(a/b) = da/b − a·db/b²", shape_error=_binary_shape_error)

defop("neg", np.negative, (lambda g, x, out: -g,),
      expr="−{0}", save_inputs=False,
      why="negation flips the sign")


def _pow_vjp(g: Any, x: Any, out: Any, p: Any) -> Any:
    # Squares (every MSE) take x + x: one N-sized temporary and pass instead of x ** 1's copy.
    if p == 2:
        return g * (x + x)
    # x⁰ = 1 is constant, so its derivative is 0 even at x = 0, where 0 · 0⁻¹ would be NaN:
    # 0 · x⁰ gives that 0 (and stays finite when differentiated again).
    return g * (p * x ** ((p if p != 0 else 1) - 1))


def _power_vjp_base(g: Any, a: Any, b: Any, out: Any) -> Any:
    # Where the exponent is 0, aᵇ = 1 does not depend on a: b · a^(b−1) is 0 · 0⁻¹ = NaN at
    # a = 0. Raising to b − 1 + 1 there instead keeps every term finite and the product 0.
    return g * (b * a ** (b - 1 + np.equal(b, 0)))


def _power_vjp_exponent(g: Any, a: Any, b: Any, out: Any) -> Any:
    # d(aᵇ)/db = log(a)·aᵇ is −∞ · 0 = NaN at a = 0, b > 0, where aᵇ is 0 for every nearby b
    # (and 1 at b = 0): the derivative is 0 there, as torch has it. log(a + 1) = 0 there.
    return g * (call("log", a + (np.equal(a, 0) & (b >= 0))) * out)


defop("pow", lambda x, p: np.power(x, p), (_pow_vjp,),
      label=lambda p: f"pow {p:g}", expr="{0}^{p}",
      why="power rule: d(xᵖ)/dx = p·xᵖ⁻¹ (for a square, the 2 in front comes from here)",
      numpy=(np.power,))  # np.power(t, 3): a number exponent is this op's p

defop("power", np.power, (_power_vjp_base, _power_vjp_exponent),
      # Printed without the guards at a = 0, which only keep 0⁰'s derivatives 0 (not NaN).
      expr="{0}^{1}", formulas=(lambda g, a, b, out: g * b * a ** (b - 1),
                              lambda g, a, b, out: g * call("log", a) * a ** b),
      save_out=True, why="d(aᵇ) = b·aᵇ⁻¹·da + log(a)·aᵇ·db", shape_error=_binary_shape_error)

# ---- element-wise functions ---------------------------------------------------------------

defop("exp", np.exp, (lambda g, x, out: g * out,),
      expr="exp({0})", save_inputs=False, save_out=True,
      why="exp is its own derivative")

defop("log", np.log, (lambda g, x, out: g / x,),
      expr="log({0})", why="d log(x)/dx = 1/x")

defop("sqrt", np.sqrt, (lambda g, x, out: g / (2 * out),),
      expr="√{0}", save_inputs=False, save_out=True,
      why="d√x/dx = 1/(2√x)")

defop("tanh", np.tanh, (lambda g, x, out: g * (1 - out * out),),
      expr="tanh({0})", save_inputs=False, save_out=True,
      why="d tanh(x)/dx = 1 − tanh(x)²")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # exp(-|x|) never overflows, so ±1000 gives exactly 1 and 0 without warnings.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


defop("sigmoid", _sigmoid, (lambda g, x, out: g * (out * (1 - out)),),
      expr="σ({0})", save_inputs=False, save_out=True,
      why="dσ(x)/dx = σ(x)(1 − σ(x))")

defop("relu", lambda x: np.maximum(x, 0), (lambda g, x, out: g * (x > 0),),
      expr="relu({0})",
      why="relu passes the gradient where its input is positive (0 at exactly 0)")

defop("abs", np.abs, (lambda g, x, out: g * ((x > 0).astype(g.dtype) - (x < 0)),),
      expr="|{0}|",
      why="d|x|/dx = sign(x) = [x > 0] − [x < 0] (0 at exactly 0)")


def _clip(x: np.ndarray, lo: Any, hi: Any) -> np.ndarray:
    # Bounds are constants (they get no gradient): their values, so a Tensor bound does not
    # send np.clip back through Tensor dispatch.
    return np.clip(x, array_of(lo), array_of(hi))


defop("softplus", lambda x: np.logaddexp(0.0, x), (lambda g, x, out: g * call("sigmoid", x),),
      expr="softplus({0})", why="softplus(x) = log(1 + eˣ), and its derivative is the sigmoid σ(x)")

defop("log1p", np.log1p, (lambda g, x, out: g / (1 + x),),
      expr="log1p({0})", why="log1p(x) = log(1 + x), exact near 0: d/dx = 1/(1 + x)")

defop("expm1", np.expm1, (lambda g, x, out: g * (out + 1),),
      expr="expm1({0})", save_inputs=False, save_out=True,
      why="expm1(x) = eˣ − 1, exact near 0: d/dx = eˣ = expm1(x) + 1")

defop("sin", np.sin, (lambda g, x, out: g * call("cos", x),),
      expr="sin({0})", why="d sin(x)/dx = cos(x)")

defop("cos", np.cos, (lambda g, x, out: -g * call("sin", x),),
      expr="cos({0})", why="d cos(x)/dx = −sin(x)")

defop("square", np.square, (lambda g, x, out: g * (x + x),),
      expr="{0}²", why="d(x²)/dx = 2x: the 2 in front comes from here")


defop("clip", _clip,
      # Array bounds may broadcast the mask past x's shape: the engine sums g back to it.
      (lambda g, x, out, lo, hi: g * (1 if lo is None else x >= lo)
       * (1 if hi is None else x <= hi),),
      label=lambda lo, hi: f"clip [{lo}, {hi}]", expr="clip({0}, {lo}, {hi})",
      why="clip passes the gradient where the input lies inside the bounds",
      numpy=(np.clip,))


def _share(wins: Any, a: Any, b: Any, g: Any) -> Any:
    # Ties split the gradient evenly, and the other side gets 1 − this, so the two shares
    # always add up to g. The ½ in g's dtype makes the share g's dtype (float32 stays).
    return wins + np.equal(a, b) * g.dtype.type(0.5)


defop("maximum", np.maximum,
      (lambda g, a, b, out: g * _share(a > b, a, b, g),
       lambda g, a, b, out: g * (1 - _share(a > b, a, b, g))),
      expr="max({0}, {1})",
      why="the gradient goes to the larger input; ties split it evenly",
      shape_error=_binary_shape_error)

defop("minimum", np.minimum,
      (lambda g, a, b, out: g * _share(a < b, a, b, g),
       lambda g, a, b, out: g * (1 - _share(a < b, a, b, g))),
      expr="min({0}, {1})",
      why="the gradient goes to the smaller input; ties split it evenly",
      shape_error=_binary_shape_error)

defop("logaddexp", np.logaddexp,
      (lambda g, a, b, out: g * call("exp", a - out),
       lambda g, a, b, out: g * call("exp", b - out)),
      expr="logaddexp({0}, {1})", save_out=True, shape_error=_binary_shape_error,
      why="log(eᵃ + eᵇ) is a two-term logsumexp: each side gets its softmax share, e^(a − out)")

defop("where", lambda a, b, cond: np.where(cond, a, b),
      (lambda g, a, b, out, cond: g * cond, lambda g, a, b, out, cond: g * ~cond),
      expr="where(cond, {0}, {1})",
      save_inputs=False,
      why="each branch gets the gradient where it was chosen",
      shape_error=lambda a, b, cond: broadcast_problem(np.shape(a), np.shape(b), np.shape(cond)),
      numpy=(np.where,))

# ---- linear algebra -----------------------------------------------------------------------


def _mT(x: Any) -> Any:
    """Swap the last two axes (the matrix transpose of a batch)."""
    n = x.ndim
    return x.transpose(*range(n - 2), n - 1, n - 2)


def _matmul_grads(g: Any, a: Any, b: Any) -> tuple[Any, Any, Any]:
    # Treat 1-D operands as a row (a) or a column (b), as NumPy does, then drop that axis.
    a2 = a.reshape((1,) + a.shape) if a.ndim == 1 else a
    b2 = b.reshape(b.shape + (1,)) if b.ndim == 1 else b
    g2 = g
    if b.ndim == 1:
        g2 = g2.reshape(g2.shape + (1,))
    if a.ndim == 1:
        g2 = g2.reshape(g2.shape[:-1] + (1,) + g2.shape[-1:])
    return g2, a2, b2


def _matmul_vjp_a(g: Any, a: Any, b: Any, out: Any) -> Any:
    g2, _, b2 = _matmul_grads(g, a, b)
    ga = g2 @ _mT(b2)
    return ga.reshape(ga.shape[:-2] + ga.shape[-1:]) if a.ndim == 1 else ga


def _matmul_vjp_b(g: Any, a: Any, b: Any, out: Any) -> Any:
    g2, a2, _ = _matmul_grads(g, a, b)
    gb = _mT(a2) @ g2
    return gb.reshape(gb.shape[:-1]) if b.ndim == 1 else gb


def _matmul_shape_error(a: Any, b: Any) -> str | None:
    sa, sb = np.shape(a), np.shape(b)
    if len(sa) == 0 or len(sb) == 0:
        return "matmul needs at least one dimension on each side; use * for scalars"
    inner_a, inner_b = sa[-1], sb[0] if len(sb) == 1 else sb[-2]
    if inner_a != inner_b:
        return (f"inner dimensions {inner_a} and {inner_b} differ "
                "(the left's last axis must equal the right's second-to-last)")
    problem = broadcast_problem(sa[:-2], sb[:-2])
    return f"batch dimensions {sa[:-2]} and {sb[:-2]} differ: {problem}" if problem else None


defop("matmul", np.matmul, (_matmul_vjp_a, _matmul_vjp_b),
      expr="{0} · {1}",
      why="entry by entry, (AB)ᵢₖ = Σⱼ Aᵢⱼ Bⱼₖ, so ∂L/∂Bⱼₖ = Σᵢ Aᵢⱼ ḡᵢₖ, entry (j, k) of Aᵀ "
          "times ḡ, and ∂L/∂Aᵢⱼ = Σₖ ḡᵢₖ Bⱼₖ, entry (i, j) of ḡ times Bᵀ: that is where the "
          "transpose comes from (the shapes agree, which is a handy check)",
      shape_error=_matmul_shape_error,
      numpy=(np.dot,))  # np.dot is this product for 0-, 1- and 2-d operands (am.dot checks)

# ---- reductions ---------------------------------------------------------------------------

defop("sum", lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims),
      (lambda g, x, out, axis, keepdims: _expand(g, x.shape, axis, keepdims),),
      label=lambda axis, keepdims: "sum" if axis is None else f"sum axis={axis}",
      expr="Σ {0}", save_inputs=False,
      why="every summed element gets the upstream gradient once", numpy=(np.sum,))

defop("mean", lambda x, axis, keepdims: np.mean(x, axis=axis, keepdims=keepdims),
      (lambda g, x, out, axis, keepdims: _expand(g / _count(x, axis), x.shape, axis, keepdims),),
      label=lambda axis, keepdims: "mean" if axis is None else f"mean axis={axis}",
      expr="mean({0})", save_inputs=False,
      why="mean(x) = Σ(x) / N, so each of the N elements gets 1/N of the upstream gradient: "
          "the 1/N comes from here", numpy=(np.mean,))


def _centered(x: Any, axis: Any) -> Any:
    """x minus its mean over `axis` (kept as size-1 axes, so it broadcasts back)."""
    return x - call("mean", x, axis=axis, keepdims=True)


def _var_vjp(g: Any, x: Any, out: Any, axis: Any, keepdims: bool, ddof: int) -> Any:
    return _expand(g, x.shape, axis, keepdims) * (_centered(x, axis)
                                                  * (2 / (_count(x, axis) - ddof)))


def _std_vjp(g: Any, x: Any, out: Any, axis: Any, keepdims: bool, ddof: int) -> Any:
    return _expand(g / out, x.shape, axis, keepdims) * (_centered(x, axis)
                                                        / (_count(x, axis) - ddof))


def _spread_label(name: str) -> Callable[..., str]:
    def label(axis: Any, keepdims: bool, ddof: int) -> str:
        where = "" if axis is None else f" axis={axis}"
        return f"{name}{where}" + (f" ddof={ddof}" if ddof else "")
    return label


defop("var", lambda x, axis, keepdims, ddof: np.var(x, axis=axis, keepdims=keepdims, ddof=ddof),
      (_var_vjp,), label=_spread_label("var"), expr="var({0})",
      why="var(x) = Σ(x − x̄)² / (N − ddof): each element gets 2(x − x̄)/(N − ddof) (the "
          "mean's own share sums to zero)", numpy=(np.var,))

defop("std", lambda x, axis, keepdims, ddof: np.std(x, axis=axis, keepdims=keepdims, ddof=ddof),
      (_std_vjp,), label=_spread_label("std"), expr="std({0})", save_out=True,
      why="std = √var, so d std = d var / (2·std) = (x − x̄) / ((N − ddof)·std)",
      numpy=(np.std,))


def _extreme_vjp(g: Any, x: Any, out: Any, axis: Any, keepdims: bool) -> Any:
    # Ties share the gradient evenly (each of k tied entries gets g/k): deterministic and the
    # shares add up to g. A NaN is the extreme of its slice (NumPy propagates it), so the NaN
    # entries (x ≠ x) share it there, as in torch, instead of 0/0 = NaN for every element.
    hit = (np.equal(x, _keep(out, x.shape, axis, keepdims)) | np.not_equal(x, x)).astype(g.dtype)
    return _expand(g, x.shape, axis, keepdims) * (hit / hit.sum(axis=axis, keepdims=True))


for _name, _fn, _alias in (("max", np.max, np.amax), ("min", np.min, np.amin)):
    defop(_name, (lambda f: lambda x, axis, keepdims: f(x, axis=axis, keepdims=keepdims))(_fn),
          (_extreme_vjp,), save_out=True,
          label=(lambda n: lambda axis, keepdims: n if axis is None else f"{n} axis={axis}")(_name),
          expr=_name + "({0})",
          why=f"only the {_name}imal entries get the gradient; ties share it evenly",
          numpy=(_fn, _alias))


def _logsumexp(x: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
    # Shift by the max so exp never overflows; an all -inf slice keeps its -inf.
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=normalize_axis(axis, x.ndim))


def _logsumexp_vjp(g: Any, x: Any, out: Any, axis: Any, keepdims: bool) -> Any:
    return _expand(g, x.shape, axis, keepdims) * call("exp", x - _keep(out, x.shape, axis,
                                                                         keepdims))


defop("logsumexp", _logsumexp, (_logsumexp_vjp,), save_out=True,
      label=lambda axis, keepdims: "logsumexp" if axis is None else f"logsumexp axis={axis}",
      expr="logΣexp({0})",
      why="the derivative of log Σ exp is the softmax")


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


defop("softmax", _softmax,
      (lambda g, x, out, axis: out * (g - (g * out).sum(axis=axis, keepdims=True)),),
      label=lambda axis: f"softmax axis={axis}", expr="softmax({0})",
      save_inputs=False, save_out=True,
      why="softmax's Jacobian is diag(s) − s·sᵀ")

def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    # (x − m) − log Σ exp(x − m), not x − logsumexp(x): logsumexp rounds at the scale of max|x|,
    # which loses the O(1) answer for large logits (float32 1e7 gave 0, not −log 2).
    m = np.max(x, axis=axis, keepdims=True)
    shifted = x - np.where(np.isfinite(m), m, 0)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


defop("log_softmax", _log_softmax,
      (lambda g, x, out, axis: g - call("exp", out) * g.sum(axis=axis, keepdims=True),),
      label=lambda axis: f"log_softmax axis={axis}", expr="log_softmax({0})",
      save_inputs=False, save_out=True,
      why="log_softmax(x) = x − logsumexp(x), whose derivative is the softmax")

# ---- shape ops ----------------------------------------------------------------------------

defop("astype", lambda x, dtype: x.astype(dtype),
      (lambda g, x, out, dtype: call("astype", g, dtype=x.dtype),),
      label=lambda dtype: f"astype {dtype}", expr="{0}", save_inputs=False,
      why="a change of precision passes the gradient through, cast back to the input's dtype",
      numpy=(np.astype,) if hasattr(np, "astype") else ())  # NumPy ≥ 2.1

defop("reshape", lambda x, shape: np.reshape(x, shape),
      (lambda g, x, out, shape: g.reshape(x.shape),),
      label=lambda shape: f"reshape {shape}", expr="reshape({0})",
      save_inputs=False,
      why="reshaping moves no values, so the gradient is reshaped back", numpy=(np.reshape,))


def _inverse(axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argsort(axes))


defop("transpose", lambda x, axes: np.transpose(x, axes),
      (lambda g, x, out, axes: g.transpose(*_inverse(axes)),),
      label=lambda axes: "transpose" if axes == tuple(range(len(axes)))[::-1]
      else f"transpose {axes}", expr="{0}ᵀ",
      save_inputs=False,
      why="transposing moves values, so the gradient is transposed back",
      numpy=(np.transpose,))

defop("broadcast_to", lambda x, shape: np.broadcast_to(x, shape),
      (lambda g, x, out, shape: g,),  # the engine sums g back to x's shape
      label=lambda shape: f"broadcast {shape}", expr="broadcast({0})",
      save_inputs=False,
      why="a value copied to many places collects the gradient from all of them",
      numpy=(np.broadcast_to,))


def _scatter(g: np.ndarray, index: Any, shape: tuple[int, ...]) -> np.ndarray:
    if type(g) is not np.ndarray and backends.is_foreign(g):
        return backends.scatter_add(g, index, shape)  # type: ignore[no-any-return]
    z = np.zeros(shape, dtype=g.dtype)
    np.add.at(z, index, g)  # add.at, not z[index] += g: repeated indices must accumulate
    return z


defop("getitem", lambda x, index: x[index],
      (lambda g, x, out, index: call("scatter", g, index=index, shape=x.shape),),
      label=lambda index: "getitem", expr="{0}[{index}]",
      save_inputs=False,
      why="indexing picks values, so the gradient is scattered back (repeats add up)")

defop("scatter", _scatter, (lambda g, x, out, index, shape: g[index],),
      label=lambda index, shape: "scatter", expr="scatter({0})",
      save_inputs=False, why="scattering's adjoint gathers the same positions")


def _concat_vjp(g: Any, *xs: Any, out: Any, axis: int, i: int) -> Any:
    start = sum(x.shape[axis] for x in xs[:i])
    index = (slice(None),) * (axis % g.ndim) + (slice(start, start + xs[i].shape[axis]),)
    return g[index]


def _concatenate(*xs: np.ndarray, axis: int) -> np.ndarray:
    if axis is None:  # the VJP slices along an axis; am.concatenate flattens first instead
        raise ValueError("axis=None (flatten) is not an axis of the op: flatten the pieces "
                         "first, as am.concatenate(..., axis=None) does")
    return np.concatenate(xs, axis=axis)


defop("concatenate", _concatenate, (_concat_vjp,),
      label=lambda axis: f"concatenate axis={axis}", expr="[{0}, …]",
      save_inputs=False, variadic=True,
      why="each piece gets back the slice of the gradient where it was placed",
      numpy=(np.concatenate, np.stack))  # am.stack records reshapes and this op
