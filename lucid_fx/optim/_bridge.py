"""The hooks ``lucid_fx.compile`` drives an optimizer through."""

from __future__ import annotations

import contextlib
from collections.abc import Hashable, Iterator
from typing import Any

import jax
import jax.numpy as jnp

from lucid_fx._tensor._config import ENABLE_X64


def _value(option: Any) -> Any:
    """An option as a cache key compares it: a list (``betas``) by its
    contents, so a list edited in place and assigned again is a new value
    (the key would otherwise hold the very list and compare equal to it)."""
    return tuple(option) if type(option) is list else option


class BridgeMixin:
    """``bridge_state``, ``bridge_view``, ``load_bridge_state``,
    ``traced_hyper`` and ``bridge_signature`` over an optimizer's param groups
    and states."""

    param_groups: list[dict[str, Any]]
    _FLOATS: tuple[str, ...]
    _states: list[dict[str, Any]]
    _hyper_cache: list[tuple[Any, dict[str, Any]]]
    _traced: tuple[dict[str, Any], ...] | None
    defaults: dict[str, Any]
    # (every group's options, hyper, signature) of the last ``bridge_view``
    _view: tuple[list[Any], tuple[dict[str, jax.Array], ...], Hashable] | None = None

    def _check_group(self, group: dict[str, Any]) -> None:
        raise NotImplementedError

    def _static(self, group: dict[str, Any]) -> Hashable:
        raise NotImplementedError

    def _sync_states(self, statics: tuple[Hashable, ...]) -> None:
        raise NotImplementedError

    def bridge_state(self) -> tuple[tuple[dict[str, jax.Array], ...], list[Any]]:
        """``(hyper, state)``: each group's float options as device scalars
        (made once per value; float64 while JAX's 64-bit types are on, else
        float32; each update casts them to its parameter's arithmetic), and
        the per-parameter state list."""
        hyper = tuple(self._group_hyper(i, g) for i, g in enumerate(self.param_groups))
        return hyper, self._states

    def _group_hyper(self, i: int, group: dict[str, Any]) -> dict[str, jax.Array]:
        wide = ENABLE_X64.value
        key = (wide, *[_value(group[n]) for n in self._FLOATS])
        cached_key, hyper = self._hyper_cache[i]
        if key != cached_key:
            self._check_group(group)  # a user may have written a bad value
            hyper = {}
            # Concrete even when asked for inside a compile trace (a scheduler
            # stepped in the step): a cached tracer would leak into later calls.
            with jax.ensure_compile_time_eval():
                for name in self._FLOATS:
                    values = group[name] if name == "betas" else (group[name],)
                    names = ("beta1", "beta2") if name == "betas" else (name,)
                    for n, v in zip(names, values, strict=True):
                        hyper[n] = jnp.asarray(v, jnp.float64 if wide else jnp.float32)
            self._hyper_cache[i] = (key, hyper)
        return hyper

    def bridge_view(
        self,
    ) -> tuple[tuple[dict[str, jax.Array], ...], list[Any], Hashable]:
        """``(hyper, state, signature)``: :meth:`bridge_state` and
        :meth:`bridge_signature` in one call, what a compiled step reads at
        every call. The hyper and signature are remade only when a group's
        options changed (the value of an option named in ``defaults``, the
        number of parameters, or of groups): a step in a plain loop compares
        one tuple per group. Other keys a user keeps in a group (a name, a
        scheduler's ``initial_lr``) are not compared. When the options
        changed, the states are first made to fit them, as ``step()`` does.

        Examples:
          >>> import lucid_fx.nn as nn
          >>> from lucid_fx import optim
          >>> opt = optim.SGD(nn.Linear(2, 2).parameters(), lr=0.5)
          >>> hyper, state, signature = opt.bridge_view()
          >>> opt.bridge_view()[0] is hyper  # nothing changed: the same scalars
          True
          >>> opt.param_groups[0]["lr"] = 0.25
          >>> float(opt.bridge_view()[0][0]["lr"])
          0.25
        """
        names = self.defaults
        key = [
            (len(g["params"]), *map(_value, map(g.get, names)))
            for g in self.param_groups
        ]
        key.append(ENABLE_X64.value)  # the hyper scalars' dtype
        view = self._view
        if view is None or view[0] != key:
            hyper, _ = self.bridge_state()
            signature = self.bridge_signature()
            # The states the new options call for, before they are read out: a
            # buffer an option no longer needs is not passed (nor donated).
            self._sync_states(tuple(static for _, static in signature[1]))
            view = self._view = (key, hyper, signature)
        return view[1], self._states, view[2]

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
