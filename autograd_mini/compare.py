"""What the example comparisons share: the questions they answer (or the data sets they use),
the autodiff-vs-closed-form table, the output folder, graphs, explanations, plots, progress bars
and the PASS/FAIL verdict.

An example builds one `Comparison`, adds a row per gradient (autodiff next to the closed form
the question gives), writes its files through it and returns it from `main()`; `run_script`
turns that into an exit code. Relative difference of a row: max|autodiff − closed| /
max|closed|, i.e. the worst entry measured against the size of the closed form, so tiny
entries of a large gradient do not inflate it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

import autograd_mini as am

from .tensor import Tensor

__all__ = ["TOLERANCE", "DEFAULT_OUT", "Question", "QUESTIONS", "Lesson", "LESSONS",
           "EXTRA_MODULES", "INSTALL_EXAMPLES", "missing_extras", "Row", "WrittenCode",
           "Comparison", "progress", "subplots", "run_script"]

TOLERANCE = 1e-10  # float64 rounding is ~1e-16; anything near 1e-10 is a real mismatch
DEFAULT_OUT = Path("autograd_mini_out")
T = TypeVar("T")


@dataclass(frozen=True)
class Question:
    """The public question or article an example answers, or the public data set it uses."""

    title: str
    where: str
    url: str | None = None  # None when there is no stable address to link
    kind: str = "question"  # or "data set": how the printed line and the report introduce it

    def cite(self) -> str:
        """`"Title" (where, url)`, for printed output."""
        return f"\"{self.title}\" ({self.where}{', ' + self.url if self.url else ''})"


_CROSS_VALIDATED = Question("Intuition behind computing gradient for a model",
                            "Cross Validated", "https://stats.stackexchange.com/questions/396735")
QUESTIONS = {
    "mse_gradient": _CROSS_VALIDATED,
    "learning_rate": _CROSS_VALIDATED,
    "bias_term": Question("How does the equation “dW = - (2 * (X^T ).dot(Y - Y_hat)) / m” "
                          "comes in Linear Regression (using Matrix + Gradient Descent)?",
                          "Data Science Stack Exchange",
                          "https://datascience.stackexchange.com/questions/90027"),
    "two_points": Question("Gradient Descent Simply Explained (with Example)", "an article"),
    "house_prices": Question("The Gradient: A Visual Descent", "an article",
                             "https://thelaziestprogrammer.com/sharrington/math-of-machine-"
                             "learning/the-gradient-a-visual-descent"),
    "logistic_regression": Question(
        "Breast Cancer Wisconsin (Diagnostic): 569 tumours, 30 features, malignant or benign",
        "scikit-learn's load_breast_cancer", "https://scikit-learn.org/stable/modules/generated/"
        "sklearn.datasets.load_breast_cancer.html", kind="data set"),
    "mlp_digits": Question(
        "Optical Recognition of Handwritten Digits: 1,797 images of 8×8 pixels, digits 0–9",
        "scikit-learn's load_digits", "https://scikit-learn.org/stable/modules/generated/"
        "sklearn.datasets.load_digits.html", kind="data set"),
}

@dataclass(frozen=True)
class Lesson:
    """How the report opens an example: the question in the asker's words, and what it asks."""

    heading: str
    asks: str  # one or two sentences of prose


LESSONS = {
    "mse_gradient": Lesson(
        "Why is x.T.dot(error) / len(x) the gradient? I can see no derivatives in there.",
        "The asker was given the update `gradient = x.T.dot(error) / len(x)` with "
        "`error = y - score` and `score = x.dot(w)`, and asks why that line is a gradient at "
        "all, why x is transposed, and why it is divided by len(x)."),
    "bias_term": Lesson(
        "How do the minus and the matrix product in dW = −(2·Xᵀ·(Y − Ŷ))/m replace the sum?",
        "With a bias, Ŷ = X·W + b, the asker's code updates W with `dW = -(2 * X.T.dot(Y - "
        "Y_hat)) / m` and b with `db = -(2 * np.sum(Y - Y_hat)) / m`, without naming the "
        "loss. Where do the minus, the 2, the transpose and the sum come from?"),
    "two_points": Lesson(
        "Gradient descent on a line through two points, step by step",
        "The article fits f(x) = w1·x + w2 through (1, 5) and (2, 7), starting at (9, 10) "
        "with learning rate 0.15, and prints the weights and the MSE after every step. Does "
        "autodiff give the same steps?"),
    "house_prices": Lesson(
        "Why does the descent need a separate learning rate for each partial?",
        "The article fits a sale price to a living area, price ≈ a·area + b, by gradient "
        "descent on the MSE J(a, b), and uses a tiny rate for a and a large one for b. Why, "
        "and is there a way to use one rate?"),
    "learning_rate": Lesson(
        "Do we need a small learning rate? Will the gradient ever explode?",
        "The same asker's fourth question: x holds all the training examples; is a small "
        "learning rate needed, and can the gradient blow up?"),
    "logistic_regression": Lesson(
        "The step after linear regression: the gradient of logistic regression",
        "A linear classifier keeps the score X·w + b and replaces the squared error with the "
        "cross-entropy of a sigmoid. What is its gradient, and does descent on it find the "
        "fit scikit-learn finds?"),
    "mlp_digits": Lesson(
        "Backpropagation through a small neural network, by autodiff and by hand",
        "A network with one hidden layer of 64 tanh units reads 8×8 images of handwritten "
        "digits. Its gradient is the chain rule through two matrix products: does autodiff "
        "write the same backpropagation a person writes by hand, and does the network learn?"),
}


