"""The `autograd-mini` command: parsing, demo and its report, compare, graph, explain."""

from __future__ import annotations

import html
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

from autograd_mini import cli
from autograd_mini import compare as cmp


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    """`autograd-mini demo --out DIR` once: exit status, what it printed, DIR."""
    import contextlib
    import io

    out = tmp_path_factory.mktemp("demo")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        status = cli.main(["demo", "--out", str(out)])
    return status, buffer.getvalue(), out


def test_parser_reads_every_subcommand() -> None:
    p = cli.build_parser()
    assert p.parse_args(["demo"]).out == cmp.DEFAULT_OUT
    assert p.parse_args(["demo", "--out", "x"]).out == Path("x")
    args = p.parse_args(["compare", "two_points", "--out", "o"])
    assert (args.name, args.out, args.func) == ("two_points", Path("o"), cli.cmd_compare)
    for name in ("logistic_regression", "mlp_digits"):
        assert p.parse_args(["compare", name]).name == name
    assert p.parse_args(["graph"]).out == cmp.DEFAULT_OUT / "graph"
    args = p.parse_args(["explain", "mean((X @ w - y) ** 2)", "--wrt", "w", "--wrt", "y",
                         "--shape", "X=100x3", "--shape", "w=3x1", "--ascii"])
    assert args.wrt == ["w", "y"] and args.shape == ["X=100x3", "w=3x1"]
    assert args.ascii and args.out is None and args.expression == "mean((X @ w - y) ** 2)"


@pytest.mark.parametrize("argv", [[], ["compare", "nope"], ["explain", "x"], ["frobnicate"]])
def test_usage_errors_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2


def test_demo_prints_seven_pass_lines(demo: tuple[int, str, Path]) -> None:
    status, printed, out = demo
    assert status == 0, printed
    lines = [line for line in printed.splitlines() if line.split()[:1] in ([n] for n in
                                                                          cli.EXAMPLES)]
    assert [line.split()[0] for line in lines] == list(cli.EXAMPLES) == [
        "mse_gradient", "bias_term", "two_points", "house_prices", "learning_rate",
        "logistic_regression", "mlp_digits"]
    for line in lines:
        assert re.fullmatch(r"\w+ +max rel diff \d\.\de[-+]\d\d  PASS", line), line
        assert float(line.split()[4]) <= cmp.TOLERANCE
        assert line.index(" max rel diff") == 20  # the names line up
    assert f"report: {out / 'index.html'}" in printed


def test_report_references_only_existing_files(demo: tuple[int, str, Path]) -> None:
    _, _, out = demo
    page = (out / "index.html").read_text(encoding="utf-8")
    refs = re.findall(r'(?:href|src)="([^"]+)"', page)
    local = [r for r in refs if not r.startswith(("data:", "#", "https://"))]
    assert len(local) >= 5 * 3  # every example links its graphs and plots
    for ref in local:
        assert (out / ref).is_file(), ref
    for name in cli.EXAMPLES:
        assert f'<section id="{name}">' in page and f'href="#{name}"' in page


def test_report_embeds_tables_graphs_and_plots(demo: tuple[int, str, Path]) -> None:
    _, _, out = demo
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.count("data:image/svg+xml;base64,") == 2 * len(cli.EXAMPLES)
    assert page.count("data:image/png;base64,") >= len(cli.EXAMPLES)
    assert page.count('class="pass">PASS') == len(cli.EXAMPLES)
    assert page.count('<table class="rows">') == len(cli.EXAMPLES)  # each comparison
    assert page.count('<pre class="written">') == len(cli.EXAMPLES)  # each one's code
    assert "w1 = 1.985, w2 = 3.024, MSE: 5.64946777215e-05" in page  # the article's last line
    assert re.search(r"<li>test accuracy 0\.9\d+ ≥ 0\.97</li>", page)  # the digits network
    assert "<li>am.minimize (L-BFGS-B): the coefficients agree with scikit-learn" in page


