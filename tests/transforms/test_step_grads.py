"""The ``.grad`` a compiled step leaves, against PyTorch: read or unread
between steps, kept by the user, captured by a deferred op, accumulated,
cleared or assigned between steps, passed back in as an argument. Nothing a
user can still reach is donated."""

import jax
import numpy as np
import pytest
import torch

import lucid_fx
import lucid_fx.nn as nn
import lucid_fx.nn.functional as F
from lucid_fx import Tensor, optim
from lucid_fx._tensor._pending import Pending
from tests.helpers import train_step

RNG = np.random.default_rng(3)
X = RNG.normal(size=(8, 4)).astype(np.float32)
Y = RNG.integers(0, 3, 8).astype(np.int32)
LR, MOMENTUM = 0.1, 0.9


def _pair():
    """A lucid_fx model and a PyTorch copy of it (the oracle), with SGD."""
    lucid_fx.random.seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.LeakyReLU(0.125), nn.Linear(6, 3))
    twin = torch.nn.Sequential(
        torch.nn.Linear(4, 6), torch.nn.LeakyReLU(0.125), torch.nn.Linear(6, 3)
    )
    with torch.no_grad():
        for p, q in zip(model.parameters(), twin.parameters(), strict=True):
            q.copy_(torch.from_numpy(np.array(p.data)))
    opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    topt = torch.optim.SGD(twin.parameters(), lr=LR, momentum=MOMENTUM)
    return model, opt, twin, topt


def _torch_step(twin, topt):
    topt.zero_grad()
    loss = torch.nn.functional.cross_entropy(
        twin(torch.from_numpy(X)), torch.from_numpy(Y.astype(np.int64))
    )
    loss.backward()
    topt.step()
    return [q.grad.numpy().copy() for q in twin.parameters()]


def _close(ours, theirs):
    np.testing.assert_allclose(np.asarray(ours), theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("read", [False, True])
def test_grads_over_many_steps_match_pytorch(read):
    # The plain loop, with or without reading .grad between steps (logging a
    # gradient norm).
    model, opt, twin, topt = _pair()
    step = lucid_fx.compile(train_step)
    for _ in range(6):
        step(model, opt, Tensor(X), Tensor(Y))
        grads = _torch_step(twin, topt)
        if read:
            for p, g in zip(model.parameters(), grads, strict=True):
                _close(p.grad.data, g)
    for p, q, g in zip(model.parameters(), twin.parameters(), grads, strict=True):
        _close(p.grad.data, g)
        _close(p.data, q.detach().numpy())


def test_a_kept_grad_keeps_its_values():
    # ``g = p.grad`` is not donated: g reads the first step's gradient after
    # the second step ran.
    model, opt, twin, topt = _pair()
    step = lucid_fx.compile(train_step)
    step(model, opt, Tensor(X), Tensor(Y))
    first = _torch_step(twin, topt)
    kept = model[0].weight.grad
    step(model, opt, Tensor(X), Tensor(Y))
    second = _torch_step(twin, topt)
    assert model[0].weight.grad is not kept
    _close(kept.data, first[0])
    _close(model[0].weight.grad.data, second[0])
    assert not np.allclose(first[0], second[0])  # the check can fail


def test_a_grad_captured_by_a_deferred_op_keeps_its_values():
    # A recorded op on a gradient captures its array: the array must outlive
    # the next step.
    model, opt, twin, topt = _pair()
    step = lucid_fx.compile(train_step)
    step(model, opt, Tensor(X), Tensor(Y))
    first = _torch_step(twin, topt)
    scale = Tensor(np.full((6, 4), 2.0, np.float32), requires_grad=True)
    scaled = model[0].weight.grad * scale
    assert type(scaled._data) is Pending and scaled._data.value is None
    step(model, opt, Tensor(X), Tensor(Y))
    _close(scaled.data, 2.0 * first[0])
    scaled.sum().backward()
    _close(scale.grad.data, first[0])


def _two_dtype_step(a, b, opt, xa, xb, y):
    opt.zero_grad()
    F.cross_entropy(a(xa), y).backward()
    F.cross_entropy(b(xb), y).backward()
    opt.step()


def test_grads_of_two_dtypes_match_eager():
    # float32 and float64 parameters in one step: the same values as eager.
    with jax.enable_x64(True):
        runs = []
        for _ in range(2):
            lucid_fx.random.seed(0)
            a, b = nn.Linear(4, 3), nn.Linear(4, 3)
            b.weight = nn.Parameter(np.asarray(b.weight.data, np.float64))
            b.bias = nn.Parameter(np.asarray(b.bias.data, np.float64))
            opt = optim.SGD([*a.parameters(), *b.parameters()], lr=LR)
            runs.append((a, b, opt))
        xa, xb, y = Tensor(X), Tensor(X.astype(np.float64)), Tensor(Y)
        step = lucid_fx.compile(_two_dtype_step)
        for _ in range(3):
            _two_dtype_step(*runs[0], xa, xb, y)
            step(*runs[1], xa, xb, y)
        eager = [p for m in runs[0][:2] for p in m.parameters()]
        compiled = [p for m in runs[1][:2] for p in m.parameters()]
        for p, q in zip(eager, compiled, strict=True):
            np.testing.assert_allclose(np.asarray(q.grad.data), p.grad.data, 1e-6)


@pytest.mark.parametrize("read", [False, True])
def test_failed_step_leaves_old_grads_readable(read, monkeypatch):
    # A step that fails before its program runs (an invalid label) leaves
    # the last step's gradients as they were, read or not.
    model, opt, twin, topt = _pair()
    step = lucid_fx.compile(train_step)
    step(model, opt, Tensor(X), Tensor(Y))
    first = _torch_step(twin, topt)
    if read:
        _close(model[0].weight.grad.data, first[0])
    grad = model[0].weight.grad

    def fail(*args, **kwargs):
        raise RuntimeError("labels")

    program = next(iter(step._programs._entries.values()))
    monkeypatch.setattr(type(program), "check_labels", fail)
    with pytest.raises(RuntimeError, match="labels"):
        step(model, opt, Tensor(X), Tensor(Y))
    assert model[0].weight.grad is grad
    _close(grad.data, first[0])


def _accumulate(model, x, y):
    F.cross_entropy(model(x), y).backward()


def test_accumulating_steps_add_to_the_grads():
    # No zero_grad: each step adds to the last step's gradients, as PyTorch
    # accumulates.
    model, _, twin, _ = _pair()
    step = lucid_fx.compile(_accumulate)
    for _ in range(3):
        step(model, Tensor(X), Tensor(Y))
        torch.nn.functional.cross_entropy(
            twin(torch.from_numpy(X)), torch.from_numpy(Y.astype(np.int64))
        ).backward()
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        _close(p.grad.data, q.grad.numpy())


def test_grads_cleared_or_replaced_between_steps():
    # An eager zero_grad (None) or an assigned .grad between compiled steps
    # is what the next step starts from.
    model, _, twin, _ = _pair()
    step = lucid_fx.compile(_accumulate)
    step(model, Tensor(X), Tensor(Y))
    model[0].weight.grad = None
    model[2].bias.grad = Tensor(np.ones(3, np.float32))
    step(model, Tensor(X), Tensor(Y))
    torch.nn.functional.cross_entropy(
        twin(torch.from_numpy(X)), torch.from_numpy(Y.astype(np.int64))
    ).backward()
    twin_grads = [q.grad.numpy() for q in twin.parameters()]
    twin_grads[1] = 2 * twin_grads[1]  # model[0].bias: two steps
    twin_grads[2] = 2 * twin_grads[2]
    twin_grads[3] = twin_grads[3] + 1.0  # model[2].bias: one step plus ones
    for p, g in zip(model.parameters(), twin_grads, strict=True):
        _close(p.grad.data, g)


def _with_extra(model, opt, x, y, extra, w):
    # w: passed as the step's argument, since extra may depend on it
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y) + 0.0 * extra.sum()
    loss.backward()
    opt.step()
    return loss


