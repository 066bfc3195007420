"""The config-backed modules (LeakyReLU, ELU, GELU, the dropouts) share one
base: each setting reads from the frozen config, and assigning it validates
by building a new config."""

import pickle

import pytest

import lucid_fx.nn as nn

CASES = [
    (nn.LeakyReLU, "negative_slope", 0.25),
    (nn.ELU, "alpha", 0.5),
    (nn.GELU, "approximate", "none"),
    (nn.Dropout, "p", 0.25),
    (nn.Dropout2d, "p", 0.25),
    (nn.AlphaDropout, "p", 0.25),
]
IDS = [cls.__name__ for cls, _, _ in CASES]


@pytest.mark.parametrize("cls,name,value", CASES, ids=IDS)
def test_assigning_a_setting_replaces_the_config(cls, name, value):
    module = cls()
    setattr(module, name, value)
    assert getattr(module, name) == value
    assert getattr(module.config, name) == value
    assert type(module.config).__name__ == cls.__name__
    assert module.configs() == {name: value}
    assert repr(module) == f"{cls.__name__}({name}={value!r})"


@pytest.mark.parametrize("cls,name,value", CASES, ids=IDS)
def test_a_rejected_setting_keeps_the_old_config(cls, name, value):
    module = cls()
    before = module.config
    with pytest.raises((TypeError, ValueError), match=f"{cls.__name__}: {name}"):
        setattr(module, name, "big")
    assert module.config is before


@pytest.mark.parametrize("cls,name,value", CASES, ids=IDS)
def test_a_pickled_module_keeps_its_setting(cls, name, value):
    clone = pickle.loads(pickle.dumps(cls(value)))
    assert getattr(clone, name) == value
    assert repr(clone) == f"{cls.__name__}({name}={value!r})"
