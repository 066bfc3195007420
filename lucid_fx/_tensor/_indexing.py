"""Comparisons (no gradient) and ``x[index]``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx._tensor import _checks, _tape
from lucid_fx._tensor._ops import lift, unwrap


def _compare(name: str, jfn: Callable) -> Callable:
    def pure(a: jax.Array, b: jax.Array) -> jax.Array:
        _checks.broadcast(name, a, b)
        return jfn(a, b)

    pure.__name__ = name
    lifted = lift(pure, name)

    def compare(a: Any, b: Any) -> Any:
        with _tape.no_grad():  # comparisons have no gradient
            return lifted(a, b)

    compare.__name__ = name
    return compare


eq = _compare("eq", jnp.equal)
ne = _compare("ne", jnp.not_equal)
lt = _compare("lt", jnp.less)
le = _compare("le", jnp.less_equal)
gt = _compare("gt", jnp.greater)
ge = _compare("ge", jnp.greater_equal)


def _scalar_bool(part: Any) -> bool | None:
    """A Python or NumPy bool, or a 0-d bool array or Tensor, as a Python bool
    (``None`` for anything else). As an index it adds an axis of length 1
    (``True``) or 0 (``False``), as in NumPy and PyTorch: it is not 1 or 0."""
    if part is True or part is False:
        return part
    if getattr(part, "dtype", None) == np.bool_ and getattr(part, "ndim", 1) == 0:
        value = unwrap(part)
        if isinstance(value, jax.core.Tracer):
            return None  # traced: JAX's own indexing decides
        return bool(value)
    return None


def _is_mask(part: Any) -> bool:
    return getattr(part, "dtype", None) == np.bool_ or (
        isinstance(part, list | np.ndarray) and np.asarray(part).dtype == np.bool_
    )


def _check_bounds(
    op: str, shape: tuple[int, ...], parts: tuple[Any, ...], masks: list[bool]
) -> None:
    """Raise ``IndexError`` for an int or integer-array index out of range, or
    a boolean mask of the wrong shape, as NumPy and PyTorch do; JAX would clamp
    a read and drop a write silently. Traced indices (inside ``jax.jit`` or
    ``lucid_fx.compile``) cannot be read: there JAX's clamping applies."""
    counts = []
    for part, mask in zip(parts, masks, strict=True):
        if part is None or part is True or part is False:
            counts.append(0)  # a new axis
        elif part is Ellipsis:
            counts.append(None)
        elif mask:
            counts.append(np.ndim(unwrap(part)))
        else:
            counts.append(1)
    fixed = sum(c for c in counts if c is not None)
    if fixed > len(shape):
        return  # too many indices: JAX's own IndexError says so
    dim = 0
    for part, count, mask in zip(parts, counts, masks, strict=True):
        if count is None:
            dim += len(shape) - fixed
            continue
        if count == 0 or isinstance(part, slice):
            dim += count
            continue
        size = shape[dim]
        if mask:
            given = tuple(np.shape(unwrap(part)))
            if given != shape[dim : dim + count]:
                raise IndexError(
                    f"{op}: a boolean mask of shape {given} indexes axes of shape "
                    f"{shape[dim : dim + count]} at axis {dim}; they must match."
                )
        else:
            values = unwrap(part)
            if isinstance(values, jax.core.Tracer):
                dim += count
                continue
            values = np.asarray(values)
            if values.size and values.dtype.kind in "iu":
                bad = values[(values >= size) | (values < -size)]
                if bad.size:
                    raise IndexError(
                        f"{op}: index {int(bad.flat[0])} is out of bounds for "
                        f"axis {dim} with size {size}."
                    )
        dim += count


def _index_key(
    index: Any, shape: tuple[int, ...] | None = None, op: str = "getitem"
) -> tuple[tuple[Any, ...], list[Any]]:
    """Split an index into a hashable static spec and its array parts, after
    checking it against ``shape`` (when given)."""
    parts = index if isinstance(index, tuple) else (index,)
    parts = tuple(part if (b := _scalar_bool(part)) is None else b for part in parts)
    masks = [_is_mask(part) for part in parts]
    if shape is not None:
        _check_bounds(op, shape, parts, masks)
    spec: list[Any] = []
    arrays: list[Any] = []
    for part, mask in zip(parts, masks, strict=True):
        if isinstance(part, slice):
            spec.append(("slice", part.start, part.stop, part.step))
        elif part is True or part is False:
            # Tagged apart: ("static", True) would equal ("static", 1) as a key.
            spec.append(("bool", part))
        elif part is None or part is Ellipsis or isinstance(part, int | np.integer):
            static = part if part is None or part is Ellipsis else int(part)
            spec.append(("static", static))
        elif mask:
            # A boolean mask has a data-dependent shape: resolve it on the host.
            nonzero = np.nonzero(np.asarray(unwrap(part)))
            spec.extend(("array",) for _ in nonzero)
            arrays.extend(nonzero)
        else:
            spec.append(("array",))
            arrays.append(part)
    return tuple(spec), arrays


def index_of(spec: tuple[Any, ...], arrays: tuple[jax.Array, ...]) -> tuple[Any, ...]:
    """The JAX index that ``_index_key``'s ``(spec, arrays)`` stand for."""
    it = iter(arrays)
    return tuple(
        slice(*p[1:]) if p[0] == "slice" else next(it) if p[0] == "array" else p[1]
        for p in spec
    )


def _getitem(x: jax.Array, *arrays: jax.Array, spec: tuple[Any, ...]) -> jax.Array:
    return x[index_of(spec, arrays)]


_getitem_op = lift(_getitem, "getitem")


def getitem(x: Any, index: Any) -> Any:
    """``x[index]`` with ints, slices, None, Ellipsis and integer/bool arrays."""
    shape = getattr(x, "shape", None)
    spec, arrays = _index_key(index, None if shape is None else tuple(shape))
    return _getitem_op(x, *arrays, spec=spec)