def test_report_names_the_data_sets(demo: tuple[int, str, Path]) -> None:
    """The two classifiers introduce their data set (not a question) and link its page."""
    _, _, out = demo
    page = (out / "index.html").read_text(encoding="utf-8")
    docs = "https://scikit-learn.org/stable/modules/generated/sklearn.datasets."
    for name, loader in (("logistic_regression", "load_breast_cancer"),
                         ("mlp_digits", "load_digits")):
        assert cmp.QUESTIONS[name].kind == "data set"
        section = page[page.index(f'<section id="{name}">'):]
        section = section[:section.index("</section>")]
        assert f"<p class=\"source\">Data: <a href=\"{docs}{loader}.html\">" in section
        assert "data set: &quot;" in section and "Asked in:" not in section  # printed
    assert page.count('<p class="source">Asked in: ') == 5


def test_demo_fails_when_an_example_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """One failing comparison and one that raises: exit 1, both FAIL, report still written."""

    def failing(out: Path) -> cmp.Comparison:
        c = cmp.Comparison.start("bad", "a wrong closed form", "L", out)
        c.row("g", [1.0], [2.0], "g")
        return c.finish()

    def raising(out: Path) -> cmp.Comparison:
        raise ZeroDivisionError("on purpose")

    fakes = {"mse_gradient": failing, "bias_term": raising}
    monkeypatch.setattr(cli, "EXAMPLES", tuple(fakes))
    monkeypatch.setattr(cli, "example", lambda name: types.SimpleNamespace(main=fakes[name]))
    assert cli.main(["demo", "--out", str(tmp_path)]) == 1
    printed = capsys.readouterr().out
    assert re.search(r"mse_gradient +max rel diff 5\.0e-01  FAIL", printed)
    assert re.search(r"bias_term +error: ZeroDivisionError: on purpose  FAIL", printed)
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert page.count('class="fail">FAIL') == 2 and "ZeroDivisionError" in page


