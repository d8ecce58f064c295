"""The recording switches: their signatures, and set_grad_enabled's keyword."""

from __future__ import annotations

import inspect

import autograd_mini as am


def test_the_switches_show_the_arguments_they_take() -> None:
    assert str(inspect.signature(am.no_grad)) == "()"
    assert str(inspect.signature(am.enable_grad)) == "()"
    assert str(inspect.signature(am.detect_anomaly)) == "()"
    assert list(inspect.signature(am.set_grad_enabled).parameters) == ["mode"]
    # An instance is a decorator: its signature is its __call__'s.
    assert list(inspect.signature(am.no_grad()).parameters) == ["func"]


def test_set_grad_enabled_takes_mode_by_keyword() -> None:
    with am.set_grad_enabled(mode=False):
        assert not am.is_grad_enabled()
    assert am.is_grad_enabled()


def test_bare_and_called_decorators_still_work() -> None:
    @am.no_grad
    def bare() -> bool:
        return am.is_grad_enabled()

    @am.no_grad()
    def called() -> bool:
        return am.is_grad_enabled()

    assert not bare() and not called() and am.is_grad_enabled()