# The `examples` extra: the examples draw their plots with matplotlib and show progress with
# tqdm; the classifiers load scikit-learn's bundled data sets, compare with its
# LogisticRegression and minimise with SciPy. Without them the demo says how to install them
# instead of failing example after example. Module name → the name pip installs it under.
EXTRA_MODULES = {"matplotlib": "matplotlib", "tqdm": "tqdm", "scipy": "scipy",
                 "sklearn": "scikit-learn"}
INSTALL_EXAMPLES = "pip install 'autograd-mini[examples]'"


def missing_extras() -> list[str]:
    """The packages of the `examples` extra that cannot be imported here (empty if none)."""
    missing = []
    for module, package in EXTRA_MODULES.items():
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(package)
    return missing


def _and(names: Sequence[str]) -> str:
    """Names joined for a sentence: a; a and b; a, b and c."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def missing_extras_message(who: str) -> str | None:
    """One line saying which extra packages are missing and how to install them, or None."""
    missing = missing_extras()
    if not missing:
        return None
    return (f"{who}: the examples need {_and(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not installed; install them with: "
            f"{INSTALL_EXAMPLES}")


@dataclass
class Row:
    """One gradient, from autodiff and from a hand-derived closed form."""

    name: str
    formula: str
    autodiff: np.ndarray
    closed: np.ndarray
    scale: float | None = None  # what the difference is relative to; default max|closed|

    @property
    def max_abs(self) -> float:
        """max |autodiff − closed| over the entries."""
        return float(np.max(np.abs(self.autodiff - self.closed), initial=0.0))

    @property
    def max_rel(self) -> float:
        """max |autodiff − closed| / scale (the absolute difference if the scale is 0)."""
        scale = self.scale
        if scale is None:
            scale = float(np.max(np.abs(self.closed), initial=0.0))
        return self.max_abs / scale if scale > 0 else self.max_abs


@dataclass
class WrittenCode:
    """The NumPy code backpropagation wrote for an example's gradient, beside the hand-written
    line it stands for."""

    code: str
    hand: str  # the gradient as the question (or the example, by hand) writes it
    source: str  # whose line it is, e.g. "the question's line"
    max_rel: float  # the written code's gradient against eager autodiff's


def _preview(a: np.ndarray, k: int = 3) -> str:
    """The first k entries of an array, compactly: `[56, 35]`, `[1.5, -2.25, 0.125, …]`."""
    flat = np.ravel(a)
    body = ", ".join(f"{v:.6g}" for v in flat[:k])
    return f"[{body}{', …' if flat.size > k else ''}]"


@dataclass
class Comparison:
    """One example's result: rows, extra checks, key numbers and the files it wrote."""

    name: str
    title: str
    loss: str
    out: Path
    notes: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    checks: list[tuple[str, bool]] = field(default_factory=list)
    numbers: dict[str, float] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    captions: dict[Path, str] = field(default_factory=dict)
    explanation: str | None = None
    explain_check: float | None = None
    answer_text: str = ""
    written: WrittenCode | None = None
    perturb: float = 0.0
    tolerance: float = TOLERANCE  # larger for float32 data, whose sums keep ~7 digits

    @classmethod
    def start(cls, name: str, title: str, loss: str, out: str | Path | None = None,
              perturb: float = 0.0, tolerance: float = TOLERANCE) -> Comparison:
        """Make the output folder (default autograd_mini_out/NAME) and print the heading.

        `perturb` adds that much (relative) to every closed form: a deliberately wrong
        closed form, so tests can see the example fail.
        """
        folder = Path(out) if out is not None else DEFAULT_OUT / name
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{name}: {title}")
        if name in QUESTIONS:
            print(f"{QUESTIONS[name].kind}: {QUESTIONS[name].cite()}")
        print(f"loss: {loss}")
        return cls(name, title, loss, folder, perturb=perturb, tolerance=tolerance)

    # ---- numbers ------------------------------------------------------------------------

    def row(self, name: str, autodiff: Any, closed: Any, formula: str,
            scale: float | None = None) -> Row:
        """Record ∂L/∂(something) from autodiff next to the closed form `formula`."""
        a = np.asarray(autodiff, dtype=np.float64)
        c = np.asarray(closed, dtype=np.float64)
        if a.shape != c.shape:
            raise ValueError(f"{self.name}: {name}: autodiff has shape {a.shape} but the closed "
                             f"form has shape {c.shape}")
        if self.perturb:
            c = c + self.perturb * max(float(np.max(np.abs(c), initial=0.0)), 1.0)
        r = Row(name, formula, a, c, scale)
        self.rows.append(r)
        return r

    def worst_row(self, name: str, pairs: Iterable[tuple[Any, Any]], formula: str) -> Row:
        """Record the pair (autodiff, closed) that differ most, of many (a descent's steps).

        Relative to the largest closed-form gradient along the way: near the minimum the
        gradient itself is rounding noise, and noise relative to noise says nothing.
        """
        rows = [Row(name, formula, np.asarray(a, dtype=np.float64),
                    np.asarray(c, dtype=np.float64)) for a, c in pairs]
        scale = max(float(np.max(np.abs(r.closed), initial=0.0)) for r in rows)
        worst = max(rows, key=lambda r: r.max_abs)
        return self.row(name, worst.autodiff, worst.closed, formula, scale)

    def check(self, label: str, ok: bool) -> bool:
        """Record a promised fact that is not a gradient (e.g. "descent reaches lstsq")."""
        self.checks.append((label, bool(ok)))
        return bool(ok)

    def note(self, text: str) -> None:
        """A sign or factor convention, printed under the table."""
        self.notes.append(text)

    @property
    def max_abs(self) -> float:
        return max((r.max_abs for r in self.rows), default=0.0)

    @property
    def max_rel(self) -> float:
        return max((r.max_rel for r in self.rows), default=0.0)

    @property
    def passed(self) -> bool:
        """Every row agrees to the tolerance (relative) and every check holds."""
        return (bool(self.rows) and self.max_rel <= self.tolerance
                and all(ok for _, ok in self.checks))

    def table(self) -> str:
        """The rows as a fixed-width text table, then the conventions and the checks."""
        head = ("gradient", "closed form", "autodiff", "closed form value", "max abs",
                "max rel")
        body = [(r.name, r.formula, _preview(r.autodiff), _preview(r.closed),
                 f"{r.max_abs:.1e}", f"{r.max_rel:.1e}") for r in self.rows]
        widths = [max(len(line[i]) for line in (head, *body)) for i in range(len(head))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
                 for line in (head, *body)]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines += [f"note: {n}" for n in self.notes]
        lines += [f"check: {label}: {'yes' if ok else 'NO'}" for label, ok in self.checks]
        return "\n".join(lines)

    def verdict(self) -> str:
        """One line: max differences against the tolerance, PASS or FAIL."""
        word = "PASS" if self.passed else "FAIL"
        return (f"{word}: max abs difference {self.max_abs:.1e}, max rel difference "
                f"{self.max_rel:.1e} (tolerance {self.tolerance:.0e})")

    def finish(self) -> Comparison:
        """Print the table, the key numbers and the verdict; return self (main's result)."""
        print()
        print(self.table())
        if self.numbers:
            print("key numbers: " + ", ".join(f"{k} = {v:.6g}" for k, v in self.numbers.items()))
        print(self.verdict())
        return self

    def answer(self, text: str) -> None:
        """The answer to the question, in two or three sentences of prose (printed, and the
        report's lead paragraph)."""
        self.answer_text = " ".join(text.split())
        print()
        print(self.answer_text)

    def code(self, f: Callable[..., Any], *args: Any, argnums: int | tuple[int, ...] = 0,
             hand: str, source: str) -> WrittenCode:
        """Have am.compile write f's gradient as NumPy, run it, check it against eager autodiff
        and keep it beside `hand`, the hand-written gradient (`source` says whose)."""
        compiled = am.compile(f, argnums=argnums)
        _, got = compiled(*args)
        _, want = am.value_and_grad(f, argnums=argnums)(*args)
        pairs = zip(got, want, strict=True) if isinstance(argnums, tuple) else [(got, want)]
        worst = 0.0
        for a, b in pairs:
            scale = float(np.max(np.abs(b), initial=0.0))
            diff = float(np.max(np.abs(np.asarray(a) - b), initial=0.0))
            worst = max(worst, diff / scale if scale > 0 else diff)
        assert compiled.code is not None  # set by the call above
        self.written = WrittenCode(compiled.code, hand, source, worst)
        print()
        print("the code backpropagation wrote (am.compile):")
        print(compiled.code.rstrip())
        print(f"{source}:")
        print(hand)
        self.check(f"the code backpropagation wrote gives autodiff's gradient (rel {worst:.1e})",
                   worst <= TOLERANCE)
        return self.written

    # ---- files --------------------------------------------------------------------------

    def path(self, filename: str) -> Path:
        """A file in the output folder, remembered for the report."""
        p = self.out / filename
        self.files.append(p)
        return p

    def explain(self, loss: Tensor, wrt: Tensor | list[Tensor]) -> None:
        """Print am.explain(loss, wrt) and check its formula numerically against autodiff."""
        e = am.explain(loss, wrt=wrt)
        self.explanation = str(e)
        self.explain_check = float(e.check())
        print()
        print(self.explanation)
        print(f"explanation check: formula vs autodiff, max rel difference "
              f"{self.explain_check:.1e}")
        # What the page explains must be what autodiff computed, to the same tolerance.
        self.check(f"the explanation's formula evaluates to the autodiff gradient "
                   f"(rel {self.explain_check:.1e})", self.explain_check <= TOLERANCE)

    def graphs(self, root: Tensor, stem: str = "graph",
               max_nodes: int | None = None) -> list[Path]:
        """Write the forward and the backward graph of `root`, top to bottom and without a
        legend: stem_forward.svg/.dot and stem_backward.svg/.dot (the .dot alone when no
        renderer is installed).

        `max_nodes`, when given, bounds the boxes drawn (am.draw_graph refuses a larger graph).
        """
        # Top to bottom and without the legend (the report's captions give the key): a chain
        # of ops is drawn tall and narrow, so that in the report's column the text keeps its
        # natural size instead of being scaled down.
        bound: dict[str, Any] = {"rankdir": "TB", "legend": False}
        if max_nodes is not None:
            bound["max_nodes"] = max_nodes
        written = []
        for view in ("forward", "backward"):
            svg = self.out / f"{stem}_{view}.svg"
            svg.unlink(missing_ok=True)  # so a stale picture is never reported as new
            try:
                am.render_graph(root, svg, backward=view == "backward", **bound)
            except RuntimeError as e:  # no renderer, or it failed: the .dot is still written
                print(f"(no {svg.name}: {str(e).splitlines()[0]})")
            written += [p for p in (svg, svg.with_suffix(".dot")) if p.exists()]
        self.files += written
        return written

    def savefig(self, fig: Any, filename: str, caption: str = "") -> Path:
        """Save a matplotlib figure as PNG in the output folder and close it."""
        p = self.path(filename)
        self.captions[p] = caption
        fig.savefig(p, dpi=110, bbox_inches="tight")
        import matplotlib.pyplot as plt

        plt.close(fig)
        return p


