"""house_prices: J(a, b) on living area vs sale price, and why the article needs two learning
rates (the article "The Gradient: A Visual Descent").

The article fits price ≈ a·area + b with

    J(a, b) = (1/n)·Σ (a·xᵢ + b − yᵢ)²
    ∂J/∂a = (2/n)·Σ xᵢ·(a·xᵢ + b − yᵢ)      ∂J/∂b = (2/n)·Σ (a·xᵢ + b − yᵢ)

but its code's partials (dJ_da, dJ_db) drop the 2: they are exactly half the gradient, which
only rescales its learning rates. The data here are synthetic, always the same, made to look
like the article's South Boston sales (areas around 1,500 sq ft, prices around $600,000).

Why two rates: J's curvature is 2·mean(x²) ≈ 5·10⁶ along a but 2 along b. One rate small
enough for a (< 2/λmax) leaves b frozen, so the article gives a its own tiny rate. Standardizing
the area, z = (x − mean)/std, makes both curvatures 2 and one rate serves both.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import autograd_mini as am
from autograd_mini import compare as cmp

N = 120
START = (350.0, 380_000.0)  # the article's initial (a, b)
RATE_A, RATE_B = 5e-8, 0.15  # the article's two rates, applied to its half-size partials
RATE_Z = 0.1  # one rate for both weights after standardizing
STEPS = 150


def data(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic (living area in sq ft, sale price in $), always the same: about $150 per sq ft."""
    rng = np.random.default_rng(seed)
    area = np.clip(rng.normal(1500, 450, N), 500, 3500).round()
    price = 380_000 + 150 * area + rng.normal(0, 60_000, N)
    return area, price.round(-2)


def cost(a: am.Tensor, b: am.Tensor, x: np.ndarray, y: np.ndarray) -> am.Tensor:
    """J(a, b) = mean((a·x + b − y)²), the article's MSE, from primitive ops."""
    pred = a * am.tensor(x, name="x") + b
    pred.name = "pred"
    err = pred - am.tensor(y, name="y")
    err.name = "err"
    return (err ** 2).mean()


def gradient(a: float, b: float, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """J and the autodiff gradient (∂J/∂a, ∂J/∂b)."""
    at = am.tensor(a, requires_grad=True, name="a")
    bt = am.tensor(b, requires_grad=True, name="b")
    loss = cost(at, bt, x, y)
    loss.backward()
    return loss.item(), np.array([at.grad, bt.grad], dtype=float)


def article_partials(a: float, b: float, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The article's dJ_da, dJ_db: Σ x·(a·x + b − y)/n and Σ (a·x + b − y)/n (no 2)."""
    err = a * x + b - y
    return np.array([np.sum(x * err) / len(x), np.sum(err) / len(x)])


def descend(start: tuple[float, float], rates: tuple[float, float], x: np.ndarray,
            y: np.ndarray, half: bool) -> tuple[np.ndarray, list[float]]:
    """STEPS steps of w ← w − rate·g, g the autodiff gradient (halved to mimic the article)."""
    w = np.array(start)
    path, losses = [w.copy()], []
    for _ in cmp.progress(range(STEPS), "house_prices"):
        loss, g = gradient(w[0], w[1], x, y)
        losses.append(loss)
        w = w - np.array(rates) * (0.5 * g if half else g)
        path.append(w.copy())
    return np.array(path), losses


def curvature(x: np.ndarray) -> np.ndarray:
    """J's Hessian in (a, b): 2·[[mean x², mean x], [mean x, 1]] (constant: J is quadratic)."""
    return 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])


