"""A loss typed on the command line, parsed safely: `mean((X @ w - y) ** 2)`.

The text is parsed with `ast` and walked by a small interpreter that knows only names,
numbers, the operators + - * / ** @ (and unary -), calls of the library functions in
FUNCTIONS, the methods in METHODS and the attribute `.T`. Nothing is ever passed to `eval`
or `exec`; anything else (imports, other attributes, lambdas, comprehensions, subscripts,
other calls) is refused with a message naming the offending part and its column.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

FUNCTIONS = frozenset({
    "mean", "sum", "max", "min", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs",
    "clip", "matmul", "dot", "maximum", "minimum", "softmax", "log_softmax", "logsumexp",
    "mse_loss",
})
METHODS = frozenset({
    "sum", "mean", "max", "min", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs",
    "clip", "dot", "reshape", "transpose",
})
ATTRIBUTES = frozenset({"T"})
KEYWORDS = frozenset({"axis", "keepdims", "reduction"})
OPERATORS: dict[type, Any] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a ** b, ast.MatMult: lambda a, b: a @ b,
}


class ExpressionError(ValueError):
    """The expression (or a --shape / --wrt argument) cannot be used; the message says why."""


def parse(expression: str) -> ast.expr:
    """The syntax tree of `expression`, checked against the whitelist (nothing is run)."""
    try:
        tree = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError as e:
        raise ExpressionError(f"cannot parse {expression!r}: {e.msg} at column "
                              f"{e.offset or 0}") from None
    _check(tree)
    return tree


def _where(node: ast.AST) -> str:
    return f"at column {getattr(node, 'col_offset', 0) + 1}"


def _refuse(node: ast.AST, what: str) -> ExpressionError:
    return ExpressionError(f"not allowed: {what} {_where(node)}")


def _describe(node: ast.AST) -> str:
    """A short name for a node the whitelist refuses."""
    if isinstance(node, ast.Call):
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f".{f.attr}" if isinstance(
            f, ast.Attribute) else "an expression"
        return f"call of {name}"
    if isinstance(node, ast.Attribute):
        return f"attribute .{node.attr}"
    names = {ast.Lambda: "lambda", ast.ListComp: "list comprehension",
             ast.GeneratorExp: "generator expression", ast.SetComp: "set comprehension",
             ast.DictComp: "dict comprehension", ast.Subscript: "subscript [...]",
             ast.Compare: "comparison", ast.BoolOp: "and/or", ast.IfExp: "if-else",
             ast.NamedExpr: "assignment (:=)", ast.Starred: "*-unpacking"}
    return names.get(type(node), type(node).__name__)


def _check(node: ast.AST) -> None:
    """Raise ExpressionError at the first node outside the whitelist."""
    if isinstance(node, ast.BinOp):
        if type(node.op) not in OPERATORS:
            raise _refuse(node, f"operator {type(node.op).__name__}")
        _check(node.left)
        _check(node.right)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise _refuse(node, f"operator {type(node.op).__name__}")
        _check(node.operand)
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise _refuse(node, f"constant {node.value!r}")
    elif isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise _refuse(node, f"name {node.id}")
    elif isinstance(node, ast.Attribute):
        if node.attr not in ATTRIBUTES:
            raise _refuse(node, _describe(node))
        _check(node.value)
    elif isinstance(node, ast.Call):
        _check_call(node)
    elif isinstance(node, ast.Tuple):
        for item in node.elts:
            _check(item)
    else:
        raise _refuse(node, _describe(node))


def _check_call(node: ast.Call) -> None:
    f = node.func
    if isinstance(f, ast.Name) and f.id in FUNCTIONS:
        pass
    elif isinstance(f, ast.Attribute) and f.attr in METHODS:
        _check(f.value)
    else:
        raise _refuse(node, _describe(node))
    for arg in node.args:
        _check(arg)
    for kw in node.keywords:
        if kw.arg not in KEYWORDS:
            raise _refuse(kw, f"keyword {kw.arg or '**'}")
        if kw.arg == "reduction" and isinstance(kw.value, ast.Constant) and isinstance(
                kw.value.value, str):
            continue
        if kw.arg == "keepdims" and isinstance(kw.value, ast.Constant) and isinstance(
                kw.value.value, bool):
            continue
        _check(kw.value)


def names(tree: ast.expr) -> list[str]:
    """The tensor names the expression uses (not the function names), left to right."""
    functions = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    found = sorted((n.col_offset, n.id) for n in ast.walk(tree)
                   if isinstance(n, ast.Name) and id(n) not in functions)
    return list(dict.fromkeys(name for _, name in found))


def evaluate(tree: ast.expr, env: dict[str, Any]) -> Any:
    """Run a checked tree on the tensors in `env`, with the library's functions and methods."""
    import autograd_mini as am

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.BinOp):
            return OPERATORS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp):
            return -ev(node.operand) if isinstance(node.op, ast.USub) else ev(node.operand)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.Tuple):
            return tuple(ev(x) for x in node.elts)
        if isinstance(node, ast.Attribute):
            return ev(node.value).T
        assert isinstance(node, ast.Call)
        args = [ev(a) for a in node.args]
        kwargs = {kw.arg: ev(kw.value) for kw in node.keywords if kw.arg}
        if isinstance(node.func, ast.Name):
            return getattr(am, node.func.id)(*args, **kwargs)
        assert isinstance(node.func, ast.Attribute)
        return getattr(ev(node.func.value), node.func.attr)(*args, **kwargs)

    return ev(tree)


