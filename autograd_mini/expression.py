"""A loss typed on the command line, parsed safely: `mean((X @ w - y) ** 2)`.

The text is parsed with `ast` and walked by a small interpreter that knows only names,
numbers, the operators + - * / ** @ (and unary -), calls of the library functions in
FUNCTIONS, the methods in METHODS and the attribute `.T`. Nothing is ever passed to `eval`
or `exec`; anything else (imports, other attributes, lambdas, comprehensions, subscripts,
other calls) is refused with a message naming the offending part and its column.

Hostile input is refused before any work is done, each limit named in its message:
the text's length (MAX_CHARS), the number of operations (MAX_OPS) and how deeply they nest
(MAX_NESTING), the size of every number (MAX_CONSTANT, and MAX_EXPONENT for `**`; arithmetic
on numbers alone is folded here, with those limits checked before each step, so `9**9**9`
never reaches Python's big integers), the dimensions and elements of every tensor, given or
computed (MAX_NDIM, MAX_ELEMENTS, MAX_WORK), and the length of the printed derivation
(MAX_OUTPUT_CHARS).
"""

from __future__ import annotations

import ast
import inspect
import math
import os
import sys
import unicodedata
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from . import functions, losses
from .ops import OPS
from .tensor import Tensor


def _public_functions(*modules: ModuleType) -> dict[str, Any]:
    """The functions a module defines for users (no leading underscore), by name."""
    return {name: f for m in modules for name, f in vars(m).items()
            if inspect.isfunction(f) and f.__module__ == m.__name__ and not name.startswith("_")}


# Derived from the library, not kept by hand: every am function (one per op of the table,
# plus the losses), every Tensor method with the same name, and their keyword parameters.
_CALLABLE = _public_functions(functions, losses)
FUNCTIONS = frozenset(_CALLABLE)
METHODS = frozenset(n for n in FUNCTIONS | set(OPS) if callable(getattr(Tensor, n, None)))
KEYWORDS = frozenset(p.name for f in _CALLABLE.values()
                     for p in list(inspect.signature(f).parameters.values())[1:]
                     if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
ATTRIBUTES = frozenset({"T"})
OPERATORS: dict[type, Any] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a ** b, ast.MatMult: lambda a, b: a @ b,
}

MAX_CHARS = 5_000            # characters of expression text
MAX_OPS = 200                # operators, calls and .T in one expression
MAX_NESTING = 32             # calls, unary minus and brackets inside one another
MAX_CONSTANT = 1e15          # magnitude of any number, written or folded
MAX_EXPONENT = 100           # magnitude of a number used as an exponent
MAX_NDIM = 32                # dimensions of one tensor
MAX_ELEMENTS = 10**7         # elements of one tensor, and of all --shape tensors together
MAX_WORK = 10**8             # elements of all results the expression computes, together
MAX_OUTPUT_CHARS = 1_000_000  # characters of the printed derivation

Number = int | float


class ExpressionError(ValueError):
    """The expression (or a --shape / --wrt / --out argument) cannot be used; the message
    says why."""


def _short(text: str, limit: int = 60) -> str:
    """`text` quoted, cut to `limit` characters, for messages that must stay one line."""
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[:limit - 1] + "…")


def parse(expression: str) -> ast.expr:
    """The syntax tree of `expression`, checked against the whitelist and the limits.

    Arithmetic on numbers alone is folded into one constant (after checking its size);
    nothing else is run.
    """
    text = expression.strip()
    if len(text) > MAX_CHARS:
        raise ExpressionError(f"the expression is {len(text):,} characters long; the limit is "
                              f"{MAX_CHARS:,}")
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as e:
        raise ExpressionError(f"cannot parse {_short(expression)}: {e.msg} at column "
                              f"{e.offset or 0}") from None
    except (RecursionError, MemoryError):  # the parser's own stack ran out
        raise ExpressionError(f"cannot parse {_short(expression)}: nested too deeply, more "
                              f"than {MAX_NESTING} levels of calls and brackets") from None
    _check_size(tree)
    constant = _check(tree, text)
    return _as_constant(tree, constant)


def _where(node: ast.AST) -> str:
    return f"at column {getattr(node, 'col_offset', 0) + 1}"


def _refuse(node: ast.AST, what: str) -> ExpressionError:
    return ExpressionError(f"not allowed: {what} {_where(node)}")


