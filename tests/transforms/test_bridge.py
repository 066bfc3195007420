"""The compile bridge: no leaks, no global counters, bounded caches, traced
numbers, the donation rule, tied weights and all-or-nothing steps."""

import gc
import random as pyrandom
import re
import signal
import time
import warnings
import weakref

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import lucid_fx
import lucid_fx.nn as nn
import lucid_fx.nn.functional as F
from lucid_fx import Tensor, optim
from lucid_fx._tensor import lift_inplace
from lucid_fx.transforms import _signature
from tests.helpers import CtrlC, train_step

RNG = np.random.default_rng(1)
X = RNG.normal(size=(8, 4)).astype(np.float32)
Y = RNG.integers(0, 3, 8).astype(np.int32)


def _model(seed=0):
    lucid_fx.random.seed(seed)
    return nn.Sequential(nn.Linear(4, 6), nn.LeakyReLU(0.125), nn.Linear(6, 3))


def _readable(model, opt):
    """Every parameter, gradient and optimizer state can be read."""
    arrays = [p.data for p in model.parameters()]
    arrays += [p.grad.data for p in model.parameters() if p.grad is not None]
    arrays += jax.tree.leaves(opt.state)
    try:
        for a in arrays:
            np.asarray(a)
    except RuntimeError:
        return False
    return True


# ------------------------------------------------------------ issue 12: leaks


def test_compiled_models_optimizers_and_steps_are_freed_after_del():
    refs = []
    for i in range(10):
        model = _model(i)
        opt = optim.SGD(model.parameters(), lr=0.1)
        fast = lucid_fx.compile(model)
        step = lucid_fx.compile(train_step)
        fast(Tensor(X))  # the Tensor path (one taped op)
        fast(X)  # the array path
        step(model, opt, Tensor(X), Tensor(Y))
        refs += [weakref.ref(o) for o in (model, opt, fast, step)]
        del model, opt, fast, step
    gc.collect()
    alive = [r for r in refs if r() is not None]
    assert not alive, f"{len(alive)} of {len(refs)} still alive"


def test_a_compiled_module_backpropagated_through_is_freed_after_del():
    # backward() through a compiled module puts its taped op in the global
    # (bounded) fused-backward caches: the op must not hold the module.
    refs = []
    for i in range(6):
        model = _model(i)
        fast = lucid_fx.compile(model)
        for _ in range(4):  # past the sights that compile a fused backward
            fast(Tensor(X)).sum().backward()
        refs += [weakref.ref(model), weakref.ref(fast)]
        del model, fast
    lucid_fx._tensor._fused.wait(60)
    gc.collect()
    alive = [r for r in refs if r() is not None]
    assert not alive, f"{len(alive)} of {len(refs)} still alive"


def test_a_long_lived_step_does_not_keep_models_alive():
    step = lucid_fx.compile(train_step)
    refs = []
    for i in range(5):
        model = _model(i)
        opt = optim.SGD(model.parameters(), lr=0.1)
        step(model, opt, Tensor(X), Tensor(Y))
        refs += [weakref.ref(model), weakref.ref(opt)]
        del model, opt
    gc.collect()
    assert all(r() is None for r in refs)


def test_thousand_models_through_one_step_compile_once_and_stay_bounded():
    traces = []

    def step(model, opt, x, y):
        traces.append(1)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    compiled = lucid_fx.compile(step)
    x, y = Tensor(X), Tensor(Y)
    refs = []
    for i in range(1000):
        model = nn.Sequential(nn.Linear(4, 3))
        opt = optim.SGD(model.parameters(), lr=0.1)
        compiled(model, opt, x, y)
        if i == 10:
            gc.collect()
            live_early = len(jax.live_arrays())
        refs.append(weakref.ref(model))
        del model, opt
    gc.collect()
    assert len(traces) == 1
    assert len(jax.live_arrays()) <= live_early
    assert all(r() is None for r in refs)


