"""The README's quick start runs as printed, and its update idioms train."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parent.parent / "README.md"


def quick_start_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n([^`]*)```", section)


def test_quick_start_and_both_updates_run() -> None:
    blocks = quick_start_blocks()
    assert len(blocks) == 2
    namespace: dict[str, object] = {}
    exec(blocks[0], namespace)
    w = namespace["w"]
    before = w.data.copy()  # type: ignore[attr-defined]
    grad = w.grad.copy()  # type: ignore[attr-defined]
    exec(blocks[1].replace("w.data -= 0.1 * w.grad", "loss = ((X @ w - y) ** 2).mean()\n"
                           "loss.backward()\nw.data -= 0.1 * w.grad"), namespace)
    assert w.is_leaf and w.requires_grad  # type: ignore[attr-defined]
    X, y = namespace["X"].data, namespace["y"].data  # type: ignore[attr-defined]
    first = before - 0.1 * grad
    second = first - 0.1 * 2 / 100 * X.T @ (X @ first - y)
    np.testing.assert_allclose(w.data, second, rtol=1e-12)  # type: ignore[attr-defined]


def test_the_code_backprop_wrote_is_what_gradient_code_prints() -> None:
    import contextlib
    import io

    text = README.read_text(encoding="utf-8")
    section = text.split("## The code backprop wrote", 1)[1].split("\n## ", 1)[0]
    code, expected = re.findall(r"```python\n(.*?)```\n```text\n(.*?)```", section, re.S)[0]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(code, {})
    assert printed.getvalue() == expected
