"""am.compile: the generated code reads as written by hand and computes what eager autodiff does.

Golden text for the two regressions of the seeds; the compiled value and gradients against
am.value_and_grad for every op case of the registry (tests/test_ops.py) and for random
programs (tests/test_properties.py); retracing, tuple argnums, check=True, hostile names and
graphs too large to write out.
"""

from __future__ import annotations

import ast
import importlib
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

import autograd_mini as am
from autograd_mini.compile import CompileCheckError
from tests.test_ops import CASES
from tests.test_properties import AM, Program, programs

compile_module = importlib.import_module("autograd_mini.compile")  # am.compile is the function
RNG = np.random.default_rng(0)
X = RNG.normal(size=(100, 3))
y = RNG.normal(size=(100, 1))


def mse(w: Any) -> Any:
    return ((X @ w - y) ** 2).mean()


MSE_CODE = '''\
def mse_value_and_grad(w):
    """mse(w) and its gradient with respect to w, for w (3, 1) float64."""
    r = X @ w - y
    loss = np.vdot(r, r) / 100

    # mean: mean(x) = Σ(x) / N, so each of the N elements gets 1/N of the upstream gradient: the
    #   1/N comes from here
    # pow 2: power rule: d(xᵖ)/dx = p·xᵖ⁻¹ (for a square, the 2 in front comes from here)
    # sub: subtraction passes the gradient to the left side and its negative to the right
    # matmul: entry by entry, (AB)ᵢₖ = Σⱼ Aᵢⱼ Bⱼₖ, so ∂L/∂Bⱼₖ = Σᵢ Aᵢⱼ ḡᵢₖ, entry (j, k) of Aᵀ
    #   times ḡ, and ∂L/∂Aᵢⱼ = Σₖ ḡᵢₖ Bⱼₖ, entry (i, j) of ḡ times Bᵀ: that is where the
    #   transpose comes from (the shapes agree, which is a handy check)
    g_w = X.T @ r * (2 / 100)
    return loss, g_w
'''

BIAS_CODE = '''\
def linear_value_and_grad(W, b, X, Y):
    """linear(W, b, X, Y) and its gradient with respect to W, b, for W (3, 2) float64, b (2,)
    float64, X (100, 3) float64, Y (100, 2) float64."""
    r = X @ W + b - Y
    loss = np.vdot(r, r) / 200

    # mean: mean(x) = Σ(x) / N, so each of the N elements gets 1/N of the upstream gradient: the
    #   1/N comes from here
    # pow 2: power rule: d(xᵖ)/dx = p·xᵖ⁻¹ (for a square, the 2 in front comes from here)
    # sub: subtraction passes the gradient to the left side and its negative to the right
    # add: addition passes the gradient through unchanged to both sides
    # b (2,) was broadcast to (100, 2) in the forward pass, so its gradient sums over axis 0
    g_b = np.sum(r * (2 / 200), axis=0)
    # matmul: entry by entry, (AB)ᵢₖ = Σⱼ Aᵢⱼ Bⱼₖ, so ∂L/∂Bⱼₖ = Σᵢ Aᵢⱼ ḡᵢₖ, entry (j, k) of Aᵀ
    #   times ḡ, and ∂L/∂Aᵢⱼ = Σₖ ḡᵢₖ Bⱼₖ, entry (i, j) of ḡ times Bᵀ: that is where the
    #   transpose comes from (the shapes agree, which is a handy check)
    g_W = X.T @ r * (2 / 200)
    return loss, (g_W, g_b)
'''


def linear(W: Any, b: Any, X: Any, Y: Any) -> Any:
    return am.mean((X @ W + b - Y) ** 2)


def assert_same(got: Any, want: Any, rtol: float = 1e-12) -> None:
    """Same shape and dtype, and equal to `rtol` of the larger magnitude."""
    got, want = np.asarray(got), np.asarray(want)
    assert type(got) is np.ndarray
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype,
                                                                  want.shape, want.dtype)
    scale = max(float(np.max(np.abs(want), initial=0.0)), 1e-300)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale)


