"""lucid's type aliases (``lucid.types``), for code written against lucid.

The names and meanings of lucid 0.13's page *lucid.types*: hints only, for
signatures such as ``def scale(data: _ArrayOrScalar, factor: _Scalar)``.

Examples:
  >>> import numpy as np
  >>> from lucid_fx.types import _ArrayOrScalar, _Scalar, _ShapeLike
  >>> def scale(data: _ArrayOrScalar, factor: _Scalar) -> np.ndarray:
  ...     return np.asarray(data) * factor
  >>> shape: _ShapeLike = (2, 3)
  >>> scale([1.0, 2.0], 3).tolist(), shape
  ([3.0, 6.0], (2, 3))
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np

_Scalar: TypeAlias = int | float
"""A single number: an int or a float."""

_NumPyArray: TypeAlias = np.ndarray
"""A NumPy array."""

_ArrayOrScalar: TypeAlias = _Scalar | list[_Scalar] | _NumPyArray
"""A number, a list of numbers or a NumPy array."""

_ShapeLike: TypeAlias = list[int] | tuple[int, ...]
"""A shape: a list or tuple of ints."""

_ArrayLike: TypeAlias = list | _NumPyArray
"""Data NumPy reads as an array: a (nested) list or an array."""
