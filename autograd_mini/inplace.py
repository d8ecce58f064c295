"""In-place safety: arrays a graph saved for backward are read-only until the graph lets go.

A VJP reads the arrays its op saved in the forward pass. If those change before backward,
the gradient is silently wrong. So while any live node holds an array, the memory behind it
is marked read-only (NumPy refuses writes with "assignment destination is read-only"), and
`Tensor.data` hands out a private writable copy instead (copy-on-write), so the everyday
update `w.data -= lr * w.grad` works even while an old graph is still alive. The graph keeps
the values it saw; `engine` then refuses backward if the tensor changed since (its version
counter moved, or its copy differs from the saved array).

Locks are counted per memory owner (a view's base), because many nodes save the same
parameter and a view shares its owner's memory. The count drops when a node is freed by
backward or garbage-collected with its graph; at zero the owner is writable again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

HELD: dict[int, int] = {}  # id(owner array) -> how many node references lock it


def owner(a: np.ndarray) -> np.ndarray:
    """The array that owns the memory behind `a` (a itself unless a is a view)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def is_held(a: np.ndarray) -> bool:
    """True while a live graph has saved `a` (or an array sharing its memory)."""
    return bool(HELD) and id(owner(a)) in HELD


def hold(arrays: Iterable[Any]) -> tuple[np.ndarray, ...] | None:
    """Make the owners of `arrays` read-only; return the owners locked (to release later).

    Arrays that are read-only already and not ours (np.broadcast_to views, the user's own
    read-only data) are left alone: nothing can write through them anyway.
    """
    locked = []
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
        else:
            continue
        locked.append(o)
    return tuple(locked) if locked else None


def release(locked: tuple[np.ndarray, ...]) -> None:
    """Undo one `hold`: owners nobody else holds become writable again."""
    for o in locked:
        k = id(o)
        n = HELD.get(k, 0)
        if n > 1:
            HELD[k] = n - 1
        elif n == 1:
            del HELD[k]
            o.setflags(write=True)