def assert_matches_eager(f: Any, args: list[Any], argnums: Any) -> Any:
    cf = am.compile(f, argnums=argnums)
    value, grads = cf(*args)
    want_value, want_grads = am.value_and_grad(f, argnums=argnums)(*args)
    assert_same(value, want_value)
    many = not isinstance(argnums, int)
    for g, e in zip(grads if many else [grads], want_grads if many else [want_grads],
                    strict=True):
        assert_same(g, e)
    return cf


# ---- the code a learner reads -------------------------------------------------------------


def test_mse_code_is_the_textbook_gradient() -> None:
    w = RNG.normal(size=(3, 1))
    assert am.gradient_code(mse, w) == MSE_CODE
    cf = assert_matches_eager(mse, [w], 0)
    assert cf.code == MSE_CODE
    value, g = cf(w)
    assert_same(g, 2 / 100 * X.T @ (X @ w - y))


def test_bias_code_sums_the_broadcast_gradient_over_axis_0() -> None:
    W, b, Y = RNG.normal(size=(3, 2)), RNG.normal(size=2), RNG.normal(size=(100, 2))
    assert am.gradient_code(linear, W, b, X, Y, argnums=(0, 1)) == BIAS_CODE
    cf = assert_matches_eager(linear, [W, b, X, Y], (0, 1))
    _, (_, g_b) = cf(W, b, X, Y)
    assert_same(g_b, 2 / 200 * (X @ W + b - Y).sum(axis=0))


def test_code_runs_alone_with_numpy() -> None:
    """The printed function is the whole computation: exec it with X and y and compare."""
    w = RNG.normal(size=(3, 1))
    space: dict[str, Any] = {"np": np, "X": X, "y": y}
    exec(am.gradient_code(mse, w), space)
    value, g = space["mse_value_and_grad"](w)
    want = am.value_and_grad(mse)(w)
    assert_same(np.asarray(value), want[0])
    assert_same(g, want[1])


# ---- every op of the table, and random programs ------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_every_op_compiles_to_eager_results(name: str, data: st.DataObject) -> None:
    fn, inputs = CASES[name](data)
    weights = np.random.default_rng(1).normal(size=fn(*[am.tensor(x) for x in inputs]).shape)

    def loss(*ts: Any) -> Any:
        return (fn(*ts) * weights).sum()

    cf = assert_matches_eager(loss, inputs, tuple(range(len(inputs))))
    note(cf.code)


@settings(max_examples=200)
@given(programs())
def test_random_programs_compile_to_eager_results(prog: Program) -> None:
    note(f"shapes {[x.shape for x in prog.leaves]}, steps {prog.steps}")
    leaves = [x.copy() for x in prog.leaves]

    def f(*xs: Any) -> Any:
        return prog.run(AM, list(xs))[0]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value, _ = am.value_and_grad(f, argnums=tuple(range(len(leaves))))(*leaves)
        assume(np.isfinite(value))
        cf = assert_matches_eager(f, leaves, tuple(range(len(leaves))))
    note(cf.code)


# ---- signatures: traced once per shapes and dtypes ------------------------------------------


def test_same_signature_runs_the_code_without_calling_f_again() -> None:
    calls = []

    def f(w: Any, X: Any, y: Any) -> Any:
        calls.append(1)
        return ((X @ w - y) ** 2).mean()

    cf = am.compile(f)
    assert cf.code is None
    w = RNG.normal(size=(3, 1))
    cf(w, X, y)
    first = cf.code
    for scale in (2.0, -1.0):  # new values, same shapes and dtypes
        value, g = cf(w * scale, X * scale, y)
        want = am.value_and_grad(f)(w * scale, X * scale, y)
        assert_same(value, want[0])
        assert_same(g, want[1])
    assert len(calls) == 1 + 2  # one trace, then only the two eager references above
    assert cf.code == first


def test_new_shape_traces_again() -> None:
    def f(w: Any, X: Any, y: Any) -> Any:
        return ((X @ w - y) ** 2).mean()

    cf = am.compile(f)
    w = RNG.normal(size=(3, 1))
    cf(w, X, y)
    assert "(2 / 100)" in (cf.code or "")
    value, g = cf(w, X[:40], y[:40])
    assert "(2 / 40)" in (cf.code or "") and "X (40, 3)" in (cf.code or "")
    assert_same(g, am.grad(f)(w, X[:40], y[:40]))
    cf(w, X, y)  # back to the first signature: its code again
    assert "(2 / 100)" in (cf.code or "")


