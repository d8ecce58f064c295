"""Printing in Unicode, ASCII (the Unicode transliterated) or LaTeX: one rule per node class.

Each rule in `RULES` returns (text, precedence) and puts a child in parentheses by the child's
precedence. An `Apply` prints through its op's `expr` template, whose own words and signs are
typeset for LaTeX (exp( → \\exp, softplus( → \\operatorname{softplus}, ᵀ → ^{\\top}, √ → \\sqrt).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np

from ..ops import OPS
from . import algebra as alg

ADD, MUL, POW, ATOM = 1, 2, 4, 6
Printed = tuple[str, int]
SIZE_LETTERS = "NMKPQRST"
_SUPERSCRIPT = str.maketrans("0123456789-/()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻ᐟ⁽⁾")
_SUBSCRIPT = str.maketrans("0123456789,", "₀₁₂₃₄₅₆₇₈₉,")
_VULGAR = {Fraction(1, 2): "½", Fraction(1, 3): "⅓", Fraction(2, 3): "⅔", Fraction(1, 4): "¼",
           Fraction(3, 4): "¾"}
_ASCII = str.maketrans({
    "ḡ": "g", "−": "-", "⊙": "*", "·": "*", "ᵀ": ".T", "Σ": "sum", "σ": "sigmoid", "√": "sqrt",
    "∂": "d", "≤": "<=", "≥": ">=", "≠": "!=", "𝟙": "ones", "→": "->", "…": "...", "×": "x",
    "½": "1/2", "⅓": "1/3", "⅔": "2/3", "¼": "1/4", "¾": "3/4", "ᐟ": "/", "′": "'"})
_SUP_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_SUB_DIGITS = "₀₁₂₃₄₅₆₇₈₉ᵢⱼₖ"  # and the index letters of explain's entry-by-entry steps


def _ascii_power(m: re.Match[str]) -> str:
    p = m.group().translate(str.maketrans("⁻ᵖ" + _SUP_DIGITS, "-p0123456789"))
    return "**" + (p if re.fullmatch(r"-?\d+", p) else f"({p})")


def to_ascii(text: str) -> str:
    """Transliterate printed Unicode math to plain ASCII (x² → x**2, Xᵀ → X.T, Σ₀ → sum_0,
    Xᵢⱼ → X_ij)."""
    text = re.sub("[⁻ᵖ" + _SUP_DIGITS + "]+", _ascii_power, text)
    text = re.sub("[" + _SUB_DIGITS + "]+", lambda m: "_" + m.group().translate(
        str.maketrans(_SUB_DIGITS, "0123456789ijk")), text)
    return "".join(c if c.isascii() else _ascii_letter(c) for c in text.translate(_ASCII))


def _ascii_letter(c: str) -> str:
    """θ → theta, Θ → Theta, x̄'s bar dropped; '?' for a sign with no ASCII spelling."""
    name = unicodedata.name(c, "")
    if name.startswith(("GREEK SMALL LETTER ", "GREEK CAPITAL LETTER ")):
        word = name.split()[-1].lower().replace("lamda", "lambda")
        return word.capitalize() if "CAPITAL" in name else word
    plain = unicodedata.normalize("NFKD", c).encode("ascii", "ignore").decode()
    return plain if plain or unicodedata.combining(c) else "?"


