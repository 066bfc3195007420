"""Every scheduler's learning rates equal PyTorch's, bit for bit, for 100 steps."""

import copy
import math
import re

import jax.numpy as jnp
import numpy as np
import pytest
import torch

from lucid_fx import optim
from lucid_fx.nn import Parameter
from lucid_fx.optim import lr_scheduler

STEPS = 100
LOSSES = [1.0 / (1 + i // 7) + 0.1 * math.sin(i) for i in range(STEPS)]


def _half(n):
    return 0.5**n


CASES = [
    ("step", "StepLR", dict(step_size=7, gamma=0.3)),
    ("multistep", "MultiStepLR", dict(milestones=[10, 30, 30, 77], gamma=0.7)),
    ("exponential", "ExponentialLR", dict(gamma=0.97)),
    ("cosine", "CosineAnnealingLR", dict(T_max=13, eta_min=0.001)),
    ("cosine_default", "CosineAnnealingLR", dict(T_max=40)),
    ("linear", "LinearLR", dict()),
    ("linear_down", "LinearLR", dict(start_factor=0.9, end_factor=0.1, total_iters=60)),
    ("onecycle", "OneCycleLR", dict(max_lr=0.5, total_steps=STEPS + 1)),
    (
        "onecycle_three_phase_linear",
        "OneCycleLR",
        dict(
            max_lr=[0.4, 0.2],
            epochs=11,
            steps_per_epoch=10,
            three_phase=True,
            anneal_strategy="linear",
        ),
    ),
    ("lambda", "LambdaLR", dict(lr_lambda=lambda n: 1 / (1 + 0.1 * n))),
    ("lambda_per_group", "LambdaLR", dict(lr_lambda=[_half, lambda n: 0.99**n])),
    ("plateau", "ReduceLROnPlateau", dict(factor=0.5, patience=3, cooldown=2)),
    (
        "plateau_max_abs",
        "ReduceLROnPlateau",
        dict(mode="max", threshold_mode="abs", patience=2, min_lr=[0.01, 0.02]),
    ),
]


def _pair(opt_name, options):
    params = [Parameter([1.0]), Parameter([2.0])]
    tparams = [torch.nn.Parameter(torch.ones(1)) for _ in range(2)]
    kw = dict(momentum=0.9) if opt_name == "SGD" else {}
    ours = getattr(optim, opt_name)(
        [{"params": params[:1]}, {"params": params[1:], "lr": 0.05}], lr=0.1, **kw
    )
    theirs = getattr(torch.optim, opt_name)(
        [{"params": tparams[:1]}, {"params": tparams[1:], "lr": 0.05}], lr=0.1, **kw
    )
    return ours, theirs


def _momenta(opt):
    return [g.get("momentum", g.get("betas", (None,))[0]) for g in opt.param_groups]


@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
@pytest.mark.parametrize("name,cls,options", CASES, ids=[c[0] for c in CASES])
def test_hundred_steps_equal_pytorch(name, cls, options, opt_name):
    opt, topt = _pair(opt_name, options)
    sched = getattr(lr_scheduler, cls)(opt, **options)
    tsched = getattr(torch.optim.lr_scheduler, cls)(topt, **options)
    assert sched.get_last_lr() == tsched.get_last_lr()
    for i in range(STEPS):
        topt.step()  # no grads: only silences PyTorch's step-order warning
        if cls == "ReduceLROnPlateau":
            sched.step(LOSSES[i])
            tsched.step(LOSSES[i])
        else:
            sched.step()
            tsched.step()
        assert sched.get_last_lr() == tsched.get_last_lr(), i
        assert [g["lr"] for g in opt.param_groups] == tsched.get_last_lr(), i
        assert _momenta(opt) == [pytest.approx(m, abs=0) for m in _momenta(topt)], i


@pytest.mark.parametrize("name,cls,options", CASES, ids=[c[0] for c in CASES])
def test_state_dict_resumes_the_sequence(name, cls, options):
    def run(steps, sched):
        for i in range(steps):
            sched.step(LOSSES[i]) if cls == "ReduceLROnPlateau" else sched.step()

    opt, _ = _pair("SGD", options)
    full = getattr(lr_scheduler, cls)(opt, **options)
    run(40, full)
    opt1, _ = _pair("SGD", options)
    first = getattr(lr_scheduler, cls)(opt1, **options)
    run(20, first)
    # PyTorch's order: build both (the scheduler's first step writes lr), then
    # load the optimizer's state, then the scheduler's.
    opt2, _ = _pair("SGD", options)
    second = getattr(lr_scheduler, cls)(opt2, **options)
    opt2.load_state_dict(opt1.state_dict())
    second.load_state_dict(first.state_dict())
    for i in range(20, 40):
        second.step(LOSSES[i]) if cls == "ReduceLROnPlateau" else second.step()
    assert second.get_last_lr() == full.get_last_lr()
    assert [g["lr"] for g in opt2.param_groups] == full.get_last_lr()


def test_bad_arguments_name_the_option():
    opt = optim.SGD([Parameter([1.0])], lr=0.1)
    with pytest.raises(ValueError, match="step_size"):
        lr_scheduler.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="start_factor"):
        lr_scheduler.LinearLR(opt, start_factor=0.0)
    with pytest.raises(ValueError, match="total_steps"):
        lr_scheduler.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="cycle_momentum"):
        lr_scheduler.OneCycleLR(optim.Adagrad([Parameter([1.0])]), 1.0, 10)
    with pytest.raises(ValueError, match="lr_lambdas"):
        lr_scheduler.LambdaLR(opt, [_half, _half])
    with pytest.raises(ValueError, match="factor"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(TypeError, match="Optimizer"):
        lr_scheduler.StepLR(torch.optim.SGD([torch.nn.Parameter(torch.ones(1))]), 1)
    sched = lr_scheduler.StepLR(opt, step_size=2)
    with pytest.raises(ValueError, match="unexpected keys \\['x'\\]"):
        sched.load_state_dict({**sched.state_dict(), "x": 1})
    one_cycle = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=2)
    one_cycle.step()
    one_cycle.step()
    with pytest.raises(ValueError, match="total_steps is 2"):
        one_cycle.step()


