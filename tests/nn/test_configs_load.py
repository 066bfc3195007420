"""Module configs through save/load and load_state_dict(override_configs=True):
every config type round-trips, and a refused value changes nothing."""

import inspect
import json
import struct

import jax.numpy as jnp
import numpy as np
import pytest
import torch

import lucid_fx
import lucid_fx.nn as nn
from lucid_fx import Tensor
from tests.fingerprint import fingerprint

# One non-default value for every configured module in lucid_fx.nn (the test
# below fails when a new one appears, so it is added here).
NON_DEFAULT = {
    "LeakyReLU": 0.25,
    "ELU": 0.5,
    "GELU": "none",
    "Dropout": 0.2,
    "Dropout1d": 0.3,
    "Dropout2d": 0.4,
    "Dropout3d": 0.1,
    "AlphaDropout": 0.15,
}


def _configured_classes():
    return sorted(
        name
        for name, cls in vars(nn).items()
        if inspect.isclass(cls) and issubclass(cls, nn.Module) and cls._config_fields
    )


def _every_kind(values=None):
    """A model holding every configured module (defaults unless ``values``)."""
    layers = [nn.Linear(2, 2)]
    for name in sorted(NON_DEFAULT):
        cls = getattr(nn, name)
        layers.append(cls() if values is None else cls(values[name]))
    return nn.Sequential(*layers)


def _header(path):
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n])["__metadata__"]


def _typed(configs):
    return {k: (type(v), v) for k, v in configs.items()}


def test_every_configured_module_kind_is_covered():
    assert _configured_classes() == sorted(NON_DEFAULT)


def test_every_configured_module_round_trips_through_save_and_load(tmp_path):
    model = _every_kind(NON_DEFAULT)
    path = tmp_path / "every.safetensors"
    lucid_fx.save(model, path)
    # Hand-derived: the sorted class names index the Sequential from 1.
    expected = {
        f"{i}.{getattr(nn, name)._config_fields[0]}": NON_DEFAULT[name]
        for i, name in enumerate(sorted(NON_DEFAULT), start=1)
    }
    loaded = lucid_fx.load(path)
    assert _typed(loaded.configs) == _typed(expected)
    header = _header(path)
    gelu = 1 + sorted(NON_DEFAULT).index("GELU")
    assert header[f"lucid_fx.config.{gelu}.approximate"] == '"none"'
    target = _every_kind()  # defaults everywhere
    with pytest.raises(ValueError, match=rf"'{gelu}.approximate' is 'none' .* 'tanh'"):
        target.load_state_dict(loaded)
    target.load_state_dict(loaded, override_configs=True)
    assert _typed(target.configs()) == _typed(expected)
    same = fingerprint(target), fingerprint(model)  # (..., params, configs, ...)
    assert same[0][2:4] == same[1][2:4] and repr(target) == repr(model)


def test_loaded_gelu_approximation_matches_pytorch(tmp_path):
    # The file's approximate="none" must reach the math: PyTorch's exact GELU.
    path = tmp_path / "gelu.safetensors"
    lucid_fx.save(nn.Sequential(nn.Linear(2, 2), nn.GELU("none")), path)
    target = nn.Sequential(nn.Linear(2, 2), nn.GELU())
    target.load_state_dict(lucid_fx.load(path), override_configs=True)
    x = np.linspace(-3, 3, 8, dtype=np.float32).reshape(4, 2)
    w, b = target[0].weight.numpy(), target[0].bias.numpy()
    want = torch.nn.functional.gelu(torch.from_numpy(x @ w.T + b), approximate="none")
    got = target(Tensor(x)).numpy()
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-6, atol=1e-6)


class _Settings(nn.Module):
    _config_fields = ("flag", "count", "scale", "name")

    def __init__(self, flag=False, count=0, scale=0.0, name=""):
        super().__init__()
        self.flag, self.count, self.scale, self.name = flag, count, scale, name


