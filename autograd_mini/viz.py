"""Drawing the recorded graph: `draw_graph` builds the DOT source, `render_graph` writes files.

Everything shown comes from the graph and the op table: a box per tensor (name, shape, dtype,
value, gradient), an ellipse per op (the op's label and its `expr` in the inputs' names), and
in the backward view one edge per input labelled with the op's symbolic VJP. Ids are stable
(`t0`, `op3`: the vertex's position in `toposort`), so the same graph gives the same bytes.

Rendering runs a Graphviz program as a subprocess: `dot` if it is on PATH, else the
`graphviz-pure` executable (pip's `autograd-mini[viz]` extra) on PATH or beside the Python
interpreter. `renderer=` or the AUTOGRAD_MINI_RENDERER environment variable names one instead.
The Digraph that `draw_graph` returns renders through the same search, so its own `.render()`,
`.pipe()`, `.view()` and Jupyter display work with graphviz-pure alone.
"""

from __future__ import annotations

import functools
import html
import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import graphviz
import numpy as np

from . import backends
from .engine import sweep
from .graph import Node, toposort
from .shapes import reduced_axes

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["draw_graph", "render_graph", "find_renderer", "RendererNotFoundError",
           "RenderError"]

RENDERER_ENV = "AUTOGRAD_MINI_RENDERER"
FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}
_FEW = 4  # arrays up to this size show every element; larger ones show min, mean and max
_GRAD_SYMBOL = "ḡ"

# Fill colours and styles per kind of vertex; the legend is drawn from this table too.
_STYLES: dict[str, dict[str, str]] = {
    "parameter": {"shape": "box", "style": "rounded,filled", "fillcolor": "#d9f2d0"},
    "constant": {"shape": "box", "style": "rounded,filled,dashed", "fillcolor": "#eeeeee"},
    "intermediate": {"shape": "box", "style": "rounded", "fillcolor": "white"},
    "root": {"shape": "box", "style": "rounded,filled,bold", "fillcolor": "#ffe3a3",
             "penwidth": "2"},
    "op": {"shape": "ellipse", "style": "filled", "fillcolor": "#dbe7f7"},
}
_LEGEND = {
    "parameter": "parameter (requires_grad)",
    "constant": "constant (data)",
    "intermediate": "intermediate",
    "root": "root",
    "op": "op",
}
_GRAD_EDGE = {"color": "#b03a2e", "fontcolor": "#b03a2e"}
_NO_GRAD_EDGE = {"color": "#aaaaaa", "style": "dotted", "arrowhead": "none"}
_REDUCE_EDGE = {"color": "#c0661a", "fontcolor": "#c0661a"}


class RendererNotFoundError(RuntimeError):
    """No Graphviz program to render with; the message says where the .dot file is."""


class RenderError(RuntimeError):
    """The renderer ran and failed; `.stderr` holds what it printed."""

    def __init__(self, message: str, stderr: str = "", returncode: int | None = None) -> None:
        super().__init__(message)
        self.stderr = stderr
        self.returncode = returncode