@dataclass
class Printer:
    """Prints expressions; `sizes` maps each count N to its letter, shared by one explanation."""

    latex: bool = False
    ascii: bool = False  # then finish with to_ascii(); here only · splits into * and @
    sizes: dict[int, str] = field(default_factory=dict)

    def __call__(self, e: alg.Expr) -> str:
        return self.fmt(e, tight=False)[0]

    def fmt(self, e: alg.Expr, tight: bool) -> Printed:
        """(text, precedence): tight means nested, where matrix products drop their spaces."""
        return RULES[type(e)](self, e, tight)

    def wrap(self, e: alg.Expr, prec: int, tight: bool = True) -> str:
        """e printed, in parentheses if it binds more loosely than `prec`."""
        text, p = self.fmt(e, tight)
        return text if p >= prec else r"\left(" + text + r"\right)" if self.latex else f"({text})"

    def dot(self, matrix: bool, tight: bool) -> str:
        """The product sign: a matrix product, or a number times something."""
        sign = " " if self.latex else ("@" if matrix else "*") if self.ascii else "·"
        return sign if tight or self.latex else f" {sign} "

    def size_name(self, n: int) -> str:
        i = len(self.sizes)
        return self.sizes.setdefault(n, SIZE_LETTERS[i] if i < len(SIZE_LETTERS) else f"N{i}")

    def name(self, name: str) -> str:
        """A tensor's name; in LaTeX ḡ is \\bar{g}, W1 is W_{1}, θ is \\theta, x′ is x'."""
        if not self.latex:
            return name
        if name == "ḡ":
            return r"\bar{g}"
        base = name.rstrip("′")
        m = re.fullmatch(r"([A-Za-z])(\d+)", base)
        text = f"{m.group(1)}_{{{m.group(2)}}}" if m else _latex_word(base, call=False)
        return text + "'" * (len(name) - len(base))

    def number(self, q: Fraction) -> Printed:
        sign, q, d = ("-" if self.latex else "−") * (q < 0), abs(q), q.denominator
        if d == 1:
            text = str(q.numerator)
        elif self.latex:
            text = rf"\frac{{{q.numerator}}}{{{d}}}"
        elif q in _VULGAR or (10 ** len(str(d)) % d == 0 and q < 1000):  # ½, or 0.1 as typed
            text = _VULGAR.get(q) or str(float(q))
        else:
            return sign + f"{q.numerator}/{d}", MUL
        return sign + text, MUL if sign else ATOM

    def sup(self, p: Fraction) -> str:
        """An exponent: x², x^½, x^(1/3); in LaTeX x^{…}."""
        text, prec = self.number(p)
        if self.latex:
            return "^{" + text + "}"
        if p.denominator == 1:
            return str(p.numerator).translate(_SUPERSCRIPT)
        return "^" + (text if prec == ATOM and "-" not in text else f"({text})")

    def coefficient(self, c: Fraction, sizes: list[tuple[str, Fraction]]) -> str:
        """2/N, 1/(2N), N/2 ... from a positive number and (letter, exponent) pairs."""
        up = [s if p == 1 else s + self.sup(p) for s, p in sizes if p > 0]
        down = [s if p == -1 else s + self.sup(-p) for s, p in sizes if p < 0]
        if not up and not down:
            return self.number(c)[0]
        top = ("" if c.numerator == 1 and up else str(c.numerator)) + "".join(up)
        bottom = ("" if c.denominator == 1 else str(c.denominator)) + "".join(down)
        if not bottom or self.latex:
            return rf"\frac{{{top}}}{{{bottom}}}" if bottom else top
        return f"{top}/{bottom}" if len(down) + (c.denominator != 1) <= 1 else f"{top}/({bottom})"

    def template(self, form: str, args: Sequence[alg.Expr], params: dict[str, str]) -> Printed:
        """An op's `expr` template filled in: {0}, {1}… by the arguments (bare where the template
        encloses them, else in parentheses unless atomic), other {names} by `params`."""
        pieces, closed = _parse(form, self.latex)
        out = []
        for piece in pieces:
            if isinstance(piece, tuple):
                key, bare, braced = piece
                if not key.isdigit():
                    piece = _latex_param(params[key]) if self.latex else params[key]
                else:
                    a = args[int(key)]
                    piece = self.fmt(a, True)[0] if bare else self.wrap(a, ATOM)
                piece = "{" + piece + "}" if braced else piece
            out.append(piece)
        return "".join(out), ATOM if closed else MUL


def _add(p: Printer, e: alg.Add, tight: bool) -> Printed:
    minus = " - " if p.latex else " − "
    parts: list[str] = []
    for i, t in enumerate(e.terms):
        c, fs = alg.split(t)
        body = p.wrap(alg.mul(alg.Const(abs(c)), *fs) if c < 0 else t, ADD + 1 if i else ADD)
        sign = (minus if i else minus.strip()) if c < 0 else (" + " if i else "")
        parts.append(sign + body)
    return "".join(parts), ADD


def _mul(p: Printer, e: alg.Mul, tight: bool) -> Printed:
    sizes, num, den = [], [], []
    for f in e.factors:
        base, k = alg.power_of(f)
        if isinstance(base, alg.Size) and isinstance(k, Fraction):
            sizes.append((p.size_name(base.value), k))
        elif isinstance(k, Fraction) and k < 0:
            den.append(alg.power(base, -k))
        else:
            num.append(f)
    coef = p.coefficient(abs(e.coef), sizes)
    has_coef = coef != "1" and (bool(num) or not den)
    inner = MUL + 1 if len(num) + len(den) > 1 else MUL
    sep = r" \odot " if p.latex else " ⊙ "
    body = sep.join(p.wrap(f, inner, tight or len(num) > 1) for f in num)
    if den:  # in LaTeX the fraction bar groups the denominator by itself
        d = sep.join(p.wrap(f, MUL + 1 if len(den) > 1 else ADD if p.latex else POW) for f in den)
        body = rf"\frac{{{body or coef}}}{{{d}}}" if p.latex else f"{body or coef} / " + (
            d if len(den) == 1 else f"({d})")
    text = (coef + p.dot(False, tight) + body if body else coef) if has_coef else body
    return ("-" if p.latex else "−") + text if e.coef < 0 else text, MUL


