"""PyTorch's default weight and bias initialisation, drawn in one compiled call.

``torch.nn.Linear`` and ``ConvNd`` start weight and bias uniform on
:math:`[-b, b]` with :math:`b = 1/\\sqrt{\\text{fan\\_in}}`. Drawing them as
separate eager JAX calls (split the global key, split again, two uniforms) costs
about ten dispatches; here the key split and both draws are one jitted call
whose static arguments (shapes, dtype, bound) key JAX's own bounded jit cache.
The numbers are exactly those of the eager sequence
``state, key = split(state); w_key, b_key = split(key)``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from lucid_fx import random
from lucid_fx._typing import DTypeLike
from lucid_fx.nn._parameter import Parameter


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _split_and_draw(
    state: jax.Array, weight_shape: tuple[int, ...], dtype: jnp.dtype, bound: float
) -> tuple[jax.Array, jax.Array, jax.Array]:
    state, key = jax.random.split(jax.random.wrap_key_data(state))
    w_key, b_key = jax.random.split(key)
    uniform = functools.partial(
        jax.random.uniform, dtype=dtype, minval=-bound, maxval=bound
    )
    weight, bias = uniform(w_key, weight_shape), uniform(b_key, weight_shape[:1])
    return jax.random.key_data(state), weight, bias


def uniform_weight_and_bias(
    weight_shape: tuple[int, ...],
    bound: float,
    bias: bool,
    dtype: DTypeLike = jnp.float32,
) -> tuple[Parameter, Parameter | None]:
    """Weight of ``weight_shape`` and bias of ``weight_shape[:1]``, U(-bound, bound).

    Advances :mod:`lucid_fx.random`'s generator once, as
    :func:`lucid_fx.random.next_key` does.

    Examples:
      >>> from lucid_fx.nn._init import uniform_weight_and_bias
      >>> w, b = uniform_weight_and_bias((2, 3), 0.5, bias=True)
      >>> w.shape, b.shape, bool((abs(w.numpy()) <= 0.5).all())
      ((2, 3), (2,), True)
    """
    state, weight, bias_values = _split_and_draw(
        random.get_rng_state_data(), tuple(weight_shape), jnp.dtype(dtype), float(bound)
    )
    random.set_rng_state_data(state)
    return Parameter(weight), (Parameter(bias_values) if bias else None)
