"""The recorded graph: a Node per op application, and the one deterministic toposort.

A graph vertex is either a leaf Tensor (data the user made) or a Node (the op that made an
intermediate tensor). A Node keeps the structure (op, ordered inputs, params, output shape,
dtype and name) for as long as anything refers to it, so drawing and explaining still work
after backward; the arrays it saved for its VJP are dropped by `free()`.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from . import inplace
from .ops import Op


class Node:
    """One application of an op: y = op(*inputs, **params)."""

    __slots__ = ("op", "inputs", "params", "saved", "saved_out", "shape", "dtype", "name",
                 "requires_grad", "out_ref", "freed", "versions", "trace", "held",
                 "retain", "grad", "watched", "stamp",
                 "__weakref__")

    def __init__(self, op: Op, inputs: tuple[Any, ...], params: dict[str, Any],
                 saved: tuple[Any, ...] | None, saved_out: np.ndarray | None,
                 out: np.ndarray) -> None:
        self.op = op
        self.inputs = inputs  # vertices: leaf Tensors or Nodes, in operand order
        self.params = params
        self.saved = saved  # the input arrays the VJP reads, or None if it reads only shapes
        self.saved_out = saved_out
        self.shape: tuple[int, ...] = out.shape
        self.dtype = out.dtype
        self.name: str | None = None
        self.requires_grad = True
        self.out_ref: weakref.ref[Any] | None = None  # the output Tensor, while the user has it
        self.freed: bool | str = False  # True, or engine.INTERRUPTED
        self.versions: tuple[int, ...] | None = None  # leaf inputs' versions when saved
        self.trace: str | None = None  # where the op was created (anomaly mode only)
        self.held: tuple[np.ndarray, ...] | None = None  # arrays made read-only for us
        self.retain = False  # t.retain_grad() was called: keep this vertex's gradient
        self.grad: np.ndarray | None = None  # the kept gradient, after backward
        self.watched: tuple[int, ...] | None = None  # saved inputs with fingerprints
        self.stamp = inplace.EDITS  # changes made through the Tensor API before this node

    @property
    def is_leaf(self) -> bool:
        return False

    @property
    def label(self) -> str:
        """The op's display label, e.g. 'pow 2' or 'sum axis=0'."""
        return self.op.label(**self.params)

    def free(self) -> tuple[np.ndarray, ...] | None:
        """Drop the arrays saved for backward; keep the structure for drawing and explaining.

        Returns the read-only locks the node held: the caller releases them (inplace.release),
        a whole sweep's at once.
        """
        self.saved = None
        self.saved_out = None
        self.freed = True
        held, self.held = self.held, None
        return held

    def __del__(self) -> None:
        # A graph dropped without backward must still give its arrays back to the user.
        if self.held is not None:
            inplace.release(self.held)

    def __repr__(self) -> str:
        return f"<Node {self.label} {self.shape}>"


def who(vertex: Any) -> str:
    """How an error names a vertex: 'w' (its name), output of <op>, a leaf tensor, or a
    constant operand."""
    if vertex.name:
        return repr(vertex.name)
    if not vertex.is_leaf:
        return f"output of {vertex.label}"
    return "a leaf tensor" if vertex.requires_grad else "a constant operand"


@contextmanager
def gc_paused() -> Iterator[None]:
    """Suspend the cyclic garbage collector (if it is on) for a walk over a whole graph.

    A deep graph walk allocates many containers; each collection they trigger would scan
    the whole live graph again, which makes the walk quadratic-ish. Nothing here makes cycles.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def parents(vertex: Any) -> tuple[Any, ...]:
    """The vertices a vertex was computed from (none for a leaf Tensor)."""
    return vertex.inputs if isinstance(vertex, Node) else ()


def toposort(root: Any, *, only_requires_grad: bool = True) -> list[Any]:
    """Vertices reachable from `root`, inputs before outputs, in a stable order.

    Iterative depth-first post-order (no recursion, so million-op chains are fine), visiting
    inputs in operand order, so the same graph always gives the same list.
    """
    with gc_paused():
        return _toposort(root, only_requires_grad)


def _toposort(root: Any, only_requires_grad: bool) -> list[Any]:
    order: list[Any] = []
    seen: set[int] = {id(root)}
    # Two flat stacks (vertex, index of its next input) instead of (vertex, iterator) pairs:
    # a million-deep chain then allocates no per-vertex objects for the garbage collector.
    stack: list[Any] = [root]
    nexts: list[int] = [0]
    while stack:
        top = stack[-1]
        inputs = top.inputs if isinstance(top, Node) else ()  # parents(top), inlined
        i = nexts[-1]
        while i < len(inputs):
            p = inputs[i]
            i += 1
            k = id(p)
            if k not in seen and (p.requires_grad or not only_requires_grad):
                seen.add(k)
                nexts[-1] = i
                stack.append(p)
                nexts.append(0)
                break
        else:
            nexts.pop()
            order.append(stack.pop())
    return order
