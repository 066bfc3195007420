"""Lift a pure JAX function into an eager, taped op.

Each lifted op compiles two programs per (shape, dtype, static arguments): a
forward, and a forward that also returns the compiled VJP (its residuals live in
a pytree). The tape's backward applies the VJPs of a recurring graph in one
more compiled program, so no ``jax.vjp`` is traced per call and eager gradients
are exactly the pure function's own (custom_vjp) rule.

Each op's program cache is an LRU of at most ``MAX_OP_PROGRAMS`` entries;
Python numbers passed as operands are turned into device scalars through one
bounded cache (``MAX_SCALARS``), so a repeated ``x * 0.5`` copies nothing to
the device.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx._tensor import _device, _pending, _tape, _tensor
from lucid_fx._tensor._checks import integer_range
from lucid_fx._tensor._config import ENABLE_X64
from lucid_fx._tensor._convert import is_inexact, snapshot
from lucid_fx._tensor._donation import donatable
from lucid_fx._tensor._pending import Pending, plain_context, resolve

MAX_OP_PROGRAMS = 64
MAX_SCALARS = 1024
_ARRAY = type(jnp.zeros(()))  # jax's concrete array class


class _Flat:
    """An op's forward that returns its residuals as a flat list of arrays,
    and the jitted VJP applied to them, for one input signature.

    JAX dispatches flat arrays on its C++ fast path; a ``jax.vjp`` pytree of
    custom nodes (what ``_programs`` returns) is flattened and rebuilt in
    Python on every call, forward and backward (~4 + ~3 us here).
    """

    __slots__ = (
        "forward",
        "apply",
        "treedef",
        "out",
        "vjp_of",
        "diff",
        "avals",
        "parent",
    )

    def __init__(
        self,
        fn: Callable,
        static: dict[str, Hashable],
        diff: tuple[int, ...],
        arrays: list[Any],
        signature: tuple,
    ) -> None:
        vjp_of = _vjp_of(fn, static, diff)
        # What the interpreter of first-sight graphs (_interp) needs: the pure
        # forward-with-VJP, which inputs it differentiates, their signature.
        self.vjp_of, self.diff, self.avals = vjp_of, diff, signature
        # Per input: its index among the node's parents, or -1.
        self.parent = tuple(
            diff.index(j) if j in diff else -1 for j in range(len(arrays))
        )

        def forward(*arrays: Any) -> tuple[jax.Array, list[jax.Array]]:
            out, vjp_fn = vjp_of(arrays)
            leaves, self.treedef = jax.tree.flatten(vjp_fn)
            return out, leaves

        def apply(leaves: list[jax.Array], g: jax.Array) -> tuple[jax.Array, ...]:
            return jax.tree.unflatten(self.treedef, leaves)(g)

        self.forward = jax.jit(forward)
        self.apply = jax.jit(apply)
        # Trace once now: shape errors surface at the op's own line, and a
        # deferred output knows its abstract value (_pending).
        specs = [_spec(a) if type(a) is Pending else a for a in arrays]
        self.out = self.forward.trace(*specs).jaxpr.out_avals[0]


def _spec(pending: Pending) -> jax.ShapeDtypeStruct:
    aval = pending.aval
    return jax.ShapeDtypeStruct(aval.shape, aval.dtype, weak_type=aval.weak_type)


def _signature(arrays: list[Any]) -> tuple | None:
    """The abstract values (shape, dtype, weak type, sharding) of concrete
    operands (``None`` for an operand left out); None when one is anything
    else (numpy arrays, tracers): those take the pytree path. ``aval`` is one
    attribute read, where the three properties cost ~0.3 us per operand."""
    signature = []
    for a in arrays:
        kind = type(a)
        if kind is _ARRAY:
            signature.append(a.aval)
        elif kind is Pending:
            signature.append(a.aval)
        elif kind is float or kind is int or kind is bool:
            signature.append(kind)
        elif a is None:  # an optional operand left out (e.g. weight=None)
            signature.append(None)
        else:
            return None
    return tuple(signature)


def _committed(arrays: list[Any]) -> bool:
    """Whether an operand was placed on a device explicitly (such ops run at
    once, so their outputs carry their placement and devices are checked)."""
    for a in arrays:
        if type(a) is _ARRAY and a.committed:
            return True
    return False


def _vjp_of(
    fn: Callable, static: dict[str, Hashable], diff: tuple[int, ...]
) -> Callable:
    def vjp_of(arrays: tuple[Any, ...]) -> tuple[jax.Array, Callable]:
        def of_diff(*diff_arrays: jax.Array) -> jax.Array:
            merged = list(arrays)
            for i, a in zip(diff, diff_arrays, strict=True):
                merged[i] = a
            return fn(*merged, **static)

        return jax.vjp(of_diff, *(arrays[i] for i in diff))

    return vjp_of


def _programs(
    fn: Callable,
    static: dict[str, Hashable],
    diff: tuple[int, ...],
    donate: tuple[int, ...] = (),
) -> tuple[Callable, Callable]:
    def forward(*arrays: jax.Array) -> jax.Array:
        return fn(*arrays, **static)

    vjp_of = _vjp_of(fn, static, diff)

    def forward_and_vjp(*arrays: jax.Array) -> tuple[jax.Array, Callable]:
        return vjp_of(arrays)

    return (
        jax.jit(forward, donate_argnums=donate),
        jax.jit(forward_and_vjp, donate_argnums=donate),
    )


_scalars: dict[tuple[type, Any], jax.Array] = {}
_scalars_lock = threading.Lock()


class _WideInt(int):
    """A Python int JAX cannot hold as its default integer (outside int32
    without 64-bit types, outside int64 with them); see :func:`_widen`."""

    __slots__ = ()


def _scalar(value: Any) -> Any:
    """A Python float or int as a weakly typed device scalar, cached; the
    value itself where caching could change it (0, +-0.0, NaN), and a
    ``_WideInt`` for an int out of JAX's range (``_widen`` decides).
    Keyed on x64 too: 0.5 is a float64 scalar with JAX's 64-bit types on, and
    one reused after they are off carried float64 into float32 programs."""
    key = (type(value), value, ENABLE_X64.value)
    array = _scalars.get(key)
    if array is not None:
        return array
    if not value or value != value:  # 0 vs -0.0 share a key; NaN never hits
        return value
    try:
        array = jnp.asarray(value)
    except OverflowError:
        return _WideInt(value) if type(value) is int else value
    if isinstance(array, jax.core.Tracer):  # pragma: no cover (trace-time)
        return value
    with _scalars_lock:
        if len(_scalars) >= MAX_SCALARS:
            _scalars.clear()
        _scalars[key] = array
    return array


_MSG_WIDE_INT = (
    "{op}: the Python int {value} is outside the range of {default} "
    "[{lo}, {hi}], lucid_fx's integer type for Python ints, and an operand "
    "is an integer or bool array ({dtype}), so it cannot be used exactly "
    "(PyTorch wraps it around silently). Pass a value in that range, or "
    "make the tensor floating first (t.float())."
)


def _widen(op: str, arrays: list[Any]) -> list[Any]:
    """Python ints beyond JAX's integer range (``_WideInt``) as floats where
    the other operands make a float result (``jnp.result_type``, weak types
    included: an index array or a small Python int does not decide it), as
    PyTorch converts a number to a float tensor's dtype (``t + 2**31`` is
    2147483648.0 in float32). Where they make an integer or bool result,
    there is no exact result type: raise ``ValueError`` naming the op."""
    others = [a for a in arrays if type(a) is not _WideInt]
    with jax.numpy_dtype_promotion("standard"):  # float32 with an index array
        dtype = jnp.result_type(*others) if others else None
    if dtype is not None and not jnp.issubdtype(dtype, jnp.inexact):
        wide = next(x for x in arrays if type(x) is _WideInt)
        default = _default_int()
        lo, hi = integer_range(default)
        raise ValueError(
            _MSG_WIDE_INT.format(
                op=op, value=int(wide), default=default, lo=lo, hi=hi,
                dtype=dtype,
            )
        )  # fmt: skip
    return [float(x) if type(x) is _WideInt else x for x in arrays]


def _default_int() -> np.dtype:
    """JAX's integer type for Python ints: int32, or int64 under x64."""
    return jax.dtypes.canonicalize_dtype(np.int64)