def test_per_group_lists_of_the_wrong_length_say_how_many():
    opt = optim.SGD([Parameter([1.0])], lr=0.1)
    lambdas = "LambdaLR: expected 1 lr_lambdas (one per param group), got 2."
    with pytest.raises(ValueError, match=re.escape(lambdas)):
        lr_scheduler.LambdaLR(opt, [_half, _half])
    min_lrs = (
        "ReduceLROnPlateau: expected 1 values of min_lr (one per param group), got 2."
    )
    with pytest.raises(ValueError, match=re.escape(min_lrs)):
        lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.0, 0.0])


def test_plateau_after_add_param_group_gives_the_new_group_min_lr_as_pytorch():
    ours_opt = optim.SGD([Parameter(np.zeros(1, np.float32))], lr=1.0)
    theirs_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    ours = lr_scheduler.ReduceLROnPlateau(ours_opt, patience=0, min_lr=0.05)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(
        theirs_opt, patience=0, min_lr=0.05
    )
    for step in range(6):
        if step == 3:
            ours_opt.add_param_group(
                {"params": [Parameter(np.zeros(1, np.float32))], "lr": 0.7}
            )
            theirs_opt.add_param_group(
                {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.7}
            )
        ours.step(1.0)
        theirs.step(1.0)
        np.testing.assert_allclose(
            [g["lr"] for g in ours_opt.param_groups],
            [g["lr"] for g in theirs_opt.param_groups],
            rtol=1e-12,
        )
    listed = optim.SGD([Parameter(np.zeros(1, np.float32))], lr=1.0)
    sched = lr_scheduler.ReduceLROnPlateau(listed, patience=0, min_lr=[0.1])
    listed.add_param_group({"params": [Parameter(np.zeros(1, np.float32))]})
    sched.step(1.0)
    with pytest.raises(
        ValueError, match="ReduceLROnPlateau.step: .*min_lr was given for 1"
    ):
        sched.step(1.0)


@pytest.mark.parametrize("kind", ["StepLR", "ReduceLROnPlateau"])
def test_a_pytorch_scheduler_state_dict_loads(kind):
    theirs_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    ours_opt = optim.SGD([Parameter(np.zeros(1, np.float32))], lr=1.0)
    if kind == "StepLR":
        theirs = torch.optim.lr_scheduler.StepLR(theirs_opt, step_size=2)
        ours = lr_scheduler.StepLR(ours_opt, step_size=2)
        for _ in range(3):
            theirs_opt.step()
            theirs.step()
    else:
        theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs_opt, patience=0)
        ours = lr_scheduler.ReduceLROnPlateau(ours_opt, patience=0)
        for loss in (3.0, 2.0, 2.0):
            theirs.step(loss)
    ours.load_state_dict(theirs.state_dict())
    assert ours.last_epoch == theirs.last_epoch
    with pytest.raises(ValueError, match="unexpected keys"):
        ours.load_state_dict({**ours.state_dict(), "surprise": 1})


