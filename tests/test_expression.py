"""The CLI's expression parser: what it accepts, what it refuses and how it says so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from autograd_mini.expression import ExpressionError, build, names, parse, parse_shape, run_explain

SHAPES = ["X=100x3", "w=3x1", "y=100x1"]


@pytest.mark.parametrize("text, message", [
    ("__import__('os')", "not allowed: call of __import__ at column 1"),
    ("mean(X).__class__", "not allowed: attribute .__class__ at column 1"),
    ("X.T.__dict__", "not allowed: attribute .__dict__"),
    ("X.sum.__self__", "not allowed: attribute .__self__"),
    ("(lambda: X)()", "not allowed: call of an expression"),
    ("mean(lambda: X)", "not allowed: lambda at column 6"),
    ("sum([x for x in X])", "not allowed: list comprehension at column 5"),
    ("sum(x for x in X)", "not allowed: generator expression"),
    ("X[0]", "not allowed: subscript [...] at column 1"),
    ("open('/etc/passwd')", "not allowed: call of open at column 1"),
    ("mean(X, out=y)", "not allowed: keyword out"),
    ("mean(X, **{'axis': 0})", "not allowed: keyword **"),
    ("'text'", "not allowed: constant 'text'"),
    ("X > 0", "not allowed: comparison"),
    ("(q := X)", "not allowed: assignment (:=)"),
    ("_secret", "not allowed: name _secret"),
    ("X // 2", "not allowed: operator FloorDiv"),
    ("mean(X", "cannot parse"),
])
def test_refused_expressions_name_the_offending_part(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)):
        parse(text)


def test_accepted_expressions_and_their_names() -> None:
    tree = parse("mse_loss(tanh(X.dot(w)), y, reduction='sum') + 0.5 * mean(w.T ** 2, axis=1)"
                 ".sum()")
    assert names(tree) == ["X", "w", "y"]


def test_missing_shape_says_which() -> None:
    with pytest.raises(ExpressionError, match=r"unknown name y: give its shape with --shape y="):
        build("mean((X @ w - y) ** 2)", ["w"], ["X=100x3", "w=3x1"])


def test_wrt_must_be_a_given_name() -> None:
    with pytest.raises(ExpressionError, match="--wrt v"):
        build("mean((X @ w - y) ** 2)", ["v"], SHAPES)


def test_non_scalar_expression_is_refused() -> None:
    with pytest.raises(ExpressionError, match="wrap it in mean"):
        build("X @ w - y", ["w"], SHAPES)


def test_shape_mismatch_is_a_clear_error() -> None:
    with pytest.raises(ExpressionError, match="fails on these shapes"):
        build("mean(X @ y)", ["y"], SHAPES)


def test_parse_shape() -> None:
    assert parse_shape("X=100x3") == ("X", (100, 3))
    assert parse_shape("b=3") == ("b", (3,))
    assert parse_shape("c=") == ("c", ())
    for bad in ("X", "X=1xa", "1X=3", "X=0x3"):
        with pytest.raises(ExpressionError, match="--shape"):
            parse_shape(bad)


def test_build_names_the_tensors_and_marks_wrt() -> None:
    root, tensors = build("mean((X @ w - y) ** 2)", ["w"], SHAPES, seed=1)
    assert root.ndim == 0
    assert {n: t.requires_grad for n, t in tensors.items()} == {"X": False, "w": True, "y": False}
    assert tensors["X"].shape == (100, 3) and tensors["X"].name == "X"


def test_run_explain_prints_the_mse_derivation(capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path) -> None:
    out = tmp_path / "mse.svg"
    assert run_explain("mean((X @ w - y) ** 2)", ["w"], SHAPES, out=str(out)) == 0
    printed = capsys.readouterr().out
    assert "∂L/∂w = 2/N · Xᵀ · (X·w − y)" in printed and "N = 100" in printed
    assert "max relative difference" in printed
    assert out.exists() or out.with_suffix(".dot").exists()


def test_run_explain_ascii_and_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_explain("mse_loss(X @ w, y)", ["w"], SHAPES, ascii=True) == 0
    assert "dL/dw = 2/N * X.T @ (X@w - y)" in capsys.readouterr().out
    assert run_explain("__import__('os').system('true')", ["w"], SHAPES) == 2
    assert "not allowed: call of .system" in capsys.readouterr().err
