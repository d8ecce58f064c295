"""Property tests: random expression graphs, every gradient checked two independent ways.

Hypothesis draws a program: 1–3 leaves with random broadcastable shapes, then 1–7 steps, each
an op from the table below applied to earlier values (so sub-expressions are shared and
values are used twice or more). The loss is a weighted sum of every intermediate value, so
every step's VJP matters. Its gradient with respect to every leaf must match
- central differences in float64, and
- HIPS autograd running the very same program on autograd.numpy.

The same programs then drive two more groups of properties:
- nested transforms (grad of grad, up to depth 3, jacobian of grad, tuple argnums), where
  inner functions close over outer variables: checked against HIPS autograd running the
  same nesting and against central differences of the un-nested function;
- threads: workers run programs on shared leaf arrays concurrently, in different grad and
  anomaly modes; each result must equal the single-threaded one bit for bit, each thread
  must see only its own modes, and no array may stay locked afterwards.

CI runs EXAMPLES derandomized examples (a fixed seed, so failures reproduce).
"""

from __future__ import annotations

import gc
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

import autograd_mini as am
from autograd_mini import inplace
from autograd_mini.mode import MODE

EXAMPLES = 500


class AM:
    """The library under test, behind the small interface the programs use."""

    exp, log, sqrt, tanh, sigmoid = am.exp, am.log, am.sqrt, am.tanh, am.sigmoid
    relu, abs, maximum, minimum, logsumexp = am.relu, am.abs, am.maximum, am.minimum, am.logsumexp
    softmax, log_softmax, concatenate, stack = am.softmax, am.log_softmax, am.concatenate, am.stack

    @staticmethod
    def clip(x: Any, lo: float, hi: float) -> Any:
        return x.clip(lo, hi)

    @staticmethod
    def where(c: np.ndarray, a: Any, b: Any) -> Any:
        return am.where(c, a, b)

    softplus, log1p, expm1, sin, cos = am.softplus, am.log1p, am.expm1, am.sin, am.cos
    square, logaddexp = am.square, am.logaddexp

    @staticmethod
    def reduce(x: Any, how: str, axis: Any, keepdims: bool) -> Any:
        return getattr(x, how)(axis=axis, keepdims=keepdims)

    @staticmethod
    def spread(x: Any, how: str) -> Any:
        return getattr(x, how)(axis=0, ddof=1)

    @staticmethod
    def op(name: str, x: Any) -> Any:
        return getattr(am, name)(x)

    @staticmethod
    def astype(x: Any) -> Any:
        return x.astype(np.float64)

    @staticmethod
    def transpose(x: Any) -> Any:
        return x.T

    @staticmethod
    def reshape(x: Any, shape: tuple[int, ...]) -> Any:
        return x.reshape(shape)