class GraphDrawing(graphviz.Digraph):
    """A `graphviz.Digraph` that renders with the program `find_renderer` picks.

    The plain Digraph runs `dot` by name, so with only graphviz-pure installed its `.render()`,
    `.pipe()`, `.view()` and Jupyter display all failed. Each of them ends in one of the three
    methods below, graphviz's (private) hooks for running the program; ours run the program we
    found with the command line graphviz would give `dot` (-K engine, -T format[:renderer
    [:formatter]]). Everything before that (file names, `outfile=`, `cleanup=`, the viewer) is
    graphviz's code, so the public methods keep graphviz's signatures and behaviour. The tests
    call each public method with no `dot` on PATH, so a graphviz that renamed a hook fails them.

    Note that graphviz's `renderer=` argument is an output renderer such as "cairo", not the
    program: name the program with $AUTOGRAD_MINI_RENDERER.
    """

    def _render(self, engine: str, format: str, filepath: str | os.PathLike[str],
                renderer: str | None = None, formatter: str | None = None,
                neato_no_op: bool | int | None = None, quiet: bool = False, *,
                outfile: str | os.PathLike[str] | None = None,
                raise_if_result_exists: bool = False,
                overwrite_filepath: bool = False) -> str:
        """Render the saved source `filepath`; return the image's path, as graphviz does.

        Without `outfile` the image is the source's name plus the format ("g.gv.svg").
        """
        if raise_if_result_exists and overwrite_filepath:
            raise ValueError("overwrite_filepath cannot be combined with "
                             "raise_if_result_exists")
        source = Path(filepath)
        fmt = _format_flag(format, renderer, formatter)
        if outfile is None:  # graphviz's name: g.gv.svg, or g.gv.cairo.png with a renderer
            suffix = ".".join(p for p in (formatter, renderer, format) if p is not None)
            target = Path(f"{os.fspath(filepath)}.{suffix}")
        else:
            target = Path(outfile)
            if not overwrite_filepath and target.resolve() == source.resolve():
                raise ValueError(f"outfile {target.name!r} must be different from input file "
                                 f"{source.name!r} (pass overwrite_source=True to override)")
        if raise_if_result_exists and target.exists():
            raise graphviz.FileExistsError(f"output file exists: {os.fspath(target)!r}")
        _render(_program(), fmt, source, target, _engine_flags(engine, neato_no_op), quiet)
        return os.fspath(target)

    def _pipe_lines(self, engine: str, format: str, input_lines: Iterable[str], *,
                    input_encoding: str, renderer: str | None = None,
                    formatter: str | None = None, neato_no_op: bool | int | None = None,
                    quiet: bool = False) -> bytes:
        """The image of the DOT source `input_lines`, as bytes."""
        fmt = _format_flag(format, renderer, formatter)
        data = "".join(input_lines).encode(input_encoding)
        return _pipe(_program(), data, fmt, _engine_flags(engine, neato_no_op), quiet)

    def _pipe_lines_string(self, engine: str, format: str, input_lines: Iterable[str], *,
                           encoding: str, renderer: str | None = None,
                           formatter: str | None = None,
                           neato_no_op: bool | int | None = None, quiet: bool = False) -> str:
        """The same, with the source encoded and the image decoded with `encoding`."""
        return self._pipe_lines(engine, format, input_lines, input_encoding=encoding,
                                renderer=renderer, formatter=formatter,
                                neato_no_op=neato_no_op, quiet=quiet).decode(encoding)


def _program() -> str:
    """The renderer for a GraphDrawing's own methods, or an error saying how to get one."""
    exe = find_renderer()
    if exe is None:
        raise RendererNotFoundError(
            f"cannot render the graph: {_looked_for(None)}.\n{_INSTALL}then try again.")
    return exe


def _format_flag(format: str, renderer: str | None, formatter: str | None) -> str:
    """What follows -T: 'png', or with an output renderer and formatter 'png:cairo:gd'."""
    if formatter is not None and renderer is None:
        raise graphviz.RequiredArgumentError("formatter given without renderer")
    return ":".join(part for part in (format, renderer, formatter) if part is not None)


def _engine_flags(engine: str, neato_no_op: bool | int | None) -> list[str]:
    return [f"-K{engine}"] + ([f"-n{int(neato_no_op)}"] if neato_no_op else [])


# ---- draw_graph ----------------------------------------------------------------------------


