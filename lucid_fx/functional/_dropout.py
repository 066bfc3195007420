"""Dropout (elementwise, channel-wise 1-3d, alpha): pure math with an explicit key.

Each function takes a JAX PRNG key and draws its own mask from it; the caller
owns the key (the Tensor level draws one from ``lucid_fx.random`` per call).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lucid_fx._typing import Array, ArrayLike
from lucid_fx.functional import _args
from lucid_fx.functional._activations import SELU_ALPHA, SELU_SCALE


def _prepare(x: ArrayLike, p: float, api: str) -> tuple[Array, float]:
    p = _args.probability(p, api)
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(f"{api}: input must be floating, got dtype {x.dtype}.")
    return x, p


def _masked(x: Array, key: Array, p: float, mask_shape: tuple) -> Array:
    if p == 1.0:
        return jnp.zeros_like(x)
    keep = jax.random.bernoulli(key, 1.0 - p, mask_shape)
    scale = jnp.array(1.0 / (1.0 - p), x.dtype)
    return jnp.where(keep, x * scale, jnp.zeros((), x.dtype))


def dropout(x: ArrayLike, key: Array, p: float = 0.5, training: bool = True) -> Array:
    r"""Zero each element with probability ``p``, scale the rest by ``1/(1-p)``.

    .. math::

        y = \frac{m \odot x}{1 - p}, \quad m_i \sim \mathrm{Bernoulli}(1 - p)
        \qquad \frac{\partial y}{\partial x} = \frac{m}{1 - p}

    ``p == 1`` gives zeros (gradient 0); ``training=False`` or ``p == 0``
    returns ``x`` unchanged.

    Args:
      x: floating array of any shape.
      key: a JAX PRNG key; the same key gives the same mask.
      p: drop probability in [0, 1]. Default 0.5.
      training: apply dropout; ``False`` is the identity. Default ``True``.

    Returns:
      An array of ``x``'s shape and dtype.

    Raises:
      ValueError: if ``p`` is outside [0, 1].

    Examples:
      >>> import jax
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional import dropout
      >>> y = dropout(jnp.ones(1000), jax.random.key(0), p=0.75)
      >>> sorted(set(y.tolist())), 150 < int((y > 0).sum()) < 350
      ([0.0, 4.0], True)
    """
    x, p = _prepare(x, p, "dropout")
    if not _args.flag(training, "dropout", "training") or p == 0.0:
        return x
    return _masked(x, key, p, x.shape)


def _channel_dropout(
    x: ArrayLike, key: Array, p: float, training: bool, n: int
) -> Array:
    api = f"dropout{n}d"
    x, p = _prepare(x, p, api)
    if x.ndim not in (n + 1, n + 2):
        raise ValueError(
            f"{api}: input must be (N, C, *{n} spatial) or (C, *{n} spatial), got "
            f"shape {tuple(x.shape)}."
        )
    if not _args.flag(training, api, "training") or p == 0.0:
        return x
    return _masked(x, key, p, x.shape[: x.ndim - n] + (1,) * n)


_CHANNEL_DOC = r"""Zero whole channels with probability ``p`` ({n}-D feature maps).

    Each ``(sample, channel)`` map of the input ``(N, C, {spatial})`` (or
    ``(C, {spatial})``) is kept and scaled by ``1/(1-p)`` or zeroed entirely,
    as ``torch.nn.functional.dropout{n}d``; gradient: the same mask and scale.

    Args:
      x: floating input ``(N, C, {spatial})`` or ``(C, {spatial})``.
      key: a JAX PRNG key.
      p: drop probability in [0, 1]. Default 0.5.
      training: apply dropout; ``False`` is the identity. Default ``True``.

    Returns:
      An array of ``x``'s shape and dtype.

    Examples:
      >>> import jax
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional import dropout{n}d
      >>> y = dropout{n}d(jnp.ones((2, 8) + (3,) * {n}), jax.random.key(1))
      >>> bool(((y == y.reshape(2, 8, -1)[..., :1].reshape((2, 8) + (1,) * {n})))
      ...      .all())
      True
    """


def dropout1d(x, key, p=0.5, training=True):  # noqa: D103
    return _channel_dropout(x, key, p, training, 1)


def dropout2d(x, key, p=0.5, training=True):  # noqa: D103
    return _channel_dropout(x, key, p, training, 2)


def dropout3d(x, key, p=0.5, training=True):  # noqa: D103
    return _channel_dropout(x, key, p, training, 3)


for _fn, _n, _spatial in (
    (dropout1d, 1, "L"),
    (dropout2d, 2, "H, W"),
    (dropout3d, 3, "D, H, W"),
):
    _fn.__doc__ = _CHANNEL_DOC.format(n=_n, spatial=_spatial)


def alpha_dropout(
    x: ArrayLike, key: Array, p: float = 0.5, training: bool = True
) -> Array:
    r"""Dropout that keeps SELU's zero mean and unit variance.

    .. math::

        y = a\left(m \odot x + \alpha' (1 - m)\right) + b, \quad
        \alpha' = -\lambda\alpha, \quad
        a = \left((1 - p)(1 + p \alpha'^2)\right)^{-1/2}, \quad
        b = -a \alpha' p

    with SELU's :math:`\lambda, \alpha`; gradient :math:`a\, m`. As
    ``torch.nn.functional.alpha_dropout``; ``p == 1`` gives zeros.

    Args:
      x: floating array of any shape.
      key: a JAX PRNG key.
      p: drop probability in [0, 1]. Default 0.5.
      training: apply dropout; ``False`` is the identity. Default ``True``.

    Returns:
      An array of ``x``'s shape and dtype.

    Examples:
      >>> import jax
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional import alpha_dropout
      >>> x = jax.random.normal(jax.random.key(0), (100_000,))
      >>> y = alpha_dropout(x, jax.random.key(1), p=0.2)
      >>> abs(float(y.mean())) < 0.02, abs(float(y.std()) - 1) < 0.02
      (True, True)
    """
    x, p = _prepare(x, p, "alpha_dropout")
    if not _args.flag(training, "alpha_dropout", "training") or p == 0.0:
        return x
    if p == 1.0:
        return jnp.zeros_like(x)
    alpha = -SELU_SCALE * SELU_ALPHA
    a = ((1.0 - p) * (1.0 + p * alpha**2)) ** -0.5
    b = -a * alpha * p
    keep = jax.random.bernoulli(key, 1.0 - p, x.shape)
    kept = jnp.where(keep, x, jnp.array(alpha, x.dtype))
    return (kept * jnp.array(a, x.dtype) + jnp.array(b, x.dtype)).astype(x.dtype)