def _too_wide(value: int | np.integer) -> bool:
    """Whether an integer is outside JAX's integer type for Python ints."""
    lo, hi = integer_range(_default_int())
    return not lo <= int(value) <= hi


def check_python_int(op: str, value: Any, dtype: Any) -> None:
    """Raise ``_widen``'s ``ValueError`` for a Python int outside JAX's
    integer range used with an integer or bool array of ``dtype``."""
    if type(value) is int and _too_wide(value):
        _widen(op, [jax.ShapeDtypeStruct((), dtype), _WideInt(value)])


def _typed(value: Any) -> Hashable:
    """``value`` with its type (and a float's sign), recursively through
    tuples: a cache key where ``2``, ``2.0`` and ``True`` (equal as values,
    different programs or checks) and ``0.0`` and ``-0.0`` differ."""
    kind = type(value)
    if kind is tuple:
        return (kind, tuple(map(_typed, value)))
    if kind is float:
        return (kind, value, math.copysign(1.0, value))
    return (kind, value)


def static_key(static: dict[str, Hashable]) -> tuple:
    """The cache key of an op's static (keyword) arguments: names and typed
    values (``_typed``).

    Examples:
      >>> from lucid_fx._tensor._ops import static_key
      >>> static_key({"k": 2}) == static_key({"k": 2.0})
      False
    """
    return tuple([(name, _typed(value)) for name, value in static.items()])


