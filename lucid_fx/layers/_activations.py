"""Frozen configs of the configurable activations: ``ELU(alpha)``, ``GELU``.

Their settings are Python values, so they are pytree *metadata* (static): a
config has no array leaves, is hashable and can be closed over or passed as a
static argument to ``jax.jit``.
"""

from __future__ import annotations

import dataclasses

import jax

from lucid_fx._typing import Array, ArrayLike
from lucid_fx.functional import _args, elu, gelu


@dataclasses.dataclass(frozen=True)
class ELU:
    r"""Frozen configuration of an ELU layer; calling it applies the layer.

    .. math::

        y = \begin{cases} x & x > 0 \\ \alpha (e^x - 1) & \text{otherwise}
        \end{cases}

    See :func:`lucid_fx.functional.elu` (gradient ``alpha`` at 0).

    Args:
      alpha: scale of the negative branch, a finite number. Default ``1.0``.

    Raises:
      TypeError, ValueError: if ``alpha`` is not a finite real number.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx.layers import ELU
      >>> act = ELU(alpha=0.5)
      >>> act, act == ELU(0.5)
      (ELU(alpha=0.5), True)
      >>> act(jnp.array([0.0, 2.0])).tolist()
      [0.0, 2.0]
    """

    alpha: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "alpha", _args.number(self.alpha, "ELU", "alpha"))

    def __call__(self, x: ArrayLike) -> Array:
        """Apply :func:`lucid_fx.functional.elu` with this ``alpha``."""
        return elu(x, self.alpha)


@dataclasses.dataclass(frozen=True)
class GELU:
    r"""Frozen configuration of a GELU layer; calling it applies the layer.

    ``approximate="tanh"`` (lucid's default) or ``"none"`` (erf, PyTorch's
    default); see :func:`lucid_fx.functional.gelu`.

    Args:
      approximate: ``"tanh"`` (default) or ``"none"``.

    Raises:
      ValueError: for any other ``approximate``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx.layers import GELU
      >>> GELU()(jnp.array([0.0])).tolist(), GELU("none")
      ([0.0], GELU(approximate='none'))
    """

    approximate: str = "tanh"

    def __post_init__(self) -> None:
        if self.approximate not in ("tanh", "none"):
            raise ValueError(
                f"GELU: approximate must be 'tanh' or 'none', got {self.approximate!r}."
            )

    def __call__(self, x: ArrayLike) -> Array:
        """Apply :func:`lucid_fx.functional.gelu` with this approximation."""
        return gelu(x, self.approximate)


def register_static(cls: type) -> None:
    """Register a frozen config with no array leaves as a static pytree."""
    fields = [f.name for f in dataclasses.fields(cls)]

    def flatten(config: object) -> tuple[tuple[()], tuple]:
        return (), tuple(getattr(config, name) for name in fields)

    def unflatten(aux: tuple, _: tuple) -> object:
        config = object.__new__(cls)
        for name, value in zip(fields, aux, strict=True):
            object.__setattr__(config, name, value)
        return config

    jax.tree_util.register_pytree_node(cls, flatten, unflatten)


register_static(ELU)
register_static(GELU)
