"""docs/training.md runs: its python blocks, in order, in one namespace, like a notebook."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parent.parent / "docs" / "training.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def blocks() -> list[str]:
    return BLOCK.findall(PAGE.read_text(encoding="utf-8"))


def test_the_page_has_its_examples() -> None:
    text = PAGE.read_text(encoding="utf-8")
    assert len(blocks()) >= 7
    for name in ("am.nn.MLP", "am.optim.Adam", "am.optim.SGD", "am.minimize", "AdamW"):
        assert name in text


def test_every_block_runs_and_prints_what_its_comments_say() -> None:
    pytest.importorskip("scipy")
    namespace: dict[str, object] = {}
    for k, code in enumerate(blocks()):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"<training.md block {k}>", "exec"), namespace)
        # A block whose trailing comments quote printed lines must print exactly those lines.
        quoted = [line[2:] for line in code.splitlines() if line.startswith("# ")]
        if quoted:
            assert out.getvalue().splitlines() == quoted, f"block {k}"
