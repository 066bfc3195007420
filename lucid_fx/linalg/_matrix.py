"""``lucid_fx.linalg`` matrix functions: ``inv det solve cholesky matrix_power
pinv norm``, the pure functions of ``functional._linalg`` lifted."""

from __future__ import annotations

from typing import Any

import numpy as np

from lucid_fx._tensor import lift
from lucid_fx.functional import _linalg
from lucid_fx.linalg._singular import check_cholesky, check_lu

_inv = lift(_linalg.inv, "linalg.inv")
_det = lift(_linalg.det, "linalg.det")
_solve = lift(_linalg.solve, "linalg.solve")
_cholesky = lift(_linalg.cholesky, "linalg.cholesky")
_matrix_power = lift(_linalg.matrix_power, "linalg.matrix_power")
_pinv = lift(_linalg.pinv, "linalg.pinv")
_norm = lift(_linalg.norm, "linalg.norm")


def _int(op: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(
            f"linalg.{op}: {name} must be an int, got {type(value).__name__} {value!r}."
        )
    return int(value)


def inv(a: Any) -> Any:
    r"""Inverse of a square matrix, batched over leading axes.

    .. math::

        Y = A^{-1} \qquad \frac{\partial L}{\partial A} = -Y^\top G Y^\top

    A singular matrix (a zero pivot in its LU factorization) raises
    :class:`LinAlgError` on the eager path, as lucid and PyTorch do; traced
    (under ``jax.jit`` or ``lucid_fx.compile``) it cannot raise and gives
    XLA's ``inf``/NaN entries. A NaN in a matrix of ``a`` makes that matrix's
    result and gradient NaN on every backend, as PyTorch.

    Args:
      a: a Tensor or array of shape ``(..., n, n)``.

    Returns:
      A Tensor of ``a``'s shape.

    Raises:
      ValueError: if ``a`` is not a (batch of) square matrices.
      LinAlgError: (a ``ValueError``) if ``a`` is singular; the message names
        the zero pivot and the batch element, as PyTorch's.

    Examples:
      >>> import lucid_fx
      >>> a = lucid_fx.Tensor([[2.0, 0.0], [0.0, 4.0]], requires_grad=True)
      >>> y = lucid_fx.linalg.inv(a)
      >>> y.tolist()
      [[0.5, 0.0], [0.0, 0.25]]
      >>> y.sum().backward()
      >>> a.grad.tolist()
      [[-0.25, -0.125], [-0.125, -0.0625]]
      >>> try:
      ...     lucid_fx.linalg.inv(lucid_fx.Tensor([[1.0, 2.0], [2.0, 4.0]]))
      ... except lucid_fx.linalg.LinAlgError as e:
      ...     print(str(e)[:74])
      linalg.inv: the input matrix is singular: the diagonal element 2 of its LU
    """
    return check_lu("inv", _inv(a), a)


def det(a: Any) -> Any:
    r"""Determinant of a square matrix, batched over leading axes.

    .. math::

        y = \det A \qquad \frac{\partial y}{\partial A} = \operatorname{adj}(A)^\top

    The gradient is the cofactor matrix, finite for a singular matrix too, as
    in PyTorch. A NaN in a matrix makes its determinant and gradient NaN.

    Args:
      a: a Tensor or array of shape ``(..., n, n)``.

    Returns:
      A Tensor of shape ``a.shape[:-2]``.

    Raises:
      ValueError: if ``a`` is not a (batch of) square matrices.

    Examples:
      >>> import lucid_fx
      >>> a = lucid_fx.Tensor([[1.0, 2.0], [2.0, 4.0]], requires_grad=True)
      >>> y = lucid_fx.linalg.det(a)
      >>> y.item() == 0.0  # (-0.0 on a GPU)
      True
      >>> y.backward()
      >>> a.grad.tolist()
      [[4.0, -2.0], [-2.0, 1.0]]
    """
    return _det(a)


def solve(a: Any, b: Any) -> Any:
    r"""Solve :math:`A x = b` for ``x``.

    .. math::

        x = A^{-1} b \qquad \frac{\partial L}{\partial b} = A^{-\top} g,
        \quad \frac{\partial L}{\partial A} = -A^{-\top} g\, x^\top

    Args:
      a: a Tensor or array of shape ``(..., n, n)``.
      b: right-hand sides: a vector ``(n,)``, a batch of vectors of shape
        ``a.shape[:-1]`` (one per matrix, as PyTorch), or matrices
        ``(..., n, k)`` of ``k`` columns.

    Returns:
      A Tensor of ``b``'s shape, its batch axes broadcast with ``a``'s.

    A singular ``a`` raises :class:`LinAlgError` on the eager path (lucid,
    PyTorch), also beside a matrix holding NaN in its batch; traced it gives
    XLA's ``inf``/NaN. A NaN in a matrix of ``a`` makes its solutions and
    their gradients NaN on every backend.

    Raises:
      ValueError: if ``a`` is not square or ``b`` does not have ``n`` rows.
      LinAlgError: (a ``ValueError``) if ``a`` is singular.

    Examples:
      >>> import lucid_fx
      >>> a = lucid_fx.Tensor([[3.0, 1.0], [1.0, 2.0]])
      >>> b = lucid_fx.Tensor([9.0, 8.0])
      >>> [round(v, 4) for v in lucid_fx.linalg.solve(a, b).tolist()]
      [2.0, 3.0]
      >>> two = lucid_fx.Tensor([[[2.0, 0.0], [0.0, 4.0]], [[1.0, 0.0], [0.0, 2.0]]])
      >>> vectors = lucid_fx.Tensor([[2.0, 4.0], [3.0, 1.0]])  # one per matrix
      >>> lucid_fx.linalg.solve(two, vectors).tolist()
      [[1.0, 1.0], [3.0, 0.5]]
    """
    return check_lu("solve", _solve(a, b), a)


def cholesky(a: Any) -> Any:
    r"""Lower-triangular Cholesky factor :math:`L` with :math:`L L^\top = A`.

    ``a`` must be symmetric positive definite; only its symmetric part is used
    (so the gradient is symmetric, as PyTorch's). A matrix that is not positive
    definite (NaN in it included) raises :class:`LinAlgError` on the eager
    path, naming the leading minor that fails, as lucid and PyTorch; traced it
    gives XLA's NaN.

    Args:
      a: a Tensor or array of shape ``(..., n, n)``.

    Returns:
      A lower-triangular Tensor of ``a``'s shape.

    Raises:
      ValueError: if ``a`` is not a (batch of) square matrices.
      LinAlgError: (a ``ValueError``) if ``a`` is not positive definite.

    Examples:
      >>> import lucid_fx
      >>> a = lucid_fx.Tensor([[4.0, 2.0], [2.0, 5.0]])
      >>> lucid_fx.linalg.cholesky(a).tolist()
      [[2.0, 0.0], [1.0, 2.0]]
    """
    return check_cholesky(_cholesky(a), a)


def matrix_power(a: Any, n: int) -> Any:
    r"""The matrix product of ``n`` copies of ``a`` (of its inverse if ``n < 0``).

    .. math::

        Y = A^n, \quad A^0 = I

    Args:
      a: a Tensor or array of shape ``(..., m, m)``.
      n: an integer exponent.

    Returns:
      A Tensor of ``a``'s shape. For ``n < 0`` a matrix holding NaN gives
      NaN (value and gradient) on every backend, as ``inv`` and PyTorch.

    Raises:
      TypeError: if ``n`` is not an int.
      ValueError: if ``a`` is not square.
      LinAlgError: (a ``ValueError``) if ``n < 0`` and ``a`` is singular
        (eager path only, as ``inv``).

    Examples:
      >>> import lucid_fx
      >>> a = lucid_fx.Tensor([[2.0, 1.0], [1.0, 3.0]], requires_grad=True)
      >>> y = lucid_fx.linalg.matrix_power(a, 3)
      >>> y.tolist()
      [[15.0, 20.0], [20.0, 35.0]]
      >>> y.sum().backward()
      >>> a.grad.tolist()
      [[29.0, 37.0], [37.0, 46.0]]
    """
    n = _int("matrix_power", "n", n)
    out = _matrix_power(a, n=n)
    return check_lu("matrix_power", out, a) if n < 0 else out


def pinv(a: Any) -> Any:
    r"""Moore-Penrose pseudo-inverse :math:`A^+` (via the SVD).

    Args:
      a: a Tensor or array of shape ``(..., m, n)``.

    Returns:
      A Tensor of shape ``(..., n, m)``.

    Raises:
      ValueError: if ``a`` has fewer than 2 dimensions.

    Examples:
      >>> import lucid_fx
      >>> a = lucid_fx.Tensor([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
      >>> [[round(v, 4) for v in row] for row in lucid_fx.linalg.pinv(a).tolist()]
      [[1.0, 0.0, 0.0], [0.0, 0.5, 0.0]]
    """
    return _pinv(a)


def norm(
    a: Any,
    ord: float = 2,  # noqa: A002
    axis: Any = None,
    keepdims: bool = False,
) -> Any:
    r"""Entrywise :math:`p`-norm, as lucid documents it (PyTorch's ``vector_norm``).

    .. math::

        \|a\|_p = \Big(\sum_i |a_i|^p\Big)^{1/p}, \quad
        \|a\|_\infty = \max_i |a_i| \qquad
        \frac{\partial \|a\|_p}{\partial a_i} =
        \operatorname{sign}(a_i) \frac{|a_i|^{p-1}}{\|a\|_p^{p-1}}

    Over all elements by default (a matrix is treated as a vector of its
    entries, as lucid's formula says), or over ``axis``. At a zero vector the
    gradient is 0, as PyTorch's. For ``inf`` the gradient is split evenly among
    tied maxima.

    Args:
      a: a Tensor or array.
      ord: :math:`p`, a number >= 1 or ``inf``. Default 2.
      axis: an int, a tuple of ints or ``None`` (all elements).
      keepdims: keep the reduced axes with size 1. Default ``False``.

    Returns:
      A Tensor with the reduced axes removed.

    Raises:
      ValueError: for ``ord`` < 1.

    Examples:
      >>> import lucid_fx
      >>> a = lucid_fx.Tensor([3.0, 4.0], requires_grad=True)
      >>> n = lucid_fx.linalg.norm(a)
      >>> n.item(), lucid_fx.linalg.norm(a, ord=1).item()
      (5.0, 7.0)
      >>> n.backward()
      >>> [round(v, 4) for v in a.grad.tolist()]
      [0.6, 0.8]
    """
    if isinstance(axis, list):
        axis = tuple(axis)
    return _norm(a, ord=ord, axis=axis, keepdims=bool(keepdims))
