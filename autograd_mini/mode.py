"""Whether operations are recorded (`no_grad`, `enable_grad`) and checked (`detect_anomaly`).

Both switches are per thread, as in PyTorch: `no_grad` in one thread never stops recording
in another. Each switch is a context manager and a decorator (with or without parentheses),
and re-entrant: every entry saves its own previous value, so nesting and recursion restore
exactly what was there before.
"""

from __future__ import annotations

import inspect
import threading
from contextlib import ContextDecorator
from typing import Any


class _Mode(threading.local):
    """The switches of the current thread (a new thread starts recording, without checks)."""

    def __init__(self) -> None:
        self.grad_enabled = True
        self.anomaly = False
        self.transforms = 0  # how many am.grad / jacobian calls are running (nesting depth)


MODE = _Mode()
DEFAULTS = {"grad_enabled": True, "anomaly": False}
# How many (thread, switch) pairs are away from their default. While it is 0, every thread
# records without checks, and the per-op code can skip reading the thread-local switches.
CHANGED = 0
_CHANGING = threading.Lock()


def set_mode(flag: str, value: bool) -> None:
    """Set this thread's switch `flag`, keeping CHANGED exact (raised before, lowered after)."""
    global CHANGED
    old = getattr(MODE, flag)
    if old == value:
        return
    with _CHANGING:
        if old == DEFAULTS[flag]:
            CHANGED += 1
        setattr(MODE, flag, value)
        if value == DEFAULTS[flag]:
            CHANGED -= 1


class _InitSignature:
    """A switch's signature is its __init__'s: `no_grad()`, `set_grad_enabled(mode)`, not the
    catch-all of the __new__ that lets `@no_grad` decorate without parentheses. Only the class
    answers: an instance's signature stays that of its __call__ (the decorator)."""

    def __get__(self, obj: Any, cls: type) -> inspect.Signature:
        if obj is not None:
            raise AttributeError("__signature__")
        sig = inspect.signature(cls.__init__)  # type: ignore[misc]  # the class's own
        return sig.replace(parameters=list(sig.parameters.values())[1:],  # without self
                           return_annotation=inspect.Signature.empty)


class _Switch(ContextDecorator):
    """Set one flag of MODE for a block; restore the value it had on entry."""

    flag: str
    value: bool
    __signature__ = _InitSignature()

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and callable(args[0]) and cls.__init__ is _Switch.__init__:
            return cls()(args[0])  # bare @no_grad: decorate the function right away
        return super().__new__(cls)

    def __init__(self) -> None:
        self._saved = threading.local()  # one stack per thread: the instance may be shared

    def _stack(self) -> list[bool]:
        stack: list[bool] | None = getattr(self._saved, "stack", None)
        if stack is None:
            stack = self._saved.stack = []
        return stack

    def __enter__(self) -> None:
        self._stack().append(getattr(MODE, self.flag))
        set_mode(self.flag, self.value)

    def __exit__(self, *exc: Any) -> None:
        set_mode(self.flag, self._stack().pop())

    def _recreate_cm(self) -> Any:
        return self  # the per-thread stack already makes each call save its own state


class no_grad(_Switch):
    """Record nothing inside (evaluation, updates): `with am.no_grad():` or `@am.no_grad`.

    Takes no arguments; as a decorator it works with or without the parentheses.
    """

    flag, value = "grad_enabled", False


class enable_grad(_Switch):
    """Record again, even inside `no_grad`: `with am.enable_grad():`, `@am.enable_grad`.

    Takes no arguments; as a decorator it works with or without the parentheses.
    """

    flag, value = "grad_enabled", True


class set_grad_enabled(_Switch):
    """Turn recording on or off: as a call (`am.set_grad_enabled(False)`), a `with` block or
    a decorator.

    `mode` is True to record, False not to. As a call it takes effect at once; as a context
    manager it restores the previous value on exit; as a decorator it leaves the mode alone
    until the function runs. As in PyTorch.
    """

    flag = "grad_enabled"

    def __init__(self, mode: bool) -> None:
        super().__init__()
        self.value = bool(mode)
        self._before: bool | None = MODE.grad_enabled
        set_mode("grad_enabled", self.value)

    def __enter__(self) -> None:
        if self._before is None:  # a second `with` of the same object: switch now
            super().__enter__()
            return
        self._stack().append(self._before)  # the call itself already switched
        self._before = None

    def __call__(self, func: Any) -> Any:
        if self._before is not None:  # decorating is not switching
            set_mode("grad_enabled", self._before)
            self._before = None
        return super().__call__(func)

    def _recreate_cm(self) -> Any:
        return set_grad_enabled(self.value)


def is_grad_enabled() -> bool:
    """True when operations on tensors that require grad are being recorded (this thread)."""
    return bool(MODE.grad_enabled)
