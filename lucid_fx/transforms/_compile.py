"""``lucid_fx.compile``: one XLA program where the user wrote eager code.

On a module, the whole forward becomes one taped op (one compiled forward and
one compiled backward per input signature). On a function (a training step),
the state reachable from its arguments is read out (``Collected.arrays``), the
function is traced once per signature with tracers in its place (tape,
backward and optimizer update inside the trace), runs as one XLA program, and
the new arrays are written back (``Collected.put``): state out, program, state
back, in that order in ``CompiledFunction.__call__``.

Caches: each compiled function keeps at most ``_signature.MAX_PROGRAMS`` programs (least
recently used dropped) and warns once past ``WARN_AFTER`` compiles. Nothing
here holds a user's module or optimizer strongly between calls.
"""

from __future__ import annotations

import functools
import inspect
import threading
import weakref
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import jax

from lucid_fx import random
from lucid_fx._tensor import Tensor, _tape
from lucid_fx._tensor._donation import deferred_interrupts
from lucid_fx.functional import check_class_target
from lucid_fx.nn import Module
from lucid_fx.nn.functional import TRACED_LABELS
from lucid_fx.random._generator import lock as generator_lock
from lucid_fx.transforms._compiled_module import CompiledModule
from lucid_fx.transforms._fallback import (
    UNTRACEABLE,
    warn_caught,
    warn_constants,
    warn_fallback,
    warn_python_state,
)
from lucid_fx.transforms._signature import (
    ProgramCache,
)
from lucid_fx.transforms._state import Collected, output_leaves, spread

_MSG_TARGET = (
    "compile: expected an nn.Module or a callable, got {kind}. Use "
    "lucid_fx.compile(model) or @lucid_fx.compile on a training step function."
)


def compile(  # noqa: A001
    target: Any = None,
    *,
    static_argnums: int | Iterable[int] = (),
    static_argnames: str | Iterable[str] = (),
) -> Any:
    """Compile a module's forward, or a whole eager training step, with XLA.

    Python numbers passed as arguments of a step are traced, as ``jax.jit``
    does: ``step(model, opt, x, y, epoch)`` compiles once for every ``epoch``.
    Name the arguments that must be Python values while tracing (used in
    ``if``/``range``) in ``static_argnames``/``static_argnums``: each new value
    of those compiles a new program. Use it as ``@lucid_fx.compile`` or
    ``@lucid_fx.compile(static_argnames=("n",))``.

    Args:
      target: an ``nn.Module`` (returns a callable sharing its Parameters), or a
        function taking Modules, optimizers, Tensors, numbers and hashable
        constants.
      static_argnums: positions of arguments taken as static values.
      static_argnames: names of arguments taken as static values.

    Returns:
      A ``CompiledModule`` or ``CompiledFunction`` (or a decorator, when
      ``target`` is omitted).

    Raises:
      TypeError: if ``target`` is neither a Module nor callable.

    Examples:
      >>> import lucid_fx
      >>> import lucid_fx.nn as nn
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor, optim
      >>> lucid_fx.random.seed(0)
      >>> model = nn.Sequential(nn.Linear(2, 4), nn.LeakyReLU(0.125), nn.Linear(4, 2))
      >>> opt = optim.SGD(model.parameters(), lr=0.1)
      >>> @lucid_fx.compile
      ... def train_step(model, opt, x, y):
      ...     opt.zero_grad()
      ...     loss = F.cross_entropy(model(x), y)
      ...     loss.backward()
      ...     opt.step()
      ...     return loss
      >>> x, y = Tensor([[1.0, 2.0], [-1.0, 0.5]]), Tensor([0, 1])
      >>> first = train_step(model, opt, x, y).item()
      >>> for _ in range(20):
      ...     loss = train_step(model, opt, x, y)
      >>> loss.item() < first
      True
    """
    if target is None:
        return functools.partial(
            compile, static_argnums=static_argnums, static_argnames=static_argnames
        )
    if isinstance(target, Module):
        return CompiledModule(target)
    if callable(target):
        return CompiledFunction(target, static_argnums, static_argnames)
    raise TypeError(_MSG_TARGET.format(kind=type(target).__name__))