class ANP:
    """HIPS autograd's NumPy: the reference implementation of the same interface."""

    exp, log, sqrt, tanh, abs = anp.exp, anp.log, anp.sqrt, anp.tanh, anp.abs
    maximum, minimum, concatenate, stack = anp.maximum, anp.minimum, anp.concatenate, anp.stack

    @staticmethod
    def sigmoid(x: Any) -> Any:
        return 0.5 * (anp.tanh(x / 2) + 1)

    @staticmethod
    def relu(x: Any) -> Any:
        return x * (x > 0)  # derivative 0 at 0, our documented convention

    @staticmethod
    def clip(x: Any, lo: float, hi: float) -> Any:
        return anp.clip(x, lo, hi)

    @staticmethod
    def where(c: np.ndarray, a: Any, b: Any) -> Any:
        ones = np.ones(c.shape)  # HIPS where() does not undo broadcasting; multiplying does
        return anp.where(c, a * ones, b * ones)

    @staticmethod
    def logsumexp(x: Any, axis: int = -1, keepdims: bool = False) -> Any:
        return anp.log(anp.sum(anp.exp(x), axis=axis, keepdims=keepdims))

    @staticmethod
    def softmax(x: Any, axis: int = -1) -> Any:
        e = anp.exp(x)
        return e / anp.sum(e, axis=axis, keepdims=True)

    @staticmethod
    def log_softmax(x: Any, axis: int = -1) -> Any:
        return x - ANP.logsumexp(x, axis=axis, keepdims=True)

    log1p, expm1, sin, cos, square, logaddexp = (anp.log1p, anp.expm1, anp.sin, anp.cos,
                                                 anp.square, anp.logaddexp)

    @staticmethod
    def softplus(x: Any) -> Any:
        return anp.logaddexp(0.0, x)

    @staticmethod
    def reduce(x: Any, how: str, axis: Any, keepdims: bool) -> Any:
        return getattr(anp, how)(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def spread(x: Any, how: str) -> Any:
        return getattr(anp, how)(x, axis=0, ddof=1)

    @staticmethod
    def op(name: str, x: Any) -> Any:
        """HIPS's function of that name, else our forward with no VJP: central differences
        are then the only truth (they need the forward alone)."""
        return getattr(anp, name)(x) if hasattr(anp, name) else _forward_only(name)(x)

    @staticmethod
    def astype(x: Any) -> Any:
        return x

    @staticmethod
    def transpose(x: Any) -> Any:
        return anp.transpose(x)

    @staticmethod
    def reshape(x: Any, shape: tuple[int, ...]) -> Any:
        return anp.reshape(x, shape)


def _gram(L: Any, a: Any) -> Any:
    """a · aᵀ (2-D and up), a · a (1-D), a² (0-d): matmul with its input used twice."""
    if a.ndim >= 2:
        return a @ L.transpose(a) if a.ndim == 2 else a @ L.reshape(a, a.shape[:-2] + (
            a.shape[-1], a.shape[-2]))
    return a @ a if a.ndim == 1 else a * a


def _last_axis(f: Callable[..., Any]) -> Callable[..., Any]:
    """Apply a last-axis op (softmax, logsumexp) to 1-D and up; leave 0-d values alone."""
    return lambda L, a: f(L, a) if a.ndim >= 1 else a


def _reduce(how: str, keepdims: bool) -> Callable[..., Any]:
    return lambda L, a: L.reduce(a, how, 0 if a.ndim else None, keepdims)


def _take(L: Any, a: Any) -> Any:
    """Integer-array indexing with a repeated index, then a reversed slice (a view)."""
    if a.ndim == 0:
        return a
    return a[np.array([0, a.shape[0] - 1, 0])][::-1]


def _ramp(shape: tuple[int, ...]) -> np.ndarray:
    return np.arange(int(np.prod(shape)), dtype=float).reshape(shape)


def _mask(shape: tuple[int, ...]) -> np.ndarray:
    return (np.arange(int(np.prod(shape))).reshape(shape) % 2).astype(bool)


def _forward_only(name: str) -> Callable[..., Any]:
    from autograd.extend import primitive

    from autograd_mini.ops import OPS
    return primitive(OPS[name].forward)


# name -> (arity, program step written once against the AM / ANP interface)
UNARY: dict[str, Callable[..., Any]] = {
    "neg": lambda L, a: -a,
    "pow2": lambda L, a: a ** 2,
    "pow3": lambda L, a: a ** 3,
    "exp": lambda L, a: L.exp(a),
    "log": lambda L, a: L.log(a * a + 0.5),
    "sqrt": lambda L, a: L.sqrt(a * a + 0.25),
    "tanh": lambda L, a: L.tanh(a),
    "sigmoid": lambda L, a: L.sigmoid(a),
    "relu": lambda L, a: L.relu(a),
    "abs": lambda L, a: L.abs(a),
    "clip": lambda L, a: L.clip(a, -0.7, 0.8),
    "sum": _reduce("sum", False),
    "mean": _reduce("mean", True),
    "max": _reduce("max", False),
    "min": _reduce("min", True),
    "logsumexp": _last_axis(lambda L, a: L.logsumexp(a, axis=-1)),
    "softmax": _last_axis(lambda L, a: L.softmax(a, axis=-1)),
    "log_softmax": _last_axis(lambda L, a: L.log_softmax(a, axis=-1)),
    "transpose": lambda L, a: L.transpose(a),
    "flatten": lambda L, a: L.reshape(a, (-1,)),
    "getitem": _take,
    "gram": _gram,
    "stack": lambda L, a: L.stack([a, a * 2.0]),
    "softplus": lambda L, a: L.softplus(a),
    "log1p": lambda L, a: L.log1p(a * a),
    "expm1": lambda L, a: L.expm1(a),
    "sin": lambda L, a: L.sin(a),
    "cos": lambda L, a: L.cos(a),
    "square": lambda L, a: L.square(a),
    "var": lambda L, a: L.spread(a, "var") if a.ndim and a.shape[0] > 1 else a,
    # std is not differentiable where the spread is 0 (equal values): a ramp keeps it away
    "std": lambda L, a: L.spread(a + _ramp(a.shape), "std") if a.ndim and a.shape[0] > 1 else a,
    "astype": lambda L, a: L.astype(a),
}
BINARY: dict[str, Callable[..., Any]] = {
    "add": lambda L, a, b: a + b,
    "sub": lambda L, a, b: a - b,
    "mul": lambda L, a, b: a * b,
    "div": lambda L, a, b: a / (b * b + 1.0),
    "rdiv": lambda L, a, b: 2.0 / (a * a + 1.0) + b,
    "power": lambda L, a, b: (a * a + 0.5) ** L.tanh(b),
    "maximum": lambda L, a, b: L.maximum(a, b),
    "minimum": lambda L, a, b: L.minimum(a, b),
    "where": lambda L, a, b: L.where(_mask(np.broadcast_shapes(a.shape, b.shape)), a, b),
    "concat": lambda L, a, b: L.concatenate([L.reshape(a, (-1,)), L.reshape(b, (-1,))]),
    "logaddexp": lambda L, a, b: L.logaddexp(a, b),
}


def _recorded_by(step: Callable[..., Any], *args: Any) -> set[str]:
    from autograd_mini.graph import Node, toposort

    out = step(AM, *args)
    return {v.op.name for v in toposort(out._node, only_requires_grad=False)
            if isinstance(v, Node)}


def _generic_steps() -> dict[str, Callable[..., Any]]:
    """A step for every op of one input and no params that no step above records, so an op
    added to the table is exercised here with no edit (checked by central differences, and
    by HIPS autograd when it has a function of that name)."""
    from autograd_mini.ops import OPS

    x = am.tensor(np.linspace(0.2, 0.9, 6).reshape(2, 3), requires_grad=True)
    seen = set().union(*(_recorded_by(f, x) for f in UNARY.values()),
                       *(_recorded_by(f, x, x) for f in BINARY.values()))
    steps = {}
    for name in sorted(set(OPS) - seen):
        try:
            if getattr(am, name)(x).op == name:
                steps[f"op:{name}"] = lambda L, a, name=name: L.op(name, a)
        except (TypeError, ValueError):
            continue  # it needs params or more inputs: give it a step of its own above
    return steps


UNARY.update(_generic_steps())


@dataclass
class Program:
    """Leaves' values, then steps (op name, indices of the values it reads)."""

    leaves: list[np.ndarray]
    steps: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)
    weights_seed: int = 0

    def run(self, L: Any, leaves: list[Any]) -> tuple[Any, list[Any]]:
        """The loss Σₖ Σ(cₖ ⊙ vₖ) over every step's value vₖ, and the values."""
        values = list(leaves)
        for name, idx in self.steps:
            f = UNARY.get(name) or BINARY[name]
            values.append(f(L, *(values[i] for i in idx)))
        rng = np.random.default_rng(self.weights_seed)
        loss = 0.0
        for v in values[len(leaves):]:
            loss = loss + (v * rng.uniform(0.5, 1.5, size=v.shape)).sum()
        return loss, values


