"""The op table is the single source: everything users reach follows from it, or a test here
fails naming what is missing."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import autograd_mini as am
from autograd_mini import functions, losses
from autograd_mini.ops import OPS

README = Path(__file__).resolve().parent.parent / "README.md"

def _defined(module: object) -> set[str]:
    return {n for n, f in vars(module).items() if inspect.isfunction(f)
            and f.__module__ == module.__name__ and not n.startswith("_")}  # type: ignore[attr-defined]


def test_every_op_is_an_am_function() -> None:
    for name in OPS:
        f = getattr(am, name, None)
        assert callable(f), f"op {name!r} is not callable as am.{name}"
    x = am.tensor([0.5, 1.5], requires_grad=True)
    assert am.softplus(x).op == "softplus" and am.add(x, 1.0).op == "add"


def test_every_public_function_is_exported() -> None:
    public = (set(functions.__all__) | _defined(losses)) - {"op_function"}
    missing = public - set(am.__all__)
    assert not missing, f"add {sorted(missing)} to autograd_mini.__all__"
    assert set(OPS) <= set(functions.__all__)


def test_the_readme_api_lists_every_op_by_name() -> None:
    api = README.read_text(encoding="utf-8").split("## The API in one screen", 1)[1]
    api = api.split("\n## ", 1)[0]
    words = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", api))
    syntax = {"add", "sub", "mul", "div", "neg", "pow", "power", "getitem", "scatter"}
    missing = {n for n in OPS if n not in syntax and n not in words}
    assert not missing, f"the README's API section does not mention {sorted(missing)}"
    assert {"mse_loss", "cross_entropy", "binary_cross_entropy_with_logits"} <= words