# ---------------------------------------------------------------- functions


def _ref(value: Any, on_free: Callable[[Any], None]) -> Any:
    """A weak reference to a user's object (a Module, optimizer; a Tensor
    without callback: the next batch replaces it), or the value itself
    (numbers, strings, tuples): what ``_same_call`` compares."""
    if isinstance(value, Tensor):
        return weakref.ref(value)
    try:
        return weakref.ref(value, on_free)
    except TypeError:
        return value


def _same_call(
    refs: tuple[Any, ...],
    args: Iterable[Any],
    keys: Iterable[Any],
    static: frozenset,
) -> bool:
    """Same objects as the last call; Tensors may be new (``Collected.rebind``
    decides), numbers may have new values (they are traced) unless their
    position or name (``keys``) is in ``static``: a static number's value is
    part of the structure."""
    for ref, a, key in zip(refs, args, keys, strict=False):
        if type(ref) is weakref.ref:
            old = ref()
            if old is not a and not (
                isinstance(a, Tensor) and (old is None or isinstance(old, Tensor))
            ):
                return False
        elif ref is not a and not (
            type(ref) is type(a) and type(a) in (int, float) and key not in static
        ):
            return False
    return True


class _Program:
    """One traced and compiled step: the jitted function and how to rebuild
    its outputs (known once traced)."""

    __slots__ = (
        "jitted",
        "treedef",
        "mask",
        "constants",
        "single",
        "new_key",
        "labels",
        "_checked",
    )

    def __init__(self, jitted: Callable) -> None:
        self.jitted = jitted
        self.treedef: Any = None
        self.mask: tuple[bool, ...] = ()
        self.constants: dict[int, Any] = {}  # result leaves fixed at trace time
        self.single = False
        self.new_key = False
        # (input Tensor position, classes, ignore_index, api) of every input
        # a loss reads as class labels: checked before each call runs.
        self.labels: list[tuple[int, int, int, str]] = []
        self._checked: list[weakref.ref] = []  # label arrays already checked

    def check_labels(self, inputs: list[Tensor]) -> None:
        """Raise the eager loss's ``ValueError`` for an invalid label. An
        array checked at the last call (the same batch again) is not re-read."""
        checked = self._checked
        for n, (i, classes, ignore_index, api) in enumerate(self.labels):
            array = inputs[i].data
            last = checked[n] if n < len(checked) else None
            if last is not None and last() is array:
                continue
            # A batch sharded over processes: each checks its own rows.
            parts = (
                [array]
                if array.is_fully_addressable
                else [shard.data for shard in array.addressable_shards]
            )
            for part in parts:
                check_class_target(part, classes, ignore_index, api)
            if checked is self._checked:  # the first new array: copy, then edit
                checked = checked + [None] * (len(self.labels) - len(checked))
            checked[n] = weakref.ref(array)
        self._checked = checked


class _KeyHold:
    """The global generator's lock, held by a step that draws from its key's
    read to the new key's write-back: another thread's draw then neither
    reuses the step's key nor is undone by its write-back. Released early
    (``release``) if JAX retraces inside the call, as no user code may run
    while it is held."""

    __slots__ = ("held",)

    def __init__(self) -> None:
        self.held = False

    def acquire(self) -> None:
        # One statement: no signal handler runs between the two.
        self.held = generator_lock.acquire()

    def release(self) -> None:
        if self.held:
            self.held = False
            generator_lock.release()

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        self.release()


