"""bias_term: where the minus and the 2 in `dW = −2·Xᵀ(Y − Ŷ)/m` come from (a Data Science
Stack Exchange question).

With Ŷ = X·W + b and the loss the answer names,

    J(W, b) = (1/m)·Σ (yᵢ − ŷᵢ)²
    ∂J/∂W = −(2/m)·Xᵀ·(Y − Ŷ)      ∂J/∂b = −(2/m)·Σ (Y − Ŷ)

the 2 is the square's, the minus is the inner derivative of (Y − Ŷ) with respect to Ŷ, Xᵀ is
the matmul's chain rule (it does the summation over the m rows), and b gets the plain sum
because it is broadcast to every row. Gradient descent with these gradients ends at the
least-squares solution that np.linalg.lstsq finds directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import autograd_mini as am
from autograd_mini import compare as cmp

M, D = 80, 2
LEARNING_RATE = 0.1
STEPS = 300


def data(seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """X (m×2) and Y (m×1) = X·[2, −3]ᵀ + 0.5 plus noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(M, D))
    return X, X @ np.array([[2.0], [-3.0]]) + 0.5 + 0.2 * rng.normal(size=(M, 1))


def loss_fn(X: am.Tensor, Y: am.Tensor, W: am.Tensor, b: am.Tensor) -> am.Tensor:
    """J = mean((Y − Ŷ)²) with Ŷ = X·W + b, from primitive ops."""
    Y_hat = X @ W + b
    Y_hat.name = "Y_hat"
    residual = Y - Y_hat
    residual.name = "residual"
    return (residual ** 2).mean()


def closed_form(X: np.ndarray, Y: np.ndarray, W: np.ndarray, b: float) -> tuple[Any, Any]:
    """The question's code: dW = −(2·Xᵀ·(Y − Ŷ))/m, db = −(2·Σ(Y − Ŷ))/m."""
    Y_hat = X @ W + b
    m = len(X)
    return -(2 * X.T @ (Y - Y_hat)) / m, -(2 * np.sum(Y - Y_hat)) / m


def gradients(X: np.ndarray, Y: np.ndarray, W: np.ndarray, b: float
              ) -> tuple[float, np.ndarray, np.ndarray]:
    """J and the autodiff gradients (∂J/∂W, ∂J/∂b) at (W, b)."""
    Wt = am.tensor(W, requires_grad=True, name="W")
    bt = am.tensor(b, requires_grad=True, name="b")
    J = loss_fn(am.tensor(X, name="X"), am.tensor(Y, name="Y"), Wt, bt)
    J.backward()
    return J.item(), Wt.grad, bt.grad


