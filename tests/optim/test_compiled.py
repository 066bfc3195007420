"""Optimizers and schedulers inside lucid_fx.compile: never stale, no retrace."""

import warnings

import chex
import numpy as np
import pytest

import lucid_fx
from lucid_fx import Tensor, optim
from lucid_fx.optim import _optimizer
from tests.optim import resume_run


def _data(i):
    rng = np.random.default_rng(100 + i)
    x = rng.normal(size=(8, 4)).astype(np.float32)
    return Tensor(x), Tensor(rng.normal(size=(8, 2)).astype(np.float32))


@pytest.mark.parametrize("kind", ["adam", "sgd", "rmsprop"])
def test_scheduler_changing_lr_every_step_compiles_once(kind):
    @chex.assert_max_traces(n=2)  # once without grads (first call), once with
    def step(model, opt, x, y):
        return resume_run._step(model, opt, x, y)

    model, opt, sched = resume_run.build(kind)
    eager_model, eager_opt, eager_sched = resume_run.build(kind)
    compiled = lucid_fx.compile(step)
    for i in range(12):
        compiled(model, opt, *_data(i))
        sched.step()
        resume_run._step(eager_model, eager_opt, *_data(i))
        eager_sched.step()
    chex.clear_trace_counter()
    assert opt.param_groups[0]["lr"] == eager_opt.param_groups[0]["lr"]
    for k, v in resume_run.params(eager_model).items():
        np.testing.assert_allclose(resume_run.params(model)[k], v, rtol=1e-5, atol=1e-6)


def test_param_group_lr_edit_is_never_stale_in_a_compiled_step():
    model, opt, _ = resume_run.build("sgd")
    compiled = lucid_fx.compile(resume_run._step)
    compiled(model, opt, *_data(0))
    compiled(model, opt, *_data(1))
    before = resume_run.params(model)
    for group in opt.param_groups:
        group["lr"] = 0.0
    compiled(model, opt, *_data(2))
    for k, v in resume_run.params(model).items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)


def test_bridge_hooks():
    model, opt, _ = resume_run.build("adam")
    assert opt.params == list(model.parameters())
    hyper, state = opt.bridge_state()
    assert [sorted(h) for h in hyper] == [
        ["beta1", "beta2", "eps", "lr", "weight_decay"]
    ] * 2
    assert all(
        v.shape == () and v.dtype == np.float32 for h in hyper for v in h.values()
    )
    assert opt.bridge_state()[0][0]["lr"] is hyper[0]["lr"]  # cached per value
    assert state is opt.bridge_state()[1] and len(state) == 4
    signature = opt.bridge_signature()
    opt.param_groups[0]["lr"] = 0.5
    assert opt.bridge_signature() == signature
    assert float(opt.bridge_state()[0][0]["lr"]) == 0.5
    opt.param_groups[0]["amsgrad"] = False
    assert opt.bridge_signature() != signature
    x, y = _data(0)
    resume_run._step(model, opt, x, y)
    with opt.traced_hyper(tuple(dict(h, lr=np.float32(0)) for h in hyper)):
        before = resume_run.params(model)
        resume_run._step(model, opt, x, y)
    for k, v in resume_run.params(model).items():  # lr 0: unmoved
        np.testing.assert_array_equal(v, before[k], err_msg=k)
    new_state = [dict(s) for s in opt.bridge_state()[1]]
    opt.load_bridge_state(new_state)
    assert opt.bridge_state()[1] is new_state


@pytest.mark.parametrize(
    ("kind", "off"),
    [
        ("sgd", {"momentum": 0.0, "nesterov": False}),
        ("adam", {"amsgrad": False}),
        ("rmsprop", {"centered": False}),
    ],
)
def test_an_option_turned_off_in_a_compiled_step_passes_no_unused_buffer(kind, off):
    # The states are fitted to the new options before they are read out: the
    # dropped buffer is neither passed to the program nor donated to it (JAX
    # warned "Some donated buffers were not usable"), and the run stays eager's.
    model, opt, _ = resume_run.build(kind)
    eager_model, eager_opt, _ = resume_run.build(kind)
    compiled = lucid_fx.compile(resume_run._step)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for i in range(5):
            if i == 3:
                opt.param_groups[0].update(off)
                eager_opt.param_groups[0].update(off)
            compiled(model, opt, *_data(i))
            resume_run._step(eager_model, eager_opt, *_data(i))
    for k, v in resume_run.params(eager_model).items():
        np.testing.assert_allclose(resume_run.params(model)[k], v, rtol=1e-5, atol=1e-6)
    assert [sorted(s) for s in opt._states] == [sorted(s) for s in eager_opt._states]


