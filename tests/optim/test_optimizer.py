"""The Optimizer base: param groups, state dicts, donation, interrupts, threads."""

import os
import signal
import threading

import jax
import numpy as np
import pytest
import torch

import lucid_fx.nn as nn
import lucid_fx.nn.functional as F
from lucid_fx import Tensor, optim
from lucid_fx.nn import Linear, Parameter
from tests.helpers import CtrlC

W0 = np.array([1.0, -2.0, 0.5], np.float32)
GRADS = [
    np.array([0.5, -1.0, 2.0], np.float32),
    np.array([1.0, 0.0, -0.5], np.float32),
    np.array([-0.25, 0.75, 1.0], np.float32),
]


def _train(opt, params, grads=GRADS):
    for g in grads:
        opt.zero_grad()
        for p in params:
            p.grad = g
        opt.step()


def test_sgd_matches_the_pytorch_rule_in_float64():
    lr, mu, wd = 0.1, 0.9, 0.01
    w, buf = W0.astype(np.float64), None
    for g in GRADS:
        d = g + wd * w
        buf = d if buf is None else mu * buf + d
        w = w - lr * buf
    p = Parameter(W0)
    _train(optim.SGD([p], lr=lr, momentum=mu, weight_decay=wd), [p])
    np.testing.assert_allclose(p.numpy(), w, rtol=1e-6)


def test_changing_a_group_lr_takes_effect_at_the_next_step():
    a, b = Parameter([1.0]), Parameter([1.0])
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.25)
    a.grad, b.grad = Tensor([1.0]), Tensor([1.0])
    opt.step()
    opt.param_groups[1]["lr"] = 0.125
    opt.step()
    assert (a.tolist(), b.tolist()) == ([0.5], [0.375])


def test_lr_property_reads_the_first_group_and_sets_all():
    opt = optim.SGD([{"params": [Parameter([1.0])], "lr": 0.5}, {"params": []}], 0.1)
    assert opt.lr == 0.5
    opt.lr = 0.25
    assert [g["lr"] for g in opt.param_groups] == [0.25, 0.25]


def test_parameters_without_grad_are_skipped_and_keep_their_state():
    a, b = Parameter([1.0, -1.0]), Parameter([2.0])
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = Tensor([0.5, -2.0])
    opt.step()
    assert b.tolist() == [2.0]
    assert [float(s["step"]) for s in opt.state] == [1.0, 0.0]
    np.testing.assert_allclose(opt.state[0]["exp_avg"], [0.05, -0.2], rtol=1e-6)
    assert list(opt.state_dict()["state"]) == [0]  # as PyTorch: stepped only


def test_the_same_parameter_twice_is_updated_once():
    p = Parameter([1.0])
    opt = optim.SGD([p, p], lr=0.5)
    assert len(opt.params) == 1
    p.grad = Tensor([1.0])
    opt.step()
    assert p.tolist() == [0.5]


def test_a_parameter_in_two_groups_is_an_error():
    p = Parameter([1.0])
    opt = optim.SGD([p], lr=0.5)
    with pytest.raises(ValueError, match="already in another parameter group"):
        opt.add_param_group({"params": [p]})
    assert len(opt.param_groups) == 1


def test_state_dict_has_pytorch_layout():
    a, b = Parameter([1.0]), Parameter([[1.0, 2.0]])
    opt = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.25)
    a.grad, b.grad = Tensor([1.0]), Tensor([[1.0, 1.0]])
    opt.step()
    sd = opt.state_dict()
    assert sorted(sd) == ["param_groups", "state"]
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert [g["lr"] for g in sd["param_groups"]] == [0.25, 0.5]
    assert sd["param_groups"][0]["betas"] == (0.9, 0.999)
    assert sorted(sd["state"][1]) == ["exp_avg", "exp_avg_sq", "step"]
    assert sd["state"][1]["exp_avg"].shape == (1, 2)


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.5),
        lambda ps: optim.Adam(ps, lr=0.1, amsgrad=True),
        lambda ps: optim.AdamW(ps, lr=0.1),
        lambda ps: optim.RMSprop(ps, lr=0.1, momentum=0.5, centered=True),
        lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.5),
    ],
    ids=["sgd", "adam", "adamw", "rmsprop", "adagrad"],
)
def test_load_state_dict_resumes_bit_identically(make):
    full = Parameter(W0)
    _train(make([full]), [full], GRADS * 2)
    first = Parameter(W0)
    opt = make([first])
    _train(opt, [first])
    second = Parameter(first.numpy())
    resumed = make([second])
    resumed.load_state_dict(opt.state_dict())
    _train(resumed, [second])
    np.testing.assert_array_equal(second.numpy(), full.numpy())


