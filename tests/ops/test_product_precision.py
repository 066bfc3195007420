"""Matrix products are traced at full float32 precision, gradients included.

On a GPU, XLA computes a float32 product whose precision is left open in
TensorFloat-32 (10 mantissa bits); PyTorch's default and lucid's NumPy compute
in float32. Measured on an H200 before this rule: 50 SGD/Adam steps drifted
5e-4 to 4e-2 from PyTorch's. CPUs compute every precision the same, so these
tests read the precision fixed into each product of the traced program: the
forward's and the gradient's (a transposed product, a linear-algebra JVP rule).
"""

from __future__ import annotations

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest

import lucid_fx
import lucid_fx.nn as nn
import lucid_fx.nn.functional as F

PRODUCTS = ("dot_general", "conv_general_dilated")
HIGHEST = (jax.lax.Precision.HIGHEST, jax.lax.Precision.HIGHEST)
TF32 = (jax.lax.Precision.HIGH, jax.lax.Precision.HIGH)


def _jaxprs(value):
    """The jaxprs nested in an equation's parameter (one, or a tuple of them)."""
    if isinstance(value, jax.extend.core.ClosedJaxpr):
        yield value.jaxpr
    elif isinstance(value, jax.extend.core.Jaxpr):
        yield value
    elif isinstance(value, tuple | list):
        for v in value:
            yield from _jaxprs(v)


def _precisions(jaxpr) -> list:
    found = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name in PRODUCTS:
            found.append(eqn.params["precision"])
        for value in eqn.params.values():
            for inner in _jaxprs(value):
                found += _precisions(inner)
    return found


_rng = np.random.default_rng(0)


def _spd(n):
    a = _rng.normal(size=(n, n)).astype(np.float32)
    return jnp.asarray(a @ a.T + n * np.eye(n, dtype=np.float32))


def _arr(*shape):
    return jnp.asarray(_rng.normal(size=shape).astype(np.float32))


CASES = {
    "matmul": (lucid_fx.matmul, (_arr(3, 4), _arr(4, 2))),
    "matmul batched": (lucid_fx.matmul, (_arr(2, 3, 4), _arr(4, 5))),
    "dot": (lucid_fx.dot, (_arr(3, 4), _arr(4, 2))),
    "inner": (lucid_fx.inner, (_arr(3, 4), _arr(2, 4))),
    "F.linear": (F.linear, (_arr(5, 4), _arr(3, 4), _arr(3))),
    "F.bilinear": (F.bilinear, (_arr(5, 2), _arr(5, 3), _arr(4, 2, 3), _arr(4))),
    "F.conv1d": (F.conv1d, (_arr(2, 3, 8), _arr(4, 3, 3))),
    "F.conv2d": (F.conv2d, (_arr(2, 3, 6, 6), _arr(4, 3, 3, 3))),
    "F.conv3d": (F.conv3d, (_arr(1, 2, 4, 4, 4), _arr(3, 2, 2, 2, 2))),
    "linalg.inv": (lucid_fx.linalg.inv, (_spd(3),)),
    "linalg.solve": (lucid_fx.linalg.solve, (_spd(3), _arr(3, 2))),
    "linalg.matrix_power": (lambda a: lucid_fx.linalg.matrix_power(a, 3), (_spd(3),)),
    "linalg.pinv": (lucid_fx.linalg.pinv, (_arr(4, 3),)),
    "linalg.cholesky": (lucid_fx.linalg.cholesky, (_spd(3),)),
    "linalg.qr": (lambda a: lucid_fx.linalg.qr(a)[0], (_arr(4, 3),)),
    "linalg.svd": (
        lambda a: lucid_fx.linalg.svd(a, full_matrices=False)[0],
        (_arr(4, 3),),
    ),
}


def _traced(fn, args) -> list:
    """Precisions of the forward's products and of its gradient's."""
    forward = jax.make_jaxpr(fn)(*args)
    every = tuple(range(len(args)))  # weights' gradients too
    grad = jax.make_jaxpr(jax.grad(lambda *a: jnp.sum(fn(*a)), argnums=every))(*args)
    return _precisions(forward.jaxpr) + _precisions(grad.jaxpr)


@pytest.mark.parametrize("name", CASES)
def test_products_and_their_gradients_are_full_float32(name):
    fn, args = CASES[name]
    found = _traced(fn, args)
    assert found, f"{name}: no product traced (the test reads nothing)"
    assert all(p == HIGHEST for p in found), f"{name}: {found}"


# (JAX's own solvers fix HIGHEST for their products whatever the user sets.)
@pytest.mark.parametrize(
    "name", ["matmul", "F.linear", "F.conv2d", "linalg.matrix_power"]
)
def test_a_precision_the_user_set_for_jax_is_kept(name):
    fn, args = CASES[name]
    with jax.default_matmul_precision("tensorfloat32"):
        found = _traced(fn, args)
    assert found and all(p == TF32 for p in found), f"{name}: {found}"


def test_a_functionalized_model_and_its_gradient_are_full_float32():
    lucid_fx.random.seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.Flatten(), nn.Linear(12, 2))
    apply, params = lucid_fx.functionalize(model)
    x = _arr(4, 2, 4, 4)
    grad = jax.make_jaxpr(jax.grad(lambda p: jnp.sum(apply(p, x))))(params)
    found = _precisions(grad.jaxpr)
    assert len(found) >= 4 and all(p == HIGHEST for p in found), found
