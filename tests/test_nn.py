"""am.nn: Linear and MLP shapes, names, initialisation, gradients and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import autograd_mini as am
from autograd_mini import nn

from .helpers import assert_close, numeric_grad


def data(n: int = 5, d_in: int = 3, d_out: int = 2, seed: int = 0
         ) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d_in)), rng.normal(size=(n, d_out))


def test_linear_is_x_times_w_plus_b() -> None:
    layer = nn.Linear(3, 2, rng=0)
    X, _ = data()
    out = layer(X)
    assert out.shape == (5, 2)
    assert_close(out.data, X @ layer.W.data + layer.b.data, rtol=1e-15)
    assert layer.W.shape == (3, 2) and layer.b.shape == (2,)
    assert np.array_equal(layer.b.data, np.zeros(2))
    assert layer.W.is_leaf and layer.W.requires_grad and layer.b.requires_grad


def test_linear_accepts_a_single_sample_and_a_tensor() -> None:
    layer = nn.Linear(3, 4, rng=1)
    x = np.array([1.0, 2.0, 3.0])
    assert layer(x).shape == (4,)
    assert_close(layer(am.tensor(x)).data, x @ layer.W.data, rtol=1e-15)


def test_linear_names() -> None:
    assert nn.Linear(2, 3).W.name == "W" and nn.Linear(2, 3).b.name == "b"
    layer = nn.Linear(2, 3, name="_out")
    assert list(layer.named_parameters()) == ["W_out", "b_out"]
    assert [p.name for p in layer.parameters()] == ["W_out", "b_out"]


@pytest.mark.parametrize(("init", "limit"), [("glorot", math.sqrt(6 / (400 + 300))),
                                             ("he", math.sqrt(6 / 400))])
def test_uniform_init_limits(init: str, limit: float) -> None:
    W = nn.Linear(400, 300, rng=0, init=init).W.data
    assert np.abs(W).max() <= limit
    assert np.abs(W).max() > 0.99 * limit  # 120,000 draws come close to the bound
    # A uniform on (−a, a) has variance a²/3.
    assert abs(W.var() / (limit ** 2 / 3) - 1) < 0.02


def test_mlp_uses_he_for_relu_and_glorot_otherwise() -> None:
    relu = nn.MLP([400, 300], activation="relu", rng=0).layers[0].W.data
    tanh = nn.MLP([400, 300], activation="tanh", rng=0).layers[0].W.data
    assert np.abs(relu).max() > math.sqrt(6 / 700)  # beyond Glorot's bound
    assert np.abs(tanh).max() <= math.sqrt(6 / 700)


def test_mlp_shapes_and_names() -> None:
    mlp = nn.MLP([3, 8, 4, 2], rng=0)
    assert [p.shape for p in mlp.parameters()] == [(3, 8), (8,), (8, 4), (4,), (4, 2), (2,)]
    named = mlp.named_parameters()
    assert list(named) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert all(named[k] is p for k, p in zip(named, mlp.parameters(), strict=True))
    X, _ = data(n=7)
    assert mlp(X).shape == (7, 2)


@pytest.mark.parametrize(("activation", "f"), [
    ("tanh", np.tanh),
    ("relu", lambda z: np.maximum(z, 0)),
    ("sigmoid", lambda z: 1 / (1 + np.exp(-z))),
])
def test_mlp_forward_by_hand(activation: str, f) -> None:
    mlp = nn.MLP([3, 5, 2], activation=activation, rng=4)
    W1, b1, W2, b2 = (p.data for p in mlp.parameters())
    X, _ = data()
    expected = f(X @ W1 + b1) @ W2 + b2  # no activation after the last layer
    assert_close(mlp(X).data, expected, rtol=1e-14, atol=1e-15)


def test_names_show_in_explain_and_the_graph() -> None:
    mlp = nn.MLP([3, 4, 2], rng=0)
    X, Y = data()
    loss = am.mse_loss(mlp(am.tensor(X, name="X")), Y)
    text = str(am.explain(loss, wrt=mlp.parameters()[0]))
    for name in ("W1", "b1", "W2", "b2"):
        assert name in text
    assert "∂L/∂W1" in text
    source = am.draw_graph(loss).source
    for name in ("W1", "b1", "W2", "b2"):
        assert f"<b>{name}</b>" in source


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_mlp_gradient_matches_finite_differences(activation: str) -> None:
    mlp = nn.MLP([3, 4, 2], activation=activation, rng=2)
    X, Y = data()
    loss = am.mse_loss(mlp(X), Y)
    loss.backward()
    for p in mlp.parameters():
        def f(values: np.ndarray, p: am.Tensor = p) -> float:
            saved = p.data.copy()
            p.data = values
            try:
                return float(am.mse_loss(mlp(X), Y))
            finally:
                p.data = saved
        assert_close(p.grad, numeric_grad(f, p.data), rtol=1e-6, atol=1e-8)


def test_the_same_seed_gives_the_same_network() -> None:
    a, b = nn.MLP([3, 6, 1], rng=7), nn.MLP([3, 6, 1], rng=7)
    c = nn.MLP([3, 6, 1], rng=8)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert np.array_equal(p.data, q.data)
    assert not np.array_equal(a.layers[0].W.data, c.layers[0].W.data)
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    assert np.array_equal(nn.Linear(3, 2, rng=g1).W.data, nn.Linear(3, 2, rng=g2).W.data)
    # A shared Generator moves on: two layers drawn from it differ.
    assert not np.array_equal(nn.Linear(3, 2, rng=g1).W.data, nn.Linear(3, 2, rng=g1).W.data)


def test_layers_of_one_mlp_are_drawn_from_one_stream() -> None:
    W1 = nn.MLP([3, 3, 3], rng=0).layers[0].W.data
    W2 = nn.MLP([3, 3, 3], rng=0).layers[1].W.data
    assert not np.array_equal(W1, W2)


def test_an_mlp_trains_with_an_optimizer() -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(64, 1))
    Y = np.sin(X)
    mlp = nn.MLP([1, 16, 1], rng=0)
    opt = am.optim.Adam(mlp.parameters(), lr=0.02)
    first = None
    for _ in range(300):
        opt.zero_grad()
        loss = am.mse_loss(mlp(X), Y)
        loss.backward()
        opt.step()
        first = float(loss) if first is None else first
    assert float(am.mse_loss(mlp(X), Y)) < 0.01 < first


@pytest.mark.parametrize(("make", "match"), [
    (lambda: nn.Linear(0, 3), "n_in must be a positive integer, got 0"),
    (lambda: nn.Linear(3, 2.5), "n_out must be a positive integer, got 2.5"),
    (lambda: nn.Linear(3, True), "n_out must be a positive integer"),
    (lambda: nn.Linear(3, 2, init="xavier"), "unknown init 'xavier'"),
    (lambda: nn.MLP([3]), "needs at least two widths"),
    (lambda: nn.MLP([]), "needs at least two widths"),
    (lambda: nn.MLP(3), "sizes must be a list of layer widths"),
    (lambda: nn.MLP([3, -1, 1]), r"sizes\[1\] must be a positive integer, got -1"),
    (lambda: nn.MLP([3, 4, 1], activation="softmax"), "unknown activation 'softmax'"),
])
def test_bad_sizes_are_refused_clearly(make, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_wrong_input_width_names_the_layer() -> None:
    mlp = nn.MLP([3, 4, 1], rng=0)
    with pytest.raises(ValueError, match=r"Linear W1 \(3 → 4\): the input has shape \(5, 2\)"):
        mlp(np.ones((5, 2)))
