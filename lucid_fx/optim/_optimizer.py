"""The optimizer base class: param groups, a compiled step, PyTorch state dicts.

State lives per parameter as a dict of arrays under PyTorch's names
(``exp_avg``, ``momentum_buffer``, ...). A step passes every parameter that has
a gradient, its state and each group's float options (as float32 device
scalars, so a scheduler changing ``lr`` never recompiles) to one jitted
program built from the subclass's ``_update`` rule.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx._tensor import Tensor, _tape
from lucid_fx._tensor._donation import deferred_interrupts, donatable

_MSG_OVERLAP = (
    "{api}: params[{i}] of the new group is already in another parameter group; "
    "each parameter may belong to one group only."
)
_MSG_LOAD = (
    "{api}.load_state_dict: the state dict does not fit this optimizer; nothing "
    "was changed:\n  {problems}"
)


def check_number(api: str, name: str, value: Any, low: float, high: float) -> float:
    """``value`` as a float in ``[low, high)``, or a TypeError/ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        raise TypeError(
            f"{api}: {name} must be a number, got {type(value).__name__} {value!r}."
        )
    if not (math.isfinite(value) and low <= value < high):
        raise ValueError(
            f"{api}: {name} must be in [{low}, {high}), got {value!r}. Pass a "
            f"finite number in that range."
        )
    return float(value)


