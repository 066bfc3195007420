"""The Tensor's op library: pure JAX functions lifted once into eager ops."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx._tensor import _tape
from lucid_fx._tensor._ops import lift, unwrap

# ---------------------------------------------------------------- shape checks

_MSG_BROADCAST = (
    "{op}: operands of shapes {a} and {b} cannot be broadcast together. Shapes "
    "must match or be 1 in each trailing dimension."
)
_MSG_MATMUL = (
    "matmul: shapes {a} and {b} are not aligned: the last dimension of the left "
    "operand ({k1}) must equal the {which} dimension of the right operand ({k2})."
)


def _shape(v: Any) -> tuple[int, ...]:
    return tuple(np.shape(v))


def _check_broadcast(op: str, a: Any, b: Any) -> None:
    try:
        np.broadcast_shapes(_shape(a), _shape(b))
    except ValueError:
        raise ValueError(
            _MSG_BROADCAST.format(op=op, a=_shape(a), b=_shape(b))
        ) from None


def _check_matmul(a: Any, b: Any) -> None:
    sa, sb = _shape(a), _shape(b)
    if not sa or not sb:
        raise ValueError(f"matmul: operands must be at least 1-D, got {sa} and {sb}.")
    which = "first" if len(sb) == 1 else "second-to-last"
    k2 = sb[0] if len(sb) == 1 else sb[-2]
    if sa[-1] != k2:
        raise ValueError(_MSG_MATMUL.format(a=sa, b=sb, k1=sa[-1], k2=k2, which=which))


def _binary(name: str, jfn: Callable) -> Callable:
    def pure(a: jax.Array, b: jax.Array) -> jax.Array:
        _check_broadcast(name, a, b)
        return jfn(a, b)

    pure.__name__ = name
    return lift(pure, name)


def _matmul(a: jax.Array, b: jax.Array) -> jax.Array:
    _check_matmul(a, b)
    return jnp.matmul(a, b)


add = _binary("add", jnp.add)
sub = _binary("sub", jnp.subtract)
mul = _binary("mul", jnp.multiply)
div = _binary("div", jnp.divide)
pow = _binary("pow", jnp.power)  # noqa: A001
maximum = _binary("maximum", jnp.maximum)
matmul = lift(_matmul, "matmul")
neg = lift(jnp.negative, "neg")
exp = lift(jnp.exp, "exp")
log = lift(jnp.log, "log")


def _sum(x: jax.Array, *, axis: Any = None, keepdims: bool = False) -> jax.Array:
    return jnp.sum(x, axis=axis, keepdims=keepdims)


def _mean(x: jax.Array, *, axis: Any = None, keepdims: bool = False) -> jax.Array:
    return jnp.mean(x, axis=axis, keepdims=keepdims)


def _reshape(x: jax.Array, *, shape: tuple[int, ...]) -> jax.Array:
    if np.prod(shape) != x.size and -1 not in shape:
        raise ValueError(
            f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} "
            f"elements) into shape {shape}."
        )
    return jnp.reshape(x, shape)


def _transpose(x: jax.Array, *, axes: tuple[int, ...] | None = None) -> jax.Array:
    return jnp.transpose(x, axes)


def _matrix_transpose(x: jax.Array) -> jax.Array:
    if x.ndim < 2:
        raise ValueError(f"mT: needs at least 2 dimensions, got shape {x.shape}.")
    return jnp.swapaxes(x, -1, -2)


def _astype(x: jax.Array, *, dtype: Any) -> jax.Array:
    return x.astype(dtype)


astype = lift(_astype, "astype")
sum = lift(_sum, "sum")  # noqa: A001
mean = lift(_mean, "mean")
reshape = lift(_reshape, "reshape")
transpose = lift(_transpose, "transpose")
matrix_transpose = lift(_matrix_transpose, "mT")


def _compare(name: str, jfn: Callable) -> Callable:
    lifted = _binary(name, jfn)

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


# ------------------------------------------------------------------ indexing


def _index_key(index: Any) -> tuple[tuple[Any, ...], list[Any]]:
    """Split an index into a hashable static spec and its array parts."""
    parts = index if isinstance(index, tuple) else (index,)
    spec: list[Any] = []
    arrays: list[Any] = []
    for part in parts:
        if isinstance(part, slice):
            spec.append(("slice", part.start, part.stop, part.step))
        elif part is None or part is Ellipsis or isinstance(part, int | np.integer):
            static = part if part is None or part is Ellipsis else int(part)
            spec.append(("static", static))
        elif getattr(part, "dtype", None) == np.bool_ or (
            isinstance(part, list | np.ndarray) and np.asarray(part).dtype == np.bool_
        ):
            # A boolean mask has a data-dependent shape: resolve it on the host.
            nonzero = np.nonzero(np.asarray(unwrap(part)))
            spec.extend(("array",) for _ in nonzero)
            arrays.extend(nonzero)
        else:
            spec.append(("array",))
            arrays.append(part)
    return tuple(spec), arrays


def _getitem(x: jax.Array, *arrays: jax.Array, spec: tuple[Any, ...]) -> jax.Array:
    it = iter(arrays)
    index = tuple(
        slice(*p[1:]) if p[0] == "slice" else p[1] if p[0] == "static" else next(it)
        for p in spec
    )
    return x[index]


_getitem_op = lift(_getitem, "getitem")


def getitem(x: Any, index: Any) -> Any:
    """``x[index]`` with ints, slices, None, Ellipsis and integer/bool arrays."""
    spec, arrays = _index_key(index)
    return _getitem_op(x, *arrays, spec=spec)
