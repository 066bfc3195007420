"""``lucid_fx.linalg``: the pure functions of ``functional._linalg`` lifted."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from lucid_fx._tensor import lift, no_grad
from lucid_fx.functional import _linalg

_inv = lift(_linalg.inv, "linalg.inv")
_det = lift(_linalg.det, "linalg.det")
_solve = lift(_linalg.solve, "linalg.solve")
_cholesky = lift(_linalg.cholesky, "linalg.cholesky")
_matrix_power = lift(_linalg.matrix_power, "linalg.matrix_power")
_pinv = lift(_linalg.pinv, "linalg.pinv")
_norm = lift(_linalg.norm, "linalg.norm")
_qr_q = lift(_linalg.qr_q, "linalg.qr")
_qr_r = lift(_linalg.qr_r, "linalg.qr")
_svd_u = lift(_linalg.svd_u, "linalg.svd")
_svd_s = lift(_linalg.svd_s, "linalg.svd")
_svd_vh = lift(_linalg.svd_vh, "linalg.svd")
_eigvals = lift(_linalg.eigvals, "linalg.eig")
_eigvecs = lift(_linalg.eigvecs, "linalg.eig")


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

    A singular matrix gives ``inf``/NaN entries (XLA's LU does not raise;
    PyTorch raises).

    Args:
      a: a Tensor or array of shape ``(..., n, n)``.

    Returns:
      A Tensor of ``a``'s shape.

    Raises:
      ValueError: if ``a`` is not a (batch of) square matrices.

    Examples:
      >>> import lucid_fx
      >>> a = lucid_fx.Tensor([[2.0, 0.0], [0.0, 4.0]], requires_grad=True)
      >>> y = lucid_fx.linalg.inv(a)
      >>> y.tolist()
      [[0.5, 0.0], [0.0, 0.25]]
      >>> y.sum().backward()
      >>> a.grad.tolist()
      [[-0.25, -0.125], [-0.125, -0.0625]]
    """
    return _inv(a)


def det(a: Any) -> Any:
    r"""Determinant of a square matrix, batched over leading axes.

    .. math::

        y = \det A \qquad \frac{\partial y}{\partial A} = \operatorname{adj}(A)^\top

    The gradient is the cofactor matrix, finite for a singular matrix too, as
    in PyTorch.

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
      >>> y.item()
      0.0
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
      b: a vector of ``n`` or a matrix ``(..., n, k)`` of right-hand sides.

    Returns:
      A Tensor of ``b``'s shape.

    Raises:
      ValueError: if ``a`` is not square or ``b`` does not have ``n`` rows.

    Examples:
      >>> import lucid_fx
      >>> a = lucid_fx.Tensor([[3.0, 1.0], [1.0, 2.0]])
      >>> b = lucid_fx.Tensor([9.0, 8.0])
      >>> [round(v, 4) for v in lucid_fx.linalg.solve(a, b).tolist()]
      [2.0, 3.0]
    """
    return _solve(a, b)


def cholesky(a: Any) -> Any:
    r"""Lower-triangular Cholesky factor :math:`L` with :math:`L L^\top = A`.

    ``a`` must be symmetric positive definite; only its symmetric part is used
    (so the gradient is symmetric, as PyTorch's). A matrix that is not positive
    definite gives NaN (PyTorch raises).

    Args:
      a: a Tensor or array of shape ``(..., n, n)``.

    Returns:
      A lower-triangular Tensor of ``a``'s shape.

    Raises:
      ValueError: if ``a`` is not a (batch of) square matrices.

    Examples:
      >>> import lucid_fx
      >>> a = lucid_fx.Tensor([[4.0, 2.0], [2.0, 5.0]])
      >>> lucid_fx.linalg.cholesky(a).tolist()
      [[2.0, 0.0], [1.0, 2.0]]
    """
    return _cholesky(a)


