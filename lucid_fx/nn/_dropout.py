"""Dropout modules: ``Dropout Dropout1d Dropout2d Dropout3d AlphaDropout``."""

from __future__ import annotations

from typing import Any

from lucid_fx.nn import functional as F
from lucid_fx.nn._configured import Configured, setting


class Dropout(Configured):
    r"""Dropout module: in training, zero each element with probability ``p``
    and scale the rest by ``1/(1-p)``; in ``eval()`` mode, the identity.

    Masks come from :mod:`lucid_fx.random` (a new key every call; seed it for
    reproducible masks). Holds a frozen :class:`lucid_fx.layers.Dropout`
    config (the variants hold theirs).

    Args:
      p: drop probability in [0, 1]. Default 0.5.

    Shape:
      - Input: any shape (``Dropout1d/2d/3d``: ``(N, C, *spatial)``).
      - Output: the input's shape.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> drop = nn.Dropout(p=0.25)
      >>> drop
      Dropout(p=0.25)
      >>> x = Tensor([1.0, 2.0])
      >>> drop.eval()(x) is x
      True
    """

    _config_fields = ("p",)
    _layer, _function = "Dropout", "dropout"
    p = setting("p")

    def __init__(self, p: float = 0.5) -> None:
        super().__init__(p)

    def forward(self, input: Any) -> Any:  # noqa: A002
        return getattr(F, self._function)(input, self.config.p, self.training)


class Dropout1d(Dropout):
    """Zero whole channels of ``(N, C, L)`` inputs; see :class:`Dropout`.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> nn.Dropout1d(0.25)
      Dropout1d(p=0.25)
    """

    _layer, _function = "Dropout1d", "dropout1d"


class Dropout2d(Dropout):
    """Zero whole channels of ``(N, C, H, W)`` inputs; see :class:`Dropout`.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> nn.Dropout2d(0.25)
      Dropout2d(p=0.25)
    """

    _layer, _function = "Dropout2d", "dropout2d"


class Dropout3d(Dropout):
    """Zero whole channels of ``(N, C, D, H, W)`` inputs; see :class:`Dropout`.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> nn.Dropout3d(0.25)
      Dropout3d(p=0.25)
    """

    _layer, _function = "Dropout3d", "dropout3d"


class AlphaDropout(Dropout):
    """SELU-preserving dropout; see :func:`lucid_fx.functional.alpha_dropout`.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> nn.AlphaDropout(0.25)
      AlphaDropout(p=0.25)
    """

    _layer, _function = "AlphaDropout", "alpha_dropout"
