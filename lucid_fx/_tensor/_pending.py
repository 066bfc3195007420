"""Deferred values: a recorded op's output that is computed when first needed.

An eager op that records the tape (an input requires grad, all inputs are
concrete and on the default device) does not run: its output Tensor holds a
:class:`Pending` with the output's abstract value (shape and dtype are known,
and shape errors were raised at the op's line when it was recorded), the op's
forward and its inputs. The value is computed when something needs it:

- reading ``t.data`` (``item()``, ``numpy()``, printing, an op that does not
  record, an in-place change) runs the pending ops behind ``t`` one compiled
  call each (:func:`resolve`);
- ``backward()`` on a graph with pending ops computes them inside its fused
  program (one XLA call for forward and backward, once the graph's wiring
  recurs; see ``_fused``), inside the interpreter of its op set (one call for
  a new wiring of familiar ops; see ``_interp``), or node by node before the
  walk.

The fused program returns only the values someone may read: the root's
(unless ``backward`` was called on a temporary, ``Tensor.backward`` counts),
and those of tensors referenced from outside the graph (a variable of the
user's, another graph's node; ``_tape._plan`` counts references). The rest
are read by nothing once ``backward`` frees the graph (it drops each node's
links to its inputs, as PyTorch frees saved values), so they are never
copied out; should a reference be missed, the tensor stays deferred, detached
from the freed graph, and is computed when read.

Inputs are captured by value when the op is recorded (an array, or the
``Pending`` of an input that is itself deferred), so a later in-place change
to an input never alters the result, exactly as if the op had run at once;
the version check in ``backward`` still raises as it does for eager ops.
A captured array has one more reference, so the donation rule
(``_donation.donatable``) never donates a buffer a pending op still needs.
"""

from __future__ import annotations

import threading
from typing import Any

import jax

try:  # JAX's own "no trace is active" test (private; without it, assume one)
    from jax._src.config import trace_context as _trace_context
    from jax._src.core import trace_ctx as _trace_ctx

    at_top_level = _trace_ctx.is_top_level
except (ImportError, AttributeError):  # pragma: no cover - other JAX versions
    _trace_context = None

    def at_top_level() -> bool:
        return False


DEFER = True  # record ops as Pending (False: every op runs at once)

# Computing deferred values and installing them (resolve, backward) hold this
# lock: two threads reading one pending chain compute it once.
LOCK = threading.RLock()
_baseline: list[Any] = []  # JAX's configuration context at the first deferral


def plain_context() -> bool:
    """Whether JAX's configuration context (default device, rank promotion,
    matmul precision, ...) is the one in force at the first deferred op. An op
    recorded under another one (``with jax.default_device(...)``) runs at
    once: a deferred op runs under the context in force when it is computed.
    """
    if _trace_context is None:  # pragma: no cover - other JAX versions
        return False
    context = _trace_context()
    if not _baseline:
        _baseline.append(context)
    return context == _baseline[0]


class Pending:
    """The not yet computed output of a recorded op.

    Attributes:
      aval: the output's abstract value (``jax.core.ShapedArray``).
      flat: the op's compiled forward for this input signature (``_ops._Flat``).
      inputs: the op's positional arrays, each a JAX array, a Python number or
        the ``Pending`` output of another deferred op; ``None`` once computed.
      node: the tape node whose residuals the forward produces.
      value: the computed array, or ``None``.

    After the interpreter of first-sight graphs ran it (``in_row``), ``flat``
    reads a row of a register file, ``inputs`` is ``(file, row)`` and
    ``node`` is ``None``: computed, but read only when needed.
    """

    __slots__ = ("aval", "flat", "inputs", "node", "value")
    committed = False  # lives on the default device (see _ops._check_devices)

    def __init__(self, aval: Any, flat: Any, inputs: tuple, node: Any) -> None:
        self.aval = aval
        self.flat = flat
        self.inputs: tuple | None = inputs
        self.node = node
        self.value: jax.Array | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.aval.shape

    @property
    def dtype(self) -> Any:
        return self.aval.dtype

    @property
    def ndim(self) -> int:
        return self.aval.ndim

    @property
    def size(self) -> int:
        return self.aval.size

    def done(self, value: jax.Array) -> None:
        """Store the computed value and drop what computing it needed."""
        self.value = value
        self.inputs = self.flat = self.node = None

    def __reduce__(self) -> tuple:
        # copy.deepcopy and pickle see the computed array.
        return (_same, (resolve(self),))


def _same(value: Any) -> Any:
    return value


def resolve(pending: Pending) -> jax.Array:
    """Compute ``pending`` and every deferred op it depends on, inputs first,
    one compiled forward each (iteratively: any depth). Each op's node gets its
    residuals, as if the op had run when it was recorded.

    Examples:
      >>> from lucid_fx import Tensor
      >>> from lucid_fx._tensor._pending import Pending, resolve
      >>> x = Tensor([1.0, 2.0], requires_grad=True)
      >>> y = (x * 3.0).exp().log()
      >>> type(y._data) is Pending
      True
      >>> resolve(y._data)
      Array([3., 6.], dtype=float32)
    """
    if pending.value is not None:
        return pending.value
    with LOCK:
        if at_top_level():
            return _compute(pending)
        # Read inside a trace (jax.jit, lucid_fx.compile): the inputs are
        # concrete, so compute concretely; a tracer must never be stored.
        with jax.ensure_compile_time_eval():
            return _compute(pending)


def _compute(pending: Pending) -> jax.Array:
    if pending.value is not None:  # computed by another thread meanwhile
        return pending.value
    order: list[Pending] = []
    seen: set[int] = set()
    stack: list[tuple[Pending, bool]] = [(pending, False)]
    while stack:
        p, expanded = stack.pop()
        if expanded:
            order.append(p)
            continue
        if p.value is not None or id(p) in seen:
            continue
        seen.add(id(p))
        stack.append((p, True))
        for x in p.inputs:  # type: ignore[union-attr]
            if type(x) is Pending and x.value is None:
                stack.append((x, False))
    for p in order:
        run(p)
    return pending.value  # type: ignore[return-value]


def run(pending: Pending) -> jax.Array:
    """Compute ``pending`` whose deferred inputs are all computed (one
    compiled forward), give its node the residuals, and return the value.
    The caller holds ``LOCK`` and orders the calls inputs first, as
    :func:`resolve` and ``backward`` (for its plan's deferred ops) do."""
    arrays = [x.value if type(x) is Pending else x for x in pending.inputs]  # type: ignore[union-attr]
    out, leaves = pending.flat.forward(*arrays)  # type: ignore[union-attr]
    if pending.node is not None:  # None: a row of a register file (in_row)
        pending.node.vjp_fn = leaves
    pending.done(out)
    return out


@jax.jit
def _row(rows: jax.Array, index: jax.Array) -> tuple[jax.Array, None]:
    return rows[index], None


class _Row:
    """The "forward" of a value computed into a row of an array: the read."""

    forward = staticmethod(_row)


ROW = _Row()


def in_row(pending: Pending, rows: jax.Array, index: int) -> None:
    """Record that ``pending``'s value was computed as ``rows[index]`` (by the
    interpreter of first-sight graphs, ``_interp``, which ran its backward
    too): reading it costs one call, made only if someone reads it. Its node
    is detached, so the graph counts as run (a second ``backward`` raises the
    freed-graph error, as after any backward)."""
    pending.flat, pending.inputs, pending.node = ROW, (rows, index), None
