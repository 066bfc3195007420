"""Optimizer state dicts in PyTorch's layout, loaded all or nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx._tensor import Tensor
from lucid_fx._tensor._convert import snapshot
from lucid_fx._tensor._donation import deferred_interrupts

_MSG_LOAD = (
    "{api}.load_state_dict: the state dict does not fit this optimizer; nothing "
    "was changed:\n  {problems}"
)


class StateDictMixin:
    """``state_dict`` and ``load_state_dict`` over param groups and states."""

    param_groups: list[dict[str, Any]]
    params: list[Tensor]
    _HIDDEN: tuple[str, ...]
    _FILLED_ON_LOAD: dict[str, Any]
    defaults: dict[str, Any]
    _states: list[dict[str, Any]]
    _hyper_cache: list[tuple[Any, dict[str, Any]]]
    _lock: Any

    def _check_group(self, group: dict[str, Any]) -> None:
        raise NotImplementedError

    def _init_state(self, group: Mapping[str, Any], p: Any) -> dict[str, Any]:
        raise NotImplementedError

    def _states_for_options(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """The optimizer state in PyTorch's layout.

        ``{"state": {index: {name: array}}, "param_groups": [{**options,
        "params": [index, ...]}]}``, parameters numbered across groups in
        order. Only parameters that have taken a step have state, as in
        PyTorch. The arrays are the optimizer's own (not copies): while you
        hold them, steps do not donate those buffers. Each state has the
        entries its group's options call for now, as the next step will use
        them: an option turned on since the last step (RMSprop's
        ``centered``) shows its fresh buffer, one turned off shows none.

        Examples:
          >>> from lucid_fx import Tensor
          >>> from lucid_fx import optim
          >>> from lucid_fx.nn import Parameter
          >>> w = Parameter([1.0, -1.0])
          >>> opt = optim.Adam([w], lr=0.5)
          >>> w.grad = Tensor([1.0, 1.0])
          >>> opt.step()
          >>> sd = opt.state_dict()
          >>> sorted(sd["state"][0]), sd["state"][0]["step"].item()
          (['exp_avg', 'exp_avg_sq', 'step'], 1.0)
          >>> sd["param_groups"][0]["params"], sd["param_groups"][0]["lr"]
          ([0], 0.5)
        """
        with self._lock:
            states = self._states_for_options()
            steps = jax.device_get([s.get("step") for s in states])
            state = {
                i: {n: v for n, v in s.items() if n not in self._HIDDEN}
                for i, (s, step) in enumerate(zip(states, steps, strict=True))
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
          >>> from lucid_fx import Tensor
          >>> from lucid_fx import optim
          >>> from lucid_fx.nn import Parameter
          >>> w = Parameter([1.0])
          >>> opt = optim.SGD([w], lr=0.5, momentum=0.5)
          >>> w.grad = Tensor([2.0])
          >>> opt.step()
          >>> fresh = optim.SGD([Parameter([1.0])], lr=0.125, momentum=0.5)
          >>> fresh.load_state_dict(opt.state_dict())
          >>> fresh.lr, fresh.state[0]["momentum_buffer"].tolist()
          (0.5, [2.0])
        """
        api = type(self).__name__
        if (
            not isinstance(state_dict, Mapping)
            or not {"state", "param_groups"} <= set(state_dict)
            or not isinstance(state_dict["state"], Mapping)
            or not isinstance(state_dict["param_groups"], list | tuple)
        ):
            got = type(state_dict).__name__
            if isinstance(state_dict, Mapping):
                got = "a dict with " + (
                    ", ".join(
                        f"{k!r}: {type(v).__name__}" for k, v in state_dict.items()
                    )
                    or "no keys"
                )
            raise TypeError(
                f"{api}.load_state_dict: expected a dict with 'state' and "
                f"'param_groups' (a dict and a list, from state_dict()); got {got}."
            )
        groups, states = self._plan_load(state_dict)
        with self._lock, deferred_interrupts():
            for group, new in zip(self.param_groups, groups, strict=True):
                group.clear()
                group.update(new)
            self._states = states
            self._hyper_cache = [(None, {}) for _ in self.param_groups]
            self._view = None

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
            for name, value in self._FILLED_ON_LOAD.items():
                new.setdefault(name, value)
            missing = [n for n in self.defaults if n not in new]
            if len(saved.get("params", ())) != len(group["params"]):
                problems.append(
                    f"param_groups[{k}] has {len(saved.get('params', ()))} "
                    f"parameters, this optimizer's has {len(group['params'])}"
                )
            try:
                if missing:
                    raise ValueError(
                        f"no option {missing} (expected {list(self.defaults)})"
                    )
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
                out[name] = snapshot(value, fresh[name].dtype)
        return out


def _index(key: Any) -> Any:
    if isinstance(key, str) and key.isdigit():
        return int(key)
    return key
