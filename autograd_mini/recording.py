"""How values enter the graph and how gradients leave it.

`record` runs an op forward and, when a gradient can flow, records its Node: operands that
are not Tensors become constants (lists and ndarray subclasses copied, so later changes
cannot reach the graph), saved arrays are locked (inplace.py), and bad input fails here,
at the op the user wrote, with a message naming the op, the operands and their shapes.
`gradients` is the entry to the reverse sweep that `Tensor.backward` and the transforms
share: it checks the seed gradient and picks the numeric reading (arrays, or Tensors that
record when `create_graph`).
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from . import anomaly, backends, engine, inplace, mode
from .graph import Node
from .mode import MODE, enable_grad
from .ops import Op
from .shapes import array_of
from .tensor import ArrayLike, Constant, Tensor

_SCALARS = frozenset({int, float, bool, np.float64, np.float32, np.int64, np.int32})


class BroadcastWarning(UserWarning):
    """An element-wise op broadcast a column (N, 1) against a vector (N,) into (N, N)."""


def _operand(a: Any, op: Op, args: tuple[Any, ...]) -> Any:
    """A non-Tensor operand as a plain ndarray of its own (or a number).

    Lists, np.memmap and other ndarray subclasses are copied now, so changing the caller's
    object after the forward pass cannot change what backward uses. Masked arrays are
    refused: their mask would be silently ignored.
    """
    if isinstance(a, np.ma.MaskedArray):
        raise TypeError(f"{op.name}: a masked array operand; autograd_mini would ignore its "
                        "mask. Pass m.filled(value) (masked entries replaced) or "
                        "m.compressed() (masked entries dropped) instead.")
    if isinstance(a, np.generic):
        return a
    if backends.is_foreign(a):
        return backends.own(a)  # Dask: an object of our own over the same lazy values
    if isinstance(a, np.ndarray):
        return np.array(a)  # a plain copy of a subclass (memmap, matrix, ...)
    try:
        return np.array(a)
    except (ValueError, TypeError):
        return a  # ragged or odd data: the forward fails and _forward_error names it


def _warn_column_against_vector(op: Op, args: tuple[Any, ...], xs: list[Any],
                                out: np.ndarray) -> None:
    """Warn (once per line of user code) when (N, 1) meets (N,) and makes (N, N)."""
    n = out.shape[0]
    shapes = [np.shape(x) for x in xs]
    if sorted(shapes, key=len) != [(n,), (n, 1)]:
        return
    left, right = (describe(a) for a in args)
    anomaly.warn_at_user_line(BroadcastWarning(
        f"{op.name} of {left} and {right} broadcast to {out.shape}: a column (N, 1) against a "
        f"vector (N,) pairs every element with every other. If they are meant to line up "
        f"element by element, reshape the vector: y.reshape(-1, 1) (or the column: "
        f"v.reshape(-1)). Write explicit (N, 1) and (1, M) shapes for an outer product."))


def record(op: Op, *args: Any, **params: Any) -> Tensor:
    """Run `op` forward on the arrays behind `args`; record a Node if a gradient can flow.

    The one way an op enters the graph: Tensor operators and methods, the am. functions,
    NumPy's protocols and the rules under create_graph all call this.
    """
    xs = [a._data if isinstance(a, Tensor) else a for a in args]
    try:
        out = op.forward(*xs, **params)
    except (ValueError, TypeError, IndexError) as e:
        raise _forward_error(op, args, xs, params, e) from None
    except NotImplementedError as e:  # a Dask or CuPy array that cannot do this op
        raise backends.cannot(op.name, xs, e) from None
    if type(out) is not np.ndarray:
        # A NumPy scalar (a full reduction) becomes a 0-d array; Dask and CuPy results stay.
        out = np.asarray(out) if isinstance(out, np.generic) else backends.result(out, op.name)
    if out.ndim == 2 and len(xs) == 2 and out.shape[0] == out.shape[1] > 1:
        _warn_column_against_vector(op, args, xs, out)
    trace = None
    if mode.CHANGED:  # some thread left a default: read this thread's switches
        if MODE.anomaly:
            trace = anomaly.check_forward(op, args, xs, out)
        enabled = MODE.grad_enabled
    else:
        enabled = True
    # Plain loops, not any(generator) or comprehensions: this runs once per op, and their
    # set-up costs more than the work itself.
    needed = False  # a gradient can flow: some operand requires grad, and we are recording
    if enabled:
        for a in args:
            if isinstance(a, Tensor) and a._requires_grad:
                needed = True
                break
    if not needed:
        return Tensor._make(out, None)
    if out.dtype.kind not in "biuf":
        raise _forward_error(op, args, xs, params, TypeError(f"result dtype {out.dtype}"))
    inputs = []
    versions = []
    # Saved arrays the user can reach are made read-only (inplace.py); those that existed
    # before this graph are also fingerprinted ("watched"). An op's fresh output is neither:
    # only the graph refers to it until `.data` hands it out (as a copy, if it was saved).
    locked: tuple[int, ...] = ()
    watched: tuple[int, ...] = ()
    i = 0
    for a in args:
        if isinstance(a, Tensor):
            inputs.append(a if a._node is None else a._node)
            versions.append(a._version)
            if type(xs[i]) is not np.ndarray:
                pass  # Dask, CuPy: no locks, no prints
            elif a._shared:
                watched += (i,)
                locked += (i,)
            elif xs[i].base is not None:  # a view: its memory may be an array the user has
                locked += (i,)
        else:
            if type(a) is np.ndarray:  # the caller's own array: it may have views
                watched += (i,)
                locked += (i,)
            elif type(a) not in _SCALARS:  # lists, memmaps, ...: a copy of our own to save
                xs[i] = _operand(a, op, args)
            inputs.append(_constant(xs[i], op, args, xs, params))
            versions.append(0)
        i += 1
    node = Node(op, tuple(inputs), params, tuple(xs) if op.save_inputs else None,
                out if op.save_out else None, out)
    # The output's memory may be reachable from outside: it is a view, or an input itself.
    same = alias = False
    if type(out) is np.ndarray:  # Dask and CuPy results are never locked
        if out.base is None:
            for x in xs:  # a loop, not any(...): this runs once per op
                if x is out:
                    same = True
        alias = same or out.base is not None
    if op.save_inputs:
        node.versions = tuple(versions)
        if watched:
            node.watched = watched
    else:
        locked = watched = ()  # the inputs are not saved: nothing of theirs to protect
    if op.save_out and alias:
        xs.append(out)  # after the Node took its tuple: only the lock sees it
        locked += (len(xs) - 1,)
    if locked:
        node.held = inplace.hold(xs, locked, watched)
    if trace is not None:
        node.trace = trace
    t = Tensor._make(out, node)
    if same:
        t._shared = True  # as reachable as the input it is
    node.out_ref = weakref.ref(t)
    return t


def _constant(a: Any, op: Op, args: tuple[Any, ...], xs: list[Any],
              params: dict[str, Any]) -> Tensor:
    """A non-Tensor operand as a constant graph vertex; object or text arrays are refused."""
    arr = (a if type(a) is np.ndarray or type(a) not in _SCALARS and backends.is_foreign(a)
           else np.asarray(a))
    if arr.dtype.kind not in "biuf":
        raise _forward_error(op, args, xs, params, TypeError(f"operand dtype {arr.dtype}"))
    c = object.__new__(Constant)
    c._data = arr
    return c


def describe(x: Any) -> str:
    """An operand as the user knows it: its name (or kind) and its shape."""
    if isinstance(x, Tensor):
        return f"{x.name} {x.shape}" if x.name else f"tensor {x.shape}"
    if x is None or isinstance(x, (str, bytes, bool, int, float, np.number)):
        return repr(x)
    if backends.is_foreign(x):
        return backends.describe(x)
    try:
        return f"{type(x).__name__} {np.shape(x)}"
    except ValueError:
        return f"ragged {type(x).__name__}"


def operand_problem(x: Any) -> tuple[type[Exception], str] | None:
    """What makes a non-Tensor operand unusable (None, text, ragged or non-numeric data)."""
    if isinstance(x, (Tensor, bool, int, float, np.number)):
        return None
    if x is None:
        return TypeError, "is None"
    if backends.is_foreign(x):  # its dtype without computing or copying its values
        kind = np.dtype(x.dtype).kind
        return None if kind in "biuf" else (TypeError, f"has dtype {x.dtype}, not numbers")
    if isinstance(x, (str, bytes)):
        return TypeError, f"is the string {x!r}, not a number"
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError):
        return ValueError, "is ragged (its rows have different lengths)"
    if arr.dtype.kind not in "biuf":
        return TypeError, f"has dtype {arr.dtype}, not numbers"
    return None


_HINTS = {
    IndexError: "Index with ints, slices, None, ... or integer arrays inside the shape.",
    TypeError: "Operands must be Tensors, ndarrays of numbers, or numbers.",
    ValueError: "Check the operands' shapes and the op's arguments.",
}


def _forward_error(op: Op, args: tuple[Any, ...], xs: list[Any], params: dict[str, Any],
                   error: Exception) -> Exception:
    """The error to raise: names the op, the operands and their shapes, the problem, the fix."""
    operands = [describe(a) for a in args]
    where = (op.expr.format(*operands, **params) if not op.variadic
             else f"{op.name}({', '.join(operands)})")
    where = where if where.startswith(op.name) else f"{op.name} {where}"
    for i, a in enumerate(args):
        bad = operand_problem(a)
        if bad is not None:
            side = ("the operand" if len(args) == 1 else ("the left", "the right")[i]
                    + " operand" if len(args) == 2 else f"operand {i}")
            return bad[0](f"{where}: {side} {bad[1]}. Pass a Tensor, an ndarray of "
                          "numbers or a number, e.g. np.asarray(data, dtype=float).")
    problem = op.shape_error(*xs, **params) if op.shape_error is not None else None
    if problem is not None:
        return ValueError(f"{where}: {problem}. Check the shapes: reshape, "
                          "transpose or index an operand so they line up.")
    kind = next(k for k in (ValueError, IndexError, TypeError, Exception) if isinstance(error, k))
    hint = _HINTS.get(kind, "")
    if kind is not IndexError and any(np.dtype(x.dtype).kind in "biu" if hasattr(x, "dtype")
                                      else np.asarray(x).dtype.kind in "biu" for x in xs):
        hint = ("An operand holds integers; this op needs floats: make it float first, e.g. "
                "am.tensor(data, dtype=float).")
    return kind(f"{where}: {str(error).rstrip('.')}. {hint}".rstrip())


def gradients(root: Tensor, grad: ArrayLike | None, retain_graph: bool,
               create_graph: bool, wrt: tuple[Any, ...] = ()) -> dict[Any, Any]:
    """Run the reverse sweep from `root`; return {leaf or wrt vertex: ∂root/∂it · grad}."""
    if not root.requires_grad:
        raise RuntimeError(
            "backward() on a tensor that does not require grad: no input of its graph was "
            "created with requires_grad=True (or it was computed under am.no_grad()). Create "
            "the parameters with am.tensor(..., requires_grad=True).")
    if grad is None:
        if root.ndim != 0:
            raise ValueError(
                f"backward() without grad needs a scalar (0-d) tensor, but this one has shape "
                f"{root.shape}. Reduce it first (loss.sum() or loss.mean()) or pass "
                f"grad=∂L/∂output, an array of shape {root.shape}.")
        g = (np.ones((), dtype=root.dtype) if type(root.array) is np.ndarray
             else backends.ones((), root.dtype, like=root.array))
    else:
        problem = operand_problem(grad)
        if problem is not None:
            raise problem[0](f"backward(grad=...): grad {problem[1]}; pass ∂L/∂output as an "
                             f"array of numbers of shape {root.shape}.")
        g = array_of(grad)
        g = (backends.astype(g, root.dtype) if backends.is_foreign(g)
             else np.asarray(g, dtype=root.dtype))
        if g.shape != root.shape:
            raise ValueError(f"backward(grad=...): grad has shape {g.shape} but the tensor has "
                             f"shape {root.shape}; they must match. Pass ∂L/∂output, an array "
                             f"of shape {root.shape} (np.ones({root.shape}) for a plain sum).")
    if not create_graph:
        return engine.backward(root.vertex, g, retain_graph=retain_graph, create_graph=False,
                            wrt=wrt)

    def wrap(array: np.ndarray, vertex: Any) -> Any:
        return vertex if isinstance(vertex, Tensor) else Tensor._make(array, vertex)

    with enable_grad():
        return engine.backward(root.vertex, Tensor._make(g, None), retain_graph=True,
                            create_graph=True, wrap=wrap, wrt=wrt)
