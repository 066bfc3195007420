"""What a compiled step reads and writes: the state reachable from its arguments."""

from __future__ import annotations

import operator
from collections.abc import Hashable
from typing import Any

import jax
import numpy as np

from lucid_fx._tensor import Tensor
from lucid_fx._tensor._ops import unwrap
from lucid_fx.nn import Module
from lucid_fx.optim import Optimizer
from lucid_fx.transforms._signature import Key, module_structure

# This module runs at every call of a compiled step: map with C-level getters.
_DATA = operator.attrgetter("data")
_REQUIRES_GRAD = operator.attrgetter("requires_grad")


class Collected:
    """The state reachable from one call's arguments, and its signature."""

    def __init__(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.tensors: list[Tensor] = []
        self.optimizers: list[Optimizer] = []
        self._index: dict[int, int] = {}
        self.owned: set[int] = set()  # tensor positions held by modules/optimizers
        described = (
            tuple(self._describe(a) for a in args),
            tuple((k, self._describe(v)) for k, v in kwargs.items()),
        )
        self.structure = Key((described, tuple(sorted(self.owned))))
        # Precomputed splits for the per-call hot path.
        self.owned_tensors = [self.tensors[i] for i in sorted(self.owned)]
        self.input_tensors = [
            t for i, t in enumerate(self.tensors) if i not in self.owned
        ]

    def signature(self) -> Hashable:
        """The structure plus what can change between calls on the same objects.

        Shapes, dtypes and which grads exist are not here: they are the compiled
        program's argument shapes and pytree structure, which jit keys on itself.
        """
        return (
            self.structure,
            tuple(map(_REQUIRES_GRAD, self.tensors)),
            tuple(o._hyper() for o in self.optimizers),
        )

    def _track(self, tensor: Tensor, owned: bool = False) -> int:
        i = self._index.get(id(tensor))
        if i is None:
            i = self._index[id(tensor)] = len(self.tensors)
            self.tensors.append(tensor)
        if owned:
            self.owned.add(i)
        return i

    def _describe(self, value: Any) -> Hashable:
        if isinstance(value, Tensor):
            return ("tensor", self._track(value))
        if isinstance(value, Module):
            signature, parameters = module_structure(value)
            ids = tuple(self._track(p, owned=True) for p in parameters)
            return ("module", signature, ids)
        if isinstance(value, Optimizer):
            self.optimizers.append(value)
            ids = tuple(self._track(p, owned=True) for p in value.params)
            return ("optimizer", type(value), ids)
        if isinstance(value, list | tuple):
            return (type(value).__name__, tuple(self._describe(v) for v in value))
        if isinstance(value, dict):
            return ("dict", tuple((k, self._describe(v)) for k, v in value.items()))
        if isinstance(value, jax.Array | np.ndarray):
            raise TypeError(
                f"compile: got a raw {type(value).__name__} argument of shape "
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
        return ("static", value)

    def ids(self) -> frozenset[int]:
        return frozenset(map(id, [*self.tensors, *self.optimizers]))

    def donated(self) -> tuple[Any, ...]:
        """What a training step replaces: owned data, every grad, optimizer state."""
        owned = list(map(_DATA, self.owned_tensors))
        grads = [None if t._grad is None else t._grad.data for t in self.tensors]
        states = [o._state_leaves for o in self.optimizers]
        return owned, grads, states

    def _inputs(self) -> list[Any]:
        return list(map(_DATA, self.input_tensors))

    def kept(self) -> tuple[Any, ...]:
        """What a step only reads: input tensors and learning rates (traced)."""
        return self._inputs(), [o._lr_scalar() for o in self.optimizers]

    def install(self, donated: tuple[Any, ...], kept: tuple[Any, ...]) -> None:
        """Put a trace's input arrays (tracers) in place of the real state."""
        inputs, lrs = kept
        self.put(donated, inputs)
        for o, lr in zip(self.optimizers, lrs, strict=True):
            o._lr = o._lr_cache = lr

    def snapshot(self) -> tuple[Any, ...]:
        """Everything ``install`` overwrites, as it is."""
        lrs = [(o._lr, o._lr_cache) for o in self.optimizers]
        return self.donated(), self._inputs(), lrs

    def restore(self, snapshot: tuple[Any, ...]) -> None:
        donated, inputs, lrs = snapshot
        self.put(donated, inputs)
        for o, (lr, cache) in zip(self.optimizers, lrs, strict=True):
            o._lr, o._lr_cache = lr, cache

    def put(self, donated: tuple[Any, ...], inputs: list[Any]) -> None:
        """Rebind the state to these arrays; an input given as ``None`` keeps
        its data (a compiled step returns ``None`` for inputs it left alone)."""
        owned, grads, states = donated
        for t, data in zip(self.owned_tensors, owned, strict=True):
            t.data = data
        for t, data in zip(self.input_tensors, inputs, strict=True):
            if data is not None:
                t.data = data
        for t, g in zip(self.tensors, grads, strict=True):
            t._grad = None if g is None else Tensor._wrap(g)
        for o, state in zip(self.optimizers, states, strict=True):
            o._state_leaves = list(state)


def output_leaves(out: Any) -> tuple[list[Any], Any, tuple[bool, ...]]:
    leaves, treedef = jax.tree.flatten(out, is_leaf=lambda v: isinstance(v, Tensor))
    mask = tuple(isinstance(v, Tensor) for v in leaves)
    arrays = [unwrap(v) for v in leaves]
    return arrays, treedef, mask
