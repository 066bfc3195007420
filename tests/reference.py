"""Independent references written from the spec's math and PyTorch's semantics.

Nothing here imports lucid_fx: these are the numbers our code is checked against.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

F16_DTYPES = (np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16))


def leaky_relu(x, negative_slope=0.01):
    """Spec forward in float64: x where x > 0, else negative_slope * x."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        return np.where(x > 0, x, np.float64(negative_slope) * x)


def leaky_relu_grad(x, negative_slope=0.01):
    """Spec gradient in float64: 1 where x > 0, else negative_slope (x == 0 too)."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x > 0, 1.0, np.float64(negative_slope))


def leaky_relu_slope_grad(x, g=None):
    """d(sum g * y)/d(slope) for a scalar slope: sum of g * x where x <= 0."""
    x = np.asarray(x, dtype=np.float64)
    g = np.ones_like(x) if g is None else np.asarray(g, dtype=np.float64)
    return np.where(x > 0, 0.0, g * x).sum()


def _scale_torch_rounding(v, negative_slope):
    """``v * slope`` rounded as PyTorch's CPU kernels round it, in v's dtype.

    float32/float64: the slope is rounded to the dtype, then multiplied.
    float16/bfloat16: computed in float32 (slope rounded to float32), rounded once.
    """
    v = np.asarray(v)
    wide = np.float32 if v.dtype in F16_DTYPES else v.dtype.type
    with np.errstate(invalid="ignore", over="ignore"):
        return (v.astype(wide) * wide(negative_slope)).astype(v.dtype)


def _positive(x):
    with np.errstate(invalid="ignore"):
        return (
            np.asarray(x).astype(np.float32 if x.dtype in F16_DTYPES else x.dtype) > 0
        )


def leaky_relu_torch_rounding(x, negative_slope):
    """PyTorch's forward ``x > 0 ? x : x * slope`` in the input's dtype."""
    x = np.asarray(x)
    return np.where(_positive(x), x, _scale_torch_rounding(x, negative_slope))


def leaky_relu_grad_torch_rounding(x, g, negative_slope):
    """PyTorch's backward ``x > 0 ? g : g * slope`` in the input's dtype."""
    x, g = np.asarray(x), np.asarray(g)
    return np.where(_positive(x), g, _scale_torch_rounding(g, negative_slope))


def is_f32_subnormal(v):
    """True where a value is nonzero and below float32's smallest normal."""
    with np.errstate(invalid="ignore"):  # NaN payloads warn when cast
        v = np.abs(np.asarray(v).astype(np.float64))
        return (v > 0) & (v < np.finfo(np.float32).tiny)


def linear(x, weight, bias=None):
    """PyTorch's Linear in float64: x @ weight.T + bias."""
    out = np.asarray(x, np.float64) @ np.asarray(weight, np.float64).T
    return out if bias is None else out + np.asarray(bias, np.float64)
