"""Tensors made from a shape: ``zeros ones zeros_like ones_like eye diag``.

Generators make leaf tensors (``requires_grad`` as asked); ``diag`` of a Tensor
is an op on it and differentiable, as PyTorch's ``diag``.
"""

from __future__ import annotations

import functools
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx._tensor import _checks, _ops
from lucid_fx._tensor._config import DEFAULT_DEVICE, ENABLE_X64
from lucid_fx._tensor._convert import is_float
from lucid_fx._tensor._ops import lift
from lucid_fx._tensor._pending import at_top_level
from lucid_fx._tensor._shape_ops import _ints, astype


def _wrap(array: jax.Array) -> Any:
    """``Tensor._wrap(array)``; the first call replaces this module global by
    the bound classmethod itself (``Tensor`` is imported after this module),
    so later calls skip the lookups (~0.1 us)."""
    global _wrap
    _wrap = _ops._tensor.Tensor._wrap
    return _wrap(array)


def _one(kind: str, shape: tuple[int, ...], dtype: Any, k: int) -> jax.Array:
    if kind == "eye":
        return jnp.eye(shape[0], shape[1], k, dtype)
    return jnp.full(shape, 1 if kind == "ones" else 0, dtype)


_make = jax.jit(_one, static_argnums=(0, 1, 2, 3))


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3, 4))
def _make_batch(
    kind: str, shape: tuple[int, ...], dtype: Any, k: int, n: int
) -> list[jax.Array]:
    return [_one(kind, shape, dtype, k)] * n  # XLA returns n distinct buffers


# Small constants come from pools: one compiled call makes BATCH arrays of a
# kind, shape and dtype (~1.4 us each here, against ~6.5 us for one call per
# array), and each array is handed out once, never shared, so a user may
# donate or delete it like any array of their own. A kind is pooled from its
# second request on (the first makes one array: no batch compile for shapes
# used once). Bounded: at most MAX_POOLS kinds (the oldest goes first), each
# holding at most POOL_BYTES of arrays not yet handed out.
MAX_POOLS = 64
POOL_BYTES = 64 * 1024
BATCH = 32
_pools: OrderedDict[tuple, list[jax.Array]] = OrderedDict()
_pools_lock = threading.Lock()


def _filled(kind: str, shape: tuple[int, ...], dtype: Any, k: int = 0) -> jax.Array:
    """A new constant array: from its kind's pool when small, else from one
    compiled call (one dispatch instead of ``jnp.zeros``'s slow eager path;
    the programs live in ``jax.jit``'s own bounded cache)."""
    key = (kind, shape, dtype, k, DEFAULT_DEVICE.value, ENABLE_X64.value)
    pool = _pools.get(key)
    if pool:
        # No lock to take an array: list.pop is atomic, and one that finds
        # the list emptied by another thread since makes its own below.
        try:
            return pool.pop()
        except IndexError:
            pass
    return _refill(key, pool)