def parse_shape(text: str) -> tuple[str, tuple[int, ...]]:
    """'X=100x3' -> ('X', (100, 3)); 'w=3' is a vector, 'c=' a scalar."""
    name, sep, dims = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise ExpressionError(f"--shape {text!r}: write NAME=ROWSxCOLS, e.g. X=100x3")
    try:
        shape = tuple(int(d) for d in dims.replace(",", "x").split("x") if d.strip())
    except ValueError:
        raise ExpressionError(f"--shape {text!r}: sizes must be whole numbers, "
                              "e.g. X=100x3") from None
    if any(n < 1 for n in shape):
        raise ExpressionError(f"--shape {text!r}: sizes must be at least 1")
    return name, shape


def build(expression: str, wrt: Sequence[str], shapes: Sequence[str], seed: int = 0
          ) -> tuple[Any, dict[str, Any]]:
    """The loss tensor and its named inputs, on random normal data of the given shapes."""
    import autograd_mini as am

    tree = parse(expression)
    given = dict(parse_shape(s) for s in shapes)
    missing = [n for n in names(tree) if n not in given]
    if missing:
        hints = " ".join(f"--shape {n}=..." for n in missing)
        raise ExpressionError(f"unknown name{'s' * (len(missing) > 1)} "
                              f"{', '.join(missing)}: give {'their' if len(missing) > 1 else 'its'}"
                              f" shape with {hints} (e.g. --shape {missing[0]}=100x1)")
    if not wrt:
        raise ExpressionError("say which gradient to explain with --wrt NAME")
    for n in wrt:
        if n not in given:
            raise ExpressionError(f"--wrt {n}: {n} is not in the expression's --shape list")
    rng = np.random.default_rng(seed)
    tensors = {n: am.tensor(rng.standard_normal(s), requires_grad=n in wrt, name=n)
               for n, s in given.items()}
    try:
        root = evaluate(tree, tensors)
    except (ValueError, TypeError) as e:
        raise ExpressionError(f"{expression!r} fails on these shapes: {e}") from None
    if not isinstance(root, am.Tensor) or root.ndim != 0:
        raise ExpressionError(f"{expression!r} gives shape {np.shape(root)}; explain needs a "
                              "scalar: wrap it in mean(...) or sum(...)")
    return root, tensors


def _write_graph(root: Any, out: str) -> str:
    """Render the graph if a renderer is available, else write its DOT source."""
    import autograd_mini as am

    path = Path(out)
    render = getattr(am, "render_graph", None)
    if render is not None:
        try:
            render(root, path)
            return str(path)
        except Exception as e:  # no renderer installed: the DOT text is still useful
            print(f"(could not render {path.name}: {e}; writing the DOT source instead)",
                  file=sys.stderr)
    dot = path.with_suffix(".dot")
    dot.write_text(am.draw_graph(root).source)
    return str(dot)


def run_explain(expression: str, wrt: list[str], shapes: list[str], out: str | None = None,
                ascii: bool = False, seed: int = 0) -> int:
    """`autograd-mini explain`: print the derivation of ∂expr/∂wrt; 0 if it checks, else 1.

    Usage errors (a refused expression, a missing --shape) print a message and return 2.
    """
    import autograd_mini as am

    try:
        root, tensors = build(expression, wrt, shapes, seed)
    except ExpressionError as e:
        print(f"autograd-mini explain: {e}", file=sys.stderr)
        return 2
    explanation = am.explain(root, wrt=[tensors[n] for n in wrt], ascii=ascii)
    print(explanation)
    worst = explanation.check()
    print(f"\ncheck: formula vs autodiff on random data, max relative difference {worst:.1e}")
    if out:
        print(f"graph written to {_write_graph(root, out)}")
    return 0 if worst <= 1e-8 else 1
