"""Linear algebra on Tensors, as lucid's ``lucid.linalg``.

Each function is the pure math of :mod:`lucid_fx.functional._linalg` lifted into
an eager, differentiable op; on arrays it returns arrays.
"""

from lucid_fx.linalg._decompositions import eig, qr, svd
from lucid_fx.linalg._matrix import cholesky, det, inv, matrix_power, norm, pinv, solve
from lucid_fx.linalg._singular import LinAlgError

__all__ = [
    "LinAlgError",
    "cholesky",
    "det",
    "eig",
    "inv",
    "matrix_power",
    "norm",
    "pinv",
    "qr",
    "solve",
    "svd",
]
