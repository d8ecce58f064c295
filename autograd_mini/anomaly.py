"""Anomaly detection: name the first op whose result or gradient is NaN or Inf, and where.

Inside `with am.detect_anomaly():` every op remembers the line of your code that created it,
and checks its forward output; the reverse sweep checks every gradient it computes. The
first non-finite value raises FloatingPointError naming the op, its inputs (names and
shapes) and that line. Outside the block the only cost is one flag check per op.
"""

from __future__ import annotations

import linecache
import os
import sys
import warnings
from typing import Any

import numpy as np

from . import backends
from .graph import who
from .mode import _Switch
from .shapes import array_of, is_tensor

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class detect_anomaly(_Switch):
    """Context manager and decorator: raise at the first op that produces NaN or Inf.

        with am.detect_anomaly():
            loss = model(x)
            loss.backward()   # FloatingPointError: backward of log produced ... at train.py:12

    Per thread and re-entrant, like `no_grad`.
    """

    flag, value = "anomaly", True


def _user_frame() -> Any:
    """The innermost frame outside this package (None if there is none)."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back  # type: ignore[assignment]
    return frame


def user_line() -> str:
    """'file:line in function: source' for the innermost frame outside this package."""
    frame = _user_frame()
    if frame is None:
        return "<unknown>"
    code = frame.f_code
    source = linecache.getline(code.co_filename, frame.f_lineno).strip()
    where = f"{code.co_filename}:{frame.f_lineno} in {code.co_name}"
    return f"{where}: {source}" if source else where


def _bad(a: Any) -> str | None:
    """'NaN', 'Inf' or 'NaN and Inf' if the array has such values, else None."""
    a = np.asarray(backends.to_numpy(array_of(a)))  # Dask: computes; CuPy: to the host
    if a.dtype.kind not in "fc" or np.isfinite(a).all():
        return None
    nan, inf = bool(np.isnan(a).any()), bool(np.isinf(a).any())
    return "NaN and Inf" if nan and inf else "NaN" if nan else "Inf"


def _operand(x: Any, i: int) -> str:
    name = getattr(x, "name", None)
    shape = np.shape(array_of(x))
    kind = name if name else (f"input {i}" if is_tensor(x) else type(x).__name__)
    return f"{kind} {shape}"


def _inputs(args: Any, xs: Any) -> str:
    """The inputs by name and shape, flagging any that were non-finite already."""
    parts = []
    for i, (a, x) in enumerate(zip(args, xs, strict=True)):
        bad = _bad(x)
        parts.append(_operand(a, i) + (f" [already has {bad}]" if bad else ""))
    return ", ".join(parts)


def check_forward(op: Any, args: Any, xs: Any, out: np.ndarray) -> str:
    """Raise if `out` has NaN or Inf; otherwise return where the op was created."""
    where = user_line()
    bad = _bad(out)
    if bad is not None:
        cause = ("an input was already non-finite: fix the data or the op that made it"
                 if any(_bad(x) for x in xs) else
                 "the inputs were finite, so this op is where it starts: check its domain "
                 "(log and sqrt of values ≤ 0, exp overflow, division by 0)")
        raise FloatingPointError(
            f"detect_anomaly: {op.name} produced {bad} in its forward output of shape "
            f"{out.shape}.\n  inputs: {_inputs(args, xs)}\n  created at {where}\n  {cause}.")
    return where


def check_backward(node: Any, i: int, g: Any, gi: Any) -> None:
    """Raise if the gradient `gi` that `node` sends to input i has NaN or Inf."""
    bad = _bad(gi)
    if bad is None:
        return
    parent = node.inputs[i]
    name = parent.name or who(parent)
    upstream = _bad(g)
    cause = (f"the incoming gradient already had {upstream}" if upstream else
             "the incoming gradient was finite, so this op's derivative is where it starts "
             "(e.g. sqrt or log at 0, or 0·Inf)")
    shapes = ", ".join(f"{v.name or f'input {k}'} {v.shape}" for k, v in enumerate(node.inputs))
    raise FloatingPointError(
        f"detect_anomaly: backward of {node.label} produced {bad} in the gradient for input "
        f"{i} ({name}, shape {parent.shape}).\n  inputs: {shapes}\n  created at "
        f"{node.trace or '<recorded outside detect_anomaly>'}\n  {cause}.")


def warn_at_user_line(warning: Warning) -> None:
    """Issue `warning` attributed to the user's line, so the usual once-per-line filter holds."""
    frame = _user_frame()
    if frame is None:
        warnings.warn(warning, stacklevel=2)
        return
    warnings.warn_explicit(warning, type(warning), frame.f_code.co_filename, frame.f_lineno,
                           module=frame.f_globals.get("__name__", "<unknown>"),
                           registry=frame.f_globals.setdefault("__warningregistry__", {}),
                           module_globals=frame.f_globals)