def test_load_state_dict_from_pytorch():
    t = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    topt = torch.optim.Adam([t], lr=0.5, betas=(0.5, 0.75))
    for g in ([1.0, 2.0], [-1.0, 0.5]):
        t.grad = torch.tensor(g)
        topt.step()
    sd = topt.state_dict()
    state = {i: {k: v.numpy() for k, v in e.items()} for i, e in sd["state"].items()}
    w = Parameter([1.0, -2.0])
    opt = optim.Adam([w], lr=0.1)
    opt.load_state_dict({"state": state, "param_groups": sd["param_groups"]})
    w.data = t.detach().numpy().copy()
    t.grad = torch.tensor([0.25, 0.25])
    w.grad = Tensor([0.25, 0.25])
    topt.step()
    opt.step()
    assert opt.param_groups[0]["betas"] == (0.5, 0.75)
    np.testing.assert_allclose(w.numpy(), t.detach().numpy(), rtol=1e-6)


def test_failed_load_lists_every_problem_and_changes_nothing():
    a, b = Parameter([1.0]), Parameter([1.0, 2.0])
    opt = optim.Adam([a, b], lr=0.5)
    a.grad, b.grad = Tensor([1.0]), Tensor([1.0, 1.0])
    opt.step()
    before = opt.state_dict()
    before_state = jax.device_get(opt.state)
    bad = {
        "state": {
            0: {"exp_avg": np.zeros(1), "step": np.ones(())},
            1: {**before["state"][1], "exp_avg": np.zeros(3)},
            5: {},
        },
        "param_groups": [{**before["param_groups"][0], "lr": -1.0}],
    }
    with pytest.raises(ValueError) as info:
        opt.load_state_dict(bad)
    message = str(info.value)
    for phrase in ["state[0] has", "state[1]['exp_avg'] has shape (3,)", "[5]", "lr"]:
        assert phrase in message, phrase
    assert opt.param_groups[0]["lr"] == 0.5
    for got, want in zip(jax.device_get(opt.state), before_state, strict=True):
        assert {k: v.tolist() for k, v in got.items()} == {
            k: v.tolist() for k, v in want.items()
        }


def test_load_state_dict_rejects_wrong_group_count_and_kind():
    opt = optim.SGD([Parameter([1.0])], lr=0.5)
    with pytest.raises(ValueError, match="2 param groups"):
        opt.load_state_dict({"state": {}, "param_groups": [{}, {}]})
    with pytest.raises(TypeError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"lr": 0.1})


def test_held_arrays_stay_readable_across_a_step():
    outside = jax.numpy.ones(3)
    p, q = Parameter(outside), Parameter(W0)
    opt = optim.Adam([p, q], lr=0.5)
    w = q.data
    p.grad, q.grad = Tensor([1.0, 1.0, 1.0]), Tensor([1.0, 1.0, 1.0])
    best = Tensor(q.data)
    opt.step()
    assert outside.tolist() == [1.0, 1.0, 1.0]
    assert w.tolist() == best.tolist() == W0.tolist()
    saved = opt.state_dict()
    opt.step()
    assert [float(e["step"]) for e in saved["state"].values()] == [1.0, 1.0]
    assert [float(s["step"]) for s in opt.state] == [2.0, 2.0]


def test_buffers_only_the_optimizer_holds_are_donated():
    p = Parameter(np.ones(64, np.float32))
    opt = optim.Adam([p], lr=0.5)
    p.grad = np.ones(64, np.float32)
    opt.step()
    pointers = (p.data.unsafe_buffer_pointer(), opt._states[0]["exp_avg"])
    pointers = (pointers[0], pointers[1].unsafe_buffer_pointer())
    opt.step()
    after = (p.data.unsafe_buffer_pointer(), opt._states[0]["exp_avg"])
    assert (after[0], after[1].unsafe_buffer_pointer()) == pointers