def main(out: str | Path | None = None, perturb: float = 0.0) -> cmp.Comparison:
    """Gradients vs the article's partials; the article's descent and the standardized one."""
    c = cmp.Comparison.start("house_prices", "two learning rates for J(a, b)",
                             "J(a, b) = (1/n)·Σ(a·xᵢ + b − yᵢ)², x = living area, y = price",
                             out, perturb)
    x, y = data()
    a = am.tensor(START[0], requires_grad=True, name="a")
    b = am.tensor(START[1], requires_grad=True, name="b")
    loss = cost(a, b, x, y)
    loss.name = "J"
    c.explain(loss, wrt=[a, b])
    loss.backward(retain_graph=True)  # keep the values: the graph shows them
    c.graphs(loss)
    g = np.array([a.grad, b.grad], dtype=float)
    err = START[0] * x + START[1] - y
    c.row("∂J/∂a at the start", g[0], 2 / N * np.sum(x * err), "(2/n)·Σ xᵢ·(a·xᵢ + b − yᵢ)")
    c.row("∂J/∂b at the start", g[1], 2 / N * np.sum(err), "(2/n)·Σ (a·xᵢ + b − yᵢ)")
    c.row("½·(∂J/∂a, ∂J/∂b)", 0.5 * g, article_partials(*START, x, y),
          "the article's dJ_da, dJ_db (no 2)")

    z_mean, z_std = x.mean(), x.std()
    z = (x - z_mean) / z_std
    best = np.linalg.lstsq(np.column_stack([x, np.ones(N)]), y, rcond=None)[0]
    article, loss_article = descend(START, (RATE_A, RATE_B), x, y, half=True)
    # Standardized: price ≈ a'·z + b' with a' = a·std, b' = b + a·mean; same start, one rate.
    start_z = (START[0] * z_std, START[1] + START[0] * z_mean)
    path_z, loss_z = descend(start_z, (RATE_Z, RATE_Z), z, y, half=False)
    standardized = np.column_stack([path_z[:, 0] / z_std,
                                    path_z[:, 1] - path_z[:, 0] * z_mean / z_std])
    report_rates(c, x, z)
    for label, path in (("article, two rates", article), ("standardized, one rate",
                                                          standardized)):
        print(f"{label:24s} after {STEPS} steps: a = {path[-1, 0]:8.2f}, "
              f"b = {path[-1, 1]:10.0f}")
    print(f"{'closed-form least squares':24s}:                 a = {best[0]:8.2f}, "
          f"b = {best[1]:10.0f}")
    gap = float(np.linalg.norm((standardized[-1] - best) / np.array([1.0, z_std])))
    c.check("standardized descent lands on the least-squares line (scaled distance < 1e-6)",
            gap < 1e-6)
    plot_contour(c, x, y, article, standardized, best)
    plot_fit(c, x, y, article[-1], standardized[-1], best, loss_article, loss_z)

    def J(a: am.Tensor, b: am.Tensor) -> am.Tensor:
        return cost(a, b, x, y)

    c.code(J, np.asarray(START[0]), np.asarray(START[1]), argnums=(0, 1),
           hand="dJ_da = np.sum(x_vec * ((a * x_vec + b) - y_vec)) / n\n"
                "dJ_db = np.sum((a * x_vec + b) - y_vec) / n",
           source="the article's code (its partials leave out the 2)")
    ratio = c.numbers["curvature_ratio"]
    c.answer(f"J curves about {ratio / 1e6:.1f} million times more steeply along a than along "
             "b (2·mean(area²) against 2), because the areas are in the thousands and b's "
             "feature is 1. A single rate small enough for a would leave b nearly frozen, so "
             "the article gives each partial its own; its partials also leave out the 2, which "
             "only halves the rates. Standardizing the area makes both curvatures 2: then one rate "
             f"({RATE_Z}) reaches the least-squares line in {STEPS} steps, while the "
             f"article's two-rate run is still at a = {article[-1, 0]:.0f}, "
             f"b = {article[-1, 1]:,.0f} against a = {best[0]:.0f}, b = {best[1]:,.0f}.")

    c.note("the article's partials are ½ of the gradient: its rates are effectively halved")
    c.note("descent steps go against the gradient: a ← a − η_a·dJ_da, b ← b − η_b·dJ_db")
    c.numbers.update(a_article=float(article[-1, 0]), b_article=float(article[-1, 1]),
                     a_lstsq=float(best[0]), b_lstsq=float(best[1]), standardized_gap=gap)
    return c.finish()


