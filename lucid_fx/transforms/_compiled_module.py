"""``lucid_fx.compile(module)``: a module's whole forward as one taped op."""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Callable, Hashable
from typing import Any

import jax

from lucid_fx._tensor import Tensor, lift
from lucid_fx._tensor._ops import unwrap
from lucid_fx.nn import Module
from lucid_fx.transforms._fallback import UNTRACEABLE, warn_fallback
from lucid_fx.transforms._functionalize import drawing_probe, swapped
from lucid_fx.transforms._signature import (
    Key,
    ProgramCache,
    fingerprint,
    module_dicts,
    module_signature,
    same,
)

_MSG_STATEFUL = (
    "lucid_fx.compile: {name} {why} in training mode, which one compiled "
    "forward cannot carry (it would reuse one dropout mask, or drop the "
    "running-statistics update). Running it eagerly instead; compile the whole "
    "training step (@lucid_fx.compile on a function taking the model) to get "
    "one XLA program that threads both as state."
)


_MSG_OUTPUT = (
    "lucid_fx.compile: {name}.forward returned {what}, but a compiled module "
    "runs as one taped op with one output array. Return one Tensor from "
    "forward, or compile the whole training step instead (@lucid_fx.compile "
    "on a function taking the model), which may return any pytree of Tensors "
    "(e.g. return loss, logits). {name} was left unchanged."
)


def _described(out: Any) -> str:
    if isinstance(out, dict):
        return f"a dict with keys {list(out)}"
    if isinstance(out, tuple | list):
        return f"a {type(out).__name__} of {len(out)} items"
    return f"a {type(out).__name__}"


def _check_output(out: Any, name: str) -> None:
    if not isinstance(out, jax.Array):
        raise TypeError(_MSG_OUTPUT.format(name=name, what=_described(out)))


class _StatefulForward(Exception):
    """The forward drew random numbers while being traced."""


def _alive(ref: weakref.ref) -> Module:
    module = ref()
    if module is None:  # pragma: no cover - only a traced program outliving it
        raise RuntimeError("lucid_fx.compile: the compiled module was freed.")
    return module


class CompiledModule:
    """A module whose whole forward runs as one XLA program and one tape node.

    It shares the module's Parameters, so optimizers built on
    ``module.parameters()`` keep working, and ``backward()`` fills the same
    ``.grad``\\ s as the eager path. Config changes, ``train()``/``eval()``,
    replaced sub-modules or Parameters and loaded state dicts are all seen by
    the next call. Called with Tensors, the forward must return one array
    (it is one taped op); a tuple or dict raises ``TypeError`` (compile the
    whole step on a function instead, which returns any pytree). At most
    ``MAX_PROGRAMS`` signatures are kept (least recently used dropped).

    Examples:
      >>> import lucid_fx
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> model = nn.Sequential(nn.Linear(2, 2), nn.LeakyReLU(0.5))
      >>> fast = lucid_fx.compile(model)
      >>> x = Tensor([[1.0, -1.0]])
      >>> bool((fast(x).numpy() == model(x).numpy()).all())
      True
    """

    def __init__(self, module: Module) -> None:
        self.module = module
        self.eager = False
        self._warned = False
        self._seen: tuple[list[Any], Hashable, dict[str, Any]] | None = None
        name = type(module).__name__
        self._programs = ProgramCache(name)

    def _structure(self) -> tuple[Hashable, dict[str, Any], dict[str, Any]]:
        """The module's signature, parameters and buffers, recomputed only when
        some attribute in its tree was assigned (no global counter)."""
        seen = self._seen
        current = fingerprint(module_dicts(self.module))
        if seen is None or not same(seen[0], current):
            params = dict(self.module.named_parameters())
            buffers = dict(self.module.named_buffers())
            signature = Key(
                (module_signature(self.module), tuple(params), tuple(buffers))
            )
            seen = self._seen = (current, signature, params, buffers)
        return seen[1], seen[2], seen[3]

    def _build(self, signature: Hashable, n_args: int) -> tuple[Callable, Callable]:
        # Parameters and buffers are arguments of the program, never
        # constants: a new running statistic (an eager training batch, a
        # loaded state dict, a ``.data`` write) is read at the next call.
        # The programs reach the module through a weak reference: the eager
        # op ``run`` becomes part of backward plans that global bounded caches
        # keep (``lucid_fx._tensor._fused``), and must not keep the model alive.
        module_ref = weakref.ref(self.module)
        _, params, buffers = self._structure()
        names, buffer_names = list(params), list(buffers)
        n, b = len(names), len(buffer_names)

        def run(*arrays: jax.Array) -> Any:
            module = _alive(module_ref)
            with (
                drawing_probe() as drew,
                swapped(dict(module.named_parameters()), dict(zip(names, arrays))),
                swapped(
                    dict(module.named_buffers()),
                    dict(zip(buffer_names, arrays[n : n + b])),
                ),
            ):
                out = unwrap(module(*arrays[n + b :]))  # a Tensor made inside
                if drew():
                    raise _StatefulForward
            _check_output(out, type(module).__name__)
            return out

        def apply(
            params: dict[str, jax.Array],
            buffers: dict[str, jax.Array],
            *args: jax.Array,
        ) -> Any:
            module = _alive(module_ref)
            with (
                drawing_probe() as drew,
                swapped(dict(module.named_parameters()), params),
                swapped(dict(module.named_buffers()), buffers),
            ):
                out = module(*args)
                if drew():
                    raise _StatefulForward
            return out

        return lift(run, "compiled_module"), jax.jit(apply)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            raise TypeError(
                f"lucid_fx.compile: a compiled {type(self.module).__name__} takes "
                f"positional inputs only, got keyword(s) {sorted(kwargs)}. Pass "
                f"them positionally, or compile the whole step (@lucid_fx.compile "
                f"on a function taking the model), which takes any arguments."
            )
        if self.eager:
            return self.module(*args)
        if self.module.training and any(True for _ in self.module.buffers()):
            return self._go_eager("has buffers", args, permanent=False)
        signature, params, buffers = self._structure()
        key = (signature, len(args))
        op, jitted = self._programs.get(key, lambda: self._build(signature, len(args)))
        try:
            if not any(isinstance(a, Tensor) for a in args):
                return jitted(
                    {k: p.data for k, p in params.items()},
                    {k: t.data for k, t in buffers.items()},
                    *args,
                )
            return op(*params.values(), *buffers.values(), *args)
        except UNTRACEABLE as error:
            warn_fallback(type(self.module).__name__, error)
            self.eager = True
            return self.module(*args)
        except _StatefulForward:
            self._programs.clear()
            return self._go_eager("draws random numbers", args, permanent=True)

    def _go_eager(self, why: str, args: tuple[Any, ...], permanent: bool) -> Any:
        """Run this call eagerly (all calls if ``permanent``), warning once."""
        if not self._warned:
            name = type(self.module).__name__
            warnings.warn(_MSG_STATEFUL.format(name=name, why=why), RuntimeWarning, 3)
            self._warned = True
        self.eager = self.eager or permanent
        return self.module(*args)

    def __repr__(self) -> str:
        return f"CompiledModule({self.module!r})"
