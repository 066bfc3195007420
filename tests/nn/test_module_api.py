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


def _copy_into_torch(ours, theirs):
    with torch.no_grad():
        for (_, p), (_, q) in zip(
            ours.named_parameters(), theirs.named_parameters(), strict=True
        ):
            q.copy_(torch.from_numpy(np.array(p.numpy())))


@pytest.mark.parametrize(
    "edit",
    [
        lambda s, lib: s.__setitem__(1, lib.Tanh()),
        lambda s, lib: s.__setitem__(-1, lib.Linear(4, 3)),
        lambda s, lib: s.__delitem__(0),
        lambda s, lib: s.__delitem__(slice(0, 2)),
        lambda s, lib: s.__delitem__(-2),
    ],
    ids=["set", "set-negative", "del", "del-slice", "del-negative"],
)
def test_sequential_setitem_delitem_as_pytorch(edit):
    ours = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.1), nn.Linear(4, 4))
    theirs = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.LeakyReLU(0.1), torch.nn.Linear(4, 4)
    )
    edit(ours, nn)
    edit(theirs, torch.nn)
    _copy_into_torch(ours, theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
    x = np.random.default_rng(0).normal(size=(2, 3 if len(ours) == 3 else 4))
    x = x.astype(np.float32)
    if isinstance(ours[0], nn.Linear) and ours[0].in_features != x.shape[1]:
        x = x[:, : ours[0].in_features]
    np.testing.assert_allclose(
        ours(Tensor(x)).numpy(),
        theirs(torch.from_numpy(x)).detach().numpy(),
        rtol=1e-5,
        atol=1e-6,
    )


def test_sequential_bad_index_errors():
    s = nn.Sequential(nn.ReLU(), nn.Tanh())
    with pytest.raises(IndexError, match="index 2 is out of range for 2"):
        s[2] = nn.ReLU()
    with pytest.raises(TypeError, match="indices must be ints"):
        s["0"] = nn.ReLU()
    with pytest.raises(TypeError, match="Sequential"):
        s[0] = "relu"
    assert [type(m).__name__ for m in s] == ["ReLU", "Tanh"]


def test_module_requires_grad_freezes_as_pytorch():
    from lucid_fx import optim

    ours = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    _copy_into_torch(ours, theirs)
    assert ours[0].requires_grad_(False) is ours[0]
    theirs[0].requires_grad_(False)
    opt = optim.SGD(ours.parameters(), lr=0.5)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.5)
    x = np.ones((2, 3), np.float32)
    for _ in range(2):
        opt.zero_grad()
        topt.zero_grad()
        ours(Tensor(x)).sum().backward()
        theirs(torch.from_numpy(x)).sum().backward()
        opt.step()
        topt.step()
    for (k, p), (_, q) in zip(
        ours.named_parameters(), theirs.named_parameters(), strict=True
    ):
        assert p.requires_grad == q.requires_grad, k
        assert (p.grad is None) == (q.grad is None), k
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=1e-6)
    with pytest.raises(TypeError, match="requires_grad_: expected a bool"):
        ours.requires_grad_(1)


def test_tensor_requires_grad_as_pytorch():
    w = Tensor([1.0, 2.0])
    assert w.requires_grad_() is w and w.requires_grad
    y = w * 2.0
    with pytest.raises(RuntimeError, match="only a leaf"):
        y.requires_grad_(False)
    with pytest.raises(RuntimeError):  # PyTorch raises as well
        (torch.ones(2, requires_grad=True) * 2).requires_grad_(False)
    assert y.requires_grad_(True) is y  # already requires grad: fine
    with pytest.raises(TypeError):
        Tensor([1, 2], dtype="int32").requires_grad_()


def test_zero_grad_keeping_tensors_gives_zeros_for_inf_and_nan_as_pytorch():
    ours, theirs = nn.Linear(2, 1), torch.nn.Linear(2, 1)
    bad = np.array([[np.inf, np.nan]], np.float32)
    ours.weight.grad = Tensor(bad)
    theirs.weight.grad = torch.from_numpy(bad.copy())
    ours.zero_grad(set_to_none=False)
    theirs.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(ours.weight.grad.numpy(), theirs.weight.grad.numpy())
    assert ours.weight.grad.dtype == np.float32 and ours.bias.grad is None


def test_layers_take_numpy_int_sizes_as_pytorch():
    ours = nn.Linear(np.int64(5), np.int32(2))
    assert ours.weight.shape == (2, 5) and type(ours.in_features) is int
    norm = nn.LayerNorm(np.int64(5))
    theirs = torch.nn.LayerNorm(np.int64(5))
    assert norm.normalized_shape == tuple(theirs.normalized_shape) == (5,)
    x = np.arange(10, dtype=np.float32).reshape(2, 5)
    np.testing.assert_allclose(
        norm(Tensor(x)).numpy(),
        theirs(torch.from_numpy(x)).detach().numpy(),
        rtol=1e-5,
        atol=1e-5,
    )


def test_an_int64_count_past_int32_is_refused_not_wrapped():
    # PyTorch's num_batches_tracked is int64; here the buffer is int32 (x64
    # off): a value it cannot hold raises, all or nothing.
    ours = nn.BatchNorm1d(2, momentum=None)
    state = torch.nn.BatchNorm1d(2, momentum=None).state_dict()
    state["running_mean"] = torch.tensor([1.0, 2.0])
    state["num_batches_tracked"] = torch.tensor(2**31 + 5)
    with pytest.raises(ValueError, match="num_batches_tracked.*outside the range"):
        ours.load_state_dict(state)
    assert ours.num_batches_tracked.item() == 0
    assert ours.running_mean.tolist() == [0.0, 0.0]
    state["num_batches_tracked"] = torch.tensor(7)
    ours.load_state_dict(state)
    assert ours.num_batches_tracked.item() == 7


def test_sequential_index_errors_name_sequential_and_numpy_ints_work():
    seq = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    assert isinstance(seq[np.int64(1)], nn.ReLU) and isinstance(seq[-2], nn.Linear)
    with pytest.raises(TypeError, match="Sequential: indices must be ints"):
        seq["0"]
    with pytest.raises(IndexError, match="Sequential: index 10 is out of range"):
        seq[10]
