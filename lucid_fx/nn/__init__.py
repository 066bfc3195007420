"""The stateful ``lucid.nn`` API on top of the Tensor layer."""

from lucid_fx.nn import functional
from lucid_fx.nn._activation import Identity, LeakyReLU, ReLU
from lucid_fx.nn._container import Sequential
from lucid_fx.nn._linear import Linear
from lucid_fx.nn._module import Module
from lucid_fx.nn._parameter import Parameter
from lucid_fx.nn._state_dict import IncompatibleKeys

__all__ = [
    "IncompatibleKeys",
    "Identity",
    "LeakyReLU",
    "Linear",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "functional",
]
