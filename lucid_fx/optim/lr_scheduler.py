"""Learning-rate schedulers, as ``torch.optim.lr_scheduler``.

A scheduler writes ``optimizer.param_groups[i]["lr"]`` (a Python float) at
each :meth:`~LRScheduler.step`, with PyTorch's formulas in PyTorch's order of
float operations, so the sequences are PyTorch's to the last bit. A compiled
step reads the new value as a traced input: no recompilation, never stale.
Call ``scheduler.step()`` after ``optimizer.step()``.
"""

from lucid_fx.optim._lr_base import LRScheduler
from lucid_fx.optim._lr_one_cycle import OneCycleLR
from lucid_fx.optim._lr_plateau import ReduceLROnPlateau
from lucid_fx.optim._lr_schedules import (
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    MultiStepLR,
    StepLR,
)

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
