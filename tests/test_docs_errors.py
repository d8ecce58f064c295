"""Every snippet in docs/when-gradients-go-wrong.md raises the error printed below it."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import autograd_mini as am

PAGE = Path(__file__).resolve().parent.parent / "docs" / "when-gradients-go-wrong.md"
# A python block directly followed by a text block; neither may run past its own fence.
PAIR = re.compile(r"```python\n((?:(?!```).)*?)```\n```text\n((?:(?!```).)*?)```", re.S)
ERROR = re.compile(r"^(\w+(?:Error|Warning)): ", re.M)


def cases() -> list[tuple[str, str]]:
    return [(code, text) for code, text in PAIR.findall(PAGE.read_text(encoding="utf-8"))
            if ERROR.match(text)]


def test_the_page_has_its_error_examples() -> None:
    assert len(cases()) >= 25


@pytest.mark.parametrize(("code", "text"), cases(), ids=lambda v: v.splitlines()[-1][:40])
def test_snippet_raises_the_printed_error(code: str, text: str) -> None:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(Exception) as caught:  # noqa: B017 - the type is checked below
            exec(compile(code, "<string>", "exec"), {"np": np, "am": am, "warnings": warnings})
    assert f"{type(caught.value).__name__}: {caught.value}" == text.rstrip("\n")