def test_unrelated_modules_between_steps_do_not_retrace():
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)

    @chex.assert_max_traces(n=2)  # once without grads, once with
    def step(model, opt, x, y):
        return train_step(model, opt, x, y)

    compiled = lucid_fx.compile(step)
    x, y = Tensor(X), Tensor(Y)
    state = compiled._last
    for _ in range(5):
        compiled(model, opt, x, y)
        nn.Linear(2, 2)  # e.g. a logging head built between steps
        nn.Sequential(nn.Linear(2, 2)).eval()
    chex.clear_trace_counter()
    # The collected state was reused every time: nothing was re-validated.
    assert state and state[0][2] is compiled._last[0][2]


def test_changing_the_model_itself_is_still_seen():
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    compiled = lucid_fx.compile(train_step)
    compiled(model, opt, Tensor(X), Tensor(Y))
    model[1].negative_slope = 2.0
    got = compiled(model, opt, Tensor(X), Tensor(Y)).item()
    reference = _model()
    ref_opt = optim.SGD(reference.parameters(), lr=0.1)
    train_step(reference, ref_opt, Tensor(X), Tensor(Y))
    reference[1].negative_slope = 2.0
    want = train_step(reference, ref_opt, Tensor(X), Tensor(Y)).item()
    np.testing.assert_allclose(got, want, rtol=1e-5)


def _new_weight(model):
    model[2].weight = nn.Parameter(np.full((3, 6), 0.25, np.float32))


def _drop_bias(model):
    del model[2].bias
    model[2].register_parameter("bias", None)


MUTATIONS = {
    "slope": lambda m: setattr(m[1], "negative_slope", 2.0),
    "new weight Parameter": _new_weight,
    "del and register a parameter": _drop_bias,
    "eval then train": lambda m: m.eval().train(),
}


@pytest.mark.parametrize("mutate", list(MUTATIONS), ids=list(MUTATIONS))
def test_every_kind_of_change_to_the_model_is_seen_by_both_compiles(mutate):
    model = _model()
    compiled_module = lucid_fx.compile(model)
    compiled_forward = lucid_fx.compile(lambda m, x: m(x))
    x = Tensor(X)
    compiled_module(x), compiled_forward(model, x)
    before = [m.mutations for m in model.modules()]
    MUTATIONS[mutate](model)
    assert [m.mutations for m in model.modules()] != before
    want = model(x).numpy()  # eager, after the change
    np.testing.assert_allclose(compiled_module(x).numpy(), want, rtol=1e-6)
    np.testing.assert_allclose(compiled_forward(model, x).numpy(), want, rtol=1e-6)


def test_program_cache_is_bounded_lru_and_warns(monkeypatch):
    monkeypatch.setattr(_signature, "MAX_PROGRAMS", 3)
    monkeypatch.setattr(_signature, "WARN_AFTER", 4)

    def total(x):
        return x.sum()

    compiled = lucid_fx.compile(total)
    for n in range(1, 5):
        compiled(Tensor(np.ones(n, np.float32)))
    assert len(compiled._programs) == 3
    with pytest.warns(RuntimeWarning, match="compiled 5 times"):
        assert compiled(Tensor(np.ones(5, np.float32))).item() == 5.0
    assert len(compiled._programs) == 3
    compiled(Tensor(np.ones(6, np.float32)))  # warns once only (error otherwise)


def test_compiled_module_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(_signature, "MAX_PROGRAMS", 2)
    model = _model()
    fast = lucid_fx.compile(model)
    for slope in (0.5, 0.25, 0.125):
        model[1].negative_slope = slope
        fast(X)
    assert len(fast._programs) == 2


# ------------------------------------------------- issue 20: traced numbers


def _scaled_step(model, opt, x, y, epoch):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y) * (1.0 / (1.0 + epoch))
    loss.backward()
    opt.step()
    return loss


def test_python_numbers_are_traced_150_epochs_compile_once():
    traces = []

    def step(model, opt, x, y, epoch):
        traces.append(1)
        return _scaled_step(model, opt, x, y, epoch)

    model, reference = _model(), _model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    ref_opt = optim.SGD(reference.parameters(), lr=0.1)
    compiled = lucid_fx.compile(step)
    x, y = Tensor(X), Tensor(Y)
    for epoch in range(150):
        got = compiled(model, opt, x, y, epoch)
        if epoch % 50 == 0:
            want = _scaled_step(reference, ref_opt, x, y, epoch)
        else:
            _scaled_step(reference, ref_opt, x, y, epoch)
        if epoch % 50 == 0:
            np.testing.assert_allclose(got.item(), want.item(), rtol=1e-5)
    assert len(traces) == 2  # no grads yet, then with grads
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-4, atol=1e-6)


