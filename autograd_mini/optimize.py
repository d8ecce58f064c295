"""am.minimize: scipy.optimize.minimize with the gradient (and Hessian) from autodiff.

    res = am.minimize(lambda w: ((X @ w - y) ** 2).mean(), np.zeros((3, 1)))
    res.x            # shape (3, 1), like x0

SciPy is an optional dependency (the `examples` and `test` extras).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .tensor import Tensor
from .transforms import hessian, value_and_grad

__all__ = ["minimize"]

# Methods that use a Hessian if given one (Newton-CG needs at least Hessian-vector products;
# the trust-region ones need the Hessian itself).
HESSIAN_METHODS = frozenset({"newton-cg", "trust-ncg", "trust-krylov", "trust-exact", "dogleg"})
# Methods that never look at a gradient: SciPy warns if it gets one.
GRADIENT_FREE = frozenset({"nelder-mead", "powell", "cobyla", "cobyqa"})


def _scipy_minimize() -> Callable[..., Any]:
    try:
        from scipy.optimize import minimize as scipy_minimize
    except ImportError:
        raise ImportError("am.minimize needs SciPy: pip install 'autograd-mini[examples]'"
                          ) from None
    return scipy_minimize


def minimize(f: Callable[..., Tensor], x0: Any, method: str | Callable[..., Any] = "L-BFGS-B",
             **kw: Any) -> Any:
    """Minimise f(x) over x starting at x0 with scipy.optimize.minimize; return its result.

    f takes a Tensor of x0's shape (plus `args`, if given) and returns a scalar Tensor. SciPy
    works on a flat float64 vector; each evaluation reshapes it to x0's shape and computes
    f(x) and ∇f(x) in one pass with am.value_and_grad (passed as jac=True). `method` is
    SciPy's (default "L-BFGS-B"); for Newton-CG, trust-ncg, trust-krylov, trust-exact and
    dogleg, hess is am.hessian(f), an n×n matrix, and the gradient-free Nelder-Mead, Powell,
    COBYLA and COBYQA get f alone. The other keywords `kw` (args, tol, options, bounds,
    callback, …) go to SciPy unchanged; callback and bounds see the flat vector. The result
    is SciPy's OptimizeResult with `x` (and `jac`, when SciPy returns one) reshaped to x0's
    shape.
    """
    scipy_minimize = _scipy_minimize()
    for key in ("jac", "hess", "hessp"):
        if key in kw:
            raise TypeError(f"minimize: {key}= is computed by autodiff; remove it (call "
                            "scipy.optimize.minimize directly to supply your own).")
    start = x0.detach().numpy() if isinstance(x0, Tensor) else x0
    start = np.array(start, dtype=np.float64)  # a copy: SciPy may write into its x
    shape = start.shape
    value_grad = value_and_grad(f)

    def fun_and_jac(x: np.ndarray, *args: Any) -> tuple[float, np.ndarray]:
        value, g = value_grad(x.reshape(shape).copy(), *args)
        return float(value), np.asarray(g, dtype=np.float64).ravel()

    def fun(x: np.ndarray, *args: Any) -> float:
        return fun_and_jac(x, *args)[0]

    name = method.lower() if isinstance(method, str) else None
    if name in GRADIENT_FREE:
        return _reshaped(scipy_minimize(fun, start.ravel(), method=method, **kw), shape)
    if name in HESSIAN_METHODS:
        hess_of = hessian(f)

        def hess(x: np.ndarray, *args: Any) -> np.ndarray:
            H = hess_of(x.reshape(shape).copy(), *args)
            return np.asarray(H, dtype=np.float64).reshape(start.size, start.size)

        kw["hess"] = hess
    res = scipy_minimize(fun_and_jac, start.ravel(), method=method, jac=True, **kw)
    return _reshaped(res, shape)


def _reshaped(res: Any, shape: tuple[int, ...]) -> Any:
    res.x = np.asarray(res.x).reshape(shape)
    jac = res.get("jac")
    if isinstance(jac, np.ndarray) and jac.size == res.x.size:
        res.jac = jac.reshape(shape)
    return res
