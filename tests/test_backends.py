"""Tensors on other array libraries: the op table's gradients on NumPy, Dask and CuPy arrays,
laziness with Dask, the pitfalls of each library, and how far the rules are array-API clean.

Truth is always independent: central finite differences on NumPy copies of the inputs, or the
closed form of the MSE gradient.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_mini as am
from autograd_mini.graph import Node, toposort
from autograd_mini.tensor import Tensor
from tests.helpers import assert_close, numeric_grad
from tests.test_ops import CASES

da = pytest.importorskip("dask.array")
import dask  # noqa: E402  (after the skip: the module needs dask)


def _has_gpu() -> bool:
    try:
        import cupy

        return bool(cupy.cuda.runtime.getDeviceCount() > 0)
    except Exception:  # not installed, no driver, no device: all mean "no GPU here"
        return False


GPU = _has_gpu()


def to_dask(x: np.ndarray) -> Any:
    """Small chunks, so every axis longer than 2 is split into several chunks."""
    return da.from_array(x, chunks=2)


def to_cupy(x: np.ndarray) -> Any:
    import cupy

    return cupy.asarray(x)


BACKENDS: dict[str, Callable[[np.ndarray], Any]] = {
    "numpy": lambda x: x,
    "dask": to_dask,
    "cupy": to_cupy,
}
backend_params = [pytest.param("numpy"), pytest.param("dask"),
                  pytest.param("cupy", marks=pytest.mark.skipif(
                      not GPU, reason="no GPU/cupy: CuPy tests run where cupy imports and a "
                                      "GPU is present"))]


def library(x: Any) -> str:
    return type(x).__module__.partition(".")[0]


# Indices Dask cannot do in getitem (several integer arrays), or whose gradient it cannot
# assign back (an integer array next to numbers or None): both fail with a clear error.
def _dask_cannot(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    arrays = [i for i in items if isinstance(i, np.ndarray)]
    return len(arrays) > 1 or (len(arrays) == 1 and any(
        i is None or isinstance(i, (int, np.integer)) for i in items))


@pytest.mark.parametrize("backend", backend_params)
@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=6)
@given(data=st.data())
def test_op_gradient_on_each_backend(name: str, backend: str, data: st.DataObject) -> None:
    """Every op of the table: the gradient on the backend's arrays, in the backend's type,
    equals central finite differences on NumPy copies."""
    fn, inputs = CASES[name](data)
    weights = np.random.default_rng(1).normal(size=fn(*[Tensor(x) for x in inputs]).shape)
    convert = BACKENDS[backend]

    def loss(*ts: Any) -> Tensor:
        return (fn(*ts) * convert(weights)).sum()

    tensors = [Tensor(convert(x), requires_grad=True) for x in inputs]
    if backend == "dask" and name in ("getitem", "scatter"):
        index = _index_of(fn, tensors)
        if _dask_cannot(index):
            with pytest.raises(NotImplementedError, match=r"(?s)getitem.*dask"):
                loss(*tensors).backward()
                am.compute(*(t.grad for t in tensors))
            return
    out = loss(*tensors)
    assert library(out.data) == library(tensors[0].data)
    out.backward()
    for k, t in enumerate(tensors):
        assert t.grad is not None and library(t.grad) == library(t.data), "grad type != data"
        (got,) = am.compute(t.grad) if backend != "cupy" else (t.grad.get(),)

        def f_k(xk: np.ndarray, k: int = k) -> float:
            args = [Tensor(xk if i == k else x) for i, x in enumerate(inputs)]
            return float((fn(*args) * weights).sum().data)

        assert_close(got, numeric_grad(f_k, inputs[k]), rtol=1e-5, atol=1e-6)


def _index_of(fn: Callable[..., Tensor], tensors: list[Tensor]) -> Any:
    """The index a getitem/scatter case uses, read off the node it records."""
    out = fn(*[Tensor(np.zeros(t.shape), requires_grad=True) for t in tensors])
    return out.vertex.params["index"]


@pytest.mark.parametrize("name", ["exp", "tanh", "mul", "matmul", "mean", "var", "softmax",
                                  "logsumexp", "pow", "div"])
@settings(max_examples=4)
@given(data=st.data())
def test_second_derivative_on_dask(name: str, data: st.DataObject) -> None:
    """create_graph runs the rules on Tensors holding Dask arrays: H·v vs differences."""
    fn, inputs = CASES[name](data)
    weights = np.random.default_rng(1).normal(size=fn(*[Tensor(x) for x in inputs]).shape)
    v = np.random.default_rng(2).normal(size=inputs[0].shape)
    rest = [Tensor(to_dask(x)) for x in inputs[1:]]

    x = Tensor(to_dask(inputs[0]), requires_grad=True)
    g = am.grad(lambda x0: (fn(x0, *rest) * weights).sum())(x)  # a Tensor: x requires grad
    out = (g * v).sum()
    if out.requires_grad:
        out.backward()
    got = am.compute(x.grad)[0] if x.grad is not None else np.zeros_like(inputs[0])

    def directional(x0: np.ndarray) -> float:
        g0 = am.grad(lambda t: (fn(t, *inputs[1:]) * weights).sum())(x0)
        return float((g0 * v).sum())

    assert_close(got, numeric_grad(directional, inputs[0], eps=1e-5), rtol=1e-4, atol=1e-5)


# ---- the MSE on Dask: lazy, one graph, one pass ------------------------------------------


def _mse_data(n: int = 60, d: int = 4, dtype: Any = np.float64
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return (rng.normal(size=(n, d)).astype(dtype), rng.normal(size=(n, 1)).astype(dtype),
            rng.normal(size=(d, 1)).astype(dtype))


def _closed_form(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    return 2 / len(X) * X.T @ (X @ w - y)


def test_dask_loss_and_gradient_stay_lazy_until_computed() -> None:
    Xn, yn, wn = _mse_data()
    X = am.tensor(da.from_array(Xn, chunks=(16, 2)), name="X")
    y = am.tensor(da.from_array(yn, chunks=(16, 1)), name="y")
    w = am.tensor(da.from_array(wn, chunks=2), requires_grad=True, name="w")
    loss = ((X @ w - y) ** 2).mean()
    assert dask.is_dask_collection(loss.data)
    loss.backward()
    assert dask.is_dask_collection(w.grad) and w.grad.shape == (4, 1)
    assert X.grad is None, "no gradient for a constant"
    value, grad = am.compute(loss, w.grad)
    assert isinstance(value, np.ndarray) and isinstance(grad, np.ndarray)
    assert_close(value, np.mean((Xn @ wn - yn) ** 2), rtol=1e-12)
    assert_close(grad, _closed_form(Xn, yn, wn), rtol=1e-12)
    # The documented dask.compute recipe gives the same numbers.
    v2, g2 = dask.compute(loss.data, w.grad)
    assert_close(v2, value, rtol=0)
    assert_close(g2, grad, rtol=0)


def test_compute_evaluates_loss_and_gradient_in_one_pass() -> None:
    """X's chunks are generated once for both results: the loss and the gradient share them."""
    Xn, yn, wn = _mse_data()
    calls = []

    def block(block_info: Any = None) -> np.ndarray:
        calls.append(block_info[None]["chunk-location"])
        rows = block_info[None]["array-location"][0]
        return Xn[rows[0]:rows[1]]

    Xd = da.map_blocks(block, chunks=((20, 20, 20), (4,)), dtype=np.float64)
    X, y = am.tensor(Xd), am.tensor(da.from_array(yn, chunks=20))
    w = am.tensor(wn, requires_grad=True)
    loss = ((X @ w - y) ** 2).mean()
    loss.backward()  # w is a NumPy array: its gradient is computed here, and is an ndarray
    assert type(w.grad) is np.ndarray
    assert_close(w.grad, _closed_form(Xn, yn, wn), rtol=1e-12)

    w2 = am.tensor(da.from_array(wn), requires_grad=True)
    loss2 = ((X @ w2 - y) ** 2).mean()
    loss2.backward()
    calls.clear()
    value, grad = am.compute(loss2, w2.grad, scheduler="sync")
    assert len(calls) == 3, f"X's 3 chunks were generated {len(calls)} times"
    assert_close(grad, _closed_form(Xn, yn, wn), rtol=1e-12)
    assert_close(value, np.mean((Xn @ wn - yn) ** 2), rtol=1e-12)


