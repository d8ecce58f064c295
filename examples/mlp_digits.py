"""mlp_digits: a 64-64-10 neural network for scikit-learn's handwritten digits, trained with
minibatches and Adam, its backpropagation by autodiff next to the chain rule written by hand.

Each 8×8 image is a row x of 64 pixel values scaled to [0, 1]. For a minibatch X (B×64) with
labels one-hot in Y (B×10), the network and its loss are

    h = tanh(X·W1 + b1)      z = h·W2 + b2      L = mean over the batch of −log softmax(z)[label]

and backpropagation, worked out by hand, is logistic regression's gradient twice over:

    G = (softmax(z) − Y)/B                         the error at the output, over the batch size
    ∂L/∂W2 = hᵀ·G          ∂L/∂b2 = Σ_rows G
    ∂L/∂W1 = Xᵀ·((G·W2ᵀ) ⊙ (1 − h²))      ∂L/∂b1 = Σ_rows (G·W2ᵀ) ⊙ (1 − h²)

Each matmul sends the gradient back through a transpose, tanh' = 1 − tanh² gates it, and a
bias broadcast over the rows gets the row sum. Autodiff derives all of it from the loss alone;
the example checks it against these formulas and against central differences, then trains.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

import autograd_mini as am
from autograd_mini import compare as cmp

SIZES = [64, 64, 10]
EPOCHS = 20
BATCH = 16
LR = 0.01               # Adam's rate at the start, brought down to 0 along a cosine
TEST_SIZE = 0.25        # scikit-learn's default split
RANDOM_STATE = 0        # the split, the initial weights and the minibatch order
MIN_ACCURACY = 0.97     # on the held-out test images
FD_SAMPLES = 12         # coordinates per parameter checked by central differences
FD_EPS = 1e-5
FD_TOL = 1e-6           # |autodiff − numeric| / max|∂L/∂parameter|
GRAPH_MAX_NODES = 60    # one minibatch's graph has about 30 boxes


def data(n_train: int | None = None
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_test, y_test): pixels scaled to [0, 1], integer labels 0–9; a
    stratified split with a fixed random_state. `n_train` keeps only the first n_train training
    images (the split has shuffled them already); the test set is always the same."""
    from sklearn.datasets import load_digits  # the `examples` extra; bundled, no download
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        digits.data / 16.0, digits.target, test_size=TEST_SIZE, random_state=RANDOM_STATE,
        stratify=digits.target)
    if n_train is not None:
        X_train, y_train = X_train[:n_train], y_train[:n_train]
    return X_train, y_train, X_test, y_test


def minibatch_loss(mlp: am.nn.MLP, X: np.ndarray, labels: np.ndarray) -> am.Tensor:
    """L = cross-entropy of the network's scores on one minibatch, averaged over it."""
    loss = am.cross_entropy(mlp(am.tensor(X, name="X")), labels)
    loss.name = "L"
    return loss