def draw_graph(root: Tensor | Node, *, show_grad: bool = True, show_values: bool = True,
               backward: bool = False, rankdir: str = "LR",
               max_nodes: int | None = 500, legend: bool = True) -> graphviz.Digraph:
    """The graph that computed `root`, as a `graphviz.Digraph` (shows inline in Jupyter).

    One box per tensor (its name, else L for the root and t1, t2, … for the others; shape,
    dtype, value, gradient once backward has run: a leaf's .grad, an intermediate's if it was
    retained) and one ellipse per op.
    `backward=True` reverses the edges and labels each with the op's VJP in the tensors'
    names, e.g. Xᵀ · ḡ into w, where ḡ = ∂L/∂(op output).
    `rankdir` is Graphviz's direction: "LR" left to right, "TB" top to bottom (narrower, for
    a page's column). `legend=False` leaves out the key to the colours and shapes.
    `show_values=False` leaves the values out of the boxes and `show_grad=False` the
    gradients (both are shown by default).
    `max_nodes` bounds the boxes and ellipses drawn (None: no bound). The Digraph's
    `.render()`, `.pipe()` and `.view()` use `find_renderer`; its default format is SVG.
    """
    top = _vertex_of(root)
    order = toposort(top, only_requires_grad=False)
    _check_size(order, max_nodes)
    ids = {id(v): k for k, v in enumerate(order)}
    names = _display_names(order, top)
    ctx = _Context(root, top, names, ids, show_grad, show_values, _backward_ran(order),
                   _kept_values(order))

    g = _Dot()
    for k, vertex in enumerate(order):  # inputs first, so every edge joins drawn nodes
        _draw_tensor(g, ctx, k, vertex)
        if isinstance(vertex, Node):
            _draw_op(g, ctx, k, vertex, backward)
    if legend:
        _draw_legend(g, backward, across=rankdir in ("TB", "BT"))
    return GraphDrawing(name="autograd_graph", format="svg", graph_attr={"rankdir": rankdir},
                        node_attr={"fontname": "Helvetica", "fontsize": "11"},
                        edge_attr={"fontname": "Helvetica", "fontsize": "10"}, body=g.lines)


def _display_names(order: list[Any], top: Any) -> list[str]:
    """Each vertex's name as drawn: the user's; an unnamed root is L, as explain calls it;
    other unnamed tensors are t1, t2, … in drawing order."""
    # Numbers count only the vertices that need one, so a reader sees no gaps; a name the user
    # already gave (say "t2" or "L") is skipped or primed, as explain primes, never repeated.
    taken = {v.name for v in order if v.name}
    names, count = [], 0
    for v in order:
        if v.name:
            names.append(v.name)
            continue
        if v is top:
            name = "L"
            while name in taken:
                name += "′"
        else:
            count += 1
            while f"t{count}" in taken:
                count += 1
            name = f"t{count}"
        taken.add(name)
        names.append(name)
    return names


class _Html(str):
    """A label to emit as a DOT HTML string, <…>, rather than a quoted one."""


class _Dot:
    """DOT statements as text, one line each, in the order drawn.

    Written here rather than through Digraph.node/edge: it is several times faster on big
    graphs, and the bytes depend only on this code.
    """

    def __init__(self, indent: str = "\t") -> None:
        self.lines: list[str] = []
        self.indent = indent

    def node(self, node_id: str, label: str, kind: str = "", **attrs: str) -> None:
        """A node; `kind` adds that kind's style, formatted once (big graphs repeat it)."""
        style = f" {_style_attrs(kind)}" if kind else ""
        self.lines.append(
            f"{self.indent}{node_id} [{_attr_list(label=label, **attrs)}{style}]\n")

    def edge(self, tail: str, head: str, **attrs: str) -> None:
        tail_head = f"{self.indent}{tail} -> {head}"
        self.lines.append(f"{tail_head} [{_attr_list(**attrs)}]\n" if attrs else
                          f"{tail_head}\n")


@functools.cache
def _style_attrs(kind: str) -> str:
    return _attr_list(**_STYLES[kind])


def _attr_list(**attrs: str) -> str:
    return " ".join(f"{k}={_quote(v)}" for k, v in attrs.items())


