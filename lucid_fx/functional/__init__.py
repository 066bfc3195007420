"""The pure functional core: JAX arrays in, JAX arrays out."""

from lucid_fx.functional._activations import (
    elu,
    gelu,
    log_softmax,
    relu,
    selu,
    sigmoid,
    softmax,
    tanh,
)
from lucid_fx.functional._conv import conv1d, conv2d, conv3d, unfold
from lucid_fx.functional._dropout import (
    alpha_dropout,
    dropout,
    dropout1d,
    dropout2d,
    dropout3d,
)
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
from lucid_fx.functional._norm import (
    batch_norm,
    batch_norm_stats,
    instance_norm,
    layer_norm,
)
from lucid_fx.functional._pool import (
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
)

__all__ = [
    "batch_norm",
    "batch_norm_stats",
    "instance_norm",
    "layer_norm",
    "alpha_dropout",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "conv1d",
    "conv2d",
    "conv3d",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "unfold",
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
    "softmax",
    "log_softmax",
    "tanh",
]