def _broadcastable(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True


@st.composite
def programs(draw: st.DrawFn) -> Program:
    base = draw(st.lists(st.integers(1, 3), min_size=0, max_size=3))
    n_leaves = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    leaves = []
    for _ in range(n_leaves):
        drop = draw(st.integers(0, len(base)))
        shape = [1 if draw(st.booleans()) and draw(st.booleans()) else n for n in base[drop:]]
        leaves.append(rng.uniform(-1.5, 1.5, size=tuple(shape)))  # distinct values: no ties
    prog = Program(leaves, weights_seed=draw(st.integers(0, 2**16)))
    _draw_steps(draw, prog, draw(st.integers(1, 7)))
    return prog


def _draw_steps(draw: st.DrawFn, prog: Program, n: int) -> None:
    """Append n random steps to `prog`, each reading earlier values of compatible shapes."""
    shapes = [x.shape for x in prog.leaves]
    for name, idx in prog.steps:
        arrays = [np.zeros(shapes[k]) for k in idx]
        shapes.append(np.shape((UNARY.get(name) or BINARY[name])(ANP, *arrays)))
    for _ in range(n):
        i = draw(st.integers(0, len(shapes) - 1))
        partners = [j for j, s in enumerate(shapes) if _broadcastable(shapes[i], s)]
        if draw(st.booleans()):
            name = draw(st.sampled_from(sorted(BINARY)))
            j = draw(st.sampled_from(partners))  # may be i itself: a value used twice
            idx: tuple[int, ...] = (i, j)
        else:
            name = draw(st.sampled_from(sorted(UNARY)))
            idx = (i,)
        arrays = [np.zeros(shapes[k]) for k in idx]
        shapes.append(np.shape((UNARY.get(name) or BINARY[name])(ANP, *arrays)))
        prog.steps.append((name, idx))


def _central_differences(prog: Program, k: int, eps: float = 1e-6) -> np.ndarray:
    x = [leaf.copy() for leaf in prog.leaves]
    g = np.zeros_like(x[k])
    for j in np.ndindex(x[k].shape):
        saved = x[k][j]
        x[k][j] = saved + eps
        hi = float(prog.run(ANP, x)[0])
        x[k][j] = saved - eps
        lo = float(prog.run(ANP, x)[0])
        x[k][j] = saved
        g[j] = (hi - lo) / (2 * eps)
    return g


def _near_kink(prog: Program) -> bool:
    """True if a kinked op (relu, abs, clip, max, min, maximum, minimum) sits within 1e-4 of
    its kink: there central differences straddle it and disagree with any one-sided rule."""
    _, values = prog.run(ANP, prog.leaves)
    values = [np.asarray(v) for v in values]
    for name, idx in prog.steps:
        a = values[idx[0]]
        if name in ("relu", "abs") and np.any(np.abs(a) < 1e-4):
            return True
        if name == "clip" and np.any(np.minimum(np.abs(a + 0.7), np.abs(a - 0.8)) < 1e-4):
            return True
        if name in ("maximum", "minimum"):
            d = np.abs(a - values[idx[1]])
            if idx[0] != idx[1] and np.any(d < 1e-4):
                return True
        if name in ("max", "min") and a.ndim and a.shape[0] > 1:
            s = np.sort(a, axis=0)
            gap = np.abs(s[-1] - s[-2]) if name == "max" else np.abs(s[1] - s[0])
            if np.any(gap < 1e-4):
                return True
    return False


STATS = {"examples": 0, "steps": 0, "finite_difference_checks": 0}


@settings(max_examples=EXAMPLES)
@given(programs())
def test_random_graphs_match_central_differences_and_hips_autograd(prog: Program) -> None:
    note(f"shapes {[x.shape for x in prog.leaves]}, steps {prog.steps}")
    ref_loss, ref_values = prog.run(ANP, prog.leaves)
    assume(all(np.all(np.abs(np.asarray(v)) < 1e4) for v in ref_values))

    leaves = [am.tensor(x.copy(), requires_grad=True, name=f"x{i}")
              for i, x in enumerate(prog.leaves)]
    loss, _ = prog.run(AM, leaves)
    np.testing.assert_allclose(loss.item(), ref_loss, rtol=1e-12, atol=1e-12)
    loss.backward()

    hips = not any(name.startswith("op:") and not hasattr(anp, name[3:])
                   for name, _ in prog.steps)  # an op HIPS does not know: differences only
    ref_grads = autograd.grad(lambda xs: prog.run(ANP, xs)[0])(list(prog.leaves)) if hips \
        else [None] * len(leaves)
    check_fd = not _near_kink(prog)
    assume(hips or check_fd)
    for k, (t, ref) in enumerate(zip(leaves, ref_grads, strict=True)):
        ours = t.grad if t.grad is not None else np.zeros_like(prog.leaves[k])
        assert ours.shape == prog.leaves[k].shape
        if hips:
            np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12,
                                       err_msg=f"leaf {k} vs HIPS autograd")
        if check_fd:
            fd = _central_differences(prog, k)
            scale = max(1.0, float(np.max(np.abs(fd), initial=0.0)))
            np.testing.assert_allclose(ours, fd, rtol=1e-5, atol=1e-6 * scale,
                                       err_msg=f"leaf {k} vs central differences")
    STATS["examples"] += 1
    STATS["steps"] += len(prog.steps)
    STATS["finite_difference_checks"] += check_fd


