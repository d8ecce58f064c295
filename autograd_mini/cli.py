"""The `autograd-mini` command: demo, compare, graph, explain (also `python -m autograd_mini`).

    autograd-mini demo [--out DIR]           all seven example comparisons and DIR/index.html
    autograd-mini compare NAME [--out DIR]   one of them, printed in full
    autograd-mini graph [--out DIR]          the graph of mean((X·w − y)²), forward and backward
    autograd-mini explain EXPR --wrt w --shape X=100x3 ...   a derivation, step by step
                                             (--code: and the NumPy code backprop writes)

Exit status: 0 when everything agrees (PASS), 1 otherwise, 2 for a usage error (including
demo and compare without the `examples` extra: pip install 'autograd-mini[examples]').
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from . import __version__
from .compare import DEFAULT_OUT, missing_extras_message, progress
from .report import Run, write_report

__all__ = ["EXAMPLES", "main", "build_parser", "run_example"]

# In the order the demo runs them: from the plain gradient to what it is used for, then the
# step after linear regression: a linear classifier and a small neural network.
EXAMPLES = ("mse_gradient", "bias_term", "two_points", "house_prices", "learning_rate",
            "logistic_regression", "mlp_digits")


def example(name: str) -> ModuleType:
    """The example module `name` (examples/NAME.py, installed as autograd_mini.examples)."""
    return importlib.import_module(f"autograd_mini.examples.{name}")


def run_example(name: str, out: Path, quiet: bool = True) -> Run:
    """Run one example into `out`; keep what it printed (not shown when quiet)."""
    buffer = io.StringIO()
    start = time.perf_counter()
    result, error = None, None
    with contextlib.ExitStack() as stack:
        if quiet:
            stack.enter_context(contextlib.redirect_stdout(buffer))
        try:
            result = example(name).main(out=out)
        except Exception:  # noqa: BLE001 - one broken example must not hide the others
            error = traceback.format_exc()
    return Run(name, result, buffer.getvalue(), error, time.perf_counter() - start)


def _echo(text: str) -> None:
    """Print a line without tearing a progress bar that may be on screen."""
    try:
        from tqdm import tqdm
    except ImportError:
        print(text)
        return
    tqdm.write(text)


def _extras_missing(command: str) -> bool:
    """Say so in one line (on stderr) if the `examples` extra is not installed."""
    message = missing_extras_message(f"autograd-mini {command}")
    if message:
        print(message, file=sys.stderr)
    return message is not None


def cmd_demo(args: argparse.Namespace) -> int:
    """Run all the examples, print one line each, write the report; 1 if any failed."""
    if _extras_missing("demo"):
        return 2
    start = time.perf_counter()
    runs = []
    width = max(len(name) for name in EXAMPLES) + 1  # the names line up
    for name in progress(EXAMPLES, "demo", total=len(EXAMPLES)):
        run = run_example(name, args.out / name)
        _echo(run.summary(width))
        runs.append(run)
    seconds = time.perf_counter() - start
    page = write_report(runs, args.out, seconds)
    failed = [r.name for r in runs if not r.passed]
    print(f"report: {page} ({seconds:.1f} s)")
    if failed:
        print(f"FAILED: {', '.join(failed)} (see the report, or `autograd-mini compare NAME`)")
    return 1 if failed else 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Run one example, printing everything it prints; 0 on PASS."""
    if _extras_missing("compare"):
        return 2
    out = args.out if args.out is not None else DEFAULT_OUT / args.name
    run = run_example(args.name, out, quiet=False)
    if run.error:
        print(run.error)
    return 0 if run.passed else 1


def mse_graph() -> Any:
    """The graph of loss = mean((X·w − y)²), X 100×3, y 100×1, w 3×1, after backward."""
    import numpy as np

    import autograd_mini as am

    rng = np.random.default_rng(0)
    X = am.tensor(rng.normal(size=(100, 3)), name="X")
    y = am.tensor(rng.normal(size=(100, 1)), name="y")
    w = am.tensor(np.zeros((3, 1)), requires_grad=True, name="w")
    score = X @ w
    score.name = "score"
    loss = ((score - y) ** 2).mean()
    loss.name = "loss"
    loss.backward(retain_graph=True)  # keep the values so the picture can show them
    return loss


