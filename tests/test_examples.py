"""The example comparisons: each runs, agrees with its closed form, writes what it promises;
two_points prints the article's table; logistic_regression lands on scikit-learn's coefficients;
mlp_digits learns the digits; a wrong closed form fails."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograd_mini import compare as cmp
from autograd_mini.cli import EXAMPLES

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
GRAPHS = ["graph_forward.svg", "graph_forward.dot", "graph_backward.svg", "graph_backward.dot"]
PROMISED = {
    "mse_gradient": ["gradient_and_scale.png"],
    "bias_term": ["loss.png"],
    "two_points": ["mse_and_lines.png", "table.txt"],
    "house_prices": ["contour.png", "fit.png"],
    "learning_rate": ["loss_curves.png"],
    "logistic_regression": ["loss_curves.png"],
    "mlp_digits": ["curves.png"],
}
# The digits network trains for 4 epochs instead of 20 here (about 0.5 s instead of 3 s);
# the demo test in test_cli.py runs it at full size, where it must reach 0.97.
REDUCED = {"mlp_digits": {"epochs": 4, "min_accuracy": 0.95}}

# The printed table of "Gradient Descent Simply Explained (with Example)", verbatim except that
# the article ends each first line with a space after the MSE; lines are compared with trailing
# spaces removed.
ARTICLE_TABLE = """\
1: w1 = 9.000, w2 = 10.000, MSE: 318.5
   f(1) = 19.000, f(2) = 28.000
2: w1 = 0.600, w2 = 4.750, MSE: 0.6125
   f(1) = 5.350, f(2) = 5.950
3: w1 = 0.862, w2 = 4.855, MSE: 0.345603125
   f(1) = 5.718, f(2) = 6.580
4: w1 = 0.881, w2 = 4.810, MSE: 0.330451789063
   f(1) = 5.691, f(2) = 6.572
5: w1 = 0.906, w2 = 4.771, MSE: 0.316146225664
   f(1) = 5.676, f(2) = 6.582
6: w1 = 0.929, w2 = 4.732, MSE: 0.302460106908
   f(1) = 5.662, f(2) = 6.591
7: w1 = 0.953, w2 = 4.694, MSE: 0.289366466781
   f(1) = 5.647, f(2) = 6.600
8: w1 = 0.976, w2 = 4.657, MSE: 0.276839656487
   f(1) = 5.633, f(2) = 6.609
9: w1 = 0.998, w2 = 4.621, MSE: 0.264855137696
   f(1) = 5.619, f(2) = 6.617


195: w1 = 1.984, w2 = 3.026, MSE: 7.04866766459e-05
     f(1) = 5.010, f(2) = 6.994
196: w1 = 1.984, w2 = 3.026, MSE: 6.74352752985e-05
     f(1) = 5.010, f(2) = 6.994
197: w1 = 1.984, w2 = 3.025, MSE: 6.45159705491e-05
     f(1) = 5.010, f(2) = 6.994
198: w1 = 1.985, w2 = 3.025, MSE: 6.17230438739e-05
     f(1) = 5.009, f(2) = 6.994
199: w1 = 1.985, w2 = 3.024, MSE: 5.90510243065e-05
     f(1) = 5.009, f(2) = 6.994
200: w1 = 1.985, w2 = 3.024, MSE: 5.64946777215e-05
     f(1) = 5.009, f(2) = 6.994
