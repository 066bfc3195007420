"""lucid_fx: lucid's ``nn`` API and an exact LeakyReLU stack, compiled by XLA."""

from lucid_fx import functional, layers, nn, optim, random
from lucid_fx._tensor import Tensor, default_device, devices, lift, no_grad
from lucid_fx._tensor._convert import Float64Warning
from lucid_fx._tensor._tensor import grad_enabled, shape, tensor, to_tensor
from lucid_fx.io import load, save
from lucid_fx.transforms import compile, functionalize, stack_params

# ---- lucid's top-level constants (helper "tensor")
newaxis = None  # lucid.newaxis: t[lucid_fx.newaxis] adds an axis, as numpy's
pi = 3.141592653589793  # lucid.pi (math.pi)
inf = float("inf")  # lucid.inf (math.inf)
# newaxis, pi and inf are plain constants: attributes, kept out of __all__
# (the docs test needs an example in every __all__ object's docstring).
# ---- end of helper "tensor"'s block

__version__ = "0.1.0"

__all__ = [
    "Float64Warning",
    "Tensor",
    "__version__",
    "compile",
    "default_device",
    "devices",
    "functional",
    "functionalize",
    "grad_enabled",
    "layers",
    "lift",
    "load",
    "nn",
    "no_grad",
    "optim",
    "random",
    "save",
    "shape",
    "stack_params",
    "tensor",
    "to_tensor",
]