def _quote(value: str) -> str:
    if isinstance(value, _Html):
        return f"<{value}>"
    return '"' + value.replace('"', '\\"') + '"'


class _Context:
    """What every node and edge of one drawing needs to know."""

    def __init__(self, root: Any, top: Any, names: list[str], ids: dict[int, int],
                 show_grad: bool, show_values: bool, after_backward: bool,
                 kept: dict[int, np.ndarray]) -> None:
        self.root, self.top, self.names, self.ids = root, top, names, ids
        self.show_grad, self.show_values = show_grad, show_values
        self.after_backward, self.kept = after_backward, kept
        self.shapes = _rule_shapes(top)

    def name(self, vertex: Any) -> str:
        return self.names[self.ids[id(vertex)]]

    def tid(self, vertex: Any) -> str:
        return f"t{self.ids[id(vertex)]}"


def _vertex_of(root: Any) -> Any:
    """The graph vertex behind `root`: its Node if an op made it, else the leaf itself."""
    if isinstance(root, Node):
        return root
    if not hasattr(root, "requires_grad") or not hasattr(root, "shape"):
        raise TypeError(f"draw_graph: expected a Tensor, got {type(root).__name__}")
    return root.vertex


def _check_size(order: list[Any], max_nodes: int | None) -> None:
    """Refuse graphs too big to read or lay out, before building anything."""
    ops = sum(isinstance(v, Node) for v in order)
    drawn = len(order) + ops  # a box per tensor, an ellipse per op
    if max_nodes is not None and drawn > max_nodes:
        raise ValueError(
            f"draw_graph: this graph has {drawn:,} nodes to draw ({len(order):,} tensors and "
            f"{ops:,} ops), more than max_nodes={max_nodes}. Pass max_nodes={drawn} (or "
            "max_nodes=None) to draw it anyway, though Graphviz lays out large graphs slowly, "
            "or draw a sub-graph by passing an intermediate tensor as the root.")


def _backward_ran(order: list[Any]) -> bool:
    """Whether backward() has swept this graph (it frees nodes or fills leaves' .grad)."""
    return any(v.freed if isinstance(v, Node) else v.grad is not None for v in order)


def _kept_values(order: list[Any]) -> dict[int, np.ndarray]:
    """Intermediate values still held by the ops that saved them for their VJP."""
    kept: dict[int, np.ndarray] = {}
    for v in order:
        saved = v.saved if isinstance(v, Node) else None
        if saved is None or len(saved) != len(v.inputs):
            continue
        for parent, array in zip(v.inputs, saved, strict=True):
            if isinstance(parent, Node) and np.shape(array) == parent.shape:
                kept[id(parent)] = _values(array)
    return kept


# ---- tensors -------------------------------------------------------------------------------


def _kind(ctx: _Context, vertex: Any) -> str:
    if vertex is ctx.top:
        return "root"
    if isinstance(vertex, Node):
        return "intermediate"
    return "parameter" if vertex.requires_grad else "constant"


def _draw_tensor(g: _Dot, ctx: _Context, k: int, vertex: Any) -> None:
    lines = [f"<b>{_html(ctx.names[k])}</b>",
             _small(f"{_shape(vertex.shape)} {_dtype_name(vertex.dtype)}")]
    if ctx.show_values:
        lines.append(_value_line(ctx, vertex))
    if ctx.show_grad:
        lines.extend(_grad_line(ctx, vertex))
    g.node(f"t{k}", _Html("<br/>".join(lines)), kind=_kind(ctx, vertex))


def _value_line(ctx: _Context, vertex: Any) -> str:
    value = _value(ctx, vertex)
    if isinstance(value, str):
        return _small(f"<i>{value}</i>", escape=False)
    return _html(summarize(value))