def test_float32_stays_float32() -> None:
    def f(w: Any, X: Any, y: Any) -> Any:
        return ((X @ w - y) ** 2).mean() + 0.5 * (w ** 2).sum()

    cf = am.compile(f)
    w = RNG.normal(size=(3, 1))
    cf(w, X, y)
    args32 = [a.astype(np.float32) for a in (w, X, y)]
    value, g = cf(*args32)
    assert value.dtype == np.float32 and g.dtype == np.float32
    assert "float32" in (cf.code or "")
    want = am.value_and_grad(f)(*args32)
    assert want[1].dtype == np.float32
    assert_same(value, want[0], rtol=1e-6)
    assert_same(g, want[1], rtol=1e-6)


def test_integer_variables_become_float64_as_in_value_and_grad() -> None:
    def f(x: Any) -> Any:
        return (x ** 2).sum()

    value, g = am.compile(f)(np.arange(3))
    assert g.dtype == np.float64
    assert_same(g, 2.0 * np.arange(3))


def test_tuple_argnums_in_any_order() -> None:
    a, b = RNG.normal(size=(2, 3)), RNG.normal(size=(3,))

    def f(a: Any, b: Any) -> Any:
        return (am.tanh(a * b) ** 2).sum()

    for argnums in ((1, 0), (0,), (-1,), 1, (0, 1)):
        assert_matches_eager(f, [a, b], argnums)
    _, grads = am.compile(f, argnums=(0,))(a, b)
    assert isinstance(grads, tuple) and len(grads) == 1
    with pytest.raises(ValueError, match="argnums"):
        am.compile(f, argnums=(0, 0))(a, b)


def test_numbers_integer_arrays_and_keywords_are_constants_compared_by_value() -> None:
    W = RNG.normal(size=(3, 4))

    def nll(W: Any, X: Any, labels: Any, scale: float, *, l2: float = 0.0) -> Any:
        z = X @ W * scale
        picked = am.log_softmax(z, axis=1)[np.arange(len(labels)), labels]
        return -picked.mean() + l2 * (W ** 2).sum()

    cf = am.compile(nll)
    labels = RNG.integers(0, 4, size=100)
    for lab, scale, l2 in ((labels, 1.0, 0.0), (labels[::-1].copy(), 1.0, 0.0),
                           (labels, 2.0, 0.0), (labels, 2.0, 0.1)):
        value, g = cf(W, X, lab, scale, l2=l2)
        want = am.value_and_grad(nll)(W, X, lab, scale, l2=l2)
        assert_same(value, want[0])
        assert_same(g, want[1])
    assert len(cf._programs) == 4


def test_gradient_of_an_unused_argument_is_zeros() -> None:
    value, (ga, gb) = am.compile(lambda a, b: (a ** 2).sum(), argnums=(0, 1))(
        np.ones(3), np.ones((2, 2), dtype=np.float32))
    assert_same(gb, np.zeros((2, 2), dtype=np.float32))


def test_results_never_alias_inputs_or_each_other() -> None:
    x, y_ = RNG.normal(size=3), RNG.normal(size=3)
    _, (gx, gy) = am.compile(lambda a, b: (a * b).sum(), argnums=(0, 1))(x, y_)
    assert_same(gx, y_)
    gx += 1  # the gradient is the user's own array
    assert not np.shares_memory(gx, y_) and not np.shares_memory(gy, x)
    _, (g1, g2) = am.compile(lambda a, b: (a + b).sum(), argnums=(0, 1))(x, y_)
    assert not np.shares_memory(g1, g2)


def test_arrays_are_writable_again_after_tracing() -> None:
    w, Xc = RNG.normal(size=(3, 1)), X.copy()
    am.compile(lambda w, X: ((X @ w) ** 2).mean())(w, Xc)
    assert w.flags.writeable and Xc.flags.writeable and X.flags.writeable


