"""Parameter: a Tensor that a Module registers and an optimizer updates."""

from __future__ import annotations

from typing import Any

from lucid_fx._tensor import Tensor
from lucid_fx._typing import DTypeLike


class Parameter(Tensor):
    """A floating Tensor that requires grad and is registered by ``Module``.

    Assigning a Parameter to a Module attribute registers it, so it appears in
    ``parameters()``, ``state_dict()`` and optimizers.

    Args:
      data: the initial value (anything ``Tensor`` accepts, floating).
      requires_grad: default ``True``.
      dtype: convert the data to this dtype. Default: inferred.

    Examples:
      >>> from lucid_fx.nn import Parameter
      >>> w = Parameter([1.0, 2.0])
      >>> w
      Parameter([1.0, 2.0], grad=None)
      >>> w.requires_grad, w.is_leaf
      (True, True)
    """

    __slots__ = ()

    def __init__(
        self, data: Any, requires_grad: bool = True, dtype: DTypeLike | None = None
    ) -> None:
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter" + super().__repr__().removeprefix("Tensor")
