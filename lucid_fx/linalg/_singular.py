"""The eager check behind ``inv``/``solve``/``cholesky``: raise on a singular
or non-positive-definite matrix, as PyTorch and lucid do.

XLA's factorizations never raise: a zero pivot becomes ``inf``/NaN in the
result. So the eager path asks one cheap question of the result, "is every
entry finite?" (one small jitted reduction, or NumPy on a CPU array), and only
when the answer is no, factorizes the input again on the host with LAPACK
(``getrf``/``potrf``, the routines PyTorch calls on the CPU) to find the zero
pivot or the leading minor that is not positive definite, for the message. A
non-finite result with no such pivot (an overflow, or inf/NaN in the input)
is returned as it is, as PyTorch returns it; a zero pivot after a NaN one does
not count, as in PyTorch's LU, and each matrix of a batch is judged as it
would be alone. Traced values (``jax.jit``,
``lucid_fx.compile``) cannot raise: they keep XLA's ``inf``/NaN.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

from lucid_fx._tensor import Tensor

LinAlgError = np.linalg.LinAlgError  # lucid's error (NumPy's; a ValueError)

_MSG_SINGULAR = (
    "linalg.{op}: {where}the input matrix is singular: the diagonal element "
    "{k} of its LU factor U is zero, so {what}. Check the matrix "
    "(linalg.det(a) is 0), or use linalg.pinv for a least-squares answer."
)
_MSG_NOT_PD = (
    "linalg.cholesky: {where}the input is not positive-definite (the leading "
    "minor of order {k} is not positive-definite), so it has no Cholesky "
    "factor. Pass a symmetric positive-definite matrix, e.g. a @ a.mT + eps * I."
)
_WHAT = {
    "inv": "it has no inverse",
    "solve": "a x = b has no unique solution",
    "matrix_power": "a negative power (its inverse) does not exist",
}

_all_finite = jax.jit(lambda x: jnp.isfinite(x).all())
_ARRAY = type(jnp.zeros(()))  # jax's concrete array class
_ON_CPU = {jax.devices("cpu")[0]}


def _array(v: Any) -> Any:
    return v.data if isinstance(v, Tensor) else v


def _finite(out: Any) -> bool:
    """True if ``out`` (a Tensor or an array) has no inf/NaN, or is traced."""
    data = _array(out)
    if type(data) is not _ARRAY:
        return isinstance(data, jax.core.Tracer) or bool(np.isfinite(data).all())
    if data.devices() == _ON_CPU:  # NumPy reads it in place: ~2 us, no dispatch
        return bool(np.isfinite(np.asarray(data)).all())
    return bool(_all_finite(data))  # elsewhere: copy back one bool, not the result


def _host(a: Any) -> np.ndarray:
    host = np.asarray(_array(a))
    if host.dtype not in (np.float32, np.float64, np.complex64, np.complex128):
        host = host.astype(np.float32)  # LAPACK has no half precision
    return host.reshape((-1, *host.shape[-2:]))


def _zero_pivot(m: np.ndarray) -> int:
    """LAPACK getrf's info: the 1-based index of the first zero diagonal
    element of U (0 if none), as PyTorch reports it. A zero pivot after a NaN
    one does not count: PyTorch's MKL carries the NaN on through the
    elimination, where scipy's LAPACK may stop and find a 0, so NaN in, NaN
    out; a zero pivot before any NaN, or in a matrix holding inf, does
    ([[0, 0], [0, nan]] and [[inf, 0], [0, 0]] raise in PyTorch)."""
    (getrf,) = scipy.linalg.get_lapack_funcs(("getrf",), (m,))
    lu, _, info = getrf(m)
    return 0 if info <= 0 or np.isnan(np.diagonal(lu)[: info - 1]).any() else int(info)


def _not_positive_definite(m: np.ndarray) -> int:
    """The order of the first leading minor that is not positive definite (0
    if none), by an unblocked Cholesky in ``m``'s dtype; a NaN pivot fails,
    as in LAPACK's potrf."""
    n = m.shape[-1]
    low = np.zeros_like(m)
    for k in range(n):
        pivot = m[k, k] - np.vdot(low[k, :k], low[k, :k])
        if not np.real(pivot) > 0:
            return k + 1
        low[k, k] = np.sqrt(pivot)
        low[k + 1 :, k] = (m[k + 1 :, k] - low[k + 1 :, :k] @ low[k, :k].conj()) / (
            low[k, k]
        )
    return 0


def _first_failure(test: Any, matrices: np.ndarray) -> tuple[int, int] | None:
    """(batch index, order or pivot) of the first matrix that fails ``test``."""
    for i, m in enumerate(matrices):
        info = test(m)
        if info > 0:
            return i, info
    return None


def _where(index: int, batched: bool) -> str:
    return f"(batch element {index}) " if batched else ""


def check_lu(op: str, out: Any, a: Any) -> Any:
    """Raise LinAlgError if ``out`` is not finite because ``a`` is singular."""
    if _finite(out):
        return out
    failure = _first_failure(_zero_pivot, _host(a))
    if failure is not None:
        where = _where(failure[0], np.ndim(_array(a)) > 2)
        raise LinAlgError(
            _MSG_SINGULAR.format(op=op, where=where, k=failure[1], what=_WHAT[op])
        )
    return out


def check_cholesky(out: Any, a: Any) -> Any:
    """Raise LinAlgError if ``out`` is not finite because ``a`` is not
    positive definite (judged on its symmetric part, which XLA factorizes)."""
    if _finite(out):
        return out
    matrices = _host(a)
    symmetric = (matrices + np.conj(np.swapaxes(matrices, -1, -2))) / 2
    failure = _first_failure(_not_positive_definite, symmetric)
    if failure is not None:
        where = _where(failure[0], np.ndim(_array(a)) > 2)
        raise LinAlgError(_MSG_NOT_PD.format(where=where, k=failure[1]))
    return out
