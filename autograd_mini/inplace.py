"""In-place safety: no write to an array a graph saved gives a silently wrong gradient.

A VJP reads the arrays its op saved in the forward pass; if they change before backward,
the gradient is wrong. Three mechanisms, each for the writes the others cannot reach:

1. Prevent (`hold`, `release`). An array the user can reach (a leaf's data, a constant
   operand, a view) is made read-only while a live node saves it, so NumPy refuses writes
   through it and through views made from then on. Locks are counted per memory owner (a
   view's base): many nodes save the same parameter. An op's fresh output is not locked:
   only the graph refers to it, until `Tensor.data` hands it out (see 3).
2. Detect (`verify`, at backward). Writes through the Tensor API (`t.data = …`, `w -= …`
   under no_grad, a copy made by 3) move the tensor's version or its array, which each node
   compares with what it saved. Writes through views made *before* the lock, which NumPy
   cannot revoke, are caught by a fingerprint taken when the array was first locked: all
   its bytes up to `EXACT` elements, else `SAMPLE` evenly spaced ones (documented in
   docs/when-gradients-go-wrong.md: a change confined to unsampled elements can escape).
3. Copy. `Tensor.data` gives a private copy of values a graph holds (copy-on-write), so
   `w.data -= lr * w.grad` works while an old graph lives and the graph keeps what it saw;
   operands that are not plain ndarrays (lists, np.memmap, other subclasses) are copied when
   recorded, so nothing the user holds aliases them.

Release is backward's (it frees each node's saved arrays and gives their locks back) or,
for a graph dropped without backward, the node's: CPython frees a node when its last
reference goes, at once; a graph caught in a reference cycle waits for the collector.
`EDITS` counts changes through the Tensor API: a node stamps it when recorded, and if it has
not moved by backward the version comparisons of 2 are skipped.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from . import backends

EXACT = 1 << 16  # arrays up to this many elements are fingerprinted by all their bytes
SAMPLE = 4096  # larger ones by this many evenly spaced elements


HELD: dict[int, int] = {}  # id(owner array) -> how many node references lock it
PRINTS: dict[int, dict[int, tuple[np.ndarray, bytes]]] = {}  # id(owner) -> id(view) -> print
_LOCK = threading.RLock()  # re-entrant: a node dropped during hold() releases in this thread

EDITS = 0  # changes made through the Tensor API so far


def edited() -> None:
    """Note one change through the Tensor API (call it after the change is made)."""
    global EDITS
    with _LOCK:  # an increment lost to a race could hide a change from a newer stamp
        EDITS += 1


def owner(a: np.ndarray) -> np.ndarray:
    """The array that owns the memory behind `a` (a itself unless a is a view)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def is_held(a: np.ndarray) -> bool:
    """True while a live graph has saved `a` (or an array sharing its memory)."""
    return bool(HELD) and id(owner(a)) in HELD


@lru_cache(maxsize=64)
def _positions(size: int) -> np.ndarray:
    return np.linspace(0, size - 1, SAMPLE).astype(np.intp)


def fingerprint(a: np.ndarray) -> bytes:
    """All of `a`'s bytes if it is small, else SAMPLE evenly spaced elements' bytes."""
    if a.size <= EXACT:
        return a.tobytes()
    return a.flat[_positions(a.size)].tobytes()


# ---- 1. prevent ----------------------------------------------------------------------------

def hold(arrays: Sequence[Any], locked: tuple[int, ...],
         watched: tuple[int, ...] = ()) -> tuple[np.ndarray, ...] | None:
    """Make the owners of arrays[i] for i in `locked` read-only; fingerprint arrays[i] for i
    in `watched` (a subset).

    Returns the owners locked (to `release` later; holding them also keeps their ids from
    being reused). Arrays that are read-only already and not ours (np.broadcast_to views,
    the user's own read-only data) are left alone: nothing can write through them.
    """
    locks = []
    fresh: list[int] | None = None  # owners this call made read-only (allocated if any)
    _LOCK.acquire()  # not `with`: this runs for many recorded ops, and `with` costs twice as much
    try:
        for i in locked:
            a = arrays[i]
            if type(a) is not np.ndarray:
                continue  # shape stand-ins need no protection
            o = a if a.base is None else owner(a)
            k = id(o)
            n = HELD.get(k)
            if n is not None:
                HELD[k] = n + 1
            elif o.flags.writeable:
                o.setflags(write=False)
                HELD[k] = 1
                fresh = [k] if fresh is None else fresh + [k]
            else:
                continue
            locks.append(o)
        for i in watched:
            a = arrays[i]
            k = id(a if a.base is None else owner(a))
            # Views that can bypass the lock all predate it: an array that owns its memory
            # needs its print only when it is first locked; a view may be new, so look.
            if k in HELD and (a.base is not None or (fresh is not None and k in fresh)):
                prints = PRINTS.get(k)
                if prints is None:
                    prints = PRINTS[k] = {}
                if id(a) not in prints:
                    prints[id(a)] = (a, fingerprint(a))
    finally:
        _LOCK.release()
    return tuple(locks) if locks else None


