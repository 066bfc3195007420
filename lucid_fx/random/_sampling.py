"""Random Tensors from the global generator: ``rand randn randint``.

Each draw splits the global key as :func:`lucid_fx.random.next_key` does, so the same
:func:`lucid_fx.random.seed` gives the same tensors. The numbers are JAX's
(threefry), not NumPy's: lucid's printed values are not reproduced.

Small eager draws are cheap when repeated: a draw in a row of the same shape
and kind from the chained key computes the next draws of that spec in one
compiled call (a *run*, see :mod:`lucid_fx.random._runs`), and later
draws of it hand those out without a dispatch. The run's program compiles in a
background thread, started at the second draw in a row; the draws until it is
ready are single calls. The values are the same as drawing one at a time.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx._tensor import Tensor, _checks, leaf
from lucid_fx._tensor._config import DEFAULT_DEVICE, ENABLE_X64
from lucid_fx.random import _runs

_wrap = Tensor._wrap  # resolved once: the draws' hot path

_MSG_SHAPE = (
    "{op}: the shape must be ints, given as {op}(2, 3) or {op}((2, 3)), got {shape!r}."
)


def _is_int(v: Any) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


def _shape(op: str, shape: tuple[Any, ...]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], list | tuple):
        shape = tuple(shape[0])
    for n in shape:  # the common case, checked cheaply (~1 us less per draw)
        if type(n) is not int or n < 0:
            break
    else:
        return shape
    if not all(_is_int(n) for n in shape):
        raise TypeError(_MSG_SHAPE.format(op=op, shape=shape))
    if any(n < 0 for n in shape):
        raise ValueError(f"{op}: sizes must be >= 0, got {shape}.")
    return tuple(int(n) for n in shape)


_SAMPLERS = {
    "uniform": lambda key, shape, lo, hi: jax.random.uniform(key, shape, jnp.float32),
    "normal": lambda key, shape, lo, hi: jax.random.normal(key, shape, jnp.float32),
    "randint": lambda key, shape, lo, hi: jax.random.randint(key, shape, lo, hi),
}


# A spec: (kind, shape, lo, hi, default device, x64); the last two only key
# the generator's run (jit keys its own cache on them too).
Spec = tuple[str, tuple[int, ...], int, int, Any, bool]


@functools.partial(jax.jit, static_argnums=1)
def _split_and_draw(state: jax.Array, spec: Spec) -> tuple[jax.Array, jax.Array]:
    kind, shape, lo, hi = spec[:4]
    state, key = jax.random.split(jax.random.wrap_key_data(state))
    return jax.random.key_data(state), _SAMPLERS[kind](key, shape, lo, hi)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _split_and_draw_run(
    state: jax.Array, spec: Spec, n: int
) -> tuple[list[jax.Array], jax.Array, jax.Array]:
    """``n`` calls of ``_split_and_draw`` chained from ``state``: the samples
    as ``n`` arrays (XLA returns distinct buffers), the ``(n + 1, 2)`` raw
    states, ``state`` first, and the last state again as its own array (the
    key after the run, read without a dispatch). The chain is a scan (the
    splits are sequential; unrolled it dispatched ~3x slower here), the
    samples one vmapped draw: the bits are threefry's and the float math per
    element is unchanged, so the values are bitwise those of single draws
    (``tests/ops/test_random_runs.py``).
    """
    kind, shape, lo, hi = spec[:4]

    def split(key: jax.Array, _: None) -> tuple[jax.Array, tuple]:
        key, sub = jax.random.split(key)
        return key, (jax.random.key_data(key), sub)

    key = jax.random.wrap_key_data(state)
    last, (states, keys) = jax.lax.scan(split, key, None, length=n)
    samples = jax.vmap(lambda k: _SAMPLERS[kind](k, shape, lo, hi))(keys)
    states = jnp.concatenate([state[None], states])
    return list(samples), states, jax.random.key_data(last)


def _compile_run(like: jax.ShapeDtypeStruct, spec: Spec, n: int) -> None:
    """Compile ``_split_and_draw_run``'s program for ``spec`` into jit's cache
    by running it once on zeros shaped as the raw key ``like``, under the
    default device and x64 setting the spec was drawn with (a thread does not
    inherit them), so the draw's own call then finds it."""
    with jax.default_device(spec[4]), jax.enable_x64(spec[5]):
        zeros = np.zeros(like.shape, like.dtype)
        state = jax.device_put(zeros, like.sharding)  # None: uncommitted
        jax.block_until_ready(_split_and_draw_run(state, spec, n))


def _draw(kind: str, shape: tuple[int, ...], lo: int = 0, hi: int = 0) -> jax.Array:
    """``next_key()`` and one draw, from the generator's run when it has one.

    The same split as :func:`lucid_fx.random.next_key`: the generator keeps the
    first half, the draw uses the second, so both give the same sequence. The
    programs live in ``jax.jit``'s own bounded cache, keyed by the static
    arguments.
    """
    spec = (kind, shape, lo, hi, DEFAULT_DEVICE.value, ENABLE_X64.value)
    sample = _runs.take(spec)
    if sample is None:
        sample = _draw_spec(spec)
    return sample


def _draw_spec(spec: Spec) -> jax.Array:
    """:func:`_draw` of a built ``spec`` once ``_runs.take`` had no sample."""
    kind, shape = spec[:2]
    itemsize = 8 if kind == "randint" and spec[5] else 4
    return _runs.draw(
        spec,
        _split_and_draw,
        _split_and_draw_run,
        math.prod(shape) * itemsize,
        _compile_run,
    )


