"""Never a silent wrong gradient: every misuse gives a clear error of the right type.

Each bad input from the reliability issue is one test below, checking the exception type
and the words the message must contain (the op, the user's tensor names and shapes, the fix).
"""

from __future__ import annotations

import gc
import operator
import tracemalloc
import weakref

import numpy as np
import pytest

import autograd_mini as am
from autograd_mini import inplace
from autograd_mini.graph import toposort


def param(shape: tuple[int, ...] = (3,), name: str = "w") -> am.Tensor:
    return am.tensor(np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape), requires_grad=True,
                     name=name)


# ---- backward misuse ----------------------------------------------------------------------


def test_backward_twice_without_retain_graph() -> None:
    w = param()
    loss = (w * w).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="backward through sum .* a second time") as e:
        loss.backward()
    assert "retain_graph=True" in str(e.value)


def test_backward_twice_with_retain_graph_accumulates() -> None:
    w = param()
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(w.grad, 4 * w.data)


def test_backward_on_non_scalar_without_grad() -> None:
    y = param((2, 3)) * 2
    with pytest.raises(ValueError, match=r"scalar \(0-d\).*shape \(2, 3\).*loss.sum\(\)"):
        y.backward()


def test_shape_one_result_still_needs_grad() -> None:
    y = param((1,)) * 2
    with pytest.raises(ValueError, match="scalar"):
        y.backward()
    y.backward(np.ones(1))


def test_backward_with_grad_of_the_wrong_shape() -> None:
    y = param((2, 3)) * 2
    with pytest.raises(ValueError, match=r"grad has shape \(3, 2\).*shape \(2, 3\)"):
        y.backward(np.ones((3, 2)))


@pytest.mark.parametrize("bad, kind, words", [
    (None, None, None),  # None means "no grad": the scalar check applies (tested above)
    ("ones", TypeError, "string"),
    ([[1.0, 2.0, 3.0], [4.0]], ValueError, "ragged"),
    (np.array([None] * 6, dtype=object).reshape(2, 3), TypeError, "dtype object"),
])
def test_backward_with_a_grad_that_is_not_numbers(bad: object, kind: type, words: str) -> None:
    if kind is None:
        return
    y = param((2, 3)) * 2
    with pytest.raises(kind, match=words):
        y.backward(bad)


def test_backward_on_a_constant() -> None:
    c = am.tensor([1.0, 2.0]).sum()
    with pytest.raises(RuntimeError, match="does not require grad.*requires_grad=True"):
        c.backward()


def test_tensor_computed_under_no_grad_then_backward() -> None:
    w = param()
    with am.no_grad():
        loss = (w * w).sum()
    assert not loss.requires_grad
    with pytest.raises(RuntimeError, match=r"am\.no_grad\(\)"):
        loss.backward()


# ---- mutation after forward ---------------------------------------------------------------


def test_rebinding_data_after_forward_names_tensor_op_and_versions() -> None:
    w = param(name="weights")
    loss = (w * w).sum()
    w.data = np.zeros(3)
    with pytest.raises(RuntimeError) as e:
        loss.backward()
    msg = str(e.value)
    for words in ("'weights'", "shape (3,)", "mul saved it", "version 0 then, 1 now",
                  "Change data only after backward()"):
        assert words in msg


def test_in_place_update_before_backward_is_refused() -> None:
    w = param()
    loss = (w * w).sum()
    w.data -= 0.1  # copy-on-write: the graph keeps the values it saw
    with pytest.raises(RuntimeError, match="version 0 then, 1 now"):
        loss.backward()


def test_item_assignment_through_data_after_forward_is_refused() -> None:
    w = param()
    loss = (w * w).sum()
    w.data[0] = 100.0
    with pytest.raises(RuntimeError, match=r"written through \.data\[\.\.\.\]"):
        loss.backward()


def test_reading_data_between_forward_and_backward_is_fine() -> None:
    w = param()
    loss = (w * w).sum()
    snapshot = w.data.copy()
    print(w.data, w.numpy())
    loss.backward()
    np.testing.assert_allclose(w.grad, 2 * snapshot)


