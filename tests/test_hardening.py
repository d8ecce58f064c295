"""No silent wrong gradient and no leaked state, tried as an attacker would.

Each class of defect is tested with the case that showed it and variants of it: nested
transforms that confuse their variables, writes that reach saved arrays around the read-only
lock, wrong-shaped or wrong-typed gradients, and mode switches shared between threads or
overwritten by recursion.
"""

from __future__ import annotations

import copy
import gc
import sys
import threading

import numpy as np
import pytest

import autograd_mini as am
from autograd_mini import inplace
from autograd_mini.mode import MODE

from .helpers import assert_close, numeric_grad

# ---- nested transforms differentiate with respect to their own argument only ---------------


def test_inner_grad_of_the_outer_variable_ignores_closed_over_uses() -> None:
    # f(x) = x · ∂/∂y (x·y)|y=x = x², so f'(3) = 6 (not 12: the inner x is a constant for y).
    assert am.grad(lambda x: x * am.grad(lambda y: x * y)(x))(3.0) == pytest.approx(6.0)
    assert am.grad(lambda x: am.grad(lambda y: y * x)(x))(3.0) == pytest.approx(1.0)


def test_bilevel_inner_step_matches_the_hand_derivative() -> None:
    a = np.array([1.0, 2.0])

    def outer(w: am.Tensor) -> am.Tensor:
        inner = am.grad(lambda v: (v * w).sum())(w)  # = w
        return ((w - 0.1 * inner) ** 2).sum()  # (0.9 w)² summed: gradient 1.62 w

    assert_close(am.grad(outer)(a), 1.62 * a, rtol=1e-12)


def test_value_and_grad_jacobian_and_hessian_are_not_confused_either() -> None:
    def f(x: am.Tensor) -> am.Tensor:
        value, g = am.value_and_grad(lambda y: (x * y ** 2).sum())(x)  # g = 2x², value = x³
        return g.sum() + value

    x = np.array([0.5, -1.5])
    # Σ 2x² + Σ x³ → ∂/∂x = 4x + 3x²
    assert_close(am.grad(f)(x), 4 * x + 3 * x ** 2, rtol=1e-12)

    def g(x: am.Tensor) -> am.Tensor:
        return am.jacobian(lambda y: x * y)(x).sum()  # J = diag(x): Σ = Σx

    assert_close(am.grad(g)(x), np.ones(2), rtol=1e-12)

    def h(x: am.Tensor) -> am.Tensor:
        return am.hessian(lambda y: (x * y ** 3).sum())(x).sum()  # H = diag(6 x y) at y=x

    assert_close(am.grad(h)(x), 12 * x, rtol=1e-12)  # Σ 6x² → 12x


def test_argnums_with_the_same_tensor_twice_and_three_levels_deep() -> None:
    # ∂/∂b of (a·b) with a and b the same outer tensor: a, so d/dx [x · a] = ... = 2x.
    f = lambda x: (x * am.grad(lambda a, b: (a * b).sum(), argnums=1)(x, x)).sum()  # noqa: E731
    x = np.array([1.0, 3.0])
    assert_close(am.grad(f)(x), 2 * x, rtol=1e-12)

    # three levels: d/dx [x · d/dy [x · d/dz (x·y·z)]] = d/dx [x · x · x] = 3x²
    def level1(x: am.Tensor) -> am.Tensor:
        def level2(y: am.Tensor) -> am.Tensor:
            return x * am.grad(lambda z: x * y * z)(y)
        return x * am.grad(level2)(x)

    assert am.grad(level1)(2.0) == pytest.approx(3 * 2.0 ** 2)


def test_nested_grad_matches_finite_differences_of_the_inner_grad() -> None:
    def inner(x: np.ndarray) -> np.ndarray:
        return am.grad(lambda y: (am.tensor(x) * y.exp()).sum())(x)

    def outer(x: am.Tensor) -> am.Tensor:
        return (x * am.grad(lambda y: (x * y.exp()).sum())(x)).sum()

    x = np.array([0.3, -0.7, 1.1])
    expected = numeric_grad(lambda v: float((v * inner(v)).sum()), x)
    assert_close(am.grad(outer)(x), expected, rtol=1e-6)


