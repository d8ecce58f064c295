"""Two building blocks for small networks: Linear (x·W + b) and MLP (Linears and activations).

    mlp = am.nn.MLP([1, 16, 1], activation="tanh", rng=0)
    loss = am.mse_loss(mlp(X), y)
    am.explain(loss, wrt=mlp.parameters()[0])     # the chain rule through W1, b1, W2, b2

The parameters are ordinary leaf tensors that require grad, named so that graphs and
explanations read like the math: an MLP's layers hold W1, b1, W2, b2, …
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .tensor import ArrayLike, Tensor

__all__ = ["Linear", "MLP"]

Seed = np.random.Generator | int | None

ACTIVATIONS = ("tanh", "relu", "sigmoid")
INITS = ("glorot", "he")


def _size(value: Any, what: str, who: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{who}: {what} must be a positive integer, got {value!r}.")
    return int(value)


class Linear:
    """An affine layer y = x·W + b, with W of shape (n_in, n_out) and b of shape (n_out,).

    W ~ U(−a, a): Glorot's a = √(6/(n_in + n_out)) (init="glorot", for tanh and sigmoid) or
    He's a = √(6/n_in) (init="he", for relu); b = 0. `rng` is a numpy Generator or a seed.
    `name` is appended to the tensors' names: name="1" gives W1 and b1, None gives W and b.
    """

    def __init__(self, n_in: int, n_out: int, rng: Seed = None, name: str | None = None,
                 *, init: str = "glorot") -> None:
        self.n_in = _size(n_in, "n_in", "Linear")
        self.n_out = _size(n_out, "n_out", "Linear")
        if init not in INITS:
            raise ValueError(f"Linear: unknown init {init!r}; use one of "
                             f"{', '.join(map(repr, INITS))}.")
        fan = self.n_in + self.n_out if init == "glorot" else self.n_in
        limit = math.sqrt(6.0 / fan)  # keeps the activations' variance about constant per layer
        gen = np.random.default_rng(rng)
        suffix = "" if name is None else str(name)
        self.W = Tensor(gen.uniform(-limit, limit, size=(self.n_in, self.n_out)),
                        requires_grad=True, name="W" + suffix)
        self.b = Tensor(np.zeros(self.n_out), requires_grad=True, name="b" + suffix)

    def __call__(self, x: ArrayLike) -> Tensor:
        """x·W + b for x of shape (..., n_in)."""
        shape = np.shape(x)
        if not shape or shape[-1] != self.n_in:
            raise ValueError(
                f"Linear {self.W.name} ({self.n_in} → {self.n_out}): the input has shape "
                f"{shape}, but its last axis must have the {self.n_in} input features.")
        if not isinstance(x, Tensor):
            x = Tensor(x)
        return x @ self.W + self.b

    def parameters(self) -> list[Tensor]:
        """[W, b]."""
        return [self.W, self.b]

    def named_parameters(self) -> dict[str, Tensor]:
        """{W's name: W, b's name: b}."""
        return {str(p.name): p for p in self.parameters()}

    def __repr__(self) -> str:
        return f"Linear({self.n_in} → {self.n_out}: {self.W.name}, {self.b.name})"


class MLP:
    """A multilayer perceptron: Linear layers of the given sizes, an activation between them.

    MLP([n₀, n₁, …, n_k]) computes h₀ = x, hᵢ = σ(hᵢ₋₁·Wᵢ + bᵢ) for i < k and
    h_k·W_k + b_k last (no activation: apply your own, or a loss that expects raw scores).
    Layer i's tensors are named Wi and bi. `sizes` lists the widths n₀ … n_k; `activation`
    is "tanh" (default), "relu" or "sigmoid", and relu layers get He's initialisation, tanh
    and sigmoid Glorot's. `rng` (a numpy Generator or a seed) draws every layer's weights, so
    one seed fixes the whole network.
    """

    def __init__(self, sizes: Sequence[int], activation: str = "tanh",
                 rng: Seed = None) -> None:
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
            raise ValueError(f"MLP: sizes must be a list of layer widths such as [2, 16, 1], "
                             f"got {sizes!r}.")
        if len(sizes) < 2:
            raise ValueError(f"MLP: sizes={list(sizes)!r} needs at least two widths (inputs "
                             "and outputs), e.g. [2, 16, 1].")
        widths = [_size(n, f"sizes[{k}]", "MLP") for k, n in enumerate(sizes)]
        if activation not in ACTIVATIONS:
            raise ValueError(f"MLP: unknown activation {activation!r}; use one of "
                             f"{', '.join(map(repr, ACTIVATIONS))}.")
        self.sizes = widths
        self.activation = activation
        gen = np.random.default_rng(rng)  # one stream for all layers, so a seed fixes them all
        init = "he" if activation == "relu" else "glorot"
        self.layers = [Linear(widths[k - 1], widths[k], rng=gen, name=str(k), init=init)
                       for k in range(1, len(widths))]

    def __call__(self, x: ArrayLike) -> Tensor:
        """The network's output for x of shape (..., sizes[0])."""
        h = self.layers[0](x)
        for layer in self.layers[1:]:
            h = layer(getattr(h, self.activation)())
        return h

    def parameters(self) -> list[Tensor]:
        """[W1, b1, W2, b2, …]."""
        return [p for layer in self.layers for p in layer.parameters()]

    def named_parameters(self) -> dict[str, Tensor]:
        """{"W1": W1, "b1": b1, "W2": W2, …}."""
        return {str(p.name): p for p in self.parameters()}

    def __repr__(self) -> str:
        return f"MLP({self.sizes}, activation={self.activation!r})"
