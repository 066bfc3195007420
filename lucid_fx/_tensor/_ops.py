"""Lift a pure JAX function into an eager, taped op.

Each lifted op compiles two programs per (shape, dtype, static arguments): a
forward, and a forward that also returns the compiled VJP (its residuals live in
a pytree). The tape's backward applies the VJPs of a whole graph in one more
compiled program, so no ``jax.vjp`` is traced per call and eager gradients are
exactly the pure function's own (custom_vjp) rule.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import jax

from lucid_fx._tensor import _device, _tape, _tensor
from lucid_fx._tensor._donation import donatable


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


def unwrap(value: Any) -> Any:
    """The array inside a Tensor; anything else unchanged."""
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
      >>> from lucid_fx._tensor import lift
      >>> softplus = lift(lambda x: jnp.logaddexp(x, 0.0), name="softplus")
      >>> x = Tensor([0.0], requires_grad=True)
      >>> softplus(x).backward()
      >>> x.grad
      Tensor([0.5])
    """
    op_name = name or getattr(fn, "__name__", "op")
    cache: dict[Hashable, tuple[Callable, Callable]] = {}

    def op(*args: Any, **static: Hashable) -> Any:
        # The eager hot path: keep it to a few dict lookups and one XLA call.
        tensor_type = _tensor.Tensor  # looked up late: _tensor imports the ops
        tensors = [i for i, a in enumerate(args) if isinstance(a, tensor_type)]
        mode = _tape.MODE.get()
        if not tensors or mode == _tape.PURE:
            return fn(*map(unwrap, args), **static)
        arrays = tuple(a.data if isinstance(a, tensor_type) else a for a in args)
        if len(tensors) > 1:
            _check_devices(op_name, [arrays[i] for i in tensors])
        diff = ()
        if mode == _tape.RECORD:
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
    Tensor is rebound to the result. The one donation rule applies
    (``lucid_fx._tensor._donation.donatable``): if anything else still
    references the buffer (a view from ``detach()``, a saved ``.data``),
    donating would delete it under them, so the op computes out of place and
    rebinds instead.

    The tape stays correct: each op's saved values are its own buffers, so an
    in-place change never alters them, and the op is recorded on the tensor's
    history like any other. A leaf that requires grad raises ``RuntimeError``.
    ``Tensor._version`` counts in-place changes.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx import Tensor
      >>> from lucid_fx._tensor import lift_inplace
      >>> clamp_ = lift_inplace(lambda x: jnp.clip(x, -1.0, 1.0), "clamp_")
      >>> t = Tensor([-3.0, 0.5, 2.0])
      >>> clamp_(t) is t, t, t._version
      (True, Tensor([-1.0, 0.5, 1.0]), 1)
    """
    cache: dict[Hashable, tuple[Callable, Callable]] = {}

    def op(t: Any, **static: Hashable) -> Any:
        tensor_type = _tensor.Tensor
        if not isinstance(t, tensor_type):
            raise TypeError(
                f"{name}: expects a Tensor to modify in place, got "
                f"{type(t).__name__}. Use the out-of-place function for arrays."
            )
        grad = _tape.is_grad_enabled() and t.requires_grad
        if grad and t.is_leaf:
            raise RuntimeError(_MSG_INPLACE_LEAF.format(name=name))
        donate = (0,) if donatable(t.data) else ()
        key = (tuple(static.items()), grad, donate)
        programs = cache.get(key)
        if programs is None:
            diff = (0,) if grad else ()
            programs = cache[key] = _programs(fn, static, diff, donate)
        if grad:
            before = tensor_type._wrap(t.data, node=t._node)
            t.data, vjp_fn = programs[1](t.data)
            # ``before`` only marks the op's input in the graph (its shape and
            # dtype); nobody can reach it to read the donated buffer.
            t._node = _tape.Node([before], vjp_fn)
        else:
            t.data = programs[0](t.data)
        t._version += 1
        return t

    op.__name__ = op.__qualname__ = name
    return op
