"""Linear: the affine layer, with PyTorch's names, shapes and initialisation."""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp
import numpy as np

from lucid_fx._typing import DTypeLike
from lucid_fx.functional import _args
from lucid_fx.nn import functional as F
from lucid_fx.nn._init import uniform_weight_and_bias
from lucid_fx.nn._module import Module


def _check_features(value: Any, name: str) -> int:
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise TypeError(
            f"Linear: {name} must be an int, got {type(value).__name__} {value!r}."
        )
    if value < 0:
        raise ValueError(f"Linear: {name} must be >= 0, got {value!r}.")
    return int(value)  # NumPy ints too, as Conv2d and PyTorch take them


class Linear(Module):
    r"""Affine layer :math:`y = x W^T + b`, as ``torch.nn.Linear``.

    Weight and bias start uniform in :math:`[-1/\sqrt{\text{in}},
    1/\sqrt{\text{in}}]` (PyTorch's default), drawn from
    :mod:`lucid_fx.random` (``lucid_fx.random.seed`` makes it reproducible).

    Args:
      in_features: size of each input sample (int >= 0).
      out_features: size of each output sample (int >= 0).
      bias: learn an additive bias. Default ``True``.
      dtype: parameter dtype. Default ``float32``.

    Shape:
      - Input: ``(*, in_features)``.
      - Output: ``(*, out_features)``.

    Attributes:
      weight: Parameter of shape ``(out_features, in_features)``.
      bias: Parameter of shape ``(out_features,)``, or ``None``.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> layer = nn.Linear(in_features=3, out_features=2)
      >>> layer
      Linear(in_features=3, out_features=2, bias=True)
      >>> layer(Tensor([[0.5, -1.2, 3.3]])).shape
      (1, 2)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        dtype: DTypeLike | None = None,
    ) -> None:
        super().__init__()
        self.in_features = _check_features(in_features, "in_features")
        self.out_features = _check_features(out_features, "out_features")
        dtype = jnp.float32 if dtype is None else dtype
        bound = 1.0 / math.sqrt(in_features) if in_features else 0.0
        self.weight, self.bias = uniform_weight_and_bias(
            (out_features, in_features), bound, bias, dtype
        )

    def forward(self, input: Any) -> Any:  # noqa: A002
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Bilinear(Module):
    r"""Bilinear layer :math:`y_o = x_1^T W_o x_2 + b_o`, as ``torch.nn.Bilinear``.

    Weight and bias start uniform in :math:`\pm 1/\sqrt{\text{in1}}`
    (PyTorch's default), drawn from :mod:`lucid_fx.random`.

    Args:
      in1_features: size of each first input sample (int >= 1).
      in2_features: size of each second input sample (int >= 1).
      out_features: size of each output sample (int >= 1).
      bias: learn an additive bias. Default ``True``.

    Shape:
      - Input: ``(*, in1_features)`` and ``(*, in2_features)``.
      - Output: ``(*, out_features)``.

    Attributes:
      weight: ``(out_features, in1_features, in2_features)``.
      bias: ``(out_features,)`` or ``None``.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> layer = nn.Bilinear(2, 3, 4)
      >>> layer
      Bilinear(in1_features=2, in2_features=3, out_features=4, bias=True)
      >>> layer(Tensor([[1.0, 2.0]]), Tensor([[1.0, 0.0, 1.0]])).shape
      (1, 4)
    """

    def __init__(
        self, in1_features: int, in2_features: int, out_features: int, bias: bool = True
    ) -> None:
        super().__init__()
        api = "Bilinear"
        self.in1_features = _args.integer(in1_features, api, "in1_features", low=1)
        self.in2_features = _args.integer(in2_features, api, "in2_features", low=1)
        self.out_features = _args.integer(out_features, api, "out_features", low=1)
        bound = 1.0 / math.sqrt(in1_features)
        self.weight, self.bias = uniform_weight_and_bias(
            (out_features, in1_features, in2_features),
            bound,
            _args.flag(bias, api, "bias"),
        )

    def forward(self, input1: Any, input2: Any) -> Any:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )


class Flatten(Module):
    """Flatten dimensions ``start_dim..end_dim`` into one, as ``torch.nn.Flatten``.

    Args:
      start_dim: first dimension to flatten. Default 1 (keep the batch).
      end_dim: last dimension to flatten. Default -1.

    Shape:
      - Input: ``(*, S_start, ..., S_end, *)``.
      - Output: ``(*, prod(S_start..S_end), *)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> nn.Flatten()(Tensor(jnp.zeros((2, 3, 4, 5)))).shape
      (2, 60)
      >>> nn.Flatten(0, 1)(Tensor(jnp.zeros((2, 3, 4)))).shape
      (6, 4)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = _args.integer(start_dim, "Flatten", "start_dim", low=-(2**31))
        self.end_dim = _args.integer(end_dim, "Flatten", "end_dim", low=-(2**31))

    def forward(self, input: Any) -> Any:  # noqa: A002
        ndim = max(len(input.shape), 1)
        start, end = self.start_dim, self.end_dim
        if not (-ndim <= start < ndim and -ndim <= end < ndim) or (
            start % ndim > end % ndim
        ):
            raise ValueError(
                f"Flatten: start_dim={start}, end_dim={end} is not a valid range "
                f"for an input of shape {tuple(input.shape)}."
            )
        return F.flatten_op(input, start_dim=start % ndim, end_dim=end % ndim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
