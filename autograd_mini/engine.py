"""The reverse sweep: from ∂L/∂root back to every vertex, by the op table's VJP rules."""

from __future__ import annotations

from typing import Any

import numpy as np

from .graph import Node, toposort
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
    order = toposort(root)
    ends = {id(v) for v in wrt}  # by identity: Tensor == Tensor is element-wise
    grads: dict[Any, Any] = {root: g_root}
    leaves: dict[Any, Any] = {}
    for vertex in reversed(order):
        g = grads.pop(vertex, None)
        if g is None:
            continue
        if not isinstance(vertex, Node) or id(vertex) in ends:
            leaves[vertex] = g
            continue
        if vertex.freed:
            raise RuntimeError(
                f"backward through {vertex.label} ({_describe(vertex)}) a second time: its "
                "saved arrays were freed by the first backward(). Call the first "
                "backward(retain_graph=True) to keep them, or rebuild the graph by running "
                "the forward pass again.")
        op = vertex.op
        if vertex.versions is not None:
            _check_versions(vertex)
        xs = vertex.saved if vertex.saved is not None else vertex.inputs
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
            gi = sum_to_shape(gi, parent.shape)
            if np.shape(gi) != parent.shape:
                raise RuntimeError(f"internal error: the VJP of {op.name} for input {i} gave "
                                   f"shape {np.shape(gi)}, expected {parent.shape}")
            prev = grads.get(parent)
            grads[parent] = gi if prev is None else prev + gi  # never in place: gi may alias
        if not retain_graph:
            vertex.free()
    return leaves


def _check_versions(node: Node) -> None:
    """Refuse to use an input that was changed in place after the forward pass saved it."""
    assert node.versions is not None
    for parent, seen in zip(node.inputs, node.versions, strict=True):
        if not isinstance(parent, Node) and parent._version != seen:
            raise RuntimeError(
                f"{_describe(parent)} (shape {parent.shape}) was modified in place after "
                f"{node.label} saved it for backward (version {seen} then, "
                f"{parent._version} now), so its gradient would be wrong. Change data only "
                "after backward(), or work on a copy (t.data = t.data.copy()) before the "
                "forward pass.")