@pytest.mark.parametrize("name,cls,options", CASES, ids=[c[0] for c in CASES])
def test_every_pytorch_scheduler_state_dict_resumes_as_pytorch(name, cls, options):
    # Each class loads PyTorch's own state dict mid-run (OneCycleLR's key
    # _anneal_func_type, LambdaLR's lr_lambdas), then both continue alike.
    def run(sched, steps, start):
        for i in range(start, start + steps):
            sched.step(LOSSES[i]) if cls == "ReduceLROnPlateau" else sched.step()

    opt, topt = _pair("SGD", options)
    sched = getattr(lr_scheduler, cls)(opt, **options)
    tsched = getattr(torch.optim.lr_scheduler, cls)(topt, **options)
    for i in range(20):
        topt.step()
        run(tsched, 1, i)
    opt.load_state_dict(
        {
            "state": {},
            "param_groups": [
                {k: v for k, v in g.items() if k in opt.param_groups[j]}
                | {"params": g["params"]}
                for j, g in enumerate(topt.state_dict()["param_groups"])
            ],
        }
    )
    sched.load_state_dict(tsched.state_dict())
    for i in range(20, 40):
        topt.step()
        run(tsched, 1, i)
        run(sched, 1, i)
        assert sched.get_last_lr() == tsched.get_last_lr(), i