def _pow(p: Printer, e: alg.Pow, tight: bool) -> Printed:
    if isinstance(e.base, alg.Size):  # N⁻¹ reads better as 1/N
        return _mul(p, alg.Mul(Fraction(1), (e,), e.shape), tight)
    base = p.wrap(e.base, POW if isinstance(e.base, alg.Apply) else ATOM)
    if not isinstance(e.exponent, alg.Expr):
        return base + p.sup(e.exponent), POW
    ex = "{" + p(e.exponent) + "}" if p.latex else p.wrap(e.exponent, ATOM)  # braces group
    return f"{base}^{ex}", POW


def _matmul(p: Printer, e: alg.MatMul, tight: bool) -> Printed:
    a = p.wrap(e.a, MUL if isinstance(e.a, alg.MatMul) else MUL + 1, tight)
    b = p.wrap(e.b, MUL if isinstance(e.b, alg.MatMul) else MUL + 1, tight)
    return a + p.dot(True, tight) + b, MUL


def _transpose(p: Printer, e: alg.Transpose, tight: bool) -> Printed:
    n = e.x.ndim
    if e.axes in (tuple(range(n - 2)) + (n - 1, n - 2), tuple(range(n))[::-1]):
        return p.wrap(e.x, ATOM) + (r"^\top" if p.latex else "ᵀ"), POW
    return p.template("transpose({0}, {axes})", (e.x,), {"axes": str(e.axes)})


def _sum(p: Printer, e: alg.Sum, tight: bool) -> Printed:
    sub = "" if e.axes == tuple(range(e.x.ndim)) else ",".join(map(str, e.axes))
    body = p.fmt(e.x, True)[0]
    if p.latex:
        return rf"\sum{'_{' + sub + '}' if sub else ''}\left({body}\right)", ATOM
    return f"Σ{sub.translate(_SUBSCRIPT)}({body})", ATOM


def _expand(p: Printer, e: alg.Expand, tight: bool) -> Printed:
    if isinstance(e.x, alg.Const) and e.x.value == 1:
        return (r"\mathbf{1}" if p.latex else "𝟙"), ATOM
    if not e.axes or e.axes == tuple(range(len(e.axes))):
        return p.fmt(e.x, tight)  # NumPy broadcasting does exactly this
    index = ", ".join("None" if i in e.axes else ":" for i in range(len(e.shape)))
    return p.template("{0}[{index}]", (e.x,), {"index": index})


def _compare(p: Printer, e: alg.Compare, tight: bool) -> Printed:
    a, b = p.fmt(e.a, True)[0], p.fmt(e.b, True)[0]
    text = f"[{a} {_LATEX_SIGNS.get(e.op, e.op) if p.latex else e.op} {b}]"
    return (r"\mathbb{1}" + text if p.latex else text), ATOM


def _apply(p: Printer, e: alg.Apply, tight: bool) -> Printed:
    op = OPS[e.op]
    template = op.expr if not op.variadic else e.op + "(" + ", ".join(
        f"{{{i}}}" for i in range(len(e.args))) + ")"
    return p.template(template, e.args, {k: _param_text(v) for k, v in e.params.items()})


RULES: dict[type[alg.Expr], Callable[[Printer, Any, bool], Printed]] = {
    alg.Sym: lambda p, e, tight: (p.name(e.name), ATOM),
    alg.Array: lambda p, e, tight: (p.name(e.label), ATOM),
    alg.Size: lambda p, e, tight: (p.size_name(e.value), ATOM),
    alg.Const: lambda p, e, tight: p.number(e.value),
    alg.Add: _add,
    alg.Mul: _mul,
    alg.Pow: _pow,
    alg.MatMul: _matmul,
    alg.Transpose: _transpose,
    alg.Sum: _sum,
    alg.Expand: _expand,
    alg.Compare: _compare,
    alg.Apply: _apply,
}


def _param_text(v: Any) -> str:
    if isinstance(v, slice):
        start, stop = ("" if x is None else str(x) for x in (v.start, v.stop))
        return f"{start}:{stop}" + ("" if v.step is None else f":{v.step}")
    if isinstance(v, tuple):
        return ", ".join(_param_text(x) for x in v)
    if isinstance(v, np.ndarray):
        return np.array2string(v, separator=", ", threshold=6) if v.ndim else str(v.item())
    if v is Ellipsis:
        return "…"
    return str(v)


