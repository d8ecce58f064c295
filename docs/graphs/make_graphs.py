"""Redraw the graphs in this folder: python docs/graphs/make_graphs.py (needs a renderer).

It is the snippet of docs/visualize.md, rendered with graphviz-pure so the SVGs come out the
same on every machine.
"""

from pathlib import Path

import numpy as np

import autograd_mini as am

HERE = Path(__file__).parent


def main() -> None:
    rng = np.random.default_rng(0)
    X = am.tensor(rng.standard_normal((100, 3)), name="X")
    y = am.tensor(rng.standard_normal((100, 1)), name="y")
    w = am.tensor(np.zeros((3, 1)), requires_grad=True, name="w")

    loss = ((X @ w - y) ** 2).mean()
    loss.backward()
    am.render_graph(loss, HERE / "mse.svg", renderer="graphviz-pure")
    am.render_graph(loss, HERE / "mse_backward.svg", backward=True, renderer="graphviz-pure")


if __name__ == "__main__":
    main()