def test_static_argnames_make_a_number_a_python_value():
    def repeat(x, n):
        out = x
        for _ in range(n):
            out = out * 2.0
        return out

    compiled = lucid_fx.compile(repeat, static_argnames=("n",))
    assert compiled(Tensor([1.0]), 3).tolist() == [8.0]
    assert compiled(Tensor([1.0]), n=2).tolist() == [4.0]
    by_position = lucid_fx.compile(static_argnums=1)(repeat)
    assert by_position(Tensor([1.0]), 1).tolist() == [2.0]
    traced = lucid_fx.compile(repeat)
    with pytest.warns(RuntimeWarning, match="static_argnames"):
        assert traced(Tensor([1.0]), 3).tolist() == [8.0]
    with pytest.raises(TypeError, match="static_argnames must be strings"):
        lucid_fx.compile(repeat, static_argnames=(1,))


@pytest.mark.parametrize("by", ["position", "name"])
def test_a_static_number_that_changes_picks_its_own_program(by):
    # A static flag switching one step between evaluating and training: each
    # value is its own program, even with the same model and optimizer.
    def step(model, opt, x, y, train):
        if train:
            return train_step(model, opt, x, y)
        return F.cross_entropy(model(x), y)

    compiled = lucid_fx.compile(step, static_argnames=("train",))
    model, twin = _model(), _model()
    opt, twin_opt = (optim.SGD(m.parameters(), lr=0.1) for m in (model, twin))
    x, y = Tensor(X), Tensor(Y)
    for train in [0, 1, 1, 0, 1]:
        if by == "position":
            loss = compiled(model, opt, x, y, train)
        else:
            loss = compiled(model, opt, x, y, train=train)
        expected = step(twin, twin_opt, x, y, train)
        np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-6)
        for p, q in zip(model.parameters(), twin.parameters(), strict=True):
            np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-5, atol=1e-7)


# -------------------------------------------- issue 13: the donation rule


def test_arrays_the_user_holds_stay_readable_after_a_compiled_step():
    lucid_fx.random.seed(0)
    outside = jnp.asarray(RNG.normal(size=(3, 6)).astype(np.float32))
    model = _model()
    model[2].weight = nn.Parameter(outside)  # a JAX array adopted
    apply, params = lucid_fx.functionalize(model)
    best = Tensor(model[0].weight.data)  # a snapshot
    w = model[2].bias.data  # an alias
    expected = {k: np.array(v) for k, v in params.items()}
    opt = optim.Adam(model.parameters(), lr=0.1)
    step = lucid_fx.compile(train_step)
    for _ in range(3):
        step(model, opt, Tensor(X), Tensor(Y))
    np.testing.assert_array_equal(np.asarray(outside), expected["2.weight"])
    np.testing.assert_array_equal(best.numpy(), expected["0.weight"])
    np.testing.assert_array_equal(np.asarray(w), expected["2.bias"])
    for k, v in params.items():
        np.testing.assert_array_equal(np.asarray(v), expected[k])
    assert not np.array_equal(model[2].weight.numpy(), expected["2.weight"])


@pytest.mark.parametrize("kind", ["sgd-momentum", "adam"])
@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_a_kept_optimizer_state_dict_stays_readable(kind, compiled):
    # An in-memory checkpoint of the optimizer shares its arrays with the
    # optimizer's state: the next step must not donate them.
    model = _model()
    if kind == "adam":
        opt = optim.Adam(model.parameters(), lr=0.01)
    else:
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    step = lucid_fx.compile(train_step) if compiled else train_step
    step(model, opt, Tensor(X), Tensor(Y))
    best = opt.state_dict()
    expected = jax.tree.map(np.array, best)
    for _ in range(2):
        step(model, opt, Tensor(X), Tensor(Y))
    jax.tree.map(
        np.testing.assert_array_equal, jax.tree.map(np.asarray, best), expected
    )
    # and the optimizer's own state moved on
    name = "exp_avg" if kind == "adam" else "momentum_buffer"
    assert not np.array_equal(
        np.asarray(opt.state_dict()["state"][0][name]), expected["state"][0][name]
    )


