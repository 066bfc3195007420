"""Turning user data into JAX arrays, with the errors lucid users need."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx._typing import DTypeLike

_MSG_RAGGED = (
    "Tensor: data must be rectangular, got nested sequences of unequal lengths "
    "({detail}). Pad or trim the rows so every row has the same length."
)
_MSG_NON_NUMERIC = (
    "Tensor: data must be numbers, nested lists of numbers or an array, got "
    "{kind}. Convert it first, e.g. Tensor([1.0, 2.0])."
)


def is_float(dtype: Any) -> bool:
    """True for floating dtypes (bfloat16 included)."""
    return bool(jnp.issubdtype(dtype, jnp.floating))


def to_array(data: Any, dtype: DTypeLike | None) -> jax.Array:
    """A JAX array from an array, a number or nested lists.

    Python floats become float32 (lucid's default), Python ints the default int.
    """
    if isinstance(data, jax.Array):
        return data if dtype is None else data.astype(dtype)
    python_data = not isinstance(data, np.ndarray | np.generic)
    try:
        host = np.asarray(data)
    except ValueError as err:
        raise ValueError(_MSG_RAGGED.format(detail=err)) from None
    if host.dtype.kind not in "biuf" and host.dtype != jnp.bfloat16:
        raise TypeError(_MSG_NON_NUMERIC.format(kind=_describe(data, host)))
    if dtype is None and python_data and host.dtype == np.float64:
        dtype = jnp.float32
    if dtype is None and host.dtype == np.int64:
        dtype = jnp.result_type(int)
    return jnp.asarray(host, dtype=dtype)


def _describe(data: Any, host: np.ndarray) -> str:
    if host.dtype == object or host.dtype.kind in "USO":
        return f"{type(data).__name__} holding {host.dtype} values"
    return f"{type(data).__name__} of dtype {host.dtype}"
