"""Compiled temp memory, read from XLA's deterministic memory_analysis()."""

import jax
import jax.numpy as jnp
import pytest

from lucid_fx.functional import leaky_relu

DEPTH, WIDTH, BATCH = 8, 1024, 512


def _temp_bytes(act, dtype=jnp.float32):
    def loss(ws, x, t):
        h = x
        for w in ws:
            h = act(h @ w)
        return jnp.mean((h - t) ** 2)

    ws = [jax.ShapeDtypeStruct((WIDTH, WIDTH), dtype)] * DEPTH
    x = jax.ShapeDtypeStruct((BATCH, WIDTH), dtype)
    step = jax.jit(jax.value_and_grad(loss)).lower(ws, x, x).compile()
    return step.memory_analysis().temp_size_in_bytes


@pytest.fixture(scope="module")
def no_activation_bytes():
    return _temp_bytes(lambda h: h)


def test_output_saved_residual_costs_no_extra_memory(no_activation_bytes):
    assert _temp_bytes(lambda h: leaky_relu(h, 0.01)) == no_activation_bytes


def test_jax_nn_leaky_relu_needs_at_least_four_times_more(no_activation_bytes):
    assert _temp_bytes(jax.nn.leaky_relu) >= 4 * no_activation_bytes


def test_negative_slope_keeps_the_input():
    # The output no longer tells the branch: the input is an extra residual.
    assert _temp_bytes(lambda h: leaky_relu(h, -0.5)) > _temp_bytes(
        lambda h: leaky_relu(h, 0.5)
    )
