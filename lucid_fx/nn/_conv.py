"""Convolution modules ``Conv1D Conv2D Conv3D`` (lucid's names) and PyTorch's
``Conv1d Conv2d Conv3d`` aliases."""

from __future__ import annotations

import math
from typing import Any

from lucid_fx.functional import _args
from lucid_fx.functional._conv import conv_padding
from lucid_fx.nn import functional as F
from lucid_fx.nn._init import uniform_weight_and_bias
from lucid_fx.nn._module import Module


class _ConvND(Module):
    _n = 0

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple,
        stride: int | tuple = 1,
        padding: str | int | tuple = 0,
        dilation: int | tuple = 1,
        groups: int = 1,
        bias: bool = True,
    ) -> None:
        super().__init__()
        api, n = type(self).__name__, self._n
        self.in_channels = _args.integer(in_channels, api, "in_channels", low=1)
        self.out_channels = _args.integer(out_channels, api, "out_channels", low=1)
        self.kernel_size = _args.ints(kernel_size, n, api, "kernel_size", low=1)
        self.stride = _args.ints(stride, n, api, "stride", low=1)
        self.dilation = _args.ints(dilation, n, api, "dilation", low=1)
        self.groups = _args.integer(groups, api, "groups", low=1)
        conv_padding(padding, self.kernel_size, self.stride, self.dilation, api)
        self.padding = (
            padding
            if isinstance(padding, str)
            else _args.ints(padding, n, api, "padding")
        )
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{api}: in_channels={in_channels} and out_channels={out_channels} "
                f"must both be divisible by groups={groups}."
            )
        _args.flag(bias, api, "bias")
        # PyTorch's default: kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fan_in), ...).
        fan_in = in_channels // groups * math.prod(self.kernel_size)
        bound = 1.0 / math.sqrt(fan_in)
        self.weight, self.bias = uniform_weight_and_bias(
            (out_channels, in_channels // groups, *self.kernel_size), bound, bias
        )

    def forward(self, input: Any) -> Any:  # noqa: A002
        conv = (F.conv1d, F.conv2d, F.conv3d)[self._n - 1]
        return conv(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
        )

    def extra_repr(self) -> str:
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
            f", stride={self.stride}"
        )
        if self.padding not in ((0,) * self._n, "valid"):
            text += f", padding={self.padding!r}"
        if self.dilation != (1,) * self._n:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.bias is not None else ", bias=False")


_DOC = r"""{n}-D convolution layer, as ``lucid.nn.Conv{n}D`` / ``torch.nn.Conv{n}d``.

    .. math::

        y = \mathrm{{conv{n}d}}(x, W) + b

    (see :func:`lucid_fx.functional.conv{n}d` for the sum and gradients).
    Weight and bias start uniform in :math:`\pm 1/\sqrt{{\text{{fan\_in}}}}`,
    ``fan_in = in_channels / groups * prod(kernel_size)`` (PyTorch's default),
    drawn from :mod:`lucid_fx.random`.

    Args:
      in_channels: input channels (int >= 1).
      out_channels: output channels (int >= 1).
      kernel_size: int or tuple of {n} ints.
      stride: int or tuple. Default 1.
      padding: ``'same'``, ``'valid'``, int or tuple. Default 0.
      dilation: int or tuple. Default 1.
      groups: channel groups dividing both channel counts. Default 1.
      bias: learn an additive bias. Default ``True``.

    Shape:
      - Input: ``(N, C_in, {spatial})``.
      - Output: ``(N, C_out, {spatial_out})``.

    Attributes:
      weight: ``(out_channels, in_channels / groups, *kernel_size)``.
      bias: ``(out_channels,)`` or ``None``.

    Examples:
      >>> import jax.numpy as jnp
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> conv = nn.Conv{n}D(1, 4, kernel_size=3, padding="same")
      >>> conv(Tensor(jnp.zeros((2, 1) + (5,) * {n}))).shape
      (2, 4{fives})
      >>> nn.Conv{n}d is nn.Conv{n}D
      True
    """


class Conv1D(_ConvND):  # noqa: D101
    _n = 1


class Conv2D(_ConvND):  # noqa: D101
    _n = 2


class Conv3D(_ConvND):  # noqa: D101
    _n = 3


for _cls, _spatial in ((Conv1D, "L"), (Conv2D, "H, W"), (Conv3D, "D, H, W")):
    _cls.__doc__ = _DOC.format(
        n=_cls._n,
        spatial=_spatial,
        spatial_out=", ".join(f"{s}_out" for s in _spatial.split(", ")),
        fives=", 5" * _cls._n,
    )

Conv1d = Conv1D
Conv2d = Conv2D
Conv3d = Conv3D
