"""lucid_fx: lucid's ``nn`` API and an exact LeakyReLU stack, compiled by XLA."""

from lucid_fx import functional, layers, nn, optim, random
from lucid_fx._tensor import Tensor, default_device, devices, lift, no_grad
from lucid_fx.io import load, save
from lucid_fx.transforms import compile, functionalize, stack_params

__version__ = "0.1.0"

__all__ = [
    "Tensor",
    "__version__",
    "compile",
    "default_device",
    "devices",
    "functional",
    "functionalize",
    "layers",
    "lift",
    "load",
    "nn",
    "no_grad",
    "optim",
    "random",
    "save",
    "stack_params",
]