class _Decay:
    """A callable object: PyTorch stores its attributes in lr_lambdas."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, n):
        return self.rate**n


def test_lambda_lr_restores_a_callable_objects_attributes_as_pytorch():
    topt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=1.0)
    tsched = torch.optim.lr_scheduler.LambdaLR(topt, _Decay(0.5))
    for _ in range(3):
        topt.step()
        tsched.step()
    opt = optim.SGD([Parameter([1.0])], lr=1.0)
    decay = _Decay(0.9)
    sched = lr_scheduler.LambdaLR(opt, decay)
    sched.load_state_dict(tsched.state_dict())
    assert decay.rate == 0.5
    topt.step()
    tsched.step()
    sched.step()
    assert sched.get_last_lr() == tsched.get_last_lr()
    with pytest.raises(ValueError, match="one entry per param group"):
        sched.load_state_dict({**sched.state_dict(), "lr_lambdas": [None, None]})


def test_lambda_lr_attributes_for_a_plain_function_raise_before_anything_changes():
    opt = optim.SGD([Parameter([1.0])], lr=1.0)
    sched = lr_scheduler.LambdaLR(opt, lambda n: 0.5**n)
    saved = {**sched.state_dict(), "last_epoch": 7, "lr_lambdas": [{"rate": 2}]}
    saved_builtin = {**saved, "lr_lambdas": [{"x": 1}]}
    builtin = lr_scheduler.LambdaLR(optim.SGD([Parameter([1.0])], lr=1.0), abs)
    with pytest.raises(ValueError, match="keeps no attributes"):
        builtin.load_state_dict(saved_builtin)
    assert builtin.last_epoch == 0
    sched.load_state_dict(saved)  # a lambda has a __dict__: PyTorch does so too
    assert sched.last_epoch == 7


@pytest.mark.parametrize(
    "milestones,got",
    [
        (None, "NoneType None"),
        (3, "int 3"),
        ("13", "str '13'"),
        ([1.5], "entry 1.5 is float"),
        ([1, "a"], "entry 'a' is str"),
        ([True], "entry True is bool"),
        ([[1, 2]], "entry [1, 2] is list"),
    ],
)
def test_multistep_bad_milestones_raise_before_anything_changes(milestones, got):
    opt = optim.SGD([Parameter([1.0])], lr=0.1)
    before = [dict(g) for g in opt.param_groups]
    with pytest.raises(TypeError, match=r"^MultiStepLR: milestones must be an "):
        lr_scheduler.MultiStepLR(opt, milestones)
    with pytest.raises(TypeError, match=re.escape(got)):
        lr_scheduler.MultiStepLR(opt, milestones)
    assert opt.param_groups == before and "initial_lr" not in opt.param_groups[0]


# Fresh values per call: an iterator is used up by the first scheduler.
GOOD_MILESTONES = {
    "list": lambda: [1, 3, 3],
    "tuple": lambda: (1, 3, 3),
    "set": lambda: {3, 1},
    "ndarray": lambda: np.array([1, 3, 3]),
    "numpy_ints": lambda: [np.int32(1), np.int64(3), 3],
    "whole_floats": lambda: [1.0, 3, 3.0],
    "iterator": lambda: iter([3, 1, 3]),
    "empty": lambda: [],
}


@pytest.mark.parametrize("name", sorted(GOOD_MILESTONES))
def test_multistep_accepts_what_pytorch_accepts(name):
    make = GOOD_MILESTONES[name]
    opt, topt = _pair("SGD", {})
    sched = lr_scheduler.MultiStepLR(opt, make(), gamma=0.5)
    tsched = torch.optim.lr_scheduler.MultiStepLR(topt, make(), gamma=0.5)
    for i in range(5):
        topt.step()
        sched.step()
        tsched.step()
        assert sched.get_last_lr() == tsched.get_last_lr(), i


def _plateau_state(sched):
    return (
        sched.last_epoch,
        sched.num_bad_epochs,
        sched.cooldown_counter,
        sched.best,
        sched.get_last_lr(),
        [g["lr"] for g in sched.optimizer.param_groups],
    )


@pytest.mark.parametrize(
    "metrics,got",
    [
        ("abc", "str 'abc'"),
        ("1.5", "str '1.5'"),
        (None, "NoneType None"),
        ([1.0], "list [1.0]"),
        (1 + 2j, "complex (1+2j)"),
        (np.array([1.0, 2.0]), "ndarray"),
        (Parameter([1.0, 2.0]), "Parameter"),
    ],
)
def test_plateau_step_with_a_non_number_raises_and_changes_nothing(metrics, got):
    sched = lr_scheduler.ReduceLROnPlateau(
        optim.SGD([Parameter([1.0])], lr=1.0), patience=0, factor=0.5
    )
    sched.step(1.0)
    sched.step(2.0)  # a cut: lr 0.5, num_bad_epochs reset
    sched.step(3.0)
    before = _plateau_state(sched)
    expected = "ReduceLROnPlateau.step: metrics must be a real number or a one-element"
    with pytest.raises(TypeError, match=re.escape(expected)) as info:
        sched.step(metrics)
    assert got in str(info.value)
    assert _plateau_state(sched) == before


@pytest.mark.parametrize(
    "metrics",
    [
        2.0,
        2,
        np.float32(2.0),
        np.float64(2.0),
        np.int64(2),
        np.array(2.0),
        Parameter([2.0]),
        Parameter(2.0),
        torch.tensor(2.0),
    ],
    ids=[
        "float",
        "int",
        "f32",
        "f64",
        "i64",
        "0d_array",
        "tensor1",
        "tensor0",
        "torch",
    ],
)
def test_plateau_step_accepts_numbers_and_one_element_tensors(metrics):
    sched = lr_scheduler.ReduceLROnPlateau(optim.SGD([Parameter([1.0])], lr=1.0))
    sched.step(metrics)
    assert sched.best == 2.0 and sched.last_epoch == 1


def test_plateau_step_accepts_a_jax_scalar():
    sched = lr_scheduler.ReduceLROnPlateau(optim.SGD([Parameter([1.0])], lr=1.0))
    sched.step(jnp.float32(2.0))
    sched.step(jnp.array(1.0))
    assert sched.best == 1.0 and sched.last_epoch == 2


def _everything(sched):
    """Every attribute of the scheduler and every entry of every param group."""
    groups = sched.optimizer.param_groups
    return copy.deepcopy(
        (sched.state_dict(), sched.get_last_lr(), [dict(g) for g in groups])
    )


def _step(sched, i):
    if isinstance(
        sched,
        (lr_scheduler.ReduceLROnPlateau, torch.optim.lr_scheduler.ReduceLROnPlateau),
    ):
        sched.step(LOSSES[i])
    else:
        sched.step()


@pytest.mark.parametrize("name,cls,options", CASES, ids=[c[0] for c in CASES])
def test_a_step_that_raises_changes_nothing_and_the_run_stays_pytorchs(
    name, cls, options, monkeypatch
):
    # Every class: make step() fail after it computed (and, for OneCycleLR,
    # wrote the momenta); the scheduler and the groups must be as before, and
    # the following steps PyTorch's, as if the failed call never happened.
    opt, topt = _pair("SGD", options)
    sched = getattr(lr_scheduler, cls)(opt, **options)
    tsched = getattr(torch.optim.lr_scheduler, cls)(topt, **options)
    for i in range(10):
        topt.step()
        _step(sched, i)
        _step(tsched, i)
    hook = "_cut" if cls == "ReduceLROnPlateau" else "get_lr"
    real = getattr(sched, hook)

    def failing():
        real()
        for group in opt.param_groups:
            group["lr"] = -1.0
        raise RuntimeError("injected")

    monkeypatch.setattr(sched, hook, failing)
    if cls == "ReduceLROnPlateau":  # a worse metric now cuts
        sched.num_bad_epochs, sched.cooldown_counter = sched.patience, 0
        tsched.num_bad_epochs, tsched.cooldown_counter = sched.patience, 0
    before = _everything(sched)
    with pytest.raises(RuntimeError, match="injected"):
        worse = -1e9 if options.get("mode") == "max" else 1e9
        sched.step(worse) if cls == "ReduceLROnPlateau" else sched.step()
    assert _everything(sched) == before
    monkeypatch.undo()
    for i in range(10, 20):
        topt.step()
        _step(sched, i)
        _step(tsched, i)
        assert sched.get_last_lr() == tsched.get_last_lr(), i
        assert _momenta(opt) == [pytest.approx(m, abs=0) for m in _momenta(topt)], i


def test_onecycle_step_past_total_steps_changes_nothing():
    opt = optim.SGD([Parameter([1.0])], lr=1.0, momentum=0.9)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        sched.step()
    before = _everything(sched)
    for _ in range(2):  # twice: the count must not creep up either
        with pytest.raises(ValueError, match="stepped 4 times, but total_steps is 3"):
            sched.step()
    assert _everything(sched) == before
    assert sched.last_epoch == 3 and sched._step_count == 4  # hand-counted


def test_a_group_added_after_the_scheduler_is_a_clear_error_that_changes_nothing():
    opt = optim.SGD([Parameter([1.0])], lr=1.0)
    sched = lr_scheduler.LambdaLR(opt, _half)
    sched.step()
    opt.add_param_group({"params": [Parameter([2.0])], "lr": 0.3})
    before = _everything(sched)
    expected = "LambdaLR.step: get_lr() gave 1 learning rates for the optimizer's 2"
    with pytest.raises(ValueError, match=re.escape(expected)):
        sched.step()
    assert _everything(sched) == before
    assert [g["lr"] for g in opt.param_groups] == [0.5, 0.3]


def test_plateau_failing_cut_changes_nothing_then_continues_as_pytorch():
    # PyTorch raises too but has already counted the step; ours must be as if
    # the failed call never happened: compare with PyTorch without it.
    def run(optim_mod, sched_mod, param):
        opt = optim_mod.SGD([param(0.0)], lr=1.0)
        sched = sched_mod.ReduceLROnPlateau(opt, patience=0, min_lr=[0.1])
        opt.add_param_group({"params": [param(1.0)], "lr": 0.4})
        sched.step(1.0)
        return opt, sched

    opt, sched = run(optim, lr_scheduler, lambda v: Parameter([v]))
    topt, tsched = run(
        torch.optim,
        torch.optim.lr_scheduler,
        lambda v: torch.nn.Parameter(torch.tensor([v])),
    )
    before = _everything(sched)
    with pytest.raises(ValueError, match="min_lr was given for 1"):
        sched.step(2.0)
    assert _everything(sched) == before
    sched.min_lrs = tsched.min_lrs = [0.1, 0.1]
    for loss in (2.0, 2.0, 0.5, 3.0):
        sched.step(loss)
        tsched.step(loss)
        assert sched.get_last_lr() == tsched.get_last_lr()
        assert (sched.last_epoch, sched.num_bad_epochs, sched.best) == (
            tsched.last_epoch,
            tsched.num_bad_epochs,
            tsched.best,
        )