def test_float32_stays_float32_on_dask_with_python_scalars() -> None:
    Xn, yn, wn = _mse_data(dtype=np.float32)
    X, y = am.tensor(to_dask(Xn)), am.tensor(to_dask(yn))
    w = am.tensor(to_dask(wn), requires_grad=True)
    loss = (0.5 * (X @ w - y) ** 2 / 2.0).mean() + 1
    assert loss.dtype == np.float32 and loss.data.dtype == np.float32
    loss.backward()
    assert w.grad.dtype == np.float32
    (g,) = am.compute(w.grad)
    assert g.dtype == np.float32
    assert_close(g, _closed_form(Xn, yn, wn) / 4, rtol=1e-5)


def test_numpy_scalars_and_0d_arrays_promote_as_numpy_says_on_dask() -> None:
    """A Python number adapts to float32; NumPy float64 scalars and 0-d arrays do not (NEP 50),
    on Dask as on NumPy, so the pitfall is the same on both."""
    for convert in (lambda x: x, to_dask):
        x = am.tensor(convert(np.ones(3, dtype=np.float32)), requires_grad=True)
        assert (x * 2.0).dtype == np.float32 and (x * np.float32(2)).dtype == np.float32
        assert (x * np.float64(2)).dtype == np.float64
        assert (x * np.array(2.0)).dtype == np.float64
        (x * np.array(2.0)).sum().backward()
        assert x.grad.dtype == np.float32  # a gradient always has its tensor's dtype


