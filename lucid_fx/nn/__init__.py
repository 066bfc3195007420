"""The stateful ``lucid.nn`` API on top of the Tensor layer."""

from lucid_fx.nn import functional, utils
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
from lucid_fx.nn._container import ModuleDict, ModuleList, Sequential
from lucid_fx.nn._conv import Conv1D, Conv1d, Conv2D, Conv2d, Conv3D, Conv3d
from lucid_fx.nn._dropout import (
    AlphaDropout,
    Dropout,
    Dropout1d,
    Dropout2d,
    Dropout3d,
)
from lucid_fx.nn._linear import Bilinear, Flatten, Linear
from lucid_fx.nn._loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    MSELoss,
    NLLLoss,
)
from lucid_fx.nn._module import Module
from lucid_fx.nn._norm import (
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    InstanceNorm1d,
    InstanceNorm2d,
    LayerNorm,
)
from lucid_fx.nn._parameter import Parameter
from lucid_fx.nn._pool import (
    AvgPool1D,
    AvgPool1d,
    AvgPool2D,
    AvgPool2d,
    AvgPool3D,
    AvgPool3d,
    MaxPool1D,
    MaxPool1d,
    MaxPool2D,
    MaxPool2d,
    MaxPool3D,
    MaxPool3d,
)
from lucid_fx.nn._state_dict import IncompatibleKeys

__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "LayerNorm",
    "AlphaDropout",
    "Dropout",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "AvgPool1D",
    "AvgPool1d",
    "AvgPool2D",
    "AvgPool2d",
    "AvgPool3D",
    "AvgPool3d",
    "Bilinear",
    "Conv1D",
    "Conv1d",
    "Conv2D",
    "Conv2d",
    "Conv3D",
    "Conv3d",
    "Flatten",
    "MaxPool1D",
    "MaxPool1d",
    "MaxPool2D",
    "MaxPool2d",
    "MaxPool3D",
    "MaxPool3d",
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
    "ModuleDict",
    "ModuleList",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "SELU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "functional",
    "utils",
]