def test_lift_inplace_does_not_delete_a_held_array():
    t = Tensor([-2.0, 0.5])
    held = t.data
    double_ = lift_inplace(lambda v: v * 2.0, "double_")
    double_(t)
    assert np.asarray(held).tolist() == [-2.0, 0.5]


def _tied_pair(tie):
    lucid_fx.random.seed(0)
    a, b = nn.Linear(4, 4), nn.Linear(4, 4)
    torch_a, torch_b = torch.nn.Linear(4, 4), torch.nn.Linear(4, 4)
    for mine, theirs in ((a, torch_a), (b, torch_b)):
        with torch.no_grad():
            theirs.weight.copy_(torch.from_numpy(np.array(mine.weight.numpy())))
            theirs.bias.copy_(torch.from_numpy(np.array(mine.bias.numpy())))
    if tie == "parameter":
        b.weight = a.weight
        torch_b.weight = torch_a.weight
    else:
        b.weight.data = a.weight.data
        torch_b.weight.data = torch_a.weight.data
    return nn.Sequential(a, nn.LeakyReLU(0.5), b), torch.nn.Sequential(
        torch_a, torch.nn.LeakyReLU(0.5), torch_b
    )


@pytest.mark.parametrize("tie", ["parameter", "data"])
def test_tied_weights_train_like_pytorch(tie):
    model, reference = _tied_pair(tie)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    ref_opt = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.5)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(5, 4)).astype(np.float32)
    y = rng.integers(0, 4, 5).astype(np.int32)
    step = lucid_fx.compile(train_step)
    for _ in range(3):
        loss = step(model, opt, Tensor(x), Tensor(y))
        ref_opt.zero_grad()
        ref_loss = torch.nn.functional.cross_entropy(
            reference(torch.from_numpy(x)), torch.from_numpy(y.astype(np.int64))
        )
        ref_loss.backward()
        ref_opt.step()
        np.testing.assert_allclose(loss.item(), ref_loss.item(), rtol=1e-5)
    theirs = reference.state_dict()
    for k, p in model.state_dict().items():
        q = theirs[k]
        np.testing.assert_allclose(
            p.numpy(), q.numpy(), rtol=1e-5, atol=1e-6, err_msg=k
        )
    assert model[2].weight.data is model[0].weight.data or tie == "parameter"


# ----------------------------------------------- issue 13: all or nothing


def test_100_random_sigints_during_compiled_training_leave_usable_state():
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    model = _model()
    opt = optim.Adam(model.parameters(), lr=0.01)
    step = lucid_fx.compile(train_step)
    x, y = Tensor(X), Tensor(Y)
    step(model, opt, x, y)
    start = time.perf_counter()
    for _ in range(20):
        step(model, opt, x, y)
    per_step = (time.perf_counter() - start) / 20
    rng = pyrandom.Random(0)
    unusable = 0
    for _ in range(100):
        try:
            with CtrlC(rng.uniform(0.0, 3 * per_step)) as ctrl_c:
                while True:
                    ctrl_c.poll()
                    step(model, opt, x, y)
        except KeyboardInterrupt:
            pass
        unusable += not _readable(model, opt)
        assert all(np.isfinite(p.numpy()).all() for p in model.parameters())
    assert unusable == 0
    saved = model.state_dict()  # the usual `except KeyboardInterrupt: save`
    assert all(np.isfinite(v.numpy()).all() for v in saved.values())


def test_exception_inside_a_compiled_step_keeps_state():
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}

    def failing(model, opt, x, y):
        train_step(model, opt, x, y)
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        lucid_fx.compile(failing)(model, opt, Tensor(X), Tensor(Y))
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    assert _readable(model, opt)


# ------------------------------------------------- buffers and the RNG key


