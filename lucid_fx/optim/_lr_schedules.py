"""Schedules of the step count: Lambda, Step, MultiStep, Exponential, Cosine, Linear."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from lucid_fx.optim._lr_base import (
    LRScheduler,
    _check_optimizer,
    _check_positive_int,
    _per_group,
)
from lucid_fx.optim._optimizer import Optimizer


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
        lambdas = _per_group("LambdaLR", "lr_lambda", lr_lambda, n, "lr_lambdas")
        for f in lambdas:
            if not callable(f):
                raise TypeError(
                    f"LambdaLR: lr_lambda must be a function of the step count "
                    f"(or one per param group), got {type(f).__name__} {f!r}."
                )
        object.__setattr__(self, "_lambdas", lambdas)  # kept out of state_dict
        super().__init__(optimizer, last_epoch)

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in super().state_dict().items() if k != "_lambdas"}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict`, ours or PyTorch's. PyTorch's also
        holds ``lr_lambdas``: ``None`` for a plain function, else the
        callable object's attributes, which are restored as PyTorch does.

        Raises:
          ValueError: naming missing or unexpected keys, or an ``lr_lambdas``
            of the wrong length (nothing changes).
        """
        state = dict(state_dict)
        saved = state.pop("lr_lambdas", None)
        if saved is not None and (
            not isinstance(saved, list | tuple) or len(saved) != len(self._lambdas)
        ):
            raise ValueError(
                f"LambdaLR.load_state_dict: lr_lambdas must hold one entry per "
                f"param group ({len(self._lambdas)}), got {saved!r}."
            )
        for f, attributes in zip(self._lambdas, saved or (), strict=False):
            if attributes is not None and not (
                isinstance(attributes, Mapping) and hasattr(f, "__dict__")
            ):
                raise ValueError(
                    f"LambdaLR.load_state_dict: lr_lambdas holds {attributes!r} "
                    f"for {f!r}, which keeps no attributes to restore."
                )
        super().load_state_dict(state)
        for f, attributes in zip(self._lambdas, saved or (), strict=False):
            if attributes is not None:
                vars(f).update(attributes)

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
        return self._scaled(self.gamma)


_MSG_MILESTONES = (
    "MultiStepLR: milestones must be an iterable of ints, got {got}. Pass step "
    "counts, e.g. milestones=[30, 80]."
)


def _check_milestones(milestones: Any) -> list[int]:
    """``milestones`` as a list of Python ints. PyTorch counts any hashables,
    so a whole float (``2.0``) fires there: it is taken as ``2`` here."""
    if isinstance(milestones, str | bytes):
        raise TypeError(_MSG_MILESTONES.format(got=f"str {milestones!r}"))
    try:
        entries = list(milestones)
    except TypeError:
        got = f"{type(milestones).__name__} {milestones!r}"
        raise TypeError(_MSG_MILESTONES.format(got=got)) from None
    checked = []
    for m in entries:
        if isinstance(m, float | np.floating) and float(m).is_integer():
            checked.append(int(m))
            continue
        try:
            if isinstance(m, bool | np.bool_):
                raise TypeError
            checked.append(operator.index(m))
        except TypeError:
            got = f"{entries!r} (entry {m!r} is {type(m).__name__})"
            raise TypeError(_MSG_MILESTONES.format(got=got)) from None
    return checked


class MultiStepLR(LRScheduler):
    r"""Multiply ``lr`` by ``gamma`` at each milestone.

    .. math:: \eta_t = \eta_0 \, \gamma^{\#\{m \in M : m \le t\}}

    Args:
      optimizer: the optimizer.
      milestones: step counts :math:`M` (repeats multiply again): any
        iterable (list, tuple, set, NumPy array...) of ints.
      gamma: :math:`\gamma`. Default ``0.1``.
      last_epoch: see :class:`LRScheduler`.

    Raises:
      TypeError: if ``milestones`` is not an iterable of ints (nothing
        changes, ``initial_lr`` included).

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
        milestones: Iterable[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        counts: dict[int, int] = {}
        for m in sorted(_check_milestones(milestones)):
            counts[m] = counts.get(m, 0) + 1
        self.milestones = counts
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return self._lrs()
        return self._scaled(self.gamma ** self.milestones[self.last_epoch])


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
        return self._scaled(self.gamma)


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
            return self._scaled(fs)
        if self._is_initial or t > self.total_iters:
            return self._lrs()
        factor = 1.0 + (fe - fs) / (self.total_iters * fs + (t - 1) * (fe - fs))
        return self._scaled(factor)