def test_two_threads_stepping_one_optimizer_lose_no_update():
    p = Parameter(np.zeros(4, np.float32))
    opt = optim.Adam([p], lr=0.5)
    sgd_p = Parameter(np.zeros(4, np.float32))
    sgd = optim.SGD([sgd_p], lr=0.5)
    p.grad = sgd_p.grad = np.ones(4, np.float32)

    def work():
        for _ in range(300):
            opt.step()
            sgd.step()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert float(opt.state[0]["step"]) == 600
    assert sgd_p.tolist() == [-300.0] * 4


def _replay(steps):
    p = Parameter(W0)
    opt = optim.Adam([p], lr=0.01)
    _train(opt, [p], [GRADS[i % 3] for i in range(steps)])
    return p.numpy()


def test_ctrl_c_at_random_points_leaves_old_or_new_state():
    rng = np.random.default_rng(0)
    for trial in range(100):
        p = Parameter(W0)
        opt = optim.Adam([p], lr=0.01)
        steps = 0
        try:
            with CtrlC(rng.uniform(0, 0.02)) as ctrl_c:
                while True:
                    ctrl_c.poll()
                    opt.zero_grad()
                    p.grad = GRADS[steps % 3]
                    opt.step()
                    steps += 1
        except KeyboardInterrupt:
            pass
        done = int(opt.state[0]["step"])  # raises if a buffer was deleted
        assert done in (steps, steps + 1), trial
        np.testing.assert_array_equal(p.numpy(), _replay(done), err_msg=str(trial))