def test_tensors_and_nested_transforms_run_eagerly() -> None:
    cf = am.compile(lambda x: (x ** 3).sum())
    x = RNG.normal(size=3)
    # inside am.grad the argument is a Tensor: cf falls back to value_and_grad, so the
    # second derivative still flows (6x for Σx³)
    hess_diag = am.grad(lambda t: (cf(t)[1] * np.ones(3)).sum())(x)
    assert_same(hess_diag, 6 * x)


def test_code_is_compiled_with_numpy_and_helpers_only() -> None:
    """The namespace: numpy, `slice`, and functions of the op table (forwards, rules)."""
    from autograd_mini.ops import OPS

    cf = am.compile(lambda x: x.max(axis=0).sum() + am.sigmoid(x).mean())
    cf(RNG.normal(size=(3, 4)))
    program = next(iter(cf._programs.values()))
    space = program.fn.__globals__
    assert space["np"] is np and space["__builtins__"] == {"slice": slice}
    table = {id(op.forward) for op in OPS.values()} | {id(r) for op in OPS.values()
                                                       for r in op.vjps}
    helpers = set(space) - {"np", "__builtins__", program.fn.__name__}
    assert helpers and all(id(getattr(space[k], "func", space[k])) in table for k in helpers)


def test_the_code_in_the_docs_is_what_compile_writes() -> None:
    from pathlib import Path

    text = (Path(__file__).parent.parent / "docs" / "compile.md").read_text()
    assert MSE_CODE in text


# ---- control flow that reads values ---------------------------------------------------------


def branchy(x: Any) -> Any:
    if x.sum() > 0:  # a Python branch on a value: fixed when the code is written
        return (x ** 2).sum()
    return (x ** 3).sum()


def test_check_catches_a_branch_on_values() -> None:
    pos, neg = np.array([1.0, 2.0]), np.array([-1.0, -2.0])
    cf = am.compile(branchy, check=True)
    cf(pos)
    cf(2 * pos)  # the same branch: agrees
    with pytest.raises(CompileCheckError, match="branches that call took"):
        cf(neg)


def test_without_check_the_traced_branch_is_kept() -> None:
    """What docs/compile.md warns about: the code follows the first call's branch."""
    cf = am.compile(branchy)
    cf(np.array([1.0, 2.0]))
    _, g = cf(np.array([-1.0, -2.0]))
    assert_same(g, 2 * np.array([-1.0, -2.0]))  # x² 's gradient, not x³ 's


# ---- names from users are never code -------------------------------------------------------


HOSTILE = ["x; import os", "class", "np", "__import__('os').system('true')", "g_w", "loss",
           "a\nimport os", "w", "ﬁ", "sum", ""]


def test_hostile_names_become_safe_names() -> None:
    C = am.tensor(RNG.normal(size=(100, 1)), name="C\nimport os")

    def f(w: Any) -> Any:
        values = [X @ w]
        for name in HOSTILE:
            t = values[-1] * 1.5 + C
            t.name = name
            values.append(t)
        out = (values[-1] ** 2).mean()
        out.name = "loss; import os"
        return out

    w = RNG.normal(size=(3, 1))
    cf = assert_matches_eager(f, [w], 0)
    names = assert_plain_code(cf.code or "")
    assert {"X", "w", "g_w", "loss"} <= names  # outputs and arguments keep their names
    assigned = {t.id for s in ast.walk(ast.parse(cf.code or "")) if isinstance(s, ast.Assign)
                for t in s.targets if isinstance(t, ast.Name)}
    assert not assigned & {"np", "sum", "fi", "class"}  # nothing hides numpy or a builtin


def assert_plain_code(code: str) -> set[str]:
    """The code is one function of assignments and a return, whose every comment is a whole
    line; returns the names it assigns and reads."""
    tree = ast.parse(code)
    (fn,) = tree.body
    assert isinstance(fn, ast.FunctionDef)
    doc, *body, ret = fn.body
    assert isinstance(doc, ast.Expr) and isinstance(ret, ast.Return)
    assert all(isinstance(s, ast.Assign) and len(s.targets) == 1 for s in body)
    for line in code.splitlines():
        text = line.strip()
        if "import" in text or "os" in text.split():
            assert text.startswith("#"), line
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert all(n.isascii() and n.isidentifier() and not n.startswith("__") for n in names)
    return names | {a.arg for a in fn.args.args}


