"""lucid_fx.compile on modules and on whole training steps."""

import copy
import weakref

import chex
import jax
import numpy as np
import pytest
import torch

import lucid_fx
import lucid_fx.nn as nn
import lucid_fx.nn.functional as F
from lucid_fx import Tensor, optim
from tests.helpers import train_step as _eager_step

RNG = np.random.default_rng(0)
X = RNG.normal(size=(8, 4)).astype(np.float32)
Y = RNG.integers(0, 3, 8).astype(np.int32)


def _model(seed=0):
    lucid_fx.random.seed(seed)
    return nn.Sequential(nn.Linear(4, 6), nn.LeakyReLU(0.125), nn.Linear(6, 3))


def _all_grads(model):
    return [p.grad for p in model.parameters()]


def _pointers(model, opt):
    """Device addresses of every parameter, gradient and optimizer state."""
    arrays = [p.data for p in model.parameters()]
    arrays += [p.grad.data for p in model.parameters() if p.grad is not None]
    arrays += jax.tree.leaves(opt.state)
    return [a.unsafe_buffer_pointer() for a in arrays]


def _grads(model):
    return {k: p.grad.numpy() for k, p in model.named_parameters()}


class TestCompiledModule:
    def test_backward_fills_same_grads_as_eager(self):
        eager, compiled_model = _model(), _model()
        compiled = lucid_fx.compile(compiled_model)
        xe, xc = Tensor(X, requires_grad=True), Tensor(X, requires_grad=True)
        F.cross_entropy(eager(xe), Tensor(Y)).backward()
        out = compiled(xc)
        assert out._node is not None and out._node.parents[-1] is xc  # one node
        F.cross_entropy(out, Tensor(Y)).backward()
        for k, g in _grads(eager).items():
            np.testing.assert_allclose(
                _grads(compiled_model)[k], g, rtol=1e-6, atol=1e-6
            )
        np.testing.assert_allclose(
            xc.grad.numpy(), xe.grad.numpy(), rtol=1e-6, atol=1e-6
        )

    def test_optimizer_on_shared_parameters(self):
        model = _model()
        compiled = lucid_fx.compile(model)
        opt = optim.SGD(model.parameters(), lr=0.5)
        first = F.cross_entropy(compiled(Tensor(X)), Tensor(Y))
        for _ in range(10):
            opt.zero_grad()
            loss = F.cross_entropy(compiled(Tensor(X)), Tensor(Y))
            loss.backward()
            opt.step()
        assert loss.item() < first.item()

    def test_never_stale(self):
        model = _model()
        compiled = lucid_fx.compile(model)
        x = Tensor(X)
        compiled(x)
        model[1].negative_slope = 0.5
        np.testing.assert_allclose(compiled(x).numpy(), model(x).numpy(), rtol=1e-6)
        model.eval()
        np.testing.assert_allclose(compiled(x).numpy(), model(x).numpy(), rtol=1e-6)
        setattr(model, "1", nn.ReLU())  # replace a sub-module
        np.testing.assert_allclose(compiled(x).numpy(), model(x).numpy(), rtol=1e-6)
        model = _model(seed=3)
        compiled = lucid_fx.compile(model)
        compiled(x)
        model.load_state_dict(_model(seed=4).state_dict())
        np.testing.assert_allclose(compiled(x).numpy(), model(x).numpy(), rtol=1e-6)
        model[0].weight = nn.Parameter(np.zeros((6, 4), np.float32))
        np.testing.assert_allclose(compiled(x).numpy(), model(x).numpy(), rtol=1e-6)

    def test_arrays_in_arrays_out_and_never_stale(self):
        model = _model()
        compiled = lucid_fx.compile(model)
        out = compiled(X)
        assert isinstance(out, jax.Array)
        np.testing.assert_allclose(out, model(Tensor(X)).numpy(), rtol=1e-6)
        model[1].negative_slope = 2.0
        np.testing.assert_allclose(compiled(X), model(Tensor(X)).numpy(), rtol=1e-6)

    def test_value_dependent_control_flow_falls_back_with_one_warning(self):
        class Branchy(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 3)

            def forward(self, x):
                h = self.fc(x)
                return h * 2.0 if (h.sum() > 0).item() else h

        model = Branchy()
        compiled = lucid_fx.compile(model)
        with pytest.warns(RuntimeWarning, match="Falling back to the eager path"):
            out = compiled(Tensor(X))
        np.testing.assert_allclose(out.numpy(), model(Tensor(X)).numpy())
        compiled(Tensor(X))  # no second warning (filterwarnings=error)

    def test_fallback_says_the_first_call_ran_the_python_twice(self):
        # As documented: the falling-back call ran the body up to the failing
        # line while tracing, then eagerly; later calls run it once.
        seen = []

        def step(x):
            seen.append(1)  # a side effect before the data-dependent branch
            return x * 2.0 if (x.sum() > 0).item() else x

        compiled = lucid_fx.compile(step)
        with pytest.warns(RuntimeWarning, match="once while tracing, then the whole"):
            compiled(Tensor(X))
        assert len(seen) == 2
        compiled(Tensor(X))
        assert len(seen) == 3