def test_bool_int_float_and_str_configs_keep_their_type(tmp_path):
    model = _Settings(True, -(10**19), 1e-05, 'é "quoted"\n')
    path = tmp_path / "settings.safetensors"
    lucid_fx.save(model, path)
    header = _header(path)
    assert header["lucid_fx.config.flag"] == "true"
    assert header["lucid_fx.config.count"] == "-10000000000000000000"
    assert header["lucid_fx.config.scale"] == "1e-05"
    loaded = lucid_fx.load(path)
    assert _typed(loaded.configs) == _typed(model.configs())
    target = _Settings()
    target.load_state_dict(loaded, override_configs=True)
    assert _typed(target.configs()) == _typed(model.configs())


def test_numpy_scalars_and_0d_arrays_are_stored_as_python_values(tmp_path):
    model = _Settings(np.bool_(True), np.int32(3), np.float32(0.5), np.str_("a"))
    path = tmp_path / "np.safetensors"
    lucid_fx.save(model, path)
    assert _typed(lucid_fx.load(path).configs) == _typed(
        {"flag": True, "count": 3, "scale": 0.5, "name": "a"}
    )
    lucid_fx.save(nn.Sequential(nn.LeakyReLU(jnp.array(0.25))), path)
    assert lucid_fx.load(path).configs == {"0.negative_slope": 0.25}


@pytest.mark.parametrize(
    "value,kind",
    [
        (jnp.array([0.1, 0.2]), "ArrayImpl"),
        ((1, 2), "tuple"),
        (None, "NoneType"),
        (10**20, "int"),
    ],
)
def test_unsupported_config_raises_naming_save_and_writes_nothing(
    tmp_path, value, kind
):
    model = _Settings(scale=value)
    path = tmp_path / "bad.safetensors"
    with pytest.raises(TypeError, match=rf"save: config 'scale' is {kind} .*a bool"):
        lucid_fx.save(model, path)
    assert list(tmp_path.iterdir()) == []


def _three():
    return nn.Sequential(nn.Linear(2, 2), nn.LeakyReLU(0.1), nn.Dropout(0.5))


class _SD(dict):
    configs: dict


def _zeros_with(configs):
    state = _SD({"0.weight": np.zeros((2, 2), np.float32), "0.bias": np.zeros(2)})
    state.configs = configs
    return state


@pytest.mark.parametrize(
    "configs,error,phrase",
    [
        (
            {"1.negative_slope": 0.3, "2.p": 1.5},
            ValueError,
            r"config '2.p' = 1.5 is not accepted: Dropout: p must be in \[0, 1\]",
        ),
        (
            {"2.p": 0.25, "1.negative_slope": "x"},
            TypeError,
            r"config '1.negative_slope' = 'x' is not accepted: LeakyReLU: "
            r"negative_slope must be",
        ),
        (
            {"1.negative_slope": 0.3, "2.p": float("nan")},
            ValueError,
            r"config '2.p' is not finite",
        ),
    ],
)
def test_a_refused_config_value_changes_nothing(configs, error, phrase):
    model = _three()
    before = fingerprint(model)
    ids = [id(vars(m).get("config")) for m in model.modules()]
    mutations = [m.mutations for m in model.modules()]
    with pytest.raises(error, match=r"^load_state_dict: .*not changed") as info:
        model.load_state_dict(_zeros_with(configs), override_configs=True)
    assert info.match(phrase)
    assert fingerprint(model) == before
    assert [id(vars(m).get("config")) for m in model.modules()] == ids
    assert [m.mutations for m in model.modules()] == mutations


def test_override_sets_every_config_as_the_setters_would():
    model = _three()
    model.load_state_dict(
        _zeros_with({"1.negative_slope": 0.3, "2.p": 0.25}), override_configs=True
    )
    assert model[1].config == lucid_fx.layers.LeakyReLU(0.3)
    assert model[2].config == lucid_fx.layers.Dropout(0.25)
    assert model[0].weight.tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_configs_that_are_not_a_mapping_are_a_type_error():
    model = _three()
    before = fingerprint(model)
    with pytest.raises(TypeError, match="(?s)load_state_dict: .*configs must map"):
        model.load_state_dict(_zeros_with([0.3]), override_configs=True)
    assert fingerprint(model) == before
