"""Tensor: an ndarray that records the ops applied to it, so gradients can flow back."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from . import backends, inplace
from .graph import Node
from .mode import MODE
from .ops import OPS, Op
from .shapes import TensorBase, array_of, normalize_axis

ArrayLike = Any
Axis = int | tuple[int, ...] | None


def _as_array(data: ArrayLike, dtype: Any, requires_grad: bool) -> np.ndarray:
    """Validate and convert user data; integers and bools that need gradients become float64."""
    if isinstance(data, Tensor):
        data = data._data
    if type(data) is not np.ndarray and backends.is_foreign(data):
        return backends.adopt(data, dtype, requires_grad)  # Dask, CuPy: kept in their library
    if data is None:
        raise TypeError("am.tensor(None): expected numbers, a (nested) list of numbers or an "
                        "ndarray")
    try:
        arr = np.asarray(data, dtype=dtype)
    except ValueError as e:
        raise ValueError(f"am.tensor: could not make an array of {type(data).__name__} data "
                         f"({e}). Lists must be rectangular (every row the same length) and "
                         "hold numbers only.") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"am.tensor: data of dtype {arr.dtype} is not numeric; gradients need "
                        "numbers (bool, int or float). Convert strings or objects first, e.g. "
                        "np.asarray(data, dtype=float).")
    if requires_grad and arr.dtype.kind != "f":
        if dtype is not None:
            raise TypeError(f"am.tensor(..., dtype={arr.dtype}, requires_grad=True): only "
                            "floating-point tensors can have gradients. Use dtype=float (or "
                            "leave dtype out: integer data with requires_grad becomes float64).")
        arr = arr.astype(np.float64)  # a gradient of integers would be meaningless
    return arr



class Tensor(TensorBase):
    """An n-dimensional array that remembers how it was computed.

    `t.grad` holds ∂L/∂t after `L.backward()` for leaves created with requires_grad=True.
    Tensor(data, requires_grad, dtype, name) is what am.tensor makes: `data` is numbers,
    nested lists or an ndarray (not copied); `dtype` converts it first (as
    np.asarray(data, dtype)); `name` labels the tensor in graphs, explanations and errors.
    """

    __slots__ = ("_data", "_grad", "_requires_grad", "_name", "_node", "_version", "_shared",
                 "__weakref__")
    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """np.asarray(t): the values, refused for a tensor that requires grad (see numpy_api)."""
        from . import numpy_api
        return numpy_api.to_array(self, dtype, copy)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """np.add(t, x), ndarray + t, np.exp(t): record the op the table has for the ufunc."""
        from . import numpy_api
        return numpy_api.ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        """np.sum(t), np.dot(X, t), np.shape(t): record the op the table has for the function."""
        from . import numpy_api
        return numpy_api.function(func, types, args, kwargs)

    __hash__ = object.__hash__  # hashable by identity even though == is element-wise

    def __init__(self, data: ArrayLike, requires_grad: bool = False, dtype: Any = None,
                 name: str | None = None) -> None:
        self._data = _as_array(data, dtype, requires_grad)
        self._grad: np.ndarray | None = None
        self._requires_grad = bool(requires_grad)
        self._name = name
        self._node: Node | None = None
        self._version = 0
        self._shared = True  # not copied: the caller may hold views of this memory

    @classmethod
    def _make(cls, data: np.ndarray, node: Node | None) -> Tensor:
        """Wrap an op's output without validation (the hot path)."""
        t = object.__new__(cls)
        t._data = data
        t._grad = None
        t._requires_grad = node is not None
        t._name = None
        t._node = node
        t._version = 0
        t._shared = node is None  # a recorded op's output is fresh memory nobody else sees
        return t

    # ---- attributes ---------------------------------------------------------------------

    @property
    def data(self) -> np.ndarray:
        """The values (an ndarray). Assigning to it counts as an in-place change.

        While a graph holds these values for backward they are read-only; then this returns
        a private writable copy (copy-on-write), so `w.data -= lr * w.grad` still works and
        the graph keeps what it saw.
        """
        data = self._data
        if type(data) is not np.ndarray:
            # A Dask array's object can be rebound in place (`a[i] = v`): hand out one of
            # our own, so the graph keeps the object it saved (no values are copied).
            self._data = backends.own(data)
        elif not self._shared:
            # An op's output, so far seen only by the graph, which saved it unlocked (nobody
            # else could write to it). From here on the caller may: hand out a copy if the
            # graph (or a view) refers to this array. Three references are this slot, `data`
            # and getrefcount's argument; any more are saved tuples or views.
            self._shared = True
            if data.base is None and sys.getrefcount(data) <= 3:
                return data
            self._data = data.copy()
        elif inplace.HELD and inplace.is_held(data):
            self._data = data.copy()
        else:
            return data
        inplace.edited()  # so backward compares the new array with what the graph saved
        return self._data

    @data.setter
    def data(self, value: ArrayLike) -> None:
        self._data = _as_array(value, None, self.requires_grad)
        self._version += 1
        inplace.edited()

    @property
    def requires_grad(self) -> bool:
        """Whether gradients flow to this tensor (set it on leaves; float dtypes only)."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        flag = bool(flag)
        if self._node is not None:
            if flag:
                return  # an op's output requires grad already
            raise RuntimeError(
                f"requires_grad=False on the output of {self._node.label} {self.shape}: only "
                "leaves can change it. Use t.detach() for a copy that no gradient flows "
                "through.")
        if flag and self.dtype.kind != "f":
            raise TypeError(
                f"requires_grad=True on a tensor of dtype {self.dtype}: only floating-point "
                "tensors can have gradients (a gradient of integers would be all zeros). "
                "Create it as am.tensor(data, dtype=float, requires_grad=True).")
        self._requires_grad = flag

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set `requires_grad` in place (leaves only) and return the tensor itself."""
        self.requires_grad = requires_grad
        return self

    @property
    def grad(self) -> np.ndarray | None:
        """∂L/∂self after `L.backward()`: kept for leaves, and for others after retain_grad()."""
        return self._node.grad if self._node is not None else self._grad

    @grad.setter
    def grad(self, value: ArrayLike | None) -> None:
        if value is not None:
            problem = recording.operand_problem(value)
            if problem is not None:
                raise problem[0](f"t.grad = ...: the value {problem[1]}; assign None or an "
                                 f"array of shape {self.shape}.")
            value = backends.copy_as(array_of(value), self.dtype, self._data)  # never aliases
            if value.shape != self.shape:
                raise ValueError(
                    f"t.grad = ...: an array of shape {value.shape} for a tensor of shape "
                    f"{self.shape}; a gradient must have the tensor's shape (the next "
                    "backward would add to it, and an update would reshape the tensor).")
        if self._node is not None:
            self._node.grad = value
        else:
            self._grad = value

    def retain_grad(self) -> None:
        """Keep this intermediate's gradient ∂L/∂self in `.grad` after backward (and show it
        in draw_graph). Leaves that require grad keep theirs anyway."""
        if not self._requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad: no "
                               "gradient flows to it.")
        if self._node is not None:
            self._node.retain = True

    # The vertex protocol the engine, explain and viz read (graph.py): a leaf Tensor and a
    # Node both offer name, shape, dtype, requires_grad, is_leaf and label.

    @property
    def vertex(self) -> Any:
        """The graph vertex that stands for this tensor: the Node of the op that made it, or
        the tensor itself for a leaf."""
        return self._node if self._node is not None else self

    @property
    def version(self) -> int:
        """How many times the values were changed in place (`.data = …`, `w -= …`); a graph
        that saved older values refuses backward."""
        return self._version

    @property
    def array(self) -> np.ndarray:
        """The ndarray behind the tensor as it is now, shared and never copied: what the
        graph's checks compare. To read or change values, use `.data`."""
        return self._data

    @property
    def name(self) -> str | None:
        return self._node.name if self._node is not None else self._name

    @name.setter
    def name(self, value: str | None) -> None:
        if self._node is not None:
            self._node.name = value
        else:
            self._name = value

    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> int:
        return self._data.size

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors the user created (not produced by a recorded op)."""
        return self._node is None

    @property
    def op(self) -> str | None:
        """Name of the op that produced this tensor, None for a leaf."""
        return self._node.op.name if self._node is not None else None

    @property
    def label(self) -> str:
        return self._node.label if self._node is not None else "leaf"

    def numpy(self) -> np.ndarray:
        """The values as an ndarray (shared, not copied; see `data` while a graph holds them).

        A Dask tensor's values are computed, a CuPy tensor's copied to the host."""
        return backends.to_numpy(self.data)

    def item(self) -> float:
        """The single value of a one-element tensor, as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item() needs a tensor with exactly one element; this one has "
                             f"shape {self.shape}. Index it or reduce it (e.g. .sum()) first.")
        return backends.to_numpy(self._data).item()  # type: ignore[no-any-return]

    def __float__(self) -> float:
        return float(self._one("float()"))

    def __int__(self) -> int:
        return int(self._one("int()"))

    def __round__(self, ndigits: int | None = None) -> Any:
        return round(self._one("round()"), ndigits)

    def __format__(self, spec: str) -> str:
        if not spec:
            return str(self)
        return format(self._one(f"format spec {spec!r}"), spec)

    def _one(self, what: str) -> Any:
        if self._data.size != 1:
            raise TypeError(f"{what} needs a tensor with exactly one element; this one has "
                            f"shape {self.shape}. Index it or reduce it (e.g. .sum()) first.")
        return backends.to_numpy(self._data).item()  # Dask: computes

    def tolist(self) -> Any:
        """The values as (nested) Python lists, as ndarray.tolist()."""
        return backends.to_numpy(self._data).tolist()

    def astype(self, dtype: Any) -> Tensor:
        """The values converted to `dtype`: recorded (gradients flow) for a float dtype.

        A cast to an integer or bool dtype is a constant: no gradient flows through it.
        """
        dtype = np.dtype(dtype)
        if dtype.kind == "f" and self._requires_grad:
            return recording.record(OPS["astype"], self, dtype=dtype)
        return Tensor._make(self._data.astype(dtype), None)

    def __deepcopy__(self, memo: dict[int, Any]) -> Tensor:
        """A leaf's copy (values, requires_grad, name, grad); an op's output is refused."""
        if self._node is not None:
            raise RuntimeError(
                f"deepcopy of the output of {self._node.label} {self.shape}: copying it would "
                "copy its whole graph, leaves included, so a backward on the copy would never "
                "reach your parameters. Copy the values instead: copy.deepcopy(t.detach()).")
        t = Tensor(self._data.copy(), requires_grad=self._requires_grad, name=self._name)
        t._grad = None if self._grad is None else self._grad.copy()
        return t

    def detach(self) -> Tensor:
        """The same values as a constant: no gradient flows through the result."""
        return Tensor._make(self._data if self._shared else self.data, None)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __iter__(self) -> Iterator[Tensor]:
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        return bool(self._data)

    def __repr__(self) -> str:
        body = (np.array2string(self._data, separator=", ", prefix="tensor(", threshold=20)
                if type(self._data) is np.ndarray else repr(self._data))  # Dask: no compute
        extra = ""
        if self.name:
            extra += f", name={self.name!r}"
        if self._node is not None:
            extra += f", op={self._node.label!r}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        if self.dtype != np.float64:
            extra += f", dtype={self.dtype}"
        return f"tensor({body}{extra})"

    # ---- backward -----------------------------------------------------------------------

    def backward(self, grad: ArrayLike | None = None, retain_graph: bool = False,
                 create_graph: bool = False) -> None:
        """Accumulate ∂self/∂leaf into `leaf.grad` for every leaf that requires grad.

        A non-scalar tensor needs `grad` (∂L/∂self, same shape): backward then computes the
        vector-Jacobian product gradᵀ·∂self/∂leaf. The sweep frees the arrays the graph saved,
        so a second backward through it fails unless the first had `retain_graph`=True.
        `create_graph`=True computes the gradients with recorded ops, as am.hessian does to
        differentiate twice, and keeps the graph; `.grad` still gets plain arrays, so for
        higher derivatives use am.grad, am.jacobian or am.hessian.
        """
        for leaf, g in recording.gradients(self, grad, retain_graph, create_graph).items():
            g = g._data if isinstance(g, Tensor) else g
            g = (np.array(g, dtype=leaf.dtype) if type(leaf._data) is np.ndarray  # a copy
                 and type(g) is np.ndarray else backends.copy_as(g, leaf.dtype, leaf._data))
            leaf._grad = g if leaf._grad is None else leaf._grad + g

    # ---- operators ----------------------------------------------------------------------

    def __add__(self, other: ArrayLike) -> Tensor:
        return recording.record(OPS["add"], self, other)

    def __radd__(self, other: ArrayLike) -> Tensor:
        return recording.record(OPS["add"], other, self)

    def __sub__(self, other: ArrayLike) -> Tensor:
        return recording.record(OPS["sub"], self, other)

    def __rsub__(self, other: ArrayLike) -> Tensor:
        return recording.record(OPS["sub"], other, self)

    def __mul__(self, other: ArrayLike) -> Tensor:
        return recording.record(OPS["mul"], self, other)

    def __rmul__(self, other: ArrayLike) -> Tensor:
        return recording.record(OPS["mul"], other, self)

    def __truediv__(self, other: ArrayLike) -> Tensor:
        return recording.record(OPS["div"], self, other)

    def __rtruediv__(self, other: ArrayLike) -> Tensor:
        return recording.record(OPS["div"], other, self)

    def __matmul__(self, other: ArrayLike) -> Tensor:
        return recording.record(OPS["matmul"], self, other)

    def __rmatmul__(self, other: ArrayLike) -> Tensor:
        return recording.record(OPS["matmul"], other, self)

    def __pow__(self, other: ArrayLike) -> Tensor:
        if isinstance(other, (int, float, np.number)) and not isinstance(other, bool):
            return recording.record(OPS["pow"], self, p=other)
        return recording.record(OPS["power"], self, other)

    def __rpow__(self, other: ArrayLike) -> Tensor:
        return recording.record(OPS["power"], other, self)

    def __neg__(self) -> Tensor:
        return recording.record(OPS["neg"], self)

    def __pos__(self) -> Tensor:
        return self

    # In-place operators. Without recording (no_grad, or nothing requires grad) they change
    # the values in place: the tensor stays a leaf, keeps requires_grad, and its version moves
    # so a graph that saved the old values refuses backward. Recording, a leaf that requires
    # grad cannot change in place (its graph would lose the values it saw); an intermediate
    # is simply rebound to the new result, which is what `h = h + x` means.
    def __iadd__(self, other: ArrayLike) -> Tensor:
        return self._in_place(OPS["add"], "+=", other)

    def __isub__(self, other: ArrayLike) -> Tensor:
        return self._in_place(OPS["sub"], "-=", other)

    def __imul__(self, other: ArrayLike) -> Tensor:
        return self._in_place(OPS["mul"], "*=", other)

    def __itruediv__(self, other: ArrayLike) -> Tensor:
        return self._in_place(OPS["div"], "/=", other)

    def _in_place(self, op: Op, symbol: str, other: ArrayLike) -> Tensor:
        live = MODE.grad_enabled and (
            self._requires_grad or (isinstance(other, Tensor) and other._requires_grad))
        if live and self._node is not None:
            return recording.record(op, self, other)
        if live:
            who = f"'{self.name}'" if self.name else f"a leaf tensor {self.shape}"
            raise RuntimeError(
                f"{who} {symbol} ...: a leaf that requires grad cannot change in place while "
                f"operations are recorded (the graph would lose the values it saw). Update "
                f"parameters without recording:\n    with am.no_grad():\n        "
                f"w {symbol} lr * w.grad\nor write w.data {symbol} lr * w.grad.")
        data = self.data  # a private copy if a graph still holds the current array
        if backends.is_lazy(data):  # Dask values are immutable: in place means a new array
            return self._rebind(op, symbol, data, other)
        try:
            op.forward(data, array_of(other), out=data, casting="same_kind")  # its ufunc
        except (TypeError, ValueError) as e:
            kind = TypeError if isinstance(e, TypeError) else ValueError
            raise kind(f"{symbol} on {recording.describe(self)} with "
                       f"{recording.describe(other)}: {e}. The result must keep the tensor's "
                       "shape and dtype.") from None
        self._version += 1
        inplace.edited()
        return self

    def _rebind(self, op: Op, symbol: str, data: Any, other: ArrayLike) -> Tensor:
        """`a += b` on a Dask tensor: a new lazy array in a's shape and dtype, then a's data."""
        new = op.forward(data, array_of(other))
        if new.shape != data.shape or not np.can_cast(new.dtype, data.dtype, "same_kind"):
            raise ValueError(f"{symbol} on {recording.describe(self)} with "
                             f"{recording.describe(other)} gives shape {new.shape}, dtype "
                             f"{new.dtype}. The result must keep the tensor's shape and dtype.")
        self._data = new.astype(data.dtype, copy=False)
        self._version += 1
        inplace.edited()
        return self

    # Comparisons give plain boolean arrays: they have no gradient.
    def __eq__(self, other: object) -> np.ndarray:  # type: ignore[override]
        return self._data == array_of(other)

    def __ne__(self, other: object) -> np.ndarray:  # type: ignore[override]
        return self._data != array_of(other)

    def __lt__(self, other: ArrayLike) -> np.ndarray:
        return self._data < array_of(other)

    def __le__(self, other: ArrayLike) -> np.ndarray:
        return self._data <= array_of(other)

    def __gt__(self, other: ArrayLike) -> np.ndarray:
        return self._data > array_of(other)

    def __ge__(self, other: ArrayLike) -> np.ndarray:
        return self._data >= array_of(other)

    # ---- methods ------------------------------------------------------------------------

    @property
    def T(self) -> Tensor:
        """The transpose (all axes reversed, as in NumPy)."""
        return self.transpose()

    def transpose(self, *axes: int | Sequence[int]) -> Tensor:
        """Permute the axes; no arguments reverses them."""
        if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)):
            axes = tuple(axes[0])  # type: ignore[arg-type]
        if any(not -self.ndim <= int(a) < self.ndim for a in axes):  # type: ignore[arg-type]
            raise ValueError(f"transpose: axes {axes} are out of range for a tensor of shape "
                             f"{self.shape}; axes run from {-self.ndim} to {self.ndim - 1}")
        perm = tuple(range(self.ndim))[::-1] if not axes else \
            tuple(int(a) % self.ndim for a in axes)  # type: ignore[arg-type]
        if sorted(perm) != list(range(self.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the "
                             f"{self.ndim} axes of a tensor of shape {self.shape}")
        return recording.record(OPS["transpose"], self, axes=perm)

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        """The same values in a new shape (one entry may be -1)."""
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = tuple(shape[0])  # type: ignore[arg-type]
        return recording.record(OPS["reshape"], self, shape=tuple(int(n) for n in shape))  # type: ignore[arg-type]

    def broadcast_to(self, shape: tuple[int, ...]) -> Tensor:
        """Repeat values along new or size-1 axes to reach `shape` (as np.broadcast_to)."""
        return recording.record(OPS["broadcast_to"], self, shape=tuple(shape))

    def __getitem__(self, index: Any) -> Tensor:
        return recording.record(OPS["getitem"], self, index=_index(index))

    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Σ over `axis` (an int, a tuple of ints, or None for all axes); keepdims keeps the
        summed axes as length 1."""
        return recording.record(OPS["sum"], self, axis=_axis(axis, self, "sum"),
                              keepdims=keepdims)

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """The mean Σx / N over `axis` (all axes when None); keepdims keeps the averaged axes
        as length 1."""
        return recording.record(OPS["mean"], self, axis=_axis(axis, self, "mean"),
                              keepdims=keepdims)

    def max(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """The maximum over `axis` (all axes when None); keepdims keeps the reduced axes as
        length 1. Tied entries share the gradient evenly."""
        return recording.record(OPS["max"], self, axis=_axis(axis, self, "max"),
                              keepdims=keepdims)

    def min(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """The minimum over `axis` (all axes when None); keepdims keeps the reduced axes as
        length 1. Tied entries share the gradient evenly."""
        return recording.record(OPS["min"], self, axis=_axis(axis, self, "min"),
                              keepdims=keepdims)

    def var(self, axis: Axis = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
        """Variance Σ(x − x̄)² / (N − ddof) over `axis` (all axes when None): ddof=1 gives
        the sample variance; keepdims keeps the reduced axes as length 1."""
        return recording.record(OPS["var"], self, axis=_axis(axis, self, "var"),
                              keepdims=keepdims, ddof=_ddof(ddof, "var"))

    def std(self, axis: Axis = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
        """Standard deviation √var over `axis` (all axes when None), with N − ddof dividing
        the variance; keepdims keeps the reduced axes as length 1."""
        return recording.record(OPS["std"], self, axis=_axis(axis, self, "std"),
                              keepdims=keepdims, ddof=_ddof(ddof, "std"))

    def exp(self) -> Tensor:
        return recording.record(OPS["exp"], self)

    def log(self) -> Tensor:
        return recording.record(OPS["log"], self)

    def sqrt(self) -> Tensor:
        return recording.record(OPS["sqrt"], self)

    def tanh(self) -> Tensor:
        return recording.record(OPS["tanh"], self)

    def sigmoid(self) -> Tensor:
        return recording.record(OPS["sigmoid"], self)

    def relu(self) -> Tensor:
        return recording.record(OPS["relu"], self)

    def abs(self) -> Tensor:
        return recording.record(OPS["abs"], self)

    def __abs__(self) -> Tensor:
        return self.abs()

    def clip(self, lo: float | None = None, hi: float | None = None) -> Tensor:
        """Limit values to [lo, hi]; the gradient is 0 where a bound was applied."""
        return recording.record(OPS["clip"], self, lo=lo, hi=hi)

    def dot(self, other: ArrayLike) -> Tensor:
        """Matrix product, as `self @ other`."""
        return recording.record(OPS["matmul"], self, other)


def _axis(axis: Any, t: Tensor, op: str) -> Any:
    """Validate `axis` now (a clear error) and keep it hashable for graph labels."""
    try:
        normalize_axis(axis, t.ndim)
    except (ValueError, TypeError) as e:
        raise type(e)(f"{op} of {recording.describe(t)}: {e}. Axes run from {-t.ndim} to "
                      f"{t.ndim - 1}; axis=None reduces over all of them.") from None
    return tuple(int(a) for a in axis) if isinstance(axis, (list, tuple)) else axis


def _ddof(ddof: Any, op: str) -> int:
    if isinstance(ddof, bool) or not isinstance(ddof, (int, np.integer)) or ddof < 0:
        raise ValueError(f"{op}: ddof={ddof!r}; it must be a whole number ≥ 0 (0 for the "
                         "population variance, 1 for the sample variance)")
    return int(ddof)


def _index(index: Any) -> Any:
    """Plain NumPy index: Tensors become arrays, boolean masks become integer arrays."""
    items: list[Any] = []
    for i in index if isinstance(index, tuple) else (index,):
        if isinstance(i, (Tensor, list, np.ndarray)):
            i = np.array(array_of(i))  # a copy: changing the user's index array later is harmless
        if isinstance(i, np.ndarray) and i.dtype == bool:
            if i.ndim == 0:
                raise IndexError("getitem: a 0-d boolean index (np.array(True)) is not "
                                 "supported; index with a boolean array of the tensor's shape, "
                                 "or use am.where(cond, t, other).")
            items.extend(np.nonzero(i))  # a k-d mask stands for k integer index arrays
        else:
            items.append(i)
    return items[0] if len(items) == 1 and not isinstance(index, tuple) else tuple(items)


class Constant(Tensor):
    """A non-Tensor operand (an array or a number) as a vertex of the graph: a leaf that needs
    no gradient. Its fixed fields live on the class, so making one per recorded op is cheap."""

    __slots__ = ()
    requires_grad = False  # type: ignore[assignment]  # read per backward step: no property
    _grad = None
    _requires_grad = False
    _name = None
    _node = None
    _version = 0
    _shared = True


# Below the class, as a module: recording.py builds Tensors, so whichever of the two is
# imported first, Tensor exists before recording's functions are looked up (at call time).
from . import recording  # noqa: E402

__all__ = ["Tensor", "Constant"]