def test_report_property_counts(capsys: pytest.CaptureFixture[str]) -> None:
    """Runs after the property test (file order): prints how much was checked."""
    with capsys.disabled():
        print(f"\nproperty suite: {STATS['examples']} graphs, {STATS['steps']} op steps, "
              f"{STATS['finite_difference_checks']} also checked by central differences")


def test_every_op_in_the_table_is_exercised() -> None:
    """Every registered op is recorded by some program step, forward or backward (found by
    running each step and its gradient with create_graph, not from a list kept by hand)."""
    from autograd_mini.graph import Node, toposort
    from autograd_mini.ops import OPS

    steps = [lambda t, f=f: f(AM, t) for f in UNARY.values()]
    steps += [lambda t, f=f: f(AM, t, t * 0.5 + 0.25) for f in BINARY.values()]
    x = am.tensor(np.arange(1.0, 7.0).reshape(2, 3) / 7, requires_grad=True)
    recorded: set[str] = set()
    for step in steps:
        # (·)² makes each gradient depend on x, so the backward's own ops are recorded too
        grad = am.grad(lambda t, step=step: (step(t) ** 2).sum())(x)
        for root in (step(x), grad):
            recorded |= {v.op.name for v in toposort(root._node, only_requires_grad=False)
                         if isinstance(v, Node)}
    assert set(OPS) <= recorded, f"no program step records {sorted(set(OPS) - recorded)}"


# ---- nested transforms ---------------------------------------------------------------------
#
# f(y, c) is a program with two leaves of one shape, so both slots can be the same outer
# variable. Its first step mixes the two leaves, so f depends on both. Each test builds the
# same nested function twice, once on autograd_mini and once on HIPS autograd (whose nested
# grad keeps the outer and inner variables apart), and compares the derivatives. Where no
# op sits at a kink, central differences of the first-order (un-nested) function check too.

NESTED_EXAMPLES = 60
# HIPS autograd warns when a derivative it takes is constant (e.g. f linear in y).
quiet_hips = pytest.mark.filterwarnings("ignore:Output seems independent of input")


@st.composite
def pair_programs(draw: st.DrawFn, max_steps: int = 4) -> Program:
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    leaves = [rng.uniform(-1.5, 1.5, size=shape), rng.uniform(-1.5, 1.5, size=shape)]
    prog = Program(leaves, weights_seed=draw(st.integers(0, 2**16)))
    prog.steps.append((draw(st.sampled_from(sorted(BINARY))),
                       draw(st.sampled_from([(0, 1), (1, 0)]))))
    _draw_steps(draw, prog, draw(st.integers(0, max_steps - 1)))
    return prog


def _f(prog: Program, L: Any) -> Callable[[Any, Any], Any]:
    return lambda y, c: prog.run(L, [y, c])[0]


def _finite(prog: Program) -> bool:
    return all(np.all(np.abs(np.asarray(v)) < 1e4) for v in prog.run(ANP, prog.leaves)[1])


def _weights(prog: Program, k: int) -> np.ndarray:
    return np.random.default_rng(prog.weights_seed + 1000 * k).uniform(
        0.5, 1.5, size=prog.leaves[0].shape)


def _assert_close(ours: Any, ref: Any, what: str, rtol: float = 1e-8) -> None:
    ours, ref = np.asarray(ours), np.asarray(ref)
    assert ours.shape == ref.shape, (what, ours.shape, ref.shape)
    scale = max(1.0, float(np.max(np.abs(ref), initial=0.0)))
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=1e-10 * scale, err_msg=what)


