"""Linear: the affine layer, with PyTorch's names, shapes and initialisation."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from lucid_fx import random
from lucid_fx._typing import DTypeLike
from lucid_fx.nn import functional as F
from lucid_fx.nn._module import Module
from lucid_fx.nn._parameter import Parameter


def _check_features(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"Linear: {name} must be an int, got {type(value).__name__} {value!r}."
        )
    if value < 0:
        raise ValueError(f"Linear: {name} must be >= 0, got {value!r}.")
    return value


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
        w_key, b_key = jax.random.split(random.next_key())
        shape = (out_features, in_features)
        self.weight = Parameter(jax.random.uniform(w_key, shape, dtype, -bound, bound))
        self.bias = (
            Parameter(jax.random.uniform(b_key, (out_features,), dtype, -bound, bound))
            if bias
            else None
        )

    def forward(self, input: Any) -> Any:  # noqa: A002
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )
