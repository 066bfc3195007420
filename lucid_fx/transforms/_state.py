"""What a compiled step reads and writes: the state reachable from its arguments.

:class:`Collected` is the one bridge between the eager objects and the pure
program. It reads the state out as flat lists of arrays (``arrays``), puts
tracers in while the step is traced (``installed``), and puts the results
back (``put``). Its flat layout, one slot per array:

``state``   parameters, then buffers, then every tracked Tensor's ``grad``,
            then each optimizer's state leaves: what a step replaces. A slot
            is donated only when the library owns its array alone (the rule
            in ``lucid_fx._tensor._donation``), otherwise passed undonated.
``inputs``  Tensors passed as arguments (read), Python numbers passed as
            arguments (traced, one program for every value), optimizer
            hyperparameters (``lr``: traced, never stale) and the global RNG
            key (threaded through: split inside, the new key written back).
"""

from __future__ import annotations

import contextlib
import operator
import types
import weakref
from collections.abc import Hashable, Iterator
from itertools import chain, compress, repeat
from typing import Any

import jax
import numpy as np

from lucid_fx import random
from lucid_fx._tensor import (
    Tensor,
    data_each,
    optional_data_each,
    requires_grad_each,
    set_data_each,
    set_grad_each,
)
from lucid_fx._tensor._donation import deferred_interrupts, donatable, sole
from lucid_fx.nn import Module
from lucid_fx.optim import Optimizer
from lucid_fx.random._generator import holding
from lucid_fx.transforms._signature import (
    Key,
    fingerprint,
    module_dicts,
    module_structure,
    same,
)

_DATA = operator.attrgetter("data")
_RAW_GRAD = operator.attrgetter("_grad")
_SHAPE_DTYPE = operator.attrgetter("shape", "dtype")
_VALUES = dict.values
_NUMBER = (int, float)
_NONE = {type(None)}


def _flat(state: Any) -> tuple[list[Any], Any]:
    """An optimizer state pytree as leaves and treedef."""
    return jax.tree.flatten(state)


def _owned(state: dict[str, Any]) -> bool:
    """Whether every array of one parameter's optimizer state is held by
    that state dict alone (not by a ``state_dict()`` the user kept)."""
    for v in state.values():
        # holders: the dict's entry and the local ``v``
        if v is not None and not donatable(v, 2):
            return False
    return True


def _kind(value: Any) -> str:
    """``torch.Tensor``, ``numpy.ndarray``, ``jax.Array``: an array's library."""
    if isinstance(value, jax.Array):
        return "jax.Array"
    return f"{type(value).__module__.split('.')[0]}.{type(value).__name__}"


def _ties(slots: list[Any]) -> tuple[tuple[int, int], ...]:
    """``(slot, first slot)`` pairs for slots holding one array twice."""
    first: dict[int, int] = {}
    return tuple(
        (i, first[id(a)])
        for i, a in enumerate(slots)
        if first.setdefault(id(a), i) != i
    )


