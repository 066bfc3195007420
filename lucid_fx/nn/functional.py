"""Tensor-level functions (lucid's ``F``): taped on Tensors, pure on arrays.

Each function takes Tensors (recorded on the tape, compiled once per shape and
dtype) or plain JAX/numpy arrays (then it is a pure JAX function that composes
with ``jax.jit`` and ``jax.vmap``).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from lucid_fx import _validate
from lucid_fx import functional as _core
from lucid_fx._tensor import lift, lift_inplace

__all__ = [
    "cross_entropy",
    "leaky_relu",
    "leaky_relu_",
    "linear",
    "mse_loss",
    "relu",
]

_REDUCTIONS = ("mean", "sum", "none")


def _leaky_relu_static(x: jax.Array, *, negative_slope: float) -> jax.Array:
    return _core.leaky_relu(x, negative_slope)


_leaky_relu_static_op = lift(_leaky_relu_static, "leaky_relu")
_leaky_relu_array_op = lift(_core.leaky_relu, "leaky_relu")


def leaky_relu(input: Any, negative_slope: Any = 0.01) -> Any:  # noqa: A002
    r"""Leaky ReLU on a Tensor or array: ``x`` where ``x > 0``, else ``slope * x``.

    .. math::

        y = \begin{cases} x & x > 0 \\ \alpha x & \text{otherwise} \end{cases}
        \qquad
        \frac{\partial y}{\partial x} =
        \begin{cases} 1 & x > 0 \\ \alpha & \text{otherwise} \end{cases}

    The gradient at ``x == 0`` is ``negative_slope``. A number slope is static
    (compiled in); a Tensor slope is differentiable (e.g. learned per channel).

    Args:
      input: a Tensor or real array.
      negative_slope: a finite number, or a Tensor/array broadcastable to
        ``input``. Default ``0.01``.

    Returns:
      A Tensor (or array, for array input) of the input's shape and dtype.

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> x = Tensor([-2.0, 0.0, 3.0], requires_grad=True)
      >>> y = F.leaky_relu(x, 0.25)
      >>> y
      Tensor([-0.5, 0.0, 3.0], grad=None)
      >>> y.backward()
      >>> x.grad
      Tensor([0.25, 0.25, 1.0])
    """
    if type(negative_slope) is float and math.isfinite(negative_slope):
        # Fast path for the common case; + 0.0 normalises -0.0 as the check does.
        return _leaky_relu_static_op(input, negative_slope=negative_slope + 0.0)
    if _validate.is_python_scalar(negative_slope):
        slope = _validate.check_slope_number(negative_slope, "leaky_relu")
        return _leaky_relu_static_op(input, negative_slope=slope)
    return _leaky_relu_array_op(input, negative_slope)


def _relu(x: jax.Array) -> jax.Array:
    # PyTorch's relu: +0.0 for every x <= 0 (also -inf, where leaky_relu with
    # slope 0 gives NaN), NaN stays NaN; autodiff of `where` gives 1 for x > 0.
    return jnp.where((x > 0) | jnp.isnan(x), x, jnp.zeros((), x.dtype))


_relu_op = lift(_relu, "relu")


_leaky_relu_inplace_op = lift_inplace(_leaky_relu_static, "leaky_relu_")


def leaky_relu_(input: Any, negative_slope: float = 0.01) -> Any:  # noqa: A002
    r"""In-place :func:`leaky_relu` of a Tensor, as ``torch.nn.functional.leaky_relu_``.

    The Tensor's buffer is donated to XLA, which writes the result into it, and
    the Tensor is rebound to the result: no new memory. The op joins the
    tensor's autograd history; a leaf that requires grad raises
    ``RuntimeError``. For plain JAX arrays the idiom is
    ``jax.jit(leaky_relu, donate_argnums=0)``.

    Args:
      input: the Tensor to modify.
      negative_slope: a finite number. Default ``0.01``.

    Returns:
      ``input`` itself.

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> t = Tensor([-2.0, 0.0, 3.0])
      >>> F.leaky_relu_(t, 0.25) is t, t
      (True, Tensor([-0.5, 0.0, 3.0]))
    """
    slope = _validate.check_slope_number(negative_slope, "leaky_relu_")
    return _leaky_relu_inplace_op(input, negative_slope=slope)


def relu(input: Any) -> Any:  # noqa: A002
    r"""ReLU: ``max(x, 0)``, with gradient 0 at ``x == 0`` (as PyTorch).

    Unlike :func:`leaky_relu` with ``negative_slope=0`` it gives ``+0.0`` for
    every ``x <= 0``, ``-inf`` included (as PyTorch); NaN stays NaN.

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> F.relu(Tensor([-1.0, 0.0, 2.0]))
      Tensor([0.0, 0.0, 2.0])
    """
    return _relu_op(input)


def _linear(x: jax.Array, weight: jax.Array, bias: jax.Array | None) -> jax.Array:
    if weight.ndim != 2:
        raise ValueError(
            f"linear: weight must be 2-D (out_features, in_features), got shape "
            f"{weight.shape}."
        )
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: input of shape {tuple(x.shape)} does not match weight of shape "
            f"{tuple(weight.shape)}: the input's last dimension must be "
            f"in_features={weight.shape[1]}."
        )
    out = x @ weight.T
    return out if bias is None else out + bias


_linear_op = lift(_linear, "linear")


def linear(input: Any, weight: Any, bias: Any = None) -> Any:  # noqa: A002
    r"""Affine map :math:`y = x W^T + b`, as ``torch.nn.functional.linear``.

    Args:
      input: Tensor or array of shape ``(*, in_features)``.
      weight: shape ``(out_features, in_features)``.
      bias: shape ``(out_features,)`` or ``None``.

    Returns:
      Shape ``(*, out_features)``.

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> w = Tensor([[1.0, 1.0], [0.0, 1.0]])
      >>> F.linear(Tensor([[1.0, 2.0]]), w, Tensor([0.5, 0.0]))
      Tensor([[3.5, 2.0]])
    """
    return _linear_op(input, weight, bias)


def _check_reduction(reduction: str, api: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"{api}: reduction must be one of {_REDUCTIONS}, got {reduction!r}."
        )


def _reduce(values: jax.Array, reduction: str) -> jax.Array:
    if reduction == "mean":
        return values.mean()
    return values.sum() if reduction == "sum" else values


def _mse(x: jax.Array, target: jax.Array, *, reduction: str) -> jax.Array:
    if x.shape != target.shape:
        raise ValueError(
            f"mse_loss: input shape {tuple(x.shape)} and target shape "
            f"{tuple(target.shape)} must match."
        )
    return _reduce((x - target.astype(x.dtype)) ** 2, reduction)


_mse_op = lift(_mse, "mse_loss")


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Any:  # noqa: A002
    r"""Mean squared error :math:`\frac{1}{n}\sum (x - t)^2` (or its sum / none).

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> F.mse_loss(Tensor([1.0, 3.0]), Tensor([0.0, 0.0]))
      Tensor(5.0)
    """
    _check_reduction(reduction, "mse_loss")
    return _mse_op(input, target, reduction=reduction)


def _cross_entropy(logits: jax.Array, target: jax.Array, *, reduction: str) -> Any:
    if logits.ndim != 2:
        raise ValueError(
            f"cross_entropy: input must be (batch, classes) logits, got shape "
            f"{tuple(logits.shape)}."
        )
    log_probs = jax.nn.log_softmax(logits, axis=-1)
    if jnp.issubdtype(target.dtype, jnp.integer):
        if target.shape != logits.shape[:1]:
            raise ValueError(
                f"cross_entropy: class-index target must have shape "
                f"{tuple(logits.shape[:1])}, got {tuple(target.shape)}."
            )
        picked = jnp.take_along_axis(log_probs, target[:, None], axis=-1)[:, 0]
        return _reduce(-picked, reduction)
    if target.shape != logits.shape:
        raise ValueError(
            f"cross_entropy: probability target must have the input's shape "
            f"{tuple(logits.shape)}, got {tuple(target.shape)}."
        )
    return _reduce(-(target.astype(logits.dtype) * log_probs).sum(-1), reduction)


_cross_entropy_op = lift(_cross_entropy, "cross_entropy")


def cross_entropy(input: Any, target: Any, reduction: str = "mean") -> Any:  # noqa: A002
    r"""Softmax cross-entropy of logits, as ``torch.nn.functional.cross_entropy``.

    .. math::

        \ell_n = -\log \frac{e^{x_{n, t_n}}}{\sum_c e^{x_{n,c}}}

    Args:
      input: logits of shape ``(batch, classes)``.
      target: class indices of shape ``(batch,)`` (integer), or class
        probabilities of the input's shape (floating).
      reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> target = Tensor([1], dtype="int32")  # class indices are integers
      >>> round(F.cross_entropy(Tensor([[0.0, 0.0]]), target).item(), 6)
      0.693147
    """
    _check_reduction(reduction, "cross_entropy")
    return _cross_entropy_op(input, target, reduction=reduction)