def test_values_on_demand_compute_a_dask_tensor() -> None:
    x = am.tensor(to_dask(np.array([1.5, 2.5])))
    s = x.sum()
    assert s.item() == 4.0 and float(s) == 4.0 and format(s, ".1f") == "4.0"
    assert x.tolist() == [1.5, 2.5] and type(x.numpy()) is np.ndarray


def test_the_backends_page_runs() -> None:
    """docs/backends.md: its python blocks, in order, in one namespace (the cluster block
    defines its function; its guard keeps it from starting a cluster here)."""
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parent.parent / "docs" / "backends.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 4
    namespace: dict[str, Any] = {"__name__": "backends_page"}
    for k, code in enumerate(blocks[:2]):
        exec(compile(code, f"<backends.md block {k}>", "exec"), namespace)
    X = np.asarray(namespace["X"].data)
    y = np.asarray(namespace["y"].data)
    assert_close(namespace["grad"], 2 / len(X) * X.T @ (-y), rtol=1e-12)
    # The training loop: three steps of gradient descent, each from a computed gradient.
    exec(compile(blocks[2], "<backends.md block 2>", "exec"), namespace)
    w = np.zeros((3, 1))
    for _ in range(3):
        w -= 0.1 * 2 / len(X) * X.T @ (X @ w - y)
    w_page = namespace["w"]
    assert dask.is_dask_collection(w_page.data) and len(w_page.data.dask) < 20
    assert_close(am.compute(w_page)[0], w, rtol=1e-12)
    exec(compile(blocks[3], "<backends.md block 3>", "exec"), namespace)
    assert callable(namespace["fit_step"])


def test_T_reverses_all_axes_and_matmul_swaps_the_last_two_on_dask() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 5))
    A = am.tensor(to_dask(a), requires_grad=True)
    assert A.T.shape == (4, 3, 2)  # .T reverses every axis, as in NumPy
    B = am.tensor(to_dask(b), requires_grad=True)
    (A @ B).sum().backward()  # the rule transposes only the last two axes of a batch
    ga, gb = am.compute(A.grad, B.grad)
    assert_close(ga, np.ones((2, 3, 5)) @ b.T)
    assert_close(gb, np.einsum("bij->j", a)[:, None] * np.ones((1, 5)))


def test_a_boolean_dask_mask_names_the_unknown_sizes() -> None:
    x = am.tensor(to_dask(np.arange(6.0)), requires_grad=True)
    with pytest.raises(ValueError, match=r"(?s)getitem.*unknown sizes.*am\.where"):
        x[x.data > 2]
    with pytest.raises(ValueError, match="unknown sizes"):
        am.tensor(to_dask(np.arange(6.0))[to_dask(np.arange(6.0)) > 2])
    # The way out the message names: keep the shape with where.
    y = am.where(x.data > 2, x, 0.0).sum()
    y.backward()
    assert_close(am.compute(x.grad)[0], (np.arange(6.0) > 2).astype(float))