def test_bridge_view_is_remade_exactly_when_a_group_option_changes():
    model, opt, _ = resume_run.build("adam")
    hyper, state, signature = opt.bridge_view()
    again = opt.bridge_view()
    assert again[0] is hyper and again[1] is opt._states and again[2] is signature
    for name, value in [("lr", 0.25), ("betas", (0.5, 0.75)), ("amsgrad", True)]:
        opt.param_groups[1][name] = value
        hyper, _, signature = opt.bridge_view()
        # equal to what the two single hooks compute from scratch
        expected = opt.bridge_state()[0]
        assert [{k: float(v) for k, v in h.items()} for h in hyper] == [
            {k: float(v) for k, v in h.items()} for h in expected
        ], name
        assert signature == opt.bridge_signature(), name
    assert float(hyper[1]["lr"]) == 0.25 and float(hyper[1]["beta2"]) == 0.75
    # a key of the user's own, even an array replaced at every step, is no option
    for i in range(2):
        opt.param_groups[0]["mask"] = np.arange(3) + i
        assert opt.bridge_view()[2] is signature
    # a parameter appended in place, a new group, a loaded state dict
    extra = lucid_fx.nn.Parameter(np.ones(3, np.float32))
    opt.param_groups[1]["params"].append(extra)
    assert opt.bridge_view()[2] == opt.bridge_signature() != signature
    opt.param_groups[1]["params"].pop()
    opt.add_param_group({"params": [extra], "lr": 0.125})
    hyper, _, signature = opt.bridge_view()
    assert len(hyper) == 3 and float(hyper[2]["lr"]) == 0.125
    assert signature == opt.bridge_signature()
    saved = opt.state_dict()
    opt.param_groups[0]["lr"] = 0.5
    assert float(opt.bridge_view()[0][0]["lr"]) == 0.5
    opt.load_state_dict(saved)
    loaded = np.float32(saved["param_groups"][0]["lr"])
    assert opt.bridge_view()[0][0]["lr"] == loaded != np.float32(0.5)


@pytest.mark.parametrize("compiled", [False, True])
def test_betas_list_edited_in_place_and_assigned_again_is_used(compiled):
    # The option caches must compare a list by its contents: keyed on the
    # list object itself, the edited list compares equal to the cached key
    # and the update keeps the first betas.
    x, y = _data(0)
    models = [resume_run.build("adam")[0] for _ in range(2)]
    opts = [optim.Adam(m.parameters(), lr=0.01) for m in models]
    step = lucid_fx.compile(resume_run._step) if compiled else resume_run._step
    betas = [0.5, 0.9]
    for first in (0.5, 0.1, 0.3):
        betas[0] = first
        opts[0].param_groups[0]["betas"] = betas
        opts[1].param_groups[0]["betas"] = (first, 0.9)  # a new tuple: the oracle
        step(models[0], opts[0], x, y)
        resume_run._step(models[1], opts[1], x, y)
    got, want = resume_run.params(models[0]), resume_run.params(models[1])
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-5, atol=1e-6, err_msg=k)


def test_compiled_step_called_inside_a_compiled_function_never_bakes_in_lr():
    inner = lucid_fx.compile(resume_run._step)

    @lucid_fx.compile
    def outer(model, opt, x, y):
        return inner(model, opt, x, y)

    (model, opt, _), (ref, ref_opt, _) = (resume_run.build("sgd") for _ in range(2))
    for i, lr in enumerate([0.1, 0.5, 0.01, 0.3]):
        opt.param_groups[0]["lr"] = ref_opt.param_groups[0]["lr"] = lr
        outer(model, opt, *_data(i))
        resume_run._step(ref, ref_opt, *_data(i))
        got, want = resume_run.params(model), resume_run.params(ref)
        for k in want:
            np.testing.assert_allclose(got[k], want[k], rtol=1e-5, atol=1e-6, err_msg=k)


def test_eager_step_compiles_its_update_once_while_a_scheduler_moves_lr():
    model, opt, sched = resume_run.build("adam")  # OneCycleLR: lr and betas move
    # Two steps first: the second call's arguments are the first's results,
    # which JAX's dispatch cache keys apart from freshly made arrays (a new
    # dispatch entry, no retrace: run alone, this test saw 1 -> 2 there).
    for i in range(2):
        resume_run._step(model, opt, *_data(i))
        sched.step()
    size = _optimizer._apply._cache_size()
    for i in range(2, 10):
        resume_run._step(model, opt, *_data(i))
        sched.step()
    assert _optimizer._apply._cache_size() == size


def test_momentum_turned_on_inside_a_compiled_step_matches_eager():
    # The step that first sees momentum > 0 starts the buffers inside the
    # trace: the optimizer state leaves the program with more leaves than it
    # came in with, and is written back in its new structure.
    runs = []
    for compiled in (False, True):
        model, _, _ = resume_run.build("sgd")
        opt = optim.SGD(model.parameters(), lr=0.05)
        step = lucid_fx.compile(resume_run._step) if compiled else resume_run._step
        for i in range(6):
            if i == 2:
                for group in opt.param_groups:
                    group["momentum"] = 0.9
            step(model, opt, *_data(i))
        buffers = [np.asarray(opt.state[j]["momentum_buffer"]) for j in range(4)]
        runs.append((resume_run.params(model), buffers))
    (eager, eager_buffers), (ours, our_buffers) = runs
    for k, v in eager.items():
        np.testing.assert_allclose(ours[k], v, rtol=1e-5, atol=1e-6, err_msg=k)
    for a, b in zip(our_buffers, eager_buffers, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
