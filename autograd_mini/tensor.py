"""Tensor: an ndarray that records the ops applied to it, so gradients can flow back."""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from . import anomaly, engine, inplace
from .graph import Node
from .mode import MODE, enable_grad
from .ops import OPS, Op
from .shapes import normalize_axis

ArrayLike = Any
Axis = int | tuple[int, ...] | None


def _as_array(data: ArrayLike, dtype: Any, requires_grad: bool) -> np.ndarray:
    """Validate and convert user data; integers and bools that need gradients become float64."""
    if isinstance(data, Tensor):
        data = data._data
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
    left, right = (_describe(a) for a in args)
    anomaly.warn_at_user_line(BroadcastWarning(
        f"{op.name} of {left} and {right} broadcast to {out.shape}: a column (N, 1) against a "
        f"vector (N,) pairs every element with every other. If they are meant to line up "
        f"element by element, reshape the vector: y.reshape(-1, 1) (or the column: "
        f"v.reshape(-1)). Write explicit (N, 1) and (1, M) shapes for an outer product."))


def _vertex(t: Tensor) -> Any:
    return t._node if t._node is not None else t


class Tensor:
    """An n-dimensional array that remembers how it was computed.

    `t.grad` holds ∂L/∂t after `L.backward()` for leaves created with requires_grad=True.
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

    @classmethod
    def _record(cls, op: Op, *args: Any, **params: Any) -> Tensor:
        """Run `op` forward on the arrays behind `args`; record a Node if a gradient can flow."""
        xs = [a._data if isinstance(a, Tensor) else
              a if type(a) is np.ndarray or type(a) in _SCALARS else _operand(a, op, args)
              for a in args]
        try:
            out = op.forward(*xs, **params)
        except (ValueError, TypeError, IndexError) as e:
            raise _forward_error(op, args, xs, params, e) from None
        if type(out) is not np.ndarray:
            out = np.asarray(out)
        if len(xs) == 2 and out.ndim == 2 and out.shape[0] == out.shape[1] > 1:
            _warn_column_against_vector(op, args, xs, out)
        trace = anomaly.check_forward(op, args, xs, out) if MODE.anomaly else None
        # Plain loops, not any(generator) or comprehensions: this runs once per op, and their
        # set-up costs more than the work itself.
        record = False
        if MODE.grad_enabled:
            for a in args:
                if isinstance(a, Tensor) and a._requires_grad:
                    record = True
                    break
        if not record:
            return cls._make(out, None)
        if out.dtype.kind not in "biuf":
            raise _forward_error(op, args, xs, params, TypeError(f"result dtype {out.dtype}"))
        inputs = []
        versions = []
        watched: tuple[int, ...] = ()  # saved arrays that existed before this graph
        i = 0
        for a in args:
            if isinstance(a, Tensor):
                inputs.append(a if a._node is None else a._node)
                versions.append(a._version)
                if a._shared:
                    watched += (i,)
            else:
                inputs.append(_constant(xs[i], op, args, xs, params))
                versions.append(0)
                if type(a) is np.ndarray:  # the caller's own array (converted ones are copies)
                    watched += (i,)
            i += 1
        node = Node(op, tuple(inputs), params, tuple(xs) if op.save_inputs else None,
                    out if op.save_out else None, out)
        if op.save_inputs:
            node.versions = tuple(versions)
            node.held = inplace.hold(xs + [out] if op.save_out else xs, watched)
            if watched:
                node.watched = watched
        elif op.save_out:
            node.held = inplace.hold((out,))
        if trace is not None:
            node.trace = trace
        t = cls._make(out, node)
        node.out_ref = weakref.ref(t)
        return t

    # ---- attributes ---------------------------------------------------------------------

    @property
    def data(self) -> np.ndarray:
        """The values (an ndarray). Assigning to it counts as an in-place change.

        While a graph holds these values for backward they are read-only; then this returns
        a private writable copy (copy-on-write), so `w.data -= lr * w.grad` still works and
        the graph keeps what it saw.
        """
        if inplace.HELD and inplace.is_held(self._data):
            self._data = self._data.copy()
        else:
            self._shared = True  # the caller may now make views a later graph cannot lock
        return self._data

    @data.setter
    def data(self, value: ArrayLike) -> None:
        self._data = _as_array(value, None, self.requires_grad)
        self._version += 1

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
            problem = _operand_problem(value)
            if problem is not None:
                raise problem[0](f"t.grad = ...: the value {problem[1]}; assign None or an "
                                 f"array of shape {self.shape}.")
            value = np.array(_value(value), dtype=self.dtype)  # a copy: never alias the user's
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
        """The values as an ndarray (shared, not copied; see `data` while a graph holds them)."""
        return self.data

    def item(self) -> float:
        """The single value of a one-element tensor, as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item() needs a tensor with exactly one element; this one has "
                             f"shape {self.shape}. Index it or reduce it (e.g. .sum()) first.")
        return self._data.item()  # type: ignore[no-any-return]

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
        return self._data.item()

    def tolist(self) -> Any:
        """The values as (nested) Python lists, as ndarray.tolist()."""
        return self._data.tolist()

    def astype(self, dtype: Any) -> Tensor:
        """The values converted to `dtype`: recorded (gradients flow) for a float dtype.

        A cast to an integer or bool dtype is a constant: no gradient flows through it.
        """
        dtype = np.dtype(dtype)
        if dtype.kind == "f" and self._requires_grad:
            return Tensor._record(OPS["astype"], self, dtype=dtype)
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
        return Tensor._make(self._data, None)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __iter__(self) -> Iterator[Tensor]:
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        return bool(self._data)

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="tensor(", threshold=20)
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
        vector-Jacobian product gradᵀ·∂self/∂leaf.
        """
        for leaf, g in _gradients(self, grad, retain_graph, create_graph).items():
            g = np.array(g._data if isinstance(g, Tensor) else g, dtype=leaf.dtype)  # a copy
            leaf._grad = g if leaf._grad is None else leaf._grad + g

    # ---- operators ----------------------------------------------------------------------

    def __add__(self, other: ArrayLike) -> Tensor:
        return Tensor._record(OPS["add"], self, other)

    def __radd__(self, other: ArrayLike) -> Tensor:
        return Tensor._record(OPS["add"], other, self)

    def __sub__(self, other: ArrayLike) -> Tensor:
        return Tensor._record(OPS["sub"], self, other)

    def __rsub__(self, other: ArrayLike) -> Tensor:
        return Tensor._record(OPS["sub"], other, self)

    def __mul__(self, other: ArrayLike) -> Tensor:
        return Tensor._record(OPS["mul"], self, other)

    def __rmul__(self, other: ArrayLike) -> Tensor:
        return Tensor._record(OPS["mul"], other, self)

    def __truediv__(self, other: ArrayLike) -> Tensor:
        return Tensor._record(OPS["div"], self, other)

    def __rtruediv__(self, other: ArrayLike) -> Tensor:
        return Tensor._record(OPS["div"], other, self)

    def __matmul__(self, other: ArrayLike) -> Tensor:
        return Tensor._record(OPS["matmul"], self, other)

    def __rmatmul__(self, other: ArrayLike) -> Tensor:
        return Tensor._record(OPS["matmul"], other, self)

    def __pow__(self, other: ArrayLike) -> Tensor:
        if isinstance(other, (int, float, np.number)) and not isinstance(other, bool):
            return Tensor._record(OPS["pow"], self, p=other)
        return Tensor._record(OPS["power"], self, other)

    def __rpow__(self, other: ArrayLike) -> Tensor:
        return Tensor._record(OPS["power"], other, self)

    def __neg__(self) -> Tensor:
        return Tensor._record(OPS["neg"], self)

    def __pos__(self) -> Tensor:
        return self

    # In-place operators. Without recording (no_grad, or nothing requires grad) they change
    # the values in place: the tensor stays a leaf, keeps requires_grad, and its version moves
    # so a graph that saved the old values refuses backward. Recording, a leaf that requires
    # grad cannot change in place (its graph would lose the values it saw); an intermediate
    # is simply rebound to the new result, which is what `h = h + x` means.
    def __iadd__(self, other: ArrayLike) -> Tensor:
        return self._in_place(np.add, "+=", other)

    def __isub__(self, other: ArrayLike) -> Tensor:
        return self._in_place(np.subtract, "-=", other)

    def __imul__(self, other: ArrayLike) -> Tensor:
        return self._in_place(np.multiply, "*=", other)

    def __itruediv__(self, other: ArrayLike) -> Tensor:
        return self._in_place(np.divide, "/=", other)

    def _in_place(self, ufunc: np.ufunc, symbol: str, other: ArrayLike) -> Tensor:
        recording = MODE.grad_enabled and (
            self._requires_grad or (isinstance(other, Tensor) and other._requires_grad))
        if recording and self._node is not None:
            return Tensor._record(OPS[_IN_PLACE_OPS[symbol]], self, other)
        if recording:
            who = f"'{self.name}'" if self.name else f"a leaf tensor {self.shape}"
            raise RuntimeError(
                f"{who} {symbol} ...: a leaf that requires grad cannot change in place while "
                f"operations are recorded (the graph would lose the values it saw). Update "
                f"parameters without recording:\n    with am.no_grad():\n        "
                f"w {symbol} lr * w.grad\nor write w.data {symbol} lr * w.grad.")
        data = self.data  # a private copy if a graph still holds the current array
        try:
            ufunc(data, _value(other), out=data, casting="same_kind")
        except (TypeError, ValueError) as e:
            kind = TypeError if isinstance(e, TypeError) else ValueError
            raise kind(f"{symbol} on {_describe(self)} with {_describe(other)}: {e}. The "
                       "result must keep the tensor's shape and dtype.") from None
        self._version += 1
        return self

    # Comparisons give plain boolean arrays: they have no gradient.
    def __eq__(self, other: object) -> np.ndarray:  # type: ignore[override]
        return self._data == _value(other)

    def __ne__(self, other: object) -> np.ndarray:  # type: ignore[override]
        return self._data != _value(other)

    def __lt__(self, other: ArrayLike) -> np.ndarray:
        return self._data < _value(other)

    def __le__(self, other: ArrayLike) -> np.ndarray:
        return self._data <= _value(other)

    def __gt__(self, other: ArrayLike) -> np.ndarray:
        return self._data > _value(other)

    def __ge__(self, other: ArrayLike) -> np.ndarray:
        return self._data >= _value(other)

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
        return Tensor._record(OPS["transpose"], self, axes=perm)

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        """The same values in a new shape (one entry may be -1)."""
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = tuple(shape[0])  # type: ignore[arg-type]
        return Tensor._record(OPS["reshape"], self, shape=tuple(int(n) for n in shape))  # type: ignore[arg-type]

    def broadcast_to(self, shape: tuple[int, ...]) -> Tensor:
        """Repeat values along new or size-1 axes to reach `shape` (as np.broadcast_to)."""
        return Tensor._record(OPS["broadcast_to"], self, shape=tuple(shape))

    def __getitem__(self, index: Any) -> Tensor:
        return Tensor._record(OPS["getitem"], self, index=_index(index))

    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return Tensor._record(OPS["sum"], self, axis=_axis(axis, self, "sum"),
                              keepdims=keepdims)

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return Tensor._record(OPS["mean"], self, axis=_axis(axis, self, "mean"),
                              keepdims=keepdims)

    def max(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """The maximum; tied entries share the gradient evenly."""
        return Tensor._record(OPS["max"], self, axis=_axis(axis, self, "max"),
                              keepdims=keepdims)

    def min(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """The minimum; tied entries share the gradient evenly."""
        return Tensor._record(OPS["min"], self, axis=_axis(axis, self, "min"),
                              keepdims=keepdims)

    def var(self, axis: Axis = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
        """Variance Σ(x − x̄)² / (N − ddof) over `axis`."""
        return Tensor._record(OPS["var"], self, axis=_axis(axis, self, "var"),
                              keepdims=keepdims, ddof=_ddof(ddof, "var"))

    def std(self, axis: Axis = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
        """Standard deviation √var over `axis`."""
        return Tensor._record(OPS["std"], self, axis=_axis(axis, self, "std"),
                              keepdims=keepdims, ddof=_ddof(ddof, "std"))

    def exp(self) -> Tensor:
        return Tensor._record(OPS["exp"], self)

    def log(self) -> Tensor:
        return Tensor._record(OPS["log"], self)

    def sqrt(self) -> Tensor:
        return Tensor._record(OPS["sqrt"], self)

    def tanh(self) -> Tensor:
        return Tensor._record(OPS["tanh"], self)

    def sigmoid(self) -> Tensor:
        return Tensor._record(OPS["sigmoid"], self)

    def relu(self) -> Tensor:
        return Tensor._record(OPS["relu"], self)

    def abs(self) -> Tensor:
        return Tensor._record(OPS["abs"], self)

    def __abs__(self) -> Tensor:
        return self.abs()

    def clip(self, lo: float | None = None, hi: float | None = None) -> Tensor:
        """Limit values to [lo, hi]; the gradient is 0 where a bound was applied."""
        return Tensor._record(OPS["clip"], self, lo=lo, hi=hi)

    def dot(self, other: ArrayLike) -> Tensor:
        """Matrix product, as `self @ other`."""
        return Tensor._record(OPS["matmul"], self, other)


_IN_PLACE_OPS = {"+=": "add", "-=": "sub", "*=": "mul", "/=": "div"}


def _value(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else x


def _axis(axis: Any, t: Tensor, op: str) -> Any:
    """Validate `axis` now (a clear error) and keep it hashable for graph labels."""
    try:
        normalize_axis(axis, t.ndim)
    except (ValueError, TypeError) as e:
        raise type(e)(f"{op} of {_describe(t)}: {e}. Axes run from {-t.ndim} to "
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
            i = np.array(_value(i))  # a copy: changing the user's index array later is harmless
        if isinstance(i, np.ndarray) and i.dtype == bool:
            if i.ndim == 0:
                raise IndexError("getitem: a 0-d boolean index (np.array(True)) is not "
                                 "supported; index with a boolean array of the tensor's shape, "
                                 "or use am.where(cond, t, other).")
            items.extend(np.nonzero(i))  # a k-d mask stands for k integer index arrays
        else:
            items.append(i)
    return items[0] if len(items) == 1 and not isinstance(index, tuple) else tuple(items)


def _constant(a: Any, op: Op, args: tuple[Any, ...], xs: list[Any],
              params: dict[str, Any]) -> Tensor:
    """A non-Tensor operand as a constant graph vertex; object or text arrays are refused."""
    arr = a if type(a) is np.ndarray else np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise _forward_error(op, args, xs, params, TypeError(f"operand dtype {arr.dtype}"))
    return Tensor._make(arr, None)


def _describe(x: Any) -> str:
    """An operand as the user knows it: its name (or kind) and its shape."""
    if isinstance(x, Tensor):
        return f"{x.name} {x.shape}" if x.name else f"tensor {x.shape}"
    if x is None or isinstance(x, (str, bytes, bool, int, float, np.number)):
        return repr(x)
    try:
        return f"{type(x).__name__} {np.shape(x)}"
    except ValueError:
        return f"ragged {type(x).__name__}"


def _operand_problem(x: Any) -> tuple[type[Exception], str] | None:
    """What makes a non-Tensor operand unusable (None, text, ragged or non-numeric data)."""
    if isinstance(x, (Tensor, bool, int, float, np.number)):
        return None
    if x is None:
        return TypeError, "is None"
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
    operands = [_describe(a) for a in args]
    where = (op.expr.format(*operands, **params) if not op.variadic
             else f"{op.name}({', '.join(operands)})")
    where = where if where.startswith(op.name) else f"{op.name} {where}"
    for i, a in enumerate(args):
        bad = _operand_problem(a)
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
    if kind is not IndexError and any(np.asarray(x).dtype.kind in "biu" for x in xs):
        hint = ("An operand holds integers; this op needs floats: make it float first, e.g. "
                "am.tensor(data, dtype=float).")
    return kind(f"{where}: {str(error).rstrip('.')}. {hint}".rstrip())


def _gradients(root: Tensor, grad: ArrayLike | None, retain_graph: bool,
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
        g = np.ones((), dtype=root.dtype)
    else:
        problem = _operand_problem(grad)
        if problem is not None:
            raise problem[0](f"backward(grad=...): grad {problem[1]}; pass ∂L/∂output as an "
                             f"array of numbers of shape {root.shape}.")
        g = np.asarray(_value(grad), dtype=root.dtype)
        if g.shape != root.shape:
            raise ValueError(f"backward(grad=...): grad has shape {g.shape} but the tensor has "
                             f"shape {root.shape}; they must match. Pass ∂L/∂output, an array "
                             f"of shape {root.shape} (np.ones({root.shape}) for a plain sum).")
    if not create_graph:
        return engine.backward(_vertex(root), g, retain_graph=retain_graph, create_graph=False,
                            wrt=wrt)

    def wrap(array: np.ndarray, vertex: Any) -> Any:
        return vertex if isinstance(vertex, Tensor) else Tensor._make(array, vertex)

    with enable_grad():
        return engine.backward(_vertex(root), Tensor._make(g, None), retain_graph=True,
                            create_graph=True, wrap=wrap, wrt=wrt)