def _central(h: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    x = x.copy()
    g = np.zeros_like(x)
    for j in np.ndindex(x.shape):
        saved = x[j]
        x[j] = saved + eps
        hi = float(h(x))
        x[j] = saved - eps
        lo = float(h(x))
        x[j] = saved
        g[j] = (hi - lo) / (2 * eps)
    return g


def _check_against_differences(prog: Program, h: Callable[[np.ndarray], Any],
                               ours: np.ndarray, what: str, at: tuple[Any, Any]) -> None:
    """Compare ours with central differences of h at the first leaf x0, unless some op sits
    near its kink where h evaluates f: at the point (y, c) = at."""
    if _near_kink(Program(list(at), prog.steps)):
        return
    fd = _central(h, prog.leaves[0])
    scale = max(1.0, float(np.max(np.abs(fd), initial=0.0)))
    np.testing.assert_allclose(ours, fd, rtol=1e-5, atol=1e-6 * scale, err_msg=what)


@quiet_hips
@settings(max_examples=NESTED_EXAMPLES)
@given(pair_programs(), st.sampled_from([0, 1]))
def test_inner_grad_at_the_outer_variable_that_it_also_closes_over(prog: Program,
                                                                   slot: int) -> None:
    """d/dx Σ w ⊙ x ⊙ ∂f/∂(slot)|(x, x): the inner grad takes x as its argument and also
    reads x through the closure; only the argument slot counts as its variable."""
    note(f"shape {prog.leaves[0].shape}, steps {prog.steps}, slot {slot}")
    assume(_finite(prog))
    w = _weights(prog, 1)

    def outer(L: Any, grad: Callable[..., Any], total: Callable[[Any], Any]) -> Any:
        f = _f(prog, L)

        def h(x: Any) -> Any:
            inner = (lambda v: f(v, x)) if slot == 0 else (lambda v: f(x, v))
            return total(w * x * grad(inner)(x))
        return h

    x0 = prog.leaves[0]
    ours = am.grad(outer(AM, am.grad, lambda t: t.sum()))(x0)
    ref = autograd.grad(outer(ANP, autograd.grad, anp.sum))(x0)
    _assert_close(ours, ref, "nested grad vs HIPS autograd")
    first_order = outer(AM, am.grad, np.sum)  # x an ndarray here: nothing is nested
    np.testing.assert_allclose(first_order(x0), outer(ANP, autograd.grad, anp.sum)(x0),
                               rtol=1e-10, atol=1e-12)
    _check_against_differences(prog, first_order, ours, "nested grad vs central differences",
                               at=(x0, x0))


@quiet_hips
@settings(max_examples=NESTED_EXAMPLES)
@given(pair_programs())
def test_inner_grad_at_a_point_computed_from_the_outer_variable(prog: Program) -> None:
    """d/dx Σ w ⊙ ∂f/∂y|(y=½x+a, c=x²): the inner variable is a new vertex downstream of x,
    and f also reads x (through c); both paths from x must count, the inner sweep must not
    run past the inner variable."""
    note(f"shape {prog.leaves[0].shape}, steps {prog.steps}")
    assume(_finite(prog))
    w, a = _weights(prog, 1), prog.leaves[1]

    def outer(L: Any, grad: Callable[..., Any], total: Callable[[Any], Any]) -> Any:
        f = _f(prog, L)
        return lambda x: total(w * grad(lambda y: f(y, x * x))(0.5 * x + a))

    x0 = prog.leaves[0]
    ours = am.grad(outer(AM, am.grad, lambda t: t.sum()))(x0)
    ref = autograd.grad(outer(ANP, autograd.grad, anp.sum))(x0)
    _assert_close(ours, ref, "nested grad vs HIPS autograd")
    _check_against_differences(prog, outer(AM, am.grad, np.sum), ours,
                               "nested grad vs central differences", at=(0.5 * x0 + a, x0 * x0))


@quiet_hips
@settings(max_examples=NESTED_EXAMPLES)
@given(pair_programs())
def test_inner_grad_at_a_constant_point_with_a_closure_over_the_outer_variable(
        prog: Program) -> None:
    """d/dx Σ w ⊙ x ⊙ ∂f/∂y|(y=a, c=x) for a fixed array a: a mixed second derivative."""
    note(f"shape {prog.leaves[0].shape}, steps {prog.steps}")
    assume(_finite(prog))
    w, a = _weights(prog, 1), prog.leaves[1]

    def outer(L: Any, grad: Callable[..., Any], total: Callable[[Any], Any]) -> Any:
        f = _f(prog, L)
        return lambda x: total(w * x * grad(lambda y: f(y, x))(a))

    x0 = prog.leaves[0]
    ours = am.grad(outer(AM, am.grad, lambda t: t.sum()))(x0)
    ref = autograd.grad(outer(ANP, autograd.grad, anp.sum))(x0)
    _assert_close(ours, ref, "nested grad vs HIPS autograd")


@quiet_hips
@settings(max_examples=NESTED_EXAMPLES)
@given(pair_programs())
def test_nested_tuple_argnums_keep_two_aliases_of_one_variable_apart(prog: Program) -> None:
    """d/dx Σ w ⊙ (∂f/∂y − ½ ∂f/∂c)|(x, x), the inner gradients from one argnums=(0, 1) call
    that gets the outer variable in both slots."""
    note(f"shape {prog.leaves[0].shape}, steps {prog.steps}")
    assume(_finite(prog))
    w = _weights(prog, 1)
    f_am, f_anp = _f(prog, AM), _f(prog, ANP)

    def h_am(x: Any) -> Any:
        gy, gc = am.grad(f_am, argnums=(0, 1))(x, x)
        return (w * (gy - 0.5 * gc)).sum()

    def h_anp(x: Any) -> Any:
        gy, gc = autograd.grad(f_anp, 0)(x, x), autograd.grad(f_anp, 1)(x, x)
        return anp.sum(w * (gy - 0.5 * gc))

    x0 = prog.leaves[0]
    ours = am.grad(h_am)(x0)
    _assert_close(ours, autograd.grad(h_anp)(x0), "nested tuple argnums vs HIPS autograd")
    _check_against_differences(prog, h_am, ours, "nested tuple argnums vs central differences",
                               at=(x0, x0))


@quiet_hips
@settings(max_examples=NESTED_EXAMPLES)
@given(pair_programs())
def test_jacobian_of_grad_is_the_hessian(prog: Program) -> None:
    """g(x) = f(x, x): jacobian(grad(g)) and hessian(g) agree exactly, match HIPS autograd's
    hessian and central differences of the gradient, and are symmetric."""
    note(f"shape {prog.leaves[0].shape}, steps {prog.steps}")
    assume(_finite(prog))
    f_am, f_anp = _f(prog, AM), _f(prog, ANP)
    x0 = prog.leaves[0]
    H = am.hessian(lambda x: f_am(x, x))(x0)
    np.testing.assert_array_equal(am.jacobian(am.grad(lambda x: f_am(x, x)))(x0), H)
    _assert_close(H, autograd.hessian(lambda x: f_anp(x, x))(x0), "hessian vs HIPS autograd")
    n = x0.size
    H2 = H.reshape(n, n)
    np.testing.assert_allclose(H2, H2.T, rtol=1e-9, atol=1e-12)
    for i, j in enumerate(np.ndindex(x0.shape)):
        _check_against_differences(prog, lambda x, j=j: am.grad(lambda x: f_am(x, x))(x)[j],
                                   H[j], f"hessian row {i} vs central differences", at=(x0, x0))


@quiet_hips
@settings(max_examples=NESTED_EXAMPLES // 2)
@given(pair_programs(max_steps=3))
def test_third_derivatives_through_three_nested_grads(prog: Program) -> None:
    """x → Σ w₂ ⊙ x ⊙ ∇_y[Σ w₁ ⊙ y ⊙ ∇_z f(z, x ⊙ y)|z=y]|y=x: each level closes over every
    outer variable and is called at the one just outside it."""
    note(f"shape {prog.leaves[0].shape}, steps {prog.steps}")
    assume(_finite(prog))
    w1, w2 = _weights(prog, 1), _weights(prog, 2)

    def outer(L: Any, grad: Callable[..., Any], total: Callable[[Any], Any]) -> Any:
        f = _f(prog, L)

        def h(x: Any) -> Any:
            def middle(y: Any) -> Any:
                return total(w1 * y * grad(lambda z: f(z, x * y))(y))
            return total(w2 * x * grad(middle)(x))
        return h

    x0 = prog.leaves[0]
    ours = am.grad(outer(AM, am.grad, lambda t: t.sum()))(x0)
    _assert_close(ours, autograd.grad(outer(ANP, autograd.grad, anp.sum))(x0),
                  "depth-3 nested grad vs HIPS autograd")
    _check_against_differences(prog, outer(AM, am.grad, lambda t: t.sum()), ours,
                               "depth-3 nested grad vs central differences", at=(x0, x0 * x0))


@st.composite
def multi_leaf_programs(draw: st.DrawFn) -> tuple[Program, tuple[int, ...]]:
    """A program with 2–3 leaves, and argnums: some of its leaves, in any order and sign."""
    prog = draw(programs().filter(lambda p: len(p.leaves) >= 2))
    n = len(prog.leaves)
    chosen = draw(st.permutations(range(n)))[:draw(st.integers(1, n))]
    return prog, tuple(k - n if draw(st.booleans()) else k for k in chosen)


@quiet_hips
@settings(max_examples=NESTED_EXAMPLES)
@given(multi_leaf_programs())
def test_tuple_argnums_equal_separate_single_argnum_calls(case: tuple[Program, Any]) -> None:
    prog, argnums = case
    note(f"shapes {[x.shape for x in prog.leaves]}, steps {prog.steps}, argnums {argnums}")
    assume(_finite(prog))
    leaves = [x.copy() for x in prog.leaves]
    # Arguments not differentiated arrive as ndarrays: as constant tensors, f still returns
    # a Tensor when it reads none of the differentiated ones.
    tensors = lambda xs: [x if isinstance(x, am.Tensor) else am.tensor(x) for x in xs]  # noqa: E731
    f_am = lambda *xs: prog.run(AM, tensors(xs))[0]  # noqa: E731
    f_anp = lambda *xs: prog.run(ANP, list(xs))[0]  # noqa: E731

    value, many = am.value_and_grad(f_am, argnums=argnums)(*leaves)
    assert isinstance(many, tuple) and len(many) == len(argnums)
    np.testing.assert_allclose(value, f_anp(*leaves), rtol=1e-12, atol=1e-12)
    for k, g in zip(argnums, many, strict=True):
        assert type(g) is np.ndarray and g.shape == leaves[k].shape
        np.testing.assert_array_equal(g, am.grad(f_am, argnums=k)(*leaves))
        _assert_close(g, autograd.grad(f_anp, k % len(leaves))(*leaves),
                      f"argnum {k} vs HIPS autograd", rtol=1e-9)

    last = lambda L, xs: prog.run(L, xs)[1][-1]  # noqa: E731
    last_am = lambda *xs: last(AM, tensors(xs))  # noqa: E731
    last_anp = lambda *xs: last(ANP, list(xs))  # noqa: E731
    jacs = am.jacobian(last_am, argnums=argnums)(*leaves)
    assert isinstance(jacs, tuple) and len(jacs) == len(argnums)
    for k, J in zip(argnums, jacs, strict=True):
        np.testing.assert_array_equal(J, am.jacobian(last_am, argnums=k)(*leaves))
        _assert_close(J, autograd.jacobian(last_anp, k % len(leaves))(*leaves),
                      f"jacobian argnum {k} vs HIPS autograd", rtol=1e-9)
    for x, original in zip(leaves, prog.leaves, strict=True):
        np.testing.assert_array_equal(x, original)  # arguments are not written to


# ---- threads -------------------------------------------------------------------------------
#
# Worker threads run random programs on the same shared leaf arrays at once, each in its own
# way (plain backward, under detect_anomaly, functional grads inside no_grad, with grad mode
# switched off for the whole thread, nested grads), with a tiny switch interval so the
# interpreter hands over between threads every few bytecodes. Every result must equal, bit
# for bit, what the same call gave in the main thread alone; the modes each thread sees must
# be its own; and once the graphs are gone nothing may stay locked.

THREADS = 6
ROUNDS = 3
THREAD_EXAMPLES = 10
SHARED_ANOMALY = am.detect_anomaly()  # one instance entered by several threads at once
SHARED_NO_GRAD = am.no_grad()


@SHARED_NO_GRAD
def _evaluate(prog: Program, arrays: list[np.ndarray]) -> Any:
    """The loss without a graph (a function decorated once, called from every thread)."""
    return prog.run(AM, [am.tensor(a, requires_grad=True) for a in arrays])[0]


def _by_backward(prog: Program, arrays: list[np.ndarray]) -> list[Any]:
    leaves = [am.tensor(a, requires_grad=True) for a in arrays]
    loss, _ = prog.run(AM, leaves)
    loss.backward()
    return [loss.item()] + [np.zeros(a.shape) if t.grad is None else np.array(t.grad)
                            for t, a in zip(leaves, arrays, strict=True)]


def _loss(prog: Program) -> Callable[..., Any]:
    return lambda *xs: prog.run(AM, list(xs))[0]


def _work_backward(prog: Program, arrays: list[np.ndarray]) -> list[Any]:
    assert am.is_grad_enabled() and not MODE.anomaly
    return _by_backward(prog, arrays)


def _work_anomaly(prog: Program, arrays: list[np.ndarray]) -> list[Any]:
    with SHARED_ANOMALY:
        assert MODE.anomaly
        with SHARED_ANOMALY:  # re-entered: the inner exit must leave it on
            pass
        assert MODE.anomaly and am.is_grad_enabled()
        result = _by_backward(prog, arrays)
    assert not MODE.anomaly
    return result


def _work_functional(prog: Program, arrays: list[np.ndarray]) -> list[Any]:
    with am.no_grad():
        loss = _evaluate(prog, arrays)
        assert not loss.requires_grad and not am.is_grad_enabled()
        value, grads = am.value_and_grad(_loss(prog), argnums=tuple(range(len(arrays))))(
            *arrays)
        assert not am.is_grad_enabled()
    return [loss.item(), value, *grads]


def _work_off(prog: Program, arrays: list[np.ndarray]) -> list[Any]:
    with am.set_grad_enabled(False):
        loss = prog.run(AM, [am.tensor(a, requires_grad=True) for a in arrays])[0]
        assert not loss.requires_grad
        with am.enable_grad():
            result = _by_backward(prog, arrays)
    return [loss.item(), *result]


def _work_nested(prog: Program, arrays: list[np.ndarray]) -> list[Any]:
    """∇ of Σ‖∇f‖²: a grad of a grad, both with tuple argnums."""
    everything = tuple(range(len(arrays)))

    def squared_norm(*xs: Any) -> Any:
        return sum((g * g).sum() for g in am.grad(_loss(prog), argnums=everything)(*xs))

    return list(am.grad(squared_norm, argnums=everything)(*arrays))


WORK = {"backward": _work_backward, "anomaly": _work_anomaly, "functional": _work_functional,
        "off": _work_off, "nested": _work_nested}


def _run_threads(body: Callable[[int], None], n: int) -> None:
    """Run body(0..n-1) in n threads with a tiny switch interval; re-raise what they raised."""
    errors: list[str] = []

    def guarded(t: int) -> None:
        try:
            body(t)
        except BaseException:
            errors.append(f"thread {t}:\n{traceback.format_exc()}")

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=guarded, args=(t,)) for t in range(n)]
        with am.no_grad():  # the workers start recording all the same: modes are per thread
            for thread in threads:
                thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        sys.setswitchinterval(interval)
    assert not any(thread.is_alive() for thread in threads), "a worker thread hangs"
    assert not errors, errors[0]


