"""am.defop: a user's own op, written in plain NumPy, read like a built-in everywhere."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import autograd_mini as am
from autograd_mini.ops import OPS

from .helpers import assert_close, numeric_grad


@pytest.fixture
def softsign() -> Iterator[object]:
    f = am.defop("softsign_test", forward=lambda x: x / (1 + np.abs(x)),
                 vjps=(lambda g, x, out: g / (1 + np.abs(x)) ** 2,),
                 why="d/dx x/(1 + |x|) = 1/(1 + |x|)²")
    yield f
    del OPS["softsign_test"]


def _softsign(v: np.ndarray) -> np.ndarray:
    return v / (1 + np.abs(v))


def test_backward_matches_finite_differences(softsign: object) -> None:
    v = np.array([[0.5, -2.0, 3.0]])
    x = am.tensor(v, requires_grad=True)
    softsign(x * np.array([[1.0], [2.0]])).sum().backward()  # type: ignore[operator]
    assert_close(x.grad, numeric_grad(lambda u: float(_softsign(u * [[1.0], [2.0]]).sum()), v),
                 rtol=1e-7)


def test_create_graph_differentiates_the_rule_again(softsign: object) -> None:
    v = np.array([0.5, -2.0, 0.0 + 1e-3])
    H = am.hessian(lambda t: softsign(t).sum())(v)  # type: ignore[operator]
    second = numeric_grad(lambda u: float((1 / (1 + np.abs(u)) ** 2 * [1, 0, 0]).sum()), v)
    assert_close(H[0], second, rtol=1e-6)
    assert_close(H, np.diag(np.diag(H)), rtol=0)


def test_the_graph_shows_the_op_by_name(softsign: object) -> None:
    x = am.tensor([0.5], requires_grad=True, name="x")
    y = softsign(x).sum()  # type: ignore[operator]
    assert y.op == "sum" and "softsign_test(x)" in am.draw_graph(y).source
    assert softsign.__name__ == "softsign_test"  # type: ignore[attr-defined]


def test_a_user_op_with_two_inputs_and_a_param() -> None:
    scaled = am.defop("scaled_diff_test", forward=lambda a, b, k: k * (a - b),
                      vjps=(lambda g, a, b, out, k: k * g, lambda g, a, b, out, k: -k * g))
    try:
        a = am.tensor([1.0, 2.0], requires_grad=True)
        b = am.tensor([[0.5], [1.5], [2.5]], requires_grad=True)
        scaled(a, b, k=3.0).sum().backward()  # (2,) against (3, 1): a (3, 2) result
        assert_close(a.grad, [9.0, 9.0], rtol=0)  # summed back over b's 3 rows
        assert_close(b.grad, [[-6.0], [-6.0], [-6.0]], rtol=0)
    finally:
        del OPS["scaled_diff_test"]


@pytest.mark.parametrize(("name", "forward", "vjps", "error"), [
    ("exp", np.exp, (lambda g, x, out: g * out,), "exists already"),
    ("two words", np.exp, (lambda g, x, out: g,), "identifier"),
    ("no_rules", np.exp, (), "one rule per input"),
    ("bad_forward", "exp", (lambda g, x, out: g,), "forward must be a function"),
])
def test_bad_definitions_are_clear_errors(name: str, forward: object, vjps: tuple[object, ...],
                                          error: str) -> None:
    with pytest.raises((ValueError, TypeError), match=error):
        am.defop(name, forward, vjps)  # type: ignore[arg-type]


def test_explain_reads_a_rule_written_in_plain_numpy(softsign: object) -> None:
    x = am.tensor([0.5, -2.0], requires_grad=True, name="x")
    e = am.explain(softsign(x).sum(), wrt=x)  # type: ignore[operator]
    assert e.formula == "(1 + |x|)⁻²" and e.check() < 1e-12
    assert "d/dx x/(1 + |x|) = 1/(1 + |x|)²" in str(e)
    assert r"\left|x\right|" in e.latex()


def test_the_adding_an_op_page_runs_as_printed() -> None:
    import contextlib
    import io
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parent.parent / "docs" / "adding-an-op.md").read_text(
        encoding="utf-8")
    code, expected = re.findall(r"```python\n(.*?)```\n```text\n(.*?)```", page, re.S)[0]
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            exec(code, {})
    finally:
        OPS.pop("softsign", None)
    assert printed.getvalue() == expected
