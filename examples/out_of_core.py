"""out_of_core: the MSE gradient on a 10,000,000 × 16 float32 X that never sits in memory whole.

The same loss as the other examples, on Dask arrays instead of NumPy ones:

    L(w) = mean((X·w − y)²)          ∂L/∂w = (2/N)·Xᵀ·(X·w − y)

X and y are generated lazily, one block of rows at a time, from a seed and the block's index,
so any block can be made again anywhere (a thread, a worker process) and no step holds more
than a few blocks. The forward pass and backward() only build Dask's task graph; one
`am.compute(loss, w.grad)` then runs it, making each block once for both results. It runs on
Dask's threaded scheduler and on a `dask.distributed.LocalCluster` (worker processes), and is
checked against the closed form accumulated block by block in float64. When X fits in memory,
the same loss on X loaded whole into NumPy gives the time and peak memory to compare with.

Needs the `dask` extra: pip install 'autograd-mini[dask]'. A LocalCluster starts worker
processes, which import this file again: the `if __name__ == "__main__":` guard at the end
keeps them from starting clusters of their own.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import autograd_mini as am
from autograd_mini import compare as cmp

ROWS, D = 10_000_000, 16
BLOCK = 250_000  # rows per block: 250,000 × 17 float32 is 17 MB
SEED = 0
W_TRUE = np.linspace(-1.0, 1.0, D, dtype=np.float32).reshape(D, 1)
# float32 keeps ~7 significant digits; sums over millions of rows lose two or three of them.
TOLERANCE32 = 1e-4


def block(i: int, rows: int) -> np.ndarray:
    """Block i of [X | y]: `rows` rows of X (standard normal) and y = X·w_true + noise."""
    rng = np.random.default_rng((SEED, i))
    xy = np.empty((rows, D + 1), dtype=np.float32)
    xy[:, :D] = rng.standard_normal((rows, D), dtype=np.float32)
    xy[:, D:] = xy[:, :D] @ W_TRUE + 0.1 * rng.standard_normal((rows, 1), dtype=np.float32)
    return xy


def _block_rows(n: int, size: int) -> tuple[int, ...]:
    return (size,) * (n // size) + ((n % size,) if n % size else ())


def _dask_block(rows: tuple[int, ...], block_id: Any = None) -> np.ndarray:
    return block(block_id[0], rows[block_id[0]])


def lazy_data(n: int, size: int = BLOCK) -> tuple[Any, Any]:
    """X (n × D) and y (n × 1) as Dask arrays: one task per block makes both, nothing runs yet."""
    import dask.array as da

    rows = _block_rows(n, size)
    xy = da.map_blocks(_dask_block, rows, chunks=(rows, (D + 1,)), dtype=np.float32,
                       meta=np.empty((0, 0), dtype=np.float32), name=f"xy-{n}-{size}")
    return xy[:, :D], xy[:, D:]


def closed_form(n: int, w: np.ndarray, size: int = BLOCK) -> tuple[float, np.ndarray]:
    """L and (2/N)·Xᵀ·(X·w − y), accumulated block by block in float64 (never all of X)."""
    loss, grad = 0.0, np.zeros((D, 1))
    for i, rows in enumerate(_block_rows(n, size)):
        xy = block(i, rows).astype(np.float64)
        r = xy[:, :D] @ w - xy[:, D:]
        loss += float((r * r).sum())
        grad += xy[:, :D].T @ r
    return loss / n, 2 / n * grad


def mse(X: am.Tensor, y: am.Tensor, w: am.Tensor) -> am.Tensor:
    """L = mean((X·w − y)²), from primitives, so the graph shows its structure."""
    score = X @ w
    score.name = "score"
    error = score - y
    error.name = "error"
    loss = (error ** 2).mean()
    loss.name = "L"
    return loss


# ---- memory ---------------------------------------------------------------------------------


def _status(field: str) -> float | None:
    """A size from /proc/self/status in MB (Linux), or None."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def reset_peak() -> float:
    """Start measuring the peak resident set size again from now; return the RSS now (MB).

    Linux resets the peak when "5" is written to /proc/self/clear_refs; elsewhere the peak
    since the process started is used (an upper bound).
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return _status("VmRSS") or 0.0


def peak_rss() -> float:
    """The peak resident set size (MB) since the last reset_peak()."""
    peak = _status("VmHWM")
    if peak is not None:
        return peak
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, else KB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def available_mb() -> float:
    """Memory available for a new allocation (MB): MemAvailable on Linux, else unknown (0)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def measured(run: Callable[[], Any]) -> tuple[Any, float, float]:
    """run()'s result, its wall time (s) and this process's peak RSS growth during it (MB)."""
    before = reset_peak()
    start = time.perf_counter()
    value = run()
    return value, time.perf_counter() - start, peak_rss() - before


# ---- the three ways -------------------------------------------------------------------------


def gradient_on_cluster(loss: am.Tensor, w: am.Tensor, workers: int
                        ) -> tuple[tuple[Any, ...], float, float]:
    """am.compute on a LocalCluster of worker processes: results, time, peak RSS growth (MB)
    summed over the workers."""
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        before = client.run(reset_peak)
        start = time.perf_counter()
        values = am.compute(loss, w.grad)  # the client is Dask's scheduler inside this block
        seconds = time.perf_counter() - start
        peaks = client.run(peak_rss)
    return values, seconds, sum(peaks[k] - before[k] for k in peaks)


