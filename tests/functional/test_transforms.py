"""One table covers every JAX transform of leaky_relu against the reference."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lucid_fx.functional import leaky_relu
from tests import reference

SLOPE = 0.25
X = np.array([[-2.0, -0.5, 0.0, 1.0], [3.0, -4.0, 0.5, -0.0]])


def _loss(x):
    return (leaky_relu(x, SLOPE) * jnp.arange(1.0, 5.0)).sum()


def _row_weights():
    return np.arange(1.0, 5.0)


def _expected_grad(x):
    return reference.leaky_relu_grad(x, SLOPE) * _row_weights()


def _scan_apply(x):
    def step(carry, row):
        return carry + leaky_relu(row, SLOPE).sum(), leaky_relu(row, SLOPE)

    return jax.lax.scan(step, jnp.float32(0), x)


TRANSFORMS = {
    "grad": (lambda x: jax.grad(_loss)(x), lambda x: _expected_grad(x)),
    "value_and_grad": (
        lambda x: jax.value_and_grad(_loss)(x)[1],
        lambda x: _expected_grad(x),
    ),
    "jacrev": (
        lambda x: jax.jacrev(lambda v: leaky_relu(v, SLOPE))(x[0]),
        lambda x: np.diag(reference.leaky_relu_grad(x[0], SLOPE)),
    ),
    "grad_of_grad": (
        lambda x: jax.grad(lambda v: jax.grad(_loss)(v).sum())(x),
        lambda x: np.zeros_like(x),
    ),
    "vmap": (
        lambda x: jax.vmap(lambda r: leaky_relu(r, SLOPE))(x),
        lambda x: reference.leaky_relu(x, SLOPE),
    ),
    "vmap_of_grad": (
        lambda x: jax.vmap(jax.grad(lambda r: leaky_relu(r, SLOPE).sum()))(x),
        lambda x: reference.leaky_relu_grad(x, SLOPE),
    ),
    "jit_of_vmap_of_grad": (
        lambda x: jax.jit(jax.vmap(jax.grad(lambda r: leaky_relu(r, SLOPE).sum())))(x),
        lambda x: reference.leaky_relu_grad(x, SLOPE),
    ),
    "checkpoint": (
        lambda x: jax.grad(jax.checkpoint(_loss))(x),
        lambda x: _expected_grad(x),
    ),
    "scan": (
        lambda x: _scan_apply(x)[1],
        lambda x: reference.leaky_relu(x, SLOPE),
    ),
    "grad_of_scan": (
        lambda x: jax.grad(lambda v: _scan_apply(v)[0])(x),
        lambda x: reference.leaky_relu_grad(x, SLOPE),
    ),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
@pytest.mark.parametrize("wrap", [lambda f: f, jax.jit], ids=["eager", "jit"])
def test_transform_matches_reference(name, wrap):
    fn, expected = TRANSFORMS[name]
    out = wrap(fn)(jnp.asarray(X, jnp.float32))
    np.testing.assert_allclose(np.asarray(out), expected(X), rtol=1e-6)


def test_grad_of_grad_wrt_array_slope():
    # d/da sum(g * a * x) over x <= 0 is linear in a: second derivative is 0,
    # first derivative is the reference slope cotangent.
    x = jnp.asarray(X, jnp.float32)
    first = jax.grad(lambda a: leaky_relu(x, a).sum())(jnp.float32(SLOPE))
    second = jax.grad(jax.grad(lambda a: leaky_relu(x, a).sum()))(jnp.float32(SLOPE))
    assert float(first) == reference.leaky_relu_slope_grad(X)
    assert float(second) == 0.0