def _check_size(tree: ast.expr) -> None:
    """Count operations and measure nesting without recursion, before anything else looks
    at the tree (so a huge tree cannot exhaust Python's stack)."""
    ops = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Call, ast.Attribute)):
            ops += 1
            if ops > MAX_OPS:
                raise ExpressionError(f"too many operations: more than {MAX_OPS} (operators, "
                                      "calls and .T); explain a smaller expression")
        if level > MAX_NESTING:
            raise ExpressionError(f"nested too deeply {_where(node)}: more than "
                                  f"{MAX_NESTING} levels of calls and brackets")
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.keyword):  # axis=..., the value is the argument
                child = child.value
            if not isinstance(child, ast.expr) or isinstance(child, (ast.Name, ast.Constant)):
                continue
            # A chain of operators, a + b + c or a ** b ** c, is one level: its length is
            # bounded by MAX_OPS. Anything else inside a node is one level deeper.
            chained = isinstance(node, ast.BinOp) and isinstance(child, ast.BinOp)
            stack.append((child, level if chained else level + 1))


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


def _as_constant(node: ast.expr, value: Number | None) -> ast.expr:
    """`node`, or a Constant holding its folded value (at the same place in the text)."""
    if value is None or isinstance(node, ast.Constant):
        return node
    return ast.copy_location(ast.Constant(value), node)


def _quote(node: ast.AST, text: str) -> str:
    """The part of `text` that `node` was parsed from, quoted and kept short."""
    return _short(ast.get_source_segment(text, node) or "", 30)


def _too_large(node: ast.AST, text: str, what: str = "number", limit: float = MAX_CONSTANT
               ) -> ExpressionError:
    return ExpressionError(f"not allowed: the {what} {_quote(node, text)} {_where(node)} is "
                           f"larger than {limit:g} in magnitude")


def _number(node: ast.AST, text: str, value: Number) -> Number:
    """`value` if it is a finite number no larger than MAX_CONSTANT, else refuse it."""
    if isinstance(value, float) and not math.isfinite(value) or abs(value) > MAX_CONSTANT:
        raise _too_large(node, text)
    return value


def _fold(node: ast.BinOp, text: str, a: Number, b: Number) -> Number:
    """a (op) b for two numbers, refused before computing if the result would be too large."""
    op = type(node.op)
    if op is ast.MatMult:
        raise _refuse(node, "@ between two numbers")
    if op is ast.Div and b == 0 or op is ast.Pow and a == 0 and b < 0:
        raise _refuse(node, f"division by zero in {_quote(node, text)}")
    if op is ast.Pow:
        if abs(b) > MAX_EXPONENT:
            raise _too_large(node.right, text, "exponent", MAX_EXPONENT)
        if a < 0 and b != int(b):
            raise _refuse(node, f"a negative number to a fractional power in "
                                f"{_quote(node, text)}")
        # |a| ** b stays below MAX_CONSTANT exactly when b·log10|a| stays below its log.
        if a != 0 and b * math.log10(abs(a)) > math.log10(MAX_CONSTANT):
            raise _too_large(node, text)
    # Both sides are at most MAX_CONSTANT, so + - * / cannot overflow a float.
    return _number(node, text, OPERATORS[op](a, b))


def _check(node: ast.AST, text: str) -> Number | None:
    """Raise ExpressionError at the first node outside the whitelist or the limits.

    Returns the value of a subtree made of numbers only (and replaces such subtrees below
    `node` by one Constant), None for anything that involves a tensor.
    """
    if isinstance(node, ast.BinOp):
        if type(node.op) not in OPERATORS:
            raise _refuse(node, f"operator {type(node.op).__name__}")
        left, right = _check(node.left, text), _check(node.right, text)
        if left is not None and right is not None:
            return _fold(node, text, left, right)
        if isinstance(node.op, ast.Pow) and right is not None and abs(right) > MAX_EXPONENT:
            raise _too_large(node.right, text, "exponent", MAX_EXPONENT)
        if isinstance(node.op, ast.Div) and right == 0:
            raise _refuse(node, f"division by zero in {_quote(node, text)}")
        node.left, node.right = _as_constant(node.left, left), _as_constant(node.right, right)
        return None
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise _refuse(node, f"operator {type(node.op).__name__}")
        value = _check(node.operand, text)
        if value is not None:
            return -value if isinstance(node.op, ast.USub) else value
        return None
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            shown = " ".join(repr(node.value).split())
            raise _refuse(node, f"constant {shown if len(shown) <= 30 else shown[:29] + '…'}")
        return _number(node, text, node.value)
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise _refuse(node, f"name {node.id}")
    elif isinstance(node, ast.Attribute):
        if node.attr not in ATTRIBUTES:
            raise _refuse(node, _describe(node))
        node.value = _as_constant(node.value, _check(node.value, text))
    elif isinstance(node, ast.Call):
        _check_call(node, text)
    elif isinstance(node, ast.Tuple):
        node.elts = [_as_constant(item, _check(item, text)) for item in node.elts]
    else:
        raise _refuse(node, _describe(node))
    return None