def backprop_by_hand(X: np.ndarray, labels: np.ndarray,
                     p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The chain rule written out in NumPy (the formulas in the module's docstring)."""
    h = np.tanh(X @ p["W1"] + p["b1"])
    z = h @ p["W2"] + p["b2"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    G = (e / e.sum(axis=1, keepdims=True) - np.eye(z.shape[1])[labels]) / len(X)
    back = (G @ p["W2"].T) * (1 - h ** 2)  # through W2, then through tanh
    return {"W1": X.T @ back, "b1": back.sum(axis=0), "W2": h.T @ G, "b2": G.sum(axis=0)}


def write_code(c: cmp.Comparison, X: np.ndarray, labels: np.ndarray,
               p: dict[str, np.ndarray]) -> None:
    """Have am.compile write the minibatch's backpropagation, beside backprop_by_hand's."""
    Y = np.eye(SIZES[-1])[labels]  # one-hot: cross_entropy takes probabilities as well

    def L(W1: am.Tensor, b1: am.Tensor, W2: am.Tensor, b2: am.Tensor) -> am.Tensor:
        a = am.tensor(X, name="X") @ W1 + b1
        a.name = "a"
        h = am.tanh(a)
        h.name = "h"
        z = h @ W2 + b2
        z.name = "z"
        return am.cross_entropy(z, am.tensor(Y, name="Y"))

    c.code(L, p["W1"], p["b1"], p["W2"], p["b2"], argnums=(0, 1, 2, 3),
           hand="G = (softmax(z) - Y) / B\n"
                "back = (G @ W2.T) * (1 - h ** 2)\n"
                "dW2, db2 = h.T @ G, G.sum(axis=0)\n"
                "dW1, db1 = X.T @ back, back.sum(axis=0)",
           source="backpropagation written by hand")


def finite_differences(mlp: am.nn.MLP, X: np.ndarray, labels: np.ndarray,
                       rng: np.random.Generator) -> tuple[float, int]:
    """Central differences (L(p + ε) − L(p − ε))/2ε at FD_SAMPLES random coordinates of every
    parameter, against the autodiff gradient already in .grad; the worst error relative to
    max|∂L/∂parameter|, and how many coordinates were checked."""
    worst, count = 0.0, 0
    for p in mlp.parameters():
        assert p.grad is not None
        scale = float(np.max(np.abs(p.grad)))
        flat = p.data.reshape(-1)  # a view: writing it moves the parameter
        for j in rng.choice(flat.size, size=min(FD_SAMPLES, flat.size), replace=False):
            old = flat[j]
            with am.no_grad():
                flat[j] = old + FD_EPS
                up = minibatch_loss(mlp, X, labels).item()
                flat[j] = old - FD_EPS
                down = minibatch_loss(mlp, X, labels).item()
            flat[j] = old
            numeric = (up - down) / (2 * FD_EPS)
            worst = max(worst, abs(p.grad.reshape(-1)[j] - numeric) / scale)
            count += 1
    return worst, count


def evaluate(mlp: am.nn.MLP, X: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) on a whole set, without recording a graph."""
    with am.no_grad():
        scores = mlp(X)
        loss = am.cross_entropy(scores, labels).item()
    return loss, float(np.mean(np.argmax(scores.data, axis=1) == labels))


def train(mlp: am.nn.MLP, sets: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
          epochs: int, batch_size: int, lr: float, rng: np.random.Generator
          ) -> tuple[dict[str, list[float]], float]:
    """Adam on shuffled minibatches, one progress bar over all the steps. Returns the training
    and test loss and accuracy after each epoch, and the seconds spent in the training steps
    (forward, backward and update; the per-epoch evaluation is not counted)."""
    X_train, y_train, X_test, y_test = sets
    opt = am.optim.Adam(mlp.parameters(), lr=lr)
    per_epoch = -(-len(X_train) // batch_size)
    history: dict[str, list[float]] = {k: [] for k in ("train_loss", "train_acc", "test_loss",
                                                       "test_acc")}

    def steps() -> Iterator[tuple[int, int, np.ndarray]]:
        for epoch in range(epochs):
            order = rng.permutation(len(X_train))
            for k in range(per_epoch):
                yield epoch, k, order[k * batch_size:(k + 1) * batch_size]

    seconds = 0.0
    for epoch, k, idx in cmp.progress(steps(), "mlp_digits", total=epochs * per_epoch):
        start = time.perf_counter()
        opt.lr = lr * 0.5 * (1 + np.cos(np.pi * epoch / epochs))  # cosine, from lr towards 0
        opt.zero_grad()
        minibatch_loss(mlp, X_train[idx], y_train[idx]).backward()
        opt.step()
        seconds += time.perf_counter() - start
        if k == per_epoch - 1:
            for which, X, y in (("train", X_train, y_train), ("test", X_test, y_test)):
                loss, acc = evaluate(mlp, X, y)
                history[f"{which}_loss"].append(loss)
                history[f"{which}_acc"].append(acc)
    return history, seconds


def main(out: str | Path | None = None, perturb: float = 0.0, epochs: int = EPOCHS,
         n_train: int | None = None, batch_size: int = BATCH, lr: float = LR,
         min_accuracy: float = MIN_ACCURACY) -> cmp.Comparison:
    """One minibatch's backprop by autodiff vs by hand and vs central differences; then
    training, and the test accuracy against `min_accuracy`. `epochs` and `n_train` (the
    number of training images) make a smaller, faster run."""
    c = cmp.Comparison.start("mlp_digits", "a 64-64-10 network on handwritten digits: "
                             "backpropagation by autodiff, by hand and by finite differences",
                             "L = mean over a minibatch of −log softmax(tanh(X·W1 + b1)·W2 + b2)"
                             "[label]", out, perturb)
    sets = X_train, y_train, X_test, y_test = data(n_train)
    print(f"data: {len(X_train)} training and {len(X_test)} test images of 8×8 pixels, "
          f"labels 0–9 (train_test_split, test_size {TEST_SIZE}, random_state "
          f"{RANDOM_STATE}, stratified)")
    rng = np.random.default_rng(RANDOM_STATE)
    mlp = am.nn.MLP(SIZES, activation="tanh", rng=rng)
    params = mlp.named_parameters()
    print(f"network: {mlp}, {sum(p.data.size for p in params.values()):,} parameters")

    # One minibatch at the initial weights: the graph, the explanation, the three gradients.
    idx = rng.permutation(len(X_train))[:batch_size]
    loss = minibatch_loss(mlp, X_train[idx], y_train[idx])
    c.explain(loss, wrt=params["W2"])
    loss.backward(retain_graph=True)  # keep the values: the graph shows them
    c.graphs(loss, max_nodes=GRAPH_MAX_NODES)
    by_hand = backprop_by_hand(X_train[idx], y_train[idx],
                               {k: p.data for k, p in params.items()})
    formulas = {"W2": "hᵀ·G, G = (softmax(z) − Y)/B", "b2": "Σ_rows G",
                "W1": "Xᵀ·((G·W2ᵀ) ⊙ (1 − h²))", "b1": "Σ_rows (G·W2ᵀ) ⊙ (1 − h²)"}
    for name in ("W2", "b2", "W1", "b1"):
        c.row(f"∂L/∂{name}, one minibatch of {len(idx)}", params[name].grad, by_hand[name],
              formulas[name])
    write_code(c, X_train[idx], y_train[idx], {k: p.data for k, p in params.items()})
    fd, checked = finite_differences(mlp, X_train[idx], y_train[idx], rng)
    print(f"\ncentral differences (ε = {FD_EPS:g}) at {checked} random coordinates of "
          f"W1, b1, W2, b2: worst |autodiff − numeric| / max|gradient| = {fd:.1e}")
    c.check(f"autodiff agrees with central differences on {checked} sampled coordinates "
            f"(rel {fd:.1e} ≤ {FD_TOL:.0e})", fd <= FD_TOL)
    for p in mlp.parameters():
        p.grad = None

    per_epoch = -(-len(X_train) // batch_size)
    history, seconds = train(mlp, sets, epochs, batch_size, lr, rng)
    accuracy = history["test_acc"][-1]
    wrong = round((1 - accuracy) * len(X_test))
    print(f"training: {epochs} epochs × {per_epoch} minibatches of {batch_size}, Adam (lr "
          f"{lr:g}, cosine schedule), {seconds:.2f} s ({1000 * seconds / (epochs * per_epoch):.2f}"
          " ms a step)")
    print(f"after training: train accuracy {history['train_acc'][-1]:.4f}, test accuracy "
          f"{accuracy:.4f} ({len(X_test) - wrong} of {len(X_test)} test images right)")
    c.check(f"test accuracy {accuracy:.4f} ≥ {min_accuracy:g}", accuracy >= min_accuracy)
    plot(c, history)
    c.answer("Backpropagation here is logistic regression's gradient applied twice: the error "
             "at the output, G = (softmax(z) − Y)/B, goes back through each matrix product as "
             "a transpose (hᵀ·G for W2, Xᵀ·… for W1), is scaled by tanh' = 1 − h² on the way, "
             "and each bias gets the sum over the rows. Autodiff computes the same numbers as "
             f"the chain rule written by hand (to {c.rows[0].max_rel:.0e} or better) and "
             f"central differences (to {fd:.0e}); trained with Adam, the network gets "
             f"{accuracy:.1%} of the test images right.")

    c.note("G = (softmax(z) − Y)/B is logistic regression's σ(z) − y for ten classes; "
           "in the explanation t1 is the one-hot Y, and as each row of Y sums to 1 the "
           "bracket there is G")
    c.note("each matmul sends the gradient back through a transpose (hᵀ, Xᵀ, W2ᵀ); a bias "
           "broadcast over the rows gets their sum; tanh' = 1 − tanh²")
    c.numbers.update(test_accuracy=accuracy, train_accuracy=history["train_acc"][-1],
                     train_seconds=seconds, finite_difference_rel=fd,
                     final_test_loss=history["test_loss"][-1])
    return c.finish()


def plot(c: cmp.Comparison, history: dict[str, list[float]]) -> None:
    """Loss and accuracy after each epoch, on the training and the test images."""
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    fig, (ax1, ax2) = cmp.subplots(1, 2, figsize=(11, 4))
    for which in ("train", "test"):
        ax1.plot(epochs, history[f"{which}_loss"], "o-", ms=3, label=which)
        ax2.plot(epochs, history[f"{which}_acc"], "o-", ms=3, label=which)
    ax1.set(xlabel="epoch", ylabel="mean cross-entropy", yscale="log", title="loss")
    ax2.axhline(MIN_ACCURACY, color="k", ls=":", label=f"{MIN_ACCURACY:g}")
    ax2.set(xlabel="epoch", ylabel="accuracy", title="accuracy",
            ylim=(max(0.0, min(history["test_acc"]) - 0.02), 1.005))
    ax1.legend()
    ax2.legend()
    c.savefig(fig, "curves.png", "cross-entropy and accuracy on the training and the test "
              "images after each epoch")


if __name__ == "__main__":
    raise SystemExit(cmp.run_script(main))
