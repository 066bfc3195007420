"""Type aliases shared across lucid_fx."""

from __future__ import annotations

from typing import TypeAlias

import jax

Array: TypeAlias = jax.Array
ArrayLike: TypeAlias = jax.typing.ArrayLike
DTypeLike: TypeAlias = jax.typing.DTypeLike
Shape: TypeAlias = tuple[int, ...]
