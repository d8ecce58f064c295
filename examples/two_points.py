"""two_points: the article's gradient descent table ("Gradient Descent Simply
Explained (with Example)"), reproduced by autodiff.

f(x) = w1·x + w2 through (1, 5) and (2, 7), start (w1, w2) = (9, 10), learning rate 0.15,
200 lines. The article's numbers come out exactly with

    MSE(w1, w2) = (1/N)·Σ (f(xᵢ) − yᵢ)²                  (N = 2, no ½)
    ∂MSE/∂w1 = (2/N)·Σ (f(xᵢ) − yᵢ)·xᵢ,   ∂MSE/∂w2 = (2/N)·Σ (f(xᵢ) − yᵢ)

and both weights updated together from the same gradient (w ← w − 0.15·∇MSE); line k shows the
weights after k − 1 updates, the MSE and the outputs at those weights. With N = 2 the factor
2/N is 1, so the article's partials look like plain sums.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import autograd_mini as am
from autograd_mini import compare as cmp

X = np.array([1.0, 2.0])
Y = np.array([5.0, 7.0])
START = (9.0, 10.0)
LEARNING_RATE = 0.15
LINES = 200
# The lines the article prints; the gap between them is where it elides the middle.
SHOWN = (*range(1, 10), *range(195, 201))


def mse(w1: am.Tensor, w2: am.Tensor) -> am.Tensor:
    """MSE = mean((w1·x + w2 − y)²), from primitive ops (mul, add, sub, pow, mean)."""
    f = w1 * am.tensor(X, name="x") + w2
    f.name = "f"
    err = f - am.tensor(Y, name="y")
    err.name = "err"
    return (err ** 2).mean()


def closed_form(w1: float, w2: float) -> tuple[float, float]:
    """The article's partials: ∂/∂w1 = (2/N)·Σ(f(xᵢ)−yᵢ)·xᵢ, ∂/∂w2 = (2/N)·Σ(f(xᵢ)−yᵢ)."""
    err = w1 * X + w2 - Y
    return 2 / len(X) * np.sum(err * X), 2 / len(X) * np.sum(err)


def table_line(k: int, w1: float, w2: float, loss: float) -> list[str]:
    """One entry of the article's table: `k: w1 = …, w2 = …, MSE: …` and the two outputs.

    The MSE is printed like the article's Python 2 `str(float)`: 12 significant digits.
    """
    f1, f2 = w1 * X[0] + w2, w1 * X[1] + w2
    return [f"{k}: w1 = {w1:.3f}, w2 = {w2:.3f}, MSE: {loss:.12g}",
            f"{' ' * (len(str(k)) + 2)}f(1) = {f1:.3f}, f(2) = {f2:.3f}"]


def descend(c: cmp.Comparison) -> tuple[list[str], list[tuple[float, float, float]]]:
    """200 lines of gradient descent; autodiff gives each step's gradient.

    Returns the table's lines and (w1, w2, MSE) per line; records the worst disagreement
    between autodiff and the article's partials over all steps.
    """
    w1, w2 = START
    lines: list[str] = []
    path: list[tuple[float, float, float]] = []
    pairs = []
    for k in cmp.progress(range(1, LINES + 1), "two_points", total=LINES):
        t1 = am.tensor(w1, requires_grad=True, name="w1")
        t2 = am.tensor(w2, requires_grad=True, name="w2")
        loss = mse(t1, t2)
        loss.backward()
        lines += table_line(k, w1, w2, loss.item())
        path.append((w1, w2, loss.item()))
        g = np.array([t1.grad, t2.grad], dtype=float)
        pairs.append((g, np.array(closed_form(w1, w2))))
        # Both weights move together, from the gradient at the old point.
        w1, w2 = w1 - LEARNING_RATE * g[0], w2 - LEARNING_RATE * g[1]
    c.worst_row("(∂/∂w1, ∂/∂w2), worst of 200 steps", pairs, "(2/N)·Σ(f−y)·(x, 1)")
    return lines, path


