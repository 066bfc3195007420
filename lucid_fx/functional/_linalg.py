"""Pure linear algebra behind ``lucid_fx.linalg``: arrays in, arrays out.

Each function checks shapes at trace time, with errors that name the public
``linalg`` function, and is safe under ``jit``/``vmap``/``grad``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx.functional._opmath import exact_products

_MSG_MATRIX = (
    "linalg.{op}: expects a {kind}matrix (or a batch of them) in the last two "
    "axes, got shape {shape}."
)
_MSG_ORD = (
    "linalg.norm: ord must be a number >= 1 or inf, got {ord!r}. Pass e.g. "
    "ord=2 (Euclidean) or ord=1."
)


def _matrix(op: str, a: jax.Array, square: bool = True) -> None:
    shape = tuple(np.shape(a))
    if len(shape) < 2 or (square and shape[-1] != shape[-2]):
        kind = "square " if square else ""
        raise ValueError(_MSG_MATRIX.format(op=op, kind=kind, shape=shape))


def _nan_in_nan_out(a: jax.Array, out: jax.Array, core: int) -> jax.Array:
    """``out`` with NaN wherever its matrix in ``a`` holds a NaN, as PyTorch;
    ``core``: how many trailing axes of ``out`` one matrix gives (2 for a
    matrix, 1 for a vector, 0 for a number), the rest broadcast batch axes.

    LAPACK's LU carries a NaN through; cuSOLVER's (XLA:GPU) can return finite
    numbers for it: inv([[nan, 1], [1, 1]]) gave [[-1, 1], [1, 0]] on an H200.
    The value is multiplied by NaN or 1. The gradient: the solver's own rule
    can turn that NaN cotangent finite again (det's did on the H200), so a
    term of value 0 (NaN on such a matrix) adds NaN to each entry's
    gradient there, and exactly 0 elsewhere: as PyTorch, whose gradient of a
    matrix holding a NaN is NaN.
    """
    bad = jnp.isnan(a).any(axis=(-2, -1))
    factor = jnp.where(bad, jnp.nan, 1.0).astype(out.dtype)
    poison = jnp.sum(jnp.where(bad[..., None, None], a, 0), axis=(-2, -1))
    poison = (poison * jnp.where(bad, jnp.nan, 0.0)).astype(out.dtype)
    shape = factor.shape + (1,) * core
    # Minus +0: a -0.0 result stays -0.0 (plus +0 would make it +0.0).
    return out * factor.reshape(shape) - poison.reshape(shape)


@exact_products
def inv(a: jax.Array) -> jax.Array:
    """Inverse of a square matrix (batched over leading axes)."""
    _matrix("inv", a)
    return _nan_in_nan_out(a, jnp.linalg.inv(a), 2)


@exact_products
def det(a: jax.Array) -> jax.Array:
    """Determinant of a square matrix (batched over leading axes)."""
    _matrix("det", a)
    if np.shape(a)[-1] == 0:
        # The empty product, 1, with an empty gradient, as PyTorch (JAX's det
        # rule indexes pivots that a 0 x 0 matrix does not have).
        return jnp.ones(np.shape(a)[:-2], a.dtype) + 0 * jnp.sum(a, axis=(-2, -1))
    return _nan_in_nan_out(a, jnp.linalg.det(a), 0)


_MSG_SOLVE_SHAPES = (
    "linalg.solve: a of shape {sa} and b of shape {sb} are not aligned: b needs "
    "{n} rows (its last axis if 1-D or of shape a.shape[:-1], a batch of "
    "vectors; else its second-to-last)."
)


@exact_products
def solve(a: jax.Array, b: jax.Array) -> jax.Array:
    """The ``x`` with ``a @ x == b``; ``b`` a (batch of) vectors or matrices
    of columns: vectors where ``b`` is 1-D or ``b.shape == a.shape[:-1]``
    (PyTorch's rule; JAX and NumPy 2 take only 1-D ``b`` as a vector)."""
    _matrix("solve", a)
    sa, sb = tuple(np.shape(a)), tuple(np.shape(b))
    vector = len(sb) == 1 or sb == sa[:-1]
    rows = sb[-1] if vector else sb[-2] if len(sb) > 1 else None
    if rows != sa[-1]:
        raise ValueError(_MSG_SOLVE_SHAPES.format(sa=sa, sb=sb, n=sa[-1]))
    if vector:
        x = jnp.linalg.solve(a, jnp.asarray(b)[..., None])[..., 0]
    else:
        x = jnp.linalg.solve(a, b)
    return _nan_in_nan_out(a, x, 1 if vector else 2)


@exact_products
def cholesky(a: jax.Array) -> jax.Array:
    """Lower Cholesky factor ``L`` with ``L @ L.T == a`` (NaN if not SPD)."""
    _matrix("cholesky", a)
    return jnp.linalg.cholesky(a)


@exact_products
def matrix_power(a: jax.Array, n: int) -> jax.Array:
    """``a`` multiplied by itself ``n`` times (``n < 0``: of its inverse)."""
    _matrix("matrix_power", a)
    out = jnp.linalg.matrix_power(a, n)
    # A negative power inverts first: NaN in, NaN out as inv (PyTorch); a
    # positive one is products, which carry a NaN as they do.
    return _nan_in_nan_out(a, out, 2) if n < 0 else out


@exact_products
def pinv(a: jax.Array) -> jax.Array:
    """Moore-Penrose pseudo-inverse."""
    _matrix("pinv", a, square=False)
    return jnp.linalg.pinv(a)


@exact_products
def norm(
    a: jax.Array,
    ord: float = 2,  # noqa: A002  (NumPy's and lucid's name)
    axis: int | tuple[int, ...] | None = None,
    keepdims: bool = False,
) -> jax.Array:
    r"""Entrywise :math:`p`-norm over ``axis`` (all elements by default).

    At a zero vector the value is 0 and the gradient 0 (PyTorch's
    ``vector_norm``), not the NaN a plain ``sqrt(sum(x**2))`` gives.
    """
    if isinstance(ord, bool) or not isinstance(ord, int | float) or not ord >= 1:
        raise ValueError(_MSG_ORD.format(ord=ord))
    ndim = jnp.ndim(a)
    axes = axis if isinstance(axis, tuple) else (axis,)
    for ax in axes:
        if ax is not None and not -max(ndim, 1) <= ax < max(ndim, 1):
            raise ValueError(
                f"linalg.norm: axis {ax} is out of range for a tensor with {ndim} "
                f"dimensions. Pass an axis in [-{ndim}, {ndim - 1}]."
            )
    named = [ax for ax in axes if ax is not None]
    if len({ax % max(ndim, 1) for ax in named}) < len(named):
        raise ValueError(f"linalg.norm: axis {axis} names an axis more than once.")
    if ndim == 0:
        axis = None  # axis 0 or -1 of a 0-d input: itself, as PyTorch
    # |a| with PyTorch's gradient sign(a), 0 at a == 0 (JAX's abs gives 1
    # there, which ord=1 and inf would pass on to a zero entry).
    x = jnp.abs(a)
    x = jnp.where(a == 0, jnp.zeros_like(x), x)
    if math.isinf(ord):
        return jnp.max(x, axis=axis, keepdims=keepdims)
    if ord == 1:
        return jnp.sum(x, axis=axis, keepdims=keepdims)
    s = jnp.sum(x**ord, axis=axis, keepdims=keepdims)
    zero = s == 0
    root = jnp.where(zero, 1, s) ** (1 / ord)
    return jnp.where(zero, jnp.zeros_like(root), root)


@exact_products
def qr_q(a: jax.Array) -> jax.Array:
    """The orthonormal factor ``Q`` of the reduced QR decomposition."""
    _matrix("qr", a, square=False)
    return jnp.linalg.qr(a)[0]


@exact_products
def qr_r(a: jax.Array) -> jax.Array:
    """The upper-triangular factor ``R`` of the reduced QR decomposition."""
    _matrix("qr", a, square=False)
    return jnp.linalg.qr(a)[1]


@exact_products
def svd_u(a: jax.Array, full_matrices: bool = True) -> jax.Array:
    """Left singular vectors ``U``."""
    _matrix("svd", a, square=False)
    return jnp.linalg.svd(a, full_matrices=_full(a, full_matrices))[0]


@exact_products
def svd_s(a: jax.Array) -> jax.Array:
    """Singular values, descending."""
    _matrix("svd", a, square=False)
    # The reduced SVD: JAX differentiates only that one.
    return jnp.linalg.svd(a, full_matrices=False)[1]


@exact_products
def svd_vh(a: jax.Array, full_matrices: bool = True) -> jax.Array:
    """Right singular vectors as rows, ``V^T`` (NumPy's ``vh``)."""
    _matrix("svd", a, square=False)
    return jnp.linalg.svd(a, full_matrices=_full(a, full_matrices))[2]


def _full(a: jax.Array, full_matrices: bool) -> bool:
    # For a square matrix the full and reduced SVD coincide; JAX only
    # differentiates the reduced one.
    shape = np.shape(a)
    return full_matrices and shape[-1] != shape[-2]


@exact_products
def eigvals(a: jax.Array, real: bool = False) -> jax.Array:
    """Eigenvalues (complex; their real parts if ``real``)."""
    _matrix("eig", a)
    values = jnp.linalg.eigvals(a)
    return jnp.real(values) if real else values


@exact_products
def eigvecs(a: jax.Array, real: bool = False) -> jax.Array:
    """Unit eigenvectors as columns (complex; real parts if ``real``)."""
    _matrix("eig", a)
    vectors = jnp.linalg.eig(a)[1]
    return jnp.real(vectors) if real else vectors
