"""Normalization modules: ``BatchNorm1d/2d/3d``, ``InstanceNorm1d/2d``, ``LayerNorm``.

Running statistics are buffers with PyTorch's names (``running_mean``,
``running_var``, ``num_batches_tracked``), so PyTorch checkpoints load. In
training each forward replaces the buffers' arrays with the updated ones.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from lucid_fx._tensor import Tensor
from lucid_fx.functional import _args
from lucid_fx.functional._norm import check_floating, normalized_shape_arg
from lucid_fx.nn import functional as F
from lucid_fx.nn._module import Module
from lucid_fx.nn._parameter import Parameter


class _NormBase(Module):
    _ranks: tuple[int, ...] = ()
    _instance = False

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        super().__init__()
        api = type(self).__name__
        self.num_features = _args.integer(num_features, api, "num_features", low=1)
        self.eps = _args.number(eps, api, "eps", low=0.0)
        self.momentum = (
            None if momentum is None else _args.number(momentum, api, "momentum", 0.0)
        )
        self.affine = _args.flag(affine, api, "affine")
        self.track_running_stats = _args.flag(
            track_running_stats, api, "track_running_stats"
        )
        if self.affine:
            self.weight = Parameter(jnp.ones((num_features,), jnp.float32))
            self.bias = Parameter(jnp.zeros((num_features,), jnp.float32))
        else:
            self.weight = self.bias = None
        if self.track_running_stats:
            self.register_buffer("running_mean", Tensor(jnp.zeros((num_features,))))
            self.register_buffer("running_var", Tensor(jnp.ones((num_features,))))
            self.register_buffer(
                "num_batches_tracked", Tensor(jnp.zeros((), jnp.int32))
            )
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def _check_input(self, input: Any) -> None:  # noqa: A002
        """Shape and dtype, before any buffer (or the batch count) changes."""
        check_floating(input.dtype, type(self).__name__)
        shape = tuple(input.shape)
        if len(shape) not in self._ranks or shape[1] != self.num_features:
            ranks = " or ".join(f"{r}-D" for r in self._ranks)
            raise ValueError(
                f"{type(self).__name__}: expected {ranks} input (N, "
                f"C={self.num_features}, ...), got shape {shape}."
            )

    def forward(self, input: Any) -> Any:  # noqa: A002
        self._check_input(input)
        use_batch = self.training or not self.track_running_stats
        fn = F.instance_norm if self._instance else F.batch_norm
        # Running statistics are passed only to normalize (eval); in training
        # they are updated below, so momentum=None (cumulative) works too.
        out = fn(
            input,
            None if use_batch else self.running_mean,
            None if use_batch else self.running_var,
            self.weight,
            self.bias,
            use_batch,
            0.1,
            self.eps,
        )
        if self.training and self.track_running_stats:
            momentum = self.momentum
            if self._instance:  # PyTorch: no count; momentum=None means 0
                momentum = 0.0 if momentum is None else momentum
            else:
                count = self.num_batches_tracked
                new_count = count.data + 1
                if F.writable(count, new_count):
                    count.data = new_count
                if momentum is None:  # cumulative moving average, as PyTorch
                    momentum = 1.0 / count.data.astype(jnp.float32)
            F.update_running_stats(
                input, self.running_mean, self.running_var, momentum, self._instance
            )
        return out

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


_BN_DOC = r"""Batch normalization over {what}, as ``torch.nn.{name}``.

    .. math::

        y = \frac{{x - \mu_c}}{{\sqrt{{\sigma_c^2 + \epsilon}}}}\,\gamma_c
        + \beta_c

    Training uses the batch statistics (biased variance) and updates the
    buffers: :math:`\hat\mu \leftarrow (1-m)\hat\mu + m\mu`, likewise the
    unbiased variance, and counts ``num_batches_tracked``
    (``momentum=None``: cumulative average). ``eval()`` normalizes with the
    running statistics. Buffers carry PyTorch's names, so a PyTorch
    ``state_dict`` loads. An integer or bool input raises ``TypeError`` and
    leaves every buffer as it was (as PyTorch).

    Args:
      num_features: channels ``C``.
      eps: added to the variance. Default ``1e-5``.
      momentum: running-statistics factor, or ``None``. Default 0.1.
      affine: learn ``weight`` (ones) and ``bias`` (zeros). Default ``True``.
      track_running_stats: keep running statistics. Default ``True``.

    Shape:
      - Input: {shapes}.
      - Output: the input's shape.

    Examples:
      >>> import jax.numpy as jnp
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> bn = nn.{name}(2)
      >>> list(bn.state_dict())
      ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
      >>> x = Tensor(jnp.arange(8.0).reshape({example}))
      >>> bn(x).shape, bn.num_batches_tracked.item()
      ({example}, 1)
    """


class BatchNorm1d(_NormBase):  # noqa: D101
    _ranks = (2, 3)


class BatchNorm2d(_NormBase):  # noqa: D101
    _ranks = (4,)


class BatchNorm3d(_NormBase):  # noqa: D101
    _ranks = (5,)


for _cls, _what, _shapes, _example in (
    (BatchNorm1d, "``(N, C)`` or ``(N, C, L)``", "``(N, C)`` or ``(N, C, L)``", (4, 2)),
    (BatchNorm2d, "``(N, C, H, W)``", "``(N, C, H, W)``", (2, 2, 1, 2)),
    (BatchNorm3d, "``(N, C, D, H, W)``", "``(N, C, D, H, W)``", (2, 2, 1, 1, 2)),
):
    _cls.__doc__ = _BN_DOC.format(
        what=_what, name=_cls.__name__, shapes=_shapes, example=_example
    )


class _InstanceNorm(_NormBase):
    _instance = True

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of ``(N, C, L)``, as ``torch.nn.InstanceNorm1d``.

    Each sample's channel is normalized over its length; PyTorch's defaults
    (``affine=False``, ``track_running_stats=False``). See
    :func:`lucid_fx.functional.instance_norm`.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> nn.InstanceNorm1d(1, eps=0.0)(Tensor([[[1.0, 3.0]]]))
      Tensor([[[-1.0, 1.0]]])
    """

    _ranks = (3,)


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of ``(N, C, H, W)``, as ``torch.nn.InstanceNorm2d``.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> nn.InstanceNorm2d(1, eps=0.0)(Tensor([[[[1.0, 3.0]]]]))
      Tensor([[[[-1.0, 1.0]]]])
    """

    _ranks = (4,)


class LayerNorm(Module):
    r"""Layer normalization over the trailing ``normalized_shape``, as
    ``torch.nn.LayerNorm``.

    .. math::

        y = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} \odot \gamma + \beta

    Args:
      normalized_shape: int or tuple: the trailing shape to normalize. A
        non-floating input raises ``TypeError`` (as PyTorch).
      eps: added to the variance. Default ``1e-5``.
      elementwise_affine: learn ``weight`` (ones) and ``bias``. Default ``True``.
      bias: learn ``bias`` (zeros) when affine. Default ``True``.

    Shape:
      - Input: ``(*, *normalized_shape)``.
      - Output: the input's shape.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> ln = nn.LayerNorm(2, eps=0.0)
      >>> ln, ln(Tensor([[1.0, 3.0]])).tolist()
      (LayerNorm((2,), eps=0.0, elementwise_affine=True), [[-1.0, 1.0]])
    """

    def __init__(
        self,
        normalized_shape: int | tuple,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__()
        api = "LayerNorm"
        shape = normalized_shape_arg(normalized_shape, api)
        self.normalized_shape = tuple(
            _args.integer(d, api, "normalized_shape", 1) for d in shape
        )
        self.eps = _args.number(eps, api, "eps", low=0.0)
        self.elementwise_affine = _args.flag(
            elementwise_affine, api, "elementwise_affine"
        )
        _args.flag(bias, api, "bias")
        affine = self.elementwise_affine
        self.weight = Parameter(jnp.ones(shape, jnp.float32)) if affine else None
        self.bias = (
            Parameter(jnp.zeros(shape, jnp.float32)) if affine and bias else None
        )

    def forward(self, input: Any) -> Any:  # noqa: A002
        check_floating(input.dtype, "LayerNorm")
        return F.layer_norm(
            input, self.normalized_shape, self.weight, self.bias, self.eps
        )

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}"
        )