def _check_call(node: ast.Call, text: str) -> None:
    f = node.func
    if isinstance(f, ast.Name) and f.id in FUNCTIONS:
        pass
    elif isinstance(f, ast.Attribute) and f.attr in METHODS:
        f.value = _as_constant(f.value, _check(f.value, text))
    else:
        raise _refuse(node, _describe(node))
    node.args = [_as_constant(arg, _check(arg, text)) for arg in node.args]
    for kw in node.keywords:
        if kw.arg not in KEYWORDS:
            raise _refuse(kw, f"keyword {kw.arg or '**'}")
        if kw.arg == "reduction" and isinstance(kw.value, ast.Constant) and isinstance(
                kw.value.value, str):
            continue
        if kw.arg == "keepdims" and isinstance(kw.value, ast.Constant) and isinstance(
                kw.value.value, bool):
            continue
        kw.value = _as_constant(kw.value, _check(kw.value, text))


def names(tree: ast.expr) -> list[str]:
    """The tensor names the expression uses (not the function names), left to right."""
    functions = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    found = sorted((n.col_offset, n.id) for n in ast.walk(tree)
                   if isinstance(n, ast.Name) and id(n) not in functions)
    return list(dict.fromkeys(name for _, name in found))


def _elements(shape: Sequence[int]) -> int:
    return math.prod(int(n) for n in shape)


def _result_elements(node: ast.AST, operands: Sequence[Any]) -> int | None:
    """An upper bound on the elements the operation at `node` will produce from `operands`
    (None when their shapes do not fit together: the operation itself says why)."""
    shapes = [np.shape(x) for x in operands if not isinstance(x, (str, bool, tuple))]
    matmul = isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult) or (
        isinstance(node, ast.Call) and _callee(node) in ("matmul", "dot"))
    if matmul and len(shapes) == 2:
        a, b = shapes
        # Every output element pairs a row of a with a column of b (batches broadcast).
        rows = _elements(a[:-1])
        cols = _elements(b) // b[-2] if len(b) >= 2 and b[-2] else 1
        return rows * cols
    try:
        return _elements(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


def _callee(node: ast.Call) -> str:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _check_axes(node: ast.Call, x: Any, args: Sequence[Any]) -> None:
    """transpose's axes: whole numbers naming each of x's axes once; reshape's sizes: whole
    numbers (the tensor itself checks that they fit)."""
    method = _callee(node)
    axes = tuple(args[0]) if len(args) == 1 and isinstance(args[0], tuple) else tuple(args)
    if any(isinstance(a, bool) or not isinstance(a, int) for a in axes):
        raise _refuse(node, f"{method} with arguments that are not whole numbers")
    if method == "reshape":
        if len(axes) > MAX_NDIM:
            raise _refuse(node, f"reshape to {len(axes)} dimensions (the limit is {MAX_NDIM})")
        return
    ndim = np.ndim(x)
    if not axes:
        return
    if len(axes) != ndim or any(not -ndim <= a < ndim for a in axes) or len(
            {a % ndim for a in axes}) != ndim:
        raise _refuse(node, f"transpose({', '.join(map(str, axes))}) of a tensor of shape "
                            f"{np.shape(x)}: the axes must name each of its {ndim} axes once")


def evaluate(tree: ast.expr, env: dict[str, Any]) -> Any:
    """Run a checked tree on the tensors in `env`, with the library's functions and methods.

    Before each operation the size of its result is checked against MAX_ELEMENTS (and the
    total so far against MAX_WORK), so a broadcast or matmul cannot allocate unbounded memory.
    """
    import autograd_mini as am

    work = sum(int(np.size(t)) for t in env.values())

    def guard(node: ast.AST, operands: Sequence[Any]) -> None:
        nonlocal work
        size = _result_elements(node, operands)
        if size is None:
            return
        if size > MAX_ELEMENTS:
            raise ExpressionError(f"the operation {_where(node)} would make a result of "
                                  f"{size:,} elements; the limit is {MAX_ELEMENTS:,}")
        work += size
        if work > MAX_WORK:
            raise ExpressionError(f"the expression's results would hold more than "
                                  f"{MAX_WORK:,} elements together (at the operation "
                                  f"{_where(node)}); use smaller shapes")

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.BinOp):
            left, right = ev(node.left), ev(node.right)
            guard(node, (left, right))
            return OPERATORS[type(node.op)](left, right)
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
            guard(node, args)
            return getattr(am, node.func.id)(*args, **kwargs)
        assert isinstance(node.func, ast.Attribute)
        x = ev(node.func.value)
        if node.func.attr in ("transpose", "reshape"):
            _check_axes(node, x, args)
        guard(node, [x, *args])
        return getattr(x, node.func.attr)(*args, **kwargs)

    return ev(tree)