class _Counter(nn.Module):
    """Counts calls in a buffer, once by ``.data`` and once by rebinding."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.register_buffer("by_data", Tensor([0.0]))
        self.register_buffer("by_rebind", Tensor([0.0]))

    def forward(self, x):
        self.by_data.data = self.by_data.data + 1.0
        self.by_rebind = Tensor(self.by_rebind.data + 2.0)
        return self.fc(x)


def test_buffers_are_state_written_back_by_a_compiled_step():
    model = _Counter()
    slot = model.by_rebind
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = lucid_fx.compile(train_step)
    for _ in range(3):
        step(model, opt, Tensor(X), Tensor(Y))
    assert model.by_data.tolist() == [3.0]
    assert model.by_rebind is slot and slot.tolist() == [6.0]


class _HalvedScale(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.register_buffer("scale", Tensor(np.array([1.0, 2.0], np.float32)))

    def forward(self, x):
        self.scale.data = self.scale.data * 0.5  # the step changes the buffer
        return self.fc(x) * self.scale


def _buffer_argument_step(model, opt, x, scale):
    opt.zero_grad()
    loss = (model(x) * scale).sum()  # ``scale`` is also the model's buffer
    loss.backward()
    opt.step()
    return loss


def test_a_buffer_passed_as_an_argument_too_is_not_donated_and_equals_eager():
    # Its array was donated as state and passed as an input of the same
    # call: XLA refused the call ("a buffer that was previously donated").
    x = Tensor(X)
    models = []
    for _ in range(2):
        lucid_fx.random.seed(0)
        models.append(_HalvedScale())
    opts = [optim.SGD(m.parameters(), lr=0.1) for m in models]
    step = lucid_fx.compile(_buffer_argument_step)
    for _ in range(3):
        eager = _buffer_argument_step(models[0], opts[0], x, models[0].scale)
        compiled = step(models[1], opts[1], x, models[1].scale)
        np.testing.assert_allclose(compiled.item(), eager.item(), rtol=1e-6)
    for a, b in zip(models[1].state_dict().values(), models[0].state_dict().values()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def _noisy_step(x):
    key = lucid_fx.random.next_key()
    return x + jax.random.uniform(key, x.shape)


def test_rng_key_is_threaded_fresh_draws_and_eager_equal_compiled():
    x = Tensor(np.zeros(3, np.float32))
    lucid_fx.random.seed(7)
    eager = [_noisy_step(x).numpy() for _ in range(3)]
    compiled = lucid_fx.compile(_noisy_step)
    lucid_fx.random.seed(7)
    got = [compiled(x).numpy() for _ in range(3)]
    for a, b in zip(got, eager, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(got[0], got[1])  # a fresh draw every call


def test_a_caught_host_read_while_tracing_warns_once():
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    seen = []

    @lucid_fx.compile
    def step(model, opt, x):
        opt.zero_grad()
        loss = (model(x) ** 2.0).sum()
        try:
            seen.append(loss.item() > 100.0)  # raises while tracing
        except jax.errors.ConcretizationTypeError:
            seen.append("caught")
        loss.backward()
        opt.step()
        return loss

    x = Tensor([[1.0, 2.0]])
    with pytest.warns(RuntimeWarning, match=r"Tensor.item\(\) asked .* caught") as w:
        step(model, opt, x)
    assert w[0].filename == __file__  # points at the user's call
    step(model, opt, x)  # a second trace (now .grad exists): no second warning
    traces = len(seen)
    before = model.weight.numpy().copy()
    step(model, opt, x)
    assert set(seen) == {"caught"} and len(seen) == traces  # Python: trace only
    assert not np.array_equal(before, model.weight.numpy())  # the program ran


def test_the_warning_names_the_read():
    @lucid_fx.compile
    def step(x):
        try:
            flag = bool(x.sum() > 0)
        except jax.errors.ConcretizationTypeError:
            flag = False
        return x * (2.0 if flag else 3.0)

    with pytest.warns(RuntimeWarning, match=r"bool\(tensor\) asked"):
        out = step(Tensor([1.0, 2.0]))
    np.testing.assert_array_equal(out.numpy(), [3.0, 6.0])  # the except branch


def test_a_library_conversion_is_not_blamed_on_the_function():
    @lucid_fx.compile
    def step(x):
        # Comparing with a list of traced tensors: the library tries to convert
        # the list (np.asarray), catches JAX's error and returns NotImplemented.
        x == [x.sum(), x.sum()]  # noqa: B015
        return x * 2.0

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(step(Tensor([1.0, 2.0])).numpy(), [2.0, 4.0])


def test_a_step_without_host_reads_does_not_warn():
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = lucid_fx.compile(train_step)
    x, y = Tensor([[1.0, 2.0]]), Tensor([[0.5]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        step(model, opt, x, y)


class _CallCounter(nn.Module):
    def __init__(self, registered):
        super().__init__()
        self.lin = nn.Linear(3, 2)
        if registered:
            self.register_buffer("calls", Tensor(np.zeros((), np.float32)))
        else:
            self.calls = Tensor(np.zeros((), np.float32))

    def forward(self, x):
        self.calls = self.calls + 1.0
        return self.lin(x)


def _count_step(model, opt, x):
    opt.zero_grad()
    loss = model(x).sum()
    loss.backward()
    opt.step()
    return loss


def test_a_traced_tensor_in_a_plain_attribute_raises_and_leaves_the_model_usable():
    model = _CallCounter(registered=False)
    opt = optim.SGD(model.parameters(), lr=0.1)
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    x = Tensor(np.ones((2, 3), np.float32))
    with pytest.raises(RuntimeError, match=r"_CallCounter\.calls = .*register_buffer"):
        lucid_fx.compile(_count_step)(model, opt, x)
    assert type(model.calls.data) is not jax.core.Tracer and model.calls.item() == 0.0
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    _count_step(model, opt, x)  # eager still works
    assert model.calls.item() == 1.0


def test_a_registered_buffer_rebound_in_forward_is_written_back_each_call():
    model = _CallCounter(registered=True)
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = lucid_fx.compile(_count_step)
    for _ in range(3):
        step(model, opt, Tensor(np.ones((2, 3), np.float32)))
    assert model.calls.item() == 3.0


@pytest.mark.parametrize(
    "change, what",
    [("scheduler", "optimizer options"), ("eval", "train/eval mode")],
)
def test_python_only_state_changed_while_tracing_warns_once(change, what):
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)

    def step(model, opt, x, y):
        loss = train_step(model, opt, x, y)
        if change == "scheduler":
            sched.step()  # runs only while tracing
        else:
            model.eval()
        return loss

    compiled = lucid_fx.compile(step)
    with pytest.warns(RuntimeWarning, match=f"changed the {re.escape(what)}"):
        compiled(model, opt, Tensor(X), Tensor(Y))
    model.train()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per compiled function
        for _ in range(3):
            compiled(model, opt, Tensor(X), Tensor(Y))
            model.train()


def test_a_scheduler_argument_stepped_while_tracing_warns_even_if_lr_stays():
    # StepLR(step_size=3): the traced step moves last_epoch but not lr, so
    # the optimizer options alone saw no change, and the schedule froze
    # without a word. The scheduler passed as an argument is watched too.
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)

    def step(model, opt, sched, x, y):
        loss = train_step(model, opt, x, y)
        sched.step()
        return loss

    compiled = lucid_fx.compile(step)
    with pytest.warns(RuntimeWarning, match="attributes of an argument") as caught:
        compiled(model, opt, sched, Tensor(X), Tensor(Y))
    assert "optimizer options" not in str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per compiled function
        for _ in range(3):
            compiled(model, opt, sched, Tensor(X), Tensor(Y))


def test_an_argument_holding_an_array_still_warns_for_its_other_attributes():
    # The array attribute cannot be compared with ==; the counter still is.
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)

    class Counter:
        def __init__(self):
            self.table = np.ones(3)
            self.calls = 0

    def step(model, opt, counter, x, y):
        counter.table = counter.table * 1.0  # a new array: == is elementwise
        counter.calls += 1  # runs only while tracing
        return train_step(model, opt, x, y)

    with pytest.warns(RuntimeWarning, match="attributes of an argument"):
        lucid_fx.compile(step)(model, opt, Counter(), Tensor(X), Tensor(Y))


def test_an_argument_object_left_unchanged_does_not_warn():
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)

    class Config:
        def __init__(self):
            self.scale = 1.0
            self.names = ["a"]

    def step(model, opt, config, x, y):
        return train_step(model, opt, x, y) * config.scale

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compiled = lucid_fx.compile(step)
        config = Config()
        for _ in range(3):
            compiled(model, opt, config, Tensor(X), Tensor(Y))


def test_a_scheduler_stepped_while_tracing_leaves_no_tracer_in_the_optimizer():
    # The trace reads the optimizer's state after the scheduler moved lr: the
    # hyper scalars cached for that lr must be concrete arrays, not the
    # trace's tracers (they would leak into every later step at that lr).
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)

    def step(model, opt, x, y):
        loss = train_step(model, opt, x, y)
        sched.step()
        return loss

    with pytest.warns(RuntimeWarning, match="optimizer options"):
        lucid_fx.compile(step)(model, opt, Tensor(X), Tensor(Y))
    hyper, _ = opt.bridge_state()
    assert not any(isinstance(v, jax.core.Tracer) for h in hyper for v in h.values())
    assert hyper[0]["lr"] == np.float32(opt.param_groups[0]["lr"])
    before = {k: v.numpy() for k, v in model.state_dict().items()}
    train_step(model, opt, Tensor(X), Tensor(Y))  # eager, at that lr
    assert all(
        np.isfinite(v.numpy()).all() and not np.array_equal(v.numpy(), before[k])
        for k, v in model.state_dict().items()
    )


def test_a_step_that_changes_no_python_state_does_not_warn():
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)

    def step(model, opt, x, y):
        model.train()  # already training: no change
        return train_step(model, opt, x, y)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compiled = lucid_fx.compile(step)
        for _ in range(3):
            compiled(model, opt, Tensor(X), Tensor(Y))


@pytest.mark.parametrize("where", ["attribute", "closure"])
def test_a_tensor_read_from_outside_the_state_warns_once_that_it_is_baked_in(where):
    scale = Tensor(np.full(3, 2.0, np.float32))
    model = _model()
    if where == "attribute":
        model.scale = scale  # a plain attribute, not a registered buffer

    def step(model, opt, x, y):
        opt.zero_grad()
        loss = (model(x) * scale).sum()
        loss.backward()
        opt.step()
        return loss

    opt = optim.SGD(model.parameters(), lr=0.1)
    compiled = lucid_fx.compile(step)
    with pytest.warns(RuntimeWarning, match=r"shape \(3,\).*baked into"):
        compiled(model, opt, Tensor(X), Tensor(Y))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per compiled function
        compiled(model, opt, Tensor(X), Tensor(Y))


# --------------------------------- from a probe: configs, tracers, closures


class _Configured(nn.Module):
    """A model whose forward reads a dict and a list config."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 3)
        self.cfg = {"scale": 1.0}
        self.slopes = [0.1]

    def forward(self, x):
        return F.leaky_relu(self.lin(x), self.slopes[0]) * self.cfg["scale"]


