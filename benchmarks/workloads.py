"""The benchmark workloads W1–W4, each written once per implementation.

A workload builder takes the problem size and returns `step()`, one forward and backward
pass that returns the gradients (so nothing is skipped). Builders for an implementation that
is not installed are simply absent from `IMPLEMENTATIONS` (see `available`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

Step = Callable[[], Any]

# W2/W3: a repeating cycle of cheap element-wise ops on a small vector.
CHAIN_SHAPE = (16,)


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def mse_data(n: int, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X (n×d), y (n×1), w (d×1) for the MSE gradient 2/N · Xᵀ(Xw − y)."""
    rng = _rng()
    return rng.standard_normal((n, d)), rng.standard_normal((n, 1)), rng.standard_normal((d, 1))


def chain_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = _rng()
    x = rng.uniform(-1, 1, CHAIN_SHAPE)
    a = rng.uniform(0.5, 1.0, CHAIN_SHAPE)
    b = rng.uniform(-0.1, 0.1, CHAIN_SHAPE)
    return x, a, b


def mlp_data(batch: int = 256) -> dict[str, np.ndarray]:
    """An MLP 64-128-10 with one-hot labels."""
    rng = _rng()
    return {
        "X": rng.standard_normal((batch, 64)),
        "Y": np.eye(10)[rng.integers(0, 10, batch)],
        "W1": rng.standard_normal((64, 128)) * 0.1, "b1": np.zeros(128),
        "W2": rng.standard_normal((128, 10)) * 0.1, "b2": np.zeros(10),
    }


# ---- hand-written NumPy: the reference every ratio is taken against -----------------------

def numpy_w1(n: int, d: int) -> Step:
    X, y, w = mse_data(n, d)

    def step() -> Any:
        # The floor holds one N-vector: X @ w - y reuses X @ w's temporary (NumPy elides it),
        # np.vdot(r, r) needs no r ** 2, and X.T @ r is D long before it is scaled.
        r = X @ w - y
        return np.vdot(r, r) / len(X), X.T @ r * (2 / len(X))
    return step


