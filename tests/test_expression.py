"""The CLI's expression parser: what it accepts, what it refuses and how it says so."""

from __future__ import annotations

import ast
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


# ---- hostile input: every refusal is one line on stderr, exit status 2, nothing on stdout ----

NESTED_EXP = "sum(" + "exp(" * 150 + "w" + ")" * 150 + ")"


def refusal(capsys: pytest.CaptureFixture[str], expression: str, wrt: list[str],
            shapes: list[str], **kwargs: object) -> str:
    """Run explain, check it refused the usage cleanly, and return its one line."""
    status = run_explain(expression, wrt, shapes, **kwargs)  # type: ignore[arg-type]
    out, err = capsys.readouterr()
    assert status == 2, out[-500:] + err[-500:]
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err[:2000]
    assert lines[0].startswith("autograd-mini explain: ")
    return lines[0]


@pytest.mark.parametrize("expression, shapes, message", [
    ("*".join(["w"] * 1000), ["w="], "more than 200 (operators, calls and .T)"),
    ("sum(" + "+".join(["w"] * 300) + ")", ["w=3"], "more than 200 (operators"),
    (NESTED_EXP, ["w=3"], "more than 32 levels of calls and brackets"),
    ("-" * 4000 + "w", ["w="], "more than 32 levels of calls and brackets"),  # parser or ours
    ("w" + " + w" * 2000, ["w="], "the limit is 5,000"),
    ("w ** 10**100", ["w="], "the number '10**100' at column 6 is larger than 1e+15"),
    ("sum(w ** 1000)", ["w=3"], "the exponent '1000' at column 10 is larger than 100"),
    ("sum(w * 1e400)", ["w=3"], "the number '1e400' at column 9"),
    ("sum(w * 10**16)", ["w=3"], "the number '10**16' at column 9"),
    ("sum(w / (1 - 1))", ["w=3"], "division by zero in 'w / (1 - 1)'"),
    ("sum(w * 0 ** -1)", ["w=3"], "division by zero in '0 ** -1'"),
    ("sum(w * (-8) ** 0.5)", ["w=3"], "a negative number to a fractional power"),
    ("sum(w.transpose(5, 0) * w.T)", ["w=2x3"],
     "transpose(5, 0) of a tensor of shape (2, 3): the axes must name each of its 2 axes once"),
    ("sum(w.reshape(w))", ["w=3"], "reshape with arguments that are not whole numbers"),
    ("mean(w)", ["w=1000000000x1000000000"],
     "--shape w: 1000000000x1000000000 is 1,000,000,000,000,000,000 elements; the limit is "
     "10,000,000"),
    ("mean(w)", ["w=" + "x".join(["1"] * 65)], "--shape w: 65 dimensions; the limit is 32"),
    ("mean(w)", ["w=" + "9" * 5000], "a size is larger than 10,000,000"),
    ("mean(w) + mean(v)", ["w=6000000", "v=6000000"],
     "the --shape tensors have 12,000,000 elements together; the limit is 10,000,000"),
    ("sum(w * v.T)", ["w=4000x1", "v=4000x1"],
     "would make a result of 16,000,000 elements; the limit is 10,000,000"),
    ("sum(w @ v)", ["w=4000x1", "v=1x4000"], "result of 16,000,000 elements"),
    ("sum(w)", ["w=3", "w=4"], "--shape w is given twice"),
])
def test_hostile_input_is_refused_in_one_line(capsys: pytest.CaptureFixture[str],
                                              expression: str, shapes: list[str],
                                              message: str) -> None:
    assert message in refusal(capsys, expression, ["w"], shapes)


def test_out_into_a_missing_folder_is_refused_before_any_work(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "g.svg"
    line = refusal(capsys, "sum(w)", ["w"], ["w=3"], out=str(missing))
    assert "does not exist" in line and str(tmp_path / "no" / "such") in line
    assert refusal(capsys, "sum(w)", ["w"], ["w=3"], out=str(tmp_path / "g.txt")).endswith(
        "end the file name in one of .svg, .png, .pdf, .dot")


def test_long_derivations_are_refused_not_printed(capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import autograd_mini.expression as expression

    monkeypatch.setattr(expression, "MAX_OUTPUT_CHARS", 100)
    assert "characters long; the limit is 100" in refusal(capsys, "mean((X @ w - y) ** 2)",
                                                          ["w"], SHAPES)


def test_names_are_normalized_as_python_normalizes_identifiers(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Python reads the identifier ℌ as H (NFKC): --shape ℌ=3 and --wrt ℌ must mean H too."""
    assert parse_shape("ℌ=3") == ("H", (3,))
    assert run_explain("sum(ℌ * ℌ)", ["ℌ"], ["ℌ=3"]) == 0
    assert "∂L/∂H" in capsys.readouterr().out
    line = refusal(capsys, "sum(ℌ)", ["ℌ"], ["H=3", "ℌ=3"])
    assert line.endswith("--shape H is given twice (ℌ is H to Python)")


def test_numpy_warnings_become_one_note(capsys: pytest.CaptureFixture[str]) -> None:
    """log of the random normal data meets negative numbers: one note, not NumPy's lines."""
    run_explain("sum(log(w))", ["w"], ["w=20"])
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("autograd-mini explain: note: invalid value encountered in log")


def test_numbers_alone_are_folded_within_the_limits() -> None:
    tree = parse("w * (2 ** 10 - 24) / 1e3 + -(3)")
    assert isinstance(tree, ast.BinOp) and isinstance(tree.right, ast.Constant)
    assert tree.right.value == -3
    assert isinstance(tree.left, ast.BinOp) and tree.left.right.value == 1e3  # type: ignore
    assert tree.left.left.right.value == 1000  # type: ignore[attr-defined]
    root, _ = build("sum(w ** (1 + 1))", ["w"], ["w=3"])
    assert root.ndim == 0


def test_the_whitelist_follows_the_op_table() -> None:
    """Every op with an am function is callable from the command line, with no edit there."""
    import autograd_mini as am
    from autograd_mini.expression import FUNCTIONS, METHODS
    from autograd_mini.ops import OPS

    public = {name for name in OPS if callable(getattr(am, name, None))}
    assert public and public <= FUNCTIONS
    assert {"mse_loss", "cross_entropy", "binary_cross_entropy_with_logits"} <= FUNCTIONS
    assert {"sum", "mean", "var", "std", "reshape", "transpose"} <= METHODS
    assert "backward" not in METHODS and "detach" not in METHODS


def test_a_new_op_explains_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    status = run_explain("mean(softplus(X @ w) - y * (X @ w))", wrt=["w"],
                         shapes=["X=20x3", "w=3x1", "y=20x1"])
    out = capsys.readouterr().out
    assert status == 0 and "σ(X·w)" in out and "softplus" in out
