"""autograd_mini: reverse-mode automatic differentiation for NumPy that shows its work.

    import autograd_mini as am
    w = am.tensor(np.zeros((3, 1)), requires_grad=True, name="w")
    loss = ((X @ w - y) ** 2).mean()
    loss.backward()          # w.grad == 2/N · Xᵀ(X·w − y)
"""

from . import nn, optim
from .anomaly import detect_anomaly
from .explain import Explanation, explain
from .functions import (
    abs,
    astype,
    broadcast_to,
    clip,
    concatenate,
    cos,
    dot,
    exp,
    expm1,
    log,
    log1p,
    log_softmax,
    logaddexp,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    relu,
    reshape,
    sigmoid,
    sin,
    softmax,
    softplus,
    sqrt,
    square,
    stack,
    std,
    sum,
    tanh,
    transpose,
    var,
    where,
)
from .gradcheck import GradcheckError, gradcheck
from .losses import binary_cross_entropy_with_logits, cross_entropy, mse_loss
from .mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .optimize import minimize
from .tensor import BroadcastWarning, Tensor
from .transforms import grad, hessian, jacobian, value_and_grad
from .viz import RendererNotFoundError, draw_graph, render_graph

__version__ = "0.1.0"


def tensor(data: object, requires_grad: bool = False, dtype: object = None,
           name: str | None = None) -> Tensor:
    """Make a Tensor from numbers, nested lists or an ndarray (not copied).

    float64 by default for Python floats; float32 data stays float32; integer or bool data
    with requires_grad=True becomes float64.
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


__all__ = [
    "Tensor", "tensor", "detect_anomaly", "grad", "value_and_grad", "jacobian", "hessian",
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "BroadcastWarning",
    "gradcheck", "GradcheckError", "mse_loss", "binary_cross_entropy_with_logits", "cross_entropy",
    "abs", "clip", "concatenate", "dot", "exp", "log", "log_softmax", "logsumexp", "matmul", "max",
    "maximum", "mean", "min", "minimum", "relu", "sigmoid", "softmax", "sqrt", "stack", "sum",
    "tanh", "where", "draw_graph", "render_graph", "RendererNotFoundError", "explain",
    "Explanation", "softplus", "log1p", "expm1", "sin", "cos", "square", "logaddexp", "var", "std",
    "reshape", "transpose", "broadcast_to", "astype", "nn", "optim", "minimize",
]