def descend(c: cmp.Comparison, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """The question's loop (W −= lr·dW, b −= lr·db), autodiff gradients; returns (W, b) and J."""
    W, b = np.zeros((D, 1)), 0.0
    losses, pairs = [], []
    for _ in cmp.progress(range(STEPS), "bias_term"):
        J, dW, db = gradients(X, Y, W, b)
        losses.append(J)
        cW, cb = closed_form(X, Y, W, b)
        pairs.append((np.append(dW, db), np.append(cW, cb)))
        W, b = W - LEARNING_RATE * dW, b - LEARNING_RATE * float(db)
    c.worst_row(f"(dW, db), worst of {STEPS} steps", pairs, "the question's dW, db")
    return np.append(W, b), losses


def main(out: str | Path | None = None, perturb: float = 0.0) -> cmp.Comparison:
    """Autodiff dW, db vs the question's formulas; descent vs np.linalg.lstsq."""
    c = cmp.Comparison.start("bias_term", "dW = −2·Xᵀ(Y − Ŷ)/m and db",
                             "J(W, b) = (1/m)·Σ(yᵢ − ŷᵢ)², ŷ = X·W + b", out, perturb)
    X, Y = data()
    W = am.tensor(np.zeros((D, 1)), requires_grad=True, name="W")
    b = am.tensor(0.0, requires_grad=True, name="b")
    J = loss_fn(am.tensor(X, name="X"), am.tensor(Y, name="Y"), W, b)
    J.name = "J"
    c.explain(J, wrt=[W, b])
    J.backward(retain_graph=True)  # keep the values: the graph shows them
    c.graphs(J)
    cW, cb = closed_form(X, Y, W.data, b.item())
    c.row("dW = ∂J/∂W at W = 0, b = 0", W.grad, cW, "−(2·Xᵀ·(Y − Ŷ))/m")
    c.row("db = ∂J/∂b at W = 0, b = 0", b.grad, cb, "−(2·Σ(Y − Ŷ))/m")

    wb, losses = descend(c, X, Y)
    A = np.hstack([X, np.ones((M, 1))])  # the bias is the weight of a column of ones
    best = np.linalg.lstsq(A, Y, rcond=None)[0].ravel()
    distance = float(np.linalg.norm(wb - best))
    print(f"\nafter {STEPS} steps (lr {LEARNING_RATE}): W = {np.round(wb[:D], 6)}, "
          f"b = {wb[D]:.6f}")
    print(f"np.linalg.lstsq:        W = {np.round(best[:D], 6)}, b = {best[D]:.6f}")
    print(f"distance ‖(W, b) − lstsq‖ = {distance:.2e}")
    c.check("gradient descent reaches np.linalg.lstsq's solution (distance < 1e-8)",
            distance < 1e-8)
    plot(c, losses, float(np.mean((A @ best[:, None] - Y) ** 2)))

    def J(W: am.Tensor, b: am.Tensor) -> am.Tensor:
        return loss_fn(am.tensor(X, name="X"), am.tensor(Y, name="Y"), W, b)

    c.code(J, np.zeros((D, 1)), np.asarray(0.0), argnums=(0, 1),
           hand="dW = - (2 * (X^T ).dot(Y - Y_hat)) / m\ndb = - (2 * np.sum(Y - Y_hat)) / m",
           source="the question's lines")
    c.answer("The loss is the mean squared error J = (1/m)·Σ(yᵢ − ŷᵢ)², with no ½, so the 2 "
             "of the square stays. The minus is the derivative of Y − Ŷ with respect to Ŷ. "
             "The matrix product does the summation: Xᵀ·(Y − Ŷ) adds up xᵢ·(yᵢ − ŷᵢ) over "
             "the m rows, and b, added to every row, gets the plain sum. Descent with these "
             f"gradients lands on np.linalg.lstsq's solution (distance {distance:.0e}).")

    c.note("J has no ½, so the 2 stays; the minus comes from ∂(Y − Ŷ)/∂Ŷ = −1")
    c.note("db sums over rows because b is broadcast to all m rows of Ŷ")
    c.numbers.update(distance_to_lstsq=distance, final_loss=losses[-1])
    return c.finish()


def plot(c: cmp.Comparison, losses: list[float], best: float) -> None:
    """J along the descent, and its gap to the least-squares minimum (log scale)."""
    fig, (ax1, ax2) = cmp.subplots(1, 2, figsize=(10, 4))
    ax1.plot(losses)
    ax1.axhline(best, color="k", ls=":", label="lstsq minimum")
    ax1.set(xlabel="step", ylabel="J(W, b)", title=f"gradient descent, lr {LEARNING_RATE}")
    ax1.legend()
    ax2.semilogy(np.maximum(np.array(losses) - best, 1e-18))
    ax2.set(xlabel="step", ylabel="J − J(lstsq) (log scale)", title="reaching lstsq")
    c.savefig(fig, "loss.png", "J along the descent, and its gap to the lstsq minimum: the "
              "question's update, with autodiff gradients, ends on the least-squares solution")


if __name__ == "__main__":
    raise SystemExit(cmp.run_script(main))
