"""Checks of optimizer options, raising errors that name the option."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def check_number(api: str, name: str, value: Any, low: float, high: float) -> float:
    """``value`` as a float in ``[low, high)``, or a TypeError/ValueError."""
    if isinstance(value, bool | np.bool_) or not isinstance(
        value, int | float | np.integer | np.floating
    ):
        raise TypeError(
            f"{api}: {name} must be a number, got {type(value).__name__} {value!r}."
        )
    if not (math.isfinite(value) and low <= value < high):
        raise ValueError(
            f"{api}: {name} must be in [{low}, {high}), got {value!r}. Pass a "
            f"finite number in that range."
        )
    return float(value)


def check_flag(api: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(
            f"{api}: {name} must be True or False, got {type(value).__name__} "
            f"{value!r}."
        )
    return value
