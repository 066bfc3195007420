"""Parameter: a Tensor that a Module registers and an optimizer updates."""

from __future__ import annotations

from typing import Any

from lucid_fx._tensor import Tensor
from lucid_fx._typing import DTypeLike


class Parameter(Tensor):
    """A floating Tensor that requires grad and is registered by ``Module``.

    Assigning a Parameter to a Module attribute registers it, so it appears in
    ``parameters()``, ``state_dict()`` and optimizers.

    lucid's signature: ``Parameter(data, dtype)`` positionally, so
    ``Parameter(x, jnp.bfloat16)`` sets the dtype (PyTorch's second positional
    argument is ``requires_grad``; here it is keyword-only). As in lucid,
    ``keep_grad`` is ``True``.

    Args:
      data: the initial value (anything ``Tensor`` accepts, floating).
      dtype: convert the data to this dtype. Default: inferred (Python numbers
        and lists become float32).
      requires_grad: keyword-only; default ``True``.

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
        self, data: Any, dtype: DTypeLike | None = None, *, requires_grad: bool = True
    ) -> None:
        if isinstance(dtype, bool):
            raise TypeError(
                "Parameter: the second argument is dtype (lucid's order), got a "
                "bool. Pass requires_grad=... by keyword."
            )
        super().__init__(data, requires_grad=requires_grad, keep_grad=True, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter" + super().__repr__().removeprefix("Tensor")