def numpy_chain(depth: int) -> Step:
    """Forward y ← tanh(y·a + b)·0.5 (three ops per cycle), backward by hand."""
    x, a, b = chain_data()

    def step() -> Any:
        outs = []
        y = x
        for _ in range(depth // 3):
            y = np.tanh(y * a + b)
            outs.append(y)
            y = y * 0.5
        g = np.ones_like(y)
        for t in reversed(outs):
            g = g * 0.5 * (1 - t * t) * a
        return g
    return step


def numpy_w4() -> Step:
    p = mlp_data()
    X, Y, W1, b1, W2, b2 = (p[k] for k in ("X", "Y", "W1", "b1", "W2", "b2"))
    B = len(X)

    def step() -> Any:
        h = np.tanh(X @ W1 + b1)
        z = h @ W2 + b2
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        loss = -(Y * (z - np.log(s))).sum() / B
        dz = (e / s - Y) / B
        dh = (dz @ W2.T) * (1 - h * h)
        return loss, X.T @ dh, dh.sum(axis=0), h.T @ dz, dz.sum(axis=0)
    return step


# ---- autograd_mini --------------------------------------------------------------------------

def am_w1(n: int, d: int) -> Step:
    import autograd_mini as am
    X_, y_, w_ = mse_data(n, d)
    X, y = am.tensor(X_), am.tensor(y_)
    w = am.tensor(w_, requires_grad=True)

    def step() -> Any:
        w.grad = None
        loss = ((X @ w - y) ** 2).mean()
        loss.backward()
        return loss, w.grad
    return step


def am_chain(depth: int) -> Step:
    import autograd_mini as am
    x_, a, b = chain_data()
    x = am.tensor(x_, requires_grad=True)

    def step() -> Any:
        x.grad = None
        y = x
        for _ in range(depth // 3):
            y = (y * a + b).tanh() * 0.5
        y.backward(np.ones(CHAIN_SHAPE))
        return x.grad
    return step


def am_w4() -> Step:
    import autograd_mini as am
    p = mlp_data()
    X, Y = p["X"], p["Y"]
    params = [am.tensor(p[k], requires_grad=True) for k in ("W1", "b1", "W2", "b2")]
    W1, b1, W2, b2 = params

    def step() -> Any:
        for t in params:
            t.grad = None
        h = (X @ W1 + b1).tanh()
        loss = -(Y * am.log_softmax(h @ W2 + b2, axis=1)).sum() / len(X)
        loss.backward()
        return loss, [t.grad for t in params]
    return step


# ---- autograd_mini, compiled: am.compile writes the gradient out as NumPy -----------------
#
# Each builder makes the first call itself (trace, write the code, exec it) and keeps how long
# it took in `step.first_call`; the step then times the compiled function alone.

def _first_call(cf: Any, *args: Any) -> Step:
    t0 = time.perf_counter()
    cf(*args)
    seconds = time.perf_counter() - t0

    def step() -> Any:
        return cf(*args)
    step.first_call = seconds  # type: ignore[attr-defined]
    return step


def am_compiled_w1(n: int, d: int) -> Step:
    import autograd_mini as am
    X, y, w = mse_data(n, d)
    return _first_call(am.compile(lambda w, X, y: ((X @ w - y) ** 2).mean()), w, X, y)


def am_compiled_chain(depth: int) -> Step:
    import autograd_mini as am
    x, a, b = chain_data()

    def chain(y: Any, a: Any, b: Any) -> Any:
        for _ in range(depth // 3):
            y = (y * a + b).tanh() * 0.5
        return y.sum()  # ones as the upstream gradient, as the others
    return _first_call(am.compile(chain), x, a, b)


def am_compiled_w4() -> Step:
    import autograd_mini as am
    p = mlp_data()

    def loss(W1: Any, b1: Any, W2: Any, b2: Any, X: Any, Y: Any) -> Any:
        h = (X @ W1 + b1).tanh()
        return -(Y * am.log_softmax(h @ W2 + b2, axis=1)).sum() / len(X)
    cf = am.compile(loss, argnums=(0, 1, 2, 3))
    return _first_call(cf, *(p[k] for k in ("W1", "b1", "W2", "b2", "X", "Y")))


# ---- PyTorch (CPU, float64, one thread) ----------------------------------------------------

def torch_w1(n: int, d: int) -> Step:
    import torch
    X_, y_, w_ = mse_data(n, d)
    X, y = torch.from_numpy(X_), torch.from_numpy(y_)
    w = torch.from_numpy(w_).requires_grad_()

    def step() -> Any:
        w.grad = None
        loss = ((X @ w - y) ** 2).mean()
        loss.backward()
        return loss, w.grad
    return step


def torch_chain(depth: int) -> Step:
    import torch
    x_, a_, b_ = chain_data()
    x = torch.from_numpy(x_).requires_grad_()
    a, b = torch.from_numpy(a_), torch.from_numpy(b_)

    def step() -> Any:
        x.grad = None
        y = x
        for _ in range(depth // 3):
            y = torch.tanh(y * a + b) * 0.5
        y.backward(torch.ones(CHAIN_SHAPE, dtype=torch.float64))
        return x.grad
    return step


def torch_w4() -> Step:
    import torch
    p = {k: torch.from_numpy(v) for k, v in mlp_data().items()}
    X, Y = p["X"], p["Y"]
    params = [p[k].requires_grad_() for k in ("W1", "b1", "W2", "b2")]
    W1, b1, W2, b2 = params

    def step() -> Any:
        for t in params:
            t.grad = None
        h = torch.tanh(X @ W1 + b1)
        loss = -(Y * torch.log_softmax(h @ W2 + b2, dim=1)).sum() / len(X)
        loss.backward()
        return loss, [t.grad for t in params]
    return step


# ---- HIPS autograd --------------------------------------------------------------------------

def hips_w1(n: int, d: int) -> Step:
    import autograd
    import autograd.numpy as anp
    X, y, w = mse_data(n, d)
    value_and_grad = autograd.value_and_grad(lambda w: anp.mean((X @ w - y) ** 2))
    return lambda: value_and_grad(w)


def hips_chain(depth: int) -> Step:
    import autograd
    import autograd.numpy as anp
    x, a, b = chain_data()

    def f(y: Any) -> Any:
        for _ in range(depth // 3):
            y = anp.tanh(y * a + b) * 0.5
        return anp.sum(y)  # ones as the upstream gradient, as the others
    return lambda: autograd.grad(f)(x)


def hips_w4() -> Step:
    import autograd
    import autograd.numpy as anp
    p = mlp_data()
    X, Y = p["X"], p["Y"]

    def loss(params: list[Any]) -> Any:
        W1, b1, W2, b2 = params
        z = anp.tanh(X @ W1 + b1) @ W2 + b2
        z = z - anp.max(z, axis=1, keepdims=True)  # autograd.scipy would need SciPy
        return -(Y * (z - anp.log(anp.exp(z).sum(axis=1, keepdims=True)))).sum() / len(X)
    value_and_grad = autograd.value_and_grad(loss)
    params = [p[k] for k in ("W1", "b1", "W2", "b2")]
    return lambda: value_and_grad(params)


IMPLEMENTATIONS: dict[str, dict[str, Callable[..., Step]]] = {
    "numpy": {"W1": numpy_w1, "chain": numpy_chain, "W4": numpy_w4},
    "autograd_mini": {"W1": am_w1, "chain": am_chain, "W4": am_w4},
    "am_compiled": {"W1": am_compiled_w1, "chain": am_compiled_chain, "W4": am_compiled_w4},
    "torch": {"W1": torch_w1, "chain": torch_chain, "W4": torch_w4},
    "hips": {"W1": hips_w1, "chain": hips_chain, "W4": hips_w4},
}
MODULES = {"numpy": "numpy", "autograd_mini": "autograd_mini", "am_compiled": "autograd_mini",
           "torch": "torch", "hips": "autograd"}


def available() -> list[str]:
    """The implementations whose package imports here."""
    import importlib.util
    return [k for k, m in MODULES.items() if importlib.util.find_spec(m) is not None]
