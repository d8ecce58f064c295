"""In-place safety: arrays a graph saved for backward are read-only until the graph lets go.

A VJP reads the arrays its op saved in the forward pass. If those change before backward,
the gradient is silently wrong. Three things stop that:

1. While any live node holds an array, the memory behind it is marked read-only, so NumPy
   refuses writes through the array and through every view made from then on
   ("assignment destination is read-only"). `Tensor.data` hands out a private writable copy
   instead (copy-on-write), so `w.data -= lr * w.grad` still works while an old graph is
   alive; `engine` then refuses backward for that graph (the tensor's version moved).
2. NumPy cannot revoke write access from views made *before* the lock (`head = w.data[:2]`,
   `train = data[:800]`). So arrays that existed before the graph (leaves' data, constant
   operands, intermediates whose `.data` the user read) get a fingerprint when first locked:
   their bytes when they have at most `EXACT` elements, else `SAMPLE` evenly spaced elements.
   Backward compares it and refuses if the values moved. Small arrays are therefore checked
   exactly; large ones catch shuffles, refills and rescaling but may miss a few elements
   changed through such an old view (documented in docs/when-gradients-go-wrong.md).
3. Operands that are not plain ndarrays (lists, np.memmap and other subclasses) are copied
   into a plain array when the op is recorded, so nothing the user holds aliases them.

Locks are counted per memory owner (a view's base), because many nodes save the same
parameter and a view shares its owner's memory. The count drops when a node is freed by
backward or dropped with its graph; at zero the owner is writable again. The registry is
guarded by a lock, so threads that build graphs on shared parameters keep exact counts.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

EXACT = 1 << 16  # arrays up to this many elements are fingerprinted by all their bytes
SAMPLE = 4096  # larger ones by this many evenly spaced elements


HELD: dict[int, int] = {}  # id(owner array) -> how many node references lock it
PRINTS: dict[int, dict[int, tuple[np.ndarray, bytes]]] = {}  # id(owner) -> id(view) -> print
_LOCK = threading.RLock()  # re-entrant: a node dropped during hold() releases in this thread


# Counts changes made through the Tensor API (`t.data = …`, `w -= …` under no_grad, a
# copy-on-write copy). A node stamps it when recorded; if it has not moved by backward, no
# tensor can have changed since, and the per-input version checks are skipped.
EDITS = 0


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


def hold(arrays: Sequence[Any], watched: tuple[int, ...] = ()) -> tuple[np.ndarray, ...] | None:
    """Make the owners of `arrays` read-only; fingerprint arrays[i] for i in `watched`.

    Returns the owners locked (to `release` later; holding them also keeps their ids from
    being reused). Arrays that are read-only already and not ours (np.broadcast_to views,
    the user's own read-only data) are left alone: nothing can write through them.
    """
    locked = []
    fresh: list[int] | None = None  # owners this call made read-only (allocated if any)
    _LOCK.acquire()  # not `with`: this runs for every recorded op, and `with` costs twice as much
    try:
        for a in arrays:
            if type(a) is not np.ndarray:
                continue  # Python scalars and shape stand-ins need no protection
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
            locked.append(o)
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
    return tuple(locked) if locked else None


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
