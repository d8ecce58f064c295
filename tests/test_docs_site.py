"""The docs site's own logic: the nav covers every page, the reference covers every public
name, and the parameter check catches an undocumented parameter. (`make docs` builds the
site itself with --strict; these tests hold what the build would not notice.)"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_hooks"))

import param_docs  # noqa: E402
import sitegen  # noqa: E402


def _nav_pages() -> list[str]:
    """The pages mkdocs.yml's nav names (read without a YAML parser: the test extra has none)."""
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = text[text.index("\nnav:"):]
    return re.findall(r"^\s+- [^\n]*?:\s+([\w/.-]+\.md)\s*$", nav, re.M)


def test_nav_lists_every_page_once_and_only_pages_that_exist():
    nav = _nav_pages()
    pages = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")
                   if "_hooks" not in p.parts)
    assert sorted(nav) == pages
    assert len(nav) == len(set(nav))


def test_reference_pages_cover_every_public_name():
    text = "\n".join(p.read_text(encoding="utf-8") for p in (DOCS / "reference").glob("*.md"))
    expanded = sitegen.expand_reference(text)
    for module in sitegen.MODULES:
        for name in sitegen.api_names(module):
            path = sitegen.api_path(module, name)
            if path is None:
                assert f"### {name}\n" in expanded, name
            else:
                assert re.search(rf"^::: {re.escape(path)}$", expanded, re.M), (module, name)


def test_reference_names_resolve_to_the_function_not_its_module():
    # autograd_mini.explain is both a submodule and the function am.explain
    assert sitegen.api_path("autograd_mini", "explain") == "autograd_mini.explain.explain"
    assert sitegen.api_path("autograd_mini", "tensor") is None  # written from the docstring
    assert "requires_grad" in sitegen.plain_entry("autograd_mini", "tensor")


def test_reference_group_naming_an_unknown_name_is_an_error():
    with pytest.raises(ValueError, match="no_such_name"):
        sitegen.expand_reference("<!-- api: autograd_mini: grad no_such_name -->")


def test_parameter_check_flags_a_parameter_the_docstring_never_names():
    def f(x, alpha, *, beta=1):
        """Scale `x` by alpha."""

    assert param_docs.missing(f, f.__doc__) == ["beta"]
    assert param_docs.missing(f, "x, alpha and beta") == []
    # a name that only occurs inside a longer word does not count
    assert param_docs.missing(f, "x, alphabet, betamax") == ["alpha", "beta"]


def test_parameter_check_sees_methods_and_constructors():
    names = {q for q, _, _ in param_docs.public_callables()}
    assert {"am.Tensor.backward", "am.optim.SGD", "am.nn.MLP", "am.explain"} <= names


def test_no_new_undocumented_parameters():
    # The docs build fails on these too; here it fails with the list, without building.
    assert param_docs.new_gaps() == []