def _float_leaf(
    kind: str, op: str, shape: tuple[Any, ...], requires_grad: bool, keep_grad: bool
) -> Tensor:
    """``rand``/``randn``: ``leaf(_draw(kind, _shape(op, shape)), ...,
    float32)`` with the common case inlined (one Python call instead of five;
    a float32 sample may always require grad, so ``leaf``'s check is moot)."""
    for n in shape:  # ints >= 0, as _shape's own fast check
        if type(n) is not int or n < 0:
            shape = _shape(op, shape)
            break
    fast = keep_grad is False and (requires_grad is False or requires_grad is True)
    if not fast:  # checked before the draw: a bad flag leaves the key as it was
        _checks.flags(op, requires_grad, keep_grad)
    spec = (kind, shape, 0, 0, DEFAULT_DEVICE.value, ENABLE_X64.value)
    sample = _runs.take(spec)
    if sample is None:
        sample = _draw_spec(spec)
    if fast:
        out = _wrap(sample)  # leaf's fast case
        out._requires_grad = requires_grad
        return out
    return leaf(sample, requires_grad, keep_grad, jnp.float32)


def rand(*shape: Any, requires_grad: bool = False, keep_grad: bool = False) -> Tensor:
    r"""Uniform samples on :math:`[0, 1)` in float32.

    Args:
      *shape: the sizes, as ints or one tuple: ``rand(2, 3)`` or ``rand((2, 3))``.
      requires_grad: make it a leaf that records gradients. Default ``False``.
      keep_grad: lucid's flag, passed on to the Tensor. Default ``False``.

    Returns:
      A float32 Tensor of ``shape``.

    Raises:
      TypeError: if a size is not an int.
      ValueError: if a size is negative.

    Examples:
      >>> import lucid_fx
      >>> lucid_fx.random.seed(0)
      >>> x = lucid_fx.random.rand(2, 3, requires_grad=True)
      >>> x.shape, x.requires_grad, 0.0 <= x.min().item() and x.max().item() < 1.0
      ((2, 3), True, True)
      >>> lucid_fx.random.seed(0)
      >>> lucid_fx.random.rand((2, 3)).tolist() == x.tolist()
      True
    """
    return _float_leaf("uniform", "rand", shape, requires_grad, keep_grad)


def randn(*shape: Any, requires_grad: bool = False, keep_grad: bool = False) -> Tensor:
    r"""Standard normal samples, :math:`\mathcal N(0, 1)`, in float32.

    Args:
      *shape: the sizes, as ints or one tuple: ``randn(2, 3)`` or ``randn((2, 3))``.
      requires_grad: make it a leaf that records gradients. Default ``False``.
      keep_grad: lucid's flag, passed on to the Tensor. Default ``False``.

    Returns:
      A float32 Tensor of ``shape``.

    Raises:
      TypeError: if a size is not an int.
      ValueError: if a size is negative.

    Examples:
      >>> import lucid_fx
      >>> lucid_fx.random.seed(123)
      >>> a = lucid_fx.random.randn(3)
      >>> lucid_fx.random.seed(123)
      >>> a.tolist() == lucid_fx.random.randn(3).tolist(), a.dtype
      (True, dtype('float32'))
    """
    return _float_leaf("normal", "randn", shape, requires_grad, keep_grad)


def randint(
    low: int,
    high: int | None = None,
    size: int | Sequence[int] = 1,
    requires_grad: bool = False,
    keep_grad: bool = False,
) -> Tensor:
    """Uniform integers in ``[low, high)`` (``[0, low)`` if ``high`` is None).

    Integer tensors cannot require grad (PyTorch's rule): lucid's page shows
    ``randint(..., requires_grad=True)``; here that raises ``TypeError``.

    Args:
      low: the smallest value (or the exclusive bound if ``high`` is None).
      high: one past the largest value. Default ``None``.
      size: an int or a tuple of ints. Default 1.
      requires_grad: must stay ``False`` for integers.
      keep_grad: lucid's flag, passed on to the Tensor. Default ``False``.

    Returns:
      An int32 Tensor (int64 under ``jax_enable_x64``) of shape ``size``.

    Raises:
      TypeError: for non-int bounds or sizes, or ``requires_grad=True``.
      ValueError: if ``high <= low``, or the bounds do not fit the result's
        dtype.

    Examples:
      >>> import lucid_fx
      >>> lucid_fx.random.seed(0)
      >>> x = lucid_fx.random.randint(0, 10, (2, 3))
      >>> x.shape, str(x.dtype), 0 <= x.min().item() and x.max().item() < 10
      ((2, 3), 'int32', True)
    """
    if high is None:
        low, high = 0, low
    if not (_is_int(low) and _is_int(high)):
        raise TypeError(
            f"randint: low and high must be ints, got {low!r} and {high!r}."
        )
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low}).")
    info = np.iinfo(np.int64 if jax.config.jax_enable_x64 else np.int32)
    if low < info.min or high > info.max:
        raise ValueError(
            f"randint: bounds [{low}, {high}) do not fit the {info.dtype} result; "
            f"keep low and high within [{info.min}, {info.max}] (int64 needs "
            f"jax_enable_x64)."
        )
    if requires_grad:
        raise TypeError(
            "randint: integer tensors cannot require grad (as in PyTorch). Draw "
            "floats with rand/randn, or convert with .float() first."
        )
    _checks.flags("randint", requires_grad, keep_grad)  # before the key moves
    if not (_is_int(size) or isinstance(size, list | tuple)):
        raise TypeError(
            f"randint: size must be an int or a tuple of ints, as randint(0, 10, "
            f"(2, 3)), got {size!r}."
        )
    shape = _shape("randint", (size,) if _is_int(size) else (tuple(size),))
    values = _draw("randint", shape, int(low), int(high))
    return leaf(values, False, keep_grad)
