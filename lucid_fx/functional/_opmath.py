"""PyTorch's *opmath*: how lucid_fx's arithmetic is carried out.

float16 and bfloat16 inputs are widened to float32 for the arithmetic and the
result is narrowed back to the input's dtype once at the end; float32 and
float64 take no extra cast (their programs are unchanged).

Matrix products (matmul, linear, convolution, the linear algebra) run at full
float32 precision on every backend (``exact_products``), as PyTorch's default
and lucid's NumPy do, unless the user chose JAX's ``jax_default_matmul_precision``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import jax
import jax.numpy as jnp

from lucid_fx._typing import Array

HALF_DTYPES = (jnp.dtype(jnp.float16), jnp.dtype(jnp.bfloat16))
F = TypeVar("F", bound=Callable[..., Any])


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


def exact_products(fn: F) -> F:
    """``fn`` with every matrix product it traces at full float32 precision.

    On a GPU, XLA computes a float32 product whose precision is left open in
    TensorFloat-32: the operands rounded to 10 mantissa bits, a relative error
    of about :math:`2^{-11}` per product instead of float32's :math:`2^{-24}`.
    PyTorch's default (``torch.get_float32_matmul_precision() == "highest"``)
    and lucid's NumPy compute in float32 (PyTorch's cuDNN convolutions
    default to TensorFloat-32; lucid's do not), so ``fn`` runs under
    ``jax.default_matmul_precision("highest")``. The precision is fixed into
    each product when it is traced, so the gradients' products (a transpose of
    a forward product, a linear-algebra JVP rule applied while ``fn`` traces)
    carry it too; a rule JAX applies later, outside ``fn`` (``jax.grad`` of a
    ``jax.jit`` or ``jax.checkpoint`` around a QR), takes the precision in
    force then. A user who set JAX's ``jax_default_matmul_precision`` (e.g.
    ``"tensorfloat32"`` for speed) gets that instead. On CPU every precision
    computes the same.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from lucid_fx.functional._opmath import exact_products
      >>> mm = exact_products(jnp.matmul)
      >>> eqn = jax.make_jaxpr(mm)(jnp.ones((2, 2)), jnp.ones((2, 2))).eqns[-1]
      >>> str(eqn.params["precision"])
      '(Precision.HIGHEST, Precision.HIGHEST)'
    """

    @functools.wraps(fn)
    def exact(*args: Any, **kwargs: Any) -> Any:
        if jax.config.jax_default_matmul_precision is not None:
            return fn(*args, **kwargs)  # the user's choice
        with jax.default_matmul_precision("highest"):
            return fn(*args, **kwargs)

    return exact  # type: ignore[return-value]
