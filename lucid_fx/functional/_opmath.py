"""PyTorch's *opmath* for 16-bit floats: compute in float32, round once.

float16 and bfloat16 inputs are widened to float32 for the arithmetic and the
result is narrowed back to the input's dtype once at the end; float32 and
float64 take no extra cast (their programs are unchanged).
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from lucid_fx._typing import Array

HALF_DTYPES = (jnp.dtype(jnp.float16), jnp.dtype(jnp.bfloat16))


def widen(x: Array) -> Array:
    """``x`` in float32 if it is 16-bit, else ``x`` itself.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional._opmath import widen
      >>> widen(jnp.ones(2, jnp.float16)).dtype, widen(jnp.ones(2)).dtype
      (dtype('float32'), dtype('float32'))
    """
    return x.astype(jnp.float32) if x.dtype in HALF_DTYPES else x


def narrow(y: Array, dtype: Any) -> Array:
    """``y`` in ``dtype``, cast only if it is not already.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional._opmath import narrow
      >>> narrow(jnp.ones(2), jnp.float16).dtype
      dtype('float16')
    """
    return y if y.dtype == dtype else y.astype(dtype)
