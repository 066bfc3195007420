"""Hypothesis properties of leaky_relu against the float64 reference."""

import hypothesis.extra.numpy as hnp
import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lucid_fx.functional import leaky_relu
from tests import reference

DTYPES = ("float16", "bfloat16", "float32", "float64")
WRAPS = (lambda f: f, jax.jit)
# Slopes are rounded to float32 or narrower before use (as in PyTorch), and
# XLA:CPU flushes subnormal ones: draw normal float32 values.
SLOPES = st.floats(-2.0, 2.0, width=32, allow_subnormal=False)


def _numpy_dtype(name):
    return np.dtype(ml_dtypes.bfloat16) if name == "bfloat16" else np.dtype(name)


def _specials(name):
    """±0, ±inf, NaN, the extreme finite values and subnormals of the dtype."""
    info = ml_dtypes.finfo(_numpy_dtype(name))
    edges = (float(info.max), float(info.smallest_subnormal), float(info.tiny))
    return (0.0, -0.0, np.inf, -np.inf, np.nan, *edges, *(-e for e in edges))


@st.composite
def inputs(draw):
    """(dtype name, host array) with specials, subnormals and huge values mixed in."""
    name = draw(st.sampled_from(DTYPES))
    # bfloat16 cannot be drawn by hypothesis: draw float32 and round.
    draw_dtype = np.float32 if name == "bfloat16" else _numpy_dtype(name)
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
    elements = st.one_of(
        st.floats(width=8 * np.dtype(draw_dtype).itemsize, allow_subnormal=True),
        st.sampled_from(_specials(name)),
    )
    x = draw(hnp.arrays(draw_dtype, shape, elements=elements))
    return name, x.astype(_numpy_dtype(name))


def _tolerances(name):
    dtype = _numpy_dtype(name)
    rtol = float(ml_dtypes.finfo(dtype).eps)
    # XLA:CPU flushes subnormals: allow an absolute error below the smallest
    # normal of the range the computation runs in (float32 for 16-bit types).
    atol = 0.0 if name == "float16" else float(np.finfo(np.float32).tiny)
    if name == "float64":
        atol = float(np.finfo(np.float64).tiny)
    return rtol, atol


def _flushed(name, x):
    """Inputs that XLA:CPU treats as zero (platform behaviour, pinned elsewhere)."""
    x64 = np.abs(x.astype(np.float64))
    if name == "float16":
        return np.zeros(x.shape, bool)
    tiny = np.finfo(np.float64 if name == "float64" else np.float32).tiny
    return (x64 > 0) & (x64 < tiny)


def _check(name, x, slope, fn, expected):
    rtol, atol = _tolerances(name)
    with jax.enable_x64(name == "float64"):
        for wrap in WRAPS:
            out = wrap(fn)(jnp.asarray(x))
            assert out.dtype == x.dtype
            got = np.asarray(out).astype(np.float64)
            np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


@settings(deadline=None, max_examples=40)
@given(inputs(), SLOPES)
def test_forward_matches_reference(data, slope):
    name, x = data
    ref = reference.leaky_relu(x, slope)
    with np.errstate(over="ignore"):
        expected = ref.astype(x.dtype).astype(np.float64)  # overflow -> inf
    _check(name, x, slope, lambda v: leaky_relu(v, slope), expected)


@settings(deadline=None, max_examples=40)
@given(inputs(), SLOPES)
def test_gradient_matches_reference(data, slope):
    name, x = data
    keep = ~_flushed(name, x)
    x = np.where(keep, x, np.zeros_like(x))
    expected = reference.leaky_relu_grad(x, slope).astype(x.dtype).astype(np.float64)
    grad = jax.grad(lambda v: leaky_relu(v, slope).astype(jnp.float32).sum())
    _check(name, x, slope, grad, expected)


@settings(deadline=None, max_examples=40)
@given(
    hnp.arrays(
        np.float32,
        hnp.array_shapes(min_dims=1, max_dims=2, max_side=6),
        elements=st.floats(-1e3, 1e3, width=32),
    ),
    st.floats(-2.0, 2.0, width=32),
)
def test_array_slope_cotangent_matches_reference(x, slope):
    expected = reference.leaky_relu_slope_grad(x)
    for wrap in WRAPS:
        got = wrap(jax.grad(lambda a: leaky_relu(jnp.asarray(x), a).sum()))(
            jnp.float32(slope)
        )
        np.testing.assert_allclose(float(got), expected, rtol=1e-5, atol=1e-3)