def check_flag(api: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(
            f"{api}: {name} must be True or False, got {type(value).__name__} "
            f"{value!r}."
        )
    return value


@functools.partial(jax.jit, static_argnums=(0, 1, 2), donate_argnums=(3,))
def _apply(
    update: Callable,
    statics: tuple[Hashable, ...],
    layout: tuple[tuple[int, tuple[str, ...]], ...],
    donated: list[Any],
    kept: list[Any],
    grads: list[Any],
    hyper: tuple[dict[str, Any], ...],
) -> list[Any]:
    """Apply ``update`` to each live parameter, on flat slot lists.

    ``layout[j] = (group, state names)`` of live parameter ``j``; its slots are
    the parameter then its state arrays, in ``donated`` where the library owns
    the buffer and in ``kept`` (``None`` in the other list) otherwise.
    """
    # optax mixes int step counts with floats; keep it working when users
    # (and our tests) run JAX with strict dtype promotion.
    with jax.numpy_dtype_promotion("standard"):
        slots = [_either(d, k) for d, k in zip(donated, kept, strict=True)]
        out, at = [], 0
        for g, (k, names) in zip(grads, layout, strict=True):
            p, state = slots[at], dict(zip(names, slots[at + 1 :], strict=False))
            at += 1 + len(names)
            p2, s2 = update(statics[k], hyper[k], p, g, state)
            out.append(p2.astype(p.dtype))
            out.extend(s2[n].astype(state[n].dtype) for n in names)
        return out


def _either(a: Any, b: Any) -> Any:
    return b if a is None else a


class Optimizer:
    """Base class of the optimizers: param groups, ``step``, state dicts.

    A subclass declares ``_FLOATS`` (group options passed to the step as traced
    float32 scalars; ``"betas"`` becomes ``beta1`` and ``beta2``) and defines
    ``_check_group(group)`` (validate and normalise the options),
    ``_static(group)`` (hashable options the update is specialised on),
    ``_init_state(group, p)`` (the state of one parameter before its first
    step) and the pure rule ``_update(static, hyper, p, g, state) -> (p, state)``.

    Args:
      params: an iterable of Parameters, or of dicts ``{"params": [...],
        **options}`` giving per-group options (param groups).
      defaults: the options of a group that does not set them.

    Examples:
      >>> from lucid_fx import optim
      >>> from lucid_fx.nn import Parameter
      >>> a, b = Parameter([1.0]), Parameter([2.0])
      >>> opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.25}], lr=0.5)
      >>> [g["lr"] for g in opt.param_groups]
      [0.5, 0.25]
      >>> a.grad, b.grad = [1.0], [1.0]
      >>> opt.step()
      >>> a.tolist(), b.tolist()
      ([0.5], [1.75])
    """

    _FLOATS: ClassVar[tuple[str, ...]] = ("lr",)
    _HIDDEN: ClassVar[tuple[str, ...]] = ()  # internal state left out of state_dict

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        api = type(self).__name__
        if isinstance(params, Tensor | Mapping):
            raise TypeError(
                f"{api}: params must be an iterable of Parameters or of dicts, got "
                f"a single {type(params).__name__}. Wrap it in a list."
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

    # -- param groups -----------------------------------------------------

    def add_param_group(self, param_group: Mapping[str, Any]) -> None:
        """Add a group of parameters with its own options (others: defaults).

        Raises:
          TypeError: if ``param_group`` is not a dict with a ``"params"`` list
            of Tensors that require grad, or an option has the wrong type.
          ValueError: if an option is out of range or a parameter is already
            in a group.

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
            raise TypeError(
                f"{api}: a param group must be a dict with a 'params' entry, got "
                f"{type(param_group).__name__}."
            )
        group = {**self.defaults, **param_group}
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        unique: list[Tensor] = []
        for i, p in enumerate(params):
            if not isinstance(p, Tensor) or not p.requires_grad:
                raise TypeError(
                    f"{api}: params[{i}] must be a Tensor that requires grad (e.g. "
                    f"a Parameter), got {type(p).__name__}."
                )
            if any(p is q for q in self.params):
                raise ValueError(_MSG_OVERLAP.format(api=api, i=i))
            if not any(p is q for q in unique):  # the same Parameter twice: once
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

    # -- the bridge used by lucid_fx.compile ------------------------------

    def bridge_state(self) -> tuple[tuple[dict[str, jax.Array], ...], list[Any]]:
        """``(hyper, state)``: each group's float options as float32 device
        scalars (made once per value), and the per-parameter state list."""
        hyper = tuple(self._group_hyper(i, g) for i, g in enumerate(self.param_groups))
        return hyper, self._states

    def _group_hyper(self, i: int, group: dict[str, Any]) -> dict[str, jax.Array]:
        key = tuple(group[n] for n in self._FLOATS)
        cached_key, hyper = self._hyper_cache[i]
        if key != cached_key:
            self._check_group(group)  # a user may have written a bad value
            hyper = {}
            for name in self._FLOATS:
                values = group[name] if name == "betas" else (group[name],)
                names = ("beta1", "beta2") if name == "betas" else (name,)
                for n, v in zip(names, values, strict=True):
                    hyper[n] = jnp.asarray(v, jnp.float32)
            self._hyper_cache[i] = (key, hyper)
        return hyper

    def load_bridge_state(self, state: list[Any]) -> None:
        """Rebind the per-parameter state (no validation, no copy)."""
        self._states = state

    @contextlib.contextmanager
    def traced_hyper(self, hyper: tuple[dict[str, Any], ...]) -> Iterator[None]:
        """While active, ``step()`` reads ``hyper`` instead of ``param_groups``."""
        previous, self._traced = self._traced, hyper
        try:
            yield
        finally:
            self._traced = previous

    def bridge_signature(self) -> Hashable:
        """What the update bakes in: class, static options, group sizes."""
        return (
            type(self),
            tuple((len(g["params"]), self._static(g)) for g in self.param_groups),
        )

    # Aliases read by today's lucid_fx.transforms._state; delete after the
    # compile rebuild on the bridge hooks above is merged.
    def _hyper(self) -> Hashable:
        return self.bridge_signature()

    def _lr_scalar(self) -> Any:
        return self.bridge_state()[0] if self._traced is None else self._traced

    @property
    def _lr(self) -> Any:
        return self._traced

    @_lr.setter
    def _lr(self, value: Any) -> None:
        self._traced = value

    _lr_cache = _lr

    @property
    def _state_leaves(self) -> list[Any]:
        return jax.tree.leaves(self._states)

    @_state_leaves.setter
    def _state_leaves(self, leaves: list[Any]) -> None:
        treedef = jax.tree.structure(self._states)
        self._states = jax.tree.unflatten(treedef, list(leaves))

    # -- steps ------------------------------------------------------------

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients: ``None`` (default) or zeros of the same shape.

        Examples:
          >>> from lucid_fx import optim
          >>> from lucid_fx.nn import Parameter
          >>> w = Parameter([1.0, 2.0])
          >>> opt = optim.SGD([w], lr=0.5)
          >>> w.grad = [3.0, 4.0]
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
        api = type(self).__name__
        _tape.check_writable(self, self._birth, f"a {api} optimizer")
        live, groups = [], []
        i = 0
        for k, group in enumerate(self.param_groups):
            for p in group["params"]:
                if p.grad is not None:
                    _tape.check_writable(p, p._birth, f"a parameter of shape {p.shape}")
                    live.append(i)
                    groups.append(k)
                i += 1
        if not live:
            return
        hyper = self._traced if self._traced is not None else self.bridge_state()[0]
        statics = tuple(self._static(g) for g in self.param_groups)
        if statics != self._statics:
            self._reconcile_states()
            self._statics = statics
        donated: list[Any] = []
        kept: list[Any] = []
        layout = []
        for i, k in zip(live, groups, strict=True):
            p, s = self.params[i], self._states[i]
            layout.append((k, tuple(s)))
            # donatable() before the buffer is put anywhere: a list holding it
            # is one more reference and would make it look shared.
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
        with deferred_interrupts():
            new = _apply(update, statics, tuple(layout), donated, kept, grads, hyper)
            at = 0
            for i, (_, names) in zip(live, layout, strict=True):
                self.params[i].data = new[at]
                self._states[i] = dict(zip(names, new[at + 1 :], strict=False))
                at += 1 + len(names)

    def _reconcile_states(self) -> None:
        """Give each parameter the state its group's options now call for
        (e.g. ``momentum`` turned on mid-run starts a buffer, as PyTorch)."""
        i = 0
        for group in self.param_groups:
            names = set(self._init_state(group, jnp.zeros(())))  # names only
            for p in group["params"]:
                if names != set(self._states[i]):
                    old = self._states[i]
                    fresh = self._init_state(group, p.data)
                    self._states[i] = {n: old.get(n, v) for n, v in fresh.items()}
                i += 1

    # -- state dicts ------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The optimizer state in PyTorch's layout.

        ``{"state": {index: {name: array}}, "param_groups": [{**options,
        "params": [index, ...]}]}``, parameters numbered across groups in
        order. Only parameters that have taken a step have state, as in
        PyTorch. The arrays are the optimizer's own (not copies): while you
        hold them, steps do not donate those buffers.

        Examples:
          >>> from lucid_fx import optim
          >>> from lucid_fx.nn import Parameter
          >>> w = Parameter([1.0, -1.0])
          >>> opt = optim.Adam([w], lr=0.5)
          >>> w.grad = [1.0, 1.0]
          >>> opt.step()
          >>> sd = opt.state_dict()
          >>> sorted(sd["state"][0]), sd["state"][0]["step"].item()
          (['exp_avg', 'exp_avg_sq', 'step'], 1.0)
          >>> sd["param_groups"][0]["params"], sd["param_groups"][0]["lr"]
          ([0], 0.5)
        """
        with self._lock:
            steps = jax.device_get([s.get("step") for s in self._states])
            state = {
                i: {n: v for n, v in s.items() if n not in self._HIDDEN}
                for i, (s, step) in enumerate(zip(self._states, steps, strict=True))
                if step is not None and step > 0
            }
            groups, start = [], 0
            for group in self.param_groups:
                n = len(group["params"])
                saved = {k: v for k, v in group.items() if k != "params"}
                groups.append({**saved, "params": list(range(start, start + n))})
                start += n
            return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Load a :meth:`state_dict` (ours or PyTorch's); all or nothing.

        The group options (``lr``, ...) are taken from the state dict, as in
        PyTorch; arrays are copied to each parameter's dtype. Every problem
        (group count or sizes, a bad option, missing, unexpected or mis-shaped
        state) is reported in one error and nothing changes.

        Raises:
          TypeError: if ``state_dict`` is not a mapping with ``"state"`` and
            ``"param_groups"``.
          ValueError: listing every mismatch.

        Examples:
          >>> from lucid_fx import optim
          >>> from lucid_fx.nn import Parameter
          >>> w = Parameter([1.0])
          >>> opt = optim.SGD([w], lr=0.5, momentum=0.5)
          >>> w.grad = [2.0]
          >>> opt.step()
          >>> fresh = optim.SGD([Parameter([1.0])], lr=0.125, momentum=0.5)
          >>> fresh.load_state_dict(opt.state_dict())
          >>> fresh.lr, fresh.state[0]["momentum_buffer"].tolist()
          (0.5, [2.0])
        """
        api = type(self).__name__
        if not isinstance(state_dict, Mapping) or not {
            "state",
            "param_groups",
        } <= set(state_dict):
            raise TypeError(
                f"{api}.load_state_dict: expected a dict with 'state' and "
                f"'param_groups' (from state_dict()), got "
                f"{type(state_dict).__name__}."
            )
        groups, states = self._plan_load(state_dict)
        with self._lock, deferred_interrupts():
            for group, new in zip(self.param_groups, groups, strict=True):
                group.clear()
                group.update(new)
            self._states = states
            self._hyper_cache = [(None, {}) for _ in self.param_groups]

    def _plan_load(
        self, state_dict: Mapping[str, Any]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        api = type(self).__name__
        problems: list[str] = []
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                _MSG_LOAD.format(
                    api=api,
                    problems=f"{len(saved_groups)} param groups, this optimizer "
                    f"has {len(self.param_groups)}",
                )
            )
        groups, shapes = [], []
        for k, (saved, group) in enumerate(
            zip(saved_groups, self.param_groups, strict=True)
        ):
            new = {n: v for n, v in dict(saved).items() if n != "params"}
            new["params"] = group["params"]
            if len(saved.get("params", ())) != len(group["params"]):
                problems.append(
                    f"param_groups[{k}] has {len(saved.get('params', ()))} "
                    f"parameters, this optimizer's has {len(group['params'])}"
                )
            try:
                self._check_group(new)
                shapes.append(new)
            except (TypeError, ValueError) as e:
                problems.append(f"param_groups[{k}]: {e}")
                shapes.append(group)  # still check the state against ours
            groups.append(new)
        entries = {_index(i): v for i, v in dict(state_dict["state"]).items()}
        unknown = sorted(set(entries) - set(range(len(self.params))), key=str)
        if unknown:
            problems.append(f"state for parameter indices {unknown} that do not exist")
        states = []
        sizes = [len(s.get("params", ())) for s in saved_groups]
        if sizes == [len(g["params"]) for g in self.param_groups]:
            owners = [g for g in shapes for _ in g["params"]]
            for i, (p, group) in enumerate(zip(self.params, owners, strict=True)):
                states.append(self._load_entry(i, p, group, entries, problems))
        if problems:
            raise ValueError(_MSG_LOAD.format(api=api, problems="\n  ".join(problems)))
        return groups, states

    def _load_entry(
        self,
        i: int,
        p: Tensor,
        group: dict[str, Any],
        entries: dict[Any, Any],
        problems: list[str],
    ) -> dict[str, Any]:
        fresh = self._init_state(group, p.data)
        if i not in entries:
            return fresh
        # Older PyTorch stored momentum_buffer=None for SGD without momentum.
        entry = {k: v for k, v in dict(entries[i]).items() if v is not None}
        if not entry and not set(fresh) - set(self._HIDDEN):
            return fresh
        want = set(fresh) - set(self._HIDDEN)
        if set(entry) != want:
            problems.append(f"state[{i}] has {sorted(entry)}, expected {sorted(want)}")
            return fresh
        out = dict(fresh)
        if "step" in self._HIDDEN and "step" in fresh:
            out["step"] = jnp.ones((), jnp.float32)  # it has stepped
        for name in sorted(want):
            value = np.asarray(jax.device_get(entry[name]))
            if value.shape != fresh[name].shape:
                problems.append(
                    f"state[{i}][{name!r}] has shape {value.shape}, expected "
                    f"{fresh[name].shape}"
                )
            else:
                out[name] = jnp.array(value, fresh[name].dtype)
        return out


def _index(key: Any) -> Any:
    if isinstance(key, str) and key.isdigit():
        return int(key)
    return key
