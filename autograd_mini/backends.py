"""Other array libraries: telling a NumPy, Dask or CuPy array apart, and what each one can do.

NumPy is the default and the fast path: the modules that run per op test `type(x) is
np.ndarray` first and come here only for something else. Dask and CuPy arrays implement
NumPy's protocols (NEP 13 ufuncs, NEP 18 functions, NEP 35 `like=`), so the op table's
forwards and VJP rules run on them unchanged; this module holds the few steps that differ:

- recognising an array without importing its library (a Dask array is seen by its type's
  module, so `import autograd_mini` never imports dask or cupy);
- keeping values in their library: a gradient of a Dask tensor is a Dask array, built into
  the same lazy task graph as the loss, and `compute` evaluates them together;
- in-place safety: a Dask array is an immutable value whose Python object can still be
  rebound (`a[i] = v` and `out=` replace its task graph), so the graph saves an object of its
  own instead of locking memory; CuPy memory has no read-only flag, so nothing is locked;
- ops a library cannot do fail with an error naming the op and the library.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .shapes import array_of

FOREIGN = frozenset({"dask", "cupy"})  # top-level packages whose arrays tensors may hold


def library(x: Any) -> str | None:
    """'numpy', 'dask' or 'cupy' for an array of that library (None for anything else)."""
    if isinstance(x, np.ndarray):
        return "numpy"
    root = type(x).__module__.partition(".")[0]
    return root if root in FOREIGN and hasattr(x, "dtype") and hasattr(x, "shape") else None


def is_foreign(x: Any) -> bool:
    """True for a Dask or CuPy array."""
    return type(x).__module__.partition(".")[0] in FOREIGN and hasattr(x, "dtype")


def is_lazy(x: Any) -> bool:
    """True for a Dask array: a task graph, evaluated only by `compute`."""
    return type(x).__module__.partition(".")[0] == "dask" and hasattr(x, "dask")


def describe(x: Any) -> str:
    """A foreign array as an error message names it: library, shape and dtype."""
    return f"{library(x)} array {tuple(x.shape)} {x.dtype}"


def known_shape(x: Any, what: str) -> Any:
    """`x` itself if every size of its shape is known; else a ValueError saying what to do.

    A boolean mask on a Dask array gives NaN sizes (how many entries are True is known only
    after computing), and every later shape check, broadcast and mean would be wrong.
    """
    if any(isinstance(n, float) and math.isnan(n) for n in x.shape):
        raise ValueError(
            f"{what}: the result, a {describe(x)}, has unknown sizes (NaN): a boolean mask on "
            "a dask array leaves them unknown until computed. Keep the shape with "
            "am.where(mask, x, 0) (or multiply by the mask), or compute the mask first: "
            "mask.compute(), then index with the NumPy mask; x.compute_chunk_sizes() also "
            "makes the sizes known.")
    return x


def adopt(data: Any, dtype: Any, requires_grad: bool) -> Any:
    """A foreign array as a tensor's data: validated, cast, in its own library (not copied)."""
    known_shape(data, "am.tensor")
    kind = np.dtype(data.dtype).kind
    if kind not in "biuf":
        raise TypeError(f"am.tensor: a {describe(data)} is not numeric; gradients need "
                        "numbers (bool, int or float). Convert it first: x.astype(float).")
    if dtype is not None:
        data = data.astype(dtype)
    elif requires_grad and kind != "f":
        data = data.astype(np.float64)  # a gradient of integers would be meaningless
    if requires_grad and np.dtype(data.dtype).kind != "f":
        raise TypeError(f"am.tensor(..., dtype={data.dtype}, requires_grad=True): only "
                        "floating-point tensors can have gradients. Use dtype=float.")
    return own(data)


def own(x: Any) -> Any:
    """An object of our own for a foreign array the graph keeps.

    For Dask, a new Array over the same task graph (no values are copied): rebinding the
    user's object later (`x[i] = v`) cannot change what the graph saved. CuPy arrays are
    kept as they are: copying device memory per op would cost what NumPy's locks avoid.
    """
    if is_lazy(x):
        return type(x)(x.dask, x.name, x.chunks, meta=x._meta)
    return x


def same(a: Any, b: Any) -> bool:
    """False only for two Dask arrays over different task graphs: a rebound object (`a[i] =
    v`) may hold other values. Anything else (scalars, CuPy) cannot be told apart: True."""
    if is_lazy(a) and is_lazy(b):
        return bool(a.name == b.name)
    return True


def result(out: Any, op_name: str) -> Any:
    """An op's output as a tensor's data: foreign arrays stay in their library (with known
    sizes), anything else (a NumPy scalar from a full reduction) becomes an ndarray."""
    if is_foreign(out):
        return known_shape(out, op_name)
    return np.asarray(out)


def astype(x: Any, dtype: Any) -> Any:
    """`x` (a mask, a number) in `dtype`, in x's own library."""
    if type(x) is not np.ndarray and is_foreign(x):
        return x.astype(dtype)
    return np.asarray(x, dtype=dtype)


def maybe_any(mask: Any) -> bool:
    """Whether a rule must take its general branch for `mask`: any(mask) for arrays that have
    values now; True for lazy ones, so a rule's shortcut never computes part of the graph."""
    if type(mask) is not np.ndarray and is_lazy(mask):
        return True
    return bool(mask.any())


