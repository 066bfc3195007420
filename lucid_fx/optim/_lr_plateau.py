"""Cutting the learning rate when a metric stops improving."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from lucid_fx.optim._lr_base import (
    LRScheduler,
    _check_optimizer,
    _per_group,
    all_or_nothing,
)
from lucid_fx.optim._optimizer import Optimizer

_MSG_METRICS = (
    "ReduceLROnPlateau.step: metrics must be a real number or a one-element "
    "Tensor, got {kind} {value!r}. Pass the monitored value, e.g. "
    "scheduler.step(val_loss.item())."
)


def _metric_as_float(metrics: Any) -> float:
    # float() as PyTorch, but a string is refused even where float() parses it.
    try:
        if isinstance(metrics, str | bytes):
            raise TypeError("a string is not a metric")
        return float(metrics)
    except (TypeError, ValueError) as e:
        kind = type(metrics).__name__
        raise TypeError(_MSG_METRICS.format(kind=kind, value=metrics)) from e


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
        # One min_lr for all: groups added later get it too (PyTorch's rule).
        self.default_min_lr = None if isinstance(min_lr, list | tuple) else min_lr
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
        """Record ``metrics`` (e.g. the validation loss) and maybe cut ``lr``.

        Args:
          metrics: a real number: a Python or NumPy/JAX scalar, or a
            one-element Tensor.

        Raises:
          TypeError: if ``metrics`` is not a number (a string, ``None``, a
            multi-element array...).
          ValueError: if a cut is due and ``min_lr`` was a list for fewer
            groups than the optimizer has.

        On any error the scheduler and the optimizer's rates are left exactly
        as they were.
        """
        current = _metric_as_float(metrics)
        with all_or_nothing(self):
            self._record(current)

    def _record(self, current: float) -> None:
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
            self._cut()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def _cut(self) -> None:
        """Multiply each group's rate by ``factor``, down to its ``min_lr``."""
        groups = len(self.optimizer.param_groups)
        if len(self.min_lrs) != groups:
            if self.default_min_lr is None:
                raise ValueError(
                    f"ReduceLROnPlateau.step: the optimizer has {groups} param "
                    f"groups but min_lr was given for {len(self.min_lrs)}; a "
                    f"group was added. Set scheduler.min_lrs to one value per "
                    f"group (as PyTorch asks)."
                )
            self.min_lrs = [self.default_min_lr] * groups
        for group, low in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
            old = float(group["lr"])
            new = max(old * self.factor, low)
            if old - new > self.eps:
                group["lr"] = new

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
    _from_torch = LRScheduler._from_torch
