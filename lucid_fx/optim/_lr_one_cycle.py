"""The one-cycle policy."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from lucid_fx.optim._lr_base import (
    LRScheduler,
    _check_optimizer,
    _check_positive_int,
    _per_group,
)
from lucid_fx.optim._optimizer import Optimizer


class OneCycleLR(LRScheduler):
    r"""The one-cycle policy: warm up to ``max_lr``, then anneal far below.

    Over ``total_steps`` steps the rate goes from ``max_lr / div_factor`` to
    ``max_lr`` in the first ``pct_start`` of the steps, then down to
    ``initial_lr / final_div_factor`` (``three_phase``: back to the start
    first), by cosine :math:`e + \tfrac12 (s - e)(1 + \cos \pi p)` or linear
    interpolation in each phase's fraction :math:`p`. With
    ``cycle_momentum``, ``momentum`` (or ``betas[0]``) moves inversely between
    ``max_momentum`` and ``base_momentum``. Like PyTorch, it writes
    ``initial_lr``, ``max_lr``, ``min_lr`` (and the momenta) into the groups.

    Args:
      optimizer: the optimizer.
      max_lr: peak rate, or one per group.
      total_steps: the number of steps; or give ``epochs`` and
        ``steps_per_epoch``.
      epochs: see ``total_steps``.
      steps_per_epoch: see ``total_steps``.
      pct_start: fraction of steps spent warming up. Default ``0.3``.
      anneal_strategy: ``"cos"`` (default) or ``"linear"``.
      cycle_momentum: cycle the momentum too. Default ``True``.
      base_momentum: lowest momentum (or one per group). Default ``0.85``.
      max_momentum: highest momentum (or one per group). Default ``0.95``.
      div_factor: ``initial_lr = max_lr / div_factor``. Default ``25``.
      final_div_factor: ``min_lr = initial_lr / final_div_factor``. Default
        ``1e4``.
      three_phase: warm up, come back down, then anneal. Default ``False``.
      last_epoch: see :class:`LRScheduler`.

    Raises:
      ValueError: on a bad step count, ``pct_start`` outside ``[0, 1]``, an
        unknown ``anneal_strategy``, a per-group list of the wrong length, a
        ``cycle_momentum`` optimizer without momentum, or more steps than
        ``total_steps`` (that ``step()`` changes nothing: not the count, not
        a rate or momentum).

    Examples:
      >>> from lucid_fx import optim
      >>> from lucid_fx.nn import Parameter
      >>> opt = optim.SGD([Parameter([1.0])], lr=1.0, momentum=0.9)
      >>> sched = optim.lr_scheduler.OneCycleLR(
      ...     opt, max_lr=4.0, total_steps=5, pct_start=0.4, div_factor=4.0,
      ...     anneal_strategy="linear", final_div_factor=1.0)
      >>> lrs = [sched.get_last_lr()[0]]
      >>> for _ in range(4):
      ...     sched.step()
      ...     lrs.append(sched.get_last_lr()[0])
      >>> [round(v, 6) for v in lrs], opt.param_groups[0]["momentum"]
      ([1.0, 4.0, 3.0, 2.0, 1.0], 0.95)
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | Sequence[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | Sequence[float] = 0.85,
        max_momentum: float | Sequence[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        api = "OneCycleLR"
        _check_optimizer(api, optimizer)
        if total_steps is not None:
            self.total_steps = _check_positive_int(api, "total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            epochs = _check_positive_int(api, "epochs", epochs)
            per = _check_positive_int(api, "steps_per_epoch", steps_per_epoch)
            self.total_steps = epochs * per
        else:
            raise ValueError(
                f"{api}: pass total_steps, or both epochs and steps_per_epoch."
            )
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError(
                f"{api}: pct_start must be a float in [0, 1], got {pct_start!r}."
            )
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"{api}: anneal_strategy must be 'cos' or 'linear', got "
                f"{anneal_strategy!r}."
            )
        self.anneal_strategy = anneal_strategy
        self._schedule_phases = self._phases(pct_start, three_phase)
        groups = optimizer.param_groups
        max_lrs = _per_group(api, "max_lr", max_lr, len(groups))
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if not {"momentum", "betas"} & set(optimizer.defaults):
                raise ValueError(
                    f"{api}: cycle_momentum=True needs an optimizer with momentum "
                    f"or betas; pass cycle_momentum=False."
                )
            self.use_beta1 = "betas" in optimizer.defaults
            highs = _per_group(api, "max_momentum", max_momentum, len(groups))
            lows = _per_group(api, "base_momentum", base_momentum, len(groups))
        if last_epoch == -1:
            for i, group in enumerate(groups):
                group["initial_lr"] = max_lrs[i] / div_factor
                group["max_lr"] = max_lrs[i]
                group["min_lr"] = group["initial_lr"] / final_div_factor
                if cycle_momentum:
                    self._set_momentum(group, highs[i])
                    group["max_momentum"] = highs[i]
                    group["base_momentum"] = lows[i]
        super().__init__(optimizer, last_epoch)

    def _phases(self, pct_start: float, three_phase: bool) -> list[dict[str, Any]]:
        n = self.total_steps
        warm = float(pct_start * n) - 1
        if three_phase:
            return [
                _phase(warm, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                _phase(
                    float(2 * pct_start * n) - 2,
                    "max_lr",
                    "initial_lr",
                    "base_momentum",
                    "max_momentum",
                ),
                _phase(n - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        return [
            _phase(warm, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
            _phase(n - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
        ]

    def _set_momentum(self, group: dict[str, Any], value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _from_torch(self, state_dict: dict[str, Any]) -> dict[str, Any]:
        # PyTorch 2.x stores the annealing choice as ``_anneal_func_type``.
        if "_anneal_func_type" in state_dict and "anneal_strategy" not in state_dict:
            state_dict["anneal_strategy"] = state_dict.pop("_anneal_func_type")
        return state_dict

    def get_lr(self) -> list[float]:
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(
                f"OneCycleLR: stepped {t} times, but total_steps is "
                f"{self.total_steps}. Pass a larger total_steps."
            )
        lrs = []
        phases = self._schedule_phases
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, phase in enumerate(phases):
                end = phase["end_step"]
                if t <= end or i == len(phases) - 1:
                    pct = (t - start) / (end - start)
                    lr = self._anneal(
                        group[phase["start_lr"]], group[phase["end_lr"]], pct
                    )
                    if self.cycle_momentum:
                        momentum = self._anneal(
                            group[phase["start_momentum"]],
                            group[phase["end_momentum"]],
                            pct,
                        )
                    break
                start = end
            lrs.append(lr)
            if self.cycle_momentum:
                self._set_momentum(group, momentum)
        return lrs


def _phase(end: float, lr0: str, lr1: str, m0: str, m1: str) -> dict[str, Any]:
    return {
        "end_step": end,
        "start_lr": lr0,
        "end_lr": lr1,
        "start_momentum": m0,
        "end_momentum": m1,
    }
