"""Pooling modules ``AvgPool1d/2d/3d`` and ``MaxPool1d/2d/3d``."""

from __future__ import annotations

from typing import Any

from lucid_fx.functional import _args
from lucid_fx.functional._pool import pool_args
from lucid_fx.nn import functional as F
from lucid_fx.nn._module import Module


class _PoolND(Module):
    _n = 0
    _kind = ""

    def __init__(
        self,
        kernel_size: int | tuple = 1,
        stride: int | tuple | None = None,
        padding: int | tuple = 0,
        *,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        api = type(self).__name__
        stride = kernel_size if stride is None else stride
        kernel, strides, pads = pool_args(self._n, kernel_size, stride, padding, api)
        self.kernel_size, self.stride, self.padding = kernel, strides, pads
        self.ceil_mode = _args.flag(ceil_mode, api, "ceil_mode")

    def _mode(self) -> dict:
        return {"ceil_mode": self.ceil_mode}

    def forward(self, input: Any) -> Any:  # noqa: A002
        fn = getattr(F, f"{self._kind}_pool{self._n}d")
        return fn(input, self.kernel_size, self.stride, self.padding, **self._mode())

    def extra_repr(self) -> str:
        mode = ", ".join(f"{key}={value}" for key, value in self._mode().items())
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, {mode}"
        )


class _AvgPoolND(_PoolND):
    _kind = "avg"

    def __init__(
        self, *args: Any, count_include_pad: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)  # _PoolND's arguments
        api = type(self).__name__
        self.count_include_pad = _args.flag(count_include_pad, api, "count_include_pad")

    def _mode(self) -> dict:
        return {
            "ceil_mode": self.ceil_mode,
            "count_include_pad": self.count_include_pad,
        }


_DOC = r"""{Kind} pooling layer over {n} spatial dimension(s).

    Applies :func:`lucid_fx.nn.functional.{kind}_pool{n}d`. As PyTorch's
    module, ``stride`` defaults to ``kernel_size`` (the functional form keeps
    lucid's default of 1).

    Args:
      kernel_size: int or tuple of {n} ints. Default 1.
      stride: int, tuple or ``None`` (= ``kernel_size``). Default ``None``.
      padding: int or tuple, at most half the kernel. Default 0.
      ceil_mode: keyword-only; round output sizes up (PyTorch's rule).
        Default ``False``.{include}

    Shape:
      - Input: ``(N, C, *spatial)`` or ``(C, *spatial)``.
      - Output: spatial sizes ``(size + 2 pad - k) // stride + 1`` (rounded
        up with ``ceil_mode``, as PyTorch).

    Examples:
      >>> import jax.numpy as jnp
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> pool = nn.{Kind2}Pool{n}d(2)
      >>> pool(Tensor(jnp.zeros((1, 3) + (4,) * {n}))).shape
      (1, 3{twos})
    """


def _make(kind: str, n: int) -> type:
    name = f"{'Avg' if kind == 'avg' else 'Max'}Pool{n}d"
    base = _AvgPoolND if kind == "avg" else _PoolND
    cls = type(name, (base,), {"_n": n, "_kind": kind, "__module__": __name__})
    cls.__doc__ = _DOC.format(
        Kind="Average" if kind == "avg" else "Max",
        Kind2="Avg" if kind == "avg" else "Max",
        kind=kind,
        n=n,
        twos=", 2" * n,
        include="\n      count_include_pad: keyword-only; count padded zeros in the "
        "divisor.\n        Default ``True``."
        if kind == "avg"
        else "",
    )
    return cls


AvgPool1d = _make("avg", 1)
AvgPool2d = _make("avg", 2)
AvgPool3d = _make("avg", 3)
MaxPool1d = _make("max", 1)
MaxPool2d = _make("max", 2)
MaxPool3d = _make("max", 3)

# lucid's spellings (its Conv2D page uses nn.MaxPool2D).
AvgPool1D, AvgPool2D, AvgPool3D = AvgPool1d, AvgPool2d, AvgPool3d
MaxPool1D, MaxPool2D, MaxPool3D = MaxPool1d, MaxPool2d, MaxPool3d
