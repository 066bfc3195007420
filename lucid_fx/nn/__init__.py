"""The stateful ``lucid.nn`` API on top of the Tensor layer."""

from lucid_fx.nn import functional
from lucid_fx.nn._activation import (
    ELU,
    GELU,
    SELU,
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Tanh,
)
from lucid_fx.nn._container import Sequential
from lucid_fx.nn._linear import Linear
from lucid_fx.nn._loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    MSELoss,
    NLLLoss,
)
from lucid_fx.nn._module import Module
from lucid_fx.nn._parameter import Parameter
from lucid_fx.nn._state_dict import IncompatibleKeys

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "ELU",
    "GELU",
    "HuberLoss",
    "IncompatibleKeys",
    "Identity",
    "LeakyReLU",
    "Linear",
    "MSELoss",
    "Module",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "SELU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "functional",
]