class _LRU:
    """A small thread-safe LRU map: at most ``size`` entries."""

    __slots__ = ("entries", "size", "lock")

    def __init__(self, size: int) -> None:
        self.entries: OrderedDict[Hashable, Any] = OrderedDict()
        self.size = size
        self.lock = threading.Lock()

    def put(self, key: Hashable, value: Any) -> None:
        with self.lock:
            self.entries[key] = value
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


_MSG_DEVICES = (
    "{op}: tensors are on different devices, {a} and {b}. Move one with "
    ".to(device) first; lucid_fx never copies between devices silently."
)


def _check_devices(op: str, arrays: list[Any]) -> None:
    """Single-device operands must share a device (PyTorch's rule). Sharded
    arrays follow JAX's SPMD rules; tracers are placed by the outer program."""
    for array in arrays:
        if isinstance(array, jax.core.Tracer):
            return
    if not any(array.committed for array in arrays):
        return  # all on the default device (uncommitted arrays live there)
    first = None
    for array in arrays:
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


_MSG_OPERAND = (
    "{op}: got a {kind} where an operand is expected; pass a Tensor, an "
    "array or a number."
)


def _as_positional(
    op: str, names: tuple[str, ...], args: tuple, static: dict[str, Any]
) -> tuple[tuple, dict[str, Any]]:
    """``args`` with the operands passed by name (``add(x, b=y)``) put in
    their places, and the remaining keyword arguments."""
    args, static = list(args), dict(static)
    for i, name in enumerate(names):
        if name not in static:
            continue
        if i < len(args):
            raise TypeError(f"{op}: got multiple values for argument {name!r}.")
        if i > len(args):
            raise TypeError(f"{op}: missing argument {names[len(args)]!r}.")
        args.append(static.pop(name))
    return tuple(args), static


