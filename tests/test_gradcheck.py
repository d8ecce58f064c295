"""gradcheck passes correct gradients and reports wrong ones readably."""

from __future__ import annotations

import numpy as np
import pytest

import autograd_mini as am
from autograd_mini.ops import OPS, Op


def test_gradcheck_accepts_a_correct_gradient() -> None:
    assert am.gradcheck(lambda a, b: (am.tanh(a) @ b).sum(), (np.ones((2, 3)), np.ones(3)))


def test_gradcheck_reports_input_worst_element_values_and_error(monkeypatch) -> None:
    wrong = Op(**{**{f: getattr(OPS["exp"], f) for f in OPS["exp"].__dataclass_fields__},
                  "vjps": (lambda g, x, out: 2 * g * out,)})  # a deliberately wrong VJP
    monkeypatch.setitem(OPS, "exp", wrong)
    x = np.array([0.0, 1.0, 2.0])
    with pytest.raises(am.GradcheckError) as info:
        am.gradcheck(lambda w: am.exp(w).sum(), (x,))
    msg = str(info.value)
    assert "input 0 (w)" in msg and "(3,)" in msg and "3 of 3" in msg
    assert "index (2,)" in msg  # the worst element: e² is largest
    assert f"{2 * np.exp(2):.6g}"[:6] in msg and f"{np.exp(2):.6g}"[:6] in msg


def test_gradcheck_requires_a_scalar_output() -> None:
    with pytest.raises(ValueError, match="scalar"):
        am.gradcheck(lambda a: a * 2, (np.ones(2),))


def test_gradcheck_prints_the_values_as_plain_numbers() -> None:
    # x.detach() · x has the value x² but the gradient x (the detached factor is a constant):
    # at x = 4 backward says 4 and central differences 8.
    with pytest.raises(am.GradcheckError) as info:
        am.gradcheck(lambda x: (x.detach() * x).sum(), (np.array(4.0),))
    msg = str(info.value)
    assert "np.float64" not in msg and "array(" not in msg
    assert "analytic 4, numeric 8," in msg