def progress(items: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a tqdm bar when stdout is a terminal (plain iteration otherwise)."""
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is in the `examples` extra; the numbers do not need it
        yield from items
        return
    yield from tqdm(items, desc=desc, total=total, leave=False,
                    disable=not sys.stdout.isatty())


def subplots(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """matplotlib.pyplot.subplots on the Agg backend (files only, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def run_script(main: Callable[..., Comparison], argv: Sequence[str] | None = None) -> int:
    """Command line of one example: --out DIR; exit code 0 on PASS, 1 on FAIL, 2 when the
    `examples` extra is not installed."""
    doc = sys.modules[main.__module__].__doc__ or ""
    summary = " ".join(doc.strip().split("\n\n")[0].split())  # the docstring's first paragraph
    parser = argparse.ArgumentParser(description=summary or None)
    parser.add_argument("--out", type=Path, default=None,
                        help=f"output folder (default {DEFAULT_OUT}/NAME)")
    # Hidden: a deliberately wrong closed form, to see the example fail.
    parser.add_argument("--perturb-closed-form", type=float, default=0.0,
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    script = getattr(sys.modules[main.__module__], "__file__", None) or main.__module__
    message = missing_extras_message(Path(script).name)
    if message:
        print(message, file=sys.stderr)
        return 2
    result = main(out=args.out, perturb=args.perturb_closed_form)
    return 0 if result.passed else 1