def plot(c: cmp.Comparison, path: list[tuple[float, float, float]]) -> None:
    """MSE along the iterations (log scale) and the starting and fitted lines."""
    fig, (ax1, ax2) = cmp.subplots(1, 2, figsize=(10, 4))
    ax1.semilogy(range(1, len(path) + 1), [p[2] for p in path])
    ax1.set(xlabel="line of the table", ylabel="MSE (log scale)",
            title="MSE along gradient descent, lr 0.15")
    xs = np.linspace(0, 3, 50)
    ax2.plot(X, Y, "ko", label="points (1, 5), (2, 7)")
    for (w1, w2, _), style, label in ((path[0], ":", "line 1"), (path[1], "--", "line 2"),
                                      (path[-1], "-", f"line {len(path)}")):
        ax2.plot(xs, w1 * xs + w2, style, label=f"{label}: f(x) = {w1:.3f}·x + {w2:.3f}")
    ax2.set(xlabel="x", ylabel="f(x)", ylim=(0, 40), title="fitted lines")
    ax2.legend(fontsize=8)
    c.savefig(fig, "mse_and_lines.png", "left: the MSE column of the article's table; right: "
              "the lines of table lines 1, 2 and 200 through the two points")


def main(out: str | Path | None = None, perturb: float = 0.0) -> cmp.Comparison:
    """Run the article's descent; print its table as the article shows it; compare gradients."""
    c = cmp.Comparison.start("two_points", "the article's table, line for line",
                             "MSE(w1, w2) = mean((w1·x + w2 − y)²) over (1, 5), (2, 7)",
                             out, perturb)
    w1 = am.tensor(START[0], requires_grad=True, name="w1")
    w2 = am.tensor(START[1], requires_grad=True, name="w2")
    loss = mse(w1, w2)
    loss.name = "MSE"
    c.explain(loss, wrt=[w1, w2])
    loss.backward(retain_graph=True)  # keep the values: the graph shows them
    c.row("∂MSE/∂w1 at (9, 10)", w1.grad, closed_form(*START)[0], "(2/N)·Σ(f(xᵢ)−yᵢ)·xᵢ")
    c.row("∂MSE/∂w2 at (9, 10)", w2.grad, closed_form(*START)[1], "(2/N)·Σ(f(xᵢ)−yᵢ)")
    c.graphs(loss)

    lines, path = descend(c)
    c.path("table.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print()
    print(f"the article's table (lines {SHOWN[0]}–9 and 195–{LINES}; all {LINES} in "
          f"{c.out / 'table.txt'}):")
    for k in SHOWN:
        if k == 195:
            print()
            print()
        print("\n".join(lines[2 * (k - 1): 2 * k]))
    plot(c, path)

    def MSE(w1: am.Tensor, w2: am.Tensor) -> am.Tensor:
        return mse(w1, w2)

    c.code(MSE, np.asarray(START[0]), np.asarray(START[1]), argnums=(0, 1),
           hand="dMSE_dw1 = 2 / N * np.sum((w1 * x + w2 - y) * x)\n"
                "dMSE_dw2 = 2 / N * np.sum(w1 * x + w2 - y)",
           source="the article's partial derivatives, written in NumPy")
    c.answer("The article's MSE has no ½, so its partials are (2/N)·Σ(f(xᵢ) − yᵢ)·xᵢ and "
             "(2/N)·Σ(f(xᵢ) − yᵢ); with N = 2 the factor 2/N is 1, which is why they look like "
             f"plain sums. Autodiff gives exactly those numbers at every one of the {LINES} "
             "steps, and the table it prints matches the article's, from MSE 318.5 on the "
             f"first line to {path[-1][2]:.3g} on the last.")

    c.note("the article's MSE has no ½ and its partials carry 2/N, which is 1 for N = 2")
    c.note("update: w ← w − 0.15·∇MSE, both weights from the gradient at the old point")
    c.numbers.update(w1=path[-1][0], w2=path[-1][1], mse=path[-1][2])
    return c.finish()


if __name__ == "__main__":
    raise SystemExit(cmp.run_script(main))
