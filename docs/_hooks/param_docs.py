"""Which public parameters the docstrings do not mention.

A parameter counts as documented when its name appears as a word in the docstring of its
function (for a class: the class's docstring or its ``__init__``'s). That is how this
project's docstrings name parameters (in backticks, or under an ``Args:`` heading); it is
lenient on purpose, so the check catches the parameter nobody wrote about, not the style.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import autograd_mini as am

BASELINE = Path(__file__).with_name("undocumented.txt")
SKIP = {"self", "cls"}


def public_modules() -> list[tuple[str, ModuleType]]:
    """The namespaces the reference documents: am, am.nn and am.optim."""
    return [("am", am), ("am.nn", am.nn), ("am.optim", am.optim)]


def public_callables() -> Iterator[tuple[str, Callable[..., Any], str]]:
    """(qualified name, callable, docstring that must mention its parameters)."""
    for prefix, module in public_modules():
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, ModuleType):
                continue
            if inspect.isclass(obj):
                class_doc = inspect.getdoc(obj) or ""
                if "__init__" in vars(obj) or any("__init__" in vars(b) for b in obj.__mro__[1:-1]):
                    init_doc = obj.__init__.__doc__ or ""
                    yield f"{prefix}.{name}", obj, class_doc + "\n" + init_doc
                for attr, member in vars(obj).items():
                    if attr.startswith("_") or not callable(member):
                        continue
                    if isinstance(member, (staticmethod, classmethod)):
                        member = member.__func__
                    yield f"{prefix}.{name}.{attr}", member, inspect.getdoc(member) or ""
            elif callable(obj):
                yield f"{prefix}.{name}", obj, inspect.getdoc(obj) or ""


def missing(fn: Callable[..., Any], doc: str) -> list[str]:
    """The parameters of `fn` whose names `doc` never mentions."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # a builtin without a signature: nothing to check
        return []
    return [p for p in params if p not in SKIP
            and not re.search(rf"(?<![\w]){re.escape(p)}(?![\w])", doc)]


def undocumented() -> list[str]:
    """Every `qualified.name(param)` a docstring leaves out, sorted."""
    seen: set[str] = set()
    for qualname, fn, doc in public_callables():
        for p in missing(fn, doc):
            seen.add(f"{qualname}({p})")
    return sorted(seen)


def baseline() -> set[str]:
    """The gaps known when the check was introduced; the build fails on any other."""
    if not BASELINE.exists():
        return set()
    return {line.strip() for line in BASELINE.read_text().splitlines()
            if line.strip() and not line.startswith("#")}


def new_gaps() -> list[str]:
    """Undocumented parameters that are not in the baseline: each one fails the build."""
    known = baseline()
    return [gap for gap in undocumented() if gap not in known]


if __name__ == "__main__":  # python docs/_hooks/param_docs.py: the current list
    print("\n".join(undocumented()))
