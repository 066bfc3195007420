"""Normalization (batch, layer, instance): pure math.

Outputs use the biased variance (as PyTorch and lucid); running statistics are
a separate pure update (:func:`batch_norm_stats`) with the unbiased variance,
so the stateful layer above can store them as buffers.

float16 and bfloat16 inputs are normalized in float32 and rounded once at the
end, as PyTorch does: in 16 bits the squared deviations overflow float16 once
``|x - mean| > 256``. Running statistics keep their own dtype.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np

from lucid_fx._typing import Array, ArrayLike
from lucid_fx._validate import check_concrete
from lucid_fx.functional import _args
from lucid_fx.functional._opmath import narrow as _narrow
from lucid_fx.functional._opmath import widen as _widen

_MSG_NOT_FLOAT = (
    "{api}: input must be a floating tensor (float16, bfloat16, float32 or "
    "float64), got dtype {dtype}. Convert it first, e.g. x.astype(jnp.float32) "
    "(Tensor: x.float())."
)
_MSG_SHAPE_TYPE = (
    "{api}: normalized_shape must be an int or a tuple of ints, got "
    "{type} {value!r}. Pass e.g. normalized_shape=(4,)."
)


def check_floating(dtype: object, api: str) -> None:
    """Raise ``TypeError`` unless ``dtype`` is a floating dtype (PyTorch's
    normalizations reject integer and bool inputs)."""
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(_MSG_NOT_FLOAT.format(api=api, dtype=np.dtype(dtype)))


def normalized_shape_arg(value: object, api: str = "layer_norm") -> tuple:
    """``normalized_shape`` as a tuple of ints: an int, a numpy integer or a
    sequence of them (floats and bools raise ``TypeError``, as PyTorch)."""
    listed = value.tolist() if isinstance(value, np.ndarray) else value
    items = listed if isinstance(listed, Sequence) else (listed,)
    if isinstance(value, str) or any(_not_int(d) for d in items):
        check_concrete(value, api, "normalized_shape")
        raise TypeError(
            _MSG_SHAPE_TYPE.format(api=api, type=type(value).__name__, value=value)
        )
    return tuple(int(d) for d in items)


def _not_int(value: object) -> bool:
    return isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer)


def _channel_shape(x: Array) -> tuple:
    return (1, -1) + (1,) * (x.ndim - 2)


def _affine(y: Array, weight: ArrayLike | None, bias: ArrayLike | None, shape):
    if weight is not None:
        y = y * jnp.asarray(weight).astype(y.dtype).reshape(shape)
    if bias is not None:
        y = y + jnp.asarray(bias).astype(y.dtype).reshape(shape)
    return y


def _check_channels(x: Array, api: str, *named: tuple) -> None:
    if x.ndim < 2:
        raise ValueError(
            f"{api}: input must be (N, C, ...), got shape {tuple(x.shape)}."
        )
    for name, value in named:
        if value is not None and tuple(jnp.shape(value)) != (x.shape[1],):
            raise ValueError(
                f"{api}: {name} must have shape ({x.shape[1]},) for input of shape "
                f"{tuple(x.shape)} (one per channel), got {tuple(jnp.shape(value))}."
            )


def _checked(
    api: str,
    x: ArrayLike,
    running_mean: ArrayLike | None,
    running_var: ArrayLike | None,
    weight: ArrayLike | None,
    bias: ArrayLike | None,
    training: object,
    momentum: object,
    eps: object,
) -> tuple[Array, float]:
    """The checks batch_norm and instance_norm share, in order: ``x`` as an
    array and ``eps`` as a float."""
    _args.flag(training, api, "training")
    _args.number(momentum, api, "momentum", low=0.0)
    eps = _args.number(eps, api, "eps", low=0.0)
    x = jnp.asarray(x)
    check_floating(x.dtype, api)
    named = (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    )
    _check_channels(x, api, *named)
    return x, eps


def _standardize(x: Array, mean: Array, var: Array, eps: float) -> Array:
    return (x - mean) / jnp.sqrt(var + jnp.array(eps, x.dtype))


def _normalize(x: Array, axes: tuple, eps: float) -> Array:
    mean = x.mean(axes, keepdims=True)
    return _standardize(x, mean, ((x - mean) ** 2).mean(axes, keepdims=True), eps)


def _normalize_running(
    x: Array, running_mean: ArrayLike, running_var: ArrayLike, eps: float
) -> Array:
    shape = _channel_shape(x)
    mean = jnp.asarray(running_mean).astype(x.dtype).reshape(shape)
    var = jnp.asarray(running_var).astype(x.dtype).reshape(shape)
    return _standardize(x, mean, var, eps)


def batch_norm(
    x: ArrayLike,
    running_mean: ArrayLike | None,
    running_var: ArrayLike | None,
    weight: ArrayLike | None = None,
    bias: ArrayLike | None = None,
    training: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Array:
    r"""Batch normalization over ``(N, C, ...)`` per channel.

    .. math::

        y = \frac{x - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}}\,\gamma_c + \beta_c

    In training, :math:`\mu, \sigma^2` are the batch mean and biased variance
    over every axis but the channel axis (gradients flow through them, as
    PyTorch); otherwise they are ``running_mean`` and ``running_var``
    (constants). ``momentum`` only matters to :func:`batch_norm_stats`, the
    running-statistics update; it is accepted here for lucid's signature.

    Args:
      x: floating input ``(N, C, *)``.
      running_mean: ``(C,)`` or ``None`` (then batch statistics are used even
        when not training).
      running_var: ``(C,)`` or ``None``.
      weight: scale :math:`\gamma` ``(C,)`` or ``None``.
      bias: shift :math:`\beta` ``(C,)`` or ``None``.
      training: use batch statistics. Default ``True``.
      momentum: running-statistics factor in [0, 1]. Default 0.1.
      eps: added to the variance, >= 0. Default ``1e-5``.

    Returns:
      An array of ``x``'s shape and dtype; float16 and bfloat16 are normalized
      in float32 and rounded once.

    Raises:
      TypeError: ``x`` is not floating (integer and bool inputs raise, as
        PyTorch).
      ValueError: bad shapes, or a training batch with one value per channel.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional import batch_norm
      >>> x = jnp.array([[1.0, 10.0], [3.0, 30.0]])
      >>> batch_norm(x, None, None, eps=0.0).tolist()
      [[-1.0, -1.0], [1.0, 1.0]]
    """
    args = (running_mean, running_var, weight, bias, training, momentum, eps)
    x, eps = _checked("batch_norm", x, *args)
    dtype, x = x.dtype, _widen(x)
    shape = _channel_shape(x)
    axes = (0,) + tuple(range(2, x.ndim))
    if training or running_mean is None or running_var is None:
        if training and x.size // x.shape[1] <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when "
                f"training, got input of shape {tuple(x.shape)}."
            )
        y = _normalize(x, axes, eps)
    else:
        y = _normalize_running(x, running_mean, running_var, eps)
    return _narrow(_affine(y, weight, bias, shape), dtype)


def batch_norm_stats(
    x: ArrayLike,
    running_mean: ArrayLike,
    running_var: ArrayLike,
    momentum: ArrayLike = 0.1,
    per_instance: bool = False,
) -> Array:
    r"""Updated running statistics, stacked as ``(2, C)``: mean, then variance.

    .. math::

        \hat\mu \leftarrow (1 - m)\,\hat\mu + m\,\mu_{\text{batch}}, \qquad
        \hat\sigma^2 \leftarrow (1 - m)\,\hat\sigma^2 + m\,
        \frac{n}{n - 1}\sigma^2_{\text{batch}}

    with :math:`n` the values per channel (PyTorch's unbiased update). With
    ``per_instance=True`` (instance norm) the statistics are per sample over
    the spatial axes, then averaged over the batch.

    Args:
      x: floating input ``(N, C, *)``.
      running_mean: ``(C,)``.
      running_var: ``(C,)``.
      momentum: ``m`` in [0, 1] (a number or a scalar array). Default 0.1.
      per_instance: instance-norm statistics. Default ``False``.

    Returns:
      ``(2, C)`` in ``running_mean``'s dtype.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional import batch_norm_stats
      >>> x = jnp.array([[1.0], [3.0]])
      >>> batch_norm_stats(x, jnp.zeros(1), jnp.ones(1), momentum=0.5).tolist()
      [[1.0], [1.5]]
    """
    x = _widen(jnp.asarray(x))
    rm, rv = jnp.asarray(running_mean), jnp.asarray(running_var)
    if per_instance:
        axes = tuple(range(2, x.ndim))
        n = max(x.size // (x.shape[0] * x.shape[1]), 1)
        mean = x.mean(axes).mean(0)
        var = x.var(axes).mean(0)
    else:
        axes = (0,) + tuple(range(2, x.ndim))
        n = max(x.size // x.shape[1], 1)
        mean, var = x.mean(axes), x.var(axes)
    unbiased = var * (n / max(n - 1, 1))
    new_mean = _running_update(rm, mean, momentum)
    return jnp.stack([new_mean, _running_update(rv, unbiased, momentum)])


def _running_update(running: Array, batch: Array, momentum: ArrayLike) -> Array:
    """``(1 - m) * running + m * batch`` in ``running``'s dtype, computed in
    float32 when that dtype is 16-bit (PyTorch: 18000.9 rounds to 18000 in
    float16, where a float16 batch variance of 180000 would be inf)."""
    wide = _widen(running)
    m = jnp.asarray(momentum).astype(wide.dtype)
    return _narrow((1 - m) * wide + m * batch.astype(wide.dtype), running.dtype)


def layer_norm(
    x: ArrayLike,
    normalized_shape: int | tuple,
    weight: ArrayLike | None = None,
    bias: ArrayLike | None = None,
    eps: float = 1e-5,
) -> Array:
    r"""Layer normalization over the trailing ``normalized_shape`` axes.

    .. math::

        y = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} \odot \gamma + \beta

    with :math:`\mu, \sigma^2` (biased) over the last
    ``len(normalized_shape)`` axes of each sample; ``weight``/``bias`` have
    shape ``normalized_shape``.

    Args:
      x: floating input ``(*, *normalized_shape)``.
      normalized_shape: int or tuple of ints (numpy integers too); must
        equal ``x``'s trailing shape.
      weight: ``normalized_shape`` or ``None``.
      bias: ``normalized_shape`` or ``None``.
      eps: added to the variance, >= 0. Default ``1e-5``.

    Returns:
      An array of ``x``'s shape and dtype; float16 and bfloat16 are normalized
      in float32 and rounded once.

    Raises:
      TypeError: ``x`` is not floating, or ``normalized_shape`` holds a
        float or bool (as PyTorch).
      ValueError: ``normalized_shape`` is not ``x``'s trailing shape.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional import layer_norm
      >>> layer_norm(jnp.array([[1.0, 3.0]]), 2, eps=0.0).tolist()
      [[-1.0, 1.0]]
    """
    api = "layer_norm"
    x = jnp.asarray(x)
    check_floating(x.dtype, api)
    shape = normalized_shape_arg(normalized_shape, api)
    eps = _args.number(eps, api, "eps", low=0.0)
    k = len(shape)
    if k == 0 or x.shape[x.ndim - k :] != shape or x.ndim < k:
        raise ValueError(
            f"layer_norm: normalized_shape {shape} must equal the input's trailing "
            f"dimensions, got input of shape {tuple(x.shape)}."
        )
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and tuple(jnp.shape(value)) != shape:
            raise ValueError(
                f"layer_norm: {name} must have shape {shape}, got "
                f"{tuple(jnp.shape(value))}."
            )
    y = _normalize(_widen(x), tuple(range(x.ndim - k, x.ndim)), eps)
    return _narrow(_affine(y, weight, bias, shape), x.dtype)


def instance_norm(
    x: ArrayLike,
    running_mean: ArrayLike | None = None,
    running_var: ArrayLike | None = None,
    weight: ArrayLike | None = None,
    bias: ArrayLike | None = None,
    training: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Array:
    r"""Instance normalization: per sample and channel, over the spatial axes.

    .. math::

        y_{n,c} = \frac{x_{n,c} - \mu_{n,c}}{\sqrt{\sigma^2_{n,c} + \epsilon}}
        \gamma_c + \beta_c

    ``training=True`` (PyTorch's ``use_input_stats``) uses each instance's
    statistics; ``False`` uses the running ones. Arguments in lucid's order.

    Args:
      x: floating input ``(N, C, *spatial)``.
      running_mean: ``(C,)`` or ``None``.
      running_var: ``(C,)`` or ``None``.
      weight: ``(C,)`` or ``None``.
      bias: ``(C,)`` or ``None``.
      training: use instance statistics. Default ``True``.
      momentum: running-statistics factor. Default 0.1.
      eps: added to the variance. Default ``1e-5``.

    Returns:
      An array of ``x``'s shape and dtype; float16 and bfloat16 are normalized
      in float32 and rounded once.

    Raises:
      TypeError: ``x`` is not floating (as PyTorch).
      ValueError: bad shapes, or one spatial element per instance while
        instance statistics are used (its variance is 0), as PyTorch.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional import instance_norm
      >>> instance_norm(jnp.array([[[1.0, 3.0]]]), eps=0.0).tolist()
      [[[-1.0, 1.0]]]
    """
    args = (running_mean, running_var, weight, bias, training, momentum, eps)
    x, eps = _checked("instance_norm", x, *args)
    if x.ndim < 3:
        raise ValueError(
            f"instance_norm: input must be (N, C, *spatial), got shape "
            f"{tuple(x.shape)}."
        )
    dtype, x = x.dtype, _widen(x)
    shape = _channel_shape(x)
    if training or running_mean is None or running_var is None:
        if math.prod(x.shape[2:]) == 1:
            raise ValueError(
                f"instance_norm: expected more than 1 spatial element when "
                f"using instance statistics (training), got input of shape "
                f"{tuple(x.shape)}."
            )
        y = _normalize(x, tuple(range(2, x.ndim)), eps)
    else:
        y = _normalize_running(x, running_mean, running_var, eps)
    return _narrow(_affine(y, weight, bias, shape), dtype)
