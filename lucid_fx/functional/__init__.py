"""The pure functional core: JAX arrays in, JAX arrays out."""

from lucid_fx.functional._activations import elu, gelu, relu, selu, sigmoid, tanh
from lucid_fx.functional._leaky_relu import leaky_relu
from lucid_fx.functional._loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    check_class_target,
    cross_entropy,
    huber_loss,
    mse_loss,
    nll_loss,
)

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "check_class_target",
    "cross_entropy",
    "elu",
    "gelu",
    "huber_loss",
    "leaky_relu",
    "mse_loss",
    "nll_loss",
    "relu",
    "selu",
    "sigmoid",
    "tanh",
]