def test_writing_the_users_own_array_after_forward_is_refused_by_numpy() -> None:
    a = np.array([1.0, 2.0, 3.0])
    w = am.tensor(a, requires_grad=True, name="w")  # not copied: w shares a
    loss = (w * w).sum()
    with pytest.raises(ValueError, match="read-only"):
        a[0] = 100.0
    loss.backward()
    np.testing.assert_allclose(w.grad, [2.0, 4.0, 6.0])
    a[0] = 100.0  # the graph let go: writable again


def test_a_constant_array_operand_is_protected_too() -> None:
    x = np.array([1.0, 2.0, 3.0])
    w = param()
    loss = (w * x).sum()
    with pytest.raises(ValueError, match="read-only"):
        x += 1
    loss.backward()
    np.testing.assert_allclose(w.grad, [1.0, 2.0, 3.0])


def test_writing_a_saved_intermediate_is_refused() -> None:
    x = param(name="x")
    y = x.exp()  # exp saves its output for backward
    loss = y.sum()
    y.data[1] = 0.0
    with pytest.raises(RuntimeError, match=r"output of exp .*exp saved it"):
        loss.backward()


def test_writing_through_a_view_of_a_saved_array_cannot_corrupt_it() -> None:
    x = param((4,), name="x")
    y = x[1:3]  # a view of x's memory, saved by mul below
    loss = (y * y).sum()
    x.data[1] = 50.0
    loss.backward()  # the graph kept the values it saw: the gradient is exact for that loss
    np.testing.assert_array_equal(x.grad, [0.0, 4.0, 6.0, 0.0])


def test_changing_an_index_array_after_forward_cannot_change_the_gradient() -> None:
    idx = np.array([0, 0, 2])
    w = param()
    loss = w[idx].sum()
    idx[:] = 1
    loss.backward()
    np.testing.assert_allclose(w.grad, [2.0, 0.0, 1.0])


def test_training_loop_reads_naturally_and_w_is_writable_after_backward() -> None:
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = X @ np.array([[1.0], [-2.0], [0.5]])
    w = am.tensor(np.zeros((3, 1)), requires_grad=True, name="w")
    for _ in range(200):
        loss = ((am.tensor(X) @ w - y) ** 2).mean()
        loss.backward()
        assert w.data.flags.writeable
        w.data -= 0.1 * w.grad
        w.grad = None
    np.testing.assert_allclose(w.data.ravel(), [1.0, -2.0, 0.5], atol=1e-3)
    gc.collect()  # graphs kept alive by earlier tests' tracebacks
    assert not inplace.HELD


def test_update_while_an_unused_graph_is_alive() -> None:
    w = param()
    val = (w * w).sum()  # evaluated, never differentiated: its graph stays alive
    loss = (w * 3).sum()
    loss.backward()
    w.data -= 0.1 * w.grad  # works: w gets a private copy
    w.grad = None
    np.testing.assert_allclose(w.data, [0.7, 1.7, 2.7])
    np.testing.assert_allclose(val.data, 14.0)  # the old graph kept the values it saw
    with pytest.raises(RuntimeError, match="modified in place"):
        val.backward()


def test_dropping_a_graph_makes_its_arrays_writable_again() -> None:
    a = np.ones(3)
    w = am.tensor(a, requires_grad=True)
    loss = (w * w).sum()
    assert not a.flags.writeable
    del loss
    gc.collect()
    assert a.flags.writeable and not inplace.HELD


def test_arrays_shared_by_two_graphs_stay_read_only_until_both_let_go() -> None:
    a = np.ones(3)
    w = am.tensor(a, requires_grad=True)
    first, second = (w * w).sum(), (w * 2 * w).sum()
    first.backward()
    assert not a.flags.writeable
    second.backward()
    assert a.flags.writeable


# ---- bad data -----------------------------------------------------------------------------


def test_integer_data_with_requires_grad_becomes_float64() -> None:
    w = am.tensor([1, 2, 3], requires_grad=True)
    assert w.dtype == np.float64
    (w * w).sum().backward()
    assert w.grad.dtype == np.float64