def normalize_name(name: str) -> str:
    """A name as Python's parser reads it: identifiers are NFKC-normalized, so `ℌ` is `H`."""
    return unicodedata.normalize("NFKC", name.strip())


def parse_shape(text: str) -> tuple[str, tuple[int, ...]]:
    """'X=100x3' -> ('X', (100, 3)); 'w=3' is a vector, 'c=' a scalar.

    The name is normalized as Python normalizes identifiers (`ℌ=3` gives `H`), so it matches
    the name in the expression.
    """
    raw, sep, dims = text.partition("=")
    name = normalize_name(raw)
    if not sep or not name.isidentifier():
        raise ExpressionError(f"--shape {_short(text)}: write NAME=ROWSxCOLS, e.g. X=100x3")
    parts = [d.strip() for d in dims.replace(",", "x").split("x") if d.strip()]
    if len(parts) > MAX_NDIM:
        raise ExpressionError(f"--shape {name}: {len(parts)} dimensions; the limit is "
                              f"{MAX_NDIM}")
    if any(d.startswith("-") and d[1:].isdecimal() for d in parts):
        raise ExpressionError(f"--shape {_short(text)}: sizes must be at least 1")
    if not all(d.isdecimal() for d in parts):
        raise ExpressionError(f"--shape {_short(text)}: sizes must be whole numbers, "
                              "e.g. X=100x3")
    if any(len(d) > 12 for d in parts):  # int() of a thousand digits is slow; none is needed
        raise ExpressionError(f"--shape {name}: a size is larger than {MAX_ELEMENTS:,}, the "
                              "limit on a tensor's elements")
    shape = tuple(int(d) for d in parts)
    if any(n < 1 for n in shape):
        raise ExpressionError(f"--shape {_short(text)}: sizes must be at least 1")
    if _elements(shape) > MAX_ELEMENTS:
        raise ExpressionError(f"--shape {name}: {'x'.join(parts)} is {_elements(shape):,} "
                              f"elements; the limit is {MAX_ELEMENTS:,}")
    return name, shape


