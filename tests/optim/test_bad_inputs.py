"""Bad arguments: a clear error naming the API and the option; nothing changes."""

import numpy as np
import pytest

import lucid_fx
import lucid_fx.nn as nn
from lucid_fx import Tensor, optim
from lucid_fx.nn import Parameter


def _p():
    return [Parameter([1.0])]


CASES = [
    (lambda: optim.SGD([], lr=0.1), ValueError, "SGD: got an empty parameter list"),
    (lambda: optim.SGD(Parameter([1.0])), TypeError, "single Parameter"),
    (lambda: optim.SGD([np.ones(1)]), TypeError, r"params\[0\] must be a Tensor"),
    (lambda: optim.SGD([{"lr": 0.1}]), TypeError, "'params' entry"),
    (lambda: optim.SGD(None), TypeError, r"SGD: params must be an iterable.*NoneType"),
    (
        lambda: optim.SGD(_p()).add_param_group({"lr": 0.1}),
        TypeError,
        r"a dict without one \(keys \['lr'\]\)",
    ),
    (
        lambda: optim.SGD(_p()).load_state_dict({"state": None, "param_groups": []}),
        TypeError,
        r"SGD.load_state_dict: expected a dict with 'state' and 'param_groups'"
        r".*'state': NoneType",
    ),
    (
        lambda: optim.lr_scheduler.LambdaLR(optim.SGD(_p()), 3),
        TypeError,
        "LambdaLR: lr_lambda must be a function",
    ),
    (
        lambda: optim.lr_scheduler.StepLR(optim.SGD(_p()), 1).load_state_dict(None),
        TypeError,
        "StepLR.load_state_dict: expected a dict",
    ),
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


def test_numpy_integer_and_float_options_are_numbers_as_in_pytorch():
    for lr in (np.int64(1), np.float32(0.5), np.float64(0.25)):
        opt = optim.SGD(_p(), lr=lr, momentum=np.int32(0))
        assert opt.param_groups[0]["lr"] == float(lr)
    with pytest.raises(TypeError, match="SGD: lr must be a number"):
        optim.SGD(_p(), lr=np.bool_(True))


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


def _edited_run(compiled, how):
    model = nn.Sequential(nn.Linear(4, 8), nn.LeakyReLU(0.1), nn.Linear(8, 2))
    groups = [
        {"params": list(model[0].parameters())},
        {"params": [model[2].bias], "lr": 0.5},
    ]
    opt = optim.SGD(groups, lr=0.1)

    def step(model, opt, x, y):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()

    run = lucid_fx.compile(step) if compiled else step
    rng = np.random.default_rng(0)
    x = Tensor(rng.normal(size=(5, 4)).astype(np.float32))
    y = Tensor(rng.normal(size=(5, 2)).astype(np.float32))
    run(model, opt, x, y)
    edited = opt.param_groups[0]["params"]
    if how == "append":
        edited.append(model[2].weight)
    elif how == "replace":
        edited[1] = model[2].weight
    elif how == "insert":
        edited.insert(0, model[2].weight)
    else:  # the last group dropped: the others stay aligned
        opt.param_groups.pop()
    return model, opt, lambda: run(model, opt, x, y)


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("how", ["append", "replace", "insert"])
def test_a_params_list_edited_in_place_raises_and_changes_nothing(compiled, how):
    model, _, again = _edited_run(compiled, how)
    before = {k: v.numpy() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match=r"SGD.step: param_groups\[0\]\['params'\]"):
        again()
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k], err_msg=k)


@pytest.mark.parametrize("compiled", [False, True])
def test_a_param_group_dropped_at_the_end_leaves_its_parameters_alone(compiled):
    model, _, again = _edited_run(compiled, "pop")
    before = {k: v.numpy() for k, v in model.state_dict().items()}
    again()
    after = {k: v.numpy() for k, v in model.state_dict().items()}
    np.testing.assert_array_equal(after["2.bias"], before["2.bias"])  # dropped
    assert not np.array_equal(after["0.weight"], before["0.weight"])  # stepped
