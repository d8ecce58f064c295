"""What the pages generate at build time: reference entries, gallery sections, pictures.

The gallery runs each example exactly as `autograd-mini compare NAME` does, into a temporary
folder, and embeds what it printed and the files it wrote, so every number and picture on
those pages is the library's output at build time.
"""

from __future__ import annotations

import base64
import contextlib
import html
import importlib
import io
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

import autograd_mini as am
from autograd_mini.compare import QUESTIONS

MODULES = {"autograd_mini": am, "autograd_mini.nn": am.nn, "autograd_mini.optim": am.optim}


def api_names(module: str) -> list[str]:
    """The public names of `module` the reference documents, in `__all__` order."""
    mod = MODULES[module]
    return [n for n in mod.__all__ if not isinstance(getattr(mod, n), ModuleType)]


def api_entries(module: str) -> str:
    """One mkdocstrings block per public name of `module`."""
    return "\n\n".join(f"::: {module}.{name}" for name in api_names(module))


# ---- pictures -----------------------------------------------------------------------------

def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def picture(path_or_bytes: Path | bytes, alt: str, mime: str | None = None,
            caption: str = "") -> str:
    """An <img> at its own size in a box that scrolls sideways when it is wider than the page.

    Graphs are drawn 1:1 so their text stays as large as Graphviz set it; shrinking a wide
    graph into the column would make it unreadable.
    """
    if isinstance(path_or_bytes, Path):
        data = path_or_bytes.read_bytes()
        mime = mime or {".svg": "image/svg+xml", ".png": "image/png"}[path_or_bytes.suffix]
    else:
        data = path_or_bytes
    img = (f'<img class="am-figure" alt="{html.escape(alt)}" '
           f'src="{data_uri(data, mime or "image/svg+xml")}">')
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f'<figure class="am-scroll">{img}{cap}</figure>'


def graph_svg(root: am.Tensor, **options: Any) -> str:
    """`am.draw_graph(root, **options)` rendered to SVG, as a picture for the page."""
    svg = am.draw_graph(root, **options).pipe(format="svg")
    view = "backward" if options.get("backward") else "forward"
    return picture(svg, f"the {view} graph", "image/svg+xml")


# ---- the gallery --------------------------------------------------------------------------

def run_example(name: str) -> tuple[Any, str, Path]:
    """Run examples/NAME.py's main() into a fresh folder; (its Comparison, its output, folder)."""
    out = Path(tempfile.mkdtemp(prefix=f"am-docs-{name}-"))
    module = importlib.import_module(f"autograd_mini.examples.{name}")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        result = module.main(out=out)
    return result, buffer.getvalue(), out


def question_line(name: str) -> str:
    q = QUESTIONS.get(name)
    if q is None:
        return ""
    what = "Data set" if q.kind == "data set" else "Question"
    title = f"[{q.title}]({q.url})" if q.url else f"“{q.title}”"
    return f"**{what}:** {title} ({q.where})"


def gallery(name: str) -> str:
    """The markdown of one gallery page below its heading: run, table, graphs, plots."""
    result, printed, out = run_example(name)
    if not result.passed:
        raise RuntimeError(f"example {name} failed while the docs were built:\n{printed}")
    parts = [question_line(name), "",
             f"Run it yourself: `autograd-mini compare {name}` or "
             f"`python examples/{name}.py --out DIR`. Everything below is that command's "
             "output, produced when this page was built.", "",
             "## What it printed", "", "```text", printed.rstrip(), "```", ""]
    svgs = [p for p in result.files if p.suffix == ".svg" and p.exists()]
    if svgs:
        parts += ["## The graph", "",
                  "Forward: what the loss computed, with each tensor's shape, value and, after "
                  "`backward()`, its gradient. Backward: the same graph reversed, each edge "
                  "labelled with the vector-Jacobian product it applies (ḡ is the gradient "
                  "arriving from above). The pictures are shown at full size: scroll sideways "
                  "when they are wider than the page.", ""]
        for p in svgs:
            view = "backward" if "backward" in p.stem else "forward"
            parts += [f"**{p.stem.replace('_', ' ')}**", "",
                      picture(p, f"{name}: {view} graph"), ""]
    pngs = [p for p in result.files if p.suffix == ".png" and p.exists()]
    if pngs:
        parts += ["## Plots", ""]
        for p in pngs:
            parts += [picture(p, f"{name}: {p.stem}", caption=result.captions.get(p, "")), ""]
    return "\n".join(parts)