@pytest.mark.parametrize("deferred", [False, True])
def test_an_argument_computed_from_the_grads(deferred):
    # The last step's .grad (or an op on it) passed back in as an argument.
    model, opt, twin, topt = _pair()
    step = lucid_fx.compile(_with_extra)
    zeros = Tensor(np.zeros((6, 4), np.float32))
    w = Tensor(np.ones((6, 4), np.float32), requires_grad=True)
    for _ in range(2):
        step(model, opt, Tensor(X), Tensor(Y), zeros, w)
        _torch_step(twin, topt)
    extra = model[0].weight.grad * w if deferred else model[0].weight.grad
    step(model, opt, Tensor(X), Tensor(Y), extra, w)
    grads = _torch_step(twin, topt)
    for p, q, g in zip(model.parameters(), twin.parameters(), grads, strict=True):
        _close(p.grad.data, g)
        _close(p.data, q.detach().numpy())


def test_a_read_between_read_out_and_call_is_not_stale(monkeypatch):
    # Another thread may read a gradient after the step read its state out
    # (before its program runs): the step's gradients are still the new ones.
    model, opt, twin, topt = _pair()
    step = lucid_fx.compile(train_step)
    for _ in range(2):
        step(model, opt, Tensor(X), Tensor(Y))
        _torch_step(twin, topt)
    program = next(iter(step._programs._entries.values()))
    check = type(program).check_labels

    def read_then_check(self, inputs):
        np.asarray(model[0].weight.grad.data)  # what a monitor thread does
        check(self, inputs)

    monkeypatch.setattr(type(program), "check_labels", read_then_check)
    step(model, opt, Tensor(X), Tensor(Y))
    grads = _torch_step(twin, topt)
    for p, g in zip(model.parameters(), grads, strict=True):
        _close(p.grad.data, g)
