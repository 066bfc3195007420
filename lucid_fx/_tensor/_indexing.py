"""Comparisons (no gradient) and ``x[index]``."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx._tensor import _checks, _tape
from lucid_fx._tensor._convert import from_torch, is_torch
from lucid_fx._tensor._ops import lift, unwrap


def _compare(name: str, jfn: Callable) -> Callable:
    def pure(a: jax.Array, b: jax.Array) -> jax.Array:
        _checks.broadcast(name, a, b)
        return jfn(a, b)

    pure.__name__ = name
    lifted = lift(pure, name)

    def compare(a: Any, b: Any) -> Any:
        with _tape.no_grad():  # comparisons have no gradient
            exact = _outside(name, a, b)
            return lifted(a, b) if exact is None else exact

    compare.__name__ = name
    return compare


# Per comparison: its result where the right operand lies above every value of
# the left one's dtype, and the comparison with the operands swapped.
_ABOVE = {"eq": False, "ne": True, "lt": True, "le": True, "gt": False, "ge": False}
_SWAPPED = {"eq": "eq", "ne": "ne", "lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}


def _outside(name: str, a: Any, b: Any) -> Any:
    """An integer or bool Tensor compared with a Python int outside its dtype's
    range: the exact answer, all True or all False (None otherwise).

    JAX and PyTorch both convert the int to the tensor's dtype first, which
    wraps it around (``int32_t < 2**31`` is all False in PyTorch); the math
    has one answer, given here, for every dtype and either operand order."""
    if type(a) is int and type(b) is not int:
        return _outside(_SWAPPED[name], b, a)
    dtype = getattr(a, "dtype", None)
    if type(b) is not int or dtype is None or not hasattr(a, "_data"):
        return None
    lo, hi = _checks.integer_range(dtype)
    if lo <= b <= hi:  # a float dtype's (-inf, inf) holds every int
        return None
    result = _ABOVE[name] if b > hi else _ABOVE[_SWAPPED[name]]
    return (eq if result else ne)(a, a)


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


_MSG_SLICE_BOUND = (
    "{op}: a slice bound must be an int, None or a one-element integer "
    "tensor, got {kind} {value!r}. Pass e.g. x[1:3]."
)


def _slice_bound(op: str, value: Any) -> Any:
    """A slice's start, stop or step as a Python int (a Tensor or PyTorch
    tensor is read on the host, as PyTorch reads it)."""
    if value is None or type(value) is int:
        return value
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(
            _MSG_SLICE_BOUND.format(op=op, kind=type(value).__name__, value=value)
        ) from None


def _host_list(value: Any) -> Any:
    """A list or tuple index with Tensors or PyTorch tensors in it, as nested
    lists of NumPy values (JAX cannot read those inside a list)."""
    if isinstance(value, list | tuple):
        return [_host_list(v) for v in value]
    if is_torch(value):
        return from_torch(value)
    return np.asarray(value) if hasattr(value, "_data") else value


_MSG_TOO_MANY = (
    "{op}: too many indices for a tensor of {ndim} dimensions (shape {shape}): "
    "{given} indexed. Index at most {ndim} axes{hint}."
)
_MSG_INDEX_KIND = (
    "{op}: an index must be an int, a slice, None, Ellipsis, or an integer or "
    "bool array or tensor, got {kind} {value!r}. Convert it first, e.g. "
    "x[int(i)]."
)


def _check_kind(op: str, part: Any) -> None:
    """Raise ``TypeError`` for a float (or other non-integer) index part."""
    dtype = getattr(part, "dtype", None)
    if isinstance(part, float | complex | str) or (
        dtype is not None and np.dtype(dtype).kind not in "biu"
    ):
        raise TypeError(
            _MSG_INDEX_KIND.format(op=op, kind=type(part).__name__, value=part)
        )


def _host_part(op: str, part: Any) -> Any:
    """One part of an index with what JAX cannot take converted: slice bounds
    to ints, a PyTorch tensor to a NumPy array, Tensors in a list to values."""
    if isinstance(part, slice):
        start, stop, step = (
            _slice_bound(op, v) for v in (part.start, part.stop, part.step)
        )
        return slice(start, stop, step)
    if is_torch(part):
        part = from_torch(part)
    elif isinstance(part, list):
        part = np.asarray(_host_list(part))
        if part.size == 0:  # [] is float64 to NumPy: an empty integer index
            part = part.astype(np.int32)
    _check_kind(op, part)
    return part


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
        raise IndexError(
            _MSG_TOO_MANY.format(
                op=op, given=fixed, ndim=len(shape), shape=shape,
                hint="" if shape else " (a 0-d tensor's value is t.item())",
            )
        )  # fmt: skip
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
    parts = tuple(_host_part(op, part) for part in parts)
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