def test_turning_momentum_on_mid_run_starts_a_buffer_as_pytorch():
    w = Parameter(W0)
    t = torch.nn.Parameter(torch.from_numpy(W0.copy()))
    opt = optim.SGD([w], lr=0.1)
    topt = torch.optim.SGD([t], lr=0.1)
    for i, g in enumerate(GRADS * 2):
        if i == 2:
            opt.param_groups[0]["momentum"] = 0.5
            topt.param_groups[0]["momentum"] = 0.5
        w.grad = g
        t.grad = torch.from_numpy(g)
        opt.step()
        topt.step()
    np.testing.assert_allclose(w.numpy(), t.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(
        opt.state[0]["momentum_buffer"],
        topt.state[t]["momentum_buffer"].numpy(),
        rtol=1e-6,
    )


def test_state_dict_after_an_option_change_has_the_state_the_next_step_uses():
    # RMSprop's centered turned on after two steps: the next step starts
    # grad_avg at zero; state_dict shows it already, so it loads back (it
    # raised: "state[0] has ['square_avg', 'step'], expected [...]") and a
    # copy resumed from it steps as the original does.
    def build():
        w = Parameter(W0)
        return w, optim.RMSprop([w], lr=0.1, alpha=0.5)

    w, opt = build()
    _train(opt, [w], GRADS[:2])
    opt.param_groups[0]["centered"] = True
    square_avg = np.asarray(opt.state[0]["square_avg"])
    sd = opt.state_dict()
    assert sorted(sd["state"][0]) == ["grad_avg", "square_avg", "step"]
    np.testing.assert_array_equal(sd["state"][0]["grad_avg"], np.zeros(3))
    np.testing.assert_array_equal(sd["state"][0]["square_avg"], square_avg)
    opt.load_state_dict(sd)
    copy, copy_opt = build()
    copy.data = w.data
    copy_opt.load_state_dict(sd)
    _train(opt, [w], GRADS[2:])
    _train(copy_opt, [copy], GRADS[2:])
    np.testing.assert_array_equal(copy.numpy(), w.numpy())
    # the rule by hand, in float64: centered from the third step on
    p, sq = W0.astype(np.float64), np.zeros(3)
    for k, g in enumerate(GRADS):
        sq = 0.5 * sq + 0.5 * g * g
        avg = 0.5 * g if k == 2 else 0.0  # grad_avg from zero at the third step
        p = p - 0.1 * g / (np.sqrt(sq - avg * avg) + 1e-8)
    np.testing.assert_allclose(w.numpy(), p, rtol=1e-5)
    # momentum turned off: its buffer is no longer state
    v = Parameter(W0)
    sgd = optim.SGD([v], lr=0.1, momentum=0.9)
    _train(sgd, [v])
    sgd.param_groups[0]["momentum"] = 0.0
    assert sgd.state_dict()["state"] == {}
    sgd.load_state_dict(sgd.state_dict())


def test_load_sgd_state_with_a_none_momentum_buffer():
    # PyTorch 2.13 keeps no state for SGD without momentum; older releases
    # stored momentum_buffer=None, which loads as no state.
    t = torch.nn.Parameter(torch.ones(2))
    topt = torch.optim.SGD([t], lr=0.5)
    t.grad = torch.ones(2)
    topt.step()
    sd = topt.state_dict()
    assert sd["state"] == {}
    sd["state"][0] = {"momentum_buffer": None}
    opt = optim.SGD([Parameter([1.0, 1.0])], lr=0.1)
    opt.load_state_dict(sd)
    assert opt.lr == 0.5 and opt.state == ({},)


def test_an_error_inside_the_update_changes_nothing():
    class Broken(optim.SGD):
        @staticmethod
        def _update(static, hyper, p, g, state):
            raise FloatingPointError("rule failed")

    w = Parameter(W0)
    opt = Broken([w], lr=0.5, momentum=0.5)
    w.grad = GRADS[0]
    with pytest.raises(FloatingPointError, match="rule failed"):
        opt.step()
    assert w.tolist() == W0.tolist()
    assert opt.state[0]["momentum_buffer"].tolist() == [0.0, 0.0, 0.0]


def test_deferred_interrupt_is_raised_after_the_block_even_if_it_failed():

    from lucid_fx._tensor._donation import deferred_interrupts

    done = []
    with pytest.raises(KeyboardInterrupt):
        with deferred_interrupts():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("after the signal")
    assert done == ["after the signal"]
    with pytest.raises(KeyboardInterrupt) as info:
        with deferred_interrupts():
            os.kill(os.getpid(), signal.SIGINT)
            raise ValueError("inside")
    assert isinstance(info.value.__context__, ValueError)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_100_random_sigints_during_eager_training_leave_usable_state():
    # Forward (deferred), backward (which computes it) and an Adam step, cut by
    # Ctrl-C at random points: every array stays readable, the model trains on.
    rng = np.random.default_rng(0)
    x = Tensor(rng.normal(size=(16, 8)).astype(np.float32))
    y = Tensor(rng.integers(0, 3, 16).astype(np.int32))
    for trial in range(100):
        model = nn.Sequential(Linear(8, 16), nn.LeakyReLU(0.1), Linear(16, 3))
        opt = optim.Adam(model.parameters(), lr=0.01)
        try:
            with CtrlC(rng.uniform(0, 0.03)) as ctrl_c:
                while True:
                    ctrl_c.poll()
                    opt.zero_grad()
                    F.cross_entropy(model(x), y).backward()
                    opt.step()
        except KeyboardInterrupt:
            pass
        for p in model.parameters():  # raises if a buffer was deleted
            assert np.isfinite(p.numpy()).all(), trial
            if p.grad is not None:
                p.grad.numpy()
        for entry in opt.state_dict()["state"].values():
            for v in entry.values():
                np.asarray(v)
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_a_copied_model_and_optimizer_train_as_the_originals(how):
    # PyTorch's optimizers pickle and deep-copy (a checkpoint in memory, an
    # ensemble member); ours held a lock that could not be copied.
    import copy
    import pickle

    rng = np.random.default_rng(4)
    x = Tensor(rng.normal(size=(8, 3)).astype(np.float32))
    model = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.1), nn.Linear(4, 1))
    opt = optim.Adam(model.parameters(), lr=0.05)

    def step(model, opt):
        opt.zero_grad()
        (model(x) ** 2.0).mean().backward()
        opt.step()

    step(model, opt)
    pair = (model, opt)
    twin, twin_opt = (
        copy.deepcopy(pair) if how == "deepcopy" else pickle.loads(pickle.dumps(pair))
    )
    assert twin_opt.params[0] is twin[0].weight  # the copy steps the copy
    for _ in range(3):
        step(model, opt)
        step(twin, twin_opt)
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