def release(*holds: tuple[np.ndarray, ...] | None) -> None:
    """Undo `hold`s: owners nobody else holds become writable again."""
    _LOCK.acquire()
    try:
        for locked in holds:
            for o in locked or ():
                k = id(o)
                n = HELD.get(k, 0)
                if n > 1:
                    HELD[k] = n - 1
                elif n == 1:
                    del HELD[k]
                    PRINTS.pop(k, None)
                    o.setflags(write=True)
    finally:
        _LOCK.release()


def changed(a: np.ndarray) -> bool:
    """True if `a` was fingerprinted when locked and its values differ now."""
    with _LOCK:
        seen = PRINTS.get(id(owner(a)), {}).get(id(a))
    return seen is not None and fingerprint(a) != seen[1]


# ---- 2. detect, at backward -----------------------------------------------------------------

def verify(node: Any, checked: set[int]) -> None:
    """Refuse a node whose saved values changed since the forward pass (mechanism 2).

    `checked` holds the ids of fingerprinted arrays this backward compared already.
    """
    if node.stamp != EDITS:  # something changed through the Tensor API since the node
        if node.versions is not None and node.saved is not None:
            for parent, seen, saved in zip(node.inputs, node.versions, node.saved, strict=True):
                t = _tensor_of(parent)
                # The common case, inline: same version, and the tensor still has the array.
                if t is None or (t.version == seen and t.array is saved):
                    continue
                _compare(node, t, seen, saved)
        if node.saved_out is not None:
            _compare(node, _tensor_of(node), 0, node.saved_out)
    if node.watched is not None:
        for i in node.watched:
            saved = node.saved[i]
            if id(saved) not in checked:
                if changed(saved):
                    raise _view_error(node, node.inputs[i])
                checked.add(id(saved))


def _tensor_of(vertex: Any) -> Any:
    """The Tensor the user holds for a vertex (None once the user dropped it)."""
    if vertex.is_leaf:
        return vertex
    return vertex.out_ref() if vertex.out_ref is not None else None


def _compare(node: Any, t: Any, seen: int, saved: Any) -> None:
    """Refuse if tensor `t` moved away from the array `saved` at version `seen`: a new
    version, or a copy (made by `.data`) whose values differ."""
    if t is None or (t.version == seen and (
            t.array is saved or (_same(t.array, saved) if type(saved) is np.ndarray
                                 else backends.same(t.array, saved)))):
        return
    from .graph import who  # graph imports this module

    now = (f"version {seen} then, {t.version} now" if t.version != seen else
           f"version {seen} then and now, but its values were written through .data[...]")
    raise RuntimeError(
        f"{who(t)} (shape {t.shape}) was modified in place after {node.label} saved it for "
        f"backward ({now}), so its gradient would be wrong. Change data only after "
        "backward() (or call backward before updating), or run the forward pass again "
        "after the change.")


def _view_error(node: Any, parent: Any) -> RuntimeError:
    from .graph import who

    return RuntimeError(
        f"{who(parent)} (shape {parent.shape}) changed after {node.label} saved it for "
        "backward, so its gradient would be wrong. Its memory was written through an array "
        "made before the forward pass (a slice or view such as data[:800], or the ndarray "
        "it was created from), which read-only flags cannot reach. Change data only after "
        "backward(), or run the forward pass again after the change; to be safe, pass a "
        "copy (np.array(data)).")


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal shapes and values (NaN equal to NaN): a copy nobody wrote to."""
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
