"""The demo's report: one self-contained index.html with every example's table, graphs and plots.

Pictures are embedded as data: URIs, so the page can be mailed or moved alone; each also links
to its file next to the page (relative paths, only to files that exist).
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .compare import QUESTIONS, TOLERANCE, Comparison

__all__ = ["Run", "write_report"]

_MIME = {".svg": "image/svg+xml", ".png": "image/png"}
_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em;
       color: #222; }
table.summary { border-collapse: collapse; }
table.summary td, table.summary th { border: 1px solid #ccc; padding: .3em .7em; }
.pass { color: #1a7f37; font-weight: bold; } .fail { color: #b42318; font-weight: bold; }
pre { background: #f6f8fa; padding: 1em; overflow-x: auto; font-size: 12px; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 13px; color: #555; }
section { border-top: 2px solid #ddd; margin-top: 2em; }
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
    body = [_summary(runs, seconds)] + [_section(r, out) for r in runs]
    page.write_text(_page("autograd_mini: autodiff next to the closed forms", body),
                    encoding="utf-8")
    return page


def _page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            f"<h1>{html.escape(title)}</h1>\n" + "\n".join(body) + "\n</body>\n</html>\n")


def _summary(runs: Sequence[Run], seconds: float) -> str:
    """The table at the top: one line per example, its worst relative difference, verdict."""
    rows = []
    for r in runs:
        cls, word = ("pass", "PASS") if r.passed else ("fail", "FAIL")
        rel = f"{r.result.max_rel:.1e}" if r.result is not None else "—"
        title = html.escape(r.result.title if r.result is not None else "")
        rows.append(f"<tr><td><a href=\"#{r.name}\">{r.name}</a></td><td>{title}</td>"
                    f"<td>{_question(r.name)}</td><td>{rel}</td><td class=\"{cls}\">{word}</td>"
                    f"<td>{r.seconds:.1f} s</td></tr>")
    return ("<p>Each example builds its loss from the library's primitive ops, lets autodiff "
            "find the gradient and compares it with the hand-derived closed form: the one in "
            "the question it answers, or, for the two classifiers, the gradient worked out by "
            "hand. PASS means every gradient agrees to "
            f"{TOLERANCE:.0e} (relative) and every stated check holds.</p>\n"
            "<table class=\"summary\"><tr><th>example</th><th>what it shows</th>"
            "<th>question or data set</th><th>max rel diff</th><th>result</th><th>time</th>"
            "</tr>\n"
            + "\n".join(rows)
            + f"\n</table>\n<p>Total {seconds:.1f} s. Re-run one with "
            "<code>autograd-mini compare NAME</code>.</p>")


def _section(run: Run, out: Path) -> str:
    """An example's printed output (table, explanation, verdict), then its pictures."""
    title = run.result.title if run.result is not None else "did not finish"
    parts = [f"<section id=\"{run.name}\">",
             f"<h2>{html.escape(run.name)}: {html.escape(title)}</h2>"]
    if run.name in QUESTIONS:
        lead = "Data set" if QUESTIONS[run.name].kind == "data set" else "Answers"
        parts.append(f"<p>{lead}: {_question(run.name)}</p>")
    parts.append(f"<pre>{html.escape(run.output)}</pre>")
    if run.error:
        parts.append(f"<pre class=\"fail\">{html.escape(run.error)}</pre>")
    files = run.result.files if run.result is not None else []
    pictures = [f for f in files if f.suffix in _MIME and f.exists()]
    graphs = [f for f in pictures if f.suffix == ".svg"]
    plots = [f for f in pictures if f.suffix != ".svg"]
    if graphs:
        parts.append("<h3>Graphs</h3>")
        parts += [_figure(f, out, _graph_caption(f)) for f in graphs]
    if plots:
        parts.append("<h3>Plots</h3>")
        captions = run.result.captions if run.result is not None else {}
        parts += [_figure(f, out, captions.get(f) or f.stem.replace("_", " ")) for f in plots]
    # .dot files beside an SVG are linked under their picture already.
    others = [f for f in files if f.suffix not in _MIME and f.exists()
              and not (f.suffix == ".dot" and f.with_suffix(".svg") in graphs)]
    if others:
        parts.append("<p>Files: " + ", ".join(_link(f, out) for f in others) + "</p>")
    parts.append("</section>")
    return "\n".join(parts)


def _question(name: str) -> str:
    """The question an example answers (or its data set): the title, linked if it can be."""
    q = QUESTIONS.get(name)
    if q is None:
        return ""
    title = f"“{html.escape(q.title)}”"
    if q.url:
        title = f"<a href=\"{html.escape(q.url)}\">{title}</a>"
    return f"{title} ({html.escape(q.where)})"


def _graph_caption(svg: Path) -> str:
    """Say which view a graph file shows."""
    if svg.stem.endswith("backward"):
        return ("backward view: each edge carries the vector-Jacobian product that sends "
                "∂L/∂(op output) back to an input")
    return "forward view: the operations that computed the loss"


def _figure(path: Path, out: Path, caption: str) -> str:
    """An embedded picture, with a caption linking the file (and the .dot beside an SVG)."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    dot = path.with_suffix(".dot")
    links = _link(path, out) + (" · " + _link(dot, out) if dot.exists() else "")
    return (f"<figure><img alt=\"{html.escape(path.name)}\" "
            f"src=\"data:{_MIME[path.suffix]};base64,{data}\">"
            f"<figcaption>{html.escape(caption)} ({links})</figcaption></figure>")


def _link(path: Path, out: Path) -> str:
    """A relative link from out/index.html to `path`."""
    href = Path(os.path.relpath(path, out)).as_posix()
    return f"<a href=\"{html.escape(href)}\">{html.escape(path.name)}</a>"