def test_a_numpy_mask_on_a_dask_tensor_works() -> None:
    x = am.tensor(to_dask(np.arange(6.0)), requires_grad=True)
    (x[np.arange(6) % 2 == 0] * 3).sum().backward()
    assert_close(am.compute(x.grad)[0], [3.0, 0, 3, 0, 3, 0])


def test_in_place_on_a_dask_tensor_makes_a_new_array() -> None:
    """Dask arrays are immutable values: `w -= …` rebinds w to a new lazy array (a copy, in
    Dask's terms); a graph that saved the old one refuses backward, as it does for NumPy."""
    wn = np.array([1.0, 2.0, 3.0])
    w = am.tensor(to_dask(wn), requires_grad=True)
    before = w.data
    loss = (w * w).sum()
    with am.no_grad():
        w -= 1.0
    assert w.version == 1 and dask.is_dask_collection(w.data)
    assert_close(am.compute(w)[0], wn - 1)
    assert_close(am.compute(before)[0], wn)  # the old array is untouched
    with pytest.raises(RuntimeError, match=r"modified in place.*version 0 then, 1 now"):
        loss.backward()


def test_writing_through_data_on_dask_is_refused_by_backward() -> None:
    """`w.data[i] = v` rebinds the object handed out, never the one the graph saved."""
    w = am.tensor(to_dask(np.array([1.0, 2.0, 3.0])), requires_grad=True)
    loss = (w * w).sum()
    w.data[0] = 100.0
    assert_close(am.compute(w)[0], [100.0, 2, 3])
    with pytest.raises(RuntimeError, match=r"written through \.data\[\.\.\.\]"):
        loss.backward()
    loss2 = (w * w).sum()  # a new forward pass uses the new values
    loss2.backward()
    assert_close(am.compute(w.grad)[0], [200.0, 4, 6])


def test_no_read_only_locks_for_dask_arrays() -> None:
    """NumPy's in-place safety locks memory read-only; a Dask array has none to lock."""
    from autograd_mini import inplace

    x = am.tensor(to_dask(np.ones((4, 2))), name="X")
    w = am.tensor(to_dask(np.ones((2, 1))), requires_grad=True)
    held = dict(inplace.HELD)
    loss = (x @ w).sum()
    assert inplace.HELD == held
    loss.backward()
    assert_close(am.compute(w.grad)[0], [[4.0], [4.0]])


def test_gradients_accumulate_across_backward_calls_on_dask() -> None:
    w = am.tensor(to_dask(np.array([1.0, -2.0])), requires_grad=True)
    (w * w).sum().backward()
    (w * 3).sum().backward()
    assert dask.is_dask_collection(w.grad)
    assert_close(am.compute(w.grad)[0], [5.0, -1.0])


