"""Activation modules: LeakyReLU (holding the pure config), ReLU, Identity."""

from __future__ import annotations

from typing import Any

from lucid_fx import layers
from lucid_fx._tensor import Tensor
from lucid_fx.nn import functional as F
from lucid_fx.nn._module import Module


class LeakyReLU(Module):
    r"""Leaky ReLU module, as ``lucid.nn.LeakyReLU``.

    .. math::

        y = \begin{cases} x & x > 0 \\ \alpha x & \text{otherwise} \end{cases}
        \qquad
        \frac{\partial y}{\partial x} =
        \begin{cases} 1 & x > 0 \\ \alpha & \text{otherwise} \end{cases}

    with :math:`\alpha` = ``negative_slope``; the gradient at ``x == 0`` is
    ``negative_slope``. The module holds a frozen
    :class:`lucid_fx.layers.LeakyReLU` config; assigning ``negative_slope``
    validates the new value and replaces the config.

    Args:
      negative_slope: slope where ``x <= 0``, a finite number. Default ``0.01``.
      inplace: modify Tensor inputs in place (their buffer is donated to XLA;
        see :func:`lucid_fx.nn.functional.leaky_relu_`). Default ``False``.

    Shape:
      - Input: any shape.
      - Output: the input's shape and dtype.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> act = nn.LeakyReLU(negative_slope=0.25)
      >>> act
      LeakyReLU(negative_slope=0.25)
      >>> act(Tensor([-2.0, 0.0, 3.0]))
      Tensor([-0.5, 0.0, 3.0])
    """

    _config_fields = ("negative_slope",)

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        if not isinstance(inplace, bool):
            raise TypeError(
                f"LeakyReLU: inplace must be True or False, got "
                f"{type(inplace).__name__} {inplace!r}."
            )
        self.config = layers.LeakyReLU(negative_slope)
        self.inplace = inplace

    @property
    def negative_slope(self) -> Any:
        return self.config.negative_slope

    @negative_slope.setter
    def negative_slope(self, value: float) -> None:
        self.config = layers.LeakyReLU(value)

    def forward(self, input: Any) -> Any:  # noqa: A002
        if self.inplace and isinstance(input, Tensor):
            return F.leaky_relu_(input, self.config.negative_slope)
        return F.leaky_relu(input, self.config.negative_slope)

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"negative_slope={self.config.negative_slope}{inplace}"


class ReLU(Module):
    """ReLU module: ``max(x, 0)`` with gradient 0 at ``x == 0``.

    Shape:
      - Input: any shape.
      - Output: the input's shape and dtype.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> nn.ReLU()(Tensor([-2.0, 3.0]))
      Tensor([0.0, 3.0])
    """

    def forward(self, input: Any) -> Any:  # noqa: A002
        return F.relu(input)


class Identity(Module):
    """Returns its input unchanged.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> nn.Identity()(Tensor([1.0]))
      Tensor([1.0])
    """

    def forward(self, input: Any) -> Any:  # noqa: A002
        return input
