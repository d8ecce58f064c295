"""mse_gradient: why `x.T.dot(y − score) / len(x)` is a gradient (parts 1–3 of a
Cross Validated question).

The question's line is exact, with a sign, for the loss

    L(w) = mean(½·(y − X·w)²) = ‖y − X·w‖² / (2N)
    ∂L/∂w = −Xᵀ·(y − X·w) / N          so  X.T.dot(y − score)/N = −∂L/∂w

which is why the question's update is `w += lr·gradient` (a step downhill). The ½ cancels the 2
of the square; the 1/N is the mean's; Xᵀ is the chain rule through the matmul: ∂L/∂w =
Xᵀ·∂L/∂score. For the plain MSE without ½, mean((X·w − y)²), the gradient is
(2/N)·Xᵀ·(X·w − y). Autodiff computes both from the loss alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import autograd_mini as am
from autograd_mini import compare as cmp

N, D = 50, 3


def data(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X (N×D), y (N×1) from a noisy linear model, and a point w (D×1) away from the fit."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D))
    y = X @ np.array([[1.5], [-2.0], [0.5]]) + 0.1 * rng.normal(size=(N, 1))
    return X, y, rng.normal(size=(D, 1))


def half_mse(X: am.Tensor, y: am.Tensor, w: am.Tensor) -> am.Tensor:
    """L = mean(½·(y − score)²) with score = X·w, as the question's answer writes it."""
    score = X @ w
    score.name = "score"
    error = y - score
    error.name = "error"
    return (0.5 * error ** 2).mean()


def plot(c: cmp.Comparison, X: np.ndarray, y: np.ndarray, w0: np.ndarray) -> None:
    """Left: the gradient's entries, autodiff vs the question's line. Right: why divide by N."""
    w = am.tensor(w0, requires_grad=True, name="w")
    half_mse(am.tensor(X), am.tensor(y), w).backward()
    seed = X.T @ (y - X @ w0) / len(X)
    fig, (ax1, ax2) = cmp.subplots(1, 2, figsize=(10, 4))
    idx = np.arange(D)
    ax1.bar(idx - 0.2, -np.ravel(w.grad), 0.4, label="−∂L/∂w (autodiff)")
    ax1.bar(idx + 0.2, np.ravel(seed), 0.4, label="x.T.dot(y − score)/len(x) (question)")
    ax1.set(xticks=idx, xticklabels=[f"w[{i}]" for i in idx], title="the same numbers")
    ax1.legend(fontsize=8)
    # The sum's gradient grows with the number of rows; the mean's stays put, so one learning
    # rate works for any data-set size.
    sizes = np.arange(5, 201, 5)
    rng = np.random.default_rng(1)
    Xb = rng.normal(size=(sizes[-1], D))
    yb = Xb @ np.array([[1.5], [-2.0], [0.5]])
    summed = [np.linalg.norm(Xb[:n].T @ (yb[:n] - Xb[:n] @ w0)) for n in sizes]
    ax2.plot(sizes, summed, label="‖Xᵀ(y − Xw)‖ (sum over rows)")
    ax2.plot(sizes, np.array(summed) / sizes, label="‖Xᵀ(y − Xw)‖ / N (mean)")
    ax2.set(xlabel="N (rows of X)", ylabel="gradient norm", yscale="log",
            title="why / len(x)")
    ax2.legend(fontsize=8)
    c.savefig(fig, "gradient_and_scale.png", "left: −∂L/∂w from autodiff and the question's "
              "x.T.dot(error)/len(x), entry by entry; right: the summed gradient grows with N, "
              "the mean's does not")


def main(out: str | Path | None = None, perturb: float = 0.0) -> cmp.Comparison:
    """Autodiff of mean(½(y − Xw)²) and of mean((Xw − y)²) against the question's closed forms."""
    c = cmp.Comparison.start("mse_gradient", "why x.T.dot(error)/len(x) is a gradient",
                             "L(w) = mean(½·(y − X·w)²) = ‖y − X·w‖²/(2N)", out, perturb)
    X, y, w0 = data()
    Xt, yt = am.tensor(X, name="X"), am.tensor(y, name="y")
    w = am.tensor(w0, requires_grad=True, name="w")
    loss = half_mse(Xt, yt, w)
    loss.name = "L"
    c.explain(loss, wrt=w)
    loss.backward(retain_graph=True)  # keep the values: the graph shows them
    c.graphs(loss)
    seed = X.T @ (y - X @ w0) / len(X)
    c.row("−∂L/∂w", -w.grad, seed, "x.T.dot(y − score)/len(x)  (the question's line)")

    # The same data under the plain MSE (no ½): the factor 2 appears, the sign flips back.
    v = am.tensor(w0, requires_grad=True, name="w")
    am.mse_loss(Xt @ v, yt).backward()
    c.row("∂/∂w mean((X·w − y)²)", v.grad, 2 / N * X.T @ (X @ w0 - y), "(2/N)·Xᵀ·(X·w − y)")
    plot(c, X, y, w0)

    def L(w: am.Tensor) -> am.Tensor:
        return half_mse(Xt, yt, w)

    c.code(L, w0, hand="gradient = x.T.dot(error) / len(x)    # error = y - score",
           source="the question's line, which is −∂L/∂w")
    c.answer(f"The line is a gradient, with its sign flipped: for L(w) = mean(½·(y − X·w)²) "
             f"autodiff finds ∂L/∂w = −Xᵀ·(y − X·w)/N, so x.T.dot(error)/len(x) is −∂L/∂w "
             f"(they agree to {c.rows[0].max_rel:.0e}) and w += lr·gradient steps downhill. "
             "The ½ cancels the 2 of the square, and the 1/N is the mean's: each of the N rows "
             "gets 1/N of the gradient. The transpose is the matrix product's chain rule: "
             "score = X·w gives ∂scoreᵢ/∂wⱼ = Xᵢⱼ, so ∂L/∂wⱼ = Σᵢ Xᵢⱼ·∂L/∂scoreᵢ, which is "
             "entry j of Xᵀ·∂L/∂score.")

    c.note("the question's `gradient` is the NEGATIVE gradient of ‖y − X·w‖²/(2N); "
           "so `w += lr·gradient` descends")
    c.note("½ cancels the square's 2; 1/N comes from the mean; Xᵀ from the matmul's chain rule")
    c.note("without ½ (plain MSE) the gradient is (2/N)·Xᵀ·(X·w − y): twice as large")
    c.numbers.update(loss=loss.item(), grad_norm=float(np.linalg.norm(w.grad)))
    return c.finish()


if __name__ == "__main__":
    raise SystemExit(cmp.run_script(main))
