"""Products of two tensors: ``matmul dot inner outer``."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from lucid_fx._tensor import _checks
from lucid_fx._tensor._ops import lift
from lucid_fx.functional._opmath import exact_products

_MSG_MATMUL = (
    "matmul: shapes {a} and {b} are not aligned: the last dimension of the left "
    "operand ({k1}) must equal the {which} dimension of the right operand ({k2})."
)
_MSG_CONTRACT = (
    "{op}: shapes {a} and {b} are not aligned: {detail}. Make the contracted "
    "dimensions equal."
)


def _shapes(a: Any, b: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return _checks.shape_of(a), _checks.shape_of(b)


@exact_products
def _matmul(a: jax.Array, b: jax.Array) -> jax.Array:
    r"""Matrix product with NumPy's rules: batched over leading axes.

    .. math::

        Y = A B \qquad \frac{\partial L}{\partial A} = G B^\top, \quad
        \frac{\partial L}{\partial B} = A^\top G

    A 1-D operand is a vector (a row on the left, a column on the right); leading
    axes broadcast. ``a @ b`` calls this.

    Args:
      a: a Tensor or array with at least 1 dimension.
      b: a Tensor or array with at least 1 dimension.

    Returns:
      A Tensor of the broadcast batch shape times the matrix shape.

    Raises:
      ValueError: if an operand is 0-d or the inner dimensions differ.

    Examples:
      >>> import lucid_fx
      >>> a = lucid_fx.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
      >>> b = lucid_fx.Tensor([[5.0, 6.0], [7.0, 8.0]], requires_grad=True)
      >>> y = lucid_fx.matmul(a, b)
      >>> y.tolist()
      [[19.0, 22.0], [43.0, 50.0]]
      >>> y.sum().backward()
      >>> a.grad.tolist(), b.grad.tolist()
      ([[11.0, 15.0], [11.0, 15.0]], [[4.0, 4.0], [6.0, 6.0]])
    """
    sa, sb = _shapes(a, b)
    if not sa or not sb:
        raise ValueError(f"matmul: operands must be at least 1-D, got {sa} and {sb}.")
    which = "first" if len(sb) == 1 else "second-to-last"
    k2 = sb[0] if len(sb) == 1 else sb[-2]
    if sa[-1] != k2:
        raise ValueError(_MSG_MATMUL.format(a=sa, b=sb, k1=sa[-1], k2=k2, which=which))
    return jnp.matmul(a, b)


@exact_products
def _dot(a: jax.Array, b: jax.Array) -> jax.Array:
    r"""NumPy's ``dot``: inner product of vectors, matrix product of matrices.

    .. math::

        y = \sum_k a_{\dots k}\, b_{\dots k \dots}

    For 1-D operands the inner product; for 2-D the matrix product; a scalar
    multiplies; otherwise the sum over the last axis of ``a`` and the
    second-to-last of ``b``. (PyTorch's ``dot`` takes vectors only.)

    Args:
      a: a Tensor, array or number.
      b: a Tensor, array or number.

    Returns:
      A Tensor (0-d for two vectors).

    Raises:
      ValueError: if the contracted dimensions differ.

    Examples:
      >>> import lucid_fx
      >>> a = lucid_fx.Tensor([1.0, 2.0, 3.0], requires_grad=True)
      >>> b = lucid_fx.Tensor([4.0, 5.0, 6.0], requires_grad=True)
      >>> y = lucid_fx.dot(a, b)
      >>> y.item()
      32.0
      >>> y.backward()
      >>> a.grad.tolist(), b.grad.tolist()
      ([4.0, 5.0, 6.0], [1.0, 2.0, 3.0])
    """
    sa, sb = _shapes(a, b)
    if sa and sb:
        k2 = sb[0] if len(sb) == 1 else sb[-2]
        if sa[-1] != k2:
            detail = f"a's last dimension {sa[-1]} != b's contracted dimension {k2}"
            raise ValueError(_MSG_CONTRACT.format(op="dot", a=sa, b=sb, detail=detail))
    return jnp.dot(a, b)


@exact_products
def _inner(a: jax.Array, b: jax.Array) -> jax.Array:
    r"""Inner product over the last axis of both operands (NumPy's ``inner``).

    .. math::

        y_{i\dots,j\dots} = \sum_k a_{i\dots k}\, b_{j\dots k}

    Args:
      a: a Tensor, array or number.
      b: a Tensor, array or number with the same last dimension.

    Returns:
      A Tensor of shape ``a.shape[:-1] + b.shape[:-1]``.

    Raises:
      ValueError: if the last dimensions differ.

    Examples:
      >>> import lucid_fx
      >>> a = lucid_fx.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
      >>> b = lucid_fx.Tensor([[5.0, 6.0], [7.0, 8.0]], requires_grad=True)
      >>> y = lucid_fx.inner(a, b)
      >>> y.tolist()
      [[17.0, 23.0], [39.0, 53.0]]
      >>> y.sum().backward()
      >>> a.grad.tolist(), b.grad.tolist()
      ([[12.0, 14.0], [12.0, 14.0]], [[4.0, 6.0], [4.0, 6.0]])
    """
    sa, sb = _shapes(a, b)
    if sa and sb and sa[-1] != sb[-1]:
        detail = f"last dimensions {sa[-1]} and {sb[-1]} differ"
        raise ValueError(_MSG_CONTRACT.format(op="inner", a=sa, b=sb, detail=detail))
    return jnp.inner(a, b)


def _outer(a: jax.Array, b: jax.Array) -> jax.Array:
    r"""Outer product of the flattened operands (NumPy's ``outer``).

    .. math::

        Y_{ij} = a_i b_j \qquad \frac{\partial L}{\partial a_i} = \sum_j G_{ij} b_j

    Args:
      a: a Tensor, array or number (flattened).
      b: a Tensor, array or number (flattened).

    Returns:
      A Tensor of shape ``(a.size, b.size)``.

    Examples:
      >>> import lucid_fx
      >>> a = lucid_fx.Tensor([1.0, 2.0], requires_grad=True)
      >>> b = lucid_fx.Tensor([3.0, 4.0], requires_grad=True)
      >>> y = lucid_fx.outer(a, b)
      >>> y.tolist()
      [[3.0, 4.0], [6.0, 8.0]]
      >>> y.sum().backward()
      >>> a.grad.tolist(), b.grad.tolist()
      ([7.0, 7.0], [3.0, 3.0])
    """
    return jnp.outer(a, b)


matmul = lift(_matmul, "matmul", operands=("a", "b"))
dot = lift(_dot, "dot", operands=("a", "b"))
inner = lift(_inner, "inner", operands=("a", "b"))
outer = lift(_outer, "outer", operands=("a", "b"))
