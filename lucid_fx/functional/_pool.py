"""Average and max pooling over 1-3 spatial dimensions: pure math.

Windows follow lucid's signatures (``kernel_size=1, stride=1, padding=0``
defaults; PyTorch's stride defaults to the kernel size). Average pooling
counts padded zeros by default (PyTorch's ``count_include_pad=True``); max
pooling pads with ``-inf`` but never chooses the padding. Output sizes round
down, or up with ``ceil_mode=True`` (PyTorch's rule: the last window starts
inside the input or the left padding). Average pooling sums float16 and
bfloat16 windows in float32 and rounds the mean once, as PyTorch does.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx._typing import Array, ArrayLike
from lucid_fx.functional import _args
from lucid_fx.functional._opmath import narrow, widen


def pool_args(n: int, kernel_size: object, stride: object, padding: object, api: str):
    """Validated (kernel, stride, padding) tuples."""
    kernel = _args.ints(kernel_size, n, api, "kernel_size", low=1)
    strides = _args.ints(stride, n, api, "stride", low=1)
    pads = _args.ints(padding, n, api, "padding")
    for k, p in zip(kernel, pads, strict=True):
        if p > k // 2:
            raise ValueError(
                f"{api}: padding must be at most half the kernel size (as "
                f"PyTorch), got padding={pads} for kernel_size={kernel}."
            )
    return kernel, strides, pads


def _window_max(x: Array, window: tuple, steps: tuple, pad: tuple) -> Array:
    # numpy (concrete) identity: JAX then uses its differentiable max reducer.
    init = np.array(-np.inf, x.dtype)
    return jax.lax.reduce_window(x, init, jax.lax.max, window, steps, pad)


@functools.partial(jax.custom_jvp, nondiff_argnums=(1, 2, 3))
def _max_window(x: Array, window: tuple, steps: tuple, pad: tuple) -> Array:
    """Each window's maximum; its derivative is the tangent of the element
    chosen: the first maximum, or the first NaN where the window holds one
    (the output is then NaN), as PyTorch routes the gradient (it takes the
    last of several NaNs). JAX's own rule compares with ``>=``, which a NaN
    never passes: it picked another element than the output's. A window whose
    elements inside the input are all ``-inf`` (its maximum is ``-inf``) sends
    its gradient to the first of them, never to the padding, as PyTorch."""
    return _window_max(x, window, steps, pad)


@_max_window.defjvp
def _max_window_jvp(window, steps, pad, primals, tangents):
    (x,), (dx,) = primals, tangents
    # Choose as if each NaN were +inf; the chooser stays JAX's (linear in dx,
    # transposed to a scatter for the gradient).
    key = jnp.where(jnp.isnan(x), jnp.array(np.inf, x.dtype), x)
    top, dy = jax.jvp(lambda k: _window_max(k, window, steps, pad), (key,), (dx,))
    if any(lo or hi for lo, hi in pad):
        # The -inf padding ties with a window of -inf and, coming first, wins
        # JAX's chooser; PyTorch starts from the window's first inside element.
        first = _first_inside(dx, steps, pad, top.shape)
        dy = jnp.where(top == -jnp.inf, first, dy)
    return _window_max(x, window, steps, pad), dy


def _first_inside(dx: Array, steps: tuple, pad: tuple, out_shape: tuple) -> Array:
    """``dx`` at each window's first element inside the input (its start,
    clipped past the left padding): a gather, linear in ``dx``."""
    for axis, (step, (lo, _), size) in enumerate(zip(steps, pad, out_shape)):
        index = np.clip(np.arange(size) * step - lo, 0, dx.shape[axis] - 1)
        if size != dx.shape[axis] or (index != np.arange(size)).any():
            dx = jnp.take(dx, index, axis=axis)
    return dx


def _out_size(size: int, k: int, s: int, p: int, ceil_mode: bool) -> int:
    """PyTorch's output size; with ``ceil_mode`` the last window must start
    inside the input or the left padding."""
    out = (size + 2 * p - k + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _geometry(api: str, shape: tuple, kernel, strides, pads, ceil_mode) -> list:
    """Per spatial axis ``(lo, hi)`` padding that reaches the last window:
    ``ceil_mode`` pads the right past ``padding`` (never counted, never
    chosen)."""
    pairs = []
    for size, k, s, p in zip(shape, kernel, strides, pads, strict=True):
        out = _out_size(size, k, s, p, ceil_mode)
        if out < 1:
            raise ValueError(
                f"{api}: kernel_size={kernel} is larger than the padded input "
                f"{shape} with padding={pads}."
            )
        pairs.append((p, max(p, (out - 1) * s + k - size - p)))
    return pairs


def _divisor(shape: tuple, kernel, strides, pads, out_shape, count_include_pad):
    """Each window's divisor (numpy): its size clipped to the padded input
    (PyTorch's ``count_include_pad=True``), or to the input itself."""
    divisor = np.ones((), np.int64)
    for size, k, s, p, out in zip(shape, kernel, strides, pads, out_shape):
        start = np.arange(out) * s - p
        end = np.minimum(start + k, size + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, size)
        divisor = np.multiply.outer(divisor, end - start)
    return divisor


def _pool(x: ArrayLike, n: int, kind: str, kernel_size, stride, padding, **mode):
    api = f"{kind}_pool{n}d"
    x = jnp.asarray(x)
    if x.ndim not in (n + 1, n + 2) or not jnp.issubdtype(x.dtype, jnp.floating):
        raise ValueError(
            f"{api}: input must be floating of shape (N, C, *{n} spatial) or "
            f"(C, *{n} spatial), got {x.dtype} {tuple(x.shape)}."
        )
    kernel, strides, pads = pool_args(n, kernel_size, stride, padding, api)
    mode = {name: _args.flag(value, api, name) for name, value in mode.items()}
    pairs = _geometry(api, x.shape[-n:], kernel, strides, pads, mode["ceil_mode"])
    lead = (1,) * (x.ndim - n)
    window, steps = lead + kernel, lead + strides
    pad = tuple([(0, 0)] * (x.ndim - n) + pairs)
    if kind == "max":
        return _max_window(x, window, steps, pad)
    # 16-bit windows are summed in float32 and rounded once (PyTorch's
    # opmath): a float16 sum of 16 values of 5000 would be inf. A numpy
    # (concrete) identity: JAX then uses its differentiable add reducer.
    wide = widen(x)
    total = jax.lax.reduce_window(
        wide, np.array(0, wide.dtype), jax.lax.add, window, steps, pad
    )
    include = mode["count_include_pad"]
    divisor = _divisor(x.shape[-n:], kernel, strides, pads, total.shape[-n:], include)
    return narrow(total / jnp.asarray(divisor, wide.dtype), x.dtype)


_POOL_DOC = r"""{Kind} pooling over {n} spatial dimension(s).

    .. math::

        y_{{\mathbf p}} = {formula}

    over the window at ``stride * p - padding``. {grad}

    Args:
      x: floating input ``(N, C, {spatial})`` or ``(C, {spatial})``.
      kernel_size: int or tuple of {n} ints >= 1. Default 1 (lucid).
      stride: int or tuple of {n} ints >= 1. Default 1 (lucid; PyTorch's
        default is the kernel size).
      padding: int or tuple, at most half the kernel. Default 0.
      ceil_mode: keyword-only; round output sizes up, as PyTorch (the extra
        windows reach past the padding, which they never count{choose}).
        Default ``False``.{include}

    Returns:
      The pooled array in ``x``'s dtype; spatial sizes
      ``(size + 2 pad - k) // stride + 1`` (rounded up with ``ceil_mode``,
      then one less if the last window would start past the input and the
      left padding).{half}

    Raises:
      ValueError: bad shapes, kernel larger than the input, bad padding.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional import {name}
      >>> x = jnp.arange(2.0 ** {n}).reshape((1, 1) + (2,) * {n})
      >>> {name}(x, kernel_size=2).reshape(-1).tolist()
      [{value}]
    """


def avg_pool1d(  # noqa: D103
    x, kernel_size=1, stride=1, padding=0, *, ceil_mode=False, count_include_pad=True
):
    mode = {"ceil_mode": ceil_mode, "count_include_pad": count_include_pad}
    return _pool(x, 1, "avg", kernel_size, stride, padding, **mode)


def avg_pool2d(  # noqa: D103
    x, kernel_size=1, stride=1, padding=0, *, ceil_mode=False, count_include_pad=True
):
    mode = {"ceil_mode": ceil_mode, "count_include_pad": count_include_pad}
    return _pool(x, 2, "avg", kernel_size, stride, padding, **mode)


def avg_pool3d(  # noqa: D103
    x, kernel_size=1, stride=1, padding=0, *, ceil_mode=False, count_include_pad=True
):
    mode = {"ceil_mode": ceil_mode, "count_include_pad": count_include_pad}
    return _pool(x, 3, "avg", kernel_size, stride, padding, **mode)


def max_pool1d(x, kernel_size=1, stride=1, padding=0, *, ceil_mode=False):  # noqa: D103
    return _pool(x, 1, "max", kernel_size, stride, padding, ceil_mode=ceil_mode)


def max_pool2d(x, kernel_size=1, stride=1, padding=0, *, ceil_mode=False):  # noqa: D103
    return _pool(x, 2, "max", kernel_size, stride, padding, ceil_mode=ceil_mode)


def max_pool3d(x, kernel_size=1, stride=1, padding=0, *, ceil_mode=False):  # noqa: D103
    return _pool(x, 3, "max", kernel_size, stride, padding, ceil_mode=ceil_mode)


_SPATIAL = {1: "L", 2: "H, W", 3: "D, H, W"}
for _fn, _n in (
    (avg_pool1d, 1),
    (avg_pool2d, 2),
    (avg_pool3d, 3),
    (max_pool1d, 1),
    (max_pool2d, 2),
    (max_pool3d, 3),
):
    _max = _fn.__name__.startswith("max")
    _fn.__doc__ = _POOL_DOC.format(
        Kind="Max" if _max else "Average",
        n=_n,
        name=_fn.__name__,
        spatial=_SPATIAL[_n],
        formula=r"\max_{\mathbf k} x_{\mathbf p, \mathbf k}"
        if _max
        else r"\frac{1}{\prod k} \sum_{\mathbf k} x_{\mathbf p, \mathbf k}",
        grad="The gradient goes to the window's maximum (the first one on ties, "
        "as PyTorch), or to its NaN where it holds one (the output is then NaN; "
        "with several NaNs, the first: PyTorch takes the last). Padding is never "
        "chosen: a window of padding and ``-inf`` outputs ``-inf`` and sends its "
        "gradient to its first element inside the input, as PyTorch."
        if _max
        else "The divisor is ``prod(k)``, or fewer where a ``ceil_mode`` window "
        "passes the padding or ``count_include_pad=False`` skips it; the "
        "gradient spreads evenly, 1/divisor to each window position.",
        value=float(2**_n - 1) if _max else (2**_n - 1) / 2,
        choose=" or choose" if _max else "",
        include=""
        if _max
        else "\n      count_include_pad: keyword-only; count padded zeros in each "
        "window's\n        divisor. Default ``True`` (lucid, PyTorch).",
        half=""
        if _max
        else "\n      float16 and bfloat16 windows are summed in float32 and the "
        "mean\n      rounded once, as PyTorch does.",
    )