"""


def module(name: str):  # type: ignore[no-untyped-def]
    return importlib.import_module(f"autograd_mini.examples.{name}")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[cmp.Comparison, str]]:
    """Each example's main() run once, in-process (mlp_digits at a reduced size): its result
    and what it printed."""
    import contextlib
    import io

    runs = {}
    for name in EXAMPLES:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            result = module(name).main(out=tmp_path_factory.mktemp(name),
                                       **REDUCED.get(name, {}))
        runs[name] = (result, buffer.getvalue())
    return runs


@pytest.mark.parametrize("name", EXAMPLES)
def test_main_passes_and_writes_its_files(name: str, results: dict) -> None:
    result, printed = results[name]
    assert result.passed, result.table()
    assert result.max_rel <= cmp.TOLERANCE
    assert len(result.rows) >= 2
    for filename in PROMISED[name] + GRAPHS:
        path = result.out / filename
        assert path.is_file() and path.stat().st_size > 0, path
        assert path in result.files  # so the report shows it
    for png in result.out.glob("*.png"):
        assert png.read_bytes()[:8] == PNG_MAGIC
    assert "<svg" in (result.out / "graph_backward.svg").read_text(encoding="utf-8")
    assert "PASS: max abs difference" in printed
    assert "max rel" in printed and "closed form" in printed  # the table's header


# Two of them as separate processes (the others run in-process above): that is the path
# a reader takes, and the `__main__` guard plus run_script are the same in every example.
@pytest.mark.parametrize("name", ["two_points", "learning_rate"])
def test_script_runs_standalone(name: str, tmp_path: Path) -> None:
    """`python examples/NAME.py --out DIR` exits 0 and fills DIR."""
    done = subprocess.run([sys.executable, str(ROOT / "examples" / f"{name}.py"), "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().splitlines()[-1].startswith("PASS")
    assert {p.name for p in tmp_path.iterdir()} >= set(PROMISED[name] + GRAPHS)


def test_run_script_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main = module("two_points").main
    assert cmp.run_script(main, ["--out", str(tmp_path)]) == 0
    assert cmp.run_script(main, ["--out", str(tmp_path), "--perturb-closed-form", "1e-6"]) == 1
    assert capsys.readouterr().out.rstrip().splitlines()[-1].startswith("FAIL")


def test_wrong_closed_form_exits_nonzero(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "mse_gradient.py"), "--out",
                           str(tmp_path), "--perturb-closed-form", "1e-6"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.rstrip().splitlines()[-1].startswith("FAIL")


@pytest.mark.parametrize("name", ["two_points", "bias_term"])
def test_wrong_closed_form_fails_main(name: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    result = module(name).main(out=tmp_path, perturb=1e-8)
    assert not result.passed
    assert 1e-9 < result.max_rel < 1e-6
    assert "FAIL" in capsys.readouterr().out


def test_two_points_prints_the_articles_table(results: dict) -> None:
    """Every line of the article's table, in order and contiguous, in the printed output."""
    result, printed = results["two_points"]
    expected = [line.rstrip() for line in ARTICLE_TABLE.splitlines()]
    got = [line.rstrip() for line in printed.splitlines()]
    starts = [i for i, line in enumerate(got) if line == expected[0]]
    assert starts, "the table's first line is missing:\n" + printed
    assert got[starts[0]:starts[0] + len(expected)] == expected


