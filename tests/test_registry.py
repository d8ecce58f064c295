"""The op table is the single source: everything users reach follows from it, or a test here
fails naming what is missing."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import autograd_mini as am
from autograd_mini import functions, losses
from autograd_mini.ops import OPS
from autograd_mini.tensor import Tensor

README = Path(__file__).resolve().parent.parent / "README.md"

# Ops users reach through syntax or through another op, not by a name of their own.
REACHED_OTHERWISE = {"add": "+", "sub": "-", "mul": "*", "div": "/", "neg": "unary -",
                     "pow": "** with a number", "power": "** with an array",
                     "getitem": "t[...]", "scatter": "the adjoint of t[...]"}


def _defined(module: object) -> set[str]:
    return {n for n, f in vars(module).items() if inspect.isfunction(f)
            and f.__module__ == module.__name__ and not n.startswith("_")}  # type: ignore[attr-defined]


def test_every_op_is_reachable_by_name_or_by_syntax() -> None:
    for name in OPS:
        named = callable(getattr(am, name, None)) or callable(getattr(Tensor, name, None))
        assert named or name in REACHED_OTHERWISE, (
            f"op {name!r} has no am.{name} function or Tensor method: add one to functions.py")


def test_every_public_function_is_exported() -> None:
    missing = (_defined(functions) | _defined(losses)) - set(am.__all__)
    assert not missing, f"add {sorted(missing)} to autograd_mini.__all__"


def test_the_readme_api_lists_every_op_by_name() -> None:
    api = README.read_text(encoding="utf-8").split("## The API in one screen", 1)[1]
    api = api.split("\n## ", 1)[0]
    words = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", api))
    missing = {n for n in OPS if n not in REACHED_OTHERWISE and n not in words}
    assert not missing, f"the README's API section does not mention {sorted(missing)}"
    assert {"mse_loss", "cross_entropy", "binary_cross_entropy_with_logits"} <= words