def test_hostile_parameter_names_and_op_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    from autograd_mini.ops import OPS

    evil = am.defop("evil_compile_test", lambda x: x * 2, (lambda g, x, out: g * 2,),
                    why="doubles\nimport os", label=lambda: "evil\rimport os")
    try:
        def f(np: Any, class_: Any) -> Any:  # a parameter called np must not hide numpy
            return (evil(np) * class_).sum()

        cf = assert_matches_eager(f, [RNG.normal(size=3), RNG.normal(size=3)], (0, 1))
        assert_plain_code(cf.code or "")
        assert "def f_value_and_grad(x0, class_):" in (cf.code or "")
        assert "# evil import os: doubles import os" in (cf.code or "")  # one comment line
    finally:
        del OPS["evil_compile_test"]


# ---- graphs too large to write out ---------------------------------------------------------


def _chain(depth: int) -> Any:
    a = np.linspace(0.5, 1.0, 16)

    def chain(x: Any) -> Any:
        for _ in range(depth):
            x = (x * a).tanh()
        return x.sum()
    return chain


def test_large_graphs_replay_the_tape(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compile_module, "MAX_SOURCE_OPS", 50)
    x = RNG.normal(size=16)
    cf = assert_matches_eager(_chain(30), [x], 0)  # 61 ops: replayed
    assert (cf.code or "").startswith("# chain: 61 recorded ops, more than am.compile writes")
    assert_matches_eager(_chain(20), [x], 0)  # 41 ops: written out
    with pytest.raises(ValueError, match="more than am.compile writes out as source"):
        am.gradient_code(_chain(30), x)


def test_a_100000_op_chain_replays_the_tape() -> None:
    depth = 50_000
    x = RNG.normal(size=16)
    cf = am.compile(_chain(depth))
    value, g = cf(x)
    assert "100,001 recorded ops" in (cf.code or "")
    a = np.linspace(0.5, 1.0, 16)
    outs, h = [], x  # the same chain by hand
    for _ in range(depth):
        h = np.tanh(h * a)
        outs.append(h)
    want = np.ones(16)
    for t in reversed(outs):
        want = want * (1 - t * t) * a
    assert_same(value, np.asarray(h.sum()))
    assert_same(g, want)
    _, g2 = cf(2 * x)  # the tape again, on new values
    assert np.all(np.isfinite(g2)) and not np.allclose(g2, g)


def test_a_numpy_call_needing_a_data_argument_says_why_it_fails() -> None:
    def f(w: Any, X: Any) -> Any:
        return ((np.asarray(X) @ w) ** 2).sum()

    with pytest.raises(TypeError) as info:
        am.compile(f)(np.ones((2, 1)), np.ones((5, 2)))
    if hasattr(info.value, "__notes__"):
        assert "the data ones too (X)" in " ".join(info.value.__notes__)


@pytest.mark.parametrize("reduce", ["mean", "sum"])
def test_a_vectors_sum_of_squares_is_a_dot_product(reduce: str) -> None:
    """Σ r² and mean(r²) of a vector as r @ r: the code keeps no N-sized r ** 2."""
    v = y.reshape(-1)

    def loss(w: Any) -> Any:
        r = X @ w - v
        return getattr(r ** 2, reduce)()

    w = RNG.normal(size=3)
    code = am.gradient_code(loss, w)
    assert "r @ r" in code and "r ** 2" not in code
    # The 2 (and the 1/N) scale the short product, not r.
    assert "X.T @ r * (2" in code or "X.T @ r * 2" in code
    assert_matches_eager(loss, [w], 0)
    for dtype in (np.float32, np.float64):
        cf = am.compile(loss)
        value, g = cf(w.astype(dtype))
        want_value, want_g = am.value_and_grad(loss)(w.astype(dtype))
        assert_same(np.asarray(value), want_value)
        assert g.dtype == want_g.dtype
