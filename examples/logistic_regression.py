"""logistic_regression: the step after linear regression, a linear classifier for scikit-learn's
breast-cancer data, with its gradient derived by hand and by autodiff.

Logistic regression keeps the linear score z = X·w + b and swaps the squared error for the
binary cross-entropy of σ(z). With an L2 penalty on w (not on b):

    L(w, b) = mean(−[y·log σ(z) + (1 − y)·log(1 − σ(z))]) + λ/2·‖w‖²
            = mean(softplus(z) − y ⊙ z) + λ/2·‖w‖²
    ∂L/∂w = Xᵀ·(σ(X·w + b) − y)/N + λ·w        ∂L/∂b = mean(σ(X·w + b) − y)

The second line is the same loss written so that it never takes log(0) (softplus(z) =
log(1 + eᶻ)). The gradient has the MSE's shape, Xᵀ times an error over N, with σ(z) − y as
the error: the sigmoid's derivative σ·(1 − σ) cancels against the log's 1/σ and 1/(1 − σ).
The ½ of the penalty cancels the square's 2, as in mse_gradient. The same L is minimised by
plain gradient descent, by Adam, by L-BFGS-B through am.minimize, and by scikit-learn's
LogisticRegression, whose objective C·Σ log-loss + ½‖w‖² is C·N times L when C = 1/(λN).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import autograd_mini as am
from autograd_mini import compare as cmp

LAMBDA = 0.01          # the L2 penalty's weight λ
GD_STEPS = 3000        # plain gradient descent at rate 1/λmax
ADAM_STEPS = 2000
ADAM_LR = 0.01
GRADIENT_TOL = 1e-12   # autodiff vs the hand-derived gradient, relative
SKLEARN_TOL = 1e-4     # our coefficients vs scikit-learn's, relative


def data() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """X (569×30), each feature standardized to mean 0 and standard deviation 1, y (569×1):
    1 for a benign tumour, 0 for a malignant one (scikit-learn's coding), and the features'
    names."""
    from sklearn.datasets import load_breast_cancer  # the `examples` extra; bundled, no download

    d = load_breast_cancer()
    X = (d.data - d.data.mean(axis=0)) / d.data.std(axis=0)
    return X, d.target.astype(np.float64).reshape(-1, 1), list(d.feature_names)


def loss_fn(X: am.Tensor, y: am.Tensor, w: am.Tensor, b: am.Tensor | float,
            lam: float = LAMBDA) -> am.Tensor:
    """L = mean(softplus(X·w + b) − y ⊙ (X·w + b)) + λ/2·Σw², from primitive ops."""
    z = X @ w + b
    return (am.softplus(z) - y * z).mean() + lam / 2 * (w ** 2).sum()


def packed(theta: am.Tensor, X: am.Tensor, y: am.Tensor) -> am.Tensor:
    """L as a function of one vector θ = (w₁, …, w_D, b): what am.minimize and am.hessian take."""
    return loss_fn(X, y, theta[:-1].reshape(-1, 1), theta[-1])


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1/(1 + e⁻ᶻ) in NumPy, for the hand-derived side."""
    return 1 / (1 + np.exp(-z))


def closed_form(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float,
                lam: float = LAMBDA) -> tuple[np.ndarray, float]:
    """The hand-derived gradient: ∂L/∂w = Xᵀ·(σ(X·w + b) − y)/N + λ·w, ∂L/∂b = mean(σ − y)."""
    error = sigmoid(X @ w + b) - y
    return X.T @ error / len(X) + lam * w, float(error.mean())


def accuracy(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> float:
    """The share of samples on the right side of the boundary X·w + b = 0 (σ = ½)."""
    return float(np.mean(((X @ w + b) > 0) == (y > 0.5)))


def descend(c: cmp.Comparison, X: np.ndarray, y: np.ndarray, lr: float, steps: int
            ) -> tuple[np.ndarray, list[float]]:
    """Plain gradient descent from w = 0, b = 0 with autodiff gradients, each step checked
    against the hand-derived gradient; returns θ = (w, b) and L at every step."""
    Xt, yt = am.tensor(X, name="X"), am.tensor(y, name="y")
    w = am.tensor(np.zeros((X.shape[1], 1)), requires_grad=True, name="w")
    b = am.tensor(0.0, requires_grad=True, name="b")
    losses, pairs = [], []
    for _ in cmp.progress(range(steps), "gradient descent"):
        loss = loss_fn(Xt, yt, w, b)
        loss.backward()
        losses.append(loss.item())
        gw, gb = closed_form(X, y, w.data, b.item())
        pairs.append((np.append(w.grad, b.grad), np.append(gw, gb)))
        with am.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        w.grad = b.grad = None
    c.worst_row(f"(∂L/∂w, ∂L/∂b), worst of {steps} descent steps", pairs,
                "Xᵀ·(σ(X·w + b) − y)/N + λ·w, mean(σ − y)")
    losses.append(loss_fn(Xt, yt, w, b).item())
    return np.append(w.data, b.data), losses


def adam(X: np.ndarray, y: np.ndarray, steps: int) -> tuple[np.ndarray, list[float]]:
    """am.optim.Adam from w = 0, b = 0; returns θ = (w, b) and L at every step."""
    Xt, yt = am.tensor(X, name="X"), am.tensor(y, name="y")
    w = am.tensor(np.zeros((X.shape[1], 1)), requires_grad=True, name="w")
    b = am.tensor(0.0, requires_grad=True, name="b")
    opt = am.optim.Adam([w, b], lr=ADAM_LR)
    losses = []
    for _ in cmp.progress(range(steps), "Adam"):
        opt.zero_grad()
        loss = loss_fn(Xt, yt, w, b)
        loss.backward()
        losses.append(loss.item())
        opt.step()
    losses.append(loss_fn(Xt, yt, w, b).item())
    return np.append(w.data, b.data), losses


def lbfgs(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """am.minimize (SciPy's L-BFGS-B, gradients by autodiff) from θ = 0; θ and L per iteration."""
    Xt, yt = am.tensor(X, name="X"), am.tensor(y, name="y")

    def f(theta: am.Tensor) -> am.Tensor:
        return packed(theta, Xt, yt)

    def value(theta: np.ndarray) -> float:
        return packed(am.tensor(theta), Xt, yt).item()

    start = np.zeros(X.shape[1] + 1)
    losses = [value(start)]
    res = am.minimize(f, start, method="L-BFGS-B", callback=lambda t: losses.append(value(t)),
                      options={"maxiter": 10_000, "ftol": 1e-15, "gtol": 1e-12})
    return np.asarray(res.x), losses


def sklearn_fit(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, object]:
    """scikit-learn's LogisticRegression on the same objective: C = 1/(λN), lbfgs, tight tol."""
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=1 / (LAMBDA * len(X)), solver="lbfgs", tol=1e-10,
                             max_iter=10_000)
    clf.fit(X, y.ravel())
    return np.append(clf.coef_.ravel(), clf.intercept_), clf


def timed(f: Callable[[], tuple[np.ndarray, list[float]]]
          ) -> tuple[np.ndarray, list[float], float]:
    """f()'s result and the seconds it took."""
    start = time.perf_counter()
    theta, losses = f()
    return theta, losses, time.perf_counter() - start


def main(out: str | Path | None = None, perturb: float = 0.0, gd_steps: int = GD_STEPS,
         adam_steps: int = ADAM_STEPS) -> cmp.Comparison:
    """Autodiff vs the hand-derived gradient; three optimisers vs scikit-learn's coefficients."""
    c = cmp.Comparison.start("logistic_regression", "the cross-entropy's gradient "
                             "Xᵀ·(σ(X·w + b) − y)/N + λ·w, and the fit scikit-learn finds",
                             "L(w, b) = mean(softplus(X·w + b) − y ⊙ (X·w + b)) + λ/2·‖w‖², "
                             f"λ = {LAMBDA:g}", out, perturb)
    X, y, names = data()
    N, D = X.shape
    print(f"data: {N} samples, {D} standardized features, {int(y.sum())} benign and "
          f"{N - int(y.sum())} malignant")
    Xt, yt = am.tensor(X, name="X"), am.tensor(y, name="y")

    # A point away from w = 0, so that the λ·w term is not zero.
    w0 = 0.1 * np.random.default_rng(0).normal(size=(D, 1))
    w = am.tensor(w0, requires_grad=True, name="w")
    b = am.tensor(0.5, requires_grad=True, name="b")
    loss = loss_fn(Xt, yt, w, b)
    loss.name = "L"
    c.explain(loss, wrt=w)
    loss.backward(retain_graph=True)  # keep the values: the graph shows them
    c.graphs(loss)
    gw, gb = closed_form(X, y, w0, 0.5)
    c.row("∂L/∂w at a random w, b = 0.5", w.grad, gw, "Xᵀ·(σ(X·w + b) − y)/N + λ·w")
    c.row("∂L/∂b", b.grad, gb, "mean(σ(X·w + b) − y)")

    # The textbook form with logs and the library's loss give the same number.
    p = sigmoid(X @ w0 + 0.5)
    textbook = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)) + LAMBDA / 2 * np.sum(w0 ** 2)
    library = am.binary_cross_entropy_with_logits(Xt @ w + b, yt) + LAMBDA / 2 * (w ** 2).sum()
    same = max(abs(loss.item() - textbook), abs(loss.item() - library.item())) / textbook
    c.check(f"softplus(z) − y·z equals −[y·log σ(z) + (1 − y)·log(1 − σ(z))] and "
            f"am.binary_cross_entropy_with_logits (rel {same:.1e})", same < 1e-12)

    # Gradient descent's rate from the curvature: at w = 0, b = 0 every σ'(z) is ¼, its
    # largest value, so the Hessian there bounds it everywhere (as in learning_rate).
    zero = np.zeros(D + 1)
    H = np.asarray(am.hessian(lambda t: packed(t, Xt, yt))(zero)).reshape(D + 1, D + 1)
    X1 = np.hstack([X, np.ones((N, 1))])
    c.row("∇²L at w = 0, b = 0", H, X1.T @ X1 / (4 * N) + LAMBDA * np.diag(np.r_[np.ones(D), 0]),
          "[X 1]ᵀ·[X 1]/(4N) + λ·diag(1, …, 1, 0)")
    curvature = float(np.linalg.eigvalsh(H)[-1])
    lr = 1 / curvature
    print(f"\nlargest curvature (λmax of ∇²L at 0, an upper bound everywhere): {curvature:.4g}; "
          f"gradient descent uses lr = 1/λmax = {lr:.4g}")

    theta_gd, loss_gd, t_gd = timed(lambda: descend(c, X, y, lr, gd_steps))
    worst = max(r.max_rel for r in c.rows if "∇²" not in r.name)
    c.check(f"autodiff gradient vs the hand-derived one, every point (rel {worst:.1e} ≤ "
            f"{GRADIENT_TOL:.0e})", worst <= GRADIENT_TOL)
    theta_adam, loss_adam, t_adam = timed(lambda: adam(X, y, adam_steps))
    theta_lb, loss_lb, t_lb = timed(lambda: lbfgs(X, y))
    start = time.perf_counter()
    theta_sk, clf = sklearn_fit(X, y)
    t_sk = time.perf_counter() - start

    def gradient_norm(theta: np.ndarray) -> float:
        gw, gb = closed_form(X, y, theta[:D, None], theta[D])
        return float(np.linalg.norm(np.append(gw, gb)))

    scale = float(np.max(np.abs(theta_sk)))
    print(f"\nscikit-learn LogisticRegression(C = 1/(λN) = {1 / (LAMBDA * N):.6g}, lbfgs): "
          f"{t_sk:.2f} s, ‖∇L‖ = {gradient_norm(theta_sk):.1e} at its (w, b)")
    print(f"{'method':28s} {'steps':>6s} {'time':>7s} {'final L':>14s} {'‖∇L‖':>8s} "
          f"{'max|θ − θ_sklearn|/max|θ_sklearn|':>34s}")
    rel = {}
    for key, label, theta, losses, seconds in (
            ("gd", f"gradient descent, lr {lr:.3g}", theta_gd, loss_gd, t_gd),
            ("adam", f"am.optim.Adam, lr {ADAM_LR:g}", theta_adam, loss_adam, t_adam),
            ("lbfgs", "am.minimize (L-BFGS-B)", theta_lb, loss_lb, t_lb)):
        rel[key] = float(np.max(np.abs(theta - theta_sk))) / scale
        print(f"{label:28s} {len(losses) - 1:6d} {seconds:6.2f}s {losses[-1]:14.10f} "
              f"{gradient_norm(theta):8.1e} {rel[key]:34.1e}")
        c.check(f"{label}: the coefficients agree with scikit-learn's (rel {rel[key]:.1e} ≤ "
                f"{SKLEARN_TOL:.0e})", rel[key] <= SKLEARN_TOL)

    acc = accuracy(X, y, theta_lb[:D, None], theta_lb[D])
    acc_sk = float(clf.score(X, y.ravel()))  # type: ignore[attr-defined]
    differ = int(np.sum(((X1 @ theta_lb) > 0) != clf.predict(X)))  # type: ignore[attr-defined]
    print(f"accuracy on the {N} samples it was fitted to: ours {acc:.4f}, scikit-learn "
          f"{acc_sk:.4f} ({differ} of {N} predictions differ)")
    top = np.argsort(-np.abs(theta_lb[:D]))[:3]
    print("largest weights: " + ", ".join(f"{names[i]} {theta_lb[i]:+.3f}" for i in top)
          + f"; b = {theta_lb[D]:+.3f}")

    plot(c, {"gradient descent": loss_gd, "Adam": loss_adam, "L-BFGS-B": loss_lb})

    def L(w: am.Tensor, b: am.Tensor) -> am.Tensor:
        return loss_fn(Xt, yt, w, b)

    c.code(L, w0, np.asarray(0.5), argnums=(0, 1),
           hand="dw = X.T @ (sigmoid(X @ w + b) - y) / N + lam * w\n"
                "db = np.mean(sigmoid(X @ w + b) - y)",
           source="the gradient derived by hand")
    c.answer("∂L/∂w = Xᵀ·(σ(X·w + b) − y)/N + λ·w has the MSE's form, Xᵀ times an error over "
             "N, with σ(X·w + b) − y as the error: the sigmoid's derivative σ·(1 − σ) cancels "
             f"against the log's. Autodiff agrees with it to {worst:.0e} at every descent "
             "step, and gradient descent, Adam and L-BFGS-B all reach scikit-learn's "
             f"coefficients (L-BFGS-B to {rel['lbfgs']:.0e}), with {acc:.1%} of the tumours "
             "classified right.")
    c.note("the cross-entropy's gradient has the MSE's form Xᵀ·error/N, with σ(X·w + b) − y "
           "as the error: σ' = σ·(1 − σ) cancels against the log's derivative")
    c.note("λ/2·‖w‖² adds λ·w (the ½ cancels the square's 2); b is not penalised")
    c.note("scikit-learn minimises C·Σ log-loss + ½‖w‖² = C·N·L for C = 1/(λN): the same "
           "minimiser")
    c.numbers.update(sklearn_rel_diff=rel["lbfgs"], gd_rel_diff=rel["gd"],
                     adam_rel_diff=rel["adam"],
                     accuracy=acc, sklearn_accuracy=acc_sk, gradient_rel=worst,
                     explain_check=c.explain_check if c.explain_check is not None else np.nan,
                     lbfgs_seconds=t_lb, gd_seconds=t_gd, adam_seconds=t_adam)
    return c.finish()


def plot(c: cmp.Comparison, curves: dict[str, list[float]]) -> None:
    """L − L* along each optimiser's iterations, on a log scale."""
    best = min(min(losses) for losses in curves.values())
    fig, (ax1, ax2) = cmp.subplots(1, 2, figsize=(11, 4))
    for label, losses in curves.items():
        ax1.plot(losses, label=label)
        ax2.semilogy(np.maximum(np.array(losses) - best, 1e-16), label=label)
    ax1.set(xlabel="iteration", ylabel="L(w, b)", xscale="symlog", title="the loss")
    ax2.set(xlabel="iteration", ylabel="L − L* (log scale)", xscale="symlog",
            title="the gap to the smallest L reached")
    ax1.legend()
    ax2.legend()
    c.savefig(fig, "loss_curves.png", "the regularized cross-entropy along gradient descent, "
              "Adam and L-BFGS-B (am.minimize), and its gap to the smallest value reached")


if __name__ == "__main__":
    raise SystemExit(cmp.run_script(main))
