"""Pure layers: frozen config dataclasses that are pytrees and callables."""

from lucid_fx.layers._activations import ELU, GELU
from lucid_fx.layers._leaky_relu import LeakyReLU

__all__ = ["ELU", "GELU", "LeakyReLU"]
