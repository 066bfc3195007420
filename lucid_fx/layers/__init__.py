"""Pure layers: frozen config dataclasses that are pytrees and callables."""

from lucid_fx.layers._activations import ELU, GELU
from lucid_fx.layers._dropout import (
    AlphaDropout,
    Dropout,
    Dropout1d,
    Dropout2d,
    Dropout3d,
)
from lucid_fx.layers._leaky_relu import LeakyReLU

__all__ = [
    "AlphaDropout",
    "Dropout",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "ELU",
    "GELU",
    "LeakyReLU",
]