def test_compare_runs_one_and_prints_it(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["compare", "two_points", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "200: w1 = 1.985, w2 = 3.024" in printed and printed.rstrip().endswith(
        "(tolerance 1e-10)")
    assert (tmp_path / "table.txt").is_file()


def test_graph_renders_the_mse_graph(tmp_path: Path) -> None:
    """Through `python -m autograd_mini`, which also checks __main__."""
    done = subprocess.run([sys.executable, "-m", "autograd_mini", "graph", "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    for view in ("forward", "backward"):
        assert "<svg" in (tmp_path / f"mse_graph_{view}.svg").read_text(encoding="utf-8")
        assert "digraph" in (tmp_path / f"mse_graph_{view}.dot").read_text(encoding="utf-8")
    assert "matmul" in (tmp_path / "mse_graph_forward.dot").read_text(encoding="utf-8")


def test_explain_hands_its_arguments_to_run_explain(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}

    def run_explain(expression: str, **kwargs: object) -> int:
        seen.update(kwargs, expression=expression)
        return 3

    fake = types.ModuleType("autograd_mini.expression")
    fake.run_explain = run_explain  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "autograd_mini.expression", fake)
    status = cli.main(["explain", "sum(w * w)", "--wrt", "w", "--shape", "w=3x1", "--out",
                       str(tmp_path / "g.svg"), "--ascii"])
    assert status == 3
    assert seen == {"expression": "sum(w * w)", "wrt": ["w"], "shapes": ["w=3x1"],
                    "out": str(tmp_path / "g.svg"), "ascii": True}


def test_explain_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("autograd_mini.expression")
    status = cli.main(["explain", "mean((X @ w - y) ** 2)", "--wrt", "w", "--shape", "X=20x3",
                       "--shape", "w=3x1", "--shape", "y=20x1", "--out",
                       str(tmp_path / "graph.svg")])
    assert status == 0
    assert "Xᵀ" in capsys.readouterr().out
    assert (tmp_path / "graph.dot").is_file()


@pytest.mark.parametrize("argv, message", [
    (["w * 9**9**9", "--wrt", "w", "--shape", "w="], "the exponent '9**9' at column 8"),
    (["mean(X)", "--wrt", "X", "--shape", "X=1000000000x1000000000"], "the limit is 10,000,000"),
])
def test_explain_refuses_hostile_input_quickly(argv: list[str], message: str) -> None:
    """A separate process with a timeout: `9**9**9` once ran Python's big integers for hours."""
    done = subprocess.run([sys.executable, "-m", "autograd_mini", "explain", *argv],
                          capture_output=True, text=True, timeout=10)
    assert done.returncode == 2, done.stdout[-500:] + done.stderr[-500:]
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("autograd-mini explain: "), done.stderr
    assert message in lines[0]


# ---- first contact: without the `examples` extra, and no internal words anywhere a user looks ----

WITHOUT = "import sys\nfor name in {names!r}:\n    sys.modules[name] = None  # import fails\n"


def run_without(modules: tuple[str, ...], code: str) -> subprocess.CompletedProcess[str]:
    """Python code run as if `modules` were not installed."""
    return subprocess.run([sys.executable, "-c", WITHOUT.format(names=modules) + code],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("modules, named", [
    (("matplotlib", "tqdm"), "matplotlib and tqdm"), (("matplotlib",), "matplotlib"),
    (("tqdm",), "tqdm"), (("sklearn",), "scikit-learn"),
    (("tqdm", "scipy", "sklearn"), "tqdm, scipy and scikit-learn")])
@pytest.mark.parametrize("argv", [["demo"], ["compare", "two_points"]])
def test_demo_and_compare_without_the_examples_extra_say_how_to_install_it(
        tmp_path: Path, argv: list[str], modules: tuple[str, ...], named: str) -> None:
    argv = [*argv, "--out", str(tmp_path / "out")]
    done = run_without(modules, f"from autograd_mini.cli import main\nraise SystemExit(main("
                                f"{argv!r}))")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"autograd-mini {argv[0]}: the examples need {named}, which "
                               f"{'is' if len(modules) == 1 else 'are'} not installed")
    assert lines[0].endswith("install them with: pip install 'autograd-mini[examples]'")
    assert not (tmp_path / "out").exists()


def test_example_script_without_the_examples_extra_says_how_to_install_it(
        tmp_path: Path) -> None:
    script = Path(cli.__file__).parent.parent / "examples" / "house_prices.py"
    if not script.is_file():
        pytest.skip("the examples/ folder is not next to the package")
    code = (f"import runpy\nsys.argv = [{str(script)!r}, '--out', {str(tmp_path)!r}]\n"
            f"runpy.run_path({str(script)!r}, run_name='__main__')")
    done = run_without(("matplotlib",), code)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.splitlines() == [
        "house_prices.py: the examples need matplotlib, which is not installed; install them "
        "with: pip install 'autograd-mini[examples]'"]


INTERNAL = re.compile(r"DESIGN\.md|\bseed|shared/", re.IGNORECASE)


def test_help_names_nothing_internal(capsys: pytest.CaptureFixture[str]) -> None:
    """Every --help a user can ask for: the command, each subcommand, each example script."""
    for argv in ([], ["demo"], ["compare"], ["graph"], ["explain"]):
        with pytest.raises(SystemExit):
            cli.main([*argv, "--help"])
    for name in cli.EXAMPLES:
        with pytest.raises(SystemExit):
            cmp.run_script(cli.example(name).main, ["--help"])
    shown = capsys.readouterr().out
    assert shown.count("usage:") == 5 + len(cli.EXAMPLES)
    assert not INTERNAL.findall(shown), INTERNAL.findall(shown)


def test_report_names_nothing_internal_and_links_the_questions(
        demo: tuple[int, str, Path]) -> None:
    _, printed, out = demo
    page = (out / "index.html").read_text(encoding="utf-8")
    text = re.sub(r'"data:[^"]*"', '""', page)  # embedded pictures: base64, not words
    assert not INTERNAL.findall(printed + text), INTERNAL.findall(printed + text)
    for name in cli.EXAMPLES:
        question = cmp.QUESTIONS[name]
        assert html.escape(question.title) in page
        if question.url:
            assert f'href="{question.url}"' in page
    assert 'href="https://stats.stackexchange.com/questions/396735"' in page


# ---- explain --code: the code backpropagation wrote ------------------------------------------

MSE_ARGS = ["explain", "mean((X @ w - y) ** 2)", "--wrt", "w", "--shape", "X=20x3", "--shape",
            "w=3x1", "--shape", "y=20x1"]


def printed_code(printed: str) -> str:
    """The function that `explain --code` printed after its heading."""
    return printed[printed.index("def "):]


def test_explain_code_prints_runnable_numpy_named_after_the_tensors(
        capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np

    from autograd_mini.expression import build

    assert cli.main([*MSE_ARGS, "--code"]) == 0
    printed = capsys.readouterr().out
    assert "Xᵀ" in printed  # the derivation comes first, as without --code
    code = printed_code(printed)
    assert code.startswith("def loss_value_and_grad(w):") and "g_w = X.T @" in code
    _, t = build("mean((X @ w - y) ** 2)", ["w"], ["X=20x3", "w=3x1", "y=20x1"])
    X, y, w = t["X"].data, t["y"].data, t["w"].data
    space: dict = {"np": np, "X": X, "y": y}
    exec(code, space)  # noqa: S102 - the library's own output, run as the user would
    loss, g_w = space["loss_value_and_grad"](w)
    np.testing.assert_allclose(loss, np.mean((X @ w - y) ** 2), rtol=1e-12)
    np.testing.assert_allclose(g_w, 2 / 20 * X.T @ (X @ w - y), rtol=1e-12)
    assert cli.main(MSE_ARGS) == 0 and "def " not in capsys.readouterr().out  # only on request


def test_explain_code_for_several_tensors_returns_each_gradient(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["explain", "sum(tanh(X @ W + b))", "--wrt", "W", "--wrt", "b", "--shape",
                     "X=5x3", "--shape", "W=3x2", "--shape", "b=2", "--code"]) == 0
    code = printed_code(capsys.readouterr().out)
    assert code.startswith("def loss_value_and_grad(W, b):")
    assert "return loss, (g_W, g_b)" in code


@pytest.mark.parametrize("expression, wrt, shapes, absent", [
    # Names that would shadow numpy, a builtin, or are not ASCII: renamed, never used as given.
    ("mean((np @ exec - print) ** 2)", "exec", ["np=5x3", "exec=3x1", "print=5x1"],
     [r"\bnp\s*=", r"\bexec\b", r"\bprint\b"]),
    ("sum(tanh(é @ w))", "w", ["é=4x3", "w=3x2"], ["é"]),
])
def test_explain_code_never_lets_a_name_into_the_code_as_written(
        expression: str, wrt: str, shapes: list[str], absent: list[str],
        capsys: pytest.CaptureFixture[str]) -> None:
    import ast

    argv = ["explain", expression, "--wrt", wrt, "--code"]
    for s in shapes:
        argv += ["--shape", s]
    assert cli.main(argv) == 0
    code = printed_code(capsys.readouterr().out)
    ast.parse(code)
    for pattern in absent:
        assert not re.search(pattern, code), (pattern, code)


def test_explain_code_refuses_what_explain_refuses(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["explain", "sum(__import__ * w)", "--wrt", "w", "--shape", "w=3",
                     "--shape", "__import__=3", "--code"]) == 2
    captured = capsys.readouterr()
    assert "def " not in captured.out and "not allowed" in captured.err
