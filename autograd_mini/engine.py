"""The reverse sweep: from ∂L/∂root back to every vertex, by the op table's VJP rules."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import inplace
from .anomaly import check_backward
from .graph import Node, gc_paused, toposort
from .mode import MODE
from .shapes import sum_to_shape


def _describe(vertex: Any) -> str:
    name = vertex.name
    kind = "tensor" if vertex.is_leaf else f"output of {vertex.label}"
    return f"{name!r}" if name else kind


def sweep(root: Any, g_root: Any, *, retain_graph: bool, create_graph: bool,
          wrap: Any = None, wrt: tuple[Any, ...] = ()) -> dict[Any, Any]:
    """Propagate g_root from `root` to all vertices; return {leaf Tensor: its gradient}.

    Vertices in `wrt` are treated as ends: their gradient is returned, not propagated.

    Gradients are ndarrays, or Tensors when `create_graph` (then `wrap(array, vertex)`
    turns a saved array back into a Tensor attached to the graph, so the rules record).
    Without `retain_graph` each node's saved arrays are freed once its rule has run.
    """
    with gc_paused():
        return _sweep(root, g_root, retain_graph, create_graph, wrap, wrt)


def _sweep(root: Any, g_root: Any, retain_graph: bool, create_graph: bool, wrap: Any,
           wrt: tuple[Any, ...]) -> dict[Any, Any]:
    order = toposort(root)
    ends = {id(v) for v in wrt}  # by identity: Tensor == Tensor is element-wise
    grads: dict[Any, Any] = {root: g_root}
    leaves: dict[Any, Any] = {}
    anomaly = MODE.anomaly
    checked: set[int] = set()  # fingerprinted arrays already compared in this sweep
    freed: list[Node] = []
    try:
        for vertex in reversed(order):
            g = grads.pop(vertex, None)
            if g is None:
                continue
            if not isinstance(vertex, Node) or id(vertex) in ends:
                leaves[vertex] = g
                continue
            if vertex.freed:
                raise _freed_error(vertex)
            if vertex.retain:
                _keep(vertex, g)
            op = vertex.op
            if vertex.versions is not None or vertex.saved_out is not None:
                _check_versions(vertex)
            xs = vertex.saved if vertex.saved is not None else vertex.inputs
            if vertex.watched is not None:
                for i in vertex.watched:
                    if id(xs[i]) not in checked:
                        _check_print(vertex, i, checked)
            out = vertex.saved_out
            if create_graph:
                xs = tuple(wrap(x, v) if isinstance(x, np.ndarray) else x
                           for x, v in zip(xs, vertex.inputs, strict=True))
                out = wrap(out, vertex) if out is not None else None
            for i, parent in enumerate(vertex.inputs):
                if not parent.requires_grad:
                    continue
                if op.variadic:
                    gi = op.vjps[0](g, *xs, out=out, i=i, **vertex.params)
                else:
                    gi = op.vjps[i](g, *xs, out=out, **vertex.params)
                if anomaly:
                    check_backward(vertex, i, g, gi)
                shape = parent.shape
                if (gi.shape if type(gi) is np.ndarray else np.shape(gi)) != shape:
                    gi = sum_to_shape(gi, shape)
                    if np.shape(gi) != shape:
                        raise RuntimeError(f"internal error: the VJP of {op.name} for input "
                                           f"{i} gave shape {np.shape(gi)}, expected {shape}")
                prev = grads.get(parent)
                grads[parent] = gi if prev is None else prev + gi  # never in place: gi may alias
            if not retain_graph:
                vertex.free()
                freed.append(vertex)
    except BaseException:
        for vertex in freed:  # so a retry says what happened instead of blaming retain_graph
            vertex.freed = INTERRUPTED
        raise
    return leaves


INTERRUPTED = "interrupted"  # Node.freed when a backward() that freed it did not finish


def _freed_error(vertex: Node) -> RuntimeError:
    first = ("an earlier backward() stopped part-way (an error or an interrupt), after "
             "freeing them, so it wrote no gradient. Run the forward pass again, then "
             "backward()" if vertex.freed == INTERRUPTED else
             "the first backward() freed them. Call the first backward(retain_graph=True) to "
             "keep them, or rebuild the graph by running the forward pass again")
    return RuntimeError(f"backward through {vertex.label} ({_describe(vertex)}) a second "
                        f"time: its saved arrays are gone: {first}.")


def _keep(node: Node, g: Any) -> None:
    """Accumulate the gradient of an intermediate whose tensor asked for retain_grad()."""
    g = np.array(getattr(g, "_data", g), dtype=node.dtype)
    node.grad = g if node.grad is None else node.grad + g


def _check_versions(node: Node) -> None:
    """Refuse to use saved values whose tensor was changed after the forward pass saved them.

    The saved arrays themselves are read-only (see inplace.py), so a change shows up as a
    moved version counter (`t.data = ...`, `t.data -= ...`) or as a copy-on-write copy whose
    values differ from the saved ones (`t.data[...] = ...`).
    """
    if node.versions is not None and node.saved is not None:
        for parent, seen, saved in zip(node.inputs, node.versions, node.saved, strict=True):
            t = _tensor_of(parent)
            # The common case, inline: same version, and the tensor still has the saved array.
            if t is None or (t._version == seen and t._data is saved):
                continue
            _check_one(node, t, seen, saved)
    if node.saved_out is not None:
        _check_one(node, _tensor_of(node), 0, node.saved_out)


def _check_print(node: Node, i: int, checked: set[int]) -> None:
    """Refuse a saved input whose values moved although it was read-only (inplace.py, 2)."""
    saved = node.saved[i]  # type: ignore[index]
    if inplace.changed(saved):
        parent = node.inputs[i]
        who = (f"{parent.name!r}" if parent.name else
               "a constant operand" if parent.is_leaf and not parent.requires_grad else
               "a leaf tensor" if parent.is_leaf else f"output of {parent.label}")
        raise RuntimeError(
            f"{who} (shape {parent.shape}) changed after {node.label} saved it for backward, "
            "so its gradient would be wrong. Its memory was written through an array made "
            "before the forward pass (a slice or view such as data[:800], or the ndarray it "
            "was created from), which read-only flags cannot reach. Change data only after "
            "backward(), or run the forward pass again after the change; to be safe, pass a "
            "copy (np.array(data)).")
    checked.add(id(saved))


def _tensor_of(vertex: Any) -> Any:
    """The Tensor the user holds for a vertex (None once the user dropped it)."""
    if not isinstance(vertex, Node):
        return vertex
    return vertex.out_ref() if vertex.out_ref is not None else None


def _check_one(node: Node, t: Any, seen: int, saved: Any) -> None:
    if t is None or (t._version == seen and (t._data is saved or type(saved) is not np.ndarray
                                             or _same(t._data, saved))):
        return
    now = (f"version {seen} then, {t._version} now" if t._version != seen else
           f"version {seen} then and now, but its values were written through .data[...]")
    who = f"{t.name!r}" if t.name else ("a leaf tensor" if t.is_leaf else f"output of {t.label}")
    raise RuntimeError(
        f"{who} (shape {t.shape}) was modified in place after {node.label} saved it for "
        f"backward ({now}), so its gradient would be wrong. Change data only after "
        "backward() (or call backward before updating), or run the forward pass again "
        "after the change.")


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal shapes and values (NaN equal to NaN): a copy nobody wrote to."""
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
