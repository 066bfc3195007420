"""``lucid_fx.linalg`` decompositions: ``qr svd eig``, lifted per factor."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from lucid_fx._tensor import lift, no_grad
from lucid_fx.functional import _linalg

_qr_q = lift(_linalg.qr_q, "linalg.qr")
_qr_r = lift(_linalg.qr_r, "linalg.qr")
_svd_u = lift(_linalg.svd_u, "linalg.svd")
_svd_s = lift(_linalg.svd_s, "linalg.svd")
_svd_vh = lift(_linalg.svd_vh, "linalg.svd")
_eigvals = lift(_linalg.eigvals, "linalg.eig")
_eigvecs = lift(_linalg.eigvecs, "linalg.eig")


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