def test_list_and_dict_configs_edited_in_place_are_seen_by_the_next_call():
    model = _Configured()
    fast = lucid_fx.compile(model)
    step = lucid_fx.compile(lambda m, x: m(x))
    x = Tensor(X)
    for compiled in (fast, lambda x: step(model, x)):
        compiled(x)
        compiled(x)  # steady state: programs compiled, fingerprints kept
        for edit in (
            lambda: model.cfg.__setitem__("scale", 3.0),
            lambda: model.slopes.__setitem__(0, 0.5),
            lambda: model.slopes.append(7),
        ):
            edit()
            np.testing.assert_array_equal(compiled(x).numpy(), model(x).numpy())
        model.cfg["scale"], model.slopes[:] = 1.0, [0.1]


def test_a_traced_number_stored_on_a_module_raises_and_leaves_it_usable():
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)

    def step(model, opt, x, y, slope):
        model[1].negative_slope = slope  # a traced number: cannot leave
        return train_step(model, opt, x, y)

    before = [p.tolist() for p in model.parameters()]
    with pytest.raises(RuntimeError, match=r"LeakyReLU.negative_slope = \.\.\."):
        lucid_fx.compile(step)(model, opt, Tensor(X), Tensor(Y), 0.3)
    assert model[1].negative_slope == 0.125
    assert [p.tolist() for p in model.parameters()] == before
    assert model(Tensor(X)).shape == (8, 3)
    compiled = lucid_fx.compile(step, static_argnames="slope")  # the way out
    compiled(model, opt, Tensor(X), Tensor(Y), 0.3)
    assert model[1].negative_slope == 0.3


