"""Weights tied by ``.data`` or by one Parameter train as PyTorch's tied weights."""

import numpy as np
import pytest
import torch

import lucid_fx
from lucid_fx import Tensor, optim
from lucid_fx.nn import Linear, Parameter

STEPS = 5
RNG = np.random.default_rng(3)
W = RNG.normal(size=(4, 4)).astype(np.float32)
BIASES = RNG.normal(size=(2, 4)).astype(np.float32)
# Different inputs and targets per layer and per step: the two tied
# parameters get different grads (and so different optimizer states).
XS = RNG.normal(size=(STEPS, 2, 6, 4)).astype(np.float32)
YS = RNG.normal(size=(STEPS, 2, 6, 4)).astype(np.float32)

CASES = [
    ("sgd_momentum", "SGD", dict(lr=0.1, momentum=0.9)),
    ("adam", "Adam", dict(lr=0.05)),
    ("adam_weight_decay", "Adam", dict(lr=0.05, weight_decay=0.5)),
    ("adamw", "AdamW", dict(lr=0.05, weight_decay=0.5)),
]


def _pair(tie):
    """Two Linear layers (ours, PyTorch's) sharing their weight by ``tie``."""
    a, b = Linear(4, 4), Linear(4, 4)
    ta, tb = torch.nn.Linear(4, 4), torch.nn.Linear(4, 4)
    a.weight, a.bias, b.bias = Parameter(W), Parameter(BIASES[0]), Parameter(BIASES[1])
    with torch.no_grad():
        ta.weight.copy_(torch.from_numpy(W))
        ta.bias.copy_(torch.from_numpy(BIASES[0]))
        tb.bias.copy_(torch.from_numpy(BIASES[1]))
    if tie == "data":
        b.weight.data = a.weight.data
        tb.weight.data = ta.weight.data
    else:
        b.weight = a.weight
        tb.weight = ta.weight
    return (a, b), (ta, tb)


def _loss(a, b, x, y, only_a=False):
    loss = ((a(x[0]) - y[0]) ** 2).mean()
    return loss if only_a else loss + ((b(x[1]) - y[1]) ** 2).mean()


def _step(a, b, opt, x, y, only_a=False):
    opt.zero_grad()
    _loss(a, b, x, y, only_a).backward()
    opt.step()


def _torch_step(ta, tb, opt, x, y, only_a=False):
    opt.zero_grad()
    _loss(ta, tb, torch.from_numpy(x), torch.from_numpy(y), only_a).backward()
    opt.step()


def _assert_like_torch(ours, theirs, opt, ref_opt, step):
    for mine, ref, name in zip(ours, theirs, "ab", strict=True):
        for what in ("weight", "bias"):
            np.testing.assert_allclose(
                np.asarray(getattr(mine, what).data),
                getattr(ref, what).detach().numpy(),
                rtol=1e-5,
                atol=1e-6,
                err_msg=f"step {step}: {name}.{what}",
            )
    state, ref_state = opt.state_dict()["state"], ref_opt.state_dict()["state"]
    assert sorted(state) == sorted(ref_state)
    for i, entry in state.items():
        for k, v in entry.items():
            np.testing.assert_allclose(
                np.asarray(v),
                ref_state[i][k].numpy(),
                rtol=1e-5,
                atol=1e-6,
                err_msg=f"step {step}: state {i} {k}",
            )


@pytest.mark.parametrize("name,cls,options", CASES, ids=[c[0] for c in CASES])
def test_weights_tied_by_data_stay_one_array_and_train_as_pytorch(name, cls, options):
    (a, b), (ta, tb) = _pair("data")
    opt = getattr(optim, cls)([*a.parameters(), *b.parameters()], **options)
    ref_opt = getattr(torch.optim, cls)([*ta.parameters(), *tb.parameters()], **options)
    for step in range(STEPS):
        held = a.weight.data  # a user's alias: must survive the step
        before = np.asarray(held).copy()
        _step(a, b, opt, Tensor(XS[step]), Tensor(YS[step]))
        _torch_step(ta, tb, ref_opt, XS[step], YS[step])
        assert a.weight.data is b.weight.data, f"untied at step {step}"
        assert ta.weight.data_ptr() == tb.weight.data_ptr()
        np.testing.assert_array_equal(np.asarray(held), before)
        _assert_like_torch((a, b), (ta, tb), opt, ref_opt, step)


@pytest.mark.parametrize("name,cls,options", CASES, ids=[c[0] for c in CASES])
def test_weights_tied_by_one_parameter_train_as_pytorch(name, cls, options):
    (a, b), (ta, tb) = _pair("parameter")
    # Ours takes the shared Parameter twice (updated once); PyTorch warns.
    opt = getattr(optim, cls)([*a.parameters(), *b.parameters()], **options)
    unique = list(dict.fromkeys([*ta.parameters(), *tb.parameters()]))
    ref_opt = getattr(torch.optim, cls)(unique, **options)
    for step in range(STEPS):
        _step(a, b, opt, Tensor(XS[step]), Tensor(YS[step]))
        _torch_step(ta, tb, ref_opt, XS[step], YS[step])
        assert a.weight is b.weight
        _assert_like_torch((a, b), (ta, tb), opt, ref_opt, step)


def test_a_tied_parameter_without_grad_follows_the_one_that_has_it():
    # Steps 1 and 3 use only ``a``: ``b.weight`` has no grad and is skipped,
    # but holds the same array, so it sees ``a``'s update (one storage).
    (a, b), (ta, tb) = _pair("data")
    opt = optim.SGD([*a.parameters(), *b.parameters()], lr=0.1, momentum=0.9)
    ref_opt = torch.optim.SGD(
        [*ta.parameters(), *tb.parameters()], lr=0.1, momentum=0.9
    )
    for step in range(STEPS):
        only_a = step % 2 == 1
        _step(a, b, opt, Tensor(XS[step]), Tensor(YS[step]), only_a)
        _torch_step(ta, tb, ref_opt, XS[step], YS[step], only_a)
        assert a.weight.data is b.weight.data, f"untied at step {step}"
        _assert_like_torch((a, b), (ta, tb), opt, ref_opt, step)


@pytest.mark.parametrize("name,cls,options", CASES, ids=[c[0] for c in CASES])
def test_compiled_and_eager_steps_agree_on_weights_tied_by_data(name, cls, options):
    runs = []
    for compiled in (False, True):
        (a, b), _ = _pair("data")
        opt = getattr(optim, cls)([*a.parameters(), *b.parameters()], **options)
        step = lucid_fx.compile(_step) if compiled else _step
        for i in range(STEPS):
            step(a, b, opt, Tensor(XS[i]), Tensor(YS[i]))
        assert a.weight.data is b.weight.data
        runs.append(np.asarray(b.weight.data))
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-5, atol=1e-6)
