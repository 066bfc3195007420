"""The autograd tape: graph nodes, reverse topological order, the walk.

A node links an op's output to its parent tensors and holds the op's compiled
vector-Jacobian product (the residuals live inside it). ``backward`` walks the
graph once in reverse topological order, as micrograd does, accumulating
cotangents per tensor. A wiring seen for the first time is walked node by node
(one pre-compiled call per VJP, no compile on the caller's critical path), or
run in one call by the interpreter of its op set once that is compiled
(``_interp``); a wiring that recurs is traced into one compiled program
(``_fused``), so a backward pass then costs one XLA dispatch however many ops
it spans.

Grad mode (``no_grad`` and friends) lives in ``_grad_mode`` and is re-exported
here for the modules that read it through the tape.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import itertools
import math
import operator
import sys
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any

import jax

from lucid_fx._tensor import _fused, _interp, _tensor
from lucid_fx._tensor._donation import deferred_interrupts
from lucid_fx._tensor._fused import _program, program  # noqa: F401
from lucid_fx._tensor._grad_mode import (  # noqa: F401  (re-exported)
    MODE,
    NO_GRAD,
    PURE,
    RECORD,
    is_grad_enabled,
    is_pure,
    no_grad,
    pure_mode,
)
from lucid_fx._tensor._pending import LOCK as PENDING_LOCK
from lucid_fx._tensor._pending import Pending, at_top_level, resolve, run

# While lucid_fx.compile traces a function: (ids of the state it tracks, the
# creation stamp at trace start, the host reads of traced tensors so far).
# Older objects outside it must not be written.
_TRACKED: contextvars.ContextVar[
    tuple[frozenset[int], int, list[str], list[str]] | None
] = contextvars.ContextVar("lucid_fx_tracked", default=None)
_STAMPS = itertools.count()
# A backward through at most this many nodes, into at most this many bytes of
# gradients, may run as one compiled program (once its wiring recurs, see
# _fused). A longer graph runs node by node rather than compile one large
# program; a bigger model too, because the fused program holds every residual
# until it ends (memory_analysis, 8x1024 MLP at batch 512: 62 MiB of residuals
# incl. the weights, 32 of new grads, 2 temp; node by node frees the 30 MiB of
# activations as it goes), and there one dispatch per node is cheap.
MAX_FUSED_NODES = 512
MAX_FUSED_GRAD_BYTES = 16 * 2**20


def _graph_refs() -> int:
    """References to a deferred tensor that nobody but its graph holds, while
    ``_plan`` looks at it, besides one per step that reads it: the walk's
    list, the local name and getrefcount's argument (measured, in the plan's
    own shape, not assumed). More means someone may read its value after
    backward, so the fused program returns it. A wrong count is safe: a value
    not returned is computed when read."""
    found = [object()]
    probe = found[0]
    return sys.getrefcount(probe)


_GRAPH_REFS = _graph_refs()

# Gradients are read, summed and written under this lock, so backward() calls
# from several threads into one model accumulate every contribution.
GRAD_LOCK = threading.RLock()

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

_MSG_MODIFIED = (
    "backward: a tensor of shape {shape} that this graph used was modified by an "
    "in-place operation after it was used (its version is {now}, the graph "
    "recorded version {then}). Use the out-of-place op (e.g. x = x * 2 instead "
    "of x *= 2 or x.mul_(2)), or run the in-place change after backward()."
)


_VERSION = operator.attrgetter("_version")


@jax.jit
def _apply_vjp(vjp_fn: Callable, g: jax.Array) -> tuple[jax.Array, ...]:
    return vjp_fn(g)


add = jax.jit(jax.numpy.add)  # gradient accumulation: one compiled call


class Node:
    """One recorded op: its parents, their versions, and its VJP.

    Three kinds: ``vjp_fn`` is normally the pytree ``jax.vjp`` returned from a
    compiled forward, applied by one compiled call; with ``rule`` (a jitted
    ``rule(residuals, g)``), ``vjp_fn`` holds the residuals as a flat list of
    arrays; ``direct=True`` marks a plain Python function (device moves),
    called as is. ``versions`` are the parents' ``_version`` counters when the
    op ran: an in-place change to a parent since then makes ``backward`` raise.
    """

    __slots__ = ("parents", "versions", "vjp_fn", "direct", "rule")

    def __init__(
        self,
        parents: Sequence[Any],
        vjp_fn: Any,
        direct: bool = False,
        rule: Callable | None = None,
    ) -> None:
        self.parents = tuple(parents)
        self.versions = tuple(map(_VERSION, self.parents))
        self.vjp_fn: Any = vjp_fn
        self.direct = direct
        self.rule = rule

    def backward(self, g: jax.Array) -> tuple[jax.Array, ...]:
        if self.vjp_fn is None:
            raise RuntimeError(_MSG_FREED)
        if self.rule is not None:
            return self.rule(self.vjp_fn, g)
        return self.vjp_fn(g) if self.direct else _apply_vjp(self.vjp_fn, g)


def fused_calls(
    plan: Any, args: tuple[Any, ...]
) -> tuple[tuple[Callable, ...], tuple[jax.Array, ...]]:
    """Inside a fused program: each node's VJP as a function of its cotangent,
    and the values of the graph's deferred ops (``_pending``), in plan order.

    A recorded node's argument is its VJP pytree or its residuals (applied by
    its rule); a deferred node's argument is its array inputs, and its forward
    runs here first, inputs before outputs, so the program computes forward
    and backward in one XLA call.
    """
    wiring = plan[0]
    calls: list[Any] = [None] * len(wiring)
    computed: dict[int, jax.Array] = {}
    for k in range(len(wiring) - 1, -1, -1):  # inputs (higher positions) first
        i, _, rule, forward = wiring[k]
        arg = args[k]
        if forward is None:
            calls[k] = arg if rule is None else functools.partial(rule, arg)
            continue
        run, spec, _ = forward
        given = iter(arg)
        arrays = [computed[j] if j >= 0 else next(given) for j in spec]
        computed[i], leaves = run(*arrays)
        calls[k] = functools.partial(rule, leaves)
    values = tuple(computed[w[0]] for w in wiring if w[3] is not None and w[3][2])
    return tuple(calls), values


# A creation stamp: increases with every tensor made (called as ``stamp()``;
# the counter's own C-level ``__next__``, as every op's output takes one).
stamp = _STAMPS.__next__


@contextlib.contextmanager
def tracking(ids: frozenset[int]) -> Iterator[tuple[list[str], list[str]]]:
    """Mark the objects (by id) that a compiled trace may write. Yields the
    lists of host reads of traced tensors (:func:`note_host_read`) and of
    tensors read as constants (:func:`note_constants`) so far."""
    reads: list[str] = []
    constants: list[str] = []
    token = _TRACKED.set((ids, stamp(), reads, constants))
    try:
        yield reads, constants
    finally:
        _TRACKED.reset(token)


def note_constants(tensors: Sequence[Any]) -> None:
    """Note the tensors a compile trace reads as constants of its program:
    made before the trace and not part of its state (a closure variable, a
    plain module attribute), so later changes to them would not be seen."""
    tracked = _TRACKED.get()
    if tracked is None:
        return
    ids, start, _, constants = tracked
    for t in tensors:
        if (
            t._birth < start
            and id(t) not in ids
            and not isinstance(t._data, jax.core.Tracer)
        ):
            constants.append(f"a Tensor of shape {tuple(t._data.shape)}")


def note_host_read(api: str) -> None:
    """Note that a compile trace asked for a traced tensor's value on the host
    (``item()``, ``bool(t)``, ``numpy()``...): JAX raises there, and a trace
    that still succeeds means the function caught that error."""
    tracked = _TRACKED.get()
    if tracked is not None:
        tracked[2].append(api)


def tracing() -> bool:
    """Whether a compile trace is running (:func:`check_writable` applies)."""
    return _TRACKED.get() is not None


def check_writable(obj: Any, birth: int, what: str) -> None:
    """Raise if a compile trace would write state it does not track. Callers
    on a hot path ask :func:`tracing` first (``what`` is built eagerly)."""
    tracked = _TRACKED.get()
    if tracked is not None and id(obj) not in tracked[0] and birth < tracked[1]:
        raise RuntimeError(_MSG_UNTRACKED.format(what=what))


def backward(
    root: Any,
    seed: jax.Array,
    retain_graph: bool,
    keep_grad: bool = False,
    held: bool = True,
) -> None:
    """Accumulate d(root)/d(t) . seed into ``t.grad`` for every leaf ``t``, and
    for every non-leaf with ``keep_grad`` set (all of them if ``keep_grad``).

    Deferred ops in the graph (``_pending``) are computed by the same fused
    program as the backward once the wiring recurs, by the interpreter of the
    graph's op set for a new wiring of familiar ops (``_interp``), node by
    node before the walk otherwise (and always with ``retain_graph``, which
    keeps residuals). ``held=False`` says the caller holds no reference to
    ``root`` (a temporary): its value is not computed out either.

    All or nothing: every check runs and every gradient is computed before the
    first one is installed, and the install runs with Ctrl-C deferred, so an
    error or an interrupt leaves all old gradients or all new ones. Gradients
    are read, summed and written under ``GRAD_LOCK`` (thread-safe accumulation).
    """
    # GRAD_LOCK, then the deferred values' lock (resolve takes that one only).
    with GRAD_LOCK, PENDING_LOCK:
        _backward(root, seed, retain_graph, keep_grad, held)


def _backward(
    root: Any, seed: jax.Array, retain_graph: bool, keep_grad: bool, held: bool
) -> None:
    if retain_graph and type(root._data) is Pending:
        root.data  # noqa: B018  (compute the deferred ops: nodes keep residuals)
    plan, steps, targets, args, deferred, direct, order = _plan(root, keep_grad, held)
    if tracing():
        for t in targets:
            check_writable(t, t._birth, f"a tensor of shape {t.shape}")
    old, nbytes = _old_grads(targets)
    fused = None
    if len(steps) <= MAX_FUSED_NODES and not direct and nbytes <= MAX_FUSED_GRAD_BYTES:
        # None until the wiring recurs and is compiled. Inside a trace
        # (lucid_fx.compile) the program is inlined: no background compile.
        arguments = None
        if not isinstance(root._data, jax.core.Tracer):
            arguments = lambda: (args, seed, old)  # noqa: E731
        fused = program(plan, arguments)
    new = None
    if (
        fused is None
        and deferred
        and len(deferred) == len(steps)
        and not retain_graph
        and nbytes <= _interp.MAX_BYTES
        and not _fused.fused(plan)
    ):  # a new wiring of deferred ops: the interpreter of its op set, if ready
        new = _interp.backward(plan, args, order, seed, old)
    if fused is not None:
        new, values = fused(args, seed, old)
        given = iter(values)
        for tensor, kept in deferred:
            data = tensor._data  # the lock is held: still this Pending
            if kept:
                data.done(next(given))
                tensor._data = data.value
            else:  # read by this graph only: dropped with it (or, if a
                data.node = None  # reference was missed, computed when read)
    elif new is None:  # node by node: one compiled call per op and per sum
        for tensor, _ in reversed(deferred):  # their forwards, inputs first
            data = tensor._data  # one compiled call each, no walk per tensor
            tensor._data = data.value if data.value is not None else run(data)
        new = walk(plan, tuple(n.backward for n in steps), seed, old)
    # Plain Tensors, as PyTorch's: a Parameter's grad is no Parameter (else
    # ``module.saved = p.grad`` would register a new parameter).
    wrap = _tensor.Tensor._wrap  # looked up late: _tensor builds on the tape
    grads = [wrap(g) for g in new]
    _install(targets, grads, () if retain_graph else steps)


def _old_grads(targets: list[Any]) -> tuple[tuple[jax.Array | None, ...], int]:
    """Each target's grad array (None where it has none), and the total bytes
    of the targets' data (from shapes: ``jax.Array.nbytes`` costs a property
    call through JAX's Python layer), in one pass."""
    old = []
    nbytes = 0
    for t in targets:
        grad = t._grad
        if grad is not None:
            grad = grad._data
            if type(grad) is Pending:  # as ``.data`` would (the setter computes)
                grad = t._grad.data
        old.append(grad)
        data = t._data
        nbytes += math.prod(data.shape) * data.dtype.itemsize
    return tuple(old), nbytes


