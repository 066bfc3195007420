"""Tensor printing as lucid prints it: Python-list punctuation, shortest values."""

from __future__ import annotations

import ml_dtypes
import numpy as np

_THRESHOLD = 1000
_EDGE_ITEMS = 3


def shortest(value: np.generic) -> str:
    """The shortest decimal that rounds back to ``value`` in its own dtype."""
    if value.dtype == ml_dtypes.bfloat16:
        as_float = float(value)
        if not np.isfinite(as_float):
            return str(as_float)
        for digits in range(1, 10):
            text = repr(float(f"{as_float:.{digits}g}"))
            if ml_dtypes.bfloat16(float(text)) == value:
                return text
    return str(value)


def format_values(array: np.ndarray) -> str:
    """Values with list punctuation; large arrays summarised with ``...``."""
    is_float = array.dtype.kind == "f" or array.dtype == ml_dtypes.bfloat16
    formatter = {"all": shortest} if is_float else {"bool": str}
    if array.ndim == 0:
        return shortest(array[()]) if is_float else str(array[()].item())
    return np.array2string(
        array,
        separator=", ",
        formatter=formatter,
        threshold=_THRESHOLD,
        edgeitems=_EDGE_ITEMS,
        prefix="Tensor(",
    )