def _value(ctx: _Context, vertex: Any) -> np.ndarray | str:
    """The tensor's values if anything still holds them, else why they are not shown."""
    if not isinstance(vertex, Node):
        return _values(vertex.data)
    if vertex is ctx.top and hasattr(ctx.root, "data"):
        return _values(ctx.root.data)
    out = vertex.out_ref() if vertex.out_ref is not None else None
    if out is not None:
        return _values(out.data)
    if vertex.saved_out is not None:
        return _values(vertex.saved_out)
    if id(vertex) in ctx.kept:
        return ctx.kept[id(vertex)]
    return "value freed" if vertex.freed else "value not kept"


def _grad_line(ctx: _Context, vertex: Any) -> list[str]:
    # Leaves keep .grad; an intermediate's gradient outlives the sweep only on its Node, and
    # only if the user asked for it (t.retain_grad()). getattr: a Node from before that
    # protocol has no such slot.
    grad = getattr(vertex, "grad", None)
    if grad is not None:
        return [f'<font color="#b03a2e">grad {_html(summarize(grad))}</font>']
    if isinstance(vertex, Node) and ctx.after_backward and vertex is not ctx.top:
        return [_small("<i>grad not kept</i>", escape=False)]
    return []


def _values(a: Any) -> Any:
    """An array to summarize: a Dask array stays lazy (summarize says so), a CuPy one comes to
    the host, anything else becomes an ndarray."""
    return a if backends.is_lazy(a) else backends.to_numpy(a) if backends.is_foreign(a) \
        else np.asarray(a)


def summarize(a: Any) -> str:
    """A short, deterministic text for an array: its value, a few elements or min/mean/max."""
    if backends.is_lazy(a):
        return "lazy (dask): compute to see values"  # drawing never runs the task graph
    a = _values(a)
    if a.size == 0:
        return "empty"
    if a.size == 1:
        return _num(a.reshape(-1)[0])
    if a.size <= _FEW:
        return "[" + ", ".join(_num(x) for x in a.reshape(-1)) + "]"
    with np.errstate(all="ignore"):  # inf or nan entries summarize as inf or nan
        return f"min {_num(a.min())}, mean {_num(a.mean())}, max {_num(a.max())}"


def _num(x: Any) -> str:
    return f"{float(x):.4g}"


@functools.lru_cache(maxsize=64)
def _dtype_name(dtype: np.dtype) -> str:
    return str(dtype)  # cached: str(dtype) is slow enough to show on 100,000-op graphs


def _shape(shape: tuple[int, ...]) -> str:
    """(100,1), (1,), (): the compact form the edge labels use too."""
    return "(" + ",".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _html(text: str) -> str:
    return html.escape(text, quote=False)


def _small(text: str, escape: bool = True) -> str:
    return f'<font point-size="9" color="#555555">{_html(text) if escape else text}</font>'


# ---- ops and edges -------------------------------------------------------------------------


def _draw_op(g: _Dot, ctx: _Context, k: int, node: Node, backward: bool) -> None:
    names = [ctx.name(p) for p in node.inputs]
    expr = _fill(node.op.expr, names, ctx.names[k], node.params)
    label = _Html(f"<b>{_html(node.label)}</b><br/>{_small(expr)}")
    g.node(f"op{k}", label, kind="op")
    if backward:
        _backward_edges(g, ctx, k, node, names)
    else:
        _forward_edges(g, ctx, k, node)


def _forward_edges(g: _Dot, ctx: _Context, k: int, node: Node) -> None:
    for i, parent in enumerate(node.inputs):
        note = _reduction_note(node, i, ctx)
        attrs = {"label": _plain(note), **_REDUCE_EDGE} if note else {}
        g.edge(ctx.tid(parent), f"op{k}", **attrs)
    g.edge(f"op{k}", f"t{k}")


