"""Pure activations against float64 references written from the math."""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import parameterized

from lucid_fx import functional as core

X = np.array([-30.0, -2.0, -0.5, -0.0, 0.0, 0.5, 2.0, 30.0])
ALPHA, LAM = 1.6732632423543772, 1.0507009873554805


def _phi(x):
    return 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def _gelu_tanh_grad(x):
    u = math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)
    du = math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x**2)
    return 0.5 * (1 + np.tanh(u)) + 0.5 * x * (1 - np.tanh(u) ** 2) * du


# name: (function, forward reference, gradient reference); kinks take the
# left branch's derivative (PyTorch's convention) where the math has a kink.
CASES = {
    "relu": (core.relu, lambda x: np.maximum(x, 0), lambda x: (x > 0) * 1.0),
    "elu": (
        lambda x: core.elu(x, 0.5),
        lambda x: np.where(x > 0, x, 0.5 * np.expm1(x)),
        lambda x: np.where(x > 0, 1.0, 0.5 * np.exp(x)),
    ),
    "selu": (
        core.selu,
        lambda x: LAM * np.where(x > 0, x, ALPHA * np.expm1(x)),
        lambda x: LAM * np.where(x > 0, 1.0, ALPHA * np.exp(x)),
    ),
    "gelu_tanh": (core.gelu, _gelu_tanh, _gelu_tanh_grad),
    "gelu_none": (
        lambda x: core.gelu(x, "none"),
        lambda x: x * _phi(x),
        lambda x: _phi(x) + x * np.exp(-(x**2) / 2) / math.sqrt(2 * math.pi),
    ),
    "sigmoid": (
        core.sigmoid,
        lambda x: 1 / (1 + np.exp(-x)),
        lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2,
    ),
    "tanh": (core.tanh, np.tanh, lambda x: 1 - np.tanh(x) ** 2),
}


class ActivationsTest(chex.TestCase):
    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(*[(name, name) for name in sorted(CASES)])
    def test_value_and_gradient_match_the_math(self, name):
        fn, ref, dref = CASES[name]
        x = jnp.asarray(X, jnp.float32)
        y = self.variant(fn)(x)
        g = self.variant(jax.grad(lambda v: fn(v).sum()))(x)
        assert y.dtype == jnp.float32 and y.shape == x.shape
        np.testing.assert_allclose(y, ref(X), rtol=2e-6, atol=1e-6)
        np.testing.assert_allclose(g, dref(X), rtol=2e-6, atol=1e-6)
        assert np.isfinite(np.asarray(g)).all()

    @chex.variants(with_jit=True, without_jit=True)
    def test_elu_gradient_at_zero_is_alpha_as_pytorch(self):
        g = self.variant(jax.grad(lambda v: core.elu(v, 0.25)))(jnp.float32(0.0))
        assert float(g) == 0.25

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(
        ("elu", lambda v: core.elu(v, 0.5), 1.0, 0.5),
        ("selu", core.selu, LAM, LAM * ALPHA),
    )
    def test_elu_selu_gradient_at_nan_is_the_linear_branch_as_pytorch(
        self, fn, scale, left
    ):
        # PyTorch's elu_backward tests x <= 0, false for NaN: gradient = scale.
        x = jnp.array([np.nan, -1.0, 0.0, -0.0, 1.0, -np.inf, np.inf], jnp.float32)
        y = self.variant(fn)(x)
        g = self.variant(jax.grad(lambda v: fn(v).sum()))(x)
        expected = [scale, left * math.exp(-1.0), left, left, scale, 0.0, scale]
        np.testing.assert_allclose(g, expected, rtol=2e-6)
        assert np.isnan(y[0]) and np.isposinf(y[6])

    @chex.variants(with_jit=True, without_jit=True)
    def test_relu_gradient_at_zero_is_zero_and_negative_zero_gives_plus_zero(self):
        g = self.variant(jax.grad(core.relu))(jnp.float32(0.0))
        y = self.variant(core.relu)(jnp.float32(-0.0))
        assert float(g) == 0.0 and not np.signbit(np.asarray(y))

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(("bf16", jnp.bfloat16), ("f16", jnp.float16))
    def test_dtype_is_kept(self, dtype):
        x = jnp.asarray(X, dtype)
        for name, (fn, _, _) in CASES.items():
            assert self.variant(fn)(x).dtype == dtype, name


def test_retracing_once_per_shape():
    @jax.jit
    @chex.assert_max_traces(n=1)
    def f(x):
        return core.gelu(x) + core.elu(x, 0.5)

    f(jnp.ones(3))
    f(jnp.zeros(3))