@settings(max_examples=THREAD_EXAMPLES)
@given(st.lists(programs().filter(_finite), min_size=2, max_size=3))
def test_threads_on_shared_parameters_get_the_single_threaded_gradients(
        progs: list[Program]) -> None:
    note(f"programs {[([x.shape for x in p.leaves], p.steps) for p in progs]}")
    gc.collect()
    held_before = set(inplace.HELD)
    shared = [p.leaves for p in progs]  # every thread reads these very arrays
    expected = {mode: [work(p, a) for p, a in zip(progs, shared, strict=True)]
                for mode, work in WORK.items()}
    modes = sorted(WORK)
    barrier = threading.Barrier(THREADS, timeout=60)

    def body(t: int) -> None:
        mode = modes[t % len(modes)]
        ambient = mode != "off"
        if not ambient:
            am.set_grad_enabled(False)  # for the rest of this thread, and only this thread
        barrier.wait()
        for _ in range(ROUNDS):
            for i in range(len(progs)):
                k = (i + t) % len(progs)  # threads start on different programs
                assert am.is_grad_enabled() is ambient and not MODE.anomaly, mode
                got = WORK[mode](progs[k], shared[k])
                assert len(got) == len(expected[mode][k])
                for ours, ref in zip(got, expected[mode][k], strict=True):
                    np.testing.assert_array_equal(ours, ref, err_msg=f"{mode}, program {k}")
        assert am.is_grad_enabled() is ambient and not MODE.anomaly, mode

    _run_threads(body, THREADS)
    assert am.is_grad_enabled() and not MODE.anomaly
    gc.collect()
    assert set(inplace.HELD) == held_before
    for arrays, prog in zip(shared, progs, strict=True):
        for a in arrays:
            assert a.flags.writeable and not inplace.is_held(a)
        assert all(a is b for a, b in zip(arrays, prog.leaves, strict=True))


