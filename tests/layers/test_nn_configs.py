"""Frozen configs of the configurable nn layers: hashable, static pytrees."""

import jax
import jax.numpy as jnp
import pytest

from lucid_fx import layers
from lucid_fx.functional import dropout, elu, gelu

CONFIGS = [
    layers.ELU(0.5),
    layers.GELU("none"),
    layers.Dropout(0.25),
    layers.Dropout2d(0.25),
    layers.AlphaDropout(0.25),
]


@pytest.mark.parametrize("config", CONFIGS, ids=repr)
def test_config_is_a_hashable_static_pytree(config):
    assert jax.tree.leaves(config) == []
    rebuilt = jax.tree.unflatten(jax.tree.structure(config), [])
    assert rebuilt == config and hash(rebuilt) == hash(config)
    with pytest.raises(Exception, match="cannot assign"):
        config.p = 0.5 if hasattr(config, "p") else None  # frozen


def test_configs_apply_their_function():
    x = jnp.array([-1.0, 0.0, 2.0])
    key = jax.random.key(0)
    assert layers.ELU(0.5)(x).tolist() == elu(x, 0.5).tolist()
    assert layers.GELU("none")(x).tolist() == gelu(x, "none").tolist()
    assert layers.Dropout(0.5)(x, key).tolist() == dropout(x, key, 0.5).tolist()


def test_config_as_static_jit_argument():
    f = jax.jit(lambda cfg, x: cfg(x), static_argnums=0)
    assert f(layers.ELU(2.0), jnp.array([0.0])).tolist() == [0.0]


@pytest.mark.parametrize(
    "build,error,phrase",
    [
        (lambda: layers.ELU("a"), TypeError, "ELU: alpha"),
        (lambda: layers.ELU(float("inf")), ValueError, "ELU: alpha must be finite"),
        (lambda: layers.GELU("erf"), ValueError, "GELU: approximate"),
        (lambda: layers.Dropout(1.5), ValueError, "Dropout: p must be in"),
        (lambda: layers.Dropout3d(True), TypeError, "Dropout3d: p"),
    ],
)
def test_bad_config_values(build, error, phrase):
    with pytest.raises(error, match=phrase):
        build()