def test_two_points_writes_all_200_lines(results: dict) -> None:
    result, _ = results["two_points"]
    lines = (result.out / "table.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 400
    article = [line for line in ARTICLE_TABLE.splitlines() if line]
    assert lines[:18] == article[:18] and lines[-12:] == article[18:]
    assert result.numbers["w1"] == pytest.approx(1.98537, abs=1e-5)
    assert result.numbers["w2"] == pytest.approx(3.02367, abs=1e-5)


def test_bias_term_reaches_lstsq(results: dict) -> None:
    result, printed = results["bias_term"]
    assert result.numbers["distance_to_lstsq"] < 1e-8
    assert "np.linalg.lstsq" in printed


def test_learning_rate_threshold(results: dict) -> None:
    result, _ = results["learning_rate"]
    n = result.numbers
    assert n["lr_max"] == pytest.approx(2 / n["lambda_max"])
    assert n["loss_below"] < 0.01 < 1e6 < n["loss_above"]
    hessian = next(r for r in result.rows if "Hessian" in r.name)
    assert hessian.autodiff.shape == (9,) or hessian.autodiff.shape == (3, 3)


def test_house_prices_article_partials_are_half_the_gradient(results: dict) -> None:
    result, printed = results["house_prices"]
    half = next(r for r in result.rows if r.name.startswith("½"))
    full = [r for r in result.rows if r.name.startswith("∂J/∂")]
    np.testing.assert_allclose(2 * half.closed, [r.closed.item() for r in full], rtol=1e-12)
    assert result.numbers["curvature_ratio"] > 1e5  # the reason for two learning rates
    assert result.numbers["standardized_gap"] < 1e-6
    assert result.numbers["a_lstsq"] == pytest.approx(140.5, abs=0.1)


def test_comparison_tolerance_is_relative(tmp_path: Path) -> None:
    """1e-12 relative passes, 1e-8 fails, whatever the gradient's size."""
    for scale in (1e-6, 1.0, 1e9):
        g = scale * np.array([3.0, -4.0])
        ok = cmp.Comparison("t", "t", "t", tmp_path)
        ok.row("g", g, g * (1 + 1e-12), "g")
        bad = cmp.Comparison("t", "t", "t", tmp_path)
        bad.row("g", g, g * (1 + 1e-8), "g")
        assert ok.passed and not bad.passed


def test_comparison_fails_on_a_false_check_or_no_rows(tmp_path: Path) -> None:
    c = cmp.Comparison("t", "t", "t", tmp_path)
    assert not c.passed  # nothing compared is not a pass
    c.row("g", [1.0], [1.0], "g")
    assert c.passed
    c.check("something promised", False)
    assert not c.passed and "check: something promised: NO" in c.table()


def test_worst_row_measures_against_the_largest_gradient(tmp_path: Path) -> None:
    """Near a minimum the gradient is rounding noise; it is judged against the path's scale."""
    c = cmp.Comparison("t", "t", "t", tmp_path)
    pairs = [(np.array([5.0]), np.array([5.0])), (np.array([2e-17]), np.array([1e-17]))]
    row = c.worst_row("g", pairs, "g")
    assert row.max_abs == pytest.approx(1e-17)
    assert row.max_rel == pytest.approx(2e-18)


def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert list(cmp.progress(range(3), "quiet")) == [0, 1, 2]
    assert "quiet" not in capsys.readouterr().err  # stdout is not a terminal under pytest
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert list(cmp.progress(range(3), "shown")) == [0, 1, 2]
    assert "shown" in capsys.readouterr().err


# ---- logistic_regression and mlp_digits -------------------------------------------------


def test_logistic_regression_gradient_and_explanation(results: dict) -> None:
    result, printed = results["logistic_regression"]
    n = result.numbers
    assert n["gradient_rel"] <= 1e-12  # autodiff vs Xᵀ(σ(Xw + b) − y)/N + λw, every point
    assert n["explain_check"] <= 1e-10
    assert "∂L/∂w = 0.01·w + 1/N·Xᵀ·(σ(X·w + b) − y)" in printed  # am.explain's result
    assert all(ok for _, ok in result.checks), result.table()
    names = [r.name for r in result.rows]
    assert any("∂L/∂w" in name for name in names) and any("∇²L" in name for name in names)


def test_logistic_regression_agrees_with_sklearn(results: dict) -> None:
    """Gradient descent, Adam and L-BFGS-B all land on LogisticRegression(C = 1/(λN))."""
    result, printed = results["logistic_regression"]
    n = result.numbers
    for key in ("sklearn_rel_diff", "gd_rel_diff", "adam_rel_diff"):
        assert n[key] <= 1e-4, (key, n[key])
    assert n["accuracy"] == pytest.approx(n["sklearn_accuracy"], abs=1 / 569)
    assert 0.97 < n["accuracy"] < 1.0
    assert "C = 1/(λN) = 0.175747" in printed and "accuracy on the 569 samples" in printed


def test_logistic_regression_fails_with_a_wrong_closed_form(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = module("logistic_regression").main(out=tmp_path, perturb=1e-8, gd_steps=20,
                                                adam_steps=20)
    assert not result.passed
    assert 1e-9 < result.max_rel < 1e-5
    failed = [label for label, ok in result.checks if not ok]
    assert any(label.startswith("autodiff gradient vs the hand-derived one") for label in failed)
    assert capsys.readouterr().out.rstrip().splitlines()[-1].startswith("FAIL")


def test_mlp_digits_backprop_and_accuracy(results: dict) -> None:
    result, printed = results["mlp_digits"]
    n = result.numbers
    assert n["test_accuracy"] >= 0.95  # 4 epochs; 20 (the default) reach 0.98
    assert n["train_accuracy"] >= 0.95
    assert n["finite_difference_rel"] <= 1e-6
    assert [r.name.split(",")[0] for r in result.rows] == ["∂L/∂W2", "∂L/∂b2", "∂L/∂W1",
                                                           "∂L/∂b1"]
    assert max(r.max_rel for r in result.rows) <= 1e-12  # backprop by hand, to rounding
    assert all(ok for _, ok in result.checks), result.table()
    assert "test accuracy" in printed and "central differences" in printed
    assert 0 < n["train_seconds"] < 30
    # one minibatch's graph, bounded: the boxes and ellipses drawn stay under max_nodes
    dot = (result.out / "graph_forward.dot").read_text(encoding="utf-8")
    assert "W1" in dot and "W2" in dot
    assert dot.count(" [label=") <= module("mlp_digits").GRAPH_MAX_NODES


def test_mlp_digits_fails_with_a_wrong_closed_form_or_too_few_epochs(tmp_path: Path) -> None:
    small = {"out": tmp_path, "epochs": 1, "n_train": 200}
    wrong = module("mlp_digits").main(perturb=1e-8, min_accuracy=0.0, **small)
    assert not wrong.passed and 1e-9 < wrong.max_rel < 1e-5
    assert all(ok for _, ok in wrong.checks)  # it is the rows that fail
    short = module("mlp_digits").main(**small)  # one epoch on 200 images: far below 0.97
    assert not short.passed and short.max_rel <= cmp.TOLERANCE
    assert short.numbers["test_accuracy"] < 0.97
    assert [ok for label, ok in short.checks if label.startswith("test accuracy")] == [False]


# Which gradients each example's written code returns, as am.compile names them.
WRITTEN = {"mse_gradient": ["g_w"], "bias_term": ["g_W", "g_b"], "two_points": ["g_w1", "g_w2"],
           "house_prices": ["g_a", "g_b"], "learning_rate": ["g_w"],
           "logistic_regression": ["g_w", "g_b"], "mlp_digits": ["g_W1", "g_b1", "g_W2", "g_b2"]}
HAND = {"mse_gradient": "x.T.dot(error) / len(x)",
        "bias_term": "dW = - (2 * (X^T ).dot(Y - Y_hat)) / m",
        "two_points": "2 / N * np.sum((w1 * x + w2 - y) * x)", "house_prices": "dJ_da = ",
        "learning_rate": "X.T.dot(X.dot(w) - y)", "logistic_regression": "sigmoid(X @ w + b) - y",
        "mlp_digits": "back = (G @ W2.T) * (1 - h ** 2)"}


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_example_shows_the_code_backprop_wrote_beside_the_hand_line(
        name: str, results: dict) -> None:
    import ast

    result, printed = results[name]
    written = result.written
    assert written is not None and written.max_rel <= cmp.TOLERANCE
    tree = ast.parse(written.code)  # real Python
    (fn,) = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    returned = ast.unparse(fn.body[-1])
    for g in WRITTEN[name]:
        assert re.search(rf"^    {g} = ", written.code, re.M), written.code
        assert g in returned
    assert HAND[name] in written.hand and written.source
    assert written.code.rstrip() in printed and written.hand in printed
    assert any("the code backpropagation wrote gives autodiff's gradient" in label and ok
               for label, ok in result.checks)


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_example_answers_its_question_in_prose(name: str, results: dict) -> None:
    result, printed = results[name]
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", result.answer_text) if s]
    assert 2 <= len(sentences) <= 4, result.answer_text
    assert result.answer_text in printed
    assert name in cmp.LESSONS and cmp.LESSONS[name].heading and cmp.LESSONS[name].asks
