"""Utilities that move elements around: reshape, squeeze, stack, pad, tile...

All are differentiable: the gradient puts each output element's cotangent back
where the element came from (summing over copies for ``repeat``/``tile``).
Variadic ops (``stack``, ``concatenate``, ``hstack``, ``vstack``) pass every
tensor as its own operand, so each gets its gradient.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx._tensor import _checks, _tape
from lucid_fx._tensor._convert import is_inexact
from lucid_fx._tensor._ops import lift
from lucid_fx._validate import check_concrete

_MSG_INTS = "{op}: {arg} must be an int or a sequence of ints, got {kind} {value!r}."


def _ints(op: str, arg: str, value: Any) -> int | tuple[int, ...]:
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, list | tuple) and all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) for v in value
    ):
        return tuple(int(v) for v in value)
    check_concrete(value, op, arg)
    raise TypeError(
        _MSG_INTS.format(op=op, arg=arg, kind=type(value).__name__, value=value)
    )


def _pure_reshape(a: jax.Array, *, shape: tuple[int, ...]) -> jax.Array:
    size, known = int(np.size(a)), [n for n in shape if n != -1]
    bad = shape.count(-1) > 1 or any(n < -1 for n in shape)
    if bad or (
        int(np.prod(known)) != size
        if -1 not in shape
        else (np.prod(known) == 0 or size % int(np.prod(known)))
    ):
        raise ValueError(
            f"reshape: cannot reshape a tensor of shape {_checks.shape_of(a)} "
            f"({size} elements) into shape {shape}."
        )
    return jnp.reshape(a, shape)


_reshape = lift(_pure_reshape, "reshape")


def reshape(a: Any, shape: Sequence[int] | int) -> Any:
    """The same elements in a new shape; one dimension may be -1 (inferred).

    Args:
      a: a Tensor or array.
      shape: an int or a sequence of ints with as many elements as ``a``.

    Returns:
      A Tensor of shape ``shape``.

    Raises:
      TypeError: if ``shape`` is not ints.
      ValueError: if the number of elements differs.

    Examples:
      >>> import lucid_fx
      >>> x = lucid_fx.Tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
      >>> lucid_fx.reshape(x, (2, -1)).tolist()
      [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    """
    shape = _ints("reshape", "shape", shape)
    return _reshape(a, shape=shape if isinstance(shape, tuple) else (shape,))


def _pure_squeeze(a: jax.Array, *, axis: Any) -> jax.Array:
    shape = _checks.shape_of(a)
    _checks.in_range("squeeze", axis, len(shape))
    if not shape:  # a 0-d tensor's axis 0 or -1 names nothing: PyTorch's rule
        return a
    for ax in axis if isinstance(axis, tuple) else (axis,):
        if ax is not None and shape[ax] != 1:
            raise ValueError(
                f"squeeze: axis {ax} has size {shape[ax]}, not 1 (shape {shape})."
            )
    return jnp.squeeze(a, axis)


_squeeze = lift(_pure_squeeze, "squeeze")


def squeeze(a: Any, axis: int | Sequence[int] | None = None, *, dim: Any = None) -> Any:
    """Remove axes of size 1 (all of them, or those in ``axis``).

    Args:
      a: a Tensor or array.
      axis: an int, a sequence of ints or ``None`` (every size-1 axis). ``dim``
        is PyTorch's name.

    Returns:
      A Tensor without those axes.

    Raises:
      ValueError: if a named axis is out of range or not of size 1.

    Examples:
      >>> import lucid_fx
      >>> x = lucid_fx.Tensor([[1.0], [2.0], [3.0]])
      >>> lucid_fx.squeeze(x).tolist(), x.squeeze(1).shape
      ([1.0, 2.0, 3.0], (3,))
    """
    return _squeeze(a, axis=_checks.axis_arg("squeeze", axis, dim))


def _pure_unsqueeze(a: jax.Array, *, axis: Any) -> jax.Array:
    n = len(axis) if isinstance(axis, tuple) else 1
    _checks.in_range("unsqueeze", axis, jnp.ndim(a) + n)
    return jnp.expand_dims(a, axis)


_unsqueeze = lift(_pure_unsqueeze, "unsqueeze")


def unsqueeze(
    a: Any, axis: int | Sequence[int] | None = None, *, dim: Any = None
) -> Any:
    """Insert axes of size 1 at ``axis`` (positions in the result).

    Args:
      a: a Tensor or array.
      axis: an int or a sequence of ints. ``dim`` is PyTorch's name.

    Returns:
      A Tensor with ``len(axis)`` more dimensions.

    Raises:
      TypeError: if no axis is given.
      ValueError: if an axis is out of range.

    Examples:
      >>> import lucid_fx
      >>> x = lucid_fx.Tensor([1.0, 2.0])
      >>> lucid_fx.unsqueeze(x, 0).shape, x.unsqueeze(dim=1).shape
      ((1, 2), (2, 1))
    """
    axis = _checks.axis_arg("unsqueeze", axis, dim)
    if axis is None:
        raise TypeError("unsqueeze: axis is required, e.g. unsqueeze(a, 0).")
    return _unsqueeze(a, axis=axis)


def _pure_flatten(a: jax.Array, *, start_dim: int = 0, end_dim: int = -1) -> jax.Array:
    shape = _checks.shape_of(a)
    if not shape:
        return jnp.reshape(a, (1,))
    _checks.in_range("flatten", (start_dim, end_dim), len(shape))
    start, end = start_dim % len(shape), end_dim % len(shape)
    if start > end:
        raise ValueError(
            f"flatten: start_dim ({start_dim}) comes after end_dim ({end_dim})."
        )
    merged = int(np.prod(shape[start : end + 1]))
    return jnp.reshape(a, shape[:start] + (merged,) + shape[end + 1 :])


_flatten = lift(_pure_flatten, "flatten")


def flatten(a: Any, start_dim: int = 0, end_dim: int = -1) -> Any:
    """Merge the axes ``start_dim..end_dim`` into one (all of them by default).

    Args:
      a: a Tensor or array.
      start_dim: first axis to merge. Default 0.
      end_dim: last axis to merge. Default -1.

    Returns:
      A Tensor; 1-D by default, as lucid's ``flatten``.

    Raises:
      ValueError: if an axis is out of range or ``start_dim`` > ``end_dim``.

    Examples:
      >>> import lucid_fx
      >>> x = lucid_fx.Tensor([[[1.0, 2.0]], [[3.0, 4.0]]])
      >>> lucid_fx.flatten(x).tolist(), x.flatten(1).shape
      ([1.0, 2.0, 3.0, 4.0], (2, 2))
    """
    start_dim = _ints("flatten", "start_dim", start_dim)
    end_dim = _ints("flatten", "end_dim", end_dim)
    return _flatten(a, start_dim=start_dim, end_dim=end_dim)


def ravel(a: Any) -> Any:
    """The elements as a 1-D tensor, in row-major order.

    Args:
      a: a Tensor or array.

    Returns:
      A 1-D Tensor of ``a.size`` elements.

    Examples:
      >>> import lucid_fx
      >>> x = lucid_fx.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
      >>> y = lucid_fx.ravel(x)
      >>> y.tolist()
      [1.0, 2.0, 3.0, 4.0]
      >>> (y * lucid_fx.Tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
      >>> x.grad.tolist()
      [[1.0, 2.0], [3.0, 4.0]]
    """
    return _flatten(a, start_dim=0, end_dim=-1)


def _pure_transpose(a: jax.Array, *, axes: tuple[int, ...] | None = None) -> jax.Array:
    ndim = jnp.ndim(a)
    if axes is not None and sorted(ax % max(ndim, 1) for ax in axes) != list(
        range(ndim)
    ):
        raise ValueError(
            f"transpose: axes {axes} are not a permutation of the {ndim} axes of a "
            f"tensor of shape {_checks.shape_of(a)}."
        )
    return jnp.transpose(a, axes)


_transpose = lift(_pure_transpose, "transpose")


def transpose(a: Any, axes: Sequence[int] | None = None) -> Any:
    """Permute the axes: reverse them by default, else in the order ``axes``.

    Args:
      a: a Tensor or array.
      axes: a permutation of ``range(a.ndim)``, or ``None`` (reverse).

    Returns:
      A Tensor of the permuted shape.

    Raises:
      ValueError: if ``axes`` is not a permutation.

    Examples:
      >>> import lucid_fx
      >>> x = lucid_fx.Tensor([[1.0, 2.0], [3.0, 4.0]])
      >>> lucid_fx.transpose(x).tolist()
      [[1.0, 3.0], [2.0, 4.0]]
      >>> lucid_fx.transpose(lucid_fx.zeros((2, 3, 4)), axes=[2, 0, 1]).shape
      (4, 2, 3)
    """
    if axes is not None:
        axes = _ints("transpose", "axes", axes)
        axes = axes if isinstance(axes, tuple) else (axes,)
    return _transpose(a, axes=axes)


def _pure_swapaxes(a: jax.Array, *, axis1: int, axis2: int) -> jax.Array:
    """Exchange two axes (PyTorch's ``transpose(dim0, dim1)``).

    Args:
      a: a Tensor or array.
      axis1: one axis (a static keyword).
      axis2: the other axis (a static keyword).

    Returns:
      A Tensor with the two axes exchanged.

    Raises:
      ValueError: if an axis is out of range.

    Examples:
      >>> import lucid_fx
      >>> lucid_fx.swapaxes(lucid_fx.zeros((2, 3, 4)), axis1=0, axis2=2).shape
      (4, 3, 2)
    """
    _checks.in_range("swapaxes", (axis1, axis2), jnp.ndim(a))
    if jnp.ndim(a) == 0:  # axes 0 and -1 of a 0-d tensor: itself, as PyTorch
        return a
    return jnp.swapaxes(a, axis1, axis2)


swapaxes = lift(_pure_swapaxes, "swapaxes")


def _pure_matrix_transpose(x: jax.Array) -> jax.Array:
    if jnp.ndim(x) < 2:
        raise ValueError(
            f"mT: needs at least 2 dimensions, got shape {_checks.shape_of(x)}."
        )
    return jnp.swapaxes(x, -1, -2)


matrix_transpose = lift(_pure_matrix_transpose, "mT")


def _pure_astype(x: jax.Array, *, dtype: Any) -> jax.Array:
    return jnp.asarray(x).astype(dtype)


_astype = lift(_pure_astype, "astype")


def astype(x: Any, *, dtype: Any) -> Any:
    """``x`` converted to ``dtype``: differentiable between floating dtypes;
    an integer or bool result is not recorded and does not require grad (as
    PyTorch: integer tensors cannot require grad).

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx import Tensor
      >>> from lucid_fx._tensor._shape_ops import astype
      >>> x = Tensor([1.5, 2.5], requires_grad=True)
      >>> astype(x, dtype=jnp.float16).requires_grad, astype(x, dtype=jnp.int32)
      (True, Tensor([1, 2], dtype=int32))
    """
    if is_inexact(jnp.dtype(dtype)):
        return _astype(x, dtype=dtype)
    with _tape.no_grad():
        return _astype(x, dtype=dtype)


def _pure_clone(x: jax.Array) -> jax.Array:
    return jnp.array(x, copy=True)


clone = lift(_pure_clone, "clone")
