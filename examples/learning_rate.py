"""learning_rate: do we need a small learning rate, and can the gradient explode? (part 4 of
the Cross Validated question)

The MSE is quadratic in w, so its Hessian is constant:

    L(w) = mean((X·w − y)²)      ∇²L = (2/N)·XᵀX

Gradient descent w ← w − η·∇L multiplies the error along each eigenvector of ∇²L by
(1 − η·λ). It shrinks for every direction exactly when η < 2/λmax; above that, the steepest
direction's error grows by |1 − η·λmax| > 1 every step and the loss blows up. That is the
learning rate's doing, not an "exploding gradient" of a deep network. The Hessian here comes
from autodiff (am.hessian differentiates the gradient's own graph) and is checked against
(2/N)·XᵀX.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import autograd_mini as am
from autograd_mini import compare as cmp

N, D = 60, 3
STEPS = 100
FACTORS = (0.9, 1.1)  # just below and just above the largest stable rate


def data(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """X with columns of different scales (1, 2, 1.5) and y from a noisy linear model."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D)) * np.array([1.0, 2.0, 1.5])
    return X, X @ np.array([[1.0], [-0.5], [2.0]]) + 0.1 * rng.normal(size=(N, 1))


def mse(w: am.Tensor, X: np.ndarray, y: np.ndarray) -> am.Tensor:
    """L(w) = mean((X·w − y)²), from matmul, sub, pow and mean."""
    err = am.tensor(X, name="X") @ w - am.tensor(y, name="y")
    err.name = "err"
    return (err ** 2).mean()


def run(X: np.ndarray, y: np.ndarray, lr: float) -> list[float]:
    """STEPS steps of gradient descent from w = 0 with autodiff gradients; L at each step."""
    w = np.zeros((D, 1))
    losses = []
    for _ in cmp.progress(range(STEPS), f"lr {lr:.3g}"):
        loss, g = am.value_and_grad(mse)(w, X, y)
        losses.append(float(loss))
        w = w - lr * g
    losses.append(float(mse(am.tensor(w), X, y).item()))
    return losses


def main(out: str | Path | None = None, perturb: float = 0.0) -> cmp.Comparison:
    """Hessian by autodiff vs (2/N)·XᵀX; runs at 0.9× and 1.1× the largest stable rate."""
    c = cmp.Comparison.start("learning_rate", "the largest stable learning rate, 2/λmax (the "
                             "question's part 4)", "L(w) = mean((X·w − y)²)", out, perturb)
    X, y = data()
    w0 = np.zeros((D, 1))
    w = am.tensor(w0, requires_grad=True, name="w")
    loss = mse(w, X, y)
    loss.name = "L"
    c.explain(loss, wrt=w)
    loss.backward(retain_graph=True)  # keep the values: the graph shows them
    c.graphs(loss)
    c.row("∂L/∂w at w = 0", w.grad, 2 / N * X.T @ (X @ w0 - y), "(2/N)·Xᵀ·(X·w − y)")
    H = am.hessian(lambda v: mse(v, X, y))(w0).reshape(D, D)
    c.row("∇²L (Hessian)", H, 2 / N * X.T @ X, "(2/N)·XᵀX")

    lam = np.linalg.eigvalsh(H)
    lr_max = 2 / lam[-1]
    print(f"\neigenvalues of ∇²L: {np.array2string(lam, precision=4)}")
    print(f"largest stable learning rate 2/λmax = {lr_max:.5g}")
    print(f"(the question's update follows ‖y − X·w‖²/(2N), whose Hessian XᵀX/N is half of ∇²L: "
          f"its limit is twice this, {2 * lr_max:.5g}; its lr 0.0001 is far below)")
    best = float(np.mean((X @ np.linalg.lstsq(X, y, rcond=None)[0] - y) ** 2))
    curves = {f: run(X, y, f * lr_max) for f in FACTORS}
    for f, losses in curves.items():
        print(f"lr = {f}×2/λmax = {f * lr_max:.5g}: L after {STEPS} steps = {losses[-1]:.4g} "
              f"(start {losses[0]:.4g}, minimum {best:.4g})")
    below, above = curves[FACTORS[0]], curves[FACTORS[1]]
    c.check(f"{FACTORS[0]}× converges (L − min < 1e-6·L₀)", below[-1] - best < 1e-6 * below[0])
    c.check(f"{FACTORS[1]}× diverges (L grows above L₀)", above[-1] > above[0])
    plot(c, curves, lr_max, best)

    def L(w: am.Tensor) -> am.Tensor:
        return mse(w, X, y)

    c.code(L, w0, hand="gradient = 2 / len(X) * X.T.dot(X.dot(w) - y)",
           source="the closed form for this loss, (2/N)·Xᵀ·(X·w − y)")
    c.answer(f"A small enough one, yes, and \"small enough\" is a number: the MSE's Hessian "
             f"is (2/N)·XᵀX (autodiff finds it to {c.rows[1].max_rel:.0e}), and each step of "
             "size η multiplies the error along its steepest direction by 1 − η·λmax. Below "
             f"2/λmax = {lr_max:.3g} descent converges; at {FACTORS[1]}× that it diverges. "
             "What blows up is the learning rate's overshoot, not the gradient of a deep "
             "network, and dividing by len(x) keeps λmax, and so the safe rate, the same for "
             "any number of rows.")

    c.note("the Hessian is constant because the MSE is quadratic: one λmax holds everywhere")
    c.note("per step the error along the top eigenvector is multiplied by |1 − η·λmax|")
    c.numbers.update(lambda_max=float(lam[-1]), lr_max=float(lr_max),
                     loss_below=below[-1], loss_above=above[-1])
    return c.finish()


def plot(c: cmp.Comparison, curves: dict[float, list[float]], lr_max: float,
         best: float) -> None:
    """Both loss curves on a log scale, with the minimum."""
    fig, ax = cmp.subplots(figsize=(7, 4))
    for (f, losses), style in zip(curves.items(), ("b-", "r-"), strict=True):
        ax.semilogy(losses, style, label=f"lr = {f}×2/λmax = {f * lr_max:.3g}")
    ax.axhline(best, color="k", ls=":", label="least-squares minimum")
    ax.set(xlabel="step", ylabel="L(w) (log scale)",
           title="just below 2/λmax converges, just above diverges")
    ax.legend(fontsize=8)
    c.savefig(fig, "loss_curves.png", "L(w) along gradient descent at 0.9× and 1.1× the "
              "largest stable rate 2/λmax")


if __name__ == "__main__":
    raise SystemExit(cmp.run_script(main))
