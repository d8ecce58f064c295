"""Independent truths for gradient tests: central finite differences, in plain NumPy."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numeric_grad(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """∂f/∂x by central differences, one element at a time (x is restored afterwards)."""
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    for j in np.ndindex(x.shape):
        saved = x[j]
        x[j] = saved + eps
        hi = f(x)
        x[j] = saved - eps
        lo = f(x)
        x[j] = saved
        g[j] = (hi - lo) / (2 * eps)
    return g


def assert_close(actual: np.ndarray, expected: np.ndarray, rtol: float = 1e-5,
                 atol: float = 1e-7) -> None:
    """Shapes equal and values close, with a message that shows both."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)
