"""Argument checks shared by the op families (errors name the public op)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_MSG_BROADCAST = (
    "{op}: operands of shapes {a} and {b} cannot be broadcast together. Shapes "
    "must match or be 1 in each trailing dimension."
)
_MSG_AXIS_TWICE = (
    "{op}: got both axis={axis!r} and dim={dim!r}. Pass one of them (dim is "
    "PyTorch's name for lucid's axis)."
)
_MSG_AXIS = (
    "{op}: axis must be None, an int or a tuple of ints, got "
    "{kind} {axis!r}. Pass e.g. axis=0 or axis=(0, 1)."
)
_MSG_AXIS_RANGE = (
    "{op}: axis {axis} is out of range for a tensor with {ndim} dimensions. "
    "Pass an axis in [{first}, {last}]."
)
_MSG_NUMERIC = (
    "{op}: {arg} must be a Tensor, an array or a number, got {kind}. Convert it "
    "first, e.g. lucid_fx.tensor([1.0, 2.0])."
)


def shape_of(v: Any) -> tuple[int, ...]:
    return tuple(np.shape(v))


def numeric(op: str, arg: str, v: Any) -> None:
    """Raise TypeError unless ``v`` is an array or a (non-bool-string) number."""
    if hasattr(v, "dtype") and hasattr(v, "shape"):
        return
    if isinstance(v, int | float | complex | np.generic | list | tuple):
        if not isinstance(v, list | tuple) or np.asarray(v).dtype.kind in "biuf":
            return
    raise TypeError(_MSG_NUMERIC.format(op=op, arg=arg, kind=type(v).__name__))


def broadcast(op: str, a: Any, b: Any) -> None:
    try:
        np.broadcast_shapes(shape_of(a), shape_of(b))
    except ValueError:
        raise ValueError(
            _MSG_BROADCAST.format(op=op, a=shape_of(a), b=shape_of(b))
        ) from None


def axis_arg(op: str, axis: Any, dim: Any = None) -> Any:
    """lucid's ``axis`` or PyTorch's ``dim`` as a hashable static value."""
    if dim is not None:
        if axis is not None:
            raise TypeError(_MSG_AXIS_TWICE.format(op=op, axis=axis, dim=dim))
        axis = dim
    if axis is None:
        return None
    if isinstance(axis, list | tuple):
        if all(_is_int(a) for a in axis):
            return tuple(int(a) for a in axis)
    elif _is_int(axis):
        return int(axis)
    raise TypeError(_MSG_AXIS.format(op=op, kind=type(axis).__name__, axis=axis))


def keepdims_arg(keepdims: bool, keepdim: bool | None) -> bool:
    return bool(keepdims if keepdim is None else keepdim)


def in_range(op: str, axis: Any, ndim: int) -> None:
    """Raise ValueError for an axis (or tuple of axes) outside ``ndim``."""
    # A 0-d tensor takes axis 0 or -1, as in PyTorch.
    n = max(ndim, 1)
    for a in axis if isinstance(axis, tuple) else (axis,):
        if a is not None and not -n <= a < n:
            raise ValueError(
                _MSG_AXIS_RANGE.format(op=op, axis=a, ndim=ndim, first=-n, last=n - 1)
            )


def distinct(op: str, axis: Any, ndim: int) -> None:
    """Raise ValueError for a tuple of axes naming one axis twice (``(0, 0)``,
    ``(1, -1)`` of a 2-d tensor), as PyTorch does; call after :func:`in_range`."""
    if isinstance(axis, tuple):
        seen = [a % max(ndim, 1) for a in axis]
        if len(set(seen)) != len(seen):
            raise ValueError(
                f"{op}: axis {axis} names an axis more than once; list each once."
            )


def flags(api: str, requires_grad: Any, keep_grad: Any) -> None:
    """Raise ``TypeError`` unless both Tensor flags are Python bools.

    Examples:
      >>> from lucid_fx._tensor._checks import flags
      >>> flags("randn", True, "no")
      Traceback (most recent call last):
      ...
      TypeError: randn: keep_grad must be True or False, got str 'no'.
    """
    for name, value in (("requires_grad", requires_grad), ("keep_grad", keep_grad)):
        if not isinstance(value, bool):
            raise TypeError(
                f"{api}: {name} must be True or False, got "
                f"{type(value).__name__} {value!r}."
            )


def _is_int(v: Any) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


_MSG_OVERFLOW = (
    "{api}: the value {value!r} cannot be stored in a tensor of dtype {dtype} "
    "without overflow ({dtype} holds the integers in [{lo}, {hi}]; NaN and inf have "
    "no integer value). Pass a value in that range, or convert the tensor "
    "first (t.float())."
)


def fits_integer(api: str, value: Any, dtype: Any) -> None:
    """Raise ``ValueError`` where a Python or NumPy number ``value`` written
    into an integer tensor of ``dtype`` would overflow: PyTorch's rule for
    ``fill_`` and ``t[i] = v``. A float is truncated toward 0 when it fits
    (``-2.7`` is stored as ``-2``); NaN and inf never fit. An unsigned dtype
    takes negative ints down to minus its maximum (they wrap: ``-1`` is 255 in
    uint8), as PyTorch's does; bool tensors take any number.

    Examples:
      >>> from lucid_fx._tensor._checks import fits_integer
      >>> fits_integer("fill_", 2**31, "int32")
      Traceback (most recent call last):
      ...
      ValueError: fill_: the value 2147483648 cannot be stored in a tensor of dtype int32 without overflow (int32 holds the integers in [-2147483648, 2147483647]; NaN and inf have no integer value). Pass a value in that range, or convert the tensor first (t.float()).
    """  # noqa: E501
    if isinstance(value, bool | np.bool_) or not isinstance(
        value, int | float | np.integer | np.floating
    ):
        return
    dtype = np.dtype(dtype)
    if dtype.kind not in "iu":
        return
    low, high = integer_range(dtype)
    lo = -high if dtype.kind == "u" and _is_int(value) else low
    if not lo <= value <= high:  # NaN compares false
        raise ValueError(
            _MSG_OVERFLOW.format(api=api, value=value, dtype=dtype, lo=low, hi=high)
        )


def integer_range(dtype: Any) -> tuple[float, float]:
    """``(min, max)`` of the values an integer or bool dtype holds, as Python
    ints; ``(-inf, inf)`` for any other dtype. Cached per dtype (a dozen
    entries at most): comparisons ask at every call.

    Examples:
      >>> from lucid_fx._tensor._checks import integer_range
      >>> integer_range("int8"), integer_range("bool"), integer_range("float32")
      ((-128, 127), (0, 1), (-inf, inf))
    """
    bounds = _RANGES.get(dtype)
    if bounds is None:
        kind = np.dtype(dtype).kind
        if kind == "b":
            bounds = (0, 1)
        elif kind in "iu":
            info = np.iinfo(dtype)
            bounds = (int(info.min), int(info.max))
        else:
            bounds = (-math.inf, math.inf)
        _RANGES[dtype] = bounds
    return bounds


_RANGES: dict[Any, tuple[float, float]] = {}
