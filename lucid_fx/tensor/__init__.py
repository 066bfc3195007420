"""The eager Tensor with its autograd tape, and the op-lifting mechanism."""

# _ops before _tensor: _ops imports _tensor, whose Tensor its module-level ops need.
from lucid_fx.tensor._device import default_device, devices, resolve
from lucid_fx.tensor._ops import lift, lift_inplace
from lucid_fx.tensor._tape import is_grad_enabled, no_grad
from lucid_fx.tensor._tensor import Tensor

__all__ = [
    "Tensor",
    "default_device",
    "devices",
    "is_grad_enabled",
    "lift",
    "lift_inplace",
    "no_grad",
    "resolve",
]
