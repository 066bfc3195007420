"""``lucid_fx.compile``: one XLA program where the user wrote eager code.

On a module, the whole forward becomes one taped op (one compiled forward and
one compiled backward per input signature). On a function (a training step),
the Modules, optimizers and Tensors reachable from its arguments are state: the
function is traced once per signature with their arrays as inputs (tape,
backward and optimizer update inside the trace), runs as one XLA program, and
the new arrays are written back after each call.
"""

from __future__ import annotations

import functools
import operator
import warnings
from collections.abc import Callable, Hashable
from typing import Any

import jax

from lucid_fx._tensor import Tensor, _tape, lift
from lucid_fx.nn import Module
from lucid_fx.transforms._functionalize import swapped
from lucid_fx.transforms._signature import module_structure
from lucid_fx.transforms._state import Collected, output_leaves

_UNTRACEABLE = (
    jax.errors.ConcretizationTypeError,
    jax.errors.TracerArrayConversionError,
    jax.errors.TracerIntegerConversionError,
)
_MSG_FALLBACK = (
    "lucid_fx.compile: {name} uses Python control flow on tensor values and "
    "cannot be traced into one XLA program ({error}). Falling back to the eager "
    "path for it; results are the same, only slower."
)
_MSG_TARGET = (
    "compile: expected an nn.Module or a callable, got {kind}. Use "
    "lucid_fx.compile(model) or @lucid_fx.compile on a training step function."
)


def compile(target: Any) -> Any:  # noqa: A001
    """Compile a module's forward, or a whole eager training step, with XLA.

    Args:
      target: an ``nn.Module`` (returns a callable sharing its Parameters), or a
        function taking Modules, optimizers, Tensors and hashable constants.

    Returns:
      A ``CompiledModule`` or ``CompiledFunction``.

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
    if isinstance(target, Module):
        return CompiledModule(target)
    if callable(target):
        return CompiledFunction(target)
    raise TypeError(_MSG_TARGET.format(kind=type(target).__name__))


def _warn_fallback(name: str, error: Exception) -> None:
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    warnings.warn(
        _MSG_FALLBACK.format(name=name, error=type(error).__name__ + ": " + first_line),
        RuntimeWarning,
        stacklevel=3,
    )


# ------------------------------------------------------------------ modules


def _run_module(*arrays: jax.Array, module: Module, signature: Hashable) -> Any:
    parameters = dict(module.named_parameters())
    n = len(parameters)
    with swapped(parameters, dict(zip(parameters, arrays[:n], strict=True))):
        return module(*arrays[n:])


_module_op = lift(_run_module, "compiled_module")


class CompiledModule:
    """A module whose whole forward runs as one XLA program and one tape node.

    It shares the module's Parameters, so optimizers built on
    ``module.parameters()`` keep working, and ``backward()`` fills the same
    ``.grad``\\ s as the eager path. Config changes, ``train()``/``eval()``,
    replaced sub-modules or Parameters and loaded state dicts are all seen by
    the next call. The forward must return one array.

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
        # The signature is static so config or mode changes retrace here too.
        self._jitted_apply = jax.jit(self._apply, static_argnames=("signature",))

    def _apply(
        self, params: dict[str, jax.Array], *args: jax.Array, signature: Hashable
    ) -> Any:
        with swapped(dict(self.module.named_parameters()), params):
            return self.module(*args)

    def __call__(self, *args: Any) -> Any:
        if self.eager:
            return self.module(*args)
        params = dict(self.module.named_parameters())
        signature = (module_structure(self.module)[0], tuple(params), len(args))
        try:
            if not any(isinstance(a, Tensor) for a in args):
                arrays = {k: p.data for k, p in params.items()}
                return self._jitted_apply(arrays, *args, signature=signature)
            return _module_op(
                *params.values(), *args, module=self.module, signature=signature
            )
        except _UNTRACEABLE as error:
            _warn_fallback(type(self.module).__name__, error)
            self.eager = True
            return self.module(*args)

    def __repr__(self) -> str:
        return f"CompiledModule({self.module!r})"