def cmd_graph(args: argparse.Namespace) -> int:
    """Render the graph of mean((X·w − y)²), forward and backward, as .svg and .dot."""
    from .viz import render_graph as render

    args.out.mkdir(parents=True, exist_ok=True)
    loss = mse_graph()
    status = 0
    for view in ("forward", "backward"):
        svg = args.out / f"mse_graph_{view}.svg"
        try:
            render(loss, svg, backward=view == "backward")
            print(f"wrote {svg} and {svg.with_suffix('.dot')}")
        except RuntimeError as e:  # no renderer or it failed; the .dot is written regardless
            print(e)
            status = 1
    return status


def cmd_explain(args: argparse.Namespace) -> int:
    """Hand the expression to autograd_mini.expression.run_explain; with --code, then print the
    NumPy code backpropagation writes for it."""
    from .expression import run_explain

    status = int(run_explain(args.expression, wrt=args.wrt, shapes=args.shape, out=args.out,
                             ascii=args.ascii))
    if status == 2 or not args.code:  # a usage error has been reported already
        return status
    try:
        code = written_code(args.expression, args.wrt, args.shape)
    except (ValueError, TypeError, RecursionError, MemoryError) as e:
        print(f"autograd-mini explain: cannot write the code: {' '.join(str(e).split())}",
              file=sys.stderr)
        return 1
    print("\nThe code backpropagation wrote for it (am.compile), in NumPy:\n")
    print(code.rstrip())
    return status


def written_code(expression: str, wrt: Sequence[str], shapes: Sequence[str]) -> str:
    """The gradient code am.gradient_code writes for a command-line expression.

    The expression is parsed and run by autograd_mini.expression's interpreter, as explain
    runs it; the code comes only from the library's generator, which emits the op table's own
    templates and admits only plain identifiers as names, so no text the user typed is ever
    executed or copied into the code.
    """
    import inspect

    import autograd_mini as am

    from .expression import build, evaluate, normalize_name, parse

    tree = parse(expression)
    _, tensors = build(expression, wrt, shapes)  # every check explain makes, on the same data
    names = list(dict.fromkeys(normalize_name(n) for n in wrt))
    data = {n: t for n, t in tensors.items() if n not in names}

    def loss(*args: Any) -> Any:
        return evaluate(tree, {**data, **dict(zip(names, args, strict=True))})

    try:  # name the arguments after the tensors (the generator still vets each name)
        loss.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names])
    except ValueError:  # not a valid parameter name: the generator's own x0, x1, ... instead
        pass
    argnums = 0 if len(names) == 1 else tuple(range(len(names)))
    return str(am.gradient_code(loss, *[tensors[n].data for n in names], argnums=argnums))


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree for all subcommands."""
    parser = argparse.ArgumentParser(
        prog="autograd-mini", description="Reverse-mode autodiff for NumPy that shows its work: "
        "autodiff next to hand-derived gradients in seven examples, from five questions about "
        "gradient descent for linear regression to logistic regression and a small neural "
        "network, with graphs and step-by-step explanations.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="run all seven comparisons and write an HTML report")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help=f"output folder (default {DEFAULT_OUT}); the report is OUT/index.html")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("compare", help="run one comparison and print it in full")
    p.add_argument("name", choices=EXAMPLES, help="which example")
    p.add_argument("--out", type=Path, default=None,
                   help=f"output folder (default {DEFAULT_OUT}/NAME)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("graph", help="render the graph of mean((X·w − y)²), forward and "
                       "backward")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT / "graph",
                   help=f"output folder (default {DEFAULT_OUT / 'graph'})")
    p.set_defaults(func=cmd_graph)

    p = sub.add_parser("explain", help="derive a gradient step by step, e.g. "
                       "'mean((X @ w - y) ** 2)' --wrt w --shape X=100x3 --shape w=3x1 "
                       "--shape y=100x1")
    p.add_argument("expression", help="a NumPy-style expression in the tensors' names")
    p.add_argument("--wrt", action="append", required=True, metavar="NAME",
                   help="differentiate with respect to NAME (repeatable)")
    p.add_argument("--shape", action="append", default=[], metavar="NAME=AxB",
                   help="the shape of a name, e.g. X=100x3 (repeatable)")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="also draw the expression's graph to FILE (.svg, .png or .dot)")
    p.add_argument("--ascii", action="store_true", help="plain ASCII instead of Unicode math")
    p.add_argument("--code", action="store_true",
                   help="also print the NumPy code backpropagation writes for the gradient "
                   "(am.gradient_code)")
    p.set_defaults(func=cmd_explain)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `autograd-mini` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))