def test_running_statistics_of_a_model_reached_by_closure_raise_not_vanish():
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Linear(6, 3))
    opt = optim.SGD(model.parameters(), lr=0.1)

    @lucid_fx.compile
    def step(opt, x, y):
        return train_step(model, opt, x, y)

    before = [p.tolist() for p in model.parameters()]
    with pytest.raises(RuntimeError, match="closure"):
        step(opt, Tensor(X), Tensor(Y))
    assert model[1].running_mean.tolist() == [0.0] * 6
    assert [p.tolist() for p in model.parameters()] == before
    passed = lucid_fx.compile(train_step)  # passing the model carries them
    passed(model, opt, Tensor(X), Tensor(Y))
    assert model[1].running_mean.tolist() != [0.0] * 6


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize(
    "move",
    [
        # Where the model already is (the default device): a no-op.
        lambda model, w: (model.to(lucid_fx.default_device().platform), w)[1],
        lambda model, w: Tensor(w, device=lucid_fx.default_device().platform).data,
        lambda model, w: Tensor(w, device=lucid_fx.default_device()).data,
    ],
    ids=["module.to", "Tensor(device=str)", "Tensor(device=Device)"],
)
def test_a_move_to_the_same_device_never_aliases_a_held_array(move, compiled):
    # jax.device_put to the device an uncommitted array is on returns a new
    # Array over the same buffer: donating one would delete the other.
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    w = model[0].weight.data
    held = move(model, w)
    saved = np.array(held)
    step = lucid_fx.compile(train_step) if compiled else train_step
    for _ in range(2):
        step(model, opt, Tensor(X), Tensor(Y))
    np.testing.assert_array_equal(np.asarray(held), saved)
    np.testing.assert_array_equal(np.asarray(w), saved)


