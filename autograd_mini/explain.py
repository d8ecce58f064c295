"""am.explain: the chain rule read off the recorded graph, one step per op, in the user's names.

    loss = ((X @ w - y) ** 2).mean()
    am.explain(loss, wrt=w).formula        # '2/N · Xᵀ · (X·w − y)'

The explainer runs the engine's reverse sweep (`engine.sweep`: the same toposort, the same
order, the same undoing of broadcasts) with a symbolic reading: each op's rule is applied to
expressions instead of arrays. So every factor of the result can be traced to the step
that made it: the 1/N to the mean, the 2 to the square, the Xᵀ to the matrix product.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from . import symbolic as sym
from .engine import backward, sweep
from .graph import Node, toposort
from .shapes import is_tensor, reduced_axes
from .symbolic import Expr, Printer, to_ascii

if TYPE_CHECKING:
    from .tensor import Tensor

G = "ḡ"  # the upstream gradient ∂L/∂(this op's output), in every local rule


@dataclass
class Part:
    """What one step sends to one input: the local rule (in ḡ) and the resulting expression."""

    input: Any  # the graph vertex
    index: int  # which input of the op it is
    target: Expr  # the input as written
    local: Expr
    result: Expr
    summed: tuple[int, ...]  # axes summed because the input was broadcast in the forward pass
    adds: bool  # the input already had a contribution (fan-out): this one is added to it


@dataclass
class Step:
    """One op on the way from the root to the wrt tensors."""

    vertex: Node
    written: Expr  # the op as the user wrote it
    upstream: Expr  # ḡ: the gradient that reached the op's output
    parts: list[Part]


def _vertex(t: Any) -> Any:
    """The graph vertex of a Tensor (its Node, or itself for a leaf), or a vertex as given."""
    return t.vertex if is_tensor(t) else t


def explain(root: Tensor, wrt: Tensor | Sequence[Tensor], *, ascii: bool = False,
            max_depth: int = 200) -> Explanation:
    """Derive ∂root/∂wrt symbolically from root's recorded graph; see `Explanation`.

    `root` must be a scalar (0-d) Tensor with a graph; `wrt` a tensor of that graph (a leaf
    with requires_grad=True, or a named intermediate) or a list of them. Graphs more than
    `max_depth` ops deep are refused: their formulas are too long to read anyway.
    `ascii=True` writes the formulas in plain ASCII (x**2, X.T @ g, sum(x), theta) instead of
    Unicode math (x², Xᵀ · ḡ, Σ(x), θ), and Jupyter then shows plain text instead of LaTeX.
    """
    if getattr(root, "ndim", None) != 0:
        raise ValueError(f"explain needs a scalar (0-d) root, got shape {np.shape(root)}: reduce "
                         "it first (.sum() or .mean()), as backward() would need.")
    targets = list(wrt) if isinstance(wrt, (list, tuple)) else [wrt]
    if not targets:
        raise ValueError("explain: wrt is empty; pass the tensor (or a list of tensors) to "
                         "differentiate with respect to")
    for t in targets:
        if not getattr(t, "requires_grad", False):
            who = repr(t.name) if getattr(t, "name", None) else "this tensor"  # type: ignore
            raise ValueError(f"explain: {who} does not require grad, so no gradient flows to "
                             "it. Create it with am.tensor(..., requires_grad=True).")
    depth = _depth(_vertex(root))
    if depth > max_depth:
        raise ValueError(f"explain: the graph is {depth} ops deep (more than max_depth="
                         f"{max_depth}); a derivation that long is unreadable. Explain a "
                         "smaller graph, or raise max_depth.")
    try:
        return Explanation(_vertex(root), [_vertex(t) for t in targets], ascii=ascii)
    except RecursionError:
        raise ValueError(f"explain: the formulas of this {depth}-op-deep graph nest too deeply "
                         "to print; explain a smaller piece of it.") from None


def _depth(root: Any) -> int:
    """The number of ops on the longest path from a leaf to `root` (iteratively)."""
    depth: dict[int, int] = {}
    for v in toposort(root):
        depth[id(v)] = 0 if not isinstance(v, Node) else 1 + max(
            (depth[id(p)] for p in v.inputs if id(p) in depth), default=0)
    return depth[id(root)]


class _Symbolic:
    """The reverse sweep's symbolic reading: gradients are expressions in the user's names.

    Each rule is the op's own (`Op.formula`), applied to the expressions of its inputs; every
    node on a path to a wrt tensor becomes a Step that records, per input, the local rule in ḡ
    and its result, so each factor of the formula traces back to the op that made it.
    """

    def __init__(self, explanation: Explanation) -> None:
        self.e = explanation
        self.steps: list[Step] = []
        self.seen: set[int] = set()  # inputs that already got a share (fan-out adds)
        self.reaches = _reaching(toposort(explanation.root), {id(w) for w in explanation.wrt})

    def enter(self, node: Node, g: Expr) -> Any:
        xs = tuple(self.e.exprs[p] for p in node.inputs)
        params = {k: sym.Array(k, x, x.shape) if isinstance(x, np.ndarray) and x.dtype == bool
                  else x for k, x in node.params.items()}
        self.steps.append(Step(node, self.e.written[node], g, []))
        return xs, params

    def rule(self, node: Node, i: int, g: Expr, inputs: Any) -> Expr:
        xs, params = inputs
        parent = node.inputs[i]
        gi, summed = self._share(node, i, g, xs, params)
        if id(parent) in self.reaches:
            local = self._share(node, i, sym.Sym(G, node.shape), xs, params)[0]
            self.steps[-1].parts.append(Part(parent, i, self.e.exprs[parent], local, gi,
                                             summed, id(parent) in self.seen))
        self.seen.add(id(parent))
        return gi

    def leave(self, node: Node) -> None:
        if not self.steps[-1].parts:
            self.steps.pop()

    def _share(self, node: Node, i: int, g: Expr, xs: tuple[Expr, ...],
               params: dict[str, Any]) -> tuple[Expr, tuple[int, ...]]:
        """Input i's share of g by the op's rule, summed back to the input's shape."""
        shape = node.inputs[i].shape
        gi = node.op.formula(i)(g, *xs, out=self.e.exprs[node], **params)
        summed = reduced_axes(gi.shape, shape) if len(gi.shape) >= len(shape) else ()
        return gi.sum_to(shape), summed