class Collected:
    """The state reachable from one call's arguments, and its signature.

    Args:
      args, kwargs: the compiled function's arguments.
      static: positions and keyword names whose values are static (hashed
        into the signature) rather than traced.
    """

    def __init__(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], static: frozenset
    ) -> None:
        self.tensors: list[Tensor] = []
        self._index: dict[int, int] = {}
        self.owned: set[int] = set()  # positions of Parameters
        self._optimizers: list[weakref.ref] = []
        self._modules: list[tuple[list[dict], list[Any]]] = []
        self.buffer_slots: list[tuple[dict, str]] = []
        self.number_at: list[int | str] = []  # where each traced number comes from
        self.tensor_at: list[Any] = []  # argument Tensors
        # Other objects passed (a scheduler): weak references, for
        # python_state's snapshot of their attributes.
        self._objects: list[weakref.ref] = []
        described = (
            tuple(self._describe(a, i in static, i) for i, a in enumerate(args)),
            tuple((k, self._describe(v, k in static, k)) for k, v in kwargs.items()),
        )
        self.structure = Key((described, tuple(sorted(self.owned))))
        self.params = [self.tensors[i] for i in sorted(self.owned)]
        self.buffers = [slots[name] for slots, name in self.buffer_slots]
        self.holders = self.params + self.buffers  # the slots holding ``.data``
        self.inputs = [t for i, t in enumerate(self.tensors) if i not in self.owned]
        # An argument Tensor a new call may replace (the next batch): not a
        # Parameter, passed once. Others must be the same object again.
        uses = [i for _, i in self.tensor_at]
        self.tensor_at = [
            (w, i, i not in self.owned and uses.count(i) == 1)
            for w, i in self.tensor_at
        ]

    # ------------------------------------------------------------ structure
    def _track(self, tensor: Tensor, owned: bool = False) -> int:
        i = self._index.get(id(tensor))
        if i is None:
            i = self._index[id(tensor)] = len(self.tensors)
            self.tensors.append(tensor)
        if owned:
            self.owned.add(i)
        return i

    def _describe(self, value: Any, static: bool, where: Any = None) -> Hashable:
        if isinstance(value, Tensor):
            i = self._track(value)
            if where is not None:
                self.tensor_at.append((where, i))
            return ("tensor", i)
        if isinstance(value, Module):
            signature, parameters, slots = module_structure(value)
            dicts = module_dicts(value)
            self._modules.append((dicts, fingerprint(dicts)))
            ids = tuple(self._track(p, owned=True) for p in parameters)
            known = {(id(d), n) for d, n in self.buffer_slots}
            self.buffer_slots.extend(s for s in slots if (id(s[0]), s[1]) not in known)
            return ("module", signature, ids)
        if isinstance(value, Optimizer):
            self._optimizers.append(weakref.ref(value))
            ids = tuple(self._track(p, owned=True) for p in value.params)
            return ("optimizer", value.bridge_signature(), ids)
        if (
            not static
            and where is not None
            and type(value) in _NUMBER  # bool stays static, as a flag
        ):
            self.number_at.append(where)
            return ("number", type(value))
        if isinstance(value, list | tuple):
            return (type(value).__name__, tuple(self._describe(v, True) for v in value))
        if isinstance(value, dict):
            items = tuple((k, self._describe(v, True)) for k, v in value.items())
            return ("dict", items)
        if isinstance(value, jax.Array | np.ndarray) or (
            hasattr(value, "__dlpack__") and hasattr(value, "shape")  # torch's
        ):
            raise TypeError(
                f"compile: got a raw {_kind(value)} argument of shape "
                f"{value.shape}; wrap it as Tensor(...) so it is an input of the "
                f"compiled program rather than a constant."
            )
        try:
            hash(value)
        except TypeError:
            raise TypeError(
                f"compile: cannot pass a {type(value).__name__} to a compiled "
                f"function; pass Modules, optimizers, Tensors, or hashable "
                f"constants."
            ) from None
        if _has_attributes(value):
            with contextlib.suppress(TypeError):  # no weak references: unseen
                self._objects.append(weakref.ref(value))
        return ("static", value)

    def unchanged(self) -> bool:
        """No module tree it read was changed since (any attribute assignment,
        mode change, replaced Parameter, sub-module or buffer)."""
        return all(same(seen, fingerprint(dicts)) for dicts, seen in self._modules)

    def rebind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """Take this call's argument Tensors (a new batch) in place of the
        last call's, if the structure allows; False if it does not."""
        replaced = False
        for where, i, replaceable in self.tensor_at:
            new = args[where] if type(where) is int else kwargs[where]
            old = self.tensors[i]
            if new is old:
                continue
            if not replaceable or not isinstance(new, Tensor) or id(new) in self._index:
                return False
            del self._index[id(old)]
            self._index[id(new)] = i
            self.tensors[i] = new
            replaced = True
        if replaced:
            self.inputs = [t for i, t in enumerate(self.tensors) if i not in self.owned]
        return self.unchanged()

    def python_state(self) -> tuple[list[Any], list[Any], list[Any]]:
        """What a step can change through Python only (never an input of the
        program): each module's train/eval mode, each optimizer's group
        options, and the attributes of other objects passed as arguments (a
        scheduler's ``last_epoch``). Compared before and after a trace to warn
        that such a change (``model.eval()``, ``scheduler.step()`` in the
        step) runs only then."""
        modes = [d.get("training") for dicts, _ in self._modules for d in dicts]
        groups = [
            [{k: v for k, v in g.items() if k != "params"} for g in o.param_groups]
            for o in self.optimizers()
        ]
        objects = [dict(vars(o)) for o in map(_call, self._objects) if o is not None]
        return modes, groups, objects

    def optimizers(self) -> list[Optimizer]:
        out = [ref() for ref in self._optimizers]
        if None in out:  # pragma: no cover - the caller's arguments hold them
            raise RuntimeError("compile: an optimizer was freed during the call.")
        return out  # type: ignore[return-value]

    # ---------------------------------------------------------------- arrays
    def arrays(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[list[Any], list[Any], Hashable]:
        """``(donated, inputs, layout)``: this call's arrays and their layout.

        ``donated`` holds the state slots the library owns alone, in order,
        and ``inputs[0]`` the others (``layout``'s mask says which is which:
        :func:`spread` puts them back in slot order); ``layout`` says the input
        shapes (each shape is one program in a bounded cache), which, which
        slots share one array (tied by ``.data``), which grads exist and the
        optimizers' signatures. Shapes and dtypes are the jitted program's own
        cache key.
        """
        optimizers = self.optimizers()
        slots = data_each(self.holders)
        ties = _ties(slots) if len(set(map(id, slots))) != len(slots) else ()
        # A grad Tensor someone else holds (``g = p.grad``) travels as the
        # Tensor: never donated (its array is unwrapped into ``kept`` below).
        grads = list(map(_RAW_GRAD, self.tensors))
        alone = sole(grads)
        # The plain loop: each grad is held by its tensor alone, or is None.
        if set(map(type, compress(grads, map(operator.not_, alone)))) <= _NONE:
            slots += optional_data_each(grads)
        else:
            slots += [g.data if a else g for g, a in zip(grads, alone, strict=True)]
        del grads
        hyper, treedefs, signatures, shared = [], [], [], []
        for o in optimizers:
            h, state, signature = o.bridge_view()
            hyper.append(h)
            signatures.append(signature)
            if type(state) is list:  # one dict per parameter
                # Donated only where each array in it is held by the dict
                # alone (``opt.state_dict()`` shares): one pass over all of
                # them, a dict at a time only if one fails.
                if not all(sole(list(chain.from_iterable(map(_VALUES, state))))):
                    shared.append((len(slots), state))
                slots += state
                treedefs.append((None, len(state)))
            else:
                leaves, treedef = _flat(state)
                slots += leaves
                treedefs.append((treedef, len(leaves)))
                del leaves
            del h, state
        # Read before the donation pass: an input that is also a state slot (a
        # module's buffer passed as an argument) is then held twice, so never
        # donated (XLA refuses a buffer donated and passed in one call).
        tensors = data_each(self.inputs)
        mask = sole(slots)
        for start, state in shared:
            for i in range(start, start + len(state)):
                if mask[i] and not _owned(slots[i]):
                    mask[i] = False
        del shared
        donated = list(compress(slots, mask))
        kept = list(compress(slots, map(operator.not_, mask)))
        if any(map(isinstance, kept, repeat(Tensor))):  # grads held elsewhere
            kept = [a.data if isinstance(a, Tensor) else a for a in kept]
        del slots
        numbers = [args[w] if type(w) is int else kwargs[w] for w in self.number_at]
        # The key travels as its raw uint32 data: a typed key array argument
        # sends every call down jit's Python path (~0.7 ms, measured).
        key = random.get_rng_state_data()
        layout = (
            tuple(map(_SHAPE_DTYPE, tensors)),
            self.structure,
            requires_grad_each(self.tensors),
            tuple(signatures),
            tuple(treedefs),
            tuple(mask),
            ties,
        )
        return donated, [kept, tensors, numbers, hyper, key], layout

    # --------------------------------------------------------- install, put
    def put(
        self,
        values: list[Any],
        treedefs: tuple,
        new_inputs: list[Any],
        reuse: tuple[bool, ...] | None = None,
    ) -> None:
        """Rebind every slot to ``values`` (same layout as ``arrays``); an input
        Tensor given ``None`` keeps its data. The arrays are the program's
        own results (or its tracers), of the slots' shapes: no checks.

        ``reuse``, the donation mask of the call that made ``values``: a
        grad Tensor whose array was donated (so nothing else held it) takes
        its new array in place (never while tracing: the real grads must
        stay as they are)."""
        set_data_each(self.holders, values)
        n = len(self.holders)
        start = n + len(self.tensors)
        reused = reuse[n:start] if reuse else repeat(False)
        set_grad_each(self.tensors, values[n:start], reused)
        for o, (treedef, n) in zip(self.optimizers(), treedefs, strict=True):
            leaves = values[start : start + n]
            start += n
            o.load_bridge_state(
                leaves if treedef is None else jax.tree.unflatten(treedef, leaves)
            )
        for t, v in zip(self.inputs, new_inputs, strict=True):
            if v is not None:
                t.set_data(v)

    def snapshot(self) -> tuple[Any, ...]:
        """Everything a trace overwrites, as it is (Tensor objects in buffer
        slots included: a step may rebind them)."""
        values = [*map(_DATA, self.params), *map(_DATA, self.buffers)]
        values += [t.grad for t in self.tensors]
        states = [o.bridge_state()[1] for o in self.optimizers()]
        slots = [(d, n, d[n]) for d, n in self.buffer_slots]
        inputs = list(map(_DATA, self.inputs))
        return values, states, slots, inputs

    def restore(self, snapshot: tuple[Any, ...]) -> None:
        values, states, slots, inputs = snapshot
        for d, n, t in slots:
            d[n] = t
        n = len(self.params) + len(self.buffers)
        for t, v in zip([*self.params, *self.buffers], values, strict=False):
            t.set_data(v)
        for t, g in zip(self.tensors, values[n:], strict=True):
            t.set_grad(g)
        for o, state in zip(self.optimizers(), states, strict=True):
            o.load_bridge_state(state)
        for t, v in zip(self.inputs, inputs, strict=True):
            t.set_data(v)

    @contextlib.contextmanager
    def installed(
        self, values: list[Any], treedefs: tuple, inputs: list[Any]
    ) -> Iterator[None]:
        """Tracers in place of the real state for the duration of a trace.

        Installing and restoring run with Ctrl-C held (a trace itself may be
        interrupted): a KeyboardInterrupt never leaves tracers in the objects.
        The traced RNG key is this thread's own generator for the trace
        (``random._generator.holding``): the global one, which other threads
        may draw from meanwhile, never holds a tracer.
        """
        tensors, _numbers, hyper, key = inputs
        before = self.snapshot()
        stack = contextlib.ExitStack()
        try:
            with deferred_interrupts():
                self.put(values, treedefs, tensors)
                stack.enter_context(holding(key))
                for o, h in zip(self.optimizers(), hyper, strict=True):
                    stack.enter_context(o.traced_hyper(h))
            yield
        finally:
            with deferred_interrupts():
                stack.close()
                self.restore(before)

    def read(self, treedefs: tuple) -> list[Any]:
        """The current value of every state slot (inside a trace: tracers).

        A buffer rebound during the step (``self.running_mean = new``) is read
        from its slot."""
        values = [*map(_DATA, self.params)]
        values += [d[n].data for d, n in self.buffer_slots]
        values += [None if t.grad is None else t.grad.data for t in self.tensors]
        for o, (treedef, _) in zip(self.optimizers(), treedefs, strict=True):
            _, state = o.bridge_state()
            values += state if treedef is None else jax.tree.leaves(state)
        return values


def _has_attributes(value: Any) -> bool:
    """An instance holding Python state of its own (not a class, function or
    module object, whose ``__dict__`` is their definition)."""
    return hasattr(value, "__dict__") and not isinstance(
        value, type | types.FunctionType | types.MethodType | types.ModuleType
    )


def _call(ref: weakref.ref) -> Any:
    return ref()


def spread(mask: tuple[bool, ...], donated: list[Any], kept: list[Any]) -> list[Any]:
    """The state slots in order, from ``arrays``' donated and kept lists."""
    donated_, kept_ = iter(donated), iter(kept)
    return [next(donated_) if m else next(kept_) for m in mask]


def output_leaves(out: Any) -> tuple[list[Any], Any, tuple[bool, ...]]:
    leaves, treedef = jax.tree.flatten(out, is_leaf=lambda v: isinstance(v, Tensor))
    mask = tuple(isinstance(v, Tensor) for v in leaves)
    arrays = [v.data if isinstance(v, Tensor) else v for v in leaves]
    return arrays, treedef, mask
