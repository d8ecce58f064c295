"""Gradient expressions: trees of named tensors, sums and products, simplified as they are
built (algebra.py), evaluated with NumPy (evaluation.py), printed in Unicode, ASCII or LaTeX
(printing.py).

The explainer builds them by running each op's own VJP rule (`Op.formula`, which is the rule
itself unless the op prints differently) on expressions instead of arrays: `g @ b.T` reads the
same on both. Evaluation and printing each keep one table keyed by node class (`RULES`)."""

from fractions import Fraction

from .algebra import Array, Const, Expr, MatMul, Size, Sym, _scalars_out, expand, forward, number
from .evaluation import evaluate
from .printing import Printer, to_ascii

__all__ = ["Array", "Const", "Expr", "Fraction", "MatMul", "Printer", "Size", "Sym",
           "_scalars_out", "evaluate", "expand", "forward", "number", "to_ascii"]