def _reaching(order: list[Any], ends: set[int]) -> set[int]:
    """ids of the vertices on a path to a wrt tensor (inputs come first in `order`)."""
    reach: set[int] = set()
    for v in order:
        if id(v) in ends or any(id(p) in reach for p in getattr(v, "inputs", ())):
            reach.add(id(v))
    return reach


class Explanation:
    """The derivation of ∂root/∂wrt.

    `str()` lists the steps; `.formula` is the simplified result; `.check()` evaluates it with
    NumPy and compares with the autodiff gradient; `.latex()`, `.markdown()` and
    `.text(ascii=True)` are the other forms. Jupyter shows each step's rule in words with its
    equations typeset; with ascii=True it shows the plain text.
    """

    def __init__(self, root: Any, wrt: list[Any], *, ascii: bool = False) -> None:
        self.root = root
        self.wrt = wrt
        self.ascii = ascii
        self.sizes: dict[int, str] = {}
        self._sizes_of_leaves()
        self._forward()
        self._backward()
        for e in self.expressions.values():  # letters in order of the final formulas: N first
            Printer(sizes=self.sizes)(e)

    # ---- building ---------------------------------------------------------------------

    def _forward(self) -> None:
        """An expression for every vertex: names where the user gave them, else inlined."""
        self.exprs: dict[Any, Expr] = {}
        self.written: dict[Any, Expr] = {}
        self.defined: dict[str, Any] = {}  # printed name -> the vertex it names
        for v in toposort(self.root, only_requires_grad=False):
            if isinstance(v, Node):
                args = tuple(self.exprs[p] for p in v.inputs)
                self.written[v] = sym.forward(v.op.name, args, v.params, v.shape)
                name = v.name if v is not self.root else None
                self.exprs[v] = (sym.Sym(self._claim(name, v), v.shape) if name
                                 else self.written[v])
            else:
                self.exprs[v] = self._leaf(v)
        self.root_name = self._claim(self.root.name or "L", self.root)
        for w in self.wrt:  # a tensor the root does not depend on: its gradient is 0
            if w not in self.exprs:
                self.exprs[w] = self._leaf(w) if not isinstance(w, Node) else sym.Sym(
                    self._claim(w.name or "z", w), w.shape)

    def _claim(self, name: str, v: Any) -> str:
        """A printed name for v: the user's, primed if another tensor already has it."""
        while name in self.defined and self.defined[name] is not v:
            name += "′"
        self.defined[name] = v
        return name

    def _leaf(self, t: Any) -> Expr:
        if t.name:
            return sym.Sym(self._claim(t.name, t), t.shape)
        if t.ndim == 0 and not t.requires_grad and np.isfinite(t.data):
            return self._constant(t.data.item())  # shown by its value
        return sym.Sym(self._claim(f"t{sum(k.startswith('t') for k in self.defined) + 1}", t),
                       t.shape)

    def _constant(self, value: float) -> Expr:
        """A number, written as a small fraction of a size N of the graph where it is one:
        200 is 2N when x has N = 100 rows, so a loss divided by 2·len(x) reads 1/(2N)."""
        q = sym.number(value)
        simple = q.numerator <= 4 and q.denominator <= 4
        best: tuple[int, Expr] | None = None
        for n in self.dims:
            for e in (1, -1):
                c = Fraction(value / n ** e).limit_denominator(4)
                if (not simple and c and abs(c.numerator) <= 4 and abs(float(c) * n ** e - value)
                        <= 1e-12 * abs(value) and (best is None or abs(c.numerator)
                                                   * c.denominator < best[0])):
                    best = (abs(c.numerator) * c.denominator,
                            sym.Const(c) * sym.Size(n) ** e)
        return best[1] if best else sym.Const(q)

    def _sizes_of_leaves(self) -> None:
        """The sizes a formula's letters may stand for, each with what it is ("the number of
        rows of x"), named leaves first; `dims` are the leaves' axis lengths (5 or more, so a
        size is never mistaken for a small factor like 2)."""
        leaves = [v for v in toposort(self.root, only_requires_grad=False)
                  if not isinstance(v, Node)]
        self.size_of: dict[int, str] = {}
        self.dims: list[int] = []
        for t in sorted(leaves, key=lambda t: not t.name):
            name = t.name or "an unnamed tensor"
            words = (["the length of"] if t.ndim == 1 else
                     ["the number of rows of", "the number of columns of"] if t.ndim == 2 else
                     [f"axis {a} of" for a in range(t.ndim)])
            for n, word in zip(t.shape, words, strict=True):
                self.size_of.setdefault(n, f"{word} {name}")
                if n >= 5 and n not in self.dims:
                    self.dims.append(n)
            self.size_of.setdefault(t.size, f"the number of elements of {name}")

    def _backward(self) -> None:
        """The engine's reverse sweep, read symbolically (see `_Symbolic`)."""
        reading = _Symbolic(self)
        found = sweep(self.root, sym.Const(sym.Fraction(1)), reading, tuple(self.wrt))
        self.steps: list[Step] = reading.steps
        zero = sym.Const(sym.Fraction(0))
        self.expressions: dict[str, Expr] = {
            self._name(w): found.get(w, sym.expand(zero, w.shape, ())) for w in self.wrt}

    def _name(self, v: Any, p: Printer | None = None) -> str:
        """How the text refers to a vertex: its name, else its expression (printed tight)."""
        if v is self.root:
            return self.root_name
        e = self.exprs[v]
        p = p or Printer(sizes=self.sizes)
        return e.name if isinstance(e, sym.Sym) else p.fmt(e, True)[0]

    # ---- results ----------------------------------------------------------------------

    @property
    def formulas(self) -> dict[str, str]:
        """{wrt name: ∂root/∂wrt as text}."""
        return {k: self._print(e) for k, e in self.expressions.items()}

    @property
    def formula(self) -> str:
        """∂root/∂wrt as text, e.g. '2/N · Xᵀ · (X·w − y)'; one line per tensor for a list."""
        if len(self.expressions) == 1:
            return next(iter(self.formulas.values()))
        text = "\n".join(f"{self._d(k)} = {f}" for k, f in self.formulas.items())
        return to_ascii(text) if self.ascii else text

    def check(self) -> float:
        """Max relative difference between the formula and autodiff, on the recorded data.

        Both are recomputed from the leaves' current data: the graph is replayed with the op
        table's forward functions and swept with its numeric VJPs (works after backward(),
        which frees the saved arrays), and the formula is evaluated with NumPy. The result is
        max |formula − autodiff| / max |autodiff| over all wrt tensors (0 when both are 0).
        """
        values, grads = self._replay()
        env = {name: values[v] for name, v in self.defined.items() if v in values}
        worst = 0.0
        for w in self.wrt:
            got = sym.evaluate(self.expressions[self._name(w)], env)
            want = np.broadcast_to(np.asarray(grads.get(w, 0.0)), w.shape)
            scale = max(float(np.max(np.abs(want), initial=0.0)),
                        float(np.max(np.abs(got), initial=0.0)))
            diff = float(np.max(np.abs(got - want), initial=0.0))
            worst = max(worst, diff / scale if scale > 0 else 0.0)
        return worst

    def _replay(self) -> tuple[dict[Any, np.ndarray], dict[Any, Any]]:
        """Every vertex's value from the leaves, and ∂root/∂wrt by the engine on a fresh copy."""
        values: dict[Any, np.ndarray] = {}
        fresh: dict[Any, Any] = {}
        for v in toposort(self.root, only_requires_grad=False):
            if not isinstance(v, Node):
                values[v] = fresh[v] = v.data
                fresh[v] = v
                continue
            xs = tuple(values[p] for p in v.inputs)
            out = np.asarray(v.op.forward(*xs, **v.params))
            values[v] = out
            node = Node(v.op, tuple(fresh[p] for p in v.inputs), v.params,
                        xs if v.op.save_inputs else None, out if v.op.save_out else None, out)
            node.requires_grad = v.requires_grad
            fresh[v] = node
        inside = [w for w in self.wrt if w in fresh]  # the others get no gradient: 0
        copy = {id(fresh[w]): w for w in inside}
        found = backward(fresh[self.root], np.ones((), dtype=values[self.root].dtype),
                         retain_graph=False, create_graph=False,
                         wrt=tuple(fresh[w] for w in inside))
        return values, {copy[id(k)]: g for k, g in found.items() if id(k) in copy}

    # ---- printing ---------------------------------------------------------------------

    def _print(self, e: Expr, ascii: bool | None = None) -> str:
        ascii = self.ascii if ascii is None else ascii
        text = Printer(ascii=ascii, sizes=self.sizes)(e)
        return to_ascii(text) if ascii else text

    def _d(self, target: str) -> str:
        """∂L/∂w, with parentheses around a compound target."""
        simple = target.replace("_", "").replace("′", "").isalnum()
        return f"∂{self.root_name}/∂{target if simple else '(' + target + ')'}"

    def _where(self, p: Printer | None = None) -> list[str]:
        """The sizes and the names the formulas use that the user may not have in view."""
        p = p or Printer(sizes=self.sizes)
        lines = [f"{letter} = {n}" + (f", {self.size_of[n]}" if n in self.size_of else "")
                 for n, letter in self.sizes.items()]
        for name, v in self.defined.items():
            if isinstance(v, Node) and v is not self.root:
                lines.append(f"{name} = {p(self.written[v])}")
            elif not isinstance(v, Node) and not v.name:
                lines.append(f"{name} = an unnamed tensor of shape {v.shape}")
        return lines

    def text(self, ascii: bool | None = None) -> str:
        """The steps and the result as plain text (Unicode, or ASCII with ascii=True)."""
        ascii = self.ascii if ascii is None else ascii
        p = Printer(ascii=ascii, sizes=self.sizes)
        lines = [f"Gradient of {self._head(self.root, p)} with respect to "
                 f"{', '.join(self.expressions)}", ""]
        for k, step in enumerate(self.steps, 1):
            lines += self._step_lines(k, step, p)
        for name, e in self.expressions.items():
            lines.append(f"{self._d(name)} = {p(e)}")
        where = self._where(p)
        if where:
            lines.append("  where " + "; ".join(where))
        text = "\n".join(lines)
        return to_ascii(text) if ascii else text

    def _head(self, v: Any, p: Printer) -> str:
        """The op as the user wrote it, with the name they gave its result: score = X · w."""
        written = p(self.written[v]) if v in self.written else p(self.exprs[v])
        name = self.root_name if v is self.root else v.name
        return f"{name} = {written}" if name else written

    def _step_lines(self, k: int, step: Step, p: Printer) -> list[str]:
        v = step.vertex
        ups = self._d(self._name(v, p))
        lines = [f"step {k}  {v.label}: {self._head(v, p)}    shape {v.shape}",
                 f"    upstream  ḡ = {ups} = {p(step.upstream)}    shape {step.upstream.shape}",
                 f"    rule      {v.op.why}"]
        for part in step.parts:
            target = self._name(part.input, p)
            local, result = p(part.local), p(part.result)
            if isinstance(sym._scalars_out(part.local)[2], sym.MatMul):
                lines.append(f"    index     {self._index_form(v, part.index, p)}")
                lines.append(f"    shapes    {self._shapes(part, p, target)}")
            if part.summed:
                axes = ", ".join(map(str, part.summed))
                lines.append(f"    broadcast {target} {part.input.shape} was stretched along "
                             f"axis {axes} in the forward pass, so its gradient sums over it")
            eq = "+=" if part.adds else "="
            value = local if local == result else f"{local} = {result}"
            lines.append(f"    gives     {self._d(target)} {eq} {value}    "
                         f"shape {part.result.shape}")
        return lines

    def _index_form(self, v: Node, i: int, p: Printer) -> str:
        """Why the transpose appears, entry by entry, in the user's names: for X·w,
        ∂(X·w)ᵢ/∂wⱼ = Xᵢⱼ, so ∂L/∂wⱼ = Σᵢ Xᵢⱼ ḡᵢ = (Xᵀ·ḡ)ⱼ (an index of length 1 left out)."""
        a, b = (self._name(x, p) for x in v.inputs)
        a, b = (n if n.replace("_", "").replace("′", "").isalnum() else f"({n})" for n in (a, b))
        sa, sb = v.inputs[0].shape, v.inputs[1].shape
        ii = "ᵢ" if len(sa) > 1 and sa[-2] != 1 else ""
        kk = "ₖ" if len(sb) > 1 and sb[-1] != 1 else ""
        dot = p.dot(True, True)
        if i == 1:
            ab, total = f"{a}{ii}ⱼ ḡ{ii}{kk}", f"({a}ᵀ{dot}ḡ)ⱼ{kk}"
            return (f"∂({a}{dot}{b}){ii}{kk}/∂{b}ⱼ{kk} = {a}{ii}ⱼ, so ∂L/∂{b}ⱼ{kk} = "
                    f"{'Σᵢ ' if ii else ''}{ab} = {total}")
        ab, total = f"ḡ{ii}{kk} {b}ⱼ{kk}", f"(ḡ{dot}{b}ᵀ){ii}ⱼ"
        return (f"∂({a}{dot}{b}){ii}{kk}/∂{a}{ii}ⱼ = {b}ⱼ{kk}, so ∂L/∂{a}{ii}ⱼ = "
                f"{'Σₖ ' if kk else ''}{ab} = {total}")

    @staticmethod
    def _shapes(part: Part, p: Printer, target: str) -> str:
        """For a matrix product: the operands' shapes, a check that the product fits."""
        rest = sym._scalars_out(part.local)[2]
        assert isinstance(rest, sym.MatMul)
        return (f"{p(rest.a)} {rest.a.shape}{p.dot(True, False)}{p(rest.b)} {rest.b.shape} → "
                f"{rest.shape}, the shape of {target}: the shapes agree, which is a handy check")

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"<Explanation {self.formula!r}>"

    def _partial(self, p: Printer, e: Expr) -> str:
        """∂L/∂e as a LaTeX fraction."""
        body = p(e) if isinstance(e, sym.Sym) else rf"\left({p(e)}\right)"
        return rf"\frac{{\partial {p.name(self.root_name)}}}{{\partial {body}}}"

    def _results_latex(self, p: Printer) -> list[str]:
        return [rf"\boxed{{{self._partial(p, self.exprs[w])} = "
                rf"{p(self.expressions[self._name(w)])}}}" for w in self.wrt]

    def latex(self) -> str:
        """The steps and the result as a LaTeX `aligned` block."""
        p = Printer(latex=True, sizes=self.sizes)
        rows = [rf"{self._partial(p, part.target)} &= {p(part.local)} = {p(part.result)}"
                for step in self.steps for part in step.parts] + self._results_latex(p)
        where = ", ".join(f"{letter} = {n}" for n, letter in self.sizes.items())
        if where:
            rows[-1] += rf" \quad {where}"
        return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"

    def _repr_latex_(self) -> str | None:
        """The equations, for a front end that shows LaTeX but not Markdown (None with ascii)."""
        return None if self.ascii else "$$" + self.latex() + "$$"

    def _repr_markdown_(self) -> str | None:
        """What Jupyter shows: each step's rule in words (where the 1/N, the 2 and the
        transpose come from) above its equations typeset from LaTeX, then the result and what
        its letters stand for. None with ascii=True, which shows the plain text instead."""
        if self.ascii:
            return None
        p, u = Printer(latex=True, sizes=self.sizes), Printer(sizes=self.sizes)
        heads = ", ".join(f"${p(self.exprs[w])}$" for w in self.wrt)
        lines = [f"**Gradient of ${p.name(self.root_name)} = {p(self.written[self.root])}$ with "
                 f"respect to {heads}**" if self.root in self.written else
                 f"**Gradient of ${p.name(self.root_name)}$ with respect to {heads}**"]
        for k, step in enumerate(self.steps, 1):
            v = step.vertex
            name = self.root_name if v is self.root else v.name
            head = (p.name(name) + " = " if name else "") + p(step.written)
            why = v.op.why[:1].upper() + v.op.why[1:]
            lines += ["", f"**Step {k}, {_md(v.label)}:** ${head}$. {_md(why)}."]
            for part in step.parts:
                if isinstance(sym._scalars_out(part.local)[2], sym.MatMul):
                    lines.append(f"Here {_md(self._index_form(v, part.index, u))}.")
                lines += ["", rf"$${self._partial(p, part.target)} = {p(part.local)} = "
                              rf"{p(part.result)}$$"]
        lines += ["", "Result:", ""] + [f"$${r}$$" for r in self._results_latex(p)]
        where = self._where(u)
        if where:
            lines += ["", "where " + "; ".join(_md(w) for w in where) + "."]
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's plain-text view: the whole derivation, as str()."""
        printer.text(self.text())

    def markdown(self) -> str:
        """The steps as a Markdown table and the result in bold, for docs and notebooks."""
        p = Printer(ascii=self.ascii, sizes=self.sizes)

        def code(text: str) -> str:
            return "`" + text.replace("|", "\\|") + "`"

        lines = ["| step | op | upstream ḡ | rule | gives |", "|---|---|---|---|---|"]
        for k, step in enumerate(self.steps, 1):
            v = step.vertex
            op = (f"{v.name} = " if v.name else "") + p(step.written)
            gives = "<br>".join(
                f"{code(self._d(self._name(part.input)) + ' = ' + p(part.result))}"
                for part in step.parts)
            lines.append(f"| {k} | {code(op)} | {code(p(step.upstream))} | "
                         f"{v.op.why.replace('|', '/')} | {gives} |")
        lines.append("")
        for name, e in self.expressions.items():
            lines.append(f"**{code(self._d(name) + ' = ' + p(e))}**")
        where = self._where(p)
        if where:
            lines.append("")
            lines.append("where " + "; ".join(code(w) for w in where))
        text = "\n".join(lines)
        return to_ascii(text) if self.ascii else text


def _md(text: str) -> str:
    """Text for Markdown: the signs it would read as emphasis or code escaped."""
    return "".join("\\" + c if c in "\\*_`$" else c for c in text)
