"""Linear algebra on Tensors, as lucid's ``lucid.linalg``.

Each function is the pure math of :mod:`lucid_fx.functional._linalg` lifted into
an eager, differentiable op; on arrays it returns arrays.
"""

from lucid_fx.linalg._ops import (
    cholesky,
    det,
    eig,
    inv,
    matrix_power,
    norm,
    pinv,
    qr,
    solve,
    svd,
)

__all__ = [
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
