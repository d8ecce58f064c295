"""The am.<op> functions made from the op table: real signatures and docstrings that name them."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

import autograd_mini as am
from autograd_mini import functions
from autograd_mini.ops import OPS


def _named(doc: str, name: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", doc) is not None


def test_signatures_show_inputs_then_keyword_params() -> None:
    add_params = inspect.signature(am.add).parameters
    assert [(n, p.kind.name) for n, p in add_params.items()] == [
        ("a", "POSITIONAL_ONLY"), ("b", "POSITIONAL_ONLY")]
    pow_params = inspect.signature(am.pow).parameters
    assert [(n, p.kind.name) for n, p in pow_params.items()] == [
        ("x", "POSITIONAL_ONLY"), ("p", "KEYWORD_ONLY")]
    assert list(inspect.signature(am.getitem).parameters) == ["x", "index"]


@pytest.mark.parametrize("name", sorted(n for n in functions.__all__ if n in OPS))
def test_every_op_function_names_its_parameters(name: str) -> None:
    f = getattr(am, name)
    doc = inspect.getdoc(f) or ""
    assert doc, name
    for p in inspect.signature(f).parameters:
        assert _named(doc, p), (name, p, doc)


def test_the_docstring_says_what_and_why_from_the_op() -> None:
    doc = inspect.getdoc(am.add) or ""
    assert "a + b" in doc and OPS["add"].why in doc
    assert "x^p" in (inspect.getdoc(am.pow) or "")


def test_calls_behave_as_before() -> None:
    assert am.add(1.0, 2.0).item() == 3.0
    assert am.pow(am.tensor([3.0]), p=2).tolist() == [9.0]
    x = am.tensor([1.0, 2.0, 3.0], requires_grad=True)
    am.getitem(x, index=np.array([0, 0])).sum().backward()
    assert x.grad.tolist() == [2.0, 0.0, 0.0]


def test_a_user_op_gets_a_signature_and_a_rule_without_names_keeps_the_generic_one() -> None:
    scaled = am.defop("scaled_sig_test", lambda a, b, k: k * (a - b),
                      (lambda g, a, b, out, k: k * g, lambda g, a, b, out, k: -k * g))
    loose = am.defop("loose_sig_test", lambda x, **kw: x, (lambda g, x, out, **kw: g,))
    try:
        assert list(inspect.signature(scaled).parameters) == ["a", "b", "k"]
        assert _named(scaled.__doc__ or "", "k")
        assert list(inspect.signature(loose).parameters) == ["args", "params"]
        doc = loose.__doc__ or ""
        assert _named(doc, "args") and _named(doc, "params")
        assert loose(am.tensor([1.0])).tolist() == [1.0]
    finally:
        del OPS["scaled_sig_test"], OPS["loose_sig_test"]
