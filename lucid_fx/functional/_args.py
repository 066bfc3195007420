"""Argument checks shared by the nn families (numbers, tuples, reductions).

Each needs a concrete Python value: a traced number (a Python number passed to
a ``lucid_fx.compile``'d or ``jax.jit``'d function) raises
:class:`lucid_fx._validate.TracedArgumentError`, on which ``lucid_fx.compile``
falls back to the eager path, where the value is checked.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from lucid_fx._validate import check_concrete

REDUCTIONS = ("mean", "sum", "none")


def number(value: object, api: str, name: str, low: float | None = None) -> float:
    """A finite real Python number (>= ``low`` if given), as a float."""
    bad = isinstance(value, bool | np.bool_) or not isinstance(
        value, numbers.Real | np.floating | np.integer
    )
    if bad:
        check_concrete(value, api, name)
        raise TypeError(
            f"{api}: {name} must be a real number, got {type(value).__name__} "
            f"{value!r}."
        )
    out = float(value)  # type: ignore[arg-type]
    if not math.isfinite(out) or (low is not None and out < low):
        bound = "" if low is None else f" and >= {low}"
        raise ValueError(f"{api}: {name} must be finite{bound}, got {value!r}.")
    return out + 0.0


def probability(value: object, api: str) -> float:
    """A dropout probability in [0, 1]."""
    p = number(value, api, "p")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{api}: p must be in [0, 1], got {value!r}.")
    return p


def integer(value: object, api: str, name: str, low: int = 0) -> int:
    """A Python int >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        check_concrete(value, api, name)
        raise TypeError(
            f"{api}: {name} must be an int, got {type(value).__name__} {value!r}."
        )
    if value < low:
        raise ValueError(f"{api}: {name} must be >= {low}, got {value!r}.")
    return int(value)


def ints(value: object, n: int, api: str, name: str, low: int = 0) -> tuple:
    """An int or a length-``n`` sequence of ints (each >= ``low``) as a tuple."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != n:
            raise ValueError(
                f"{api}: {name} must be an int or a tuple of {n} ints, got "
                f"{tuple(value)!r}."
            )
        return tuple(integer(v, api, name, low) for v in value)
    return (integer(value, api, name, low),) * n


def flag(value: object, api: str, name: str) -> bool:
    """A bool."""
    if not isinstance(value, bool | np.bool_):
        check_concrete(value, api, name)
        raise TypeError(
            f"{api}: {name} must be True or False, got {type(value).__name__} "
            f"{value!r}."
        )
    return bool(value)


def reduction(value: object, api: str) -> str:
    """``"mean"``, ``"sum"`` or ``"none"``; lucid's ``None`` means ``"none"``."""
    if value is None:
        return "none"
    if value not in REDUCTIONS:
        raise ValueError(
            f"{api}: reduction must be one of {REDUCTIONS} or None, got {value!r}."
        )
    return str(value)