def test_a_ctrl_c_while_a_trace_restores_the_state_leaves_no_tracer():
    # The signal lands in the middle of restoring the real state after a
    # trace: when this Parameter's traced grad is replaced by its real one.
    fired = []

    class Interrupting(nn.Parameter):
        __slots__ = ()

        def set_grad(self, array):
            traced = self._grad is not None and isinstance(
                self._grad._data, jax.core.Tracer
            )
            super().set_grad(array)
            if traced and not fired:
                fired.append(True)
                signal.raise_signal(signal.SIGINT)

    model = _model()
    model[0].weight = Interrupting(model[0].weight.data)
    opt = optim.Adam(model.parameters(), lr=0.01)
    step = lucid_fx.compile(train_step)
    with pytest.raises(KeyboardInterrupt):
        step(model, opt, Tensor(X), Tensor(Y))
    assert fired
    for p in model.parameters():
        assert not isinstance(p.data, jax.core.Tracer)
        assert p.grad is None  # as before the call
    assert _readable(model, opt)
    step(model, opt, Tensor(X), Tensor(Y))  # and it trains on
    assert _readable(model, opt)


@pytest.mark.parametrize("where", ["compiled step", "optimizer step"])
def test_a_nan_under_jax_debug_nans_raises_and_keeps_every_buffer(where):
    # JAX re-runs a program that made a NaN on its inputs: none is donated.
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    step = lucid_fx.compile(train_step)
    for _ in range(2):  # both of its programs compiled
        step(model, opt, Tensor(X), Tensor(Y))
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    bad, y = Tensor(np.full_like(X, np.nan)), Tensor(Y)  # made before: JAX
    for p in model.parameters():  # checks every op's result from now on
        p.grad = Tensor(np.full(p.shape, np.nan, np.float32))
    jax.config.update("jax_debug_nans", True)
    try:
        with pytest.raises(FloatingPointError):
            if where == "compiled step":
                step(model, opt, bad, y)
            else:
                opt.step()
    finally:
        jax.config.update("jax_debug_nans", False)
    assert _readable(model, opt)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    step(model, opt, Tensor(X), Tensor(Y))
    assert _readable(model, opt)