def _parse_shapes(shapes: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """All --shape arguments: each name once, all of them together within MAX_ELEMENTS."""
    given: dict[str, tuple[int, ...]] = {}
    for text in shapes:
        name, shape = parse_shape(text)
        if name in given:
            same = "" if text.partition("=")[0].strip() == name else (
                f" ({text.partition('=')[0].strip()} is {name} to Python)")
            raise ExpressionError(f"--shape {name} is given twice{same}")
        given[name] = shape
    total = sum(_elements(s) for s in given.values())
    if total > MAX_ELEMENTS:
        raise ExpressionError(f"the --shape tensors have {total:,} elements together; the "
                              f"limit is {MAX_ELEMENTS:,}")
    return given


def build(expression: str, wrt: Sequence[str], shapes: Sequence[str], seed: int = 0
          ) -> tuple[Any, dict[str, Any]]:
    """The loss tensor and its named inputs, on random normal data of the given shapes."""
    import autograd_mini as am

    tree = parse(expression)
    given = _parse_shapes(shapes)
    missing = [n for n in names(tree) if n not in given]
    if missing:
        hints = " ".join(f"--shape {n}=..." for n in missing[:3])
        raise ExpressionError(f"unknown name{'s' * (len(missing) > 1)} "
                              f"{', '.join(missing)}: give {'their' if len(missing) > 1 else 'its'}"
                              f" shape with {hints} (e.g. --shape {missing[0]}=100x1)")
    if not wrt:
        raise ExpressionError("say which gradient to explain with --wrt NAME")
    wrt = [normalize_name(n) for n in wrt]
    for n in wrt:
        if n not in given:
            raise ExpressionError(f"--wrt {n}: {n} is not in the expression's --shape list")
    rng = np.random.default_rng(seed)
    tensors = {n: am.tensor(rng.standard_normal(s), requires_grad=n in wrt, name=n)
               for n, s in given.items()}
    try:
        root = evaluate(tree, tensors)
    except (ValueError, TypeError, IndexError, ArithmeticError, AttributeError) as e:
        if isinstance(e, ExpressionError):
            raise
        raise ExpressionError(f"{_short(expression)} fails on these shapes: {e}") from None
    if not isinstance(root, am.Tensor) or root.ndim != 0:
        shape = root.shape if isinstance(root, am.Tensor) else np.shape(root) if isinstance(
            root, (int, float)) else type(root).__name__
        raise ExpressionError(f"{_short(expression)} gives shape {shape}; explain needs a "
                              "scalar tensor: wrap it in mean(...) or sum(...)")
    return root, tensors


def check_out(out: str) -> Path:
    """The --out file, refused unless its folder exists and its suffix names a format."""
    path = Path(out)
    formats = (".svg", ".png", ".pdf", ".dot")
    if path.suffix.lower() not in formats:
        raise ExpressionError(f"--out {_short(out, 300)}: end the file name in one of "
                              f"{', '.join(formats)}")
    folder = path.parent
    if not folder.is_dir():
        raise ExpressionError(f"--out {_short(out, 300)}: the folder "
                              f"{_short(str(folder), 300)} does not exist")
    if path.is_dir() or not os.access(folder, os.W_OK):
        raise ExpressionError(f"--out {_short(out, 300)}: cannot write a file there")
    return path


def _write_graph(root: Any, path: Path) -> str:
    """Render the graph if a renderer is available, else write its DOT source."""
    import autograd_mini as am

    try:
        am.render_graph(root, path)
        return str(path)
    except (RuntimeError, ValueError) as e:  # no renderer: the DOT text is still useful
        print(f"(could not render {path.name}: {str(e).splitlines()[0]}; writing the DOT "
              "source instead)", file=sys.stderr)
    dot = path.with_suffix(".dot")
    dot.write_text(am.draw_graph(root).source)
    return str(dot)


def run_explain(expression: str, wrt: list[str], shapes: list[str], out: str | None = None,
                ascii: bool = False, seed: int = 0) -> int:
    """`autograd-mini explain`: print the derivation of ∂expr/∂wrt; 0 if it checks, else 1.

    Usage errors (a refused expression, a missing --shape, a limit exceeded) print one line
    on stderr and return 2. NumPy's warnings about the random data (overflow, log of a
    negative number) are gathered into one note on stderr.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status = _run_explain(expression, wrt, shapes, out, ascii, seed)
    notes = list(dict.fromkeys(str(w.message).splitlines()[0] for w in caught))
    if notes and status != 2:
        print(f"autograd-mini explain: note: {'; '.join(notes)} (on this random data)",
              file=sys.stderr)
    return status


def _usage(message: object) -> int:
    """Print a usage error as one line on stderr; the exit status 2."""
    print(f"autograd-mini explain: {' '.join(str(message).split())}", file=sys.stderr)
    return 2


def _run_explain(expression: str, wrt: list[str], shapes: list[str], out: str | None,
                 ascii: bool, seed: int) -> int:
    import autograd_mini as am

    try:
        path = check_out(out) if out else None
        root, tensors = build(expression, wrt, shapes, seed)
        explanation = am.explain(root, wrt=[tensors[normalize_name(n)] for n in wrt],
                                 ascii=ascii)
        text = str(explanation)
    except (ExpressionError, ValueError) as e:  # am.explain refuses graphs too deep to read
        return _usage(e)
    except (RecursionError, MemoryError):
        return _usage(f"{_short(expression)} is too large to explain")
    if len(text) > MAX_OUTPUT_CHARS:
        return _usage(f"the derivation is {len(text):,} characters long; the limit is "
                      f"{MAX_OUTPUT_CHARS:,}: explain a smaller expression")
    print(text)
    worst = explanation.check()
    print(f"\ncheck: formula vs autodiff on random data, max relative difference {worst:.1e}")
    if path is not None:
        try:
            written = _write_graph(root, path)
        except OSError as e:
            return _usage(f"--out {_short(str(path), 300)}: {e.strerror or e}")
        print(f"graph written to {written}")
    return 0 if worst <= 1e-8 else 1
