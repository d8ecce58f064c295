"""Optimizers: SGD (with momentum and Nesterov), Adam and AdamW, in PyTorch's conventions.

    opt = am.optim.Adam(mlp.parameters(), lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        loss = am.mse_loss(mlp(X), y)
        loss.backward()
        opt.step()

`step()` changes each parameter in place without recording, exactly like
`with am.no_grad(): w -= lr * w.grad`: the parameter stays a leaf that requires grad, and
its version counter moves, so a graph recorded before the step refuses `backward()`
instead of returning a gradient of values that are gone. Parameters whose `.grad` is None
(not reached by the last backward) are left alone, their state included. State (momentum
buffers, Adam's moments) has each parameter's dtype, so float32 parameters stay float32.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .mode import no_grad
from .tensor import Tensor

__all__ = ["Optimizer", "SGD", "Adam", "AdamW"]


def _parameters(params: Iterable[Tensor], who: str) -> list[Tensor]:
    """The parameters as a list, refused unless each is a distinct leaf that requires grad."""
    if isinstance(params, Tensor):
        raise TypeError(f"{who}: params must be a list of tensors, got one Tensor; write "
                        f"{who}([w], ...).")
    if isinstance(params, dict):
        raise TypeError(f"{who}: params is a dict; pass its tensors, e.g. model.parameters() "
                        "or list(named.values()).")
    try:
        found = list(params)
    except TypeError:
        raise TypeError(f"{who}: params must be an iterable of tensors, got "
                        f"{type(params).__name__}.") from None
    if not found:
        raise ValueError(f"{who}: params is empty; there is nothing to optimize. (A "
                         "generator such as model.parameters() can only be read once.)")
    seen: set[int] = set()
    for k, p in enumerate(found):
        label = f"params[{k}]" + (f" ({p.name!r})" if isinstance(p, Tensor) and p.name else "")
        if not isinstance(p, Tensor):
            raise TypeError(f"{who}: {label} is a {type(p).__name__}, not a Tensor; make it "
                            "with am.tensor(data, requires_grad=True).")
        if not p.requires_grad:
            raise ValueError(f"{who}: {label} does not require grad, so it never gets a "
                             "gradient to follow; create it with requires_grad=True.")
        if not p.is_leaf:
            raise ValueError(f"{who}: {label} is the output of {p.op}, not a leaf; optimize "
                             "the tensors it was computed from.")
        if id(p) in seen:
            # It would be stepped twice per step() with the same gradient.
            raise ValueError(f"{who}: {label} appears twice in params.")
        seen.add(id(p))
    return found


def _number(value: Any, what: str, who: str, lo: float = 0.0, below: float | None = None
            ) -> float:
    """`value` as a float in [lo, below) (or [lo, ∞)), else a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{who}: {what} must be a number, got {type(value).__name__}.")
    x = float(value)
    if not math.isfinite(x) or x < lo or (below is not None and x >= below):
        bounds = f"[{lo:g}, {below:g})" if below is not None else f">= {lo:g}"
        raise ValueError(f"{who}: {what}={value!r} is invalid; it must be {bounds}.")
    return x


class Optimizer:
    """What SGD, Adam and AdamW share: the parameters, their state, zero_grad and step.

    `params` are the tensors to update: distinct leaves that require grad, such as
    model.parameters() (a list or any iterable, read once). `lr` is the learning rate, ≥ 0.
    """

    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        who = type(self).__name__
        self.params: list[Tensor] = _parameters(params, who)
        self.lr: float = _number(lr, "lr", who)
        # One dict per parameter (same order as params), filled on its first update.
        self.state: list[dict[str, Any]] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        """Set every parameter's gradient to None (backward would otherwise add to it)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update, in place, every parameter that has a gradient."""
        with no_grad():
            for p, state in zip(self.params, self.state, strict=True):
                if p.grad is not None:
                    self._update(p, p.grad.astype(p.dtype, copy=False), state)

    def _update(self, p: Tensor, g: np.ndarray, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.params)} parameters, lr={self.lr:g})"


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum μ, Nesterov and L2 weight decay λ.

    g ← g + λ·p;  with momentum: b ← μ·b + g (b = g on the first step),
    then g ← b, or g ← g + μ·b with Nesterov;  p ← p − lr·g.

    `params` are the tensors to update (leaves that require grad, e.g. model.parameters());
    `lr` is the learning rate; `momentum` is μ in [0, 1) (0: plain SGD); `nesterov`=True takes
    Nesterov's step and needs momentum > 0; `weight_decay` is λ ≥ 0 (0: none).
    """

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        self.momentum = _number(momentum, "momentum", "SGD", 0.0, 1.0)
        self.weight_decay = _number(weight_decay, "weight_decay", "SGD")
        if nesterov and self.momentum == 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0 (Nesterov's step looks "
                             "ahead along the momentum buffer).")
        self.nesterov = bool(nesterov)

    def _update(self, p: Tensor, g: np.ndarray, state: dict[str, Any]) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        if self.momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()  # so the first step is plain SGD
            else:
                buf *= self.momentum
                buf += g
            g = g + self.momentum * buf if self.nesterov else buf
        p -= self.lr * g


class Adam(Optimizer):
    """Adam with bias correction; weight_decay λ adds L2's λ·p to the gradient (as PyTorch).

    g ← g + λ·p;  m ← β₁·m + (1 − β₁)·g;  v ← β₂·v + (1 − β₂)·g²;
    m̂ = m/(1 − β₁ᵗ);  v̂ = v/(1 − β₂ᵗ);  p ← p − lr·m̂/(√v̂ + ε),  t = 1, 2, … per parameter.

    `params` are the tensors to update (leaves that require grad, e.g. model.parameters());
    `lr` is the learning rate (default 1e-3); `betas` is (β₁, β₂), each in [0, 1) (default
    (0.9, 0.999)); `eps` is ε (default 1e-8); `weight_decay` is λ ≥ 0 (default 0: none).
    """

    _decoupled = False

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        who = type(self).__name__
        try:
            beta1, beta2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"{who}: betas must be a pair (β₁, β₂), got {betas!r}.") from None
        self.betas = (_number(beta1, "betas[0]", who, 0.0, 1.0),
                      _number(beta2, "betas[1]", who, 0.0, 1.0))
        self.eps = _number(eps, "eps", who)
        self.weight_decay = _number(weight_decay, "weight_decay", who)

    def _update(self, p: Tensor, g: np.ndarray, state: dict[str, Any]) -> None:
        beta1, beta2 = self.betas
        if self.weight_decay and self._decoupled:
            p *= 1 - self.lr * self.weight_decay  # shrink p itself; m and v never see it
        elif self.weight_decay:
            g = g + self.weight_decay * p.data
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p.data)
            state["exp_avg_sq"] = np.zeros_like(p.data)
        state["step"] += 1
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        m_hat = m / (1 - beta1 ** t)
        v_hat = v / (1 - beta2 ** t)
        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class AdamW(Adam):
    """Adam with decoupled weight decay: p ← p − lr·λ·p, then Adam's step without decay.

    m ← β₁·m + (1 − β₁)·g;  v ← β₂·v + (1 − β₂)·g²;
    p ← p − lr·λ·p − lr·m̂/(√v̂ + ε)  with m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ).

    `params`, `lr`, `betas` and `eps` are Adam's; `weight_decay` is λ ≥ 0, 1e-2 by default
    (Adam's default is 0).
    """

    _decoupled = True

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