# ---- writes that bypass the read-only lock ---------------------------------------------------


def test_view_taken_before_forward_then_written_is_refused_at_backward() -> None:
    w = am.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True, name="w")
    head = w.data[:2]
    loss = (w * w).sum()
    head[0] = 100.0
    with pytest.raises(RuntimeError, match="'w'.*changed after mul saved it"):
        loss.backward()


def test_view_of_the_users_array_written_after_forward_is_refused() -> None:
    arr = np.array([1.0, 2.0, 3.0])
    view = arr[:]
    x = am.tensor(arr, requires_grad=True)
    y = (x ** 3).sum()
    view[:] = 0.0
    with pytest.raises(RuntimeError, match="changed after pow 3 saved it"):
        y.backward()


def test_shuffled_split_view_of_constant_data_is_refused() -> None:
    rng = np.random.default_rng(0)
    data = rng.normal(size=(1000, 3))
    target = rng.normal(size=100)
    train = data[:800]  # a view made before any graph
    w = am.tensor(np.ones(3), requires_grad=True)
    X = am.tensor(train[:100], name="X")
    loss = ((X @ w - target) ** 2).mean()
    rng.shuffle(train)
    with pytest.raises(RuntimeError, match="'X'.*changed after matmul saved it"):
        loss.backward()


def test_large_constant_refilled_through_an_old_view_is_refused() -> None:
    # Larger than the exact-fingerprint size: the sampled fingerprint catches a refill.
    big = np.random.default_rng(1).normal(size=(inplace.EXACT + 10,))
    alias = big[:]
    w = am.tensor(np.ones_like(big), requires_grad=True)
    loss = (w * big).sum()
    alias[:] = np.random.default_rng(2).normal(size=big.shape)
    with pytest.raises(RuntimeError, match="constant operand.*changed after mul"):
        loss.backward()


def test_intermediate_whose_data_was_read_then_written_through_a_view() -> None:
    x = am.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    view = y.data[:]  # exposes the intermediate's memory before the next op saves it
    loss = (y * y).sum()
    view[0] = 50.0
    with pytest.raises(RuntimeError, match="output of mul.*changed after mul saved it"):
        loss.backward()


def test_untouched_views_do_not_raise_and_give_exact_gradients() -> None:
    data = np.arange(12.0).reshape(4, 3)
    train = data[:2]
    w = am.tensor(np.ones(3), requires_grad=True)
    loss = (am.tensor(train) @ w).sum()
    _ = train.sum()  # reading is fine
    loss.backward()
    assert_close(w.grad, train.sum(axis=0), rtol=0)
    rng = np.random.default_rng(0)
    rng.shuffle(train)  # after backward the data is the user's again
    assert data.flags.writeable


@pytest.mark.parametrize("kind", ["list", "tuple", "memmap", "matrix", "subclass"])
def test_non_ndarray_operands_are_copied_when_recorded(kind: str, tmp_path: object) -> None:
    class Sub(np.ndarray):
        pass

    def make() -> object:
        if kind == "list":
            return [1.0, 2.0, 3.0]
        if kind == "tuple":
            return (1.0, 2.0, 3.0)
        if kind == "memmap":
            m = np.memmap(f"{tmp_path}/buffer", dtype=np.float64, mode="w+", shape=(3,))
            m[:] = [1.0, 2.0, 3.0]
            return m
        if kind == "matrix":
            return np.asmatrix([1.0, 2.0, 3.0])
        return np.array([1.0, 2.0, 3.0]).view(Sub)

    c = make()
    w = am.tensor(np.ones(3) if kind != "matrix" else np.ones((1, 3)), requires_grad=True)
    loss = (w * c).sum()
    if kind in ("list", "memmap", "subclass"):
        c[0] = 100.0  # type: ignore[index]
    elif kind == "matrix":
        c[0, 0] = 100.0  # type: ignore[index]
    loss.backward()
    assert_close(np.ravel(w.grad), [1.0, 2.0, 3.0], rtol=0)