def test_explicit_integer_dtype_cannot_require_grad() -> None:
    with pytest.raises(TypeError, match=r"dtype=int64, requires_grad=True.*dtype=float"):
        am.tensor([1, 2, 3], dtype=np.int64, requires_grad=True)


def test_integer_tensor_in_an_op_that_needs_floats() -> None:
    n = am.tensor([1, 2, 3], name="n")
    with pytest.raises(ValueError) as e:
        n ** -1
    msg = str(e.value)
    assert "pow n (3,)" in msg and "Integers to negative" in msg and "dtype=float" in msg


def test_integer_data_assigned_to_a_parameter_becomes_float() -> None:
    w = param()
    w.data = np.array([1, 2, 3])
    assert w.dtype == np.float64


@pytest.mark.parametrize("data, kind, words", [
    (None, TypeError, r"am\.tensor\(None\)"),
    ("abc", TypeError, "not numeric"),
    (["1.0", "x"], TypeError, "not numeric"),
    (np.array([1, "a"], dtype=object), TypeError, "dtype object is not numeric"),
    ({"a": 1}, TypeError, "not numeric"),
    ([[1.0, 2.0], [3.0]], ValueError, "rectangular"),
    ([1.0, [2.0, 3.0]], ValueError, "rectangular"),
])
def test_bad_data_to_tensor(data: object, kind: type, words: str) -> None:
    with pytest.raises(kind, match=words):
        am.tensor(data)


@pytest.mark.parametrize("other, kind, words", [
    (None, TypeError, "the right operand is None"),
    ("2.0", TypeError, "the right operand is the string '2.0'"),
    ([[1.0, 2.0], [3.0]], ValueError, "ragged list: the right operand is ragged"),
    (np.array([1, "a"], dtype=object), TypeError, "dtype object"),
    (np.array([1.0, 2.0, 3.0], dtype=object), TypeError, "dtype object"),
    (np.array(["a", "b", "c"]), TypeError, "dtype <U1"),
])
@pytest.mark.parametrize("op", ["add", "sub", "mul", "truediv", "pow", "matmul"])
def test_bad_operands_to_every_operator(op: str, other: object, kind: type,
                                        words: str) -> None:
    w = param(name="w")
    with pytest.raises(kind, match=words) as e:
        getattr(operator, op)(w, other)
    assert "w (3,)" in str(e.value) and "Pass a Tensor" in str(e.value)


@pytest.mark.parametrize("other", [None, "a", [[1.0], [2.0, 3.0]]])
def test_bad_left_operand(other: object) -> None:
    w = param(name="w")
    with pytest.raises((TypeError, ValueError), match="the left operand"):
        other - w  # noqa: B018


def test_indexing_errors_name_the_op_and_tensor() -> None:
    w = param(name="w")
    with pytest.raises(IndexError, match=r"getitem w \(3,\)\[7\].*out of bounds"):
        w[7]  # noqa: B018
    with pytest.raises(IndexError, match="getitem"):
        w[1.5]  # noqa: B018


def test_reshape_and_axis_errors_name_the_op_and_tensor() -> None:
    w = param((2, 3), name="w")
    with pytest.raises(ValueError, match=r"reshape\(w \(2, 3\)\): cannot reshape"):
        w.reshape(4)
    for reduce in ("sum", "mean", "max", "min"):
        with pytest.raises(ValueError, match=rf"{reduce} of w \(2, 3\): axis 2 .*-2 to 1"):
            getattr(w, reduce)(axis=2)


# ---- shape mismatches in every binary op and in matmul ------------------------------------

BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "power": lambda a, b: a ** b,
    "maximum": am.maximum, "minimum": am.minimum,
    "where": lambda a, b: am.where(np.ones(a.shape, dtype=bool), a, b),
    "logaddexp": am.logaddexp,
}