Slot = tuple[str, bool, bool]  # a {placeholder}: its key ("0", "p"), bare, braced: see _parse
_TOKEN = re.compile(r"\{\w+\}|[ᵀ⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+|\w+|\s+|.")
_LATEX_SUP = str.maketrans({"ᵀ": r"\top"} | str.maketrans(_SUP_DIGITS + "⁻", "0123456789-"))
_LATEX_SIGNS = {"−": "-", "⊙": r"\odot", "·": r"\cdot", "…": r"\ldots", "Σ": r"\sum",
                "≤": r"\leq", "≥": r"\geq", "≠": r"\neq", "√": r"\sqrt", "(": r"\left(",
                ")": r"\right)", "[": r"\left[", "]": r"\right]"}
_LATEX_OPERATORS = set("arccos arcsin arctan arg cos cosh cot coth csc deg det dim exp gcd hom inf "
                       "ker lg lim liminf limsup ln log max min sec sin sinh sup tan tanh".split())


@lru_cache(maxsize=4096)
def _parse(template: str, latex: bool) -> tuple[tuple[str | Slot, ...], bool]:
    """The template as text and slots (typeset for LaTeX), and whether it closes around its
    arguments (f(…), […], |…|, x[…]): then it binds like a name, else like a product. A slot is
    bare where the template encloses it; in LaTeX braced in a power, under a root, after a name."""
    name, paren, _ = template.partition("(")
    closed = (bool(paren) and template.endswith(")") and not any(
        c.isspace() or c in "{}" for c in name)) or template[:1] + template[-1:] in ("[]", "||") \
        or (template.startswith("{0}[") and template.endswith("]"))
    out: list[str | Slot] = []
    toks = ["", *_TOKEN.findall(template), ""]
    for i, tok in enumerate(toks[1:-1], 1):
        before, after = toks[i - 2 if toks[i - 1] == " " else i - 1], toks[i + 1]
        if tok[0] == "{":  # braced after ^ or a command: x^{p}, \sqrt{x}, \sum{x} (not \sumx)
            prev = out[-1] if out and isinstance(out[-1], str) else ""
            bare = (before in set("([|,") and after[:1] in set(")]|,")) or (
                latex and prev in ("^", r"\sqrt"))  # the braces group it by themselves
            out.append((tok[1:-1], bare, latex and (prev == "^" or _command(prev))))
        elif not latex:
            out.append(tok)
        elif tok == "^" or tok[0] in "ᵀ⁻" + _SUP_DIGITS:  # a power: its base goes in braces
            if out and isinstance(out[-1], tuple):
                out[-1] = (out[-1][0], out[-1][1], True)
            out.append("^" if tok == "^" else "^{" + tok.translate(_LATEX_SUP) + "}")
        elif tok == "|":  # bars open and close in turn
            out.append(r"\right|" if out.count(r"\left|") > out.count(r"\right|") else r"\left|")
        else:
            text = _LATEX_SIGNS.get(tok) or (_latex_word(tok, after == "(") if tok[0].isalpha()
                                              else tok)
            out.append(text + " " if _command(text) and after[:1].isalpha() else text)
    return tuple(out), closed


def _command(text: str) -> bool:
    """Whether LaTeX text ends in a command's name, which a letter after it would lengthen."""
    return text[:1] == "\\" and text[-1].isalpha()


def _latex_word(word: str, call: bool) -> str:
    """A word of a template (`call`: a function's name) or a tensor's name, in LaTeX: exp( →
    \\exp, σ → \\sigma, log_softmax( → \\operatorname{log\\_softmax}, cond → \\mathrm{cond}."""
    if call and word in _LATEX_OPERATORS:
        return "\\" + word
    greek = unicodedata.name(word, "") if len(word) == 1 else ""
    if greek.startswith("GREEK SMALL LETTER "):
        return "\\" + greek.split()[-1].lower().replace("lamda", "lambda")
    if len(word) == 1 or word.isdigit():
        return word
    return ("\\operatorname{" if call else "\\mathrm{") + word.translate(_ASCII).replace(
        "_", r"\_") + "}"


def _latex_param(text: str) -> str:
    """A parameter's text (an index, a bound) as LaTeX: None → \\mathrm{None}, … → \\ldots."""
    escaped = text.replace("{", r"\{").replace("}", r"\}")  # so no {…} reads as a slot
    return "".join(x for x in _parse(escaped, True)[0] if isinstance(x, str))