def lift(
    fn: Callable, name: str | None = None, operands: tuple[str, ...] = ()
) -> Callable:
    """Turn a pure JAX function of arrays into an eager op on ``Tensor``\\ s.

    Positional arguments may be Tensors, JAX or numpy arrays, or Python numbers;
    keyword arguments are static (hashable) and part of the compile cache key.
    The op records the tape when an argument requires grad; its gradient is
    ``jax.vjp`` of ``fn`` (so a ``custom_vjp`` rule is respected). Called with no
    Tensor arguments, or inside a Module called with plain arrays, it runs ``fn``
    directly and returns a plain array, so it composes with ``jax.jit`` and
    ``jax.vmap``.

    Each op keeps two LRUs of at most ``MAX_OP_PROGRAMS`` (64) entries, least
    recently used first out. Recording calls on concrete arrays use one
    program per (keyword arguments, inputs that require grad, input abstract
    values), which returns the residuals as a flat list of arrays. Other
    calls (no grad; numpy or traced operands) use one set of programs per
    (keyword arguments, inputs that require grad), which JAX specialises per
    shape and dtype in its own bounded caches.

    Args:
      fn: a pure function of arrays returning one array.
      name: the op's name in error messages; defaults to ``fn.__name__``.
      operands: the names of ``fn``'s first positional parameters, which
        callers may also pass by name (lucid's ``add(a=x, b=y)``); any other
        keyword stays static.

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
    positional = tuple(operands)  # lucid's add(a, b): a= and b= work
    named = frozenset(positional)
    cache = _LRU(MAX_OP_PROGRAMS)
    entries, move_to_end = cache.entries, cache.entries.move_to_end
    flat_cache = _LRU(MAX_OP_PROGRAMS)  # per (key, input signature)
    flat_entries, flat_move_to_end = flat_cache.entries, flat_cache.entries.move_to_end
    record, pure, tracing = _tape.RECORD, _tape.PURE, _tape.tracing
    pending_type = Pending
    mode_get = _tape.MODE.get
    node_type = _tape.Node

    def op(*args: Any, **static: Hashable) -> Any:
        # The eager hot path: a few type checks, one dict lookup, and either a
        # deferred output (no XLA call yet) or one XLA call.
        if static and not named.isdisjoint(static):
            args, static = _as_positional(op_name, positional, args, static)
        tensor_type = _tensor.Tensor  # looked up late: _tensor imports the ops
        arrays = []
        tensors = []
        deferred = False
        bad = None
        wide = False
        for i, a in enumerate(args):
            if isinstance(a, tensor_type):
                tensors.append(i)
                data = a._data
                if type(data) is pending_type:
                    if data.value is None:
                        deferred = True
                    else:
                        data = a._data = data.value
                arrays.append(data)
            elif type(a) is float or type(a) is int:
                scalar = _scalar(a)
                wide = wide or type(scalar) is _WideInt
                arrays.append(scalar)
            else:
                if type(a) is str:
                    bad = a
                elif isinstance(a, np.ndarray):  # read now, not when XLA runs
                    a = snapshot(a)
                    args = (*args[:i], a, *args[i + 1 :])
                elif isinstance(a, np.integer) and _too_wide(a):
                    # JAX would wrap it into int32 silently: a wide Python int
                    a = _WideInt(a)
                    wide = True
                arrays.append(a)
        mode = mode_get()
        if not tensors or mode == pure:
            return fn(*map(unwrap, args), **static)
        if bad is not None:  # JAX would say "Error interpreting argument"
            raise TypeError(_MSG_OPERAND.format(op=op_name, kind=type(bad).__name__))
        if wide:
            arrays = _widen(op_name, arrays)
        diff = ()
        if mode == record:
            diff = tuple([i for i in tensors if args[i]._requires_grad])
        key = (static_key(static), diff) if static else diff
        signature = _signature(arrays) if diff else None
        if signature is not None:  # the recording hot path: flat residuals
            flat_key = (key, signature)
            flat = flat_entries.get(flat_key)
            if flat is None:
                flat = _Flat(fn, static, diff, arrays, signature)
                flat_cache.put(flat_key, flat)
            elif len(flat_entries) > 1:  # keep the least recently used first
                try:
                    flat_move_to_end(flat_key)
                except KeyError:  # evicted by another thread meanwhile
                    pass
            if _pending.DEFER and not _committed(arrays) and plain_context():
                parents = [args[i] for i in diff]
                node = node_type(parents, None, rule=flat.apply)
                deferred_out = pending_type(flat.out, flat, tuple(arrays), node)
                return tensor_type._wrap(deferred_out, node=node)
        # The op runs now: its deferred inputs first, then the device check.
        if deferred:
            arrays = [resolve(x) if type(x) is pending_type else x for x in arrays]
        if len(tensors) > 1:
            _check_devices(op_name, [arrays[i] for i in tensors])
        if signature is not None:
            out, leaves = flat.forward(*arrays)
            parents = [args[i] for i in diff]
            return tensor_type._wrap(
                out, node=node_type(parents, leaves, rule=flat.apply)
            )
        if tracing():  # a lucid_fx.compile trace: note constants it bakes in
            _tape.note_constants([args[i] for i in tensors])
        programs = entries.get(key)
        fresh = programs is None
        if fresh:
            programs = _programs(fn, static, diff)
        elif len(entries) > 1:
            try:
                move_to_end(key)
            except KeyError:
                pass
        if not diff:
            out = programs[0](*arrays)
        else:
            out, vjp_fn = programs[1](*arrays)
        if fresh:  # kept only once its trace succeeded
            cache.put(key, programs)
        if not diff:
            return tensor_type._wrap(out)
        parents = [args[i] for i in diff]
        return tensor_type._wrap(out, node=node_type(parents, vjp_fn))

    op.__name__ = op.__qualname__ = op_name
    op.__doc__ = fn.__doc__
    op._caches = (cache, flat_cache)  # for tests and introspection
    return op


_MSG_INPLACE_DTYPE = (
    "{name}: the result has dtype {new}, which a {old} tensor cannot hold, so it "
    "cannot be written in place (as in PyTorch). Use the out-of-place op, or "
    "convert the tensor first (.float())."
)

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
    cache = _LRU(MAX_OP_PROGRAMS)  # e.g. one entry per clamp_ bound

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
        # Only a floating buffer is donated: an integer or bool tensor's op may
        # give a result it cannot hold (clamp_(0.5, 1.5) of int32 is float),
        # refused below, and the buffer must still be there then.
        floating = is_inexact(t.data.dtype)
        donate = (0,) if floating and donatable(t.data) else ()
        key = (static_key(static), grad, donate)
        programs = cache.entries.get(key)
        if programs is None:
            diff = (0,) if grad else ()
            programs = _programs(fn, static, diff, donate)
            cache.put(key, programs)  # a failed trace caches nothing in jit
        if grad:
            before = tensor_type._wrap(t.data, node=t._node)
            t.data, vjp_fn = programs[1](t.data)
            # ``before`` only marks the op's input in the graph (its shape and
            # dtype); nobody can reach it to read the donated buffer.
            t._node = _tape.Node([before], vjp_fn)
        else:
            new = programs[0](t.data)
            if not floating and new.dtype != t.data.dtype:
                raise TypeError(
                    _MSG_INPLACE_DTYPE.format(
                        name=name, new=new.dtype, old=t.data.dtype
                    )
                )
            t.data = new
        t._version += 1
        return t

    op.__name__ = op.__qualname__ = name
    op._caches = (cache,)  # type: ignore[attr-defined]  # for tests
    return op
