"""The frozen LeakyReLU config: value semantics, pytree behaviour, validation."""

import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl.testing import parameterized

from lucid_fx.functional import leaky_relu
from lucid_fx.layers import LeakyReLU
from tests import reference

X = np.array([-4.0, -1.0, 0.0, 2.0])


class ConfigTest(chex.TestCase):
    def test_value_semantics(self):
        self.assertEqual(LeakyReLU(0.25), LeakyReLU(negative_slope=0.25))
        self.assertEqual(hash(LeakyReLU(0.25)), hash(LeakyReLU(0.25)))
        self.assertNotEqual(LeakyReLU(0.25), LeakyReLU(0.5))
        self.assertEqual(repr(LeakyReLU()), "LeakyReLU(negative_slope=0.01)")
        self.assertEqual(LeakyReLU(1).negative_slope, 1.0)
        self.assertIsInstance(LeakyReLU(1).negative_slope, float)

    def test_frozen(self):
        config = LeakyReLU(0.25)
        with pytest.raises(dataclasses.FrozenInstanceError):
            config.negative_slope = 0.5  # type: ignore[misc]
        self.assertEqual(config.negative_slope, 0.25)

    def test_negative_zero_slope_stored_as_zero(self):
        self.assertFalse(np.signbit(LeakyReLU(-0.0).negative_slope))

    @chex.variants(with_jit=True, without_jit=True)
    def test_call_applies_function(self):
        out = self.variant(lambda x: LeakyReLU(0.25)(x))(jnp.asarray(X, jnp.float32))
        np.testing.assert_array_equal(out, reference.leaky_relu(X, 0.25))

    @chex.variants(with_jit=True, without_jit=True)
    def test_config_as_argument_is_a_pytree(self):
        out = self.variant(lambda cfg, x: cfg(x))(
            LeakyReLU(0.25), jnp.asarray(X, jnp.float32)
        )
        np.testing.assert_array_equal(out, reference.leaky_relu(X, 0.25))
        leaves = jax.tree_util.tree_leaves(LeakyReLU(0.25))
        self.assertEqual(leaves, [0.25])

    def test_static_argument(self):
        f = jax.jit(lambda cfg, x: cfg(x), static_argnums=0)
        out = f(LeakyReLU(0.5), jnp.asarray(X, jnp.float32))
        np.testing.assert_array_equal(out, reference.leaky_relu(X, 0.5))

    def test_vmap_over_stacked_configs_is_a_slope_sweep(self):
        slopes = np.array([0.0, 0.1, 0.5], np.float32)
        stacked = LeakyReLU(jnp.asarray(slopes))
        out = jax.jit(jax.vmap(lambda cfg: cfg(jnp.asarray(X, jnp.float32))))(stacked)
        for i, slope in enumerate(slopes):
            np.testing.assert_allclose(
                out[i], reference.leaky_relu(X, slope), rtol=1e-7
            )

    def test_grad_through_config_slope(self):
        grad = jax.grad(lambda cfg: cfg(jnp.asarray(X, jnp.float32)).sum())(
            LeakyReLU(jnp.float32(0.25))
        )
        self.assertIsInstance(grad, LeakyReLU)
        self.assertEqual(float(grad.negative_slope), reference.leaky_relu_slope_grad(X))

    def test_matches_functional(self):
        x = jnp.asarray(X, jnp.float32)
        np.testing.assert_array_equal(LeakyReLU(0.3)(x), leaky_relu(x, 0.3))

    @parameterized.named_parameters(
        ("str", "0.1", TypeError),
        ("bool", False, TypeError),
        ("none", None, TypeError),
        ("complex", 2j, TypeError),
        ("nan", float("nan"), ValueError),
        ("inf", -float("inf"), ValueError),
    )
    def test_validation_at_construction(self, slope, error):
        with pytest.raises(error, match="LeakyReLU: negative_slope"):
            LeakyReLU(slope)


class TestValueSemanticsOfArraySlopes:
    """Array-slope configs are equal and hash alike by value (issue 13)."""

    def test_equal_and_hash_by_value(self):
        import jax.numpy as jnp
        import numpy as np

        from lucid_fx.layers import LeakyReLU

        a = LeakyReLU(jnp.array([0.1, 0.2]))
        b = LeakyReLU(np.array([0.1, 0.2], np.float32))
        c = LeakyReLU(jnp.array([0.1, 0.3]))
        assert a == b and hash(a) == hash(b)
        assert a != c
        assert a != LeakyReLU(jnp.array([0.1, 0.2, 0.1]))  # shape differs
        assert LeakyReLU(0.1) != LeakyReLU(jnp.array(0.1))  # float vs array
        assert len({a, b, c}) == 2

    def test_usable_as_static_argument_by_value(self):
        import jax
        import jax.numpy as jnp

        from lucid_fx.layers import LeakyReLU

        traces = []

        def apply(cfg, x):
            traces.append(1)
            return cfg(x)

        f = jax.jit(apply, static_argnums=0)
        x = jnp.array([-2.0, 1.0])
        f(LeakyReLU(jnp.array([0.5, 0.5])), x)
        out = f(LeakyReLU(jnp.array([0.5, 0.5])), x)  # equal config: no retrace
        assert len(traces) == 1
        assert out.tolist() == [-1.0, 1.0]

    def test_traced_slope_is_not_hashable(self):
        import jax
        import jax.numpy as jnp
        import pytest

        from lucid_fx.layers import LeakyReLU

        def f(cfg):
            with pytest.raises(TypeError, match="LeakyReLU: .*traced"):
                hash(cfg)
            assert cfg == cfg
            return cfg.negative_slope

        jax.jit(f)(LeakyReLU(jnp.array([0.5])))

    def test_state_dict_round_trip_for_flax_serialization(self):
        import jax.numpy as jnp
        import numpy as np

        from lucid_fx.layers import LeakyReLU
        from lucid_fx.layers._leaky_relu import _from_state_dict, _to_state_dict

        cfg = LeakyReLU(jnp.array([0.1, 0.2]))
        state = _to_state_dict(cfg)
        assert list(state) == ["negative_slope"]
        back = _from_state_dict(LeakyReLU(), state)
        assert back == cfg
        np.testing.assert_array_equal(
            back.negative_slope, np.array([0.1, 0.2], np.float32)
        )
        assert _from_state_dict(LeakyReLU(0.3), {}) == LeakyReLU(0.3)