def _refill(key: tuple, pool: list[jax.Array] | None) -> jax.Array:
    """A new array of the pool ``key`` (as :func:`_filled` builds it) whose
    pool ``pool`` was found missing or empty: made on its own, or the first
    of a batch whose others fill the pool."""
    kind, shape, dtype, k = key[:4]
    dtype = jnp.dtype(dtype)
    n = min(BATCH, POOL_BYTES // max(1, math.prod(shape) * dtype.itemsize))
    if n < 2 or not at_top_level():  # big, or inside a trace: no pool
        return _make(kind, shape, dtype, k)
    if pool is None:  # first request of this kind: one array, pool from now on
        arrays = [_make(kind, shape, dtype, k)]
    else:
        arrays = _make_batch(kind, shape, dtype, k, n)
    with _pools_lock:
        pool = _pools.setdefault(key, [])
        pool.extend(arrays[1:])
        _pools.move_to_end(key)
        while len(_pools) > MAX_POOLS:
            _pools.popitem(last=False)
    return arrays[0]


def leaf(
    array: jax.Array, requires_grad: bool, keep_grad: bool, dtype: Any = None
) -> Any:
    """A new leaf Tensor holding ``array``, an array a generator just made.

    ``dtype``, when the caller knows it, is ``array``'s dtype (reading it off
    a JAX array costs a Python property call on this hot path).

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx._tensor import leaf
      >>> leaf(jnp.zeros(2), True, False)
      Tensor([0.0, 0.0], grad=None)
    """
    if keep_grad is False and (
        requires_grad is False
        or requires_grad is True
        and is_float(array.dtype if dtype is None else dtype)
    ):
        # Our own new array: no conversion or checks to run (~1 us less).
        out = _wrap(array)
        out._requires_grad = requires_grad
        return out
    return _ops._tensor.Tensor(array, requires_grad=requires_grad, keep_grad=keep_grad)


def _constant(
    kind: str, shape: Any, dtype: Any, requires_grad: bool, keep_grad: bool
) -> Any:
    """``zeros``/``ones``: ``leaf(_filled(kind, _shape(kind, shape), dtype),
    ...)`` with the pooled case inlined (one Python call instead of five; the
    pool key is built as ``_filled`` builds it)."""
    if type(shape) is int and shape >= 0:  # the common case, checked cheaply
        shape = (shape,)
    else:
        shape = _shape(kind, shape)
    key = (kind, shape, dtype, 0, DEFAULT_DEVICE.value, ENABLE_X64.value)
    pool = _pools.get(key)
    array = None
    if pool:
        try:  # no lock: list.pop is atomic (see _filled)
            array = pool.pop()
        except IndexError:
            pass
    if array is None:
        array = _refill(key, pool)
    if keep_grad is False and (
        requires_grad is False
        or requires_grad is True
        and (dtype is _FLOAT32 or is_float(dtype))
    ):
        out = _wrap(array)  # leaf's fast case
        out._requires_grad = requires_grad
        return out
    return leaf(array, requires_grad, keep_grad, dtype)


_FLOAT32 = np.float32  # the default dtype, known to be float


def _shape(op: str, shape: Any) -> tuple[int, ...]:
    if type(shape) is int and shape >= 0:  # the common case, checked cheaply
        return (shape,)
    shape = _ints(op, "shape", shape)
    shape = shape if isinstance(shape, tuple) else (shape,)
    if any(n < 0 for n in shape):
        raise ValueError(f"{op}: shape must be non-negative, got {shape}.")
    return shape


def _like(kind: str, a: Any, dtype: Any, requires_grad: bool, keep_grad: bool) -> Any:
    src = a if hasattr(a, "shape") else np.asarray(a)  # a Tensor: not computed
    array = _filled(kind, tuple(src.shape), src.dtype if dtype is None else dtype)
    return leaf(array, requires_grad, keep_grad)


def zeros(
    shape: int | Sequence[int],
    dtype: Any = np.float32,
    requires_grad: bool = False,
    keep_grad: bool = False,
) -> Any:
    """A tensor of zeros.

    Args:
      shape: an int or a sequence of ints.
      dtype: the element type. Default float32.
      requires_grad: make it a leaf that records gradients. Default ``False``.
      keep_grad: lucid's flag, passed on to the Tensor. Default ``False``.

    Returns:
      A Tensor of ``shape`` filled with 0.

    Raises:
      TypeError: if ``shape`` is not ints, or grad is asked for an integer dtype.
      ValueError: for a negative size.

    Examples:
      >>> import lucid_fx
      >>> z = lucid_fx.zeros((2, 3), requires_grad=True)
      >>> z.tolist(), z.requires_grad
      ([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], True)
    """
    return _constant("zeros", shape, dtype, requires_grad, keep_grad)


def ones(
    shape: int | Sequence[int],
    dtype: Any = np.float32,
    requires_grad: bool = False,
    keep_grad: bool = False,
) -> Any:
    """A tensor of ones.

    Args:
      shape: an int or a sequence of ints.
      dtype: the element type. Default float32.
      requires_grad: make it a leaf that records gradients. Default ``False``.
      keep_grad: lucid's flag, passed on to the Tensor. Default ``False``.

    Returns:
      A Tensor of ``shape`` filled with 1.

    Raises:
      TypeError: if ``shape`` is not ints, or grad is asked for an integer dtype.
      ValueError: for a negative size.

    Examples:
      >>> import lucid_fx
      >>> lucid_fx.ones(3).tolist(), lucid_fx.ones((1, 2), dtype="int32").tolist()
      ([1.0, 1.0, 1.0], [[1, 1]])
    """
    return _constant("ones", shape, dtype, requires_grad, keep_grad)


def zeros_like(
    a: Any, dtype: Any = None, requires_grad: bool = False, keep_grad: bool = False
) -> Any:
    """A tensor of zeros with ``a``'s shape (and dtype unless given).

    Args:
      a: a Tensor, array or nested list.
      dtype: the element type. Default: ``a``'s.
      requires_grad: make it a leaf that records gradients. Default ``False``.
      keep_grad: lucid's flag, passed on to the Tensor. Default ``False``.

    Returns:
      A new leaf Tensor; it never carries ``a``'s graph.

    Examples:
      >>> import lucid_fx
      >>> x = lucid_fx.Tensor([[1.0, 2.0]])
      >>> lucid_fx.zeros_like(x).tolist(), lucid_fx.zeros_like(x, dtype="int32").dtype
      ([[0.0, 0.0]], dtype('int32'))
    """
    return _like("zeros", a, dtype, requires_grad, keep_grad)


def ones_like(
    a: Any, dtype: Any = None, requires_grad: bool = False, keep_grad: bool = False
) -> Any:
    """A tensor of ones with ``a``'s shape (and dtype unless given).

    Args:
      a: a Tensor, array or nested list.
      dtype: the element type. Default: ``a``'s.
      requires_grad: make it a leaf that records gradients. Default ``False``.
      keep_grad: lucid's flag, passed on to the Tensor. Default ``False``.

    Returns:
      A new leaf Tensor; it never carries ``a``'s graph.

    Examples:
      >>> import lucid_fx
      >>> lucid_fx.ones_like(lucid_fx.Tensor([[1.0], [2.0]])).tolist()
      [[1.0], [1.0]]
    """
    return _like("ones", a, dtype, requires_grad, keep_grad)


def eye(
    N: int,  # noqa: N803  (lucid's name)
    M: int | None = None,  # noqa: N803
    k: int = 0,
    dtype: Any = np.float32,
    requires_grad: bool = False,
    keep_grad: bool = False,
) -> Any:
    r"""A matrix with ones on the ``k``-th diagonal and zeros elsewhere.

    .. math::

        I_{ij} = [j - i = k]

    Args:
      N: number of rows.
      M: number of columns. Default ``N``.
      k: the diagonal: 0 the main one, positive above, negative below.
      dtype: the element type. Default float32.
      requires_grad: make it a leaf that records gradients. Default ``False``.
      keep_grad: lucid's flag, passed on to the Tensor. Default ``False``.

    Returns:
      A Tensor of shape ``(N, M)``.

    Raises:
      TypeError: if ``N``, ``M`` or ``k`` is not an int.

    Examples:
      >>> import lucid_fx
      >>> lucid_fx.eye(2).tolist(), lucid_fx.eye(2, 3, k=1).tolist()
      ([[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    """
    n = _shape("eye", N)[0]
    m = n if M is None else _shape("eye", M)[0]
    eye_ = _filled("eye", (n, m), dtype, _ints("eye", "k", k))
    return leaf(eye_, requires_grad, keep_grad)


def _pure_diag(v: jax.Array, *, k: int = 0) -> jax.Array:
    if jnp.ndim(v) not in (1, 2):
        raise ValueError(
            f"diag: expects a 1-D or 2-D tensor, got shape {_checks.shape_of(v)}."
        )
    return jnp.diag(v, k)


_diag = lift(_pure_diag, "diag")


def diag(
    v: Any,
    k: int = 0,
    dtype: Any = None,
    requires_grad: bool = False,
    keep_grad: bool = False,
) -> Any:
    r"""The ``k``-th diagonal of a matrix, or a matrix with ``v`` on it.

    .. math::

        \text{1-D } v:\ Y_{i, i+k} = v_i \qquad
        \text{2-D } V:\ y_i = V_{i, i+k}

    Of a Tensor this is a differentiable op, as PyTorch's ``diag``; of other
    data it makes a leaf (``requires_grad`` as asked). lucid's ``dtype``
    default is float32; here ``None`` keeps the input's dtype (lists become
    float32 as for every Tensor).

    Args:
      v: a 1-D or 2-D Tensor, array or nested list.
      k: the diagonal: 0 the main one, positive above, negative below.
      dtype: convert the result to this dtype. Default: keep.
      requires_grad: for non-Tensor ``v``, make a leaf that records gradients.
      keep_grad: lucid's flag, passed on to the Tensor. Default ``False``.

    Returns:
      A 2-D Tensor for 1-D ``v``, a 1-D Tensor for 2-D ``v``.

    Raises:
      ValueError: if ``v`` is not 1-D or 2-D.

    Examples:
      >>> import lucid_fx
      >>> x = lucid_fx.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
      >>> d = lucid_fx.diag(x)
      >>> d.tolist()
      [1.0, 4.0]
      >>> d.sum().backward()
      >>> x.grad.tolist()
      [[1.0, 0.0], [0.0, 1.0]]
      >>> lucid_fx.diag([1.0, 2.0]).tolist()
      [[1.0, 0.0], [0.0, 2.0]]
    """
    k = _ints("diag", "k", k)
    tensor_type = _ops._tensor.Tensor
    if isinstance(v, tensor_type):
        out = _diag(v, k=k)
        return out if dtype is None else astype(out, dtype=jnp.dtype(dtype))
    made = leaf(_pure_diag(tensor_type(v).data, k=k), False, False)
    array = made.data if dtype is None else made.data.astype(dtype)
    return leaf(array, requires_grad, keep_grad)
