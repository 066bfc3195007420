"""Bad arguments: a clear error naming the API and the option; nothing changes."""

import numpy as np
import pytest

from lucid_fx import Tensor, optim
from lucid_fx.nn import Parameter


def _p():
    return [Parameter([1.0])]


CASES = [
    (lambda: optim.SGD([], lr=0.1), ValueError, "SGD: got an empty parameter list"),
    (lambda: optim.SGD(Parameter([1.0])), TypeError, "single Parameter"),
    (lambda: optim.SGD([np.ones(1)]), TypeError, r"params\[0\] must be a Tensor"),
    (lambda: optim.SGD([{"lr": 0.1}]), TypeError, "'params' entry"),
    (lambda: optim.SGD(_p(), lr=-0.1), ValueError, "SGD: lr must be in"),
    (lambda: optim.SGD(_p(), lr="0.1"), TypeError, "SGD: lr must be a number"),
    (lambda: optim.SGD(_p(), lr=float("nan")), ValueError, "lr"),
    (lambda: optim.SGD(_p(), momentum=-1), ValueError, "SGD: momentum"),
    (lambda: optim.SGD(_p(), dampening=-1), ValueError, "SGD: dampening"),
    (lambda: optim.SGD(_p(), weight_decay=-1), ValueError, "SGD: weight_decay"),
    (lambda: optim.SGD(_p(), nesterov=True), ValueError, "nesterov=True needs"),
    (
        lambda: optim.SGD(_p(), momentum=0.9, dampening=0.1, nesterov=True),
        ValueError,
        "dampening == 0",
    ),
    (lambda: optim.SGD(_p(), nesterov=1), TypeError, "SGD: nesterov must be True"),
    (lambda: optim.SGD(_p(), maximize="no"), TypeError, "SGD: maximize"),
    (lambda: optim.Adam(_p(), betas=(0.9, 1.0)), ValueError, r"Adam: betas\[1\]"),
    (lambda: optim.Adam(_p(), betas=0.9), TypeError, "Adam: betas must be a pair"),
    (lambda: optim.Adam(_p(), eps=-1e-8), ValueError, "Adam: eps"),
    (lambda: optim.Adam(_p(), amsgrad=None), TypeError, "Adam: amsgrad"),
    (lambda: optim.AdamW(_p(), weight_decay=-0.1), ValueError, "AdamW: weight_decay"),
    (lambda: optim.RMSprop(_p(), alpha=-0.5), ValueError, "RMSprop: alpha"),
    (lambda: optim.RMSprop(_p(), momentum=-0.5), ValueError, "RMSprop: momentum"),
    (lambda: optim.RMSprop(_p(), centered=1), TypeError, "RMSprop: centered"),
    (lambda: optim.Adagrad(_p(), lr_decay=-1), ValueError, "Adagrad: lr_decay"),
    (
        lambda: optim.Adagrad(_p(), initial_accumulator_value=-1),
        ValueError,
        "Adagrad: initial_accumulator_value",
    ),
]


@pytest.mark.parametrize("make,error,phrase", CASES)
def test_bad_arguments(make, error, phrase):
    with pytest.raises(error, match=phrase):
        make()


def test_bad_group_option_is_rejected_and_the_group_not_added():
    opt = optim.SGD(_p(), lr=0.1)
    with pytest.raises(ValueError, match="SGD: momentum"):
        opt.add_param_group({"params": _p(), "momentum": -1.0})
    assert len(opt.param_groups) == 1 and len(opt.params) == 1


def test_bad_lr_assignment_keeps_old_value():
    opt = optim.SGD(_p(), lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        opt.lr = float("nan")
    assert opt.lr == 0.1


def test_bad_value_written_into_param_groups_fails_the_step_unchanged():
    w = Parameter([1.0])
    opt = optim.SGD([w], lr=0.5, momentum=0.5)
    w.grad = Tensor([1.0])
    opt.step()
    before = (w.tolist(), opt.state[0]["momentum_buffer"].tolist())
    opt.param_groups[0]["lr"] = "fast"
    with pytest.raises(TypeError, match="SGD: lr must be a number, got str 'fast'"):
        opt.step()
    assert (w.tolist(), opt.state[0]["momentum_buffer"].tolist()) == before
    opt.param_groups[0]["lr"] = 0.25
    opt.step()
    assert w.tolist() == [0.5 - 0.25 * 1.5]