def test_masked_array_operand_is_refused_naming_the_op() -> None:
    w = am.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(TypeError, match="mul: a masked array.*filled"):
        w * np.ma.array([1.0, 2.0, 3.0], mask=[0, 1, 0])


def test_list_operands_work_in_backward() -> None:
    w = am.tensor(np.array([[1.0], [2.0]]), requires_grad=True)
    (w.T @ [1.0, 2.0]).sum().backward()
    assert_close(w.grad, [[1.0], [2.0]], rtol=0)
    v = am.tensor([2.0, 3.0], requires_grad=True)
    (v ** [1.0, 2.0]).sum().backward()
    assert_close(v.grad, [1.0, 6.0], rtol=1e-12)


# ---- gradients of the wrong shape or type ----------------------------------------------------


def test_requires_grad_on_an_integer_tensor_after_creation_is_refused() -> None:
    t = am.tensor([1, 2, 3])
    with pytest.raises(TypeError, match="only floating-point"):
        t.requires_grad = True
    with pytest.raises(TypeError, match="only floating-point"):
        t.requires_grad_()
    f = am.tensor([1.0, 2.0]).requires_grad_()
    assert f.requires_grad and f.is_leaf


def test_requires_grad_false_on_an_intermediate_is_refused() -> None:
    x = am.tensor([1.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="only leaves.*detach"):
        y.requires_grad = False


def test_wrong_shaped_grad_assignment_is_refused() -> None:
    w = am.tensor(np.ones(4), requires_grad=True)
    with pytest.raises(ValueError, match=r"shape \(3, 1\) for a tensor of shape \(4,\)"):
        w.grad = np.zeros((3, 1))
    w.grad = [0.5, 0.5, 0.5, 0.5]  # right shape: stored as an array of w's dtype
    (w * 2).sum().backward()
    assert_close(w.grad, np.full(4, 2.5), rtol=0)
    assert w.grad.dtype == np.float64


def test_grad_assignment_is_a_copy_in_the_tensors_dtype() -> None:
    w = am.tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    g = np.array([1.0, 2.0])
    w.grad = g
    g[0] = 9.0
    assert w.grad.dtype == np.float32 and w.grad[0] == 1.0


@pytest.mark.parametrize("reduce", ["sum", "mean", "max"])
def test_functional_grads_are_writable_arrays(reduce: str) -> None:
    g = am.grad(lambda x: getattr(x, reduce)())(np.array([1.0, 2.0, 3.0]))
    assert g.flags.writeable
    g *= 0.5  # the common rescale must work
    value, g2 = am.value_and_grad(lambda x: getattr(x, reduce)())(np.ones(3))
    g2[0] = 1.0
    value[...] = 0.0


# ---- interrupted backward -------------------------------------------------------------------


def test_retry_after_a_backward_that_failed_midway_says_so() -> None:
    w = am.tensor([0.0, 1.0], requires_grad=True, name="w")
    loss = w.sqrt().sum()
    with np.errstate(divide="ignore"), pytest.raises(FloatingPointError), am.detect_anomaly():
        loss.backward()
    assert w.grad is None
    with pytest.raises(RuntimeError, match="stopped part-way") as e:
        loss.backward()
    assert "freed by the first" not in str(e.value)


def test_deepcopy_of_an_intermediate_is_refused() -> None:
    w = am.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    with pytest.raises(RuntimeError, match="deepcopy.*detach"):
        copy.deepcopy(loss)
    clone = copy.deepcopy(w)  # a leaf copies: values, flag and name, no graph
    assert clone.requires_grad and clone is not w and np.array_equal(clone.data, w.data)


def test_zero_dimensional_boolean_index_is_a_clear_error() -> None:
    t = am.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(IndexError, match="getitem.*0-d boolean"):
        t[(np.array(True),)]


def test_transpose_refuses_out_of_range_axes() -> None:
    x = am.tensor(np.zeros((2, 3)), requires_grad=True)
    for axes in ((3, 0), (-3, 0), (2, 1)):
        with pytest.raises(ValueError, match="out of range"):
            x.transpose(*axes)
    assert x.transpose(-1, 0).shape == (3, 2)


# ---- grad and anomaly modes are per thread and re-entrant -------------------------------------


def test_no_grad_in_one_thread_does_not_stop_recording_in_another() -> None:
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with am.no_grad():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    thread.start()
    inside.wait(5)
    try:
        w = am.tensor([1.0, 2.0], requires_grad=True)
        assert (w * 3).requires_grad and am.is_grad_enabled()
    finally:
        release.set()
        thread.join()


def test_threads_entering_and_leaving_no_grad_leave_the_main_thread_recording() -> None:
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        for _ in range(200):
            with am.no_grad():
                pass

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert MODE.grad_enabled


def test_a_new_thread_starts_recording_even_if_the_parent_is_in_no_grad() -> None:
    seen = []
    with am.no_grad():
        t = threading.Thread(target=lambda: seen.append(am.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


def test_training_in_a_thread_while_another_evaluates_gets_every_gradient() -> None:
    stop = threading.Event()

    def evaluator() -> None:
        while not stop.is_set():
            with am.no_grad():
                pass

    thread = threading.Thread(target=evaluator)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    thread.start()
    try:
        for _ in range(100):
            w = am.tensor([1.0, 2.0], requires_grad=True)
            h = w * 3.0
            loss = (h * w).sum()
            loss.backward()
            assert_close(w.grad, [6.0, 12.0], rtol=0)
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)


def test_recursive_no_grad_and_detect_anomaly_decorators_restore_the_mode() -> None:
    @am.no_grad()
    def evaluate(depth: int) -> bool:
        return evaluate(depth - 1) if depth else am.is_grad_enabled()

    @am.detect_anomaly()
    def checked(depth: int) -> bool:
        return checked(depth - 1) if depth else MODE.anomaly

    assert evaluate(3) is False and MODE.grad_enabled
    assert checked(3) is True and not MODE.anomaly


def test_bare_decorators_work() -> None:
    @am.no_grad
    def f() -> bool:
        return am.is_grad_enabled()

    @am.enable_grad
    def g() -> bool:
        return am.is_grad_enabled()

    @am.detect_anomaly
    def h() -> bool:
        return bool(MODE.anomaly)

    assert f() is False and h() is True
    with am.no_grad():
        assert g() is True
    assert am.is_grad_enabled() and not MODE.anomaly


def test_one_context_manager_instance_nested_and_shared() -> None:
    ng = am.no_grad()
    with ng:
        with am.enable_grad():
            with ng:
                assert not am.is_grad_enabled()
            assert am.is_grad_enabled()
        assert not am.is_grad_enabled()
    assert am.is_grad_enabled()


def test_set_grad_enabled_as_a_call_and_as_a_block() -> None:
    try:
        am.set_grad_enabled(False)
        assert not am.is_grad_enabled()
        with am.set_grad_enabled(True):
            assert am.is_grad_enabled()
        assert not am.is_grad_enabled()
    finally:
        am.set_grad_enabled(True)
    w = am.tensor([1.0], requires_grad=True)
    with am.set_grad_enabled(False):
        assert not (w * 2).requires_grad
    assert (w * 2).requires_grad


def test_an_exception_inside_no_grad_restores_recording() -> None:
    with pytest.raises(KeyError), am.no_grad():
        raise KeyError("boom")
    assert am.is_grad_enabled()


# ---- the lock registry under threads ---------------------------------------------------------


def test_lock_counts_stay_exact_when_threads_share_a_parameter() -> None:
    w = am.tensor(np.ones(4), requires_grad=True)
    base = w._data
    unlocked = []
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)

    def worker() -> None:
        for _ in range(3000):
            h = w * w
            if base.flags.writeable and w._data is base:
                unlocked.append(1)
            del h

    threads = [threading.Thread(target=worker) for _ in range(3)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    gc.collect()
    assert not unlocked
    assert id(base) not in inplace.HELD and base.flags.writeable


def test_release_happens_when_the_graph_is_dropped_without_a_collection() -> None:
    a = np.ones(3)
    w = am.tensor(a, requires_grad=True)
    gc.disable()
    try:
        loss = (w * w).sum()
        assert not a.flags.writeable
        del loss
        assert a.flags.writeable and id(a) not in inplace.HELD
    finally:
        gc.enable()


def test_version_checks_run_after_any_edit_and_only_refuse_the_changed_tensor() -> None:
    # Backward skips the per-input version checks when nothing changed through the Tensor
    # API since the node was recorded; any such change makes it check every node again.
    w = am.tensor([1.0, 2.0], requires_grad=True, name="w")
    other = am.tensor([5.0], requires_grad=True)
    loss = (w * w).sum()
    other.data = np.array([6.0])  # an unrelated edit: checked, and fine
    loss.backward(retain_graph=True)
    assert_close(w.grad, [2.0, 4.0], rtol=0)
    with am.no_grad():
        w -= 1.0  # copy-on-write, then this edit: the graph must notice
    with pytest.raises(RuntimeError, match="'w'.*version 0 then, 1 now"):
        loss.backward()


# ---- an op's output is not locked: it reaches the user only through .data, as a copy -------


def test_an_intermediate_written_through_data_after_it_was_saved_is_refused() -> None:
    x = am.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    loss = (y * y).sum()  # saves y's array, which nobody else can reach
    y.data[0] = 50.0  # .data hands out a copy: the graph keeps the values it saw
    with pytest.raises(RuntimeError, match="output of mul.*written through .data"):
        loss.backward()


def test_reading_an_intermediates_data_leaves_its_gradient_exact() -> None:
    x = am.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    loss = (y * y).sum()
    assert_close(y.data, [2.0, 4.0], rtol=0)
    loss.backward()
    assert_close(x.grad, 8.0 * np.array([1.0, 2.0]), rtol=0)  # d/dx Σ(2x)² = 8x


def test_a_view_ops_output_written_through_data_cannot_reach_the_saved_array() -> None:
    x = am.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2.0
    head = y[:2]  # a NumPy view of y's memory, which (y * y) saves
    loss = (y * y).sum()
    head.data[0] = 50.0
    loss.backward()
    assert_close(x.grad, 8.0 * np.array([1.0, 2.0, 3.0]), rtol=0)


@pytest.mark.parametrize("route", ["data", "asarray"])
def test_a_detached_intermediate_written_in_place_is_refused(route: str) -> None:
    x = am.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    loss = (y * y).sum()
    d = y.detach()
    values = d.data if route == "data" else np.asarray(d)
    values[0] = 50.0
    with pytest.raises(RuntimeError, match="output of mul.*written through .data"):
        loss.backward()


def test_an_op_that_returns_its_input_keeps_the_users_array_locked() -> None:
    from autograd_mini.ops import OPS

    same = am.defop("same_array_test", lambda x: x, (lambda g, x, out: g,), expr="{0}")
    try:
        a = np.array([1.0, 2.0])
        w = am.tensor(a, requires_grad=True)
        y = same(w)
        loss = (y * y).sum()
        with pytest.raises(ValueError, match="read-only"):
            a[0] = 5.0
        loss.backward()
        assert_close(w.grad, [2.0, 4.0], rtol=0)
    finally:
        del OPS["same_array_test"]  # the op table is global: leave it as the other tests expect