# Grad and anomaly modes against a model: a script is a tree of mode blocks (context
# managers, decorators with and without parentheses, instances shared by every thread and
# re-entered) around checks and set_grad_enabled(...) calls. A grad block restores the grad
# mode it found on exit (even after a call inside it changed the mode), an anomaly block
# restores only the anomaly mode. Several threads play their own scripts at once.

GRAD_BLOCKS = {
    "no_grad": (False, lambda run: _with(am.no_grad(), run)),
    "enable_grad": (True, lambda run: _with(am.enable_grad(), run)),
    "set_false": (False, lambda run: _with(am.set_grad_enabled(False), run)),
    "set_true": (True, lambda run: _with(am.set_grad_enabled(True), run)),
    "shared_no_grad": (False, lambda run: _with(SHARED_NO_GRAD, run)),
    "decorated_no_grad": (False, lambda run: am.no_grad()(run)()),
    "bare_no_grad": (False, lambda run: am.no_grad(run)()),
    "bare_enable_grad": (True, lambda run: am.enable_grad(run)()),
    "shared_decorated_no_grad": (False, lambda run: SHARED_NO_GRAD(run)()),
}
ANOMALY_BLOCKS = {
    "anomaly": lambda run: _with(am.detect_anomaly(), run),
    "shared_anomaly": lambda run: _with(SHARED_ANOMALY, run),
    "decorated_anomaly": lambda run: am.detect_anomaly()(run)(),
    "bare_anomaly": lambda run: am.detect_anomaly(run)(),
}


