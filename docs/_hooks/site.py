"""mkdocs hooks: build helpers on the path, the generated reference, the parameter check.

- The pages' hidden code blocks import `sitegen` (this folder) to run the examples and draw.
- Reference pages name groups of entries (`<!-- api: MODULE: NAME … -->`) and end with
  `<!-- public-api: MODULE -->`, which expands to every public name not listed yet, so the
  reference covers `__all__`, including the functions the op table adds at import time.
- A public parameter that no docstring mentions fails the build (see param_docs.py).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import param_docs  # noqa: E402
import sitegen  # noqa: E402


def on_config(config: Any) -> Any:
    gaps = param_docs.new_gaps()
    if gaps:
        from mkdocs.exceptions import PluginError

        raise PluginError(
            "public parameters missing from their docstrings (name each one in the "
            "docstring): " + ", ".join(gaps))
    return config


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    return sitegen.expand_reference(markdown)
