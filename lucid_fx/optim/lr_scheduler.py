"""Learning-rate schedulers, as ``torch.optim.lr_scheduler``.

A scheduler writes ``optimizer.param_groups[i]["lr"]`` (a Python float) at
each :meth:`~LRScheduler.step`, with PyTorch's formulas in PyTorch's order of
float operations, so the sequences are PyTorch's to the last bit. A compiled
step reads the new value as a traced input: no recompilation, never stale.
Call ``scheduler.step()`` after ``optimizer.step()``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lucid_fx.optim._optimizer import Optimizer

__all__ = [
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "OneCycleLR",
    "ReduceLROnPlateau",
    "StepLR",
]


def _check_optimizer(api: str, optimizer: Any) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"{api}: optimizer must be a lucid_fx.optim.Optimizer, got "
            f"{type(optimizer).__name__}."
        )


def _check_positive_int(api: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{api}: {name} must be a positive int, got {value!r}.")
    return value


class LRScheduler:
    """Base class: ``step()``, ``get_last_lr()`` and state dicts.

    A subclass defines ``get_lr()``, the new learning rate of each group
    computed from ``last_epoch`` (the number of ``step()`` calls so far; 0 at
    construction, which takes the first step) and the groups' current rates.

    Args:
      optimizer: the :class:`~lucid_fx.optim.Optimizer` whose ``lr`` to set.
      last_epoch: ``-1`` for a new run (records each group's ``initial_lr``);
        to resume, prefer :meth:`load_state_dict`. Default ``-1``.

    Raises:
      TypeError: if ``optimizer`` is not an Optimizer.
      KeyError: if ``last_epoch >= 0`` and a group has no ``initial_lr``.
    """

    optimizer: Optimizer
    _is_initial = False

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        api = type(self).__name__
        _check_optimizer(api, optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"{api}: param_groups[{i}] has no 'initial_lr', needed to "
                        f"resume at last_epoch={last_epoch}. Load the optimizer's "
                        f"state dict first, or use scheduler.load_state_dict()."
                    )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        raise NotImplementedError

    def step(self) -> None:
        """Advance one step and write each group's new ``lr``."""
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates the last ``step()`` wrote, one per group."""
        return self._last_lr

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer (plain Python values).

        Store it with :func:`lucid_fx.optim.flatten_state_dict`.
        """
        return {k: v for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict`; its keys must be this scheduler's.

        Raises:
          ValueError: naming missing or unexpected keys (nothing changes).
        """
        want = set(self.state_dict())
        got = set(state_dict)
        if got != want:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: missing keys "
                f"{sorted(want - got)}, unexpected keys {sorted(got - want)}. Pass "
                f"the state_dict() of the same scheduler class."
            )
        vars(self).update(state_dict)

    def _lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]


class LambdaLR(LRScheduler):
    r"""``lr = initial_lr * lr_lambda(last_epoch)``.

    Args:
      optimizer: the optimizer.
      lr_lambda: a function of the step count, or one per param group. Not
        part of :meth:`state_dict` (functions are not stored).
      last_epoch: see :class:`LRScheduler`.

    Raises:
      ValueError: if a list has one function per group too few or many.

    Examples:
      >>> from lucid_fx import optim
      >>> from lucid_fx.nn import Parameter
      >>> opt = optim.SGD([Parameter([1.0])], lr=1.0)
      >>> sched = optim.lr_scheduler.LambdaLR(opt, lambda n: 0.5**n)
      >>> for _ in range(2):
      ...     sched.step()
      >>> sched.get_last_lr()
      [0.25]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
        last_epoch: int = -1,
    ) -> None:
        _check_optimizer("LambdaLR", optimizer)
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, list | tuple):
            if len(lr_lambda) != n:
                raise ValueError(
                    f"LambdaLR: expected {n} lr_lambdas (one per param group), "
                    f"got {len(lr_lambda)}."
                )
            lambdas = list(lr_lambda)
        else:
            lambdas = [lr_lambda] * n
        object.__setattr__(self, "_lambdas", lambdas)  # kept out of state_dict
        super().__init__(optimizer, last_epoch)

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in super().state_dict().items() if k != "_lambdas"}

    def get_lr(self) -> list[float]:
        return [
            base * f(self.last_epoch)
            for f, base in zip(self._lambdas, self.base_lrs, strict=True)
        ]


class StepLR(LRScheduler):
    r"""Multiply ``lr`` by ``gamma`` every ``step_size`` steps.

    .. math:: \eta_t = \eta_0 \, \gamma^{\lfloor t / s \rfloor}

    Args:
      optimizer: the optimizer.
      step_size: :math:`s`, a positive int.
      gamma: :math:`\gamma`. Default ``0.1``.
      last_epoch: see :class:`LRScheduler`.

    Examples:
      >>> from lucid_fx import optim
      >>> from lucid_fx.nn import Parameter
      >>> opt = optim.SGD([Parameter([1.0])], lr=1.0)
      >>> sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
      >>> lrs = []
      >>> for _ in range(5):
      ...     sched.step()
      ...     lrs.append(opt.param_groups[0]["lr"])
      >>> lrs
      [1.0, 0.5, 0.5, 0.25, 0.25]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        step_size: int,
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        self.step_size = _check_positive_int("StepLR", "step_size", step_size)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._lrs()
        return [lr * self.gamma for lr in self._lrs()]


class MultiStepLR(LRScheduler):
    r"""Multiply ``lr`` by ``gamma`` at each milestone.

    .. math:: \eta_t = \eta_0 \, \gamma^{\#\{m \in M : m \le t\}}

    Args:
      optimizer: the optimizer.
      milestones: step counts :math:`M` (repeats multiply again).
      gamma: :math:`\gamma`. Default ``0.1``.
      last_epoch: see :class:`LRScheduler`.

    Examples:
      >>> from lucid_fx import optim
      >>> from lucid_fx.nn import Parameter
      >>> opt = optim.SGD([Parameter([1.0])], lr=1.0)
      >>> sched = optim.lr_scheduler.MultiStepLR(opt, [1, 3], gamma=0.5)
      >>> lrs = []
      >>> for _ in range(4):
      ...     sched.step()
      ...     lrs.append(sched.get_last_lr()[0])
      >>> lrs
      [0.5, 0.5, 0.25, 0.25]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Sequence[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        counts: dict[int, int] = {}
        for m in sorted(milestones):
            counts[m] = counts.get(m, 0) + 1
        self.milestones = counts
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return self._lrs()
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [lr * factor for lr in self._lrs()]


class ExponentialLR(LRScheduler):
    r"""Multiply ``lr`` by ``gamma`` at every step: :math:`\eta_t = \eta_0
    \gamma^t`.

    Args:
      optimizer: the optimizer.
      gamma: :math:`\gamma`.
      last_epoch: see :class:`LRScheduler`.

    Examples:
      >>> from lucid_fx import optim
      >>> from lucid_fx.nn import Parameter
      >>> opt = optim.SGD([Parameter([1.0])], lr=1.0)
      >>> sched = optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
      >>> sched.step(); sched.step()
      >>> sched.get_last_lr()
      [0.25]
    """

    def __init__(
        self, optimizer: Optimizer, gamma: float, last_epoch: int = -1
    ) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._lrs()
        return [lr * self.gamma for lr in self._lrs()]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from ``initial_lr`` to ``eta_min`` over ``T_max``
    steps (and back, periodically, as PyTorch).

    .. math::

        \eta_t = \eta_{min} + \tfrac12 (\eta_0 - \eta_{min})
        \left(1 + \cos \tfrac{\pi t}{T_{max}}\right)

    computed recursively from the current ``lr`` as PyTorch does (so a
    changed ``lr`` carries on).

    Args:
      optimizer: the optimizer.
      T_max: half period :math:`T_{max}`, a positive int.
      eta_min: :math:`\eta_{min}`. Default ``0``.
      last_epoch: see :class:`LRScheduler`.

    Examples:
      >>> from lucid_fx import optim
      >>> from lucid_fx.nn import Parameter
      >>> opt = optim.SGD([Parameter([1.0])], lr=1.0)
      >>> sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=2)
      >>> lrs = []
      >>> for _ in range(2):
      ...     sched.step()
      ...     lrs.append(round(sched.get_last_lr()[0], 6))
      >>> lrs
      [0.5, 0.0]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_max: int,  # noqa: N803
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        self.T_max = _check_positive_int("CosineAnnealingLR", "T_max", T_max)
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, period, low = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._lrs()
        if self._step_count == 1 and t > 0:
            return [
                low + (base - low) * (1 + math.cos(t * math.pi / period)) / 2
                for base in self.base_lrs
            ]
        if (t - 1 - period) % (2 * period) == 0:
            return [
                lr + (base - low) * (1 - math.cos(math.pi / period)) / 2
                for base, lr in zip(self.base_lrs, self._lrs(), strict=True)
            ]
        ratio_num = 1 + math.cos(math.pi * t / period)
        ratio_den = 1 + math.cos(math.pi * (t - 1) / period)
        return [ratio_num / ratio_den * (lr - low) + low for lr in self._lrs()]


class LinearLR(LRScheduler):
    r"""Scale ``lr`` by a factor going linearly from ``start_factor`` to
    ``end_factor`` over ``total_iters`` steps.

    .. math::

        \eta_t = \eta_0 \left(f_s + (f_e - f_s) \frac{\min(t, T)}{T}\right)

    (computed recursively from the current ``lr``, as PyTorch).

    Args:
      optimizer: the optimizer.
      start_factor: :math:`f_s \in (0, 1]`. Default ``1/3``.
      end_factor: :math:`f_e \in [0, 1]`. Default ``1``.
      total_iters: :math:`T`, a positive int. Default ``5``.
      last_epoch: see :class:`LRScheduler`.

    Raises:
      ValueError: if a factor is out of range.

    Examples:
      >>> from lucid_fx import optim
      >>> from lucid_fx.nn import Parameter
      >>> opt = optim.SGD([Parameter([1.0])], lr=1.0)
      >>> sched = optim.lr_scheduler.LinearLR(opt, 0.5, total_iters=2)
      >>> lrs = [sched.get_last_lr()[0]]
      >>> for _ in range(3):
      ...     sched.step()
      ...     lrs.append(sched.get_last_lr()[0])
      >>> lrs
      [0.5, 0.75, 1.0, 1.0]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if not 0 < start_factor <= 1:
            raise ValueError(
                f"LinearLR: start_factor must be in (0, 1], got {start_factor!r}."
            )
        if not 0 <= end_factor <= 1:
            raise ValueError(
                f"LinearLR: end_factor must be in [0, 1], got {end_factor!r}."
            )
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = _check_positive_int("LinearLR", "total_iters", total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, fs, fe = self.last_epoch, self.start_factor, self.end_factor
        if t == 0:
            return [lr * fs for lr in self._lrs()]
        if self._is_initial or t > self.total_iters:
            return self._lrs()
        factor = 1.0 + (fe - fs) / (self.total_iters * fs + (t - 1) * (fe - fs))
        return [lr * factor for lr in self._lrs()]


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
        ``total_steps``.

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


def _per_group(api: str, name: str, value: Any, n: int) -> list[float]:
    if isinstance(value, list | tuple):
        if len(value) != n:
            raise ValueError(
                f"{api}: expected {n} values of {name} (one per param group), got "
                f"{len(value)}."
            )
        return list(value)
    return [value] * n


class ReduceLROnPlateau:
    r"""Cut ``lr`` by ``factor`` when a metric stops improving.

    ``step(metric)`` counts steps without improvement (better than the best
    by ``threshold``, relative or absolute); after more than ``patience`` of
    them each group's rate becomes :math:`\max(\eta \cdot f, \eta_{min})` (if
    that changes it by more than ``eps``), then ``cooldown`` steps are
    ignored.

    Args:
      optimizer: the optimizer.
      mode: ``"min"`` (default) or ``"max"``.
      factor: :math:`f < 1`. Default ``0.1``.
      patience: steps without improvement tolerated. Default ``10``.
      threshold: minimal improvement. Default ``1e-4``.
      threshold_mode: ``"rel"`` (default) or ``"abs"``.
      cooldown: steps to wait after a cut. Default ``0``.
      min_lr: :math:`\eta_{min}`, or one per group. Default ``0``.
      eps: smallest change applied. Default ``1e-8``.

    Raises:
      TypeError: if ``optimizer`` is not an Optimizer.
      ValueError: if ``factor >= 1``, ``mode`` or ``threshold_mode`` is
        unknown, or ``min_lr`` has the wrong length.

    Examples:
      >>> from lucid_fx import optim
      >>> from lucid_fx.nn import Parameter
      >>> opt = optim.SGD([Parameter([1.0])], lr=1.0)
      >>> sched = optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1)
      >>> for loss in [3.0, 2.0, 2.0, 2.0, 2.0, 2.0]:
      ...     sched.step(loss)
      >>> sched.get_last_lr()
      [0.25]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | Sequence[float] = 0.0,
        eps: float = 1e-8,
    ) -> None:
        api = "ReduceLROnPlateau"
        _check_optimizer(api, optimizer)
        if factor >= 1.0:
            raise ValueError(f"{api}: factor must be < 1, got {factor!r}.")
        if mode not in ("min", "max"):
            raise ValueError(f"{api}: mode must be 'min' or 'max', got {mode!r}.")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"{api}: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}."
            )
        self.optimizer = optimizer
        self.min_lrs = _per_group(api, "min_lr", min_lr, len(optimizer.param_groups))
        self.factor = factor
        self.mode = mode
        self.patience = patience
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.num_bad_epochs = 0
        self._last_lr = [g["lr"] for g in optimizer.param_groups]

    def step(self, metrics: float) -> None:
        """Record ``metrics`` (e.g. the validation loss) and maybe cut ``lr``."""
        current = float(metrics)
        self.last_epoch += 1
        if self._is_better(current):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, low in zip(
                self.optimizer.param_groups, self.min_lrs, strict=True
            ):
                old = float(group["lr"])
                new = max(old * self.factor, low)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def _is_better(self, a: float) -> bool:
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < self.best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < self.best - self.threshold
        if self.threshold_mode == "rel":
            return a > self.best * (self.threshold + 1.0)
        return a > self.best + self.threshold

    get_last_lr = LRScheduler.get_last_lr
    state_dict = LRScheduler.state_dict
    load_state_dict = LRScheduler.load_state_dict
