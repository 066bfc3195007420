"""The scheduler base class and its argument checks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from lucid_fx.optim._optimizer import Optimizer


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


def _per_group(
    api: str, name: str, value: Any, n: int, what: str | None = None
) -> list[Any]:
    """``value``: a list or tuple of ``n`` (``what``, by default "values of
    ``name``"), or one value for every group."""
    if isinstance(value, list | tuple):
        if len(value) != n:
            what = f"values of {name}" if what is None else what
            raise ValueError(
                f"{api}: expected {n} {what} (one per param group), got {len(value)}."
            )
        return list(value)
    return [value] * n


_MSG_RATES = (
    "{api}.step: get_lr() gave {got} learning rates for the optimizer's {n} "
    "param groups; a group added after the scheduler was made needs a new "
    "scheduler (made after add_param_group)."
)


def _restore(live: dict[str, Any], saved: dict[str, Any]) -> None:
    """Make ``live`` equal ``saved`` again, rewriting only what changed."""
    for key in live.keys() - saved.keys():
        del live[key]
    for key, value in saved.items():
        if key not in live or live[key] is not value:
            live[key] = value


@contextlib.contextmanager
def all_or_nothing(scheduler: Any) -> Iterator[None]:
    """Undo every change the block made to ``scheduler``'s attributes and its
    optimizer's param groups if it raises, then re-raise: a failed ``step()``
    leaves both exactly as they were."""
    state = dict(vars(scheduler))
    groups = [(group, dict(group)) for group in scheduler.optimizer.param_groups]
    try:
        yield
    except BaseException:
        _restore(vars(scheduler), state)
        for group, saved in groups:
            _restore(group, saved)
        raise


# Keys of PyTorch's scheduler state dicts that carry nothing a lucid_fx
# scheduler uses, and keys lucid_fx added later (absent from older files).
_TORCH_ONLY = frozenset({"_get_lr_called_within_step", "mode_worse", "verbose"})
_ADDED = frozenset({"default_min_lr"})


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

    Examples:
      >>> from lucid_fx import optim
      >>> from lucid_fx.nn import Parameter
      >>> class Halving(optim.lr_scheduler.LRScheduler):
      ...     def get_lr(self):
      ...         return [base * 0.5**self.last_epoch for base in self.base_lrs]
      >>> opt = optim.SGD([Parameter([1.0])], lr=1.0)
      >>> sched = Halving(opt)
      >>> sched.step(); sched.step()
      >>> sched.get_last_lr(), sched.state_dict()["last_epoch"]
      ([0.25], 2)
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
        """Advance one step and write each group's new ``lr``.

        All or nothing: if it raises (e.g. ``OneCycleLR`` past
        ``total_steps``), the scheduler and the optimizer's param groups are
        left exactly as they were.

        Raises:
          ValueError: if ``get_lr()`` gives a rate count other than the
            optimizer's group count (a group added after the scheduler).
        """
        with all_or_nothing(self):
            self._step_count += 1
            self.last_epoch += 1
            lrs = list(self.get_lr())
            groups = self.optimizer.param_groups
            if len(lrs) != len(groups):
                raise ValueError(
                    _MSG_RATES.format(
                        api=type(self).__name__, got=len(lrs), n=len(groups)
                    )
                )
            for group, lr in zip(groups, lrs, strict=True):
                group["lr"] = lr
            self._last_lr = [group["lr"] for group in groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates the last ``step()`` wrote, one per group."""
        return self._last_lr

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer (plain Python values).

        Store it with :func:`lucid_fx.optim.flatten_state_dict`.
        """
        return {k: v for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` of this scheduler class, ours or
        PyTorch's: PyTorch's own bookkeeping (``_get_lr_called_within_step``,
        ``mode_worse``) is skipped, and a key this version added may be
        missing from an older one (it keeps its value).

        Raises:
          ValueError: naming missing or unexpected keys (nothing changes).
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"{type(self).__name__}.load_state_dict: expected a dict from "
                f"state_dict(), got {type(state_dict).__name__}."
            )
        state_dict = {k: v for k, v in state_dict.items() if k not in _TORCH_ONLY}
        state_dict = self._from_torch(state_dict)
        want = set(self.state_dict())
        got = set(state_dict)
        if got - want or want - got - _ADDED:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: missing keys "
                f"{sorted(want - got)}, unexpected keys {sorted(got - want)}. Pass "
                f"the state_dict() of the same scheduler class."
            )
        vars(self).update(state_dict)

    def _from_torch(self, state_dict: dict[str, Any]) -> dict[str, Any]:
        """PyTorch's names for keys this class names otherwise (a hook for
        subclasses; ``state_dict`` is a copy, free to edit)."""
        return state_dict

    def _lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def _scaled(self, factor: float) -> list[float]:
        return [lr * factor for lr in self._lrs()]
