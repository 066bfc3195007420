"""Cross-device behaviour; run by test_devices.py with 4 simulated CPU devices."""

import jax
import numpy as np
import pytest

import lucid_fx
import lucid_fx.nn as nn
from lucid_fx import Tensor, optim
from tests.helpers import train_step


@pytest.fixture(autouse=True)
def _four_devices():
    assert len(jax.devices("cpu")) == 4


def _on(device_index):
    return jax.devices("cpu")[device_index]


def test_ops_across_devices_raise_naming_both():
    a = Tensor([1.0, 2.0], device="cpu:0")
    b = Tensor([1.0, 2.0], device="cpu:1")
    with pytest.raises(RuntimeError, match="different devices, cpu:0 and cpu:1"):
        a + b
    assert (a + a).device == _on(0)


def test_module_to_device_and_input_mismatch():
    model = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.1)).to("cpu:2")
    assert all(p.device == _on(2) for p in model.parameters())
    with pytest.raises(RuntimeError, match="cpu:0 and cpu:2|cpu:2 and cpu:0"):
        model(Tensor(np.ones((1, 3), np.float32), device="cpu:0"))
    out = model(Tensor(np.ones((1, 3), np.float32), device="cpu:2"))
    assert out.device == _on(2)
    out.sum().backward()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    assert model.cpu() is model  # PyTorch's Module.cpu: to("cpu"), in place
    for p in model.parameters():
        assert p.device == _on(0) and p.grad.device == _on(0)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])


def test_grads_optimizer_state_and_compiled_steps_stay_on_the_device():
    model = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.1), nn.Linear(4, 2))
    model.to("cpu:3")
    opt = optim.Adam(model.parameters(), lr=0.01)
    x = Tensor(np.ones((5, 3), np.float32), device="cpu:3")
    y = Tensor(np.zeros(5, np.int32), device="cpu:3")

    step = lucid_fx.compile(train_step)

    for _ in range(2):
        loss = step(model, opt, x, y)
    assert loss.device == _on(3)
    for p in model.parameters():
        assert p.device == _on(3) and p.grad.device == _on(3)
    for leaf in jax.tree.leaves(opt.state):
        assert leaf.devices() == {_on(3)}
    compiled = lucid_fx.compile(model)
    assert compiled(x).device == _on(3)
    apply, params = lucid_fx.functionalize(model)
    assert all(v.devices() == {_on(3)} for v in params.values())
    assert jax.jit(apply)(params, x.data).devices() == {_on(3)}


def test_tensor_to_moves_and_backward_comes_home():
    x = Tensor([1.0, -2.0], requires_grad=True, device="cpu:0")
    y = x.to("cpu:1")
    assert y.device == _on(1)
    (y * 2.0).sum().backward()
    assert x.grad.device == _on(0)
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_load_state_dict_places_values_on_each_parameter_device(tmp_path):
    model = nn.Linear(2, 2).to("cpu:1")
    lucid_fx.save(model, tmp_path / "m.safetensors")
    model.load_state_dict(lucid_fx.load(tmp_path / "m.safetensors"))
    assert model.weight.device == _on(1) and model.bias.device == _on(1)