class TestCompiledStep:
    def test_matches_eager_training(self):
        eager_model, model = _model(), _model()
        eager_opt = optim.SGD(eager_model.parameters(), lr=0.1, momentum=0.9)
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        step = lucid_fx.compile(_eager_step)
        for _ in range(5):
            want = _eager_step(eager_model, eager_opt, Tensor(X), Tensor(Y))
            got = step(model, opt, Tensor(X), Tensor(Y))
            np.testing.assert_allclose(got.item(), want.item(), rtol=1e-5)
        for (k, p), q in zip(
            model.named_parameters(), eager_model.parameters(), strict=True
        ):
            np.testing.assert_allclose(
                p.numpy(), q.numpy(), rtol=1e-5, atol=1e-6, err_msg=k
            )
            np.testing.assert_allclose(
                p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-6, err_msg=k
            )

    def test_traces_at_most_twice_for_a_fixed_signature(self):
        traced = []

        def step(model, opt, x, y):
            traced.append(1)
            return _eager_step(model, opt, x, y)

        model = _model()
        opt = optim.Adam(model.parameters(), lr=0.01)
        compiled = lucid_fx.compile(step)
        for _ in range(6):
            compiled(model, opt, Tensor(X), Tensor(Y))
        # once with no grads yet, once with grads from the previous step
        assert len(traced) == 2

    def test_never_stale_lr_slope_mode_and_state_dict(self):
        model, reference_model = _model(), _model()
        opt = optim.SGD(model.parameters(), lr=0.1)
        ref_opt = optim.SGD(reference_model.parameters(), lr=0.1)
        step = lucid_fx.compile(_eager_step)
        changes = [
            lambda m, o: setattr(o, "lr", 0.5),
            lambda m, o: setattr(m[1], "negative_slope", 0.3),
            lambda m, o: m.eval(),
            lambda m, o: m.load_state_dict(_model(seed=9).state_dict()),
            lambda m, o: setattr(m, "1", nn.ReLU()),
        ]
        for change in changes:
            change(model, opt)
            change(reference_model, ref_opt)
            got = step(model, opt, Tensor(X), Tensor(Y)).item()
            want = _eager_step(reference_model, ref_opt, Tensor(X), Tensor(Y)).item()
            np.testing.assert_allclose(got, want, rtol=1e-5)

    def test_closure_captured_model_is_an_error(self):
        model = _model()
        opt = optim.SGD(model.parameters(), lr=0.1)

        @lucid_fx.compile
        def step(x, y):
            return _eager_step(model, opt, x, y)

        before = copy.deepcopy({k: v.numpy() for k, v in model.state_dict().items()})
        with pytest.raises(RuntimeError, match="Pass it as an argument"):
            step(Tensor(X), Tensor(Y))
        for k, p in model.named_parameters():
            np.testing.assert_array_equal(p.numpy(), before[k])
            assert p.grad is None

    def test_learning_rate_stays_a_python_float(self):
        model = _model()
        opt = optim.SGD(model.parameters(), lr=0.1)
        lucid_fx.compile(_eager_step)(model, opt, Tensor(X), Tensor(Y))
        assert type(opt.lr) is float and opt.lr == 0.1

    def test_state_dict_copies_survive_donation(self):
        model = _model()
        opt = optim.SGD(model.parameters(), lr=0.1)
        step = lucid_fx.compile(_eager_step)
        saved = model.state_dict()
        step(model, opt, Tensor(X), Tensor(Y))
        assert saved["0.weight"].numpy().shape == (6, 4)

    def test_old_parameter_grad_and_state_buffers_are_donated(self):
        # Memory is not doubled: every array the step writes lives in a buffer
        # of the state it replaced (XLA wrote in place into the donated ones).
        model = _model()
        opt = optim.Adam(model.parameters(), lr=0.1)
        step = lucid_fx.compile(_eager_step)
        step(model, opt, Tensor(X), Tensor(Y))
        before = _pointers(model, opt)
        x = Tensor(X)
        step(model, opt, x, Tensor(Y))
        after = _pointers(model, opt)
        assert len(after) == len(before) and set(after) <= set(before)
        assert not x.data.is_deleted()  # inputs are only read

    def test_a_grad_held_across_steps_keeps_its_values(self):
        # The write-back reuses a grad Tensor that nothing else holds; one the
        # user kept (``g = p.grad``) is neither donated nor changed.
        eager_model, model = _model(), _model()
        eager_opt = optim.SGD(eager_model.parameters(), lr=0.1, momentum=0.9)
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        step = lucid_fx.compile(_eager_step)
        held, want = [], []
        for i in range(4):
            _eager_step(eager_model, eager_opt, Tensor(X), Tensor(Y))
            step(model, opt, Tensor(X), Tensor(Y))
            eager_w = eager_model[0].weight.grad.numpy().copy()
            np.testing.assert_allclose(
                model[0].weight.grad.numpy(), eager_w, rtol=1e-5, atol=1e-7
            )
            if i % 2 == 0:  # hold this step's grad Tensor
                held.append(model[0].weight.grad)
                want.append(eager_w)
        assert held[0] is not model[0].weight.grad
        for g, w in zip(held, want, strict=True):
            np.testing.assert_allclose(g.numpy(), w, rtol=1e-5, atol=1e-7)
        # A grad known only by a weak reference dies at the next step, as eager.
        ref = weakref.ref(model[0].weight.grad)
        step(model, opt, Tensor(X), Tensor(Y))
        assert ref() is None

    def test_zero_grad_last_matches_eager_and_keeps_no_grads(self):
        def step(model, opt, x, y):
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss

        eager_model, model = _model(), _model()
        eager_opt = optim.SGD(eager_model.parameters(), lr=0.1, momentum=0.9)
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        compiled = lucid_fx.compile(step)
        for _ in range(4):
            want = step(eager_model, eager_opt, Tensor(X), Tensor(Y)).item()
            got = compiled(model, opt, Tensor(X), Tensor(Y)).item()
            np.testing.assert_allclose(got, want, rtol=1e-5)
        for p, q in zip(model.parameters(), eager_model.parameters(), strict=True):
            np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-5, atol=1e-6)
            assert p.grad is None and q.grad is None
        # Gradients left by an earlier step are donated and freed, with no
        # "donated buffers were not usable" warning (an error in this suite).
        F.cross_entropy(model(Tensor(X)), Tensor(Y)).backward()
        grads = {g.data.unsafe_buffer_pointer() for g in _all_grads(model)}
        compiled(model, opt, Tensor(X), Tensor(Y))
        assert all(p.grad is None for p in model.parameters())
        # The dropped gradients' buffers were handed to XLA and reused.
        assert grads & set(_pointers(model, opt))

    def test_bad_targets_and_arguments(self):
        with pytest.raises(TypeError, match="expected an nn.Module or a callable"):
            lucid_fx.compile(42)
        step = lucid_fx.compile(_eager_step)
        model = _model()
        opt = optim.SGD(model.parameters(), lr=0.1)
        with pytest.raises(TypeError, match="raw numpy.ndarray .* wrap it as Tensor"):
            step(model, opt, X, Tensor(Y))
        with pytest.raises(TypeError, match="raw torch.Tensor .* wrap it as Tensor"):
            step(model, opt, torch.from_numpy(X), Tensor(Y))
        with pytest.raises(TypeError, match="cannot pass a set"):
            lucid_fx.compile(lambda v: v)({1, 2})


