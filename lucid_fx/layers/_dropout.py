"""Frozen configs of the dropout layers: ``Dropout(p)`` and its variants.

``p`` is static pytree metadata; calling a config needs an explicit PRNG key.
"""

from __future__ import annotations

import dataclasses

from lucid_fx._typing import Array, ArrayLike
from lucid_fx.functional import (
    _args,
    alpha_dropout,
    dropout,
    dropout1d,
    dropout2d,
    dropout3d,
)
from lucid_fx.layers._activations import register_static

_FUNCTIONS = {
    "Dropout": dropout,
    "Dropout1d": dropout1d,
    "Dropout2d": dropout2d,
    "Dropout3d": dropout3d,
    "AlphaDropout": alpha_dropout,
}


@dataclasses.dataclass(frozen=True)
class Dropout:
    r"""Frozen configuration of a dropout layer; call it with an explicit key.

    ``config(x, key, training=True)`` applies
    :func:`lucid_fx.functional.dropout` (zero with probability ``p``, scale
    the rest by ``1/(1-p)``). The variants ``Dropout1d/2d/3d`` (whole
    channels) and ``AlphaDropout`` (SELU-preserving) share this interface.

    Args:
      p: drop probability in [0, 1]. Default 0.5.

    Raises:
      TypeError, ValueError: if ``p`` is not a number in [0, 1].

    Examples:
      >>> import jax
      >>> import jax.numpy as jnp
      >>> from lucid_fx.layers import Dropout
      >>> drop = Dropout(p=0.5)
      >>> drop, drop == Dropout(0.5)
      (Dropout(p=0.5), True)
      >>> sorted(set(drop(jnp.ones(100), jax.random.key(0)).tolist()))
      [0.0, 2.0]
      >>> drop(jnp.ones(2), jax.random.key(0), training=False).tolist()
      [1.0, 1.0]
    """

    p: float = 0.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "p", _args.probability(self.p, type(self).__name__))

    def __call__(self, x: ArrayLike, key: Array, training: bool = True) -> Array:
        """Apply this dropout with the given key."""
        return _FUNCTIONS[type(self).__name__](x, key, self.p, training)


@dataclasses.dataclass(frozen=True)
class Dropout1d(Dropout):
    """Channel dropout for ``(N, C, L)``; see :class:`Dropout`.

    Examples:
      >>> from lucid_fx.layers import Dropout1d
      >>> Dropout1d(0.25)
      Dropout1d(p=0.25)
    """


@dataclasses.dataclass(frozen=True)
class Dropout2d(Dropout):
    """Channel dropout for ``(N, C, H, W)``; see :class:`Dropout`.

    Examples:
      >>> from lucid_fx.layers import Dropout2d
      >>> Dropout2d(0.25)
      Dropout2d(p=0.25)
    """


@dataclasses.dataclass(frozen=True)
class Dropout3d(Dropout):
    """Channel dropout for ``(N, C, D, H, W)``; see :class:`Dropout`.

    Examples:
      >>> from lucid_fx.layers import Dropout3d
      >>> Dropout3d(0.25)
      Dropout3d(p=0.25)
    """


@dataclasses.dataclass(frozen=True)
class AlphaDropout(Dropout):
    """SELU-preserving dropout; see :func:`lucid_fx.functional.alpha_dropout`.

    Examples:
      >>> from lucid_fx.layers import AlphaDropout
      >>> AlphaDropout(0.25)
      AlphaDropout(p=0.25)
    """


for _cls in (Dropout, Dropout1d, Dropout2d, Dropout3d, AlphaDropout):
    register_static(_cls)