def test_every_broadcasting_op_is_covered() -> None:
    from autograd_mini.ops import OPS
    with_shape_errors = {n for n, op in OPS.items() if op.shape_error and n != "matmul"}
    assert with_shape_errors <= set(BINARY)


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("requires_grad", [True, False])
def test_shape_mismatch_in_binary_op(name: str, requires_grad: bool) -> None:
    a = am.tensor(np.ones((2, 3)), requires_grad=requires_grad, name="a")
    b = am.tensor(np.ones((4, 3)), requires_grad=requires_grad, name="b")
    with pytest.raises(ValueError) as e:
        BINARY[name](a, b)
    msg = str(e.value)
    for words in (name, "a (2, 3)", "b (4, 3)", "is 2 in one and 4 in the other",
                  "Check the shapes"):
        assert words in msg, (words, msg)


@pytest.mark.parametrize("sa, sb, words", [
    ((3,), (4,), "inner dimensions 3 and 4 differ"),
    ((100, 3), (4, 1), "inner dimensions 3 and 4 differ"),
    ((3,), (4, 2), "inner dimensions 3 and 4 differ"),
    ((2, 3), (4,), "inner dimensions 3 and 4 differ"),
    ((5, 2, 3), (5, 4, 2), "inner dimensions 3 and 4 differ"),
    ((2, 3, 4), (5, 4, 2), "batch dimensions (2,) and (5,) differ"),
    ((), (3,), "at least one dimension"),
])
def test_shape_mismatch_in_matmul(sa: tuple[int, ...], sb: tuple[int, ...], words: str) -> None:
    X = am.tensor(np.ones(sa), name="X")
    w = am.tensor(np.ones(sb), requires_grad=True, name="w")
    with pytest.raises(ValueError) as e:
        X @ w  # noqa: B018
    msg = str(e.value)
    assert f"matmul X {sa} · w {sb}" in msg and words in msg, msg


def test_matmul_message_reads_like_the_issue() -> None:
    X = am.tensor(np.ones((100, 3)), name="X")
    w = am.tensor(np.ones((4, 1)), requires_grad=True, name="w")
    with pytest.raises(ValueError, match=r"^matmul X \(100, 3\) · w \(4, 1\): inner dimensions "
                                         "3 and 4 differ"):
        X @ w  # noqa: B018


def test_concatenate_mismatch_names_the_operands() -> None:
    a, b = am.tensor(np.ones((2, 3)), name="a"), am.tensor(np.ones((2, 4)), name="b")
    with pytest.raises(ValueError, match=r"concatenate\(a \(2, 3\), b \(2, 4\)\)"):
        am.concatenate([a, b], axis=0)


def test_mse_loss_shape_mismatch() -> None:
    with pytest.raises(ValueError, match=r"pred has shape \(4, 1\) but target has shape \(4,\)"):
        am.mse_loss(param((4, 1)), np.ones(4))


# ---- gradients at non-differentiable points (documented conventions) ----------------------


def grad_of(f, x) -> np.ndarray:  # type: ignore[no-untyped-def]
    t = am.tensor(np.array(x, dtype=float), requires_grad=True)
    f(t).backward()
    assert t.grad is not None
    return t.grad


def test_relu_at_zero_has_gradient_zero() -> None:
    np.testing.assert_array_equal(grad_of(lambda t: t.relu().sum(), [-1.0, 0.0, 2.0]),
                                  [0.0, 0.0, 1.0])


def test_abs_at_zero_has_gradient_zero() -> None:
    np.testing.assert_array_equal(grad_of(lambda t: t.abs().sum(), [-1.0, 0.0, 2.0]),
                                  [-1.0, 0.0, 1.0])


def test_max_and_min_ties_share_the_gradient_evenly() -> None:
    np.testing.assert_array_equal(grad_of(lambda t: t.max(), [3.0, 1.0, 3.0, 3.0]),
                                  [1 / 3, 0.0, 1 / 3, 1 / 3])
    np.testing.assert_array_equal(grad_of(lambda t: t.min(), [0.0, 0.0, 1.0]), [0.5, 0.5, 0.0])
    g = grad_of(lambda t: t.max(axis=1).sum(), [[1.0, 1.0], [2.0, 0.0]])
    np.testing.assert_array_equal(g, [[0.5, 0.5], [1.0, 0.0]])