def copy_as(g: Any, dtype: Any, like: Any) -> Any:
    """A gradient as a leaf's `.grad`: in `like`'s library and `dtype`, never aliasing `g`.

    NumPy data gets an ndarray (a Dask gradient for NumPy data is computed here); Dask data
    gets a Dask array (a NumPy one is wrapped, one chunk); CuPy data gets a CuPy array.
    """
    if type(like) is np.ndarray:
        return np.array(to_numpy(g), dtype=dtype)
    if is_lazy(like):
        if is_lazy(g):
            return own(g.astype(dtype))  # dask values are immutable: no copy needed
        import dask.array as da  # a dask array exists, so dask is imported already

        return da.from_array(np.array(g, dtype=dtype), chunks=-1)
    xp = _cupy() if library(like) == "cupy" else np
    return xp.array(g, dtype=dtype)  # type: ignore[union-attr]


def ones(shape: tuple[int, ...], dtype: Any, like: Any) -> Any:
    """Ones in `like`'s library (the seed gradient of a foreign root)."""
    return np.ones(shape, dtype=dtype, like=like)


def to_numpy(x: Any) -> Any:
    """The values as an ndarray: computes a Dask array, copies a CuPy array to the host."""
    if type(x) is np.ndarray:
        return x
    if is_lazy(x):
        return np.asarray(x.compute())
    if library(x) == "cupy":
        return x.get()
    return x


def compute(*items: Any, **kwargs: Any) -> tuple[Any, ...]:
    """Evaluate the lazy values among `items` together (one pass); others pass unchanged.

    Tensors stand for their data. Dask arrays are computed by one `dask.compute` call, so
    tasks they share (reading X) run once; `kwargs` go to it (scheduler="threads", ...).
    """
    values = [array_of(x) for x in items]
    lazy = [i for i, v in enumerate(values) if is_lazy(v)]
    if lazy:
        import dask  # only reached when a dask array was given

        done = dask.compute(*(values[i] for i in lazy), **kwargs)
        for i, v in zip(lazy, done, strict=True):
            values[i] = np.asarray(v)
    return tuple(values)


def scatter_add(g: Any, index: Any, shape: tuple[int, ...]) -> Any:
    """z = zeros(shape); z[index] += g, repeats adding up, for a Dask or CuPy gradient."""
    if library(g) == "cupy":
        cupy, cupyx = _cupy(), __import__("cupyx")
        z = cupy.zeros(shape, dtype=g.dtype)
        cupyx.scatter_add(z, index, g)
        return z
    items = index if isinstance(index, tuple) else (index,)
    arrays = [k for k, i in enumerate(items) if isinstance(i, np.ndarray)]
    if not arrays:
        return _put(g, items, shape)
    if len(arrays) > 1 or items[arrays[0]].ndim != 1 or any(
            i is None or isinstance(i, (int, np.integer)) for i in items):
        raise unsupported(
            "getitem", g, "its gradient scatters back through an integer index array "
            "combined with other arrays, numbers or None, which dask arrays cannot assign to",
            "combine one 1-d integer array with slices only (x[idx], x[:, idx]), or index the "
            "NumPy array before making the tensor")
    # One integer array: split its entries into layers that name each position once (the
    # first occurrence of every position, then the second, ...); each layer is a plain
    # assignment, and the layers add up, so repeated positions sum their gradients.
    k = arrays[0]
    axis = _axis_of(items, k, len(shape))  # the same in g: slices keep axes in place
    idx = items[k] % max(shape[axis], 1)
    total = None
    for layer in _layers(idx):
        piece = g[(slice(None),) * axis + (layer,)]
        part = _put(piece, items[:k] + (idx[layer],) + items[k + 1:], shape)
        total = part if total is None else total + part
    return total


def _put(g: Any, items: tuple[Any, ...], shape: tuple[int, ...]) -> Any:
    """zeros(shape) with g at `items` (an index naming each position at most once)."""
    z = np.zeros(shape, dtype=g.dtype, like=g)
    plain = tuple(i for i in items if i is not None)  # None added size-1 axes: drop them
    target = np.broadcast_to(np.empty((), dtype=np.int8), shape)[plain].shape
    z[plain] = g.reshape(target)  # dask replaces z's task graph; no values move yet
    return z


def _axis_of(items: tuple[Any, ...], k: int, ndim: int) -> int:
    """The axis item k indexes (items: slices, Ellipsis and one integer array)."""
    axis = 0
    for i in items[:k]:
        axis += ndim - (len(items) - 1) if i is Ellipsis else 1
    return axis


def _layers(idx: np.ndarray) -> list[np.ndarray]:
    """Positions in idx grouped by occurrence: layer r holds each value's (r+1)-th entry."""
    order = np.argsort(idx, kind="stable")
    ranked = idx[order]
    first = np.r_[True, ranked[1:] != ranked[:-1]] if idx.size else np.zeros(0, bool)
    start = np.maximum.accumulate(np.where(first, np.arange(idx.size), 0))
    rank = np.empty(idx.size, dtype=np.intp)
    rank[order] = np.arange(idx.size) - start
    return [np.flatnonzero(rank == r) for r in range(int(rank.max(initial=-1)) + 1)]


class BackendError(NotImplementedError):
    """An op (or its gradient) that an array library cannot do."""


def unsupported(op_name: str, x: Any, what: str, fix: str) -> BackendError:
    """The error for an op a library cannot do: names the op, the library and the way out."""
    return BackendError(f"{op_name} on a {describe(x)}: {what}. {fix[0].upper()}"
                               f"{fix[1:]}.")


def cannot(op_name: str, xs: Any, error: Exception) -> NotImplementedError:
    """An op's forward failed in a foreign library: name the op and the library."""
    if isinstance(error, BackendError):
        return error  # ours already names them
    x = next((x for x in xs if is_foreign(x)), None)
    lib = library(x) if x is not None else "this array library"
    return BackendError(
        f"{op_name}: {lib} arrays cannot do this ({error}). Rewrite the step with ops {lib} "
        f"supports, or turn the operands into NumPy arrays first (am.compute(...)).")


def _cupy() -> Any:
    import cupy  # only reached when a cupy array was given

    return cupy
