"""Optimizers against PyTorch's update rules written out in numpy float64."""

import numpy as np
import pytest

from lucid_fx import optim
from lucid_fx.nn import Parameter

W0 = np.array([1.0, -2.0, 0.5])
GRADS = [
    np.array([0.5, -1.0, 2.0]),
    np.array([1.0, 0.0, -0.5]),
    np.array([-0.25, 0.75, 1.0]),
]


def _run(opt_factory, steps=GRADS):
    w = Parameter(W0.astype(np.float32))
    opt = opt_factory([w])
    for g in steps:
        opt.zero_grad()
        w.grad = g.astype(np.float32)
        opt.step()
    return w.numpy()


def test_sgd_momentum_weight_decay_matches_pytorch_rule():
    lr, mu, wd = 0.1, 0.9, 0.01
    w, buf = W0.copy(), None
    for g in GRADS:
        d = g + wd * w
        buf = d if buf is None else mu * buf + d
        w = w - lr * buf
    got = _run(lambda p: optim.SGD(p, lr=lr, momentum=mu, weight_decay=wd))
    np.testing.assert_allclose(got, w, rtol=1e-6)


def test_adam_matches_pytorch_rule():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    w, m, v = W0.copy(), np.zeros(3), np.zeros(3)
    for t, g in enumerate(GRADS, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    got = _run(lambda p: optim.Adam(p, lr=lr))
    np.testing.assert_allclose(got, w, rtol=1e-5)


def test_changing_lr_takes_effect():
    w = Parameter([1.0])
    opt = optim.SGD([w], lr=0.1)
    w.grad = np.ones(1, np.float32)
    opt.step()
    opt.lr = 1.0
    opt.step()
    np.testing.assert_allclose(w.numpy(), [1.0 - 0.1 - 1.0], rtol=1e-6)


def test_parameters_without_grad_are_skipped():
    a, b = Parameter([1.0]), Parameter([2.0])
    opt = optim.SGD([a, b], lr=0.5)
    a.grad = np.ones(1, np.float32)
    opt.step()
    assert (a.tolist(), b.tolist()) == ([0.5], [2.0])


def test_adam_state_moves_only_for_parameters_with_a_grad():
    a, b = Parameter([1.0, -1.0]), Parameter([2.0])
    opt = optim.Adam([a, b], lr=0.1)
    g = np.array([0.5, -2.0], np.float32)
    a.grad = g
    opt.step()
    (adam_a, _), (adam_b, _) = opt.state  # (ScaleByAdamState, EmptyState) each
    assert (int(adam_a.count), int(adam_b.count)) == (1, 0)
    np.testing.assert_allclose(adam_a.mu, 0.1 * g, rtol=1e-6)  # (1 - b1) g
    np.testing.assert_allclose(adam_a.nu, 0.001 * g * g, rtol=1e-5)  # (1 - b2) g^2
    np.testing.assert_array_equal(adam_b.mu, [0.0])
    b.grad = np.ones(1, np.float32)
    opt.step()
    assert [int(s.count) for s, _ in opt.state] == [2, 1]


def test_state_is_read_only():
    opt = optim.SGD([Parameter([1.0])], lr=0.1, momentum=0.9)
    assert isinstance(opt.state, tuple) and len(opt.state) == 1
    with pytest.raises(AttributeError):
        opt.state = ()


@pytest.mark.parametrize(
    "make,error,phrase",
    [
        (lambda: optim.SGD([], lr=0.1), ValueError, "empty parameter list"),
        (lambda: optim.SGD([Parameter([1.0])], lr=-0.1), ValueError, "lr"),
        (lambda: optim.SGD([Parameter([1.0])], lr="0.1"), TypeError, "lr"),
        (lambda: optim.SGD([np.ones(1)], lr=0.1), TypeError, "params"),
        (
            lambda: optim.Adam([Parameter([1.0])], lr=0.1, betas=(0.9, 1.0)),
            ValueError,
            "betas",
        ),
        (
            lambda: optim.SGD([Parameter([1.0])], lr=0.1, momentum=-1),
            ValueError,
            "momentum",
        ),
    ],
)
def test_bad_arguments(make, error, phrase):
    with pytest.raises(error, match=phrase):
        make()


def test_bad_lr_assignment_keeps_old_value():
    opt = optim.SGD([Parameter([1.0])], lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        opt.lr = float("nan")
    assert opt.lr == 0.1
