"""Compiled temp memory, read from XLA's deterministic memory_analysis().

The layers' products are lucid_fx's (full float32 precision): with a GPU's
default TensorFloat-32 products XLA:GPU laid out one more activation-sized
buffer with leaky_relu than without any activation (H200, jax 0.11.2); with
lucid_fx's, none, as on XLA:CPU.
"""

import jax
import jax.numpy as jnp
import pytest

import lucid_fx
from lucid_fx.functional import leaky_relu

DEPTH, WIDTH, BATCH = 8, 1024, 512
ACTIVATION_BYTES = BATCH * WIDTH * 4  # one layer's float32 output


def _temp_bytes(act, dtype=jnp.float32):
    def loss(ws, x, t):
        h = x
        for w in ws:
            h = act(lucid_fx.matmul(h, w))
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


def test_jax_nn_leaky_relu_keeps_an_input_per_layer(no_activation_bytes):
    # jax.nn's gradient reads each activation's input: all but the last
    # layer's stay alive for the backward (4.5x no activation on XLA:CPU,
    # 1.9x on an H200, whose matmuls need more temp memory of their own).
    extra = _temp_bytes(jax.nn.leaky_relu) - no_activation_bytes
    assert extra >= (DEPTH - 1) * ACTIVATION_BYTES


def test_negative_slope_keeps_the_input():
    # The output no longer tells the branch: the input is an extra residual.
    assert _temp_bytes(lambda h: leaky_relu(h, -0.5)) > _temp_bytes(
        lambda h: leaky_relu(h, 0.5)
    )