def report_rates(c: cmp.Comparison, x: np.ndarray, z: np.ndarray) -> None:
    """Print the curvatures behind the two learning rates, before and after standardizing."""
    H = curvature(x)
    Hz = curvature(z)
    lam = np.linalg.eigvalsh(H)
    print(f"\ncurvature of J: ∂²J/∂a² = {H[0, 0]:.3g}, ∂²J/∂b² = {H[1, 1]:.3g} "
          f"(ratio {H[0, 0] / H[1, 1]:.2g}: the features' scales, area² vs 1)")
    shrink = 2 / lam[-1] * lam[0]  # a stable single rate's progress along the flattest axis
    print(f"one rate for both must stay below 2/λmax = {2 / lam[-1]:.2g}; along the flattest "
          f"direction (λmin = {lam[0]:.2g}) each step then removes only {shrink:.1e} of the "
          f"error: about {1 / shrink:.1e} steps")
    print(f"standardized area: ∂²J/∂a'² = {Hz[0, 0]:.3g}, ∂²J/∂b'² = {Hz[1, 1]:.3g}: one rate "
          f"({RATE_Z}) fits both\n")
    c.numbers.update(curvature_ratio=float(H[0, 0] / H[1, 1]))


def plot_contour(c: cmp.Comparison, x: np.ndarray, y: np.ndarray, article: np.ndarray,
                 standardized: np.ndarray, best: np.ndarray) -> None:
    """Contours of J(a, b) with both descent paths and the least-squares minimum."""
    pts = np.vstack([article, standardized, best])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pad = 0.15 * (hi - lo)
    A, B = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], 200),
                       np.linspace(lo[1] - pad[1], hi[1] + pad[1], 200))
    # J on the grid by expanding the square: mean((a·x + b − y)²), vectorized over (a, b).
    Jg = (A ** 2 * np.mean(x * x) + B ** 2 + np.mean(y * y) + 2 * A * B * np.mean(x)
          - 2 * A * np.mean(x * y) - 2 * B * np.mean(y))
    Jmin = float(np.mean((best[0] * x + best[1] - y) ** 2))
    fig, ax = cmp.subplots(figsize=(7, 5))
    levels = Jmin * (1 + np.geomspace(1e-3, Jg.max() / Jmin, 25))
    ax.contour(A, B, Jg, levels=levels, cmap="viridis", linewidths=0.8)
    ax.plot(*article.T, "r.-", ms=3, lw=1, label="article: two rates")
    ax.plot(*standardized.T, "b.-", ms=3, lw=1, label=f"standardized: one rate {RATE_Z}")
    ax.plot(*best, "k*", ms=12, label="least squares")
    ax.plot(*article[0], "ko", ms=5, label="start (350, 380000)")
    ax.set(xlabel="a ($ per sq ft)", ylabel="b ($)", title="J(a, b) and two descent paths")
    ax.legend(fontsize=8)
    c.savefig(fig, "contour.png", "contours of J(a, b): the article's two-rate descent "
              "creeps along the narrow valley; with standardized area one rate heads straight "
              "for the least-squares minimum")


def plot_fit(c: cmp.Comparison, x: np.ndarray, y: np.ndarray, article: np.ndarray,
             standardized: np.ndarray, best: np.ndarray, loss_article: list[float],
             loss_z: list[float]) -> None:
    """The data with the fitted and closed-form lines; J along both descents."""
    fig, (ax1, ax2) = cmp.subplots(1, 2, figsize=(11, 4))
    ax1.scatter(x, y, s=8, c="gray", label="sales (synthetic)")
    xs = np.array([x.min(), x.max()])
    for (ai, bi), style, label in ((article, "r-", "article's descent"),
                                   (standardized, "b--", "standardized descent"),
                                   (best, "k:", "closed-form least squares")):
        ax1.plot(xs, ai * xs + bi, style, label=f"{label}: {ai:.1f}·x + {bi:.0f}")
    ax1.set(xlabel="living area (sq ft)", ylabel="sale price ($)", title="fitted lines")
    ax1.legend(fontsize=7)
    ax2.semilogy(loss_article, "r-", label="article: two rates")
    ax2.semilogy(loss_z, "b--", label="standardized: one rate")
    ax2.set(xlabel="step", ylabel="J (log scale)", title="J along the descent")
    ax2.legend(fontsize=8)
    c.savefig(fig, "fit.png", "left: the data with both fitted lines and the closed-form "
              "least-squares line; right: J along both descents")


if __name__ == "__main__":
    raise SystemExit(cmp.run_script(main))
