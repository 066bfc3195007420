"""Module API as PyTorch: registration, traversal, containers, state_dict forms."""

from collections import OrderedDict

import numpy as np
import pytest
import torch

import lucid_fx.nn as nn
from lucid_fx import Tensor


def _pair(build):
    """The same architecture built with lucid_fx.nn and with torch.nn."""
    return build(nn), build(torch.nn)


def _shared(lib):
    block = lib.Linear(2, 2)
    return lib.Sequential(block, lib.ReLU(), block)


def test_shared_module_counts_once_in_modules_and_twice_in_state_dict():
    ours, theirs = _pair(_shared)
    assert len(list(ours.modules())) == len(list(theirs.modules())) == 3
    assert [n for n, _ in ours.named_modules()] == [
        n for n, _ in theirs.named_modules()
    ]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert len(list(ours.parameters())) == len(list(theirs.parameters())) == 2


def test_shared_module_state_dict_from_pytorch_loads():
    ours, theirs = _pair(_shared)
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)
    np.testing.assert_array_equal(ours[0].weight.numpy(), state["0.weight"])
    assert ours[0] is ours[2]


def test_state_dict_destination_prefix_keep_vars():
    layer = nn.Linear(2, 1)
    dest = OrderedDict()
    out = layer.state_dict(dest, "enc.", keep_vars=True)
    assert out is dest and list(out) == ["enc.weight", "enc.bias"]
    assert out["enc.weight"] is layer.weight
    copy = layer.state_dict()["weight"]
    assert copy is not layer.weight and isinstance(copy, Tensor)


def test_state_dict_order_matches_pytorch_with_buffers_and_children():
    def build(lib):
        return lib.Sequential(
            lib.Conv2d(1, 2, 3), lib.BatchNorm2d(2), lib.Flatten(), lib.Linear(2, 1)
        )

    ours, theirs = _pair(build)
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_sequential_from_ordered_dict_matches_pytorch_keys_and_slicing():
    def build(lib):
        return lib.Sequential(
            OrderedDict([("fc", lib.Linear(3, 2)), ("act", lib.Tanh())])
        )

    ours, theirs = _pair(build)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert isinstance(ours[:1], nn.Sequential) and list(ours[:1].state_dict()) == [
        "fc.weight",
        "fc.bias",
    ]
    assert isinstance(ours[-1], nn.Tanh)


def test_module_list_and_dict_register_parameters():
    def build(lib):
        m = lib.Module()
        m.blocks = lib.ModuleList([lib.Linear(2, 2), lib.Linear(2, 2)])
        m.heads = lib.ModuleDict({"a": lib.Linear(2, 1)})
        return m

    ours, theirs = _pair(build)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.blocks.insert(0, nn.ReLU())
    del ours.blocks[1]
    assert [type(b).__name__ for b in ours.blocks] == ["ReLU", "Linear"]
    assert [k for k in ours.state_dict()] == [
        "blocks.1.weight",
        "blocks.1.bias",
        "heads.a.weight",
        "heads.a.bias",
    ]
    ours.heads["b"] = nn.Identity()
    assert list(ours.heads.keys()) == ["a", "b"] and "b" in ours.heads
    with pytest.raises(KeyError, match="no module named 'z'"):
        ours.heads["z"]
    with pytest.raises(TypeError, match="ModuleList: module must be a Module"):
        ours.blocks.append(3)


def test_add_module_register_parameter_and_apply():
    m = nn.Module()
    m.add_module("fc", nn.Linear(1, 1))
    m.register_parameter("scale", nn.Parameter(Tensor([2.0])))
    m.register_parameter("unused", None)
    assert list(m.state_dict()) == ["scale", "fc.weight", "fc.bias"]
    names = []
    m.apply(lambda mod: names.append(type(mod).__name__))
    assert names == ["Linear", "Module"]


@pytest.mark.parametrize(
    "call,error,phrase",
    [
        (lambda m: m.add_module("a.b", nn.ReLU()), KeyError, "without dots"),
        (lambda m: m.add_module("x", 3), TypeError, "expected a Module or None"),
        (lambda m: m.register_parameter("w", Tensor([1.0])), TypeError, "Parameter"),
        (lambda m: m.register_parameter("fc", None), KeyError, "already exists"),
        (lambda m: m.add_module(1, nn.ReLU()), TypeError, "name must be a string"),
    ],
)
def test_registration_errors(call, error, phrase):
    m = nn.Module()
    m.fc = nn.Linear(1, 1)
    before = list(m.state_dict())
    with pytest.raises(error, match=phrase):
        call(m)
    assert list(m.state_dict()) == before


def test_identity_accepts_and_ignores_arguments():
    x = Tensor([1.0, 2.0])
    assert nn.Identity(54, unused_argument1=0.1)(x) is x


def test_relu_inplace_modifies_the_tensor():
    t = Tensor([-1.0, 2.0])
    assert nn.ReLU(inplace=True)(t) is t
    assert t.tolist() == [0.0, 2.0]
    with pytest.raises(TypeError, match="ReLU: inplace"):
        nn.ReLU(inplace=1)


def test_plain_jit_of_a_batchnorm_module_leaves_its_buffers_concrete():
    import jax
    import jax.numpy as jnp

    bn = nn.BatchNorm1d(2)
    out = jax.jit(lambda x: bn(x))(jnp.array([[1.0, 2.0], [3.0, 5.0]]))
    np.testing.assert_allclose(np.asarray(out)[:, 0], [-1.0, 1.0], rtol=1e-4)
    assert not isinstance(bn.running_mean.data, jax.core.Tracer)
    assert not isinstance(bn.num_batches_tracked.data, jax.core.Tracer)
    bn(Tensor([[1.0, 2.0], [3.0, 5.0]]))  # eager use afterwards still works
    assert bn.num_batches_tracked.item() == 1
