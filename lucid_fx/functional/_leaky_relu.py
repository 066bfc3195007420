"""``leaky_relu`` and its custom_vjp rules: the one place the math lives."""

from __future__ import annotations

import inspect
import sys
from functools import partial

import jax
import jax.numpy as jnp

from lucid_fx import _validate
from lucid_fx._typing import Array, ArrayLike
from lucid_fx.functional._opmath import HALF_DTYPES as _HALF_DTYPES

_API = "leaky_relu"
_LINEARIZE = inspect.unwrap(jax.linearize).__code__
_REVERSE = inspect.unwrap(jax.vjp).__code__
_MSG_LINEARIZE = (
    "leaky_relu: can't apply forward-mode autodiff (jvp) to a custom_vjp "
    "function, and jax.linearize is forward mode (it would fail only when its "
    "linear function is applied). Use reverse mode: jax.vjp, jax.grad or "
    "jax.jacrev."
)


def _reject_linearize() -> None:
    """Raise inside ``jax.linearize`` (unless a reverse-mode transform runs in
    between, e.g. ``jax.linearize(jax.grad(f))``, which works): JAX itself
    would only fail later, when the linearized function is called."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code is _REVERSE:
            return
        if frame.f_code is _LINEARIZE:
            raise TypeError(_MSG_LINEARIZE)
        frame = frame.f_back


def leaky_relu(x: ArrayLike, negative_slope: ArrayLike = 0.01) -> Array:
    r"""Apply the leaky rectified linear unit elementwise.

    .. math::

        y = \begin{cases} x & x > 0 \\ \alpha x & \text{otherwise} \end{cases}
        \qquad
        \frac{\partial y}{\partial x} =
        \begin{cases} 1 & x > 0 \\ \alpha & \text{otherwise} \end{cases}

    with :math:`\alpha` = ``negative_slope``. At ``x == 0`` the gradient is
    ``negative_slope``, as in lucid and PyTorch (``jax.nn.leaky_relu`` gives 1).
    An array slope is differentiable too:
    :math:`\partial y / \partial \alpha = x` where :math:`x \le 0`, else 0,
    summed over the positions that share a slope.

    Rounding follows PyTorch: for float32 and float64 the negative branch is
    ``x * slope`` with the slope rounded to the input's dtype; for float16 and
    bfloat16 it is computed in float32 and rounded once.

    Edge cases: NaN gives NaN (gradient ``negative_slope``); ``+inf`` gives
    ``+inf``; ``-inf`` gives ``-inf * slope`` (NaN for a zero slope); ``-0.0``
    keeps its sign. XLA on CPU flushes subnormal inputs and results to zero.

    Forward-mode autodiff of the function itself (``jax.jvp``, ``jax.jacfwd``,
    ``jax.linearize``) is not available for a ``custom_vjp`` function and
    raises ``TypeError: can't apply forward-mode autodiff (jvp) to a custom_vjp
    function`` at the call (for ``jax.linearize`` our own check: JAX alone would
    fail only when the linearized function is applied). Second derivatives
    work through reverse mode: ``jax.jacrev(jax.jacrev(f))``, or
    ``jax.hessian`` (forward over reverse, which differentiates the backward
    rule).

    Args:
      x: real array of any shape. Integer and bool inputs are converted to the
        default float dtype (float32, or float64 with ``jax_enable_x64``).
      negative_slope: slope where ``x <= 0``; a number or an array
        broadcastable to ``x`` (e.g. per-channel slopes). Negative values and
        values above 1 are allowed, as in PyTorch. Default ``0.01``.

    Returns:
      An array with the shape and dtype of ``x``.

    Raises:
      TypeError: if ``x`` is complex or not numeric, or ``negative_slope`` is
        not a real number or array.
      ValueError: if a concrete ``negative_slope`` is NaN or infinite, or
        overflows the dtype the product is computed in (``x``'s, float32 for
        16-bit ``x``), as PyTorch refuses it, or its shape does not broadcast
        to ``x``'s shape. A subnormal slope is flushed to 0 by XLA on CPU, so
        ``-inf`` then gives NaN (``-inf * 0``) where PyTorch gives ``-inf``.

    Examples:
      >>> import jax
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional import leaky_relu
      >>> x = jnp.array([-2.0, 0.0, 3.0])
      >>> leaky_relu(x, negative_slope=0.25).tolist()
      [-0.5, 0.0, 3.0]
      >>> jax.grad(lambda v: leaky_relu(v, 0.25).sum())(x).tolist()
      [0.25, 0.25, 1.0]
      >>> jax.grad(lambda a: leaky_relu(x, a).sum())(jnp.array(0.25)).tolist()
      -2.0
    """
    x = _validate.as_real_float_array(x, _API)
    if isinstance(x, jax.core.Tracer):
        _reject_linearize()
    if _validate.is_python_scalar(negative_slope):
        slope = _validate.check_slope_number(negative_slope, _API)
        compute = jnp.float32 if x.dtype in _HALF_DTYPES else x.dtype
        _validate.check_slope_range(slope, compute, _API)
        if slope >= 0.0:
            return _leaky_relu_output_saved(x, slope)
        return _leaky_relu_input_saved(x, slope)
    slope_array = _validate.check_slope_array(negative_slope, _API)
    _validate.check_slope_shape(slope_array.shape, x.shape, _API)
    return _leaky_relu_traced_slope(x, slope_array)


def _scale(v: Array, slope: ArrayLike) -> Array:
    """``v * slope`` rounded as PyTorch rounds it, in ``v``'s dtype.

    16-bit floats are multiplied in float32 and rounded once (PyTorch's opmath);
    wider floats multiply by the slope rounded to their own dtype.
    """
    if v.dtype in _HALF_DTYPES:
        wide = v.astype(jnp.float32) * jnp.asarray(slope).astype(jnp.float32)
        return wide.astype(v.dtype)
    return v * jnp.asarray(slope).astype(v.dtype)


def _forward(x: Array, slope: ArrayLike) -> Array:
    return jnp.where(x > 0, x, _scale(x, slope))


# A concrete slope >= 0 keeps the sign: y > 0 exactly where x > 0 (NaN and 0 map
# to non-positive or NaN outputs, which also fail `> 0`). So the backward pass
# needs only the output, which the next layer saves anyway; no extra residual.
@partial(jax.custom_vjp, nondiff_argnums=(1,))
def _leaky_relu_output_saved(x: Array, slope: float) -> Array:
    return _forward(x, slope)


def _leaky_relu_output_saved_fwd(x: Array, slope: float) -> tuple[Array, Array]:
    y = _forward(x, slope)
    return y, y


def _leaky_relu_output_saved_bwd(slope: float, y: Array, g: Array) -> tuple[Array]:
    return (jnp.where(y > 0, g, _scale(g, slope)),)


_leaky_relu_output_saved.defvjp(
    _leaky_relu_output_saved_fwd, _leaky_relu_output_saved_bwd
)


# A negative slope flips the sign of the negative branch, so the output no
# longer tells which branch was taken: keep the input.
@partial(jax.custom_vjp, nondiff_argnums=(1,))
def _leaky_relu_input_saved(x: Array, slope: float) -> Array:
    return _forward(x, slope)


def _leaky_relu_input_saved_fwd(x: Array, slope: float) -> tuple[Array, Array]:
    return _forward(x, slope), x


def _leaky_relu_input_saved_bwd(slope: float, x: Array, g: Array) -> tuple[Array]:
    return (jnp.where(x > 0, g, _scale(g, slope)),)


_leaky_relu_input_saved.defvjp(_leaky_relu_input_saved_fwd, _leaky_relu_input_saved_bwd)


# An array or traced slope is an ordinary, differentiable argument: its sign is
# unknown at trace time, so keep the input (and the slope) for both cotangents.
@jax.custom_vjp
def _leaky_relu_traced_slope(x: Array, slope: Array) -> Array:
    return _forward(x, slope)


def _leaky_relu_traced_slope_fwd(
    x: Array, slope: Array
) -> tuple[Array, tuple[Array, Array]]:
    return _forward(x, slope), (x, slope)


def _leaky_relu_traced_slope_bwd(
    residuals: tuple[Array, Array], g: Array
) -> tuple[Array, Array]:
    x, slope = residuals
    positive = x > 0
    dx = jnp.where(positive, g, _scale(g, slope))
    dslope_full = jnp.where(positive, 0, g.astype(slope.dtype) * x.astype(slope.dtype))
    return dx, _sum_to_shape(dslope_full, slope.shape)


def _sum_to_shape(v: Array, shape: tuple[int, ...]) -> Array:
    """Sum ``v`` over the axes that broadcasting added or stretched to ``shape``."""
    lead = v.ndim - len(shape)
    stretched = tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and v.shape[lead + i] != 1
    )
    summed = v.sum(axis=tuple(range(lead)) + stretched, keepdims=True)
    return summed.reshape(shape)


_leaky_relu_traced_slope.defvjp(
    _leaky_relu_traced_slope_fwd, _leaky_relu_traced_slope_bwd
)
