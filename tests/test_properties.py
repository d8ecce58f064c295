"""Property tests: random expression graphs, every gradient checked two independent ways.

Hypothesis draws a program: 1–3 leaves with random broadcastable shapes, then 1–7 steps, each
an op from the table below applied to earlier values (so sub-expressions are shared and
values are used twice or more). The loss is a weighted sum of every intermediate value, so
every step's VJP matters. Its gradient with respect to every leaf must match
- central differences in float64, and
- HIPS autograd running the very same program on autograd.numpy.

CI runs EXAMPLES derandomized examples (a fixed seed, so failures reproduce).
"""

from __future__ import annotations

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

    @staticmethod
    def reduce(x: Any, how: str, axis: Any, keepdims: bool) -> Any:
        return getattr(x, how)(axis=axis, keepdims=keepdims)

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

    @staticmethod
    def reduce(x: Any, how: str, axis: Any, keepdims: bool) -> Any:
        return getattr(anp, how)(x, axis=axis, keepdims=keepdims)

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


def _mask(shape: tuple[int, ...]) -> np.ndarray:
    return (np.arange(int(np.prod(shape))).reshape(shape) % 2).astype(bool)


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
}


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
    shapes = [x.shape for x in leaves]
    for _ in range(draw(st.integers(1, 7))):
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
    return prog


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

    ref_grads = autograd.grad(lambda xs: prog.run(ANP, xs)[0])(list(prog.leaves))
    check_fd = not _near_kink(prog)
    for k, (t, ref) in enumerate(zip(leaves, ref_grads, strict=True)):
        ours = t.grad if t.grad is not None else np.zeros_like(prog.leaves[k])
        assert ours.shape == prog.leaves[k].shape
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
    """The program table covers every registered op (scatter is reached via getitem)."""
    from autograd_mini.ops import OPS
    covered = {"add", "sub", "mul", "div", "neg", "pow", "power", "exp", "log", "sqrt", "tanh",
               "sigmoid", "relu", "abs", "clip", "maximum", "minimum", "where", "matmul", "sum",
               "mean", "max", "min", "logsumexp", "softmax", "log_softmax", "reshape",
               "transpose", "broadcast_to", "getitem", "scatter", "concatenate"}
    assert set(OPS) <= covered, set(OPS) - covered