class CompiledFunction:
    """A function over Modules, optimizers and Tensors run as one XLA program.

    Each call reads the state reachable from the arguments (parameters,
    buffers, gradients, optimizer states and learning rates, input Tensors,
    Python numbers, the global RNG key), runs the program compiled for that
    signature, and writes the new arrays back. The update is all or nothing: a
    Ctrl-C during the call is held until the new state is written back.

    Donation (memory is not doubled) follows one rule: a buffer is given to XLA
    only when the library holds it alone. Arrays you hold yourself (``w =
    p.data``, ``Tensor(p.data)``, the params returned by ``functionalize``)
    stay readable; the Parameters' buffers in a plain training loop are reused.

    Python code in the function runs while tracing only (the first call of each
    signature): a ``print`` or ``raise`` there runs once, not at every call.

    Calls from several threads run one at a time (each call's host part:
    reading the state, dispatching the program, writing back; the device
    work stays asynchronous), so one compiled function can serve one model
    from a thread pool.

    Examples:
      >>> import lucid_fx
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor, optim
      >>> w = nn.Linear(1, 1, bias=False)
      >>> w.weight = nn.Parameter([[1.0]])
      >>> opt = optim.SGD(w.parameters(), lr=0.25)
      >>> @lucid_fx.compile
      ... def step(model, opt, x):
      ...     opt.zero_grad()
      ...     loss = (model(x) ** 2.0).sum()   # d/dw = 2 w x^2 = 2
      ...     loss.backward()
      ...     opt.step()
      ...     return loss
      >>> step(w, opt, Tensor([[1.0]])).item(), w.weight.item(), w.weight.grad.item()
      (1.0, 0.5, 2.0)
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        static_argnums: int | Iterable[int] = (),
        static_argnames: str | Iterable[str] = (),
    ) -> None:
        self.fn = fn
        self.eager = False
        self._caught: list[str] | None = None  # warned once, then []
        self._python: list[str] | None = None  # warned once, then []
        self._constants: list[str] | None = None  # warned once, then []
        self._static = _static_positions(fn, static_argnums, static_argnames)
        self._current: tuple[Collected, tuple, dict] | None = None
        # The last call's structure; cleared when one of its objects is freed,
        # so it never keeps a model or optimizer alive.
        self._last: list[tuple[tuple, tuple, Collected]] = []
        self._name = name = getattr(fn, "__name__", "the function")  # warnings
        self._programs = ProgramCache(name)
        self._lock = threading.RLock()
        functools.update_wrapper(self, fn)

    # ------------------------------------------------------------ state out
    def _collect(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Collected:
        """The state of this call; reused when the same objects come again and
        no module tree changed (the common training-loop case)."""
        if self._last:
            refs, kw_refs, state = self._last[0]
            if (
                len(refs) == len(args)
                and len(kw_refs) == len(kwargs)
                and _same_call(refs, args, range(len(args)), self._static)
                and (
                    not kwargs
                    or all(k in kwargs for k, _ in kw_refs)
                    and _same_call(
                        tuple(r for _, r in kw_refs),
                        (kwargs[k] for k, _ in kw_refs),
                        (k for k, _ in kw_refs),
                        self._static,
                    )
                )
                and state.rebind(args, kwargs)
            ):
                return state
        state = Collected(args, kwargs, self._static)
        slot = self._last
        slot.clear()

        def forget(_: Any) -> None:
            slot.clear()

        refs = tuple(_ref(a, forget) for a in args)
        kw_refs = tuple((k, _ref(v, forget)) for k, v in kwargs.items())
        slot.append((refs, kw_refs, state))
        return state

    # -------------------------------------------------------------- program
    def _pure(self, donated: list[Any], inputs: list[Any], *, layout: Hashable) -> Any:
        """The traced step: install tracers, run the function, read results."""
        assert self._current is not None, "traced outside __call__"
        state, args, kwargs, hold = self._current
        # JAX retraces inside a call that holds the generator (its caches
        # were cleared): the user's code may wait on a thread that draws.
        hold.release()
        program = self._programs.get(layout, _missing)
        _, _, _, _, treedefs, mask, ties = layout  # type: ignore[misc]
        kept, tensors, numbers, hyper, key = inputs
        values = spread(mask, donated, kept)
        for j, first in ties:
            values[j] = values[first]
        args, kwargs = _with_numbers(args, kwargs, state.number_at, numbers)
        with state.installed(values, treedefs, inputs[1:]):
            key = random.get_rng_state()  # the installed (wrapped) key tracer
            tracked = [*state.tensors, *state.optimizers()]
            labels: list[tuple] = []
            token = TRACED_LABELS.set(labels)
            before = state.python_state()
            try:
                with _tape.tracking(frozenset(map(id, tracked))) as seen:
                    out = self.fn(*args, **kwargs)
                reads, constants = seen
                if reads and self._caught is None:  # it caught the error: warn once
                    self._caught = reads
                if constants and self._constants is None:
                    self._constants = constants
            finally:
                TRACED_LABELS.reset(token)
            if self._python is None:  # warned once per compiled function
                after = state.python_state()
                what = [
                    w
                    for w, a, b in zip(_PYTHON_STATE, before, after)
                    if not _same_state(a, b)
                ]
                self._python = what or None
            position = {id(t): i for i, t in enumerate(tensors)}
            program.labels = [
                (position[id(t)], *rest) for t, *rest in labels if id(t) in position
            ]
            new = state.read(treedefs)
            changed = [
                None if t.data is a else t.data
                for t, a in zip(state.inputs, tensors, strict=True)
            ]
            new_key = random.get_rng_state()
            # Read while the tracers are installed: a returned Parameter or
            # input Tensor holds its traced value here, a constant after.
            arrays, program.treedef, program.mask = output_leaves(out)
        _tie(new, values, ties)
        for j, _ in ties:  # one output per shared array: still shared after
            new[j] = None
        # Leaves that are no arrays (a str tag, a Python number computed from
        # constants) were fixed while tracing: returned as they are, as eager.
        program.constants = {
            i: v for i, v in enumerate(arrays) if not isinstance(v, jax.Array)
        }
        arrays = [v for v in arrays if isinstance(v, jax.Array)]
        # A lone Tensor (the usual loss) skips the pytree rebuild at each call.
        program.single = program.treedef.num_nodes == 1 and program.mask == (True,)
        program.new_key = new_key is not key
        new_key = jax.random.key_data(new_key)
        # Donated slots the step clears (zero_grad at its end) leave through an
        # output all the same, to be discarded: a donated buffer with no output
        # of its shape makes JAX warn, and passing it through costs nothing.
        dropped = [
            v for v, m, n in zip(values, mask, new, strict=True) if m and n is None
        ]
        return new, changed, arrays, dropped, new_key if program.new_key else None

    def _build(self, layout: Hashable) -> _Program:
        # keep_unused: the old gradients are usually never read (zero_grad
        # comes first), but kept as arguments they are donated and XLA writes
        # the new gradients into them instead of allocating.
        # Positional arrays only: a static keyword costs jit ~8 us per call.
        pure = functools.partial(self._pure, layout=layout)
        return _Program(jax.jit(pure, donate_argnums=0, keep_unused=True))

    # ------------------------------------------------------------ the call
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # Called while another compiled function traces: its code joins that
        # trace (as a jit inside a jit is inlined), reading the outer step's
        # traced state (learning rates, RNG key) rather than baking in ours.
        if self.eager or _tape.tracing():
            return self.fn(*args, **kwargs)
        # One call at a time per compiled function: a call in another thread
        # never reads the state while this one has tracers installed in it,
        # nor an array this one donated, nor swaps in its own batch.
        with self._lock:  # state out, program, state back
            state = self._collect(args, kwargs)
            donated, inputs, layout = state.arrays(args, kwargs)
            program = self._programs.get(layout, lambda: self._build(layout))
            hold = _KeyHold()
            self._current = (state, args, kwargs, hold)
            try:
                if program.treedef is None:
                    # Traced and compiled now (the call reuses both): the labels
                    # are known, and no compile runs while the generator is held.
                    program.jitted.trace(donated, inputs).lower().compile()
                # Invalid class labels raise here, before anything is donated.
                program.check_labels(state.inputs)
                # From dispatch (old buffers donated) to write-back, a Ctrl-C waits;
                # from the key's read to the new key's, other threads' draws wait.
                with deferred_interrupts(), hold:
                    if program.new_key:
                        hold.acquire()
                        inputs[-1] = random.get_rng_state_data()
                    new, changed, arrays, _, new_key = program.jitted(donated, inputs)
                    for j, first in layout[-1]:  # type: ignore[index]
                        new[j] = new[first]
                    state.put(new, layout[4], changed, layout[5])  # type: ignore[index]
                    if new_key is not None:
                        random.set_rng_state_data(new_key)
            except UNTRACEABLE as error:
                warn_fallback(self._name, error)
                self.eager = True
                return self.fn(*args, **kwargs)
            finally:
                self._current = None
            if self._caught:  # a trace in this call caught a host read's error
                warn_caught(self._name, self._caught)
                self._caught = []
            if self._constants:  # a trace in this call baked in outside tensors
                warn_constants(self._name, self._constants)
                self._constants = []
            if self._python:  # a trace in this call changed Python-only state
                warn_python_state(self._name, self._python)
                self._python = []
            if program.single:
                return Tensor._wrap(arrays[0])
            results, constants = iter(arrays), program.constants
            leaves = [
                constants[i]
                if i in constants
                else Tensor._wrap(next(results))
                if m
                else next(results)
                for i, m in enumerate(program.mask)
            ]
            return jax.tree.unflatten(program.treedef, leaves)

    def __repr__(self) -> str:
        return f"CompiledFunction({getattr(self.fn, '__name__', self.fn)!r})"


_PYTHON_STATE = (
    "train/eval mode",
    "optimizer options (param_groups)",
    "attributes of an argument (a scheduler's last_epoch)",
)


def _same_state(a: Any, b: Any) -> bool:
    """``a == b`` for two snapshots of Python-only state, list by list and
    dict by dict; a value that is an array (or a tracer) cannot always be
    compared: that one value is then assumed unchanged (the check only
    decides a warning), the others still count."""
    if type(a) is type(b) is list and len(a) == len(b):
        return all(map(_same_state, a, b))
    if type(a) is type(b) is dict and a.keys() == b.keys():
        return all(_same_state(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001
        return True


def _missing() -> Any:  # pragma: no cover - a program is cached before tracing
    raise AssertionError("traced a program that is not in the cache")


def _tie(new: list[Any], old: list[Any], ties: tuple) -> None:
    """Slots sharing one array (``m2.weight.data = m1.weight.data``) stay one:
    each slot's update is applied to it, as PyTorch's shared storage does.

    Slots that still share one new array were updated as one (an eager
    optimizer step keeps its tied parameters tied): that update counts once."""
    groups: dict[int, list[int]] = {}
    for j, first in ties:
        groups.setdefault(first, [first]).append(j)
    for first, members in groups.items():
        base = old[first]
        total = base
        for array in {id(new[i]): new[i] for i in members}.values():
            total = total + (array - base)
        for i in members:
            new[i] = total


def _with_numbers(
    args: tuple[Any, ...], kwargs: dict[str, Any], where: list, numbers: list
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if not where:
        return args, kwargs
    args, kwargs = list(args), dict(kwargs)
    for w, n in zip(where, numbers, strict=True):
        if type(w) is int:
            args[w] = n
        else:
            kwargs[w] = n
    return tuple(args), kwargs


def _static_positions(
    fn: Callable, argnums: int | Iterable[int], argnames: str | Iterable[str]
) -> frozenset:
    """Positions and names of static arguments, each named both ways (as
    ``jax.jit`` resolves ``static_argnames`` against the signature)."""
    nums = {argnums} if isinstance(argnums, int) else set(argnums)
    names = {argnames} if isinstance(argnames, str) else set(argnames)
    for v in nums:
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"compile: static_argnums must be ints, got {v!r}.")
    for v in names:
        if not isinstance(v, str):
            raise TypeError(f"compile: static_argnames must be strings, got {v!r}.")
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        params = []
    for name in list(names):
        if name in params:
            nums.add(params.index(name))
    for i in list(nums):
        if 0 <= i < len(params):
            names.add(params[i])
    return frozenset(nums | names)