def test_constant_gets_no_gradient_array(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only w's gradient is built: the rule for ∂L/∂X (an N×D array) never runs."""
    from autograd_mini.ops import OPS

    matmul = OPS["matmul"]
    calls: list[int] = []

    def spy(g: Any, a: Any, b: Any, out: Any) -> Any:
        calls.append(1)
        return matmul.vjps[0](g, a, b, out)

    monkeypatch.setitem(OPS, "matmul", dataclasses.replace(matmul, vjps=(spy, matmul.vjps[1])))
    Xn, yn, wn = _mse_data(n=40)
    X = am.tensor(to_dask(Xn))
    w = am.tensor(to_dask(wn), requires_grad=True)
    loss = ((X @ w - am.tensor(to_dask(yn))) ** 2).mean()
    loss.backward()
    assert X.grad is None and calls == []
    assert_close(am.compute(w.grad)[0], _closed_form(Xn, yn, wn))
    # The same spy sees the rule run when X does require grad (the spy is live).
    X2 = am.tensor(to_dask(Xn), requires_grad=True)
    (X2 @ w).sum().backward()
    assert calls == [1]


def test_errors_name_the_op_and_the_library() -> None:
    x = am.tensor(to_dask(np.ones((3, 4))), requires_grad=True)
    with pytest.raises(NotImplementedError, match=r"getitem: dask arrays cannot do this"):
        x[np.array([0, 1]), np.array([1, 2])]
    with pytest.raises(ValueError, match=r"matmul.*dask array \(3, 2\) float64.*differ"):
        x @ to_dask(np.ones((3, 2)))
    y = x[None, 1, np.array([2, 2, 0])].sum()
    with pytest.raises(NotImplementedError, match=r"getitem on a dask array .*slices only"):
        y.backward()


def test_repeated_integer_indices_add_up_on_dask() -> None:
    """x[idx] with idx naming rows twice: their gradients add, in layers of unique rows."""
    xn = np.arange(12.0).reshape(3, 4)
    idx = np.array([0, 2, 0, -3, 1])
    weights = np.random.default_rng(0).normal(size=(5, 4))
    x = am.tensor(to_dask(xn), requires_grad=True)
    (x[idx] * weights).sum().backward()
    expected = np.zeros((3, 4))
    np.add.at(expected, idx, weights)  # row 0 gets three rows of weights (0, 0 and −3)
    assert_close(am.compute(x.grad)[0], expected)
    y = am.tensor(to_dask(xn), requires_grad=True)
    (y[:, np.array([3, 3, 1])] * weights[:3, :3]).sum().backward()
    expected = np.zeros((3, 4))
    np.add.at(expected, (slice(None), np.array([3, 3, 1])), weights[:3, :3])
    assert_close(am.compute(y.grad)[0], expected)


def test_core_imports_without_dask() -> None:
    code = ("import sys; import numpy as np; import autograd_mini as am; "
            "w = am.tensor(np.ones(2), requires_grad=True); (w * w).sum().backward(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'cupy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_draw_graph_on_a_dask_loss_draws_ours_without_computing() -> None:
    Xn, yn, wn = _mse_data()
    computed = []

    def block(x: np.ndarray) -> np.ndarray:
        computed.append(1)
        return x

    X = am.tensor(to_dask(Xn).map_blocks(block, meta=np.empty((0, 0))), name="X")
    w = am.tensor(to_dask(wn), requires_grad=True, name="w")
    loss = ((X @ w - am.tensor(to_dask(yn), name="y")) ** 2).mean()
    loss.backward()
    dot = am.draw_graph(loss).source
    assert "matmul" in dot and "mean" in dot and "X" in dot and "lazy (dask)" in dot
    assert computed == [], "drawing ran Dask's task graph"
    assert "dask.array<" in repr(loss)


def test_dask_scheduler_choices_give_the_same_gradient() -> None:
    Xn, yn, wn = _mse_data()
    X, y = am.tensor(to_dask(Xn)), am.tensor(to_dask(yn))
    w = am.tensor(to_dask(wn), requires_grad=True)
    ((X @ w - y) ** 2).mean().backward()
    truth = _closed_form(Xn, yn, wn)
    for scheduler in ("threads", "sync", "processes"):
        (g,) = am.compute(w.grad, scheduler=scheduler)
        assert_close(g, truth, rtol=1e-12)


def test_numpy_method_and_grad_setter_keep_the_library() -> None:
    w = am.tensor(to_dask(np.array([1.0, 2.0])), requires_grad=True)
    assert type(w.numpy()) is np.ndarray and list(w.numpy()) == [1.0, 2.0]
    w.grad = np.array([0.5, 0.5])
    assert dask.is_dask_collection(w.grad)
    (w * 2).sum().backward()
    assert_close(am.compute(w.grad)[0], [2.5, 2.5])
    g = am.grad(lambda t: (t * t).sum())(to_dask(np.array([1.0, 3.0])))
    assert dask.is_dask_collection(g)
    assert_close(am.compute(g)[0], [2.0, 6.0])


@pytest.mark.skipif(not GPU, reason="no GPU/cupy")
def test_cupy_mse_gradient_stays_on_the_device() -> None:
    import cupy

    Xn, yn, wn = _mse_data(dtype=np.float32)
    X, y = am.tensor(cupy.asarray(Xn)), am.tensor(cupy.asarray(yn))
    w = am.tensor(cupy.asarray(wn), requires_grad=True)
    loss = ((X @ w - y) ** 2).mean()
    loss.backward()
    assert isinstance(w.grad, cupy.ndarray) and w.grad.dtype == np.float32
    assert_close(w.grad.get(), _closed_form(Xn, yn, wn), rtol=1e-4)


# ---- the array API: which rules are clean ----------------------------------------------------

# VJP rules that run on array-api-strict arrays and give arrays of that library. The others
# call methods the standard does not have (x.sum(), x.reshape(), x.transpose(): the standard
# spells them xp.sum(x), ...), NumPy functions (np.broadcast_to, np.sign) or mix booleans
# with floats. The forwards are NumPy functions throughout. docs/backends.md says the same.
ARRAY_API_CLEAN = frozenset({
    "add", "broadcast_to", "div", "exp", "expm1", "log", "log1p", "mul", "neg", "pow",
    "sigmoid", "sqrt", "square", "sub", "tanh",
})


def _runs_array_api_clean(name: str, xp: Any) -> bool:
    """Whether every VJP rule of op `name`, given array-api-strict arrays for g, the inputs and
    the output of the registry's cases, runs and gives the NumPy rule's values in that library."""
    results: list[bool] = []

    def strict(a: Any) -> Any:
        return xp.asarray(a) if isinstance(a, np.ndarray) else a

    @settings(max_examples=4)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        fn, inputs = CASES[name](data)
        out = fn(*[Tensor(x, requires_grad=True) for x in inputs])
        node = next(v for v in toposort(out.vertex) if isinstance(v, Node) and v.op.name == name)
        xs = node.saved if node.saved is not None else node.inputs
        g = np.random.default_rng(0).normal(size=node.shape)
        for i in range(len(node.inputs)):
            want = node.op.vjp(i)(g, *xs, out=node.saved_out, **node.params)
            try:
                got = node.op.vjp(i)(strict(g), *map(strict, xs), out=strict(node.saved_out),
                                     **node.params)
            except (TypeError, AttributeError, IndexError, ValueError):
                results.append(False)
                continue
            results.append(library(got) == "array_api_strict"
                           and bool(np.allclose(np.asarray(got), want)))

    check()
    return all(results)


def test_which_vjp_rules_are_array_api_clean() -> None:
    xp = pytest.importorskip("array_api_strict")
    clean = {name for name in sorted(CASES) if _runs_array_api_clean(name, xp)}
    assert clean == ARRAY_API_CLEAN, (
        f"newly clean: {sorted(clean - ARRAY_API_CLEAN)}; no longer clean: "
        f"{sorted(ARRAY_API_CLEAN - clean)}. Update ARRAY_API_CLEAN and docs/backends.md.")


# ---- the out-of-core example, small ---------------------------------------------------------


def test_out_of_core_example_runs_small_with_both_schedulers(tmp_path: Any) -> None:
    """The script itself (its __main__ guard starts the LocalCluster), at 40,000 rows in 8
    blocks: every row of its table agrees with the block-wise closed form."""
    pytest.importorskip("distributed")
    proc = subprocess.run(
        [sys.executable, "-m", "autograd_mini.examples.out_of_core", "--rows", "40000",
         "--block", "5000", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "8 blocks" in out and "PASS" in out
    for line in ("Dask, threaded scheduler", "Dask, LocalCluster", "NumPy, X loaded whole"):
        assert line in out and "peak RSS" in out.split(line, 1)[1].splitlines()[0]
    assert (tmp_path / "graph_forward.dot").exists()
    assert "matmul" in (tmp_path / "graph_backward.dot").read_text()


def test_out_of_core_main_matches_the_closed_form(tmp_path: Any) -> None:
    from autograd_mini.examples import out_of_core

    c = out_of_core.main(out=tmp_path, rows=12_345, size=1_000, cluster=False, numpy=False)
    assert c.passed and [r.name for r in c.rows] == ["∂L/∂w, Dask threads", "L, Dask threads"]
    assert 0 < c.max_rel < out_of_core.TOLERANCE32
    # The closed form, in float64 from NumPy blocks, independently of Dask and autodiff.
    X = np.concatenate([out_of_core.block(i, n) for i, n in
                        enumerate(out_of_core._block_rows(12_345, 1_000))]).astype(np.float64)
    X, y = X[:, :out_of_core.D], X[:, out_of_core.D:]
    assert_close(c.rows[0].closed, 2 / len(X) * X.T @ (-y), rtol=1e-12)
    assert c.numbers["threads_s"] > 0 and "numpy_peak_mb" not in c.numbers


def test_detect_anomaly_on_dask_finds_the_op_that_made_a_nan() -> None:
    x = am.tensor(to_dask(np.array([1.0, -1.0, 2.0])), requires_grad=True)
    with am.detect_anomaly(), pytest.raises(FloatingPointError, match=r"log produced NaN"):
        with np.errstate(invalid="ignore"):
            am.log(x)
