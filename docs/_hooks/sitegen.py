"""What the pages generate at build time: reference entries, gallery sections, pictures.

The gallery runs each example exactly as `autograd-mini compare NAME` does, into a temporary
folder, and embeds what it printed and the files it wrote, so every number and picture on
those pages is the library's output at build time.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import html
import importlib
import importlib.util
import inspect
import io
import re
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


def api_path(module: str, name: str) -> str | None:
    """Where mkdocstrings finds `module.name`: the module that defines it.

    `am.explain` is a function, but `autograd_mini.explain` is also a submodule, and the
    reference must show the function: so each name is looked up where it is defined. None
    when that path is itself a submodule (am.tensor, defined in the package beside the module
    tensor.py): such an entry is written from the signature and docstring instead.
    """
    obj = getattr(MODULES[module], name)
    path = f"{getattr(obj, '__module__', module)}.{getattr(obj, '__qualname__', name)}"
    try:
        clash = importlib.util.find_spec(path) is not None
    except ModuleNotFoundError:
        clash = False
    return None if clash else path


def plain_entry(module: str, name: str) -> str:
    """A reference entry written from the signature and docstring (for the names above)."""
    obj = getattr(MODULES[module], name)
    doc = inspect.getdoc(obj) or ""
    return "\n".join([f"### {name}", "", "```python", f"{name}{inspect.signature(obj)}", "```",
                      "", doc.replace("\n", "\n\n", 0), ""])


def api_entries(module: str, names: list[str] | None = None) -> str:
    """One reference entry per name (default: every public name of `module`)."""
    entries = []
    for name in api_names(module) if names is None else names:
        path = api_path(module, name)
        entries.append(f"::: {path}" if path else plain_entry(module, name))
    return "\n\n".join(entries)


def expand_reference(markdown: str) -> str:
    """Expand a reference page's markers into mkdocstrings entries.

    `<!-- api: MODULE: NAME NAME … -->` lists chosen names under a heading of the page;
    `<!-- public-api: MODULE -->` lists every other public name of MODULE, so a new public
    name appears in the reference without anyone editing the page.
    """
    chosen: dict[str, list[str]] = {}

    def one_group(m: re.Match[str]) -> str:
        module, names = m.group(1), m.group(2).split()
        unknown = [n for n in names if n not in api_names(module)]
        if unknown:
            raise ValueError(f"reference lists names {module} does not export: {unknown}")
        chosen.setdefault(module, []).extend(names)
        return api_entries(module, names)

    markdown = GROUP.sub(one_group, markdown)
    return REST.sub(lambda m: api_entries(m.group(1), [
        n for n in api_names(m.group(1)) if n not in chosen.get(m.group(1), [])]), markdown)


GROUP = re.compile(r"<!-- api: ([\w.]+): ([\w ]+?) -->")
REST = re.compile(r"<!-- public-api: ([\w.]+) -->")


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

@functools.cache
def run_example(name: str) -> tuple[Any, str, Path]:
    """Run examples/NAME.py's main() into a fresh folder; (its Comparison, its output, folder)."""
    out = Path(tempfile.mkdtemp(prefix=f"am-docs-{name}-"))
    module = importlib.import_module(f"autograd_mini.examples.{name}")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        result = module.main(out=out)
    return result, buffer.getvalue(), out


def summary() -> str:
    """The demo's one line per example (`autograd-mini demo`), from this build's runs."""
    from autograd_mini.cli import EXAMPLES

    lines = []
    for name in EXAMPLES:
        result = run_example(name)[0]
        lines.append(f"{name:20} max rel diff {result.max_rel:.1e}  "
                     f"{'PASS' if result.passed else 'FAIL'}")
    return "\n".join(lines)


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


# ---- benchmarks ---------------------------------------------------------------------------

def benchmark_table(results: str = "docs/benchmarks.json") -> str:
    """The table `python benchmarks/run.py` prints, for the results it saved with --json.

    Run in a subprocess: the benchmark script pins BLAS to one thread through the environment
    when imported, which must not leak into the rest of the build.
    """
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    code = ("import json, sys; sys.path.insert(0, 'benchmarks'); import run; "
            f"print(run.table(json.load(open({results!r}, encoding='utf-8'))))")
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                          text=True, check=True)
    return done.stdout.rstrip()
