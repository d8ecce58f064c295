"""The idioms people bring from NumPy, PyTorch and micrograd just work.

Python numbers from tensors, the in-place update `w -= lr * w.grad`, requires_grad_(),
retain_grad(), tuple argnums, and the (N, 1)-against-(N,) broadcast caught with a warning.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import autograd_mini as am

from .helpers import assert_close, numeric_grad

# ---- Python numbers and lists ----------------------------------------------------------------


def test_float_int_round_and_format_of_a_one_element_tensor() -> None:
    w = am.tensor([1.5, 2.0], requires_grad=True)
    loss = (w * w).sum()  # 6.25
    assert float(loss) == 6.25 and int(loss) == 6
    assert round(loss, 1) == 6.2 and round(loss) == 6
    assert f"{loss:.3f}" == "6.250" and f"{loss:>8.1f}" == "     6.2"
    assert f"{loss}" == str(loss)
    assert float(am.tensor([[2.5]])) == 2.5


def test_python_numbers_from_a_bigger_tensor_are_clear_errors() -> None:
    t = am.tensor([1.0, 2.0])
    for convert in (float, int, round, lambda t: f"{t:.2f}"):
        with pytest.raises(TypeError, match=r"exactly one element.*shape \(2,\)"):
            convert(t)


def test_tolist_and_astype() -> None:
    t = am.tensor([[1.5, 2.0]], requires_grad=True)
    assert t.tolist() == [[1.5, 2.0]]
    c = t.astype(np.float32)
    assert c.dtype == np.float32 and c.tolist() == [[1.5, 2.0]]
    assert am.tensor([1, 2]).astype(float).dtype == np.float64


# ---- in-place operators ----------------------------------------------------------------------


def test_in_place_update_under_no_grad_keeps_a_leaf_that_requires_grad() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = X @ np.array([[1.0], [-2.0], [0.5]]) + 0.01 * rng.normal(size=(50, 1))
    w = am.tensor(np.zeros((3, 1)), requires_grad=True, name="w")
    for _ in range(300):
        loss = ((X @ w - y) ** 2).mean()
        loss.backward()
        with am.no_grad():
            w -= 0.1 * w.grad
        assert w.is_leaf and w.requires_grad and w.name == "w"
        w.grad = None
    assert_close(w.data, np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-6, atol=1e-8)


def test_each_in_place_operator_changes_values_and_bumps_the_version() -> None:
    w = am.tensor([2.0, 4.0], requires_grad=True)
    with am.no_grad():
        w += 1.0
        w *= am.tensor([2.0, 0.5])
        w /= 2.0
        w -= np.array([1.0, 1.0])
    assert_close(w.data, [2.0, 0.25], rtol=0)
    assert w._version == 4 and w.is_leaf and w.requires_grad


def test_in_place_update_of_a_leaf_that_requires_grad_while_recording_is_refused() -> None:
    w = am.tensor([1.0, 2.0], requires_grad=True, name="w")
    (w * w).sum().backward()
    with pytest.raises(RuntimeError, match=r"(?s)'w' -= .*am\.no_grad\(\):.*w -= lr \* w\.grad"):
        w -= 0.1 * w.grad
    assert_close(w.data, [1.0, 2.0], rtol=0)  # unchanged


def test_in_place_update_while_a_graph_holds_the_values_makes_that_graph_refuse() -> None:
    w = am.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    with am.no_grad():
        w -= 0.5  # copy-on-write: the graph keeps the values it saw
    with pytest.raises(RuntimeError, match="version 0 then, 1 now"):
        loss.backward()


def test_in_place_on_a_tensor_without_grad_and_on_an_intermediate() -> None:
    c = am.tensor([1.0, 2.0])
    c += 1  # no gradient anywhere: in place
    assert_close(c.data, [2.0, 3.0], rtol=0)
    x = am.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h += x  # recorded as h = h + x
    h.sum().backward()
    assert_close(x.grad, [3.0, 3.0], rtol=0)


def test_in_place_that_would_change_shape_or_dtype_is_a_clear_error() -> None:
    w = am.tensor(np.ones(3))
    with pytest.raises(ValueError, match=r"-= on tensor \(3,\).*keep the tensor's shape"):
        w -= np.ones((2, 3))
    i = am.tensor([1, 2])
    with pytest.raises(TypeError, match=r"\+= .*dtype"):
        i += 0.5


# ---- retain_grad -----------------------------------------------------------------------------


def test_retain_grad_keeps_an_intermediates_gradient() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 3))
    y = rng.normal(size=(20, 1))
    w = am.tensor(rng.normal(size=(3, 1)), requires_grad=True)
    score = X @ w
    score.retain_grad()
    loss = ((score - y) ** 2).mean()
    loss.backward()
    expected = 2 / 20 * (X @ w.data - y)
    assert_close(score.grad, expected, rtol=1e-12)
    assert loss.grad is None and score.is_leaf is False


def test_retained_gradients_accumulate_like_leaves() -> None:
    x = am.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    loss = (h * h).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    assert_close(h.grad, 2 * (2 * 3 * x.data), rtol=0)


def test_retain_grad_matches_finite_differences_through_a_network() -> None:
    rng = np.random.default_rng(2)
    W = rng.normal(size=(4, 3))
    x = rng.normal(size=(5, 4))

    def loss_of_h(h: np.ndarray) -> float:
        return float(np.tanh(h).sum() ** 2)

    Wt = am.tensor(W, requires_grad=True)
    h = x @ Wt
    h.retain_grad()
    (h.tanh().sum() ** 2).backward()
    assert_close(h.grad, numeric_grad(loss_of_h, x @ W), rtol=1e-6)


def test_retain_grad_on_a_tensor_without_grad_is_refused() -> None:
    with pytest.raises(RuntimeError, match="does not require grad"):
        am.tensor([1.0]).retain_grad()


# ---- tuple argnums ---------------------------------------------------------------------------


def test_tuple_argnums_give_a_tuple_of_gradients() -> None:
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(10, 2)), rng.normal(size=(10, 1))
    W, b = rng.normal(size=(2, 1)), np.array([0.3])

    def loss(W: am.Tensor, b: am.Tensor, X: np.ndarray, y: np.ndarray) -> am.Tensor:
        return ((X @ W + b - y) ** 2).mean()

    gW, gb = am.grad(loss, argnums=(0, 1))(W, b, X, y)
    r = X @ W + b - y
    assert_close(gW, 2 / 10 * X.T @ r, rtol=1e-12)
    assert_close(gb, [2 / 10 * r.sum()], rtol=1e-12)
    value, (gb2,) = am.value_and_grad(loss, argnums=(1,))(W, b, X, y)
    assert_close(gb2, gb, rtol=0) and np.isclose(value, (r ** 2).mean())
    assert_close(am.grad(loss, argnums=-3)(W, b, X, y), gb, rtol=0)


def test_tuple_argnums_in_jacobian() -> None:
    a, b = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    Ja, Jb = am.jacobian(lambda a, b: a * b, argnums=(0, 1))(a, b)
    assert_close(Ja, np.diag(b), rtol=0)
    assert_close(Jb, np.diag(a), rtol=0)


@pytest.mark.parametrize("argnums", [(), (0, 0), (2,), 5, (0.5,)])
def test_bad_argnums_are_clear_errors(argnums: object) -> None:
    with pytest.raises(ValueError, match="argnums"):
        am.grad(lambda a, b: (a * b).sum(), argnums=argnums)(np.ones(2), np.ones(2))


# ---- the (N, 1) against (N,) shape bug --------------------------------------------------------


def test_column_minus_vector_warns_once_per_line_naming_shapes_and_fix() -> None:
    X = am.tensor(np.ones((100, 3)), name="X")
    w = am.tensor(np.zeros((3, 1)), requires_grad=True, name="w")
    y = np.ones(100)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for _ in range(3):
            loss = ((X @ w - y) ** 2).mean()  # one line, three times
    found = [c for c in caught if issubclass(c.category, am.BroadcastWarning)]
    assert len(found) == 1
    message = str(found[0].message)
    for words in ("sub", "(100, 1)", "ndarray (100,)", "(100, 100)", "reshape(-1, 1)"):
        assert words in message
    assert found[0].filename == __file__
    assert loss.shape == ()


def test_broadcast_warning_is_a_user_warning_silenced_by_the_usual_filters() -> None:
    assert issubclass(am.BroadcastWarning, UserWarning)
    col, vec = am.tensor(np.ones((4, 1))), am.tensor(np.ones(4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=am.BroadcastWarning)
        assert (col * vec).shape == (4, 4)
    with warnings.catch_warnings(), pytest.raises(am.BroadcastWarning):
        warnings.simplefilter("error")
        vec + col  # either order


@pytest.mark.parametrize("shapes", [((4, 1), (1, 4)), ((4, 1), (4, 1)), ((1,), (1, 1)),
                                    ((4, 1), (3,)), ((4, 4), (4,))])
def test_deliberate_broadcasts_do_not_warn(shapes: tuple[tuple[int, ...], ...]) -> None:
    a, b = (am.tensor(np.ones(s)) for s in shapes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a * b


def test_mse_loss_keeps_refusing_the_column_vector_pair() -> None:
    with pytest.raises(ValueError, match=r"\(100, 1\).*\(100,\)"):
        am.mse_loss(am.tensor(np.ones((100, 1))), np.ones(100))