# ---------------------------------------------------------------- functions


class CompiledFunction:
    """A function over Modules, optimizers and Tensors run as one XLA program.

    Each call collects the state reachable from the arguments (parameter data,
    gradients, optimizer states and learning rates, input Tensors), runs the
    program compiled for that signature, and writes the new arrays back.
    Parameters, gradients and optimizer states are donated to XLA so memory is
    not doubled: arrays taken from them before the call (``p.data``) are no
    longer valid after it; ``state_dict()`` returns copies that stay valid.

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

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.eager = False
        self._current: tuple[Collected, tuple, dict] | None = None
        self._last: tuple[Any, ...] | None = None
        self._outputs: dict[Hashable, tuple[Any, tuple[bool, ...], bool]] = {}
        # One jitted program per signature, called with positional arrays only:
        # a static keyword argument costs jit ~8 us per call (measured).
        self._programs: dict[Hashable, Callable[..., Any]] = {}
        functools.update_wrapper(self, fn)

    def _pure(self, donated: Any, kept: Any, *, signature: Hashable) -> Any:
        assert self._current is not None, "traced outside __call__"
        state, args, kwargs = self._current
        before = state.snapshot()
        try:
            state.install(donated, kept)
            installed = {id(t): t.data for t in state.input_tensors}
            with _tape.tracking(state.ids()):
                out = self.fn(*args, **kwargs)
            new_donated = state.donated()
            changed = [
                None if t.data is installed[id(t)] else t.data
                for t in state.input_tensors
            ]
        finally:
            state.restore(before)
        arrays, treedef, mask = output_leaves(out)
        # A lone Tensor (the usual loss) skips the pytree rebuild at each call.
        single = treedef.num_nodes == 1 and mask == (True,)
        self._outputs[signature] = (treedef, mask, single)
        # Gradients the step drops (zero_grad at its end) leave through an
        # output all the same, to be discarded: a donated buffer with no output
        # of its shape makes JAX warn, and passing it through costs nothing
        # (XLA aliases it).
        dropped = [
            old
            for old, new in zip(donated[1], new_donated[1], strict=True)
            if old is not None and new is None
        ]
        return new_donated, changed, arrays, dropped

    def _collect(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Collected:
        """The state of this call; reused when the same objects come again and
        no Module attribute changed (the common training-loop case)."""
        last = self._last
        if (
            last is not None
            and last[0] == Module.structure_version
            and len(last[1]) == len(args)
            and all(map(operator.is_, last[1], args))
            and last[2].keys() == kwargs.keys()
            and all(kwargs[k] is last[2][k] for k in kwargs)
        ):
            return last[3]
        state = Collected(args, kwargs)
        self._last = (Module.structure_version, args, kwargs, state)
        return state

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.eager:
            return self.fn(*args, **kwargs)
        state = self._collect(args, kwargs)
        signature = state.signature()
        program = self._programs.get(signature)
        if program is None:
            # keep_unused: the old gradients are usually never read (zero_grad
            # comes first), but kept as arguments they are donated and XLA
            # writes the new gradients into them instead of allocating.
            program = self._programs[signature] = jax.jit(
                functools.partial(self._pure, signature=signature),
                donate_argnums=0,
                keep_unused=True,
            )
        self._current = (state, args, kwargs)
        try:
            new_donated, changed, arrays, _ = program(state.donated(), state.kept())
        except _UNTRACEABLE as error:
            _warn_fallback(getattr(self.fn, "__name__", "the function"), error)
            self.eager = True
            return self.fn(*args, **kwargs)
        finally:
            self._current = None
        state.put(new_donated, changed)
        treedef, mask, single = self._outputs[signature]
        if single:
            return Tensor._wrap(arrays[0])
        leaves = [
            Tensor._wrap(a) if m else a for a, m in zip(arrays, mask, strict=True)
        ]
        return jax.tree.unflatten(treedef, leaves)

    def __repr__(self) -> str:
        return f"CompiledFunction({getattr(self.fn, '__name__', self.fn)!r})"
