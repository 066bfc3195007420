"""Loss modules, as PyTorch tutorials write them: ``nn.CrossEntropyLoss()(x, t)``."""

from __future__ import annotations

from typing import Any

from lucid_fx._tensor import Tensor
from lucid_fx.functional import _args
from lucid_fx.nn import functional as F
from lucid_fx.nn._module import Module


class _Loss(Module):
    def __init__(self, reduction: str | None, weight: Any = None) -> None:
        super().__init__()
        self.reduction = _args.reduction(reduction, type(self).__name__)
        # As PyTorch: a class weight is a buffer, so it travels with state_dict.
        self._register_weight("weight", weight)

    def _register_weight(self, name: str, value: Any) -> None:
        if value is not None and not isinstance(value, Tensor):
            value = Tensor(value)
        self.register_buffer(name, value)

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    r"""Mean squared error module, :math:`(x - t)^2` reduced.

    Args:
      reduction: ``"mean"`` (default), ``"sum"``, ``"none"`` or ``None``.

    Shape:
      - Input and target: the same shape.
      - Output: scalar, or the input's shape for ``"none"``.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> nn.MSELoss()(Tensor([1.0, 3.0]), Tensor([0.0, 0.0]))
      Tensor(5.0)
    """

    def __init__(self, reduction: str | None = "mean") -> None:
        super().__init__(reduction)

    def forward(self, input: Any, target: Any) -> Any:  # noqa: A002
        return F.mse_loss(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    r"""Huber loss module: squared below ``delta``, linear above.

    Args:
      reduction: ``"mean"`` (default), ``"sum"``, ``"none"`` or ``None``.
      delta: threshold > 0. Default ``1.0``.

    Shape:
      - Input and target: the same shape.
      - Output: scalar, or the input's shape for ``"none"``.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> nn.HuberLoss(delta=1.0)(Tensor([3.0]), Tensor([0.0]))
      Tensor(2.5)
    """

    def __init__(self, reduction: str | None = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = _args.number(delta, "HuberLoss", "delta", low=0.0)

    def forward(self, input: Any, target: Any) -> Any:  # noqa: A002
        return F.huber_loss(input, target, self.delta, self.reduction)


class BCELoss(_Loss):
    r"""Binary cross-entropy of probabilities, clipped to ``[eps, 1 - eps]``.

    Args:
      weight: per-element rescaling (broadcastable), or ``None``.
      reduction: ``"mean"`` (default), ``"sum"``, ``"none"`` or ``None``.
      eps: lucid's clip margin. Default ``1e-7``.

    Shape:
      - Input and target: the same shape, input in [0, 1].
      - Output: scalar, or the input's shape for ``"none"``.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> round(nn.BCELoss()(Tensor([0.5]), Tensor([1.0])).item(), 6)
      0.693147
    """

    def __init__(
        self, weight: Any = None, reduction: str | None = "mean", eps: float = 1e-7
    ) -> None:
        super().__init__(reduction, weight)
        self.eps = _args.number(eps, "BCELoss", "eps", low=0.0)

    def forward(self, input: Any, target: Any) -> Any:  # noqa: A002
        return F.binary_cross_entropy(
            input, target, self.weight, self.reduction, self.eps
        )


class BCEWithLogitsLoss(_Loss):
    r"""Binary cross-entropy of logits (sigmoid inside, stable).

    Args:
      weight: per-element rescaling (broadcastable), or ``None``.
      reduction: ``"mean"`` (default), ``"sum"``, ``"none"`` or ``None``.
      pos_weight: weight of positive examples, or ``None``.

    Shape:
      - Input and target: the same shape.
      - Output: scalar, or the input's shape for ``"none"``.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> round(nn.BCEWithLogitsLoss()(Tensor([0.0]), Tensor([1.0])).item(), 6)
      0.693147
    """

    def __init__(
        self,
        weight: Any = None,
        reduction: str | None = "mean",
        pos_weight: Any = None,
    ) -> None:
        super().__init__(reduction, weight)
        self._register_weight("pos_weight", pos_weight)

    def forward(self, input: Any, target: Any) -> Any:  # noqa: A002
        return F.binary_cross_entropy_with_logits(
            input, target, self.weight, self.reduction, self.pos_weight
        )


class NLLLoss(_Loss):
    r"""Negative log-likelihood of log-probabilities and class indices.

    Args:
      weight: per-class weights ``(C,)``, or ``None``.
      reduction: ``"mean"`` (default), ``"sum"``, ``"none"`` or ``None``.
      ignore_index: a label that contributes nothing. Default ``-100``.

    Shape:
      - Input: ``(N, C)`` or ``(N, C, d1, ...)``; target ``(N,)`` or
        ``(N, d1, ...)``.
      - Output: scalar, or the target's shape for ``"none"``.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> nn.NLLLoss()(Tensor([[-1.0, -2.0]]), Tensor([1]))
      Tensor(2.0)
    """

    def __init__(
        self,
        weight: Any = None,
        reduction: str | None = "mean",
        ignore_index: int = -100,
    ) -> None:
        super().__init__(reduction, weight)
        self.ignore_index = _args.integer(
            ignore_index, "NLLLoss", "ignore_index", -(2**31)
        )

    def forward(self, input: Any, target: Any) -> Any:  # noqa: A002
        return F.nll_loss(input, target, self.weight, self.reduction, self.ignore_index)


class CrossEntropyLoss(_Loss):
    r"""Softmax cross-entropy of logits, with class-index or probability targets.

    Args:
      weight: per-class weights ``(C,)``, or ``None``.
      reduction: ``"mean"`` (default), ``"sum"``, ``"none"`` or ``None``.
      eps: lucid's argument, unused (see
        :func:`lucid_fx.nn.functional.cross_entropy`). Default ``1e-7``.
      ignore_index: a label that contributes nothing. Default ``-100``.

    Shape:
      - Input: ``(N, C)`` or ``(N, C, d1, ...)``; target ``(N, d1, ...)``
        class indices or probabilities of the input's shape.
      - Output: scalar, or per sample for ``"none"``.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> loss = nn.CrossEntropyLoss()(Tensor([[0.0, 0.0]]), Tensor([1.0]))
      >>> round(loss.item(), 6)
      0.693147
    """

    def __init__(
        self,
        weight: Any = None,
        reduction: str | None = "mean",
        eps: float = 1e-7,
        ignore_index: int = -100,
    ) -> None:
        super().__init__(reduction, weight)
        self.eps = _args.number(eps, "CrossEntropyLoss", "eps", low=0.0)
        self.ignore_index = _args.integer(
            ignore_index, "CrossEntropyLoss", "ignore_index", -(2**31)
        )

    def forward(self, input: Any, target: Any) -> Any:  # noqa: A002
        return F.cross_entropy(
            input, target, self.weight, self.reduction, self.eps, self.ignore_index
        )