def _backward_edges(g: _Dot, ctx: _Context, k: int, node: Node,
                    names: list[str]) -> None:
    """Gradient flow: output → op with ḡ, then op → each input with the op's VJP for it."""
    g.edge(f"t{k}", f"op{k}", label=_GRAD_SYMBOL, **_GRAD_EDGE)
    for i, parent in enumerate(node.inputs):
        if not parent.requires_grad:  # the engine computes no gradient for constants
            g.edge(f"op{k}", ctx.tid(parent), **_NO_GRAD_EDGE)
            continue
        parts = [_vjp_text(node, i, names, ctx.names[k])]
        note = _reduction_note(node, i, ctx)
        if note:
            parts.append(note)
        g.edge(f"op{k}", ctx.tid(parent), label="\\n".join(_plain(p) for p in parts),
               **_GRAD_EDGE)


def _reduction_note(node: Node, i: int, ctx: _Context) -> str:
    """'sum over axis 0: (100,1) → (1,)' when the engine sums input i's gradient back."""
    parent = node.inputs[i]
    big = ctx.shapes.get((id(node), i))
    if big is None or big == parent.shape or len(big) < len(parent.shape):
        return ""
    axes = reduced_axes(big, parent.shape)
    if not axes:
        return ""
    which = f"axis {axes[0]}" if len(axes) == 1 else "axes " + ", ".join(map(str, axes))
    return f"sum over {which}: {_shape(big)} → {_shape(parent.shape)}"


def _stand_in(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    return np.broadcast_to(np.zeros((), dtype=dtype), shape)  # zero-stride: no memory


class _RuleShapes:
    """The reverse sweep's shape reading: values are zero-stride stand-ins, and each rule's
    result shape is recorded before the sweep sums it back to its input's shape (where that
    differs, the edge is labelled with the sum). It holds for every op of the table: a
    matmul of (m,1) by (1,n) reduces nothing; a batched matmul or a broadcasting add does.
    """

    def __init__(self) -> None:
        self.found: dict[tuple[int, int], tuple[int, ...]] = {}

    def enter(self, node: Node, g: Any) -> Any:
        return _stand_in(node.shape, node.dtype), [_stand_in(p.shape, p.dtype)
                                                   for p in node.inputs]

    def rule(self, node: Node, i: int, g: Any, inputs: Any) -> Any:
        parent = node.inputs[i]
        if parent.shape != node.shape:  # only there can the rule's shape differ
            g_out, xs = inputs
            try:
                with np.errstate(all="ignore"):
                    shape = np.shape(node.op.vjp(i)(g_out, *xs, out=g_out, **node.params))
                self.found[(id(node), i)] = tuple(shape)
            except Exception:  # a rule that needs real values: better no label than a wrong one
                pass
        return _stand_in(parent.shape, parent.dtype)

    def leave(self, node: Node) -> None:
        pass


def _rule_shapes(top: Any) -> dict[tuple[int, int], tuple[int, ...]]:
    reading = _RuleShapes()
    if isinstance(top, Node) and top.requires_grad:
        sweep(top, _stand_in(top.shape, top.dtype), reading)
    return reading.found


def _vjp_text(node: Node, i: int, names: list[str], out: str) -> str:
    """The op's rule for input i applied to the tensors' names, as the explainer does: 'Xᵀ · ḡ'."""
    from . import symbolic  # the expression algebra, as the explainer uses it

    xs = [symbolic.Sym(n, p.shape) for n, p in zip(names, node.inputs, strict=True)]
    try:
        e = node.op.formula(i)(symbolic.Sym(_GRAD_SYMBOL, node.shape), *xs,
                               out=symbolic.Sym(out, node.shape), **node.params)
        printer = symbolic.Printer()
        text = str(printer(e))
    except Exception:  # a drawing must not fail on one formula the algebra cannot print
        return f"∂L/∂{names[i]} by {node.op.name}'s rule"
    sizes = ", ".join(f"{letter} = {n}" for n, letter in printer.sizes.items())
    return f"{text}   ({sizes})" if sizes else text


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _fill(template: str, names: list[str], out: str, params: dict[str, Any]) -> str:
    """An op's template in the tensors' names: '{0}ᵀ · {g}' → 'Xᵀ · ḡ'.

    {0}, {1}… are the inputs, {g} the upstream gradient, {out} the output, other words the
    op's params; a placeholder with nothing to fill it stays as written.
    """
    def value(m: re.Match[str]) -> str:
        key = m.group(1)
        if key.isdigit():
            return names[int(key)] if int(key) < len(names) else m.group(0)
        if key == "g":
            return _GRAD_SYMBOL
        if key == "out":
            return out
        return _param(params[key]) if key in params else m.group(0)
    return _PLACEHOLDER.sub(value, template)


def _param(value: Any) -> str:
    """A param as it reads in a formula: 2 not 2.0, 1: for a slice, (5,) for an index array."""
    if isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_)):
        return f"{value:g}"
    if isinstance(value, np.ndarray):
        return f"array{_shape(value.shape)}"
    if isinstance(value, slice):
        ends = ("" if v is None else str(v) for v in (value.start, value.stop, value.step))
        return ":".join(ends).rstrip(":") or ":"
    if isinstance(value, tuple):
        return ", ".join(_param(v) for v in value)
    return "…" if value is Ellipsis else str(value)


