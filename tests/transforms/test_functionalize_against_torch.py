"""functionalize under jax.grad against eager lucid_fx and PyTorch: BatchNorm's
new buffers when the buffers are closed over, and weight-tied models."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import lucid_fx
import lucid_fx.nn as nn
from lucid_fx import Tensor, random

RTOL, ATOL = 1e-4, 1e-5
RNG = np.random.default_rng(4)


def _bn1d(torch_mode=False):
    lib = torch.nn if torch_mode else nn
    return lib.Sequential(lib.Linear(3, 5), lib.BatchNorm1d(5), lib.Linear(5, 2))


def _bn1d_cumulative(torch_mode=False):
    lib = torch.nn if torch_mode else nn
    return lib.Sequential(lib.Linear(3, 5), lib.BatchNorm1d(5, momentum=None))


def _bn2d(torch_mode=False):
    lib = torch.nn if torch_mode else nn
    return lib.Sequential(lib.Conv2d(2, 3, 3), lib.BatchNorm2d(3))


MODELS = {
    "bn1d": (_bn1d, (6, 3)),
    "bn1d_momentum_none": (_bn1d_cumulative, (6, 3)),
    "bn2d": (_bn2d, (4, 2, 5, 5)),
}


def _grad(loss):
    return lambda params: jax.grad(loss, has_aux=True)(params)


def _jit_value_and_grad(loss):
    value_and_grad = jax.jit(jax.value_and_grad(loss, has_aux=True))

    def run(params):
        (_, new_buffers), grads = value_and_grad(params)
        return grads, new_buffers

    return run


TRANSFORMS = {"grad": _grad, "jit_value_and_grad": _jit_value_and_grad}


def _torch_copy(build, model):
    twin = build(torch_mode=True).double()
    state = {k: torch.tensor(np.asarray(v)) for k, v in model.state_dict().items()}
    twin.load_state_dict(state)
    return twin


def _state_of(model):
    return {k: np.array(v.data) for k, v in model.state_dict(keep_vars=True).items()}


@pytest.mark.parametrize("transform", list(TRANSFORMS))
@pytest.mark.parametrize("model_name", list(MODELS))
def test_closed_over_buffers_are_updated_as_eager_and_pytorch(model_name, transform):
    build, shape = MODELS[model_name]
    random.seed(2)
    model = build()
    x = RNG.normal(size=shape).astype(np.float32)
    twin = _torch_copy(build, model)
    before = _state_of(model)
    apply, state = lucid_fx.functionalize(model)
    trainable = dict(model.named_parameters())
    params = {k: v for k, v in state.items() if k in trainable}
    buffers = {k: v for k, v in state.items() if k not in trainable}

    def loss(params):  # the buffers are closed over: concrete in the trace
        out, new_buffers = apply({**params, **buffers}, x)
        return (out**2).mean(), new_buffers

    grads, new_buffers = TRANSFORMS[transform](loss)(params)

    for name, tensor in model.state_dict(keep_vars=True).items():
        assert not isinstance(tensor.data, jax.core.Tracer), name
        np.testing.assert_array_equal(np.asarray(tensor.data), before[name])
    assert sorted(new_buffers) == sorted(buffers)
    (model(Tensor(x)) ** 2).mean().backward()
    (twin(torch.tensor(x, dtype=torch.float64)) ** 2).mean().backward()
    eager, theirs = model.state_dict(), twin.state_dict()
    for name, value in new_buffers.items():
        assert not isinstance(value, jax.core.Tracer), name
        np.testing.assert_allclose(value, eager[name].numpy(), rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(value, theirs[name].numpy(), rtol=RTOL, atol=ATOL)
    for name, p in twin.named_parameters():
        np.testing.assert_allclose(grads[name], p.grad.numpy(), rtol=RTOL, atol=ATOL)


def test_a_plain_jit_of_the_live_module_still_leaves_its_buffers_concrete():
    # The guard functionalize lifts for its own buffers still holds elsewhere:
    # a module called inside a functionalized apply, but not part of it.
    outside = nn.BatchNorm1d(2)

    class Uses(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm1d(2)

        def forward(self, x):
            return self.bn(x) + outside(x)

    model = Uses()
    apply, state = lucid_fx.functionalize(model)
    x = jnp.array([[1.0, 2.0], [3.0, 5.0]])
    _, new_buffers = jax.jit(apply)(state, x)
    assert int(new_buffers["bn.num_batches_tracked"]) == 1
    np.testing.assert_allclose(new_buffers["bn.running_mean"], [0.2, 0.35])
    assert not isinstance(outside.running_mean.data, jax.core.Tracer)
    assert not isinstance(outside.num_batches_tracked.data, jax.core.Tracer)
    np.testing.assert_array_equal(outside.running_mean.numpy(), [0.0, 0.0])


class _Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 3)
        self.b = nn.Linear(3, 3)
        self.b.weight = self.a.weight
        self.act = nn.Tanh()

    def forward(self, x):
        return self.b(self.act(self.a(x)))


class _TorchTied(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(3, 3)
        self.b = torch.nn.Linear(3, 3)
        self.b.weight = self.a.weight

    def forward(self, x):
        return self.b(self.a(x).tanh())


def _tied_pair():
    random.seed(5)
    model, twin = _Tied(), _TorchTied().double()
    twin.load_state_dict(
        {k: torch.tensor(np.asarray(v)) for k, v in model.state_dict().items()}
    )
    return model, twin


def test_a_tied_weight_is_one_leaf_whose_grad_sums_both_uses_as_pytorch():
    model, twin = _tied_pair()
    x = RNG.normal(size=(4, 3)).astype(np.float32)
    apply, params = lucid_fx.functionalize(model)
    assert sorted(params) == ["a.bias", "a.weight", "b.bias"]
    grads = jax.grad(lambda p: (apply(p, x) ** 2).sum())(params)
    (twin(torch.tensor(x, dtype=torch.float64)) ** 2).sum().backward()
    for name, p in twin.named_parameters():  # PyTorch also lists it once
        np.testing.assert_allclose(grads[name], p.grad.numpy(), rtol=RTOL, atol=ATOL)


def test_a_tied_model_takes_back_its_params_with_strict_false_as_pytorch():
    model, twin = _tied_pair()
    apply, params = lucid_fx.functionalize(model)
    new = {k: v + 1.0 for k, v in params.items()}
    # Strict loading needs every state_dict() name, aliases too, in both.
    with pytest.raises(ValueError, match="missing key 'b.weight'"):
        model.load_state_dict(new)
    with pytest.raises(RuntimeError, match='Missing key.*"b.weight"'):
        twin.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in new.items()})
    result = model.load_state_dict(new, strict=False)
    theirs = twin.load_state_dict(
        {k: torch.tensor(np.asarray(v)) for k, v in new.items()}, strict=False
    )
    assert result.missing_keys == theirs.missing_keys == ["b.weight"]
    assert result.unexpected_keys == theirs.unexpected_keys == []
    assert model.b.weight is model.a.weight
    for name, value in model.state_dict().items():
        alias = "a.weight" if name == "b.weight" else name
        np.testing.assert_array_equal(value.numpy(), new[alias])
        np.testing.assert_allclose(value.numpy(), twin.state_dict()[name].numpy())
    x = jnp.ones((2, 3))
    np.testing.assert_allclose(apply(new, x), model(Tensor(x)).numpy(), rtol=1e-6)