def in_numpy(n: int, w0: np.ndarray, size: int = BLOCK) -> tuple[Any, float, float, float]:
    """X loaded whole into NumPy, then the same autodiff: (L, ∂L/∂w), load s, gradient s, MB."""
    before = reset_peak()
    start = time.perf_counter()
    X, y = np.empty((n, D), dtype=np.float32), np.empty((n, 1), dtype=np.float32)
    at = 0
    for i, rows in enumerate(_block_rows(n, size)):
        xy = block(i, rows)
        X[at:at + rows], y[at:at + rows] = xy[:, :D], xy[:, D:]
        at += rows
    loaded = time.perf_counter()
    w = am.tensor(w0, requires_grad=True, name="w")
    loss = mse(am.tensor(X, name="X"), am.tensor(y, name="y"), w)
    loss.backward()
    done = time.perf_counter()
    return (loss.item(), w.grad), loaded - start, done - loaded, peak_rss() - before


def main(out: str | Path | None = None, perturb: float = 0.0, rows: int = ROWS,
         cluster: bool = True, workers: int = 2, numpy: bool = True, size: int = BLOCK
         ) -> cmp.Comparison:
    """The lazy MSE gradient with threads and a LocalCluster vs the block-wise closed form."""
    import dask.array as da

    c = cmp.Comparison.start("out_of_core", f"the MSE gradient on a {rows:,} × {D} float32 X "
                             "that is never in memory whole", "L(w) = mean((X·w − y)²)", out,
                             perturb, tolerance=TOLERANCE32)
    Xd, yd = lazy_data(rows, size)
    w0 = np.zeros((D, 1), dtype=np.float32)
    X, y = am.tensor(Xd, name="X"), am.tensor(yd, name="y")
    w = am.tensor(da.from_array(w0), requires_grad=True, name="w")
    loss = mse(X, y, w)
    loss.backward()  # builds the gradient's tasks into the same Dask graph; computes nothing
    c.check("loss and gradient are Dask arrays until computed (nothing has run)",
            "dask" in type(loss.data).__module__ and "dask" in type(w.grad).__module__)
    c.check("float32 stays float32 (loss and gradient)",
            loss.dtype == np.float32 and w.grad.dtype == np.float32)
    c.graphs(loss)  # our graph (X, w, y, matmul, sub, pow, mean), not Dask's task graph
    print(f"X: {Xd.nbytes / 1e6:,.0f} MB as {Xd.npartitions} blocks of ≤ {size:,} rows")

    (value, grad), seconds, mb = measured(lambda: am.compute(loss, w.grad, scheduler="threads"))
    truth_loss, truth = closed_form(rows, w0.astype(np.float64), size)
    c.row("∂L/∂w, Dask threads", grad, truth, "(2/N)·Xᵀ·(X·w − y), block by block")
    c.row("L, Dask threads", value, truth_loss, "Σ‖X_b·w − y_b‖² / N, block by block")
    c.numbers.update(threads_s=seconds, threads_peak_mb=mb)
    print(f"Dask, threaded scheduler:   {seconds:6.2f} s, peak RSS +{mb:,.0f} MB")

    if cluster:
        (value, grad), seconds, mb = gradient_on_cluster(loss, w, workers)
        c.row("∂L/∂w, LocalCluster", grad, truth, "(2/N)·Xᵀ·(X·w − y), block by block")
        c.numbers.update(cluster_s=seconds, cluster_peak_mb=mb)
        print(f"Dask, LocalCluster ({workers} worker processes): {seconds:6.2f} s, peak RSS "
              f"+{mb:,.0f} MB summed over the workers")

    need = 2 * rows * (D + 1) * 4 / 2**20  # X and y, and room for N×1 temporaries
    if numpy and need < 0.8 * available_mb():
        (value, grad), load_s, grad_s, mb = in_numpy(rows, w0, size)
        c.row("∂L/∂w, NumPy (X whole)", grad, truth, "(2/N)·Xᵀ·(X·w − y), block by block")
        c.numbers.update(numpy_load_s=load_s, numpy_grad_s=grad_s, numpy_peak_mb=mb)
        print(f"NumPy, X loaded whole:      {load_s + grad_s:6.2f} s ({load_s:.2f} s to make "
              f"X, {grad_s:.2f} s for the gradient), peak RSS +{mb:,.0f} MB")
    elif numpy:
        print(f"NumPy, X loaded whole: skipped, it needs ~{need:,.0f} MB and "
              f"{available_mb():,.0f} MB are available")
    c.note("float32 data: rows agree to float32 precision (tolerance "
           f"{TOLERANCE32:.0e}), not float64's")
    c.note("one am.compute(loss, w.grad) makes each block of X once for both results "
           "(dask.compute(loss.data, w.grad) is the same)")
    return c.finish()


def cli(argv: Sequence[str] | None = None) -> int:
    """Command line: --rows N (default 10,000,000), --block, --workers, --no-cluster,
    --no-numpy, --out DIR; exit code 0 on PASS, 1 on FAIL, 2 without Dask."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=ROWS, help="rows of X (default %(default)s)")
    parser.add_argument("--block", type=int, default=BLOCK,
                        help="rows per block (default %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    parser.add_argument("--no-cluster", action="store_true", help="skip the LocalCluster run")
    parser.add_argument("--no-numpy", action="store_true", help="skip loading X whole")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"output folder (default {cmp.DEFAULT_OUT}/out_of_core)")
    args = parser.parse_args(argv)
    try:
        import dask.array  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        print("out_of_core.py needs Dask: pip install 'autograd-mini[dask]'", file=sys.stderr)
        return 2
    result = main(out=args.out, rows=args.rows, cluster=not args.no_cluster,
                  workers=args.workers, numpy=not args.no_numpy, size=args.block)
    return 0 if result.passed else 1


if __name__ == "__main__":  # required: LocalCluster's worker processes import this file
    raise SystemExit(cli())
