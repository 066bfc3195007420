"""The autograd tape: graph nodes, reverse topological order, grad modes.

A node links an op's output to its parent tensors and holds the op's compiled
vector-Jacobian product (the residuals live inside it). ``backward`` walks the
graph once in reverse topological order, as micrograd does, accumulating
cotangents per tensor; that walk is traced into one compiled program per graph
wiring, so a backward pass costs one XLA dispatch however many ops it spans.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import itertools
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any

import jax

# One context variable for the op mode, read once per eager op: RECORD (tape
# on), NO_GRAD (inside no_grad), PURE (a Module called with plain arrays).
RECORD, NO_GRAD, PURE = 0, 1, 2
MODE = contextvars.ContextVar("lucid_fx_mode", default=RECORD)
# While lucid_fx.compile traces a function: (ids of the state it tracks, the
# creation stamp at trace start). Older objects outside it must not be written.
_TRACKED: contextvars.ContextVar[tuple[frozenset[int], int] | None] = (
    contextvars.ContextVar("lucid_fx_tracked", default=None)
)
_STAMPS = itertools.count()
# A backward through at most this many nodes, into at most this many bytes of
# gradients, runs as one compiled program. A longer graph (e.g. a long Python
# loop of ops) runs node by node rather than compile one large program per
# distinct graph; a bigger model too, because the fused program holds every
# residual until it ends (memory_analysis, 8x1024 MLP at batch 512: 62 MiB of
# residuals incl. the weights, 32 of new grads, 2 temp; node by node frees the
# 30 MiB of activations as it goes), and there one dispatch per node is cheap.
MAX_FUSED_NODES = 256
MAX_FUSED_GRAD_BYTES = 16 * 2**20

_MSG_UNTRACKED = (
    "lucid_fx.compile: {what} that is not reachable from the compiled function's "
    "arguments was changed while tracing (e.g. a model or optimizer captured by "
    "closure). Its update would be lost. Pass it as an argument, e.g. "
    "train_step(model, opt, x, y)."
)

_MSG_FREED = (
    "backward: the graph behind this tensor was already used by a backward() "
    "call and its saved values were freed. Call backward(retain_graph=True) the "
    "first time to backpropagate through the same graph again."
)


@jax.jit
def _apply_vjp(vjp_fn: Callable, g: jax.Array) -> tuple[jax.Array, ...]:
    return vjp_fn(g)


add = jax.jit(jax.numpy.add)  # gradient accumulation: one compiled call


class Node:
    """One recorded op: its parents and its vector-Jacobian product.

    ``vjp_fn`` is normally the pytree ``jax.vjp`` returned from a compiled
    forward, applied by one compiled call; ``direct=True`` marks a plain Python
    function (device moves), called as is.
    """

    __slots__ = ("parents", "vjp_fn", "direct")

    def __init__(
        self, parents: Sequence[Any], vjp_fn: Callable, direct: bool = False
    ) -> None:
        self.parents = tuple(parents)
        self.vjp_fn: Callable | None = vjp_fn
        self.direct = direct

    def backward(self, g: jax.Array) -> tuple[jax.Array, ...]:
        if self.vjp_fn is None:
            raise RuntimeError(_MSG_FREED)
        return self.vjp_fn(g) if self.direct else _apply_vjp(self.vjp_fn, g)


def is_grad_enabled() -> bool:
    """Whether ops record the tape (False inside ``no_grad``).

    Examples:
      >>> from lucid_fx import no_grad
      >>> from lucid_fx._tensor import is_grad_enabled
      >>> with no_grad():
      ...     inside = is_grad_enabled()
      >>> is_grad_enabled(), inside
      (True, False)
    """
    return MODE.get() == RECORD


def is_pure() -> bool:
    """Whether ops run purely on raw arrays (inside a Module called with arrays)."""
    return MODE.get() == PURE


class no_grad(contextlib.ContextDecorator):
    """Context manager and decorator that stops ops from recording the tape.

    Examples:
      >>> from lucid_fx import Tensor, no_grad
      >>> x = Tensor([1.0, 2.0], requires_grad=True)
      >>> with no_grad():
      ...     y = x * 2.0
      >>> y.requires_grad
      False
    """

    def __enter__(self) -> no_grad:
        self._token = MODE.set(max(MODE.get(), NO_GRAD))  # pure stays pure
        return self

    def __exit__(self, *exc: object) -> None:
        MODE.reset(self._token)


@contextlib.contextmanager
def pure_mode() -> Iterator[None]:
    """Run ops on raw arrays with no tape (tracers welcome)."""
    token = MODE.set(PURE)
    try:
        yield
    finally:
        MODE.reset(token)


def stamp() -> int:
    """A creation stamp: increases with every tensor made."""
    return next(_STAMPS)


@contextlib.contextmanager
def tracking(ids: frozenset[int]) -> Iterator[None]:
    """Mark the objects (by id) that a compiled trace may write."""
    token = _TRACKED.set((ids, stamp()))
    try:
        yield
    finally:
        _TRACKED.reset(token)


def check_writable(obj: Any, birth: int, what: str) -> None:
    """Raise if a compile trace would write state it does not track."""
    tracked = _TRACKED.get()
    if tracked is not None and id(obj) not in tracked[0] and birth < tracked[1]:
        raise RuntimeError(_MSG_UNTRACKED.format(what=what))


def reverse_topological(root: Any) -> list[Any]:
    """Tensors reachable from ``root`` through nodes, outputs before inputs."""
    order: list[Any] = []
    seen: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
            continue
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        stack.append((tensor, True))
        if tensor._node is not None:
            stack.extend((p, False) for p in tensor._node.parents)
    order.reverse()
    return order


def backward(root: Any, seed: jax.Array, retain_graph: bool) -> None:
    """Accumulate d(root)/d(leaf) . seed into every leaf's ``grad``.

    The whole pass (every node's VJP, the cotangent sums and the accumulation
    into existing grads) runs as one compiled program, cached by the graph's
    wiring. A graph with a ``direct`` node (a Python VJP), or past the
    ``MAX_FUSED_*`` limits, runs node by node.
    """
    order = reverse_topological(root)
    plan, steps, leaves = _plan(order)
    if any(node.vjp_fn is None for node in steps):
        raise RuntimeError(_MSG_FREED)
    for leaf in leaves:
        check_writable(leaf, leaf._birth, f"a tensor of shape {leaf.shape}")
    old = tuple(None if t._grad is None else t._grad.data for t in leaves)
    if (
        len(steps) > MAX_FUSED_NODES
        or any(node.direct for node in steps)
        or sum(t.data.size * t.data.dtype.itemsize for t in leaves)
        > MAX_FUSED_GRAD_BYTES
    ):  # node by node: one compiled call per VJP and per sum
        new = _walk(plan, tuple(n.backward for n in steps), seed, old)
    else:
        new = _program(plan)(tuple(n.vjp_fn for n in steps), seed, old)
    for leaf, g in zip(leaves, new, strict=True):
        leaf._grad = type(leaf)._wrap(g)
    if not retain_graph:
        for node in steps:
            node.vjp_fn = None


def _plan(order: list[Any]) -> tuple[Hashable, list[Node], list[Any]]:
    """The graph's wiring by position in ``order`` (root first).

    Returns the plan (each node step is ``(position, parent positions)``, -1
    for a parent that does not require grad, then the leaves' positions), the
    nodes of those steps and the leaves: tensors without a node that receive a
    cotangent. Positions only, so graphs wired alike share one program.
    """
    position = {id(t): i for i, t in enumerate(order)}
    reached = {0}
    wiring, steps, leaves, leaf_positions = [], [], [], []
    for i, tensor in enumerate(order):
        if i not in reached:
            continue
        node = tensor._node
        if node is None:
            leaves.append(tensor)
            leaf_positions.append(i)
            continue
        parents = tuple(
            position[id(p)] if p.requires_grad else -1 for p in node.parents
        )
        reached.update(parents)
        wiring.append((i, parents))
        steps.append(node)
    return (tuple(wiring), tuple(leaf_positions)), steps, leaves


@functools.lru_cache(maxsize=512)
def _program(plan: Hashable) -> Callable:
    """One jitted backward per wiring, called with arrays only (a static
    keyword argument would cost jit's dispatch ~8 us per call)."""
    return jax.jit(functools.partial(_walk, plan))


def _walk(
    plan: Any,
    vjp_fns: tuple[Callable, ...],
    seed: jax.Array,
    old: tuple[jax.Array | None, ...],
) -> tuple[jax.Array, ...]:
    """Run ``plan``'s VJPs from ``seed``; each leaf's cotangent plus its old grad.

    Traced whole by ``_program``, or called eagerly with ``Node.backward``s.
    """
    wiring, leaf_positions = plan
    cotangents: dict[int, jax.Array] = {0: seed}
    for (i, parents), vjp_fn in zip(wiring, vjp_fns, strict=True):
        for p, pg in zip(parents, vjp_fn(cotangents.pop(i)), strict=True):
            if p >= 0:
                cotangents[p] = pg if p not in cotangents else add(cotangents[p], pg)
    return tuple(
        cotangents[i] if g is None else add(g, cotangents[i])
        for i, g in zip(leaf_positions, old, strict=True)
    )
