"""Every float16 and bfloat16 bit pattern, bit for bit against PyTorch's rounding."""

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest

from lucid_fx.functional import leaky_relu
from tests import reference

DTYPES = {"float16": np.float16, "bfloat16": ml_dtypes.bfloat16}
SLOPES = (0.01, 0.1, 0.2, 0.3, -0.7, 1.5)


def _all_patterns(dtype):
    return np.arange(2**16, dtype=np.uint16).view(dtype)


def _comparable(x, expected, slope):
    """Drop NaNs (payloads differ) and float32-range subnormals in the input, the
    float32 product or the result (XLA:CPU flushes them; pinned by
    PlatformBehaviourTest)."""
    with np.errstate(invalid="ignore", over="ignore"):
        x32, e32 = x.astype(np.float32), expected.astype(np.float32)
        product = x32 * np.float32(slope)
    subnormal = (
        reference.is_f32_subnormal(x32)
        | reference.is_f32_subnormal(e32)
        | reference.is_f32_subnormal(product)
    )
    return ~np.isnan(x32) & ~np.isnan(e32) & ~subnormal


@pytest.mark.parametrize("slope", SLOPES)
@pytest.mark.parametrize("name", sorted(DTYPES))
def test_forward_bit_identical_to_pytorch_rounding(name, slope):
    x = _all_patterns(DTYPES[name])
    expected = reference.leaky_relu_torch_rounding(x, slope)
    got = np.asarray(jax.jit(lambda v: leaky_relu(v, slope))(jnp.asarray(x)))
    keep = _comparable(x, expected, slope)
    assert keep.sum() > 60_000
    np.testing.assert_array_equal(
        got.view(np.uint16)[keep], expected.view(np.uint16)[keep]
    )
    assert np.isnan(got.astype(np.float32)[np.isnan(x.astype(np.float32))]).all()


@pytest.mark.parametrize("slope", SLOPES)
@pytest.mark.parametrize("name", sorted(DTYPES))
def test_gradient_bit_identical_to_pytorch_rounding(name, slope):
    x = _all_patterns(DTYPES[name])
    g = x[::-1].copy()  # every pattern as a cotangent too, paired differently
    expected = reference.leaky_relu_grad_torch_rounding(x, g, slope)
    _, vjp = jax.vjp(lambda v: leaky_relu(v, slope), jnp.asarray(x))
    (got,) = jax.jit(vjp)(jnp.asarray(g))
    keep = _comparable(x, expected, slope) & _comparable(g, expected, slope)
    assert keep.sum() > 60_000
    np.testing.assert_array_equal(
        np.asarray(got).view(np.uint16)[keep], expected.view(np.uint16)[keep]
    )


@pytest.mark.parametrize("name", sorted(DTYPES))
def test_jax_nn_leaky_relu_is_off_by_one_ulp_on_thousands(name):
    x = _all_patterns(DTYPES[name])
    expected = reference.leaky_relu_torch_rounding(x, 0.1)
    theirs = np.asarray(jax.nn.leaky_relu(jnp.asarray(x), 0.1))
    keep = _comparable(x, expected, 0.1)
    differ = theirs.view(np.uint16)[keep] != expected.view(np.uint16)[keep]
    assert differ.sum() > 1000
