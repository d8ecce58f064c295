"""Whether operations are recorded: the switch behind `no_grad` and `enable_grad`.

The switch is process-wide (not per thread), like the rest of this small library.
"""

from __future__ import annotations

from contextlib import ContextDecorator
from typing import Any


class _Mode:
    __slots__ = ("grad_enabled", "anomaly")

    def __init__(self) -> None:
        self.grad_enabled = True
        self.anomaly = False


MODE = _Mode()


class _SetGrad(ContextDecorator):
    enabled: bool

    def __enter__(self) -> None:
        self._prev = MODE.grad_enabled
        MODE.grad_enabled = self.enabled

    def __exit__(self, *exc: Any) -> None:
        MODE.grad_enabled = self._prev


class no_grad(_SetGrad):
    """Context manager and decorator: record nothing inside (evaluation, parameter updates)."""

    enabled = False


class enable_grad(_SetGrad):
    """Context manager and decorator: record again, even inside `no_grad`."""

    enabled = True