def _plain(text: str) -> str:
    """Text for a quoted DOT label: backslashes kept literal (DOT reads them as escapes)."""
    return text.replace("\\", "\\\\")


def _draw_legend(g: _Dot, backward: bool, across: bool = False) -> None:
    """One small box per kind of vertex, in a row (chained by invisible edges).

    `across`: the graph runs top to bottom, where the chain would stand the legend up as a
    tall column beside it; unchained, its boxes all sit on the top rank, in a row.
    """
    legend = _Dot(indent="\t\t")
    legend.lines.append('\t\tgraph [color="#bbbbbb" fontname="Helvetica" fontsize="10" '
                        'label="legend"]\n')
    ids = [f"legend_{kind}" for kind in _LEGEND]
    for node_id, (kind, text) in zip(ids, _LEGEND.items(), strict=True):
        legend.node(node_id, text, kind=kind, fontsize="9")
    if backward:
        ids.append("legend_grad")
        legend.node("legend_grad", f"{_GRAD_SYMBOL} = ∂L/∂(op output)\\n"
                    "edge label: the VJP the op applies", fontsize="9", shape="plaintext")
    for a, b in zip(ids, ids[1:], strict=False):
        if not across:
            legend.edge(a, b, style="invis")
    g.lines += ["\tsubgraph cluster_legend {\n", *legend.lines, "\t}\n"]


# ---- render_graph --------------------------------------------------------------------------


def render_graph(root: Tensor | Node, path: str | os.PathLike[str], *,
                 renderer: str | None = None, **draw_options: Any) -> Path:
    """Draw `root`'s graph to `path` (.svg, .png or .pdf by suffix); write the .dot always.

    `draw_options` go to `draw_graph`. `renderer` names the Graphviz program (a name on PATH
    or a path); by default `find_renderer` picks one. The output appears whole or not at all.
    """
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"render_graph: cannot tell the format of {str(path)!r}; use a path "
                         f"ending in one of {', '.join(FORMATS)}")
    source = draw_graph(root, **draw_options).source
    dot_path = path if fmt == "dot" else path.with_suffix(".dot")
    _write_atomically(dot_path, source.encode("utf-8"))
    if fmt == "dot":
        return path
    exe = find_renderer(renderer)
    if exe is None:
        raise RendererNotFoundError(_no_renderer_message(dot_path, path, fmt, renderer))
    _render(exe, fmt, dot_path, path)
    return path


def find_renderer(renderer: str | None = None) -> str | None:
    """The Graphviz program to run, or None.

    `renderer` (or else $AUTOGRAD_MINI_RENDERER), when given, is the only candidate.
    Otherwise: `dot` on PATH, then `graphviz-pure` on PATH, then beside sys.executable
    (where pip puts it in a virtual environment that is not activated).
    """
    wanted = renderer or os.environ.get(RENDERER_ENV)
    if wanted:
        return _which(wanted)
    return shutil.which("dot") or _which("graphviz-pure")