def test_compiled_module_forward_traces_once_per_signature():
    model = _model()
    compiled = lucid_fx.compile(model)

    @chex.assert_max_traces(n=1)
    def forward(self, x):
        return nn.Sequential.forward(self, x)

    model.forward = forward.__get__(model)
    for _ in range(3):
        compiled(Tensor(X, requires_grad=True)).sum().backward()
    chex.clear_trace_counter()


def test_a_step_returning_a_parameter_or_its_input_returns_their_values_now():
    # Not the values they had when the program was traced (a constant then).
    def step(model, opt, x, y):
        loss = _eager_step(model, opt, x, y)
        return loss, model[0].bias, x

    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    compiled = lucid_fx.compile(step)
    for k in range(3):
        x = Tensor(X + k)
        _, bias, same_x = compiled(model, opt, x, Tensor(Y))
        np.testing.assert_array_equal(bias.numpy(), model[0].bias.numpy())
        np.testing.assert_array_equal(same_x.numpy(), X + k)


def test_a_step_returning_python_values_returns_them_as_eager_does():
    def step(model, opt, x, y, epoch):
        loss = _eager_step(model, opt, x, y)
        return {"loss": loss, "phase": "train", "n": 2, "ratio": 0.5, "epoch": epoch}

    results = []
    for compiled in (False, True):
        model = _model()
        opt = optim.SGD(model.parameters(), lr=0.1)
        run = lucid_fx.compile(step) if compiled else step
        results.append([run(model, opt, Tensor(X), Tensor(Y), e) for e in range(3)])
    for eager, ours in zip(*results, strict=True):
        assert (ours["phase"], ours["n"], ours["ratio"]) == ("train", 2, 0.5)
        assert type(ours["n"]) is int and type(ours["ratio"]) is float
        assert isinstance(ours["loss"], Tensor)
        np.testing.assert_allclose(ours["loss"].item(), eager["loss"].item(), rtol=1e-5)
        # a traced number argument comes back as the traced value of this call
        assert int(ours["epoch"]) == eager["epoch"]