def _install(targets: list[Any], grads: list[Any], freed: Sequence[Node]) -> None:
    """Free the used nodes (their saved values and their links to their
    inputs), then set every target's grad with Ctrl-C held.

    Freeing first means an interrupt leaves either the old grads (perhaps with
    the graph freed: a retried ``backward`` then raises the freed-graph error)
    or the new ones. One grad is one attribute store, which an interrupt
    cannot split; several are written under ``deferred_interrupts``.
    """
    for node in freed:  # as PyTorch frees saved values: a held output of
        node.vjp_fn = None  # the graph no longer keeps its inputs alive
        node.parents = node.versions = ()
    if len(targets) == 1:
        targets[0]._grad = grads[0]
        return
    with deferred_interrupts():
        for t, g in zip(targets, grads, strict=True):
            t._grad = g


def _modified(node: Node) -> str:
    """The in-place error for the first of ``node``'s parents modified since."""
    for p, then in zip(node.parents, node.versions, strict=True):
        if p._version != then:
            return _MSG_MODIFIED.format(shape=p.shape, now=p._version, then=then)
    raise AssertionError("no parent was modified")  # pragma: no cover


def _plan(
    root: Any, keep_all: bool, root_held: bool = True
) -> tuple[Hashable, list[Node], list[Any], tuple[Any, ...], list[Any], bool, list]:
    """The graph's wiring by position (the root 0, then every tensor that
    requires grad reachable through nodes, outputs before inputs), checked.

    Returns the plan (each node step is ``(position, parent positions, rule,
    forward)``, -1 for a parent that does not require grad; ``forward`` is
    None for an op that ran, else the deferred op's compiled forward and where
    each input comes from: the position of a deferred input, -1 for an array
    argument; then the targets' positions), the nodes of those steps, the
    targets (the leaves that receive a cotangent, and the non-leaves that keep
    their gradient), each step's argument for the fused program (its VJP or
    residuals; a deferred op's array inputs), the tensors of the deferred
    steps (each with whether it is *held*: the root unless ``root_held`` is
    False, or a tensor referenced from outside this graph; the fused program
    returns only those values), whether a step is ``direct``, and the tensors
    by position. Positions only, so graphs wired alike share one program.

    One depth-first walk lists the tensors inputs first, as micrograd's does;
    one pass over that list builds the steps, so a deferred op's inputs are
    placed before it. Raises the freed-graph error for a step whose saved
    values are gone, and the in-place error for a parent modified since its
    op was recorded (the step nearest the root first), before any deferred
    value is computed.
    """
    post: list[Any] = []  # inputs before outputs: the root is last
    index: dict[int, int] = {}  # a tensor's place in post (-1: on the way)
    stack: list[Any] = [root]
    pop, push, out, place_of = stack.pop, stack.append, post.append, index.get
    while stack:
        tensor = pop()
        key = id(tensor)
        place = place_of(key)
        if place is None:  # first met
            node = tensor._node
            if node is None:  # a leaf: done at once
                index[key] = len(post)
                out(tensor)
                continue
            index[key] = -1
            push(tensor)  # met again once its inputs are placed (a DAG)
            for p in node.parents:
                if p._requires_grad:
                    push(p)
        elif place < 0:  # its inputs are placed
            index[key] = len(post)
            out(tensor)
    last = len(post) - 1  # a tensor's position: last - its place in post
    uses = [0] * len(post)  # per place: the steps that read it
    wiring, steps, targets, target_positions, args, pending = [], [], [], [], [], []
    waiting: dict[int, int] = {}  # a deferred value (by id): its position
    direct = False
    error = None
    inputs = None  # whether deferred ops run in the program (once one is seen)
    for k, tensor in enumerate(post):
        node = tensor._node
        if node is None:
            targets.append(tensor)
            target_positions.append(last - k)
            continue
        if keep_all or tensor.keep_grad:
            targets.append(tensor)
            target_positions.append(last - k)
        data = tensor._data
        # An op still to run: not computed, not a row of the interpreter's.
        waits = type(data) is Pending and data.value is None and data.node is not None
        problem = None
        if tuple(map(_VERSION, node.parents)) != node.versions:
            problem = _modified(node)
        parents = []
        for p in node.parents:
            if p._requires_grad:
                j = index[id(p)]
                uses[j] += 1
                parents.append(last - j)
            else:
                parents.append(-1)
        if not waits and node.vjp_fn is None:
            problem = _MSG_FREED
        if problem is not None:
            error = problem  # a later step is nearer the root: it wins
        if waits:
            if inputs is None:  # inside a trace: compute them now, concretely
                inputs = at_top_level()
            if inputs:  # where each input comes from: a deferred op's
                spec, arrays = [], []  # position (placed before), or an array
                for x in data.inputs:  # type: ignore[union-attr]
                    if type(x) is Pending:
                        if x.value is None:
                            j = waiting.get(id(x), -1)
                            if j < 0:  # not a step here: compute them all now
                                inputs = False
                                break
                            spec.append(j)
                            continue
                        x = x.value
                    spec.append(-1)
                    arrays.append(x)
                waiting[id(data)] = last - k
                pending.append((len(steps), k, data, tuple(spec), tuple(arrays)))
            else:
                pending.append((len(steps), k, data, (), ()))
        direct = direct or node.direct
        wiring.append((last - k, tuple(parents), node.rule, None))
        steps.append(node)
        args.append(node.vjp_fn)
    if error is not None:
        raise RuntimeError(error)
    deferred = []
    p = tensor = None  # no loop variable may count as a holder below
    if inputs:
        # Deferred ops of this graph run inside its fused program; it returns
        # a value only if someone but this graph may read it: a root the
        # caller holds, or a tensor referenced from outside the graph.
        for s, k, data, spec, arrays in reversed(pending):  # root first
            if k == last:
                held = root_held
            else:
                tensor = post[k]
                held = sys.getrefcount(tensor) > _GRAPH_REFS + uses[k]
            _, parents, rule, _ = wiring[s]
            wiring[s] = (last - k, parents, rule, (data.flat.forward, spec, held))
            args[s] = arrays
            deferred.append((post[k], held))
    else:
        # Inside a trace (never store a tracer), or a deferred input from
        # outside this graph's steps (detached, or its requires_grad turned
        # off since): compute them now, inputs first.
        for s, _, data, _, _ in pending:
            resolve(data)
            args[s] = steps[s].vjp_fn
    for found in (wiring, steps, targets, target_positions, args):
        found.reverse()  # root first
    plan = (tuple(wiring), tuple(target_positions))
    return plan, steps, targets, tuple(args), deferred, direct, post[::-1]


def walk(
    plan: Any,
    vjp_fns: tuple[Callable, ...],
    seed: jax.Array,
    old: tuple[jax.Array | None, ...],
) -> tuple[jax.Array, ...]:
    """Run ``plan``'s VJPs from ``seed``; each target's cotangent plus its old grad.

    Traced whole by a ``_fused`` program, or called eagerly with ``Node.backward``s.
    """
    wiring, target_positions = plan
    keep = set(target_positions)
    cotangents: dict[int, jax.Array] = {0: seed}
    for (i, parents, _, _), vjp_fn in zip(wiring, vjp_fns, strict=True):
        g = cotangents[i] if i in keep else cotangents.pop(i)
        for p, pg in zip(parents, vjp_fn(g), strict=True):
            if p >= 0:
                cotangents[p] = pg if p not in cotangents else add(cotangents[p], pg)
    return tuple(
        cotangents[i] if g is None else add(g, cotangents[i])
        for i, g in zip(target_positions, old, strict=True)
    )
