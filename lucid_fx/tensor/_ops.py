"""Lift a pure JAX function into an eager, taped op.

Each lifted op compiles two programs per (shape, dtype, static arguments): a
forward, and a forward that also returns the compiled VJP (its residuals live in
a pytree). The tape's backward applies that VJP in one more compiled program, so
no ``jax.vjp`` is traced per call and eager gradients are exactly the pure
function's own (custom_vjp) rule.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Hashable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx.tensor import _device, _tape, _tensor


def _programs(
    fn: Callable,
    static: dict[str, Hashable],
    diff: tuple[int, ...],
    donate: tuple[int, ...] = (),
) -> tuple[Callable, Callable]:
    def forward(*arrays: jax.Array) -> jax.Array:
        return fn(*arrays, **static)

    def forward_and_vjp(*arrays: jax.Array) -> tuple[jax.Array, Callable]:
        def of_diff(*diff_arrays: jax.Array) -> jax.Array:
            merged = list(arrays)
            for i, a in zip(diff, diff_arrays, strict=True):
                merged[i] = a
            return fn(*merged, **static)

        return jax.vjp(of_diff, *(arrays[i] for i in diff))

    return (
        jax.jit(forward, donate_argnums=donate),
        jax.jit(forward_and_vjp, donate_argnums=donate),
    )


_MSG_DEVICES = (
    "{op}: tensors are on different devices, {a} and {b}. Move one with "
    ".to(device) first; lucid_fx never copies between devices silently."
)


def _check_devices(op: str, arrays: list[Any]) -> None:
    """Single-device operands must share a device (PyTorch's rule). Sharded
    arrays follow JAX's SPMD rules; tracers are placed by the outer program."""
    first = None
    for array in arrays:
        if isinstance(array, jax.core.Tracer):
            return
        placed = array.sharding.device_set
        if len(placed) != 1:
            return
        if first is None:
            first = (placed, array)
        elif placed != first[0]:
            raise RuntimeError(
                _MSG_DEVICES.format(
                    op=op, a=_device.describe(first[1]), b=_device.describe(array)
                )
            )


def _unwrap(value: Any) -> Any:
    return value.data if isinstance(value, _tensor.Tensor) else value


def lift(fn: Callable, name: str | None = None) -> Callable:
    """Turn a pure JAX function of arrays into an eager op on ``Tensor``\\ s.

    Positional arguments may be Tensors, JAX or numpy arrays, or Python numbers;
    keyword arguments are static (hashable) and part of the compile cache key.
    The op records the tape when an argument requires grad; its gradient is
    ``jax.vjp`` of ``fn`` (so a ``custom_vjp`` rule is respected). Called with no
    Tensor arguments, or inside a Module called with plain arrays, it runs ``fn``
    directly and returns a plain array, so it composes with ``jax.jit`` and
    ``jax.vmap``.

    Args:
      fn: a pure function of arrays returning one array.
      name: the op's name in error messages; defaults to ``fn.__name__``.

    Returns:
      The eager op.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx import Tensor
      >>> from lucid_fx.tensor import lift
      >>> softplus = lift(lambda x: jnp.logaddexp(x, 0.0), name="softplus")
      >>> x = Tensor([0.0], requires_grad=True)
      >>> softplus(x).backward()
      >>> x.grad
      Tensor([0.5])
    """
    op_name = name or getattr(fn, "__name__", "op")
    cache: dict[Hashable, tuple[Callable, Callable]] = {}
    tensor_type = _tensor.Tensor

    def op(*args: Any, **static: Hashable) -> Any:
        # The eager hot path: keep it to a few dict lookups and one XLA call.
        tensors = [i for i, a in enumerate(args) if isinstance(a, tensor_type)]
        if not tensors or _tape.is_pure():
            return fn(*map(_unwrap, args), **static)
        arrays = tuple(a.data if isinstance(a, tensor_type) else a for a in args)
        if len(tensors) > 1:
            _check_devices(op_name, [arrays[i] for i in tensors])
        diff = ()
        if _tape.is_grad_enabled():
            diff = tuple(i for i in tensors if args[i].requires_grad)
        key = (tuple(static.items()), diff) if static else diff
        programs = cache.get(key)
        if programs is None:
            programs = cache[key] = _programs(fn, static, diff)
        if not diff:
            return tensor_type._wrap(programs[0](*arrays))
        out, vjp_fn = programs[1](*arrays)
        node = _tape.Node([args[i] for i in diff], vjp_fn)
        return tensor_type._wrap(out, node=node)

    op.__name__ = op.__qualname__ = op_name
    op.__doc__ = fn.__doc__
    return op


_MSG_INPLACE_LEAF = (
    "{name}: a leaf tensor that requires grad cannot be modified in place (its "
    "gradient would refer to a value that no longer exists). Use the "
    "out-of-place function, or modify it under lucid_fx.no_grad()."
)


def lift_inplace(fn: Callable, name: str) -> Callable:
    """Turn a pure elementwise function into an in-place op on a Tensor.

    In place means PyTorch's semantics with XLA's means: the input's buffer is
    donated to the compiled program, which writes the result into it, and the
    Tensor is rebound to the result. If anything else still references the
    buffer (a view from ``detach()``, a saved ``.data``), donating would delete
    it under them, so the op computes out of place and rebinds instead.

    The tape stays correct: each op's saved values are its own buffers, so an
    in-place change never alters them, and the op is recorded on the tensor's
    history like any other. A leaf that requires grad raises ``RuntimeError``.
    ``Tensor._version`` counts in-place changes.
    """
    cache: dict[Hashable, tuple[Callable, Callable]] = {}
    tensor_type = _tensor.Tensor

    def op(t: Any, **static: Hashable) -> Any:
        if not isinstance(t, tensor_type):
            raise TypeError(
                f"{name}: expects a Tensor to modify in place, got "
                f"{type(t).__name__}. Use the out-of-place function for arrays."
            )
        grad = _tape.is_grad_enabled() and t.requires_grad
        if grad and t.is_leaf:
            raise RuntimeError(_MSG_INPLACE_LEAF.format(name=name))
        # 2 = the tensor's own slot + getrefcount's argument: nobody else holds it.
        donate = (0,) if sys.getrefcount(t.data) <= 2 else ()
        key = (tuple(static.items()), grad, donate)
        programs = cache.get(key)
        if programs is None:
            diff = (0,) if grad else ()
            programs = cache[key] = _programs(fn, static, diff, donate)
        if grad:
            before = tensor_type._wrap(t.data, node=t._node)
            t.data, vjp_fn = programs[1](t.data)
            t._node = _tape.Node([before], vjp_fn)
            before.data = None  # donated: only its place in the graph is kept
        else:
            t.data = programs[0](t.data)
        t._version += 1
        return t

    op.__name__ = op.__qualname__ = name
    return op


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
            nonzero = np.nonzero(np.asarray(_unwrap(part)))
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
