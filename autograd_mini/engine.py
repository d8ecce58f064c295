"""The reverse sweep: from ∂L/∂root back to every vertex, by the op table's VJP rules."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from . import backends, inplace
from .anomaly import check_backward
from .graph import Node, gc_paused, toposort, who
from .mode import MODE
from .shapes import array_of, sum_to_shape


class Reading(Protocol):
    """One interpretation of the reverse sweep: what a gradient is and how a rule is applied.

    `enter(node, g)` runs before a node's rules and returns what they read (its inputs and
    output in this reading); `rule(node, i, g, inputs)` gives input i's share of g;
    `leave(node)` runs after. Gradients only need `.shape`, `+`, and what the rules use.
    """

    def enter(self, node: Node, g: Any) -> Any: ...

    def rule(self, node: Node, i: int, g: Any, inputs: Any) -> Any: ...

    def leave(self, node: Node) -> None: ...


def sweep(root: Any, g_root: Any, reading: Reading, ends: tuple[Any, ...] = ()
          ) -> dict[Any, Any]:
    """The reverse sweep: propagate g_root = ∂L/∂root to every vertex; return {end: ∂L/∂end}.

    Ends are the leaves, and the vertices in `ends` (their gradient is returned, not
    propagated further). Walks the one toposort in reverse; for each node, every input that
    requires grad gets its rule's share, summed back over the axes broadcasting stretched
    (∂L/∂x = Σ over broadcast axes of ∂L/∂y), and shares reaching one vertex add up.
    """
    with gc_paused():
        order = toposort(root)
        stops = {id(v) for v in ends}  # by identity: Tensor == Tensor is element-wise
        grads: dict[Any, Any] = {root: g_root}
        found: dict[Any, Any] = {}
        enter, rule, leave = reading.enter, reading.rule, reading.leave
        for vertex in reversed(order):
            g = grads.pop(vertex, None)
            if g is None:
                continue
            if not isinstance(vertex, Node) or id(vertex) in stops:
                found[vertex] = g
                continue
            inputs = enter(vertex, g)
            for i, parent in enumerate(vertex.inputs):
                if not parent.requires_grad:
                    continue
                gi = rule(vertex, i, g, inputs)
                shape = parent.shape
                if gi.shape != shape:
                    gi = sum_to_shape(gi, shape)
                    if gi.shape != shape:
                        raise RuntimeError(f"internal error: the rule of {vertex.op.name} for "
                                           f"input {i} gave shape {gi.shape}, expected {shape}")
                prev = grads.get(parent)
                grads[parent] = gi if prev is None else prev + gi  # never in place: gi may alias
            leave(vertex)
        return found


class Backward:
    """The numeric reading: gradients are ndarrays, or Tensors with `create_graph`.

    With `create_graph`, `wrap(array, vertex)` turns a saved array back into a Tensor attached
    to the graph, so the rules record and can be differentiated again. Each node's saved
    values are checked before use (in-place changes, see inplace.py) and, without
    `retain_graph`, freed after.
    """

    def __init__(self, retain_graph: bool, create_graph: bool, wrap: Any = None) -> None:
        self.retain_graph = retain_graph
        self.create_graph = create_graph
        self.wrap = wrap
        self.anomaly = MODE.anomaly
        self.checked: set[int] = set()  # fingerprinted arrays already compared
        self.freed: list[Node] = []
        self.locks: list[Any] = []

    def enter(self, node: Node, g: Any) -> Any:
        if node.freed:
            raise _freed_error(node)
        if node.retain:
            _keep(node, g)
        if node.stamp != inplace.EDITS or node.watched is not None:
            inplace.verify(node, self.checked)
        xs = node.saved if node.saved is not None else node.inputs
        out = node.saved_out
        if self.create_graph:
            wrap = self.wrap
            xs = tuple(wrap(x, v) if isinstance(x, np.ndarray) or backends.is_foreign(x) else x
                       for x, v in zip(xs, node.inputs, strict=True))
            out = wrap(out, node) if out is not None else None
        return xs, out

    def rule(self, node: Node, i: int, g: Any, inputs: Any) -> Any:
        xs, out = inputs
        op = node.op
        vjp = op.vjps[i] if not op.variadic else op.vjp(i)  # Op.vjp(i), inlined: once per edge
        gi = vjp(g, *xs, out=out, **node.params)
        if self.anomaly:
            check_backward(node, i, g, gi)
        return gi

    def leave(self, node: Node) -> None:
        if not self.retain_graph:
            held = node.free()
            if held is not None:
                self.locks.append(held)  # released together when the sweep ends
            self.freed.append(node)


def backward(root: Any, g_root: Any, *, retain_graph: bool, create_graph: bool,
             wrap: Any = None, wrt: tuple[Any, ...] = ()) -> dict[Any, Any]:
    """∂L/∂leaf for every leaf (and ∂L/∂v for v in `wrt`, where the sweep stops) by the numeric
    reading. If it stops part-way, the nodes it freed are marked, so a retry says so."""
    reading = Backward(retain_graph, create_graph, wrap)
    try:
        return sweep(root, g_root, reading, wrt)
    except BaseException:
        for node in reading.freed:
            node.freed = INTERRUPTED
        raise
    finally:
        inplace.release(*reading.locks)


INTERRUPTED = "interrupted"  # Node.freed when a backward() that freed it did not finish


def _freed_error(vertex: Node) -> RuntimeError:
    first = ("an earlier backward() stopped part-way (an error or an interrupt), after "
             "freeing them, so it wrote no gradient. Run the forward pass again, then "
             "backward()" if vertex.freed == INTERRUPTED else
             "the first backward() freed them. Call the first backward(retain_graph=True) to "
             "keep them, or rebuild the graph by running the forward pass again")
    return RuntimeError(f"backward through {vertex.label} ({who(vertex)}) a second "
                        f"time: its saved arrays are gone: {first}.")


def _keep(node: Node, g: Any) -> None:
    """Accumulate the gradient of an intermediate whose tensor asked for retain_grad()."""
    g = array_of(g)
    g = np.array(g, dtype=node.dtype) if type(g) is np.ndarray else backends.astype(g, node.dtype)
    node.grad = g if node.grad is None else node.grad + g
