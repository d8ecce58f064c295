"""am.optim: SGD, Adam and AdamW against their update rules written out in NumPy."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import autograd_mini as am
from autograd_mini import optim

from .helpers import assert_close

# The bowl f(w) = ½·wᵀAw − bᵀw: its gradient is A·w − b by hand, its minimum A⁻¹b.
A = np.array([[3.0, 0.5], [0.5, 1.0]])
B = np.array([1.0, -2.0])
W0 = np.array([0.5, -1.5])


def bowl(w: am.Tensor) -> am.Tensor:
    return 0.5 * (w * (am.tensor(A) @ w)).sum() - (am.tensor(B) * w).sum()


def bowl_grad(w: np.ndarray) -> np.ndarray:
    return A @ w - B


def trajectory(make: Callable[[list[am.Tensor]], optim.Optimizer], steps: int = 3,
               dtype: type = np.float64) -> list[np.ndarray]:
    """w after each of `steps` rounds of zero_grad, backward, step."""
    w = am.tensor(W0.astype(dtype), requires_grad=True, name="w")
    opt = make([w])
    out = []
    for _ in range(steps):
        opt.zero_grad()
        bowl(w).backward()
        opt.step()
        out.append(w.data.copy())
    return out


# ---- the update rules, by hand ---------------------------------------------------------


def sgd_by_hand(lr: float, momentum: float = 0.0, nesterov: bool = False,
                weight_decay: float = 0.0, steps: int = 3) -> list[np.ndarray]:
    w, buf, out = W0.copy(), None, []
    for _ in range(steps):
        g = bowl_grad(w) + weight_decay * w
        if momentum:
            buf = g if buf is None else momentum * buf + g
            g = g + momentum * buf if nesterov else buf
        w = w - lr * g
        out.append(w)
    return out


def adam_by_hand(lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0, decoupled: bool = False,
                 steps: int = 3) -> list[np.ndarray]:
    w, m, v, out = W0.copy(), np.zeros(2), np.zeros(2), []
    for t in range(1, steps + 1):
        g = bowl_grad(w)
        if decoupled:
            w = w - lr * weight_decay * w
        else:
            g = g + weight_decay * w
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g ** 2
        m_hat = m / (1 - beta1 ** t)
        v_hat = v / (1 - beta2 ** t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(w)
    return out


SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.8, nesterov=True),
    dict(lr=0.1, weight_decay=0.3),
    dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.3),
]


@pytest.mark.parametrize("kw", SGD_CASES, ids=lambda kw: ",".join(map(str, kw.items())))
def test_sgd_first_three_steps_follow_the_rule(kw: dict) -> None:
    got = trajectory(lambda ps: optim.SGD(ps, **kw))
    for a, e in zip(got, sgd_by_hand(**kw), strict=True):
        assert_close(a, e, rtol=1e-13, atol=1e-15)


def test_sgd_momentum_numbers_worked_by_hand() -> None:
    # f(p) = p², g = 2p, p₀ = 1, lr = 0.1, μ = 0.9:
    #   b₁ = 2,                 p₁ = 1 − 0.1·2 = 0.8
    #   b₂ = 0.9·2 + 1.6 = 3.4, p₂ = 0.8 − 0.34 = 0.46
    #   b₃ = 0.9·3.4 + 0.92 = 3.98, p₃ = 0.46 − 0.398 = 0.062
    # Nesterov steps along g + μ·b instead:
    #   3.8 → p₁ = 0.62;  b₂ = 3.04, 1.24 + 2.736 → p₂ = 0.2224;
    #   b₃ = 3.1808, 0.4448 + 2.86272 → p₃ = −0.108352
    for nesterov, expected in ((False, [0.8, 0.46, 0.062]),
                               (True, [0.62, 0.2224, -0.108352])):
        p = am.tensor(1.0, requires_grad=True)
        opt = optim.SGD([p], lr=0.1, momentum=0.9, nesterov=nesterov)
        got = []
        for _ in range(3):
            opt.zero_grad()
            (p * p).backward()
            opt.step()
            got.append(float(p))
        assert_close(got, expected, rtol=1e-12, atol=1e-15)


ADAM_CASES = [
    dict(lr=0.1),
    dict(lr=0.01, betas=(0.5, 0.9), eps=1e-3),
    dict(lr=0.1, weight_decay=0.5),
]


@pytest.mark.parametrize("kw", ADAM_CASES, ids=lambda kw: ",".join(map(str, kw.items())))
def test_adam_first_three_steps_follow_the_rule(kw: dict) -> None:
    got = trajectory(lambda ps: optim.Adam(ps, **kw))
    beta1, beta2 = kw.get("betas", (0.9, 0.999))
    expected = adam_by_hand(kw["lr"], beta1, beta2, kw.get("eps", 1e-8),
                            kw.get("weight_decay", 0.0))
    for a, e in zip(got, expected, strict=True):
        assert_close(a, e, rtol=1e-13, atol=1e-15)


def test_adam_first_step_moves_each_coordinate_by_lr() -> None:
    # With bias correction m̂₁ = g and v̂₁ = g², so the first step is lr·g/(|g| + ε).
    (w1,) = trajectory(lambda ps: optim.Adam(ps, lr=0.1), steps=1)
    assert_close(W0 - w1, 0.1 * np.sign(bowl_grad(W0)), rtol=1e-7)


@pytest.mark.parametrize("kw", [dict(), dict(lr=0.1, weight_decay=0.5),
                                dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.0)],
                         ids=str)
def test_adamw_first_three_steps_follow_the_rule(kw: dict) -> None:
    got = trajectory(lambda ps: optim.AdamW(ps, **kw))
    beta1, beta2 = kw.get("betas", (0.9, 0.999))
    expected = adam_by_hand(kw.get("lr", 1e-3), beta1, beta2,
                            weight_decay=kw.get("weight_decay", 1e-2), decoupled=True)
    for a, e in zip(got, expected, strict=True):
        assert_close(a, e, rtol=1e-13, atol=1e-15)


def test_adam_and_adamw_differ_when_decay_is_on() -> None:
    coupled = trajectory(lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.5))
    decoupled = trajectory(lambda ps: optim.AdamW(ps, lr=0.1, weight_decay=0.5))
    assert np.abs(coupled[-1] - decoupled[-1]).max() > 1e-3


# ---- behaviour around the step ---------------------------------------------------------


MAKERS = {
    "sgd": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.5),
    "adam": lambda ps: optim.Adam(ps, lr=0.1),
    "adamw": lambda ps: optim.AdamW(ps, lr=0.1),
}


@pytest.mark.parametrize("name", MAKERS)
def test_step_keeps_a_leaf_and_refuses_a_graph_recorded_before_it(name: str) -> None:
    w = am.tensor(W0.copy(), requires_grad=True, name="w")
    opt = MAKERS[name]([w])
    bowl(w).backward()
    stale = bowl(w)  # records the current values of w
    opt.step()
    assert w.is_leaf and w.requires_grad and w.grad is not None
    assert not np.array_equal(w.data, W0)
    with pytest.raises(RuntimeError):
        stale.backward()
    fresh = bowl(w)  # a graph recorded after the step is fine
    opt.zero_grad()
    fresh.backward()
    assert_close(w.grad, bowl_grad(w.data))


@pytest.mark.parametrize("name", MAKERS)
def test_zero_grad_sets_none(name: str) -> None:
    w = am.tensor(W0.copy(), requires_grad=True)
    opt = MAKERS[name]([w])
    bowl(w).backward()
    assert w.grad is not None
    opt.zero_grad()
    assert w.grad is None


@pytest.mark.parametrize("name", MAKERS)
def test_parameters_without_a_gradient_are_skipped(name: str) -> None:
    used = am.tensor(W0.copy(), requires_grad=True)
    unused = am.tensor(np.array([7.0, 8.0]), requires_grad=True)
    opt = MAKERS[name]([used, unused])
    bowl(used).backward()
    opt.step()
    assert np.array_equal(unused.data, [7.0, 8.0])  # even AdamW's decay leaves it alone
    assert opt.state[1] == {}
    assert not np.array_equal(used.data, W0)


def test_adam_counts_steps_per_parameter() -> None:
    # `late` gets its first gradient at the second step: its bias correction uses t = 1,
    # so it moves by lr·sign(g) like any first step.
    early = am.tensor(W0.copy(), requires_grad=True)
    late = am.tensor(np.array([2.0, -3.0]), requires_grad=True)
    opt = optim.Adam([early, late], lr=0.1)
    bowl(early).backward()
    opt.step()
    opt.zero_grad()
    (late * late).sum().backward()
    opt.step()
    assert opt.state[0]["step"] == 1 and opt.state[1]["step"] == 1
    assert_close(late.data, np.array([2.0, -3.0]) - 0.1 * np.array([1.0, -1.0]), rtol=1e-7)


@pytest.mark.parametrize("name", MAKERS)
def test_float32_parameters_stay_float32(name: str) -> None:
    w = am.tensor(W0.astype(np.float32), requires_grad=True)
    opt = MAKERS[name]([w])
    for _ in range(3):
        opt.zero_grad()
        bowl(w).backward()
        opt.step()
    assert w.dtype == np.float32
    for value in opt.state[0].values():
        if isinstance(value, np.ndarray):
            assert value.dtype == np.float32
    w64 = trajectory(MAKERS[name])[-1]
    assert_close(w.data, w64.astype(np.float32), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", MAKERS)
def test_gradient_is_not_changed_by_step(name: str) -> None:
    w = am.tensor(W0.copy(), requires_grad=True)
    opt = MAKERS[name]([w])
    bowl(w).backward()
    before = w.grad.copy()
    opt.step()
    opt.step()  # momentum buffers must not alias the gradient
    assert np.array_equal(w.grad, before)


# ---- they reach the minimum ------------------------------------------------------------


@pytest.mark.parametrize(("make", "steps", "decay"), [
    (lambda ps: optim.SGD(ps, lr=0.2), 300, 0.0),
    (lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9), 400, 0.0),
    (lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True), 300, 0.0),
    (lambda ps: optim.SGD(ps, lr=0.2, weight_decay=0.5), 300, 0.5),
    (lambda ps: optim.Adam(ps, lr=0.05), 3000, 0.0),
    (lambda ps: optim.Adam(ps, lr=0.05, weight_decay=0.5), 3000, 0.5),
    (lambda ps: optim.AdamW(ps, lr=0.05, weight_decay=0.0), 3000, 0.0),
], ids=["sgd", "momentum", "nesterov", "sgd-l2", "adam", "adam-l2", "adamw"])
def test_reaches_the_bottom_of_the_bowl(make: Callable, steps: int, decay: float) -> None:
    # With L2 decay λ the minimum moves to that of f + λ/2·|w|², i.e. (A + λI)⁻¹b.
    bottom = np.linalg.solve(A + decay * np.eye(2), B)
    w = trajectory(make, steps=steps)[-1]
    assert_close(w, bottom, rtol=0, atol=1e-6)


def test_adamw_settles_where_decay_balances_the_adam_step() -> None:
    # Decoupled decay does not minimise f + λ/2·|w|²; at its fixed point the gradient is
    # small but not zero, and the weights are pulled towards 0 compared with A⁻¹b.
    w = trajectory(lambda ps: optim.AdamW(ps, lr=0.01, weight_decay=0.5), steps=3000)[-1]
    bottom = np.linalg.solve(A, B)
    assert np.linalg.norm(w) < np.linalg.norm(bottom)
    assert np.linalg.norm(w - bottom) < 0.5


# ---- torch.optim as an extra oracle ------------------------------------------------------


@pytest.mark.parametrize(("name", "kw"), [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.3)),
], ids=lambda v: v if isinstance(v, str) else ",".join(f"{k}={x}" for k, x in v.items()))
def test_matches_torch_optim_over_five_steps(name: str, kw: dict) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    W_init, b_init = rng.normal(size=(3, 2)), rng.normal(size=(2,))

    W = am.tensor(W_init.copy(), requires_grad=True)
    b = am.tensor(b_init.copy(), requires_grad=True)
    opt = getattr(optim, name)([W, b], **kw)
    tW = torch.tensor(W_init.copy(), requires_grad=True)
    tb = torch.tensor(b_init.copy(), requires_grad=True)
    topt = getattr(torch.optim, name)([tW, tb], **kw)
    tX, tY = torch.tensor(X), torch.tensor(Y)
    for _ in range(5):
        opt.zero_grad()
        (((am.tensor(X) @ W + b).tanh() - Y) ** 2).mean().backward()
        opt.step()
        topt.zero_grad()
        ((torch.tanh(tX @ tW + tb) - tY) ** 2).mean().backward()
        topt.step()
        assert_close(W.data, tW.detach().numpy(), rtol=1e-12, atol=1e-14)
        assert_close(b.data, tb.detach().numpy(), rtol=1e-12, atol=1e-14)


# ---- argument checks ---------------------------------------------------------------------


def leaf() -> am.Tensor:
    return am.tensor(W0.copy(), requires_grad=True, name="w")


@pytest.mark.parametrize(("make", "error", "match"), [
    (lambda: optim.SGD([leaf()], lr=-0.1), ValueError, r"lr=-0\.1 is invalid"),
    (lambda: optim.Adam([leaf()], lr=float("nan")), ValueError, r"lr=nan is invalid"),
    (lambda: optim.SGD([leaf()], lr="0.1"), TypeError, "lr must be a number"),
    (lambda: optim.SGD([leaf()], lr=0.1, momentum=-0.5), ValueError, "momentum"),
    (lambda: optim.SGD([leaf()], lr=0.1, momentum=1.0), ValueError, r"\[0, 1\)"),
    (lambda: optim.SGD([leaf()], lr=0.1, nesterov=True), ValueError, "needs momentum > 0"),
    (lambda: optim.SGD([leaf()], lr=0.1, weight_decay=-1), ValueError, "weight_decay"),
    (lambda: optim.Adam([leaf()], betas=(1.0, 0.999)), ValueError, r"betas\[0\]=1\.0"),
    (lambda: optim.Adam([leaf()], betas=(0.9, -0.1)), ValueError, r"betas\[1\]"),
    (lambda: optim.AdamW([leaf()], betas=0.9), ValueError, "must be a pair"),
    (lambda: optim.Adam([leaf()], eps=-1e-8), ValueError, "eps"),
    (lambda: optim.AdamW([leaf()], weight_decay=-0.01), ValueError, "weight_decay"),
    (lambda: optim.SGD([], lr=0.1), ValueError, "params is empty"),
    (lambda: optim.SGD(leaf(), lr=0.1), TypeError, r"got one Tensor; write SGD\(\[w\]"),
    (lambda: optim.Adam({"w": leaf()}), TypeError, "params is a dict"),
    (lambda: optim.Adam(3), TypeError, "iterable of tensors"),
    (lambda: optim.Adam([W0]), TypeError, r"params\[0\] is a ndarray, not a Tensor"),
    (lambda: optim.Adam([am.tensor(W0, name="x")]), ValueError,
     r"params\[0\] \('x'\) does not require grad"),
    (lambda: optim.Adam([leaf() * 2]), ValueError, "not a leaf"),
])
def test_bad_arguments_are_refused_clearly(make: Callable, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        make()


def test_a_parameter_listed_twice_is_refused() -> None:
    w = leaf()
    with pytest.raises(ValueError, match=r"params\[1\] \('w'\) appears twice"):
        optim.SGD([w, w], lr=0.1)


def test_a_generator_of_parameters_is_accepted_once() -> None:
    w = leaf()
    opt = optim.SGD((p for p in [w]), lr=0.1)
    assert len(opt.params) == 1 and opt.params[0] is w
