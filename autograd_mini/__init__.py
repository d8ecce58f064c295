"""autograd_mini: reverse-mode automatic differentiation for NumPy that shows its work.

    import autograd_mini as am
    w = am.tensor(np.zeros((3, 1)), requires_grad=True, name="w")
    loss = ((X @ w - y) ** 2).mean()
    loss.backward()          # w.grad == 2/N · Xᵀ(X·w − y)
"""

from typing import Any

from . import functions, nn, optim
from .anomaly import detect_anomaly
from .backends import compute
from .compile import compile, gradient_code
from .explain import Explanation, explain
from .extend import defop
from .functions import *  # noqa: F403 - NumPy-style functions, one per op of the table
from .gradcheck import GradcheckError, gradcheck
from .losses import binary_cross_entropy_with_logits, cross_entropy, mse_loss
from .mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .optimize import minimize
from .recording import BroadcastWarning
from .tensor import Tensor
from .transforms import grad, hessian, jacobian, value_and_grad
from .viz import RendererNotFoundError, draw_graph, render_graph

__version__ = "0.1.0"


def tensor(data: object, requires_grad: bool = False, dtype: object = None,
           name: str | None = None) -> Tensor:
    """Make a Tensor from numbers, nested lists or an ndarray (not copied).

    float64 by default for Python floats; float32 data stays float32; integer or bool data
    with requires_grad=True becomes float64. `dtype` converts the data first (as
    np.asarray(data, dtype)); `name` labels the tensor in graphs, explanations and errors.
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


__all__ = [
    "Tensor", "tensor", "detect_anomaly", "grad", "value_and_grad", "jacobian", "hessian",
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "BroadcastWarning",
    "gradcheck", "GradcheckError", "mse_loss", "binary_cross_entropy_with_logits", "cross_entropy",
    "draw_graph", "render_graph", "RendererNotFoundError", "explain", "Explanation", "nn", "optim",
    "minimize", "defop", "compile", "gradient_code", "compute",
] + functions.__all__


def __getattr__(name: str) -> Any:
    """Tells type checkers that am.<op> exists for ops the table adds at import time."""
    raise AttributeError(f"module 'autograd_mini' has no attribute {name!r}")