def test_maximum_and_minimum_ties_split_in_half() -> None:
    a = am.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = am.tensor([1.0, 5.0, 0.0], requires_grad=True)
    am.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(b.grad, [0.5, 1.0, 0.0])
    a.grad = b.grad = None
    am.minimum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(b.grad, [0.5, 0.0, 1.0])


def test_sqrt_at_zero_gives_inf_not_a_crash() -> None:
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        g = grad_of(lambda t: t.sqrt().sum(), [0.0, 4.0])
    assert g[0] == np.inf and g[1] == 0.25


def test_log_at_zero_gives_minus_inf_and_an_infinite_gradient() -> None:
    t = am.tensor([0.0, 1.0], requires_grad=True)
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        y = t.log()
    assert y.data[0] == -np.inf
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        y.sum().backward()
    assert t.grad is not None and t.grad[0] == np.inf and t.grad[1] == 1.0


# ---- memory: graphs are freed -------------------------------------------------------------


def _mlp_step(params: list[am.Tensor], X: am.Tensor, y: np.ndarray, lr: float) -> float:
    W1, b1, W2, b2 = params
    h = (X @ W1 + b1).tanh()
    loss = am.mse_loss(h @ W2 + b2, y)
    loss.backward()
    for p in params:
        p.data -= lr * p.grad
        p.grad = None
    return loss.item()


def test_training_memory_does_not_grow_over_1000_iterations() -> None:
    rng = np.random.default_rng(0)
    X = am.tensor(rng.normal(size=(32, 4)), name="X")
    y = rng.normal(size=(32, 1))
    params = [am.tensor(rng.normal(size=s) * 0.5, requires_grad=True, name=n)
              for n, s in (("W1", (4, 16)), ("b1", (16,)), ("W2", (16, 1)), ("b2", (1,)))]
    tracemalloc.start()
    try:
        readings = []
        for step in range(1, 1001):
            last = _mlp_step(params, X, y, 0.05)
            if step % 250 == 0:
                gc.collect()
                readings.append(tracemalloc.get_traced_memory()[0])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    print(f"traced memory after 250/500/750/1000 steps: {readings} B, peak {peak} B")
    # One leaked graph per step would add ≥ 10 kB a step (its 32×16 activations alone are
    # 4 kB): ≥ 2.5 MB between readings. What remains is NumPy's small-block caches filling.
    assert readings[-1] - readings[0] < 32_768, readings
    assert peak < 256_000, peak
    gc.collect()
    assert np.isfinite(last) and not inplace.HELD


def test_a_dropped_graph_is_freed() -> None:
    w = param()
    loss = ((w * 2).exp() * w).sum()
    nodes = [weakref.ref(v) for v in toposort(loss._node) if not v.is_leaf]
    assert len(nodes) == 4 and all(r() is not None for r in nodes)
    del loss
    gc.collect()
    assert all(r() is None for r in nodes)
    assert w.data.flags.writeable


def test_backward_releases_saved_arrays_but_keeps_the_structure() -> None:
    w = param()
    loss = ((w * 2).exp() * w).sum()  # exp saves its output; the user holds no reference to it
    exp_node = next(v for v in toposort(loss._node) if not v.is_leaf and v.op.name == "exp")
    saved = weakref.ref(exp_node.saved_out)
    assert saved() is not None
    loss.backward()
    gc.collect()
    assert saved() is None, "backward without retain_graph must free saved arrays"
    assert exp_node.freed and exp_node.shape == (3,)  # structure stays for drawing/explaining


def test_retain_graph_keeps_saved_arrays_until_the_graph_is_dropped() -> None:
    w = param()
    loss = ((w * 2).exp() * w).sum()
    exp_node = next(v for v in toposort(loss._node) if not v.is_leaf and v.op.name == "exp")
    saved = weakref.ref(exp_node.saved_out)
    loss.backward(retain_graph=True)
    assert saved() is not None
    del loss, exp_node
    gc.collect()
    assert saved() is None and not inplace.HELD
