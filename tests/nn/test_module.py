"""nn.Module, Parameter, Linear, activations, Sequential and state dicts."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lucid_fx
import lucid_fx.nn as nn
from lucid_fx import Tensor
from lucid_fx.functional import leaky_relu
from tests import reference


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.act = nn.LeakyReLU(0.125)
        self.fc2 = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def _bits(module):
    return {k: v.numpy().view(np.uint32).copy() for k, v in module.state_dict().items()}


def _assert_unchanged(module, before):
    after = _bits(module)
    assert after.keys() == before.keys()
    for k in before:
        np.testing.assert_array_equal(after[k], before[k])


class TestRegistration:
    def test_named_parameters_in_registration_order(self):
        names = [n for n, _ in Net().named_parameters()]
        assert names == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]

    def test_children_and_modules(self):
        net = Net()
        assert [type(m).__name__ for m in net.children()] == [
            "Linear",
            "LeakyReLU",
            "Linear",
        ]
        assert len(list(net.modules())) == 4

    def test_shared_parameter_listed_once(self):
        net = Net()
        net.fc2.weight = net.fc1.weight
        assert len(list(net.parameters())) == 3

    def test_assigning_array_over_parameter_raises_and_keeps_it(self):
        net = Net()
        before = _bits(net)
        with pytest.raises(TypeError, match="'weight', which is a Parameter"):
            net.fc1.weight = jnp.ones((4, 3))
        assert isinstance(net.fc1.weight, nn.Parameter)
        _assert_unchanged(net, before)

    def test_assigning_before_init_raises(self):
        class Broken(nn.Module):
            def __init__(self):
                self.fc = nn.Linear(1, 1)

        with pytest.raises(RuntimeError, match="super\\(\\).__init__\\(\\)"):
            Broken()

    def test_train_eval(self):
        net = Net().eval()
        assert not any(m.training for m in net.modules())
        net.train()
        assert all(m.training for m in net.modules())

    def test_repr(self):
        assert repr(Net()) == (
            "Net(\n"
            "  (fc1): Linear(in_features=3, out_features=4, bias=True)\n"
            "  (act): LeakyReLU(negative_slope=0.125)\n"
            "  (fc2): Linear(in_features=4, out_features=2, bias=True)\n"
            ")"
        )


class TestLinear:
    def test_shapes_and_pytorch_init_bounds(self):
        layer = nn.Linear(16, 5)
        assert layer.weight.shape == (5, 16) and layer.bias.shape == (5,)
        bound = 1 / np.sqrt(16)
        assert np.abs(layer.weight.numpy()).max() <= bound
        assert np.abs(layer.bias.numpy()).max() <= bound
        assert nn.Linear(2, 3, bias=False).bias is None

    def test_forward_matches_reference(self):
        # float32 against float64: an output near 0 (cancellation) needs atol;
        # seeded so the weights do not depend on the tests run before.
        lucid_fx.random.seed(3)
        layer = nn.Linear(3, 2)
        x = np.array([[0.5, -1.2, 3.3], [1.0, 0.0, -2.0]], np.float32)
        w, b = layer.weight.numpy(), layer.bias.numpy()
        out = layer(Tensor(x))
        np.testing.assert_allclose(
            out.numpy(), reference.linear(x, w, b), rtol=1e-6, atol=1e-6
        )

    def test_seed_makes_init_reproducible(self):
        lucid_fx.random.seed(7)
        a = nn.Linear(3, 3).weight.numpy()
        lucid_fx.random.seed(7)
        np.testing.assert_array_equal(a, nn.Linear(3, 3).weight.numpy())

    @pytest.mark.parametrize(
        "bad,error", [(2.5, TypeError), (-1, ValueError), (True, TypeError)]
    )
    def test_bad_features(self, bad, error):
        with pytest.raises(error, match="in_features"):
            nn.Linear(bad, 2)

    def test_wrong_input_width_names_in_features(self):
        with pytest.raises(ValueError, match="in_features=3"):
            nn.Linear(3, 2)(Tensor(np.ones((1, 4), np.float32)))


class TestLeakyReLUModule:
    def test_holds_config_and_setter_validates(self):
        act = nn.LeakyReLU()
        assert act.config == lucid_fx.layers.LeakyReLU(0.01)
        act.negative_slope = 0.5
        np.testing.assert_array_equal(act(Tensor([-2.0])).numpy(), [-1.0])
        with pytest.raises(TypeError, match="negative_slope"):
            act.negative_slope = "big"
        assert act.negative_slope == 0.5
        assert repr(act) == "LeakyReLU(negative_slope=0.5)"

    def test_relu_and_identity(self):
        x = Tensor([-np.inf, -1.0, 0.0, 2.0])
        assert nn.ReLU()(x).tolist() == [0.0, 0.0, 0.0, 2.0]
        assert not np.signbit(nn.ReLU()(x).numpy()).any()
        assert nn.Identity()(x) is x


class TestSequential:
    def test_chains_and_indexes(self):
        model = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.25), nn.Linear(4, 1))
        assert len(model) == 3 and isinstance(model[1], nn.LeakyReLU)
        x = np.ones((2, 3), np.float32)
        manual = model[2](model[1](model[0](Tensor(x))))
        np.testing.assert_array_equal(model(Tensor(x)).numpy(), manual.numpy())

    def test_rejects_non_modules(self):
        with pytest.raises(TypeError, match="argument 1 must be a Module"):
            nn.Sequential(nn.Linear(1, 1), lambda x: x)


class TestPureCalls:
    def test_module_on_arrays_is_pure_and_jittable(self):
        net = Net()
        x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
        eager = net(Tensor(x)).numpy()
        jitted = jax.jit(net)(jnp.asarray(x))
        assert isinstance(jitted, jax.Array)
        np.testing.assert_allclose(jitted, eager, rtol=1e-6)
        per_example = jax.vmap(net)(jnp.asarray(x))
        np.testing.assert_allclose(per_example, eager, rtol=1e-6)
        assert all(p.grad is None for p in net.parameters())


def test_eager_gradients_match_jax_grad_of_pure_function():
    net = Net()
    x = np.random.default_rng(1).normal(size=(6, 3)).astype(np.float32)
    loss = (net(Tensor(x)) ** 2.0).mean()
    loss.backward()
    params = {k: v.data for k, v in net.state_dict().items()}

    def pure(p):
        h = x @ p["fc1.weight"].T + p["fc1.bias"]
        h = leaky_relu(h, 0.125)
        return ((h @ p["fc2.weight"].T + p["fc2.bias"]) ** 2).mean()

    grads = jax.grad(pure)(params)
    for name, param in net.named_parameters():
        np.testing.assert_allclose(
            param.grad.numpy(), grads[name], rtol=1e-6, atol=1e-7
        )


class TestStateDict:
    def test_round_trip_and_snapshot(self):
        net, other = Net(), Net()
        sd = net.state_dict()
        other.load_state_dict(sd)
        _assert_unchanged(other, _bits(net))
        net.fc1.weight.data = net.fc1.weight.data + 1.0
        assert not np.array_equal(sd["fc1.weight"].numpy(), net.fc1.weight.numpy())

    def test_pytorch_layout_numpy_state_dict_loads(self):
        # What torch.nn.Linear(3, 4).state_dict() gives after .numpy(): float32,
        # weight (out, in), bias (out,).
        rng = np.random.default_rng(0)
        torch_sd = {
            "weight": rng.normal(size=(4, 3)).astype(np.float32),
            "bias": rng.normal(size=4).astype(np.float32),
        }
        layer = nn.Linear(3, 4)
        layer.load_state_dict(torch_sd)
        x = rng.normal(size=(2, 3)).astype(np.float32)
        np.testing.assert_allclose(
            layer(Tensor(x)).numpy(), reference.linear(x, **torch_sd), rtol=1e-6
        )

    def test_float64_values_are_cast(self):
        layer = nn.Linear(2, 1)
        layer.load_state_dict({"weight": np.ones((1, 2)), "bias": np.zeros(1)})
        assert layer.weight.dtype == jnp.float32

    def test_every_problem_in_one_error_and_nothing_changed(self):
        net = Net()
        before = _bits(net)
        bad = {k: v.numpy() for k, v in net.state_dict().items()}
        bad["fc1.weight"] = np.zeros((9, 9), np.float32)
        del bad["fc2.bias"]
        bad["extra"] = np.zeros(1, np.float32)
        bad["fc1.bias"] = np.zeros(4, np.float32)  # valid: must not be written
        with pytest.raises(ValueError) as info:
            net.load_state_dict(bad)
        message = str(info.value)
        for phrase in (
            "'fc1.weight'",
            "missing key 'fc2.bias'",
            "unexpected key 'extra'",
            "not changed",
        ):
            assert phrase in message
        _assert_unchanged(net, before)

    @pytest.mark.parametrize(
        "value", [np.ones((4, 3), np.int32), np.ones((4, 3), np.complex64), "weights"]
    )
    def test_wrong_kinds_raise_type_error(self, value):
        net = Net()
        before = _bits(net)
        sd = {k: v.numpy() for k, v in net.state_dict().items()}
        sd["fc1.weight"] = value
        with pytest.raises(TypeError, match="'fc1.weight'"):
            net.load_state_dict(sd)
        _assert_unchanged(net, before)

    def test_non_strict_returns_missing_and_unexpected(self):
        net = Net()
        sd = {"fc1.bias": np.full(4, 2.0, np.float32), "other": np.ones(1)}
        result = net.load_state_dict(sd, strict=False)
        assert result.missing_keys == ["fc1.weight", "fc2.weight", "fc2.bias"]
        assert result.unexpected_keys == ["other"]
        assert net.fc1.bias.tolist() == [2.0] * 4


def test_buffers_are_state_but_not_parameters():
    import numpy as np

    m = nn.Linear(2, 1)
    m.register_buffer("count", Tensor(np.array([3.0], np.float32)))
    m.register_buffer("scratch", Tensor(np.zeros(2, np.float32)), persistent=False)
    assert [k for k, _ in m.named_parameters()] == ["weight", "bias"]
    assert [k for k, _ in m.named_buffers()] == ["count", "scratch"]
    assert list(m.state_dict()) == ["weight", "bias", "count"]
    sd = {k: v.numpy() for k, v in m.state_dict().items()}
    sd["count"] = np.array([7.0], np.float32)
    m.load_state_dict(sd)
    assert m.count.tolist() == [7.0]
    with pytest.raises(TypeError, match="'count', which is a buffer"):
        m.count = [1.0]
    with pytest.raises(KeyError, match="'weight' already exists"):
        m.register_buffer("weight", None)