def _with(manager: Any, run: Callable[[], None]) -> None:
    with manager:
        run()


def _scripts(blocks: list[str]) -> st.SearchStrategy[list[Any]]:
    steps = st.recursive(
        st.one_of(st.just(("check",)), st.tuples(st.just("call"), st.booleans())),
        lambda inner: st.tuples(st.sampled_from(blocks), st.lists(inner, max_size=3)),
        max_leaves=10)
    return st.lists(steps, min_size=1, max_size=4)


class _Model:
    """What the modes should be, in the thread that plays the script."""

    def __init__(self) -> None:
        self.grad, self.anomaly = True, 0

    def check(self) -> None:
        assert am.is_grad_enabled() is self.grad
        assert MODE.anomaly is (self.anomaly > 0)
        assert (am.tensor([1.0], requires_grad=True) * 2.0).requires_grad is self.grad

    def play(self, script: list[Any]) -> None:
        for step in script:
            if step[0] == "check":
                self.check()
            elif step[0] == "call":
                am.set_grad_enabled(step[1])
                self.grad = step[1]
            elif step[0] in GRAD_BLOCKS:
                value, enter = GRAD_BLOCKS[step[0]]
                found, self.grad = self.grad, value
                enter(lambda body=step[1]: self.play(body))
                self.grad = found
            else:
                self.anomaly += 1
                ANOMALY_BLOCKS[step[0]](lambda body=step[1]: self.play(body))
                self.anomaly -= 1
            self.check()


@settings(max_examples=THREAD_EXAMPLES * 3)
@given(st.lists(_scripts(sorted(GRAD_BLOCKS) + sorted(ANOMALY_BLOCKS)), min_size=4,
                max_size=4))
def test_each_thread_sees_its_own_grad_and_anomaly_modes(scripts: list[list[Any]]) -> None:
    def body(t: int) -> None:
        model = _Model()
        for _ in range(5):
            model.play(scripts[t])
        model.check()

    _run_threads(body, len(scripts))
    assert am.is_grad_enabled() and not MODE.anomaly


def test_decorating_with_set_grad_enabled_leaves_the_mode_alone() -> None:
    try:
        @am.set_grad_enabled(False)
        def evaluate() -> bool:
            return am.is_grad_enabled()

        assert am.is_grad_enabled(), "decorating turned recording off"
        assert evaluate() is False and am.is_grad_enabled()
    finally:
        am.set_grad_enabled(True)
