"""Activation modules (ReLU, LeakyReLU, ELU, SELU, GELU, Sigmoid, Tanh), Identity."""

from __future__ import annotations

from typing import Any

from lucid_fx._tensor import Tensor
from lucid_fx.nn import functional as F
from lucid_fx.nn._configured import Configured, setting
from lucid_fx.nn._module import Module


def _inplace_flag(value: Any, api: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(
            f"{api}: inplace must be True or False, got "
            f"{type(value).__name__} {value!r}."
        )
    return value


class LeakyReLU(Configured):
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
    _layer, _function = "LeakyReLU", "leaky_relu"
    negative_slope = setting("negative_slope")

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        inplace = _inplace_flag(inplace, "LeakyReLU")
        super().__init__(negative_slope)
        self.inplace = inplace

    def forward(self, input: Any) -> Any:  # noqa: A002
        if self.inplace and isinstance(input, Tensor):
            return F.leaky_relu_(input, self.config.negative_slope)
        return super().forward(input)

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"negative_slope={self.config.negative_slope}{inplace}"


class ReLU(Module):
    """ReLU module: ``max(x, 0)`` with gradient 0 at ``x == 0``.

    Args:
      inplace: modify Tensor inputs in place (see
        :func:`lucid_fx.nn.functional.relu_`), for PyTorch users. Default
        ``False``.

    Shape:
      - Input: any shape.
      - Output: the input's shape and dtype.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> nn.ReLU()(Tensor([-2.0, 3.0]))
      Tensor([0.0, 3.0])
      >>> nn.ReLU(inplace=True)
      ReLU(inplace=True)
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = _inplace_flag(inplace, "ReLU")

    def forward(self, input: Any) -> Any:  # noqa: A002
        if self.inplace and isinstance(input, Tensor):
            return F.relu_(input)
        return F.relu(input)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ELU(Configured):
    r"""ELU module: ``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``.

    .. math::

        \frac{\partial y}{\partial x} = \begin{cases} 1 & x > 0 \\
        \alpha e^x & \text{otherwise} \end{cases}

    The gradient at 0 is ``alpha``, as in PyTorch. Holds a frozen
    :class:`lucid_fx.layers.ELU` config.

    Args:
      alpha: scale of the negative branch, a finite number. Default ``1.0``.

    Shape:
      - Input: any shape.
      - Output: the input's shape and dtype.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> act = nn.ELU(alpha=0.5)
      >>> act, act(Tensor([0.0, 2.0]))
      (ELU(alpha=0.5), Tensor([0.0, 2.0]))
    """

    _config_fields = ("alpha",)
    _layer, _function = "ELU", "elu"
    alpha = setting("alpha")

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__(alpha)


class SELU(Module):
    r"""SELU module, :math:`\lambda\,\mathrm{elu}(x, \alpha)` with
    :math:`\alpha \approx 1.6733`, :math:`\lambda \approx 1.0507`.

    Shape:
      - Input: any shape.
      - Output: the input's shape and dtype.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> nn.SELU()(Tensor([0.0]))
      Tensor([0.0])
    """

    def forward(self, input: Any) -> Any:  # noqa: A002
        return F.selu(input)


class GELU(Configured):
    r"""GELU module; lucid's tanh approximation by default.

    .. math::

        y = \tfrac{x}{2}\left(1 + \tanh\left(\sqrt{2/\pi}\,
        (x + 0.044715 x^3)\right)\right)

    ``approximate="none"`` gives the exact :math:`x\,\Phi(x)` (PyTorch's
    default). Holds a frozen :class:`lucid_fx.layers.GELU` config.

    Args:
      approximate: ``"tanh"`` (default) or ``"none"``.

    Shape:
      - Input: any shape.
      - Output: the input's shape and dtype.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> nn.GELU(), nn.GELU("none")(Tensor([0.0]))
      (GELU(approximate='tanh'), Tensor([0.0]))
    """

    _config_fields = ("approximate",)
    _layer, _function = "GELU", "gelu"
    approximate = setting("approximate")

    def __init__(self, approximate: str = "tanh") -> None:
        super().__init__(approximate)


class Sigmoid(Module):
    r"""Sigmoid module, :math:`1 / (1 + e^{-x})`.

    Shape:
      - Input: any shape.
      - Output: the input's shape and dtype.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> nn.Sigmoid()(Tensor([0.0]))
      Tensor([0.5])
    """

    def forward(self, input: Any) -> Any:  # noqa: A002
        return F.sigmoid(input)


class Softmax(Module):
    r"""Softmax module along ``dim``, :math:`e^{x_i} / \sum_j e^{x_j}`, as
    ``torch.nn.Softmax`` (:func:`lucid_fx.nn.functional.softmax`).

    Args:
      dim: the axis that sums to 1 (required, as PyTorch asks).

    Shape:
      - Input: any shape.
      - Output: the input's shape and dtype.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> nn.Softmax(dim=-1)(Tensor([[1.0, 1.0]]))
      Tensor([[0.5, 0.5]])
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise TypeError(f"Softmax: dim must be an int, got {type(dim).__name__}.")
        self.dim = dim

    def forward(self, input: Any) -> Any:  # noqa: A002
        return F.softmax(input, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    r"""Log-softmax module along ``dim``, :math:`x_i - \log \sum_j e^{x_j}`,
    as ``torch.nn.LogSoftmax`` (:func:`lucid_fx.nn.functional.log_softmax`).

    Examples:
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> [round(v, 4) for v in nn.LogSoftmax(dim=0)(Tensor([0.0, 0.0])).tolist()]
      [-0.6931, -0.6931]
    """

    def forward(self, input: Any) -> Any:  # noqa: A002
        return F.log_softmax(input, dim=self.dim)


class Tanh(Module):
    r"""Tanh module, :math:`\tanh x`.

    Shape:
      - Input: any shape.
      - Output: the input's shape and dtype.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> nn.Tanh()(Tensor([0.0]))
      Tensor([0.0])
    """

    def forward(self, input: Any) -> Any:  # noqa: A002
        return F.tanh(input)


class Identity(Module):
    """Returns its input unchanged; any constructor arguments are ignored
    (as ``lucid.nn.Identity(*args, **kwargs)`` and PyTorch).

    Examples:
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> nn.Identity(54, unused="x")(Tensor([1.0]))
      Tensor([1.0])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Any) -> Any:  # noqa: A002
        return input
