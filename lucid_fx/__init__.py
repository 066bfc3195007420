"""lucid_fx: lucid's ``nn`` API and an exact LeakyReLU stack, compiled by XLA."""

from lucid_fx import functional, layers, nn, optim, random
from lucid_fx.tensor import Tensor, lift, no_grad

__version__ = "0.1.0"

__all__ = [
    "Tensor",
    "__version__",
    "functional",
    "layers",
    "lift",
    "nn",
    "no_grad",
    "optim",
    "random",
]
