"""The optimizer base class: param groups and an all-or-nothing compiled step.

State lives per parameter as a dict of arrays under PyTorch's names
(``exp_avg``, ``momentum_buffer``, ...). A step passes every parameter that has
a gradient, its state and each group's float options (as device scalars,
float64 while JAX's 64-bit types are on, else float32, so a scheduler changing
``lr`` never recompiles) to one jitted program built from the subclass's
``_update`` rule.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from lucid_fx._tensor import Tensor, _tape
from lucid_fx._tensor._donation import deferred_interrupts, donatable
from lucid_fx.optim._bridge import BridgeMixin
from lucid_fx.optim._checks import check_number
from lucid_fx.optim._state_dict import StateDictMixin
from lucid_fx.optim._ties import live_ties, shared

_MSG_OVERLAP = (
    "{api}: params[{i}] of the new group is already in another parameter group; "
    "each parameter may belong to one group only."
)
_MSG_EDITED = (
    "{api}.step: param_groups[{k}]['params'] was changed in place (a parameter "
    "added, removed or replaced after the optimizer was built). Add parameters "
    "with add_param_group(); to drop or replace some, build a new optimizer."
)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3), donate_argnums=(4,))
def _apply(
    update: Callable,
    statics: tuple[Hashable, ...],
    layout: tuple[tuple[int, tuple[str, ...]], ...],
    ties: tuple[tuple[int, ...], ...],
    donated: list[Any],
    kept: list[Any],
    grads: list[Any],
    hyper: tuple[dict[str, Any], ...],
) -> list[Any]:
    """Apply ``update`` to each live parameter, on flat slot lists.

    ``layout[j] = (group, state names)`` of live parameter ``j``; its slots are
    the parameter then its state arrays, in ``donated`` where the library owns
    the buffer and in ``kept`` (``None`` in the other list) otherwise. Each of
    ``ties`` lists live parameters holding one array (see ``_ties``): each
    member updates the previous member's result, and only the last one's
    comes out (the others' parameter slots are ``None``).
    """
    previous = {j: i for t in ties for i, j in zip(t, t[1:], strict=False)}
    # optax mixes int step counts with floats; keep it working when users
    # (and our tests) run JAX with strict dtype promotion.
    with jax.numpy_dtype_promotion("standard"):
        slots = [_either(d, k) for d, k in zip(donated, kept, strict=True)]
        out, where, at = [], [], 0
        for j, (g, (k, names)) in enumerate(zip(grads, layout, strict=True)):
            p, state = slots[at], dict(zip(names, slots[at + 1 :], strict=False))
            at += 1 + len(names)
            if j in previous:  # tied: update the array as the last update left it
                p, out[where[previous[j]]] = out[where[previous[j]]], None
            p2, s2 = update(statics[k], _hyper_for(hyper[k], p), p, g, state)
            where.append(len(out))
            out.append(p2.astype(p.dtype))
            out.extend(s2[n].astype(state[n].dtype) for n in names)
        return out


def _either(a: Any, b: Any) -> Any:
    return b if a is None else a


def _hyper_for(hyper: dict[str, Any], p: Any) -> dict[str, Any]:
    """The options in ``p``'s arithmetic: float64 for a float64 parameter (as
    PyTorch's Python-float options), else float32 (16-bit parameters update in
    float32, as PyTorch's opmath)."""
    wide = jnp.dtype(p.dtype) in (jnp.dtype(jnp.float64), jnp.dtype(jnp.complex128))
    dtype = jnp.float64 if wide else jnp.float32
    return {n: v if v.dtype == dtype else v.astype(dtype) for n, v in hyper.items()}


class Optimizer(BridgeMixin, StateDictMixin):
    """Base class of the optimizers: param groups, ``step``, state dicts.

    A subclass declares ``_FLOATS`` (group options passed to the step as traced
    scalars in each parameter's arithmetic; ``"betas"`` becomes ``beta1`` and
    ``beta2``) and defines
    ``_check_group(group)`` (validate and normalise the options),
    ``_static(group)`` (hashable options the update is specialised on),
    ``_init_state(group, p)`` (the state of one parameter before its first
    step) and the pure rule ``_update(static, hyper, p, g, state) -> (p, state)``.

    Args:
      params: an iterable of Parameters, or of dicts ``{"params": [...],
        **options}`` giving per-group options (param groups).
      defaults: the options of a group that does not set them.

    Examples:
      >>> from lucid_fx import Tensor
      >>> from lucid_fx import optim
      >>> from lucid_fx.nn import Parameter
      >>> a, b = Parameter([1.0]), Parameter([2.0])
      >>> opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.25}], lr=0.5)
      >>> [g["lr"] for g in opt.param_groups]
      [0.5, 0.25]
      >>> a.grad, b.grad = Tensor([1.0]), Tensor([1.0])
      >>> opt.step()
      >>> a.tolist(), b.tolist()
      ([0.5], [1.75])
    """

    _FLOATS: ClassVar[tuple[str, ...]] = ("lr",)
    _HIDDEN: ClassVar[tuple[str, ...]] = ()  # internal state left out of state_dict
    # Options PyTorch's __setstate__ fills in when a loaded group lacks them
    # (a checkpoint older than the option), with its fixed values.
    _FILLED_ON_LOAD: ClassVar[dict[str, Any]] = {"maximize": False}

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        api = type(self).__name__
        if isinstance(params, Tensor | Mapping):
            raise TypeError(
                f"{api}: params must be an iterable of Parameters or of dicts, got "
                f"a single {type(params).__name__}. Wrap it in a list."
            )
        if not isinstance(params, Iterable):
            raise TypeError(
                f"{api}: params must be an iterable of Parameters or of dicts "
                f"(model.parameters()), got {type(params).__name__}."
            )
        params = list(params)
        if not params:
            raise ValueError(
                f"{api}: got an empty parameter list. Pass model.parameters() of a "
                f"model that has parameters."
            )
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.params: list[Tensor] = []
        self._states: list[dict[str, Any]] = []
        self._hyper_cache: list[tuple[Any, dict[str, Any]]] = []
        self._traced: tuple[dict[str, Any], ...] | None = None
        self._statics: Any = None  # the options the states were made for
        self._lock = threading.RLock()
        self._birth = _tape.stamp()
        groups = params if isinstance(params[0], Mapping) else [{"params": params}]
        for group in groups:
            self.add_param_group(group)

    # -- copies ------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        """What ``pickle`` and ``copy.deepcopy`` keep: everything but the lock
        (a copy gets its own), as PyTorch's optimizers pickle."""
        state = dict(self.__dict__)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()
        self._birth = _tape.stamp()

    # -- param groups -----------------------------------------------------

    def add_param_group(self, param_group: Mapping[str, Any]) -> None:
        """Add a group of parameters with its own options (others: defaults).

        Raises:
          TypeError: if ``param_group`` is not a dict with a ``"params"`` list
            of Tensors, or an option has the wrong type.
          ValueError: if an option is out of range, a parameter is not a leaf
            tensor, or is already in a group.

        Examples:
          >>> from lucid_fx import optim
          >>> from lucid_fx.nn import Parameter
          >>> opt = optim.SGD([Parameter([1.0])], lr=0.5)
          >>> opt.add_param_group({"params": [Parameter([2.0])], "lr": 0.125})
          >>> [(len(g["params"]), g["lr"]) for g in opt.param_groups]
          [(1, 0.5), (1, 0.125)]
        """
        api = type(self).__name__
        if not isinstance(param_group, Mapping) or "params" not in param_group:
            got = (
                f"a dict without one (keys {sorted(map(str, param_group))})"
                if isinstance(param_group, Mapping)
                else type(param_group).__name__
            )
            raise TypeError(
                f"{api}: a param group must be a dict with a 'params' entry, got {got}."
            )
        group = {**self.defaults, **param_group}
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        unique: list[Tensor] = []
        taken = {id(q) for q in self.params}
        seen: set[int] = set()
        for i, p in enumerate(params):
            # As PyTorch: any leaf Tensor; one that does not require grad
            # (a frozen layer) gets no grad, so steps leave it alone.
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{api}: params[{i}] must be a Tensor (e.g. a Parameter), got "
                    f"{type(p).__name__}."
                )
            if not p.is_leaf:
                raise ValueError(
                    f"{api}: params[{i}] is not a leaf tensor (it is the result of "
                    f"recorded ops); an optimizer updates leaves such as Parameters."
                )
            if id(p) in taken:
                raise ValueError(_MSG_OVERLAP.format(api=api, i=i))
            if id(p) not in seen:  # the same Parameter twice: updated once
                seen.add(id(p))
                unique.append(p)
        group["params"] = unique
        self._check_group(group)
        with self._lock:
            self.param_groups.append(group)
            self.params.extend(unique)
            self._states.extend(self._init_state(group, p.data) for p in unique)
            self._hyper_cache.append((None, {}))

    def _check_group(self, group: dict[str, Any]) -> None:
        group["lr"] = check_number(type(self).__name__, "lr", group["lr"], 0, math.inf)

    def _static(self, group: Mapping[str, Any]) -> Hashable:
        return ()

    def _init_state(self, group: Mapping[str, Any], p: Any) -> dict[str, Any]:
        raise NotImplementedError

    @staticmethod
    def _update(
        static: Any, hyper: dict[str, Any], p: Any, g: Any, state: dict[str, Any]
    ) -> tuple[Any, dict[str, Any]]:
        raise NotImplementedError

    @property
    def lr(self) -> float:
        """The first group's learning rate; assigning sets every group's."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        value = check_number(type(self).__name__, "lr", value, 0.0, math.inf)
        for group in self.param_groups:
            group["lr"] = value

    @property
    def state(self) -> tuple[dict[str, jax.Array], ...]:
        """Each parameter's state (name -> array), in ``params`` order.

        A snapshot: assigning to it or its dicts changes nothing; use
        :meth:`load_state_dict` to set state.
        """
        return tuple(dict(s) for s in self._states)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients: ``None`` (default) or zeros of the same shape.

        Examples:
          >>> from lucid_fx import Tensor
          >>> from lucid_fx import optim
          >>> from lucid_fx.nn import Parameter
          >>> w = Parameter([1.0, 2.0])
          >>> opt = optim.SGD([w], lr=0.5)
          >>> w.grad = Tensor([3.0, 4.0])
          >>> opt.zero_grad(set_to_none=False)
          >>> w.grad.tolist()
          [0.0, 0.0]
          >>> opt.zero_grad()
          >>> w.grad is None
          True
        """
        with self._lock:
            for p in self.params:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad = jnp.zeros_like(p.grad.data)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient (others are skipped).

        All or nothing: the new parameters and states are computed first and
        installed together with Ctrl-C held back, so an interrupt or an error
        leaves every parameter and state readable, all old or all new. A
        lock serialises steps and state loads from several threads.

        Args:
          closure: optional function that recomputes the loss (called first,
            its result returned), as in PyTorch.

        Returns:
          What ``closure`` returned, or ``None``.
        """
        loss = None if closure is None else closure()
        with self._lock:
            self._step()
        return loss

    def _step(self) -> None:
        checked = _tape.tracing()
        if checked:
            api = type(self).__name__
            _tape.check_writable(self, self._birth, f"a {api} optimizer")
        live, groups, ids = [], [], []
        i = 0
        params, n = self.params, len(self.params)
        for k, group in enumerate(self.param_groups):
            for p in group["params"]:
                # Each state is the one of self.params[i]: an edited list
                # would update the wrong parameters. (A group or parameters
                # dropped at the end leave the rest aligned: those are simply
                # not updated, as in PyTorch.)
                if i == n or p is not params[i]:
                    raise ValueError(_MSG_EDITED.format(api=type(self).__name__, k=k))
                ids.append(id(p.data))
                if p.grad is not None:
                    if checked:
                        what = f"a parameter of shape {p.shape}"
                        _tape.check_writable(p, p._birth, what)
                    live.append(i)
                    groups.append(k)
                i += 1
        if not live:
            return
        # Parameters tied by .data (one array, several holders): rare, so
        # found by one set of ids and handled only when present.
        tied = shared(ids) if len(set(ids)) != len(ids) else ()
        ties = live_ties(tied, live) if tied else ()
        hyper = self._traced if self._traced is not None else self.bridge_state()[0]
        statics = tuple(self._static(g) for g in self.param_groups)
        self._sync_states(statics)
        donated: list[Any] = []
        kept: list[Any] = []
        layout = []
        for i, k in zip(live, groups, strict=True):
            p, s = self.params[i], self._states[i]
            layout.append((k, tuple(s)))
            # donatable() before the buffer is put anywhere: a list holding it
            # is one more reference and would make it look shared. A tied array
            # has a holder per Parameter, so it is kept, never donated.
            if donatable(p.data):
                donated.append(p.data)
                kept.append(None)
            else:
                donated.append(None)
                kept.append(p.data)
            for n in s:
                if donatable(s[n]):
                    donated.append(s[n])
                    kept.append(None)
                else:
                    donated.append(None)
                    kept.append(s[n])
        grads = [self.params[i].grad.data for i in live]  # type: ignore[union-attr]
        update = type(self)._update
        args = (update, statics, tuple(layout), ties, donated, kept, grads, hyper)
        with deferred_interrupts():
            new = _apply(*args)
            at = 0
            for i, (_, names) in zip(live, layout, strict=True):
                if new[at] is not None:  # None: a tie's member before its last
                    self.params[i].data = new[at]
                self._states[i] = dict(zip(names, new[at + 1 :], strict=False))
                at += 1 + len(names)
            if tied:
                self._retie(tied, set(live))

    def _retie(self, tied: tuple[tuple[int, ...], ...], live: set[int]) -> None:
        """Install each tie's new array (its last live member's) in every
        holder, live or not: they stay one array, as one storage in PyTorch."""
        for members in tied:
            last = next((i for i in reversed(members) if i in live), None)
            if last is None:  # no member had a grad: nothing changed
                continue
            array = self.params[last].data
            for i in members:
                if self.params[i].data is not array:
                    self.params[i].data = array

    def _sync_states(self, statics: tuple[Hashable, ...]) -> None:
        """Give each parameter the state its group's options now call for, if
        those options (``statics``, each group's ``_static``) changed since
        the states were last made for them: e.g. ``momentum`` turned on
        mid-run starts a buffer, as PyTorch; one turned off drops it."""
        if statics != self._statics:
            self._states = self._states_for_options()
            self._statics = statics

    def _states_for_options(self) -> list[dict[str, Any]]:
        """The per-parameter states as the group options call for them: the
        names ``_init_state`` gives, each with its current value where the
        state has one and a fresh one where not. A new list; a state that
        already fits is the same dict."""
        states = list(self._states)
        i = 0
        for group in self.param_groups:
            names = set(self._init_state(group, jnp.zeros(())))  # names only
            for p in group["params"]:
                if names != set(states[i]):
                    old = states[i]
                    fresh = self._init_state(group, p.data)
                    states[i] = {n: old.get(n, v) for n, v in fresh.items()}
                i += 1
        return states
