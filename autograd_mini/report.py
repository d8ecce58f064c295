"""The demo's report: one self-contained index.html that reads as a lesson, a section per example.

Each section asks the example's question in the asker's words and links it, answers it in
prose, shows the derivation's result, the comparison with the hand-derived gradient as a table,
the code backpropagation wrote beside the hand-written line, the graph at a size where its text
can be read, and the plots. Pictures are embedded as data: URIs, so the page can be mailed or
moved alone; each also links to its file next to the page (relative paths, only to files that
exist).
"""

from __future__ import annotations

import base64
import html
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .compare import LESSONS, QUESTIONS, TOLERANCE, Comparison, _preview

__all__ = ["Run", "write_report", "key_lines"]

_MIME = {".svg": "image/svg+xml", ".png": "image/png"}
_PX_PER_PT = 4 / 3  # CSS: 1pt = 1/72 in, 1px = 1/96 in
SITE = Path(__file__).resolve().parent.parent / "site"  # where `make docs` builds the site
_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.5; font-size: 16px; }
h1 { line-height: 1.2; } h2 { line-height: 1.25; margin-top: 0; padding-top: 1.2em; }
h3 { margin-top: 1.6em; }
table { border-collapse: collapse; margin: .5em 0; }
td, th { border: 1px solid #ccc; padding: .3em .6em; vertical-align: top; text-align: left; }
th { background: #f3f4f6; } td.num { font-family: ui-monospace, monospace; white-space: nowrap; }
.pass { color: #1a7f37; font-weight: bold; } .fail { color: #b42318; font-weight: bold; }
.source { color: #444; } .answer { font-size: 17px; }
pre { background: #f6f8fa; padding: .8em 1em; overflow-x: auto; font-size: 13px;
      line-height: 1.45; margin: .4em 0; }
pre.derivation { font-size: 15px; background: #fffbea; border-left: 4px solid #e5b400; }
.code-pair p { margin: .8em 0 .2em; font-size: 14px; color: #444; }
pre.hand { font-size: 14px; background: #eef4ff; border-left: 4px solid #4a74c9; }
figure { margin: 1em 0; } figure img { border: 1px solid #eee; }
figure.graph { display: flex; flex-wrap: wrap; gap: 1em 1.5em; align-items: flex-start; }
figure.graph figcaption { flex: 1 1 15em; }
.scroll { overflow-x: auto; }
figcaption { font-size: 14px; color: #555; max-width: 60em; }
ul.checks { list-style: none; padding-left: 0; }
ul.checks li::before { content: "✓ "; color: #1a7f37; }
ul.checks li.no::before { content: "✗ "; color: #b42318; }
details { margin: .6em 0; } summary { cursor: pointer; color: #1f4fa3; }
section { border-top: 2px solid #ddd; margin-top: 2.5em; }
"""


@dataclass
class Run:
    """One example as the demo ran it: its result (None if it raised), what it printed."""

    name: str
    result: Comparison | None
    output: str
    error: str | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.result is not None and self.error is None and self.result.passed

    def summary(self, width: int = 20) -> str:
        """`name  max rel diff 1.5e-16  PASS`, the demo's line for this example (the name
        padded to `width`, so the lines of all the examples align)."""
        word = "PASS" if self.passed else "FAIL"
        if self.result is None:
            return f"{self.name:{width}s} error: {(self.error or '').splitlines()[-1]}  {word}"
        return f"{self.name:{width}s} max rel diff {self.result.max_rel:.1e}  {word}"


def write_report(runs: Sequence[Run], out: Path, seconds: float = 0.0) -> Path:
    """Write out/index.html for `runs`; return its path."""
    out.mkdir(parents=True, exist_ok=True)
    page = out / "index.html"
    body = [_contents(runs, seconds, out)] + [_section(r, out) for r in runs]
    page.write_text(_page("Where the gradient comes from: questions about gradient descent, "
                          "answered by autograd_mini", body), encoding="utf-8")
    return page


def _page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            f"<h1>{html.escape(title)}</h1>\n" + "\n".join(body) + "\n</body>\n</html>\n")


def _heading(run: Run) -> str:
    """The question as the report asks it: the asker's words where we have them."""
    if run.name in LESSONS:
        return LESSONS[run.name].heading
    return run.result.title if run.result is not None else run.name


def _contents(runs: Sequence[Run], seconds: float, out: Path) -> str:
    """The opening: what the page is, and one line per question with its verdict."""
    rows = []
    for r in runs:
        cls, word = ("pass", "PASS") if r.passed else ("fail", "FAIL")
        rel = f"{r.result.max_rel:.1e}" if r.result is not None else "—"
        rows.append(f"<tr><td><a href=\"#{r.name}\">{html.escape(_heading(r))}</a></td>"
                    f"<td>{_question(r.name)}</td><td class=\"num\">{rel}</td>"
                    f"<td class=\"{cls}\">{word}</td><td class=\"num\">{r.seconds:.1f} s</td>"
                    "</tr>")
    tutorial = _tutorial(out)
    more = (f" The <a href=\"{html.escape(tutorial)}\">tutorial</a> walks through the first "
            "question step by step." if tutorial else "")
    return ("<p>People learning gradient descent are handed a line such as "
            "<code>gradient = X.T.dot(error) / len(X)</code> and ask where it comes from: why "
            "it is a gradient, why the transpose, why divide by N, how large a step to take. "
            "Each section below takes one such question, writes the loss the way the math "
            "reads, and lets autograd_mini derive the gradient by backpropagation. It puts the "
            "result beside the line from the question, shows the chain-rule step behind each "
            "factor, the NumPy code backpropagation wrote, and the graph it walked. The last "
            "two sections take the next step, to classification." + more + "</p>\n"
            "<table class=\"contents\"><tr><th>question</th><th>asked in (or data)</th>"
            "<th>autodiff vs by hand, max rel diff</th><th>result</th><th>time</th></tr>\n"
            + "\n".join(rows)
            + f"\n</table>\n<p>PASS: every gradient agrees with the hand-derived one to "
            f"{TOLERANCE:.0e} (relative) and every stated check holds. All of them ran in "
            f"{seconds:.1f} s; re-run one with <code>autograd-mini compare NAME</code>, e.g. "
            "<code>autograd-mini compare mse_gradient</code>.</p>")


def _tutorial(out: Path) -> str | None:
    """A relative link to the docs site's tutorial page, if it has been built beside this
    package's sources (None otherwise: a link that may not resolve is worse than none)."""
    for page in (SITE / "why-xt.html", SITE / "why-xt" / "index.html"):
        if page.is_file():
            return Path(os.path.relpath(page, out.resolve())).as_posix()
    return None


def _section(run: Run, out: Path) -> str:
    """One example as a lesson: question, answer, table, code, graph, plots."""
    parts = [f"<section id=\"{run.name}\">", f"<h2>{html.escape(_heading(run))}</h2>"]
    source = _question(run.name)
    if source:
        lead = "Data" if QUESTIONS[run.name].kind == "data set" else "Asked in"
        parts.append(f"<p class=\"source\">{lead}: {source}</p>")
    if run.name in LESSONS:
        parts.append(f"<p>{_inline_code(LESSONS[run.name].asks)}</p>")
    result = run.result
    if run.error:
        parts.append("<p class=\"fail\">This example stopped with an error:</p>")
        parts.append(f"<pre>{html.escape(run.error)}</pre>")
    if result is not None:
        parts += _answer(result)
        parts += _comparison(result)
        parts += _written(result)
        parts += _pictures(result, out)
    parts.append("<details><summary>Everything this example printed</summary>"
                 f"<pre>{html.escape(run.output)}</pre></details>")
    parts.append("</section>")
    return "\n".join(parts)


def _inline_code(text: str) -> str:
    """Escaped text with `backquoted` spans set as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text, quote=False))


def _answer(result: Comparison) -> list[str]:
    """The answer in prose, then the derivation's result (its steps folded away)."""
    parts = ["<h3>The answer</h3>"]
    if result.answer_text:
        parts.append(f"<p class=\"answer\">{html.escape(result.answer_text)}</p>")
    if result.explanation:
        key = key_lines(result.explanation)
        parts.append("<p>Backpropagation through the recorded graph, read symbolically, "
                     "gives:</p>")
        parts.append(f"<pre class=\"derivation\">{html.escape(key)}</pre>")
        parts.append("<details><summary>The chain rule, one step per op: where each factor "
                     "comes from</summary>"
                     f"<pre>{html.escape(result.explanation)}</pre></details>")
    return parts


def key_lines(explanation: str) -> str:
    """The lines of an explanation that state the result: what is differentiated, the
    gradient(s) and the names they use (the steps in between left out)."""
    lines = explanation.splitlines()
    kept = lines[:1] + [""] + [line for line in lines[1:]
                               if line.startswith(("∂", "  where"))]
    return "\n".join(kept).strip()


def _comparison(result: Comparison) -> list[str]:
    """The rows as an HTML table, then the conventions, the checks and the verdict."""
    head = ("gradient", "by hand", "autodiff", "by hand, value", "max abs diff",
            "max rel diff")
    rows = ["<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for r in result.rows:
        cells = [html.escape(r.name), html.escape(r.formula)]
        cells += [f"<span class=\"num\">{html.escape(_preview(a))}</span>"
                  for a in (r.autodiff, r.closed)]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells)
                    + f"<td class=\"num\">{r.max_abs:.1e}</td>"
                    f"<td class=\"num\">{r.max_rel:.1e}</td></tr>")
    parts = ["<h3>Autodiff next to the gradient derived by hand</h3>",
             "<table class=\"rows\">" + "\n".join(rows) + "</table>"]
    if result.notes:
        parts.append("<ul class=\"notes\">" + "".join(f"<li>{_inline_code(n)}</li>"
                                                       for n in result.notes) + "</ul>")
    if result.checks:
        parts.append("<p>Also checked:</p><ul class=\"checks\">"
                     + "".join(f"<li{'' if ok else ' class=no'}>{html.escape(label)}</li>"
                               for label, ok in result.checks) + "</ul>")
    word = ("<span class=\"pass\">They agree</span>" if result.passed
            else "<span class=\"fail\">They do not agree</span>")
    parts.append(f"<p>{word}: the largest relative difference is {result.max_rel:.1e} "
                 f"(tolerance {TOLERANCE:.0e}).</p>")
    return parts


def _written(result: Comparison) -> list[str]:
    """The code backpropagation wrote, beside the hand-written line it stands for."""
    w = result.written
    if w is None:
        return []
    return ["<h3>The code backpropagation wrote</h3>",
            "<p>The same reverse sweep, run once more with a reading that writes NumPy instead "
            "of computing it (<code>am.compile</code>); run on the same arrays it gives "
            f"autodiff's gradient (relative difference {w.max_rel:.1e}).</p>",
            "<div class=\"code-pair\">"
            f"<p>{html.escape(w.source[:1].upper() + w.source[1:])}:</p>"
            f"<pre class=\"hand\"><code>{html.escape(w.hand)}</code></pre>"
            "<p>Written by backpropagation, from the loss alone:</p>"
            f"<pre class=\"written\"><code>{html.escape(w.code.rstrip())}</code></pre></div>"]


def _pictures(result: Comparison, out: Path) -> list[str]:
    """The graph (backward view open, forward folded), the plots and other files."""
    parts: list[str] = []
    files = [f for f in result.files if f.exists()]
    graphs = {("backward" if f.stem.endswith("backward") else "forward"): f
              for f in files if f.suffix == ".svg"}
    if graphs:
        parts.append("<h3>The graph backpropagation walked</h3>")
    if "backward" in graphs:
        parts.append(_figure(graphs["backward"], out, _BACKWARD, graph=True))
    if "forward" in graphs:
        parts.append("<details><summary>The same graph, forward: how the loss was computed"
                     "</summary>" + _figure(graphs["forward"], out, _FORWARD, graph=True)
                     + "</details>")
    plots = [f for f in files if f.suffix == ".png"]
    if plots:
        parts.append("<h3>Plots</h3>")
        parts += [_figure(f, out, result.captions.get(f) or f.stem.replace("_", " "))
                  for f in plots]
    shown = set(graphs.values()) | set(plots)
    others = [f for f in files if f not in shown
              and not (f.suffix == ".dot" and f.with_suffix(".svg") in shown)]
    if others:
        parts.append("<p>Also written: " + ", ".join(_link(f, out) for f in others) + "</p>")
    return parts


_KEY = ("Green boxes are the parameters, dashed grey ones data, the yellow one the loss; "
        "blue ellipses are ops.")
_BACKWARD = ("Read from the loss at the top down to the parameters. Each red edge carries what its "
             "op sends back to that input, written in the tensors' names; ḡ stands for the "
             "gradient arriving at the op from above, ∂L/∂(the op's output). Grey dotted edges "
             "lead to data, which gets no gradient. " + _KEY + " Each box shows the tensor's "
             "shape and values and, for a parameter, the gradient backpropagation found.")
_FORWARD = ("Each box is a tensor (its name, shape, dtype and values), each ellipse the op that "
            "made the box below it. " + _KEY)


def _svg_size(svg: Path) -> tuple[float, float] | None:
    """The width and height Graphviz gave the SVG, in points."""
    head = svg.read_text(encoding="utf-8", errors="replace")[:2000]
    found = re.search(r'<svg[^>]*\bwidth="([\d.]+)pt"[^>]*\bheight="([\d.]+)pt"', head)
    return (float(found.group(1)), float(found.group(2))) if found else None


def _figure(path: Path, out: Path, caption: str, graph: bool = False) -> str:
    """An embedded picture, with a caption linking the file (and the .dot beside an SVG).

    A graph is shown at its natural size (1pt = 4/3 px, so 11pt node text is about 15 px) in
    a box that scrolls sideways if it is wider than the column, never shrunk to fit.
    """
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    dot = path.with_suffix(".dot")
    links = _link(path, out) + (" · " + _link(dot, out) if dot.exists() else "")
    size = _svg_size(path) if graph else None
    attrs = ""
    if size is not None:
        w, h = (round(v * _PX_PER_PT) for v in size)
        attrs = f" width=\"{w}\" height=\"{h}\" style=\"max-width: none\""
    else:
        attrs = " style=\"max-width: 100%\""
    kind = " class=\"graph\"" if graph else ""
    return (f"<figure{kind}><div class=\"scroll\"><img alt=\"{html.escape(caption)}\"{attrs} "
            f"src=\"data:{_MIME[path.suffix]};base64,{data}\"></div>"
            f"<figcaption>{html.escape(caption)} ({links})</figcaption></figure>")


def _question(name: str) -> str:
    """The question an example answers (or its data set): the title, linked if it can be."""
    q = QUESTIONS.get(name)
    if q is None:
        return ""
    title = f"“{html.escape(q.title)}”"
    if q.url:
        title = f"<a href=\"{html.escape(q.url)}\">{title}</a>"
    return f"{title} ({html.escape(q.where)})"


def _link(path: Path, out: Path) -> str:
    """A relative link from out/index.html to `path`."""
    href = Path(os.path.relpath(path, out)).as_posix()
    return f"<a href=\"{html.escape(href)}\">{html.escape(path.name)}</a>"