def _which(program: str) -> str | None:
    """`program` on PATH, else beside sys.executable (pip's bin directory in a venv)."""
    return shutil.which(program) or shutil.which(program, path=str(Path(sys.executable).parent))


def _render(exe: str, fmt: str, dot_path: Path, path: Path, flags: Sequence[str] = (),
            quiet: bool = True) -> None:
    """Run the renderer into a temporary file beside `path`, then move it into place.

    `flags` go before -T; unless `quiet`, what the renderer prints on success (warnings) is
    passed on to stderr, as graphviz does.
    """
    tmp = _temporary_name(path)
    try:
        cmd = [exe, *flags, f"-T{fmt}", str(dot_path), "-o", str(tmp)]
        done = subprocess.run(cmd, capture_output=True, check=False)
        stderr = done.stderr.decode("utf-8", "replace").strip()
        if done.returncode != 0 or not tmp.exists() or tmp.stat().st_size == 0:
            raise RenderError(_failure_message(exe, fmt, dot_path, done.returncode, stderr),
                              stderr, done.returncode)
        _pass_on(stderr, quiet)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _pipe(exe: str, source: bytes, fmt: str, flags: Sequence[str] = (),
          quiet: bool = True) -> bytes:
    """Render DOT source given on stdin; return the image bytes."""
    done = subprocess.run([exe, *flags, f"-T{fmt}"], input=source, capture_output=True,
                          check=False)
    stderr = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode != 0:
        raise RenderError(_failure_message(exe, fmt, None, done.returncode, stderr),
                          stderr, done.returncode)
    _pass_on(stderr, quiet)
    return done.stdout


def _pass_on(stderr: str, quiet: bool) -> None:
    if stderr and not quiet:
        print(stderr, file=sys.stderr)


def _temporary_name(path: Path) -> Path:
    """A fresh hidden name beside `path`: os.replace from it is atomic (same file system)."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.part")


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = _temporary_name(path)
    try:
        with open(tmp, "xb") as f:  # not mkstemp: its 0600 mode would stick to the result
            f.write(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _failure_message(exe: str, fmt: str, dot_path: Path | None, code: int,
                     stderr: str) -> str:
    where = f" {dot_path}" if dot_path is not None else ""
    msg = (f"{Path(exe).name} could not render{where} as {fmt} (exit status {code}):\n"
           f"{stderr or '(it printed nothing)'}")
    if "graphviz-pure" in Path(exe).name and fmt.split(":")[0] not in ("svg", "png"):
        msg += ("\ngraphviz-pure writes SVG and PNG only; for PDF install Graphviz "
                "(apt-get install graphviz / brew install graphviz).")
    return msg


_INSTALL = ("To render, do one of:\n"
            "  pip install 'autograd-mini[viz]'    (graphviz-pure: SVG and PNG, no root)\n"
            "  apt-get install graphviz            (or: brew install graphviz)\n")


def _looked_for(renderer: str | None) -> str:
    wanted = renderer or os.environ.get(RENDERER_ENV)
    if wanted:
        return f"the renderer {wanted!r} was not found"
    return ("no Graphviz renderer was found (looked for `dot` on PATH, then `graphviz-pure` "
            f"on PATH and in {Path(sys.executable).parent})")


def _no_renderer_message(dot_path: Path, path: Path, fmt: str, renderer: str | None) -> str:
    command = shlex.join(["dot", f"-T{fmt}", str(dot_path), "-o", str(path)])
    return (f"render_graph: {_looked_for(renderer)}, so {path} was not drawn. The DOT source "
            f"was written to {dot_path}.\n{_INSTALL}"
            f"then call render_graph again, or run:\n  {command}")
