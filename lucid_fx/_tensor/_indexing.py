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
