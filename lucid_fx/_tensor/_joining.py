"""Joining and copying: ``stack concatenate hstack vstack pad repeat tile``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx._tensor import _checks
from lucid_fx._tensor._ops import lift, unwrap
from lucid_fx._tensor._shape_ops import _ints

_MSG_SEQUENCE = (
    "{op}: expects a non-empty list or tuple of tensors, got {kind}. Pass e.g. "
    "lucid_fx.{op}((a, b))."
)


def _operands(op: str, arr: Any) -> tuple[Any, ...]:
    if not isinstance(arr, list | tuple) or not arr:
        empty = isinstance(arr, list | tuple)
        kind = f"an empty {type(arr).__name__}" if empty else type(arr).__name__
        raise TypeError(_MSG_SEQUENCE.format(op=op, kind=kind))
    return tuple(arr)


def _same_shapes(op: str, arrays: Sequence[Any], skip: int | None) -> None:
    shapes = [_checks.shape_of(a) for a in arrays]
    first = shapes[0]
    for shape in shapes[1:]:
        if len(shape) != len(first) or any(
            m != n
            for i, (m, n) in enumerate(zip(shape, first, strict=True))
            if skip is None or i != skip % max(len(first), 1)
        ):
            which = "all dimensions" if skip is None else f"every axis but {skip}"
            raise ValueError(f"{op}: shapes must match in {which}, got {shapes}.")


def _pure_stack(*arrays: jax.Array, axis: int = 0) -> jax.Array:
    _same_shapes("stack", arrays, None)
    _checks.in_range("stack", axis, jnp.ndim(arrays[0]) + 1)
    return jnp.stack(arrays, axis=axis)


def _pure_concatenate(*arrays: jax.Array, axis: int = 0) -> jax.Array:
    if jnp.ndim(arrays[0]) == 0:
        raise ValueError("concatenate: 0-d tensors cannot be concatenated; stack them.")
    _checks.in_range("concatenate", axis, jnp.ndim(arrays[0]))
    _same_shapes("concatenate", arrays, axis)
    return jnp.concatenate(arrays, axis=axis)


_stack = lift(_pure_stack, "stack")
_concatenate = lift(_pure_concatenate, "concatenate")


def _pure_hstack(*arrays: jax.Array) -> jax.Array:
    _same_shapes("hstack", arrays, 1 if jnp.ndim(arrays[0]) > 1 else 0)
    return jnp.hstack(arrays)


def _pure_vstack(*arrays: jax.Array) -> jax.Array:
    _same_shapes("vstack", [jnp.atleast_2d(a) for a in arrays], 0)
    return jnp.vstack(arrays)


_hstack = lift(_pure_hstack, "hstack")
_vstack = lift(_pure_vstack, "vstack")


def stack(
    arr: Sequence[Any], axis: int | None = None, *, dim: int | None = None
) -> Any:
    """Join tensors of one shape along a new axis.

    Args:
      arr: a list or tuple of Tensors/arrays of the same shape.
      axis: where the new axis goes in the result. Default 0. ``dim`` is an alias.

    Returns:
      A Tensor with one more dimension, of size ``len(arr)`` at ``axis``.

    Raises:
      TypeError: if ``arr`` is not a non-empty list or tuple.
      ValueError: if the shapes differ or ``axis`` is out of range.

    Examples:
      >>> import lucid_fx
      >>> a = lucid_fx.Tensor([1.0, 2.0], requires_grad=True)
      >>> b = lucid_fx.Tensor([3.0, 4.0], requires_grad=True)
      >>> y = lucid_fx.stack((a, b), axis=1)
      >>> y.tolist()
      [[1.0, 3.0], [2.0, 4.0]]
      >>> (y * lucid_fx.Tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
      >>> a.grad.tolist(), b.grad.tolist()
      ([1.0, 3.0], [2.0, 4.0])
    """
    arrays = _operands("stack", arr)
    if dim is None and (axis is None or (type(axis) is int and axis == 0)):
        return _stack(*arrays)  # along a new first axis: the op's default
    axis = _checks.axis_arg("stack", axis, dim)
    axis = 0 if axis is None else _ints("stack", "axis", axis)
    return _stack(*arrays, axis=axis)


def concatenate(
    arr: Sequence[Any], axis: int | None = None, *, dim: int | None = None
) -> Any:
    """Join tensors along an existing axis.

    Args:
      arr: a list or tuple of Tensors/arrays equal in every axis but ``axis``.
      axis: the axis to join along. Default 0. ``dim`` is an alias.

    Returns:
      A Tensor whose ``axis`` is the sum of the inputs' sizes there.

    Raises:
      TypeError: if ``arr`` is not a non-empty list or tuple.
      ValueError: if the other axes differ or ``axis`` is out of range.

    Examples:
      >>> import lucid_fx
      >>> a = lucid_fx.Tensor([[1.0, 2.0]], requires_grad=True)
      >>> b = lucid_fx.Tensor([[3.0, 4.0]], requires_grad=True)
      >>> lucid_fx.concatenate((a, b), axis=1).tolist()
      [[1.0, 2.0, 3.0, 4.0]]
      >>> lucid_fx.concatenate([a, b]).sum().backward()
      >>> b.grad.tolist()
      [[1.0, 1.0]]
      >>> lucid_fx.concatenate([a, b], dim=1).shape  # PyTorch's keyword
      (1, 4)
    """
    arrays = _operands("concatenate", arr)
    axis = _checks.axis_arg("concatenate", axis, dim)
    axis = 0 if axis is None else _ints("concatenate", "axis", axis)
    return _concatenate(*arrays, axis=axis)


def hstack(arr: Sequence[Any]) -> Any:
    """Join along the second axis (the first for 1-D tensors), as NumPy.

    Args:
      arr: a list or tuple of Tensors/arrays.

    Returns:
      A Tensor.

    Raises:
      TypeError: if ``arr`` is not a non-empty list or tuple.

    Examples:
      >>> import lucid_fx
      >>> a, b = lucid_fx.Tensor([[1.0], [2.0]]), lucid_fx.Tensor([[3.0], [4.0]])
      >>> lucid_fx.hstack((a, b)).tolist()
      [[1.0, 3.0], [2.0, 4.0]]
    """
    arrays = _operands("hstack", arr)
    return _hstack(*arrays)


def vstack(arr: Sequence[Any]) -> Any:
    """Join along the first axis, 1-D tensors becoming rows, as NumPy.

    Args:
      arr: a list or tuple of Tensors/arrays.

    Returns:
      A Tensor with at least 2 dimensions.

    Raises:
      TypeError: if ``arr`` is not a non-empty list or tuple.

    Examples:
      >>> import lucid_fx
      >>> a, b = lucid_fx.Tensor([1.0, 2.0]), lucid_fx.Tensor([3.0, 4.0])
      >>> lucid_fx.vstack((a, b)).tolist()
      [[1.0, 2.0], [3.0, 4.0]]
    """
    arrays = _operands("vstack", arr)
    return _vstack(*arrays)


def _pure_pad(a: jax.Array, *, pad_width: Any) -> jax.Array:
    return jnp.pad(a, pad_width)


_pad = lift(_pure_pad, "pad")


def pad(a: Any, pad_width: Any) -> Any:
    """Pad with zeros: ``pad_width`` as NumPy's (before, after) per axis.

    ``pad_width`` may be an int (the same on every side), a pair (the same
    pair for every axis) or one pair per axis. The gradient drops the padding.

    Args:
      a: a Tensor or array.
      pad_width: an int, ``(before, after)`` or ``((before, after), ...)``.

    Returns:
      A Tensor grown by the padding.

    Raises:
      TypeError: if ``pad_width`` is not ints.
      ValueError: if it has the wrong length or a negative width.

    Examples:
      >>> import lucid_fx
      >>> x = lucid_fx.Tensor([1.0, 2.0], requires_grad=True)
      >>> y = lucid_fx.pad(x, (1, 2))
      >>> y.tolist()
      [0.0, 1.0, 2.0, 0.0, 0.0]
      >>> y.sum().backward()
      >>> x.grad.tolist()
      [1.0, 1.0]
    """
    width = _pad_width(pad_width, len(_checks.shape_of(getattr(a, "data", a))))
    return _pad(a, pad_width=width)


def _pad_width(pad_width: Any, ndim: int) -> tuple[tuple[int, int], ...]:
    """NumPy's forms (``np.pad``'s ``_as_pairs``): anything that broadcasts to
    ``(ndim, 2)``: ``n``, ``(n,)``, ``(before, after)``, ``((before, after),)``,
    one pair per axis, or an integer array of those shapes."""
    message = (
        f"pad: pad_width {pad_width!r} must give a non-negative (before, after) "
        f"pair for each of the {ndim} axes (an int, a pair, or {ndim} pairs)."
    )
    try:
        widths = np.asarray(unwrap(pad_width))
    except ValueError:  # ragged nesting
        raise ValueError(message) from None
    if widths.dtype.kind not in "iu":
        raise TypeError(f"pad: pad_width must be ints, got {pad_width!r}.")
    try:
        pairs = np.broadcast_to(widths, (ndim, 2))
    except ValueError:
        raise ValueError(message) from None
    if (pairs < 0).any():
        raise ValueError(message)
    return tuple((int(b), int(a)) for b, a in pairs)


def _pure_repeat(a: jax.Array, *, repeats: Any, axis: int | None) -> jax.Array:
    if axis is not None:
        _checks.in_range("repeat", axis, jnp.ndim(a))
    counts = np.asarray(repeats) if isinstance(repeats, tuple) else repeats
    if np.any(np.asarray(counts) < 0):
        raise ValueError(f"repeat: repeats must be >= 0, got {repeats!r}.")
    return jnp.repeat(a, counts, axis=axis)


_repeat = lift(_pure_repeat, "repeat")


def repeat(a: Any, repeats: int | Sequence[int], axis: int | None = None) -> Any:
    """Repeat each element ``repeats`` times (of the flattened tensor by default).

    Args:
      a: a Tensor or array.
      repeats: an int, or one int per element along ``axis``.
      axis: the axis to repeat along, or ``None`` (flatten first).

    Returns:
      A Tensor; the gradient sums over the copies.

    Raises:
      TypeError: if ``repeats`` is not ints.
      ValueError: if ``axis`` is out of range.

    Examples:
      >>> import lucid_fx
      >>> x = lucid_fx.Tensor([1.0, 2.0], requires_grad=True)
      >>> y = lucid_fx.repeat(x, 2)
      >>> y.tolist()
      [1.0, 1.0, 2.0, 2.0]
      >>> y.sum().backward()
      >>> x.grad.tolist()
      [2.0, 2.0]
    """
    repeats = _ints("repeat", "repeats", repeats)
    if axis is not None:
        axis = _ints("repeat", "axis", axis)
    return _repeat(a, repeats=repeats, axis=axis)


def _pure_tile(a: jax.Array, *, reps: Any) -> jax.Array:
    return jnp.tile(a, reps)


_tile = lift(_pure_tile, "tile")


def tile(a: Any, reps: int | Sequence[int]) -> Any:
    """Repeat the whole tensor ``reps`` times along each axis (NumPy's ``tile``).

    Args:
      a: a Tensor or array.
      reps: an int or one int per axis.

    Returns:
      A Tensor; the gradient sums over the copies.

    Raises:
      TypeError: if ``reps`` is not ints.
      ValueError: if a rep is negative.

    Examples:
      >>> import lucid_fx
      >>> x = lucid_fx.Tensor([1.0, 2.0], requires_grad=True)
      >>> y = lucid_fx.tile(x, 2)
      >>> y.tolist()
      [1.0, 2.0, 1.0, 2.0]
      >>> y.sum().backward()
      >>> x.grad.tolist()
      [2.0, 2.0]
    """
    reps = _ints("tile", "reps", reps)
    if min(reps if isinstance(reps, tuple) else (reps,), default=0) < 0:
        raise ValueError(f"tile: reps must be >= 0, got {reps!r}.")
    return _tile(a, reps=reps)