def matrix_power(a: Any, n: int) -> Any:
    r"""The matrix product of ``n`` copies of ``a`` (of its inverse if ``n < 0``).

    .. math::

        Y = A^n, \quad A^0 = I

    Args:
      a: a Tensor or array of shape ``(..., m, m)``.
      n: an integer exponent.

    Returns:
      A Tensor of ``a``'s shape.

    Raises:
      TypeError: if ``n`` is not an int.
      ValueError: if ``a`` is not square.

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
    return _matrix_power(a, n=_int("matrix_power", "n", n))


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


def qr(a: Any) -> tuple[Any, Any]:
    r"""Reduced QR decomposition :math:`A = QR`.

    ``Q`` has orthonormal columns, ``R`` is upper triangular; the signs are
    LAPACK's (Householder), the same as NumPy's and PyTorch's. Both factors are
    differentiable.

    Args:
      a: a Tensor or array of shape ``(..., m, n)``.

    Returns:
      ``(Q, R)`` of shapes ``(..., m, k)`` and ``(..., k, n)``, ``k = min(m, n)``.

    Raises:
      ValueError: if ``a`` has fewer than 2 dimensions.

    Examples:
      >>> import lucid_fx
      >>> a = lucid_fx.Tensor([[3.0, 0.0], [4.0, 5.0]])
      >>> q, r = lucid_fx.linalg.qr(a)
      >>> [[round(v, 4) for v in row] for row in (q @ r).tolist()]
      [[3.0, 0.0], [4.0, 5.0]]
      >>> [[round(abs(v), 4) for v in row] for row in r.tolist()]
      [[5.0, 4.0], [0.0, 3.0]]
    """
    return _qr_q(a), _qr_r(a)


def svd(a: Any, full_matrices: bool = True) -> tuple[Any, Any, Any]:
    r"""Singular value decomposition :math:`A = U \operatorname{diag}(S) V^\top`.

    Returns NumPy's triple ``(U, S, Vh)`` with ``Vh`` = :math:`V^\top` (lucid's
    page calls it ``v``; lucid computes it with NumPy, so it is ``Vh`` there
    too). ``S`` is always differentiable; ``U`` and ``Vh`` are for square
    matrices or ``full_matrices=False``; the full ``U``/``Vh`` of a non-square
    matrix do not require grad (their extra columns have no derivative, and JAX
    implements none; PyTorch ignores those columns' gradients).

    Args:
      a: a Tensor or array of shape ``(..., m, n)``.
      full_matrices: ``U`` of ``(m, m)`` and ``Vh`` of ``(n, n)`` if ``True``
        (the default), else ``(m, k)`` and ``(k, n)`` with ``k = min(m, n)``.

    Returns:
      ``(U, S, Vh)``; ``S`` descending, of shape ``(..., k)``.

    Raises:
      ValueError: if ``a`` has fewer than 2 dimensions.

    Examples:
      >>> import lucid_fx
      >>> a = lucid_fx.Tensor([[3.0, 0.0], [0.0, -2.0]], requires_grad=True)
      >>> u, s, vh = lucid_fx.linalg.svd(a)
      >>> s.tolist()
      [3.0, 2.0]
      >>> s.sum().backward()
      >>> a.grad.tolist()
      [[1.0, 0.0], [0.0, -1.0]]
    """
    if not isinstance(full_matrices, bool):
        raise TypeError(
            f"linalg.svd: full_matrices must be True or False, got "
            f"{type(full_matrices).__name__} {full_matrices!r}."
        )
    shape = np.shape(getattr(a, "data", a))
    square = len(shape) >= 2 and shape[-1] == shape[-2]
    # The extra columns of a full U/Vh have no derivative: off the tape.
    with contextlib.nullcontext() if square or not full_matrices else no_grad():
        u = _svd_u(a, full_matrices=full_matrices)
        vh = _svd_vh(a, full_matrices=full_matrices)
    return u, _svd_s(a), vh


def eig(a: Any) -> tuple[Any, Any]:
    r"""Eigenvalues and unit eigenvectors (columns) of a square matrix.

    As lucid (NumPy), the results are real when every eigenvalue is real, and
    complex otherwise (PyTorch's ``linalg.eig`` is always complex). The
    eigenvalues are differentiable; the eigenvectors are not (JAX implements no
    eigenvector derivative for general matrices): they never require grad.
    XLA computes ``eig`` on the CPU.

    Args:
      a: a Tensor or array of shape ``(..., n, n)``.

    Returns:
      ``(values, vectors)`` of shapes ``(..., n)`` and ``(..., n, n)``.

    Raises:
      ValueError: if ``a`` is not square.

    Examples:
      >>> import lucid_fx
      >>> a = lucid_fx.Tensor([[4.0, -2.0], [1.0, 1.0]], requires_grad=True)
      >>> w, v = lucid_fx.linalg.eig(a)
      >>> [round(x, 4) for x in w.tolist()]
      [3.0, 2.0]
      >>> [[round(x, 4) for x in row] for row in v.tolist()]
      [[0.8944, 0.7071], [0.4472, 0.7071]]
      >>> w.sum().backward()
      >>> [[round(x, 4) for x in row] for row in a.grad.tolist()]
      [[1.0, 0.0], [0.0, 1.0]]
    """
    with no_grad():
        probe = _eigvals(a)
    real = bool(np.all(np.imag(np.asarray(probe)) == 0))
    with no_grad():
        vectors = _eigvecs(a, real=real)
    return _eigvals(a, real=real), vectors
