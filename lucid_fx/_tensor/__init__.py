"""The eager Tensor with its autograd tape, and the op-lifting mechanism."""

# Import cycle, resolved by order: _math (the op library) lifts its ops through
# _ops at import time, and _ops reaches Tensor in _tensor only when an op runs.
# Importing _math first finishes _ops before _math needs `lift`.
from lucid_fx._tensor import _math  # noqa: F401  (must come first)
from lucid_fx._tensor._device import default_device, devices, resolve
from lucid_fx._tensor._generators import leaf
from lucid_fx._tensor._ops import lift, lift_inplace
from lucid_fx._tensor._tape import is_grad_enabled, no_grad
from lucid_fx._tensor._tensor import (
    Tensor,
    data_each,
    optional_data_each,
    requires_grad_each,
    set_data_each,
    set_grad_each,
)

__all__ = [
    "Tensor",
    "data_each",
    "default_device",
    "devices",
    "is_grad_enabled",
    "leaf",
    "lift",
    "lift_inplace",
    "no_grad",
    "optional_data_each",
    "requires_grad_each",
    "resolve",
    "set_data_each",
    "set_grad_each",
]
