"""Tensor-level functions (lucid's ``F``): taped on Tensors, pure on arrays.

Each function takes Tensors (recorded on the tape, compiled once per shape and
dtype) or plain JAX/numpy arrays (then it is a pure JAX function that composes
with ``jax.jit`` and ``jax.vmap``).
"""

from __future__ import annotations

import contextvars
import functools
import math
import sys
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx import _validate, random
from lucid_fx import functional as _core
from lucid_fx._tensor import Tensor, _tape, lift, lift_inplace, no_grad
from lucid_fx._tensor._ops import unwrap
from lucid_fx.functional import _args as _core_args
from lucid_fx.functional._norm import check_floating, normalized_shape_arg
from lucid_fx.functional._opmath import exact_products

__all__ = [
    "batch_norm",
    "instance_norm",
    "layer_norm",
    "alpha_dropout",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "bilinear",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "conv1d",
    "conv2d",
    "conv3d",
    "cross_entropy",
    "elu",
    "gelu",
    "huber_loss",
    "leaky_relu",
    "leaky_relu_",
    "linear",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "mse_loss",
    "nll_loss",
    "relu",
    "relu_",
    "selu",
    "sigmoid",
    "softmax",
    "log_softmax",
    "tanh",
    "unfold",
]


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


@exact_products
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


# ------------------------------------------------------------------ activations
_relu_op = lift(_core.relu, "relu")
_relu_inplace_op = lift_inplace(_core.relu, "relu_")
_elu_op = lift(_core.elu, "elu")
_selu_op = lift(_core.selu, "selu")
_gelu_op = lift(_core.gelu, "gelu")
_sigmoid_op = lift(_core.sigmoid, "sigmoid")
_tanh_op = lift(_core.tanh, "tanh")


def relu(input: Any) -> Any:  # noqa: A002
    r"""ReLU :math:`\max(x, 0)`; see :func:`lucid_fx.functional.relu`.

    Gradient 0 at ``x == 0`` (PyTorch, lucid); ``+0.0`` for every ``x <= 0``.

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> x = Tensor([-1.0, 0.0, 2.0], requires_grad=True)
      >>> F.relu(x).sum().backward()
      >>> F.relu(x.detach()), x.grad
      (Tensor([0.0, 0.0, 2.0]), Tensor([0.0, 0.0, 1.0]))
    """
    return _relu_op(input)


def relu_(input: Any) -> Any:  # noqa: A002
    """In-place :func:`relu` of a Tensor (as ``torch.nn.functional.relu_``).

    Same buffer and autograd rules as :func:`leaky_relu_`.

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> t = Tensor([-1.0, 2.0])
      >>> F.relu_(t) is t, t
      (True, Tensor([0.0, 2.0]))
    """
    return _relu_inplace_op(input)


def elu(input: Any, alpha: float = 1.0) -> Any:  # noqa: A002
    r"""ELU: ``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``.

    Gradient ``alpha * exp(x)`` for ``x <= 0`` (so ``alpha`` at 0, as
    PyTorch); see :func:`lucid_fx.functional.elu`.

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> x = Tensor([0.0, 2.0], requires_grad=True)
      >>> F.elu(x, alpha=0.5).sum().backward()
      >>> x.grad
      Tensor([0.5, 1.0])
    """
    alpha = _core_args.number(alpha, "elu", "alpha")
    return _elu_op(input, alpha=alpha)


def selu(input: Any) -> Any:  # noqa: A002
    r"""SELU: :math:`\lambda\,\mathrm{elu}(x, \alpha)` with the self-normalising
    constants; see :func:`lucid_fx.functional.selu`.

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> F.selu(Tensor([0.0, 1.0])).tolist()[0]
      0.0
    """
    return _selu_op(input)


def gelu(input: Any, approximate: str = "tanh") -> Any:  # noqa: A002
    r"""GELU; lucid's tanh approximation by default, ``approximate="none"``
    for the exact erf form (PyTorch's default); see
    :func:`lucid_fx.functional.gelu`.

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> round(F.gelu(Tensor([1.0])).item(), 4)
      0.8412
      >>> round(F.gelu(Tensor([1.0]), approximate="none").item(), 4)
      0.8413
    """
    if approximate not in ("tanh", "none"):
        raise ValueError(
            f"gelu: approximate must be 'tanh' or 'none', got {approximate!r}."
        )
    return _gelu_op(input, approximate=approximate)


def sigmoid(input: Any) -> Any:  # noqa: A002
    r"""Logistic sigmoid :math:`1/(1+e^{-x})`, gradient :math:`y(1-y)`.

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> F.sigmoid(Tensor([0.0]))
      Tensor([0.5])
    """
    return _sigmoid_op(input)


def tanh(input: Any) -> Any:  # noqa: A002
    r"""Hyperbolic tangent, gradient :math:`1 - y^2`.

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> F.tanh(Tensor([0.0]))
      Tensor([0.0])
    """
    return _tanh_op(input)


_softmax_op = lift(_core.softmax, "softmax")
_log_softmax_op = lift(_core.log_softmax, "log_softmax")


def _softmax_dim(api: str, dim: Any, axis: Any) -> int:
    if dim is None and axis is None:
        raise TypeError(
            f"{api}: pass the axis that is normalised, dim=... (PyTorch no longer "
            f"picks one for you), e.g. {api}(logits, dim=-1)."
        )
    if dim is not None and axis is not None:
        raise TypeError(f"{api}: got both dim={dim!r} and axis={axis!r}; pass one.")
    chosen = dim if axis is None else axis
    _validate.check_concrete(chosen, api, "dim")  # a traced number: fall back
    # Checked here, before the lifted op and its compile cache (1.0 == 1); any
    # sign (the pure function checks the range).
    return _core_args.integer(chosen, api, "dim", low=-sys.maxsize)


def softmax(input: Any, dim: int | None = None, *, axis: int | None = None) -> Any:  # noqa: A002
    r"""Softmax along ``dim`` (:func:`lucid_fx.functional.softmax`), as
    ``torch.nn.functional.softmax``; ``axis`` is lucid's name for ``dim``.

    :math:`y_i = e^{x_i} / \sum_j e^{x_j}` over ``dim``, computed stably.

    Raises:
      TypeError: if neither or both of ``dim`` and ``axis`` are given, or
        ``dim`` is not an int (a float or bool raises, as PyTorch).
      ValueError: if ``dim`` is out of range.

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> F.softmax(Tensor([[0.0, 0.0], [1.0, 1.0]]), dim=1).tolist()
      [[0.5, 0.5], [0.5, 0.5]]
    """
    return _softmax_op(input, axis=_softmax_dim("softmax", dim, axis))


def log_softmax(input: Any, dim: int | None = None, *, axis: int | None = None) -> Any:  # noqa: A002
    r"""Log-softmax along ``dim`` (:func:`lucid_fx.functional.log_softmax`), as
    ``torch.nn.functional.log_softmax``: :math:`x_i - \log \sum_j e^{x_j}`.

    Raises:
      TypeError: if neither or both of ``dim`` and ``axis`` are given, or
        ``dim`` is not an int (a float or bool raises, as PyTorch).
      ValueError: if ``dim`` is out of range.

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> [round(v, 4) for v in F.log_softmax(Tensor([0.0, 0.0]), dim=0).tolist()]
      [-0.6931, -0.6931]
    """
    return _log_softmax_op(input, axis=_softmax_dim("log_softmax", dim, axis))


# ----------------------------------------------------------------------- losses
_mse_op = lift(_core.mse_loss, "mse_loss")
_huber_op = lift(_core.huber_loss, "huber_loss")
_bce_op = lift(_core.binary_cross_entropy, "binary_cross_entropy")


def _bce_logits(
    x: jax.Array, t: jax.Array, w: Any, pos_weight: Any, *, reduction: str
) -> jax.Array:
    # pos_weight may be an array (a positional, differentiable argument).
    return _core.binary_cross_entropy_with_logits(
        x, t, w, reduction, pos_weight=pos_weight
    )


_bce_logits_op = lift(_bce_logits, "binary_cross_entropy_with_logits")
_nll_op = lift(_core.nll_loss, "nll_loss")
_cross_entropy_op = lift(_core.cross_entropy, "cross_entropy")


# While lucid_fx.compile traces a step, a list: each traced class-index target
# a loss reads is noted as (array, classes, ignore_index, api), so the compiled
# step can check the concrete labels before its program runs (a traced label
# cannot raise; inside a program an invalid one counts as ignored).
TRACED_LABELS: contextvars.ContextVar[list[tuple] | None] = contextvars.ContextVar(
    "lucid_fx_traced_labels", default=None
)


def _check_labels(input: Any, target: Any, ignore_index: int, api: str) -> None:  # noqa: A002
    """Check concrete class-index targets before the compiled op traces them;
    note traced ones for ``lucid_fx.compile`` (``TRACED_LABELS``)."""
    # The input's shape only: reading a Tensor's data would compute a deferred
    # forward here, one op at a time, instead of in backward's fused program.
    x, t = input, unwrap(target)
    if not hasattr(x, "shape"):
        return
    t_shape = getattr(t, "shape", None)
    if t_shape is None:
        t = np.asarray(t)
        t_shape = t.shape
    if len(x.shape) < 2 or tuple(t_shape) != tuple(x.shape[:1] + x.shape[2:]):
        return
    if isinstance(t, jax.core.Tracer):
        uses = TRACED_LABELS.get()
        if uses is not None:
            uses.append((t, x.shape[1], ignore_index, api))
        return
    _core.check_class_target(t, x.shape[1], ignore_index, api)


def mse_loss(input: Any, target: Any, reduction: str | None = "mean") -> Any:  # noqa: A002
    r"""Mean squared error :math:`(x - t)^2`, reduced; see
    :func:`lucid_fx.functional.mse_loss`.

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> F.mse_loss(Tensor([1.0, 3.0]), Tensor([0.0, 0.0]))
      Tensor(5.0)
    """
    reduction = _core_args.reduction(reduction, "mse_loss")
    return _mse_op(input, target, reduction=reduction)


def huber_loss(
    input: Any,  # noqa: A002
    target: Any,
    delta: float = 1.0,
    reduction: str | None = "mean",
) -> Any:
    r"""Huber loss (squared below ``delta``, linear above); see
    :func:`lucid_fx.functional.huber_loss`.

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> F.huber_loss(Tensor([0.5, 3.0]), Tensor([0.0, 0.0]), reduction="sum")
      Tensor(2.625)
    """
    reduction = _core_args.reduction(reduction, "huber_loss")
    delta = _core_args.number(delta, "huber_loss", "delta")
    if not delta > 0.0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta!r}.")
    return _huber_op(input, target, delta=delta, reduction=reduction)


def binary_cross_entropy(
    input: Any,  # noqa: A002
    target: Any,
    weight: Any = None,
    reduction: str | None = "mean",
    eps: float = 1e-7,
) -> Any:
    r"""Binary cross-entropy of probabilities, clipped to ``[eps, 1 - eps]``
    (lucid's rule); see :func:`lucid_fx.functional.binary_cross_entropy`.

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> round(F.binary_cross_entropy(Tensor([0.5]), Tensor([1.0])).item(), 6)
      0.693147
    """
    reduction = _core_args.reduction(reduction, "binary_cross_entropy")
    eps = _core_args.number(eps, "binary_cross_entropy", "eps", low=0.0)
    return _bce_op(input, target, weight, reduction=reduction, eps=eps)


def binary_cross_entropy_with_logits(
    input: Any,  # noqa: A002
    target: Any,
    weight: Any = None,
    reduction: str | None = "mean",
    pos_weight: Any = None,
) -> Any:
    r"""Binary cross-entropy of logits (stable); see
    :func:`lucid_fx.functional.binary_cross_entropy_with_logits`.

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> loss = F.binary_cross_entropy_with_logits(Tensor([0.0]), Tensor([1.0]))
      >>> round(loss.item(), 6)
      0.693147
    """
    api = "binary_cross_entropy_with_logits"
    reduction = _core_args.reduction(reduction, api)
    return _bce_logits_op(input, target, weight, pos_weight, reduction=reduction)


def nll_loss(
    input: Any,  # noqa: A002
    target: Any,
    weight: Any = None,
    reduction: str | None = "mean",
    ignore_index: int = -100,
) -> Any:
    r"""Negative log-likelihood of log-probabilities; see
    :func:`lucid_fx.functional.nll_loss`.

    Concrete labels outside ``[0, C)`` (other than ``ignore_index``) raise
    ``ValueError`` before anything runs; traced ones count as ignored.

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> F.nll_loss(Tensor([[-1.0, -2.0], [-3.0, -4.0]]), Tensor([1, 0]))
      Tensor(2.5)
    """
    reduction = _core_args.reduction(reduction, "nll_loss")
    ignore_index = _core_args.integer(
        ignore_index, "nll_loss", "ignore_index", -(2**31)
    )
    _check_labels(input, target, ignore_index, "nll_loss")
    return _nll_op(
        input, target, weight, reduction=reduction, ignore_index=ignore_index
    )


def cross_entropy(
    input: Any,  # noqa: A002
    target: Any,
    weight: Any = None,
    reduction: str | None = "mean",
    eps: float = 1e-7,
    ignore_index: int = -100,
) -> Any:
    r"""Softmax cross-entropy of logits, as ``torch.nn.functional.cross_entropy``.

    .. math::

        \ell_n = -w_{t_n} \log \frac{e^{x_{n, t_n}}}{\sum_c e^{x_{n,c}}}

    Targets are class indices (integer, or floats holding whole numbers, as
    lucid users pass) of shape ``(N, d1, ...)``, or probabilities of the
    input's shape. ``eps`` is lucid's argument and is unused (the
    log-softmax is exact). Concrete out-of-range labels raise ``ValueError``
    naming the label and the class count; see
    :func:`lucid_fx.functional.cross_entropy`.

    Args:
      input: logits of shape ``(N, C)`` or ``(N, C, d1, ...)``.
      target: class indices or probabilities.
      weight: per-class weights ``(C,)`` or ``None``.
      reduction: ``"mean"`` (default), ``"sum"``, ``"none"`` or ``None``.
      eps: lucid's argument, unused. Default ``1e-7``.
      ignore_index: a label that contributes nothing. Default ``-100``.

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> target = Tensor([1], dtype="int32")  # class indices are integers
      >>> round(F.cross_entropy(Tensor([[0.0, 0.0]]), target).item(), 6)
      0.693147
    """
    reduction = _core_args.reduction(reduction, "cross_entropy")
    eps = _core_args.number(eps, "cross_entropy", "eps", low=0.0)
    ignore_index = _core_args.integer(
        ignore_index, "cross_entropy", "ignore_index", -(2**31)
    )
    _check_labels(input, target, ignore_index, "cross_entropy")
    return _cross_entropy_op(
        input,
        target,
        weight,
        reduction=reduction,
        eps=eps,
        ignore_index=ignore_index,
    )


# ----------------------------------------------------------------------- linear
@exact_products
def _bilinear(
    x1: jax.Array, x2: jax.Array, weight: jax.Array, bias: jax.Array | None
) -> jax.Array:
    if weight.ndim != 3 or x1.shape[-1:] != weight.shape[1:2]:
        raise ValueError(
            f"bilinear: weight must be (out_features, in1_features, in2_features) "
            f"matching input1 {tuple(x1.shape)} and input2 {tuple(x2.shape)}, got "
            f"{tuple(weight.shape)}."
        )
    if x2.shape[-1:] != weight.shape[2:] or x1.shape[:-1] != x2.shape[:-1]:
        raise ValueError(
            f"bilinear: input1 {tuple(x1.shape)} and input2 {tuple(x2.shape)} must "
            f"share leading dimensions and match weight {tuple(weight.shape)}."
        )
    out = jnp.einsum("...i,oij,...j->...o", x1, weight, x2)
    return out if bias is None else out + bias


_bilinear_op = lift(_bilinear, "bilinear")


def bilinear(input1: Any, input2: Any, weight: Any, bias: Any = None) -> Any:
    r"""Bilinear map :math:`y_o = x_1^T W_o x_2 + b_o`, as PyTorch's ``bilinear``.

    Gradients: :math:`\partial y_o/\partial x_1 = W_o x_2`,
    :math:`\partial y_o/\partial x_2 = W_o^T x_1`,
    :math:`\partial y_o/\partial W_o = x_1 x_2^T`.

    Args:
      input1: ``(*, in1_features)``.
      input2: ``(*, in2_features)``, same leading dimensions.
      weight: ``(out_features, in1_features, in2_features)``.
      bias: ``(out_features,)`` or ``None``.

    Returns:
      ``(*, out_features)``.

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> w = Tensor([[[1.0, 0.0], [0.0, 2.0]]])
      >>> F.bilinear(Tensor([[1.0, 1.0]]), Tensor([[3.0, 4.0]]), w)
      Tensor([[11.0]])
    """
    return _bilinear_op(input1, input2, weight, bias)


def _flatten(x: jax.Array, *, start_dim: int, end_dim: int) -> jax.Array:
    shape = x.shape
    start, end = start_dim % max(x.ndim, 1), end_dim % max(x.ndim, 1)
    merged = math.prod(shape[start : end + 1])
    return x.reshape(shape[:start] + (merged,) + shape[end + 1 :])


flatten_op = lift(_flatten, "Flatten")


# ------------------------------------------------------------ conv and pooling
def _conv_static(x: Any, weight: Any, n: int, stride, padding, dilation, groups):
    api = f"conv{n}d"
    if not isinstance(padding, str):
        padding = _core_args.ints(padding, n, api, "padding")
    return {
        "stride": _core_args.ints(stride, n, api, "stride", low=1),
        "padding": padding,
        "dilation": _core_args.ints(dilation, n, api, "dilation", low=1),
        "groups": _core_args.integer(groups, api, "groups", low=1),
    }


_conv_ops = {
    1: lift(_core.conv1d, "conv1d"),
    2: lift(_core.conv2d, "conv2d"),
    3: lift(_core.conv3d, "conv3d"),
}


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    r"""1-D convolution of ``(N, C_in, L)``; see :func:`lucid_fx.functional.conv1d`.

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> F.conv1d(Tensor([[[1.0, 2.0, 3.0]]]), Tensor([[[1.0, -1.0]]]))
      Tensor([[[-1.0, -1.0]]])
    """
    kw = _conv_static(input, weight, 1, stride, padding, dilation, groups)
    return _conv_ops[1](input, weight, bias, **kw)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    r"""2-D convolution of ``(N, C_in, H, W)``; see
    :func:`lucid_fx.functional.conv2d` (padding ``'same'``/``'valid'``/int/tuple).

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> x = Tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
      >>> F.conv2d(x, Tensor([[[[1.0]]]]), Tensor([0.5]), padding="same")
      Tensor([[[[1.5, 2.5], [3.5, 4.5]]]])
    """
    kw = _conv_static(input, weight, 2, stride, padding, dilation, groups)
    return _conv_ops[2](input, weight, bias, **kw)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    r"""3-D convolution of ``(N, C_in, D, H, W)``; see
    :func:`lucid_fx.functional.conv3d`.

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> F.conv3d(Tensor([[[[[2.0]]]]]), Tensor([[[[[3.0]]]]]))
      Tensor([[[[[6.0]]]]])
    """
    kw = _conv_static(input, weight, 3, stride, padding, dilation, groups)
    return _conv_ops[3](input, weight, bias, **kw)


_unfold_op = lift(_core.unfold, "unfold")


def unfold(input, filter_size, stride=1, padding=0, dilation=1):  # noqa: A002
    r"""Sliding patches as columns ``(N, C * prod(k), L)`` in lucid's argument
    order; see :func:`lucid_fx.functional.unfold`. A float or bool size raises
    ``TypeError`` (as PyTorch).

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> F.unfold(Tensor([[[1.0, 2.0, 3.0]]]), 2)
      Tensor([[[1.0, 2.0], [2.0, 3.0]]])
    """
    return _unfold_op(
        input,
        filter_size=_static_ints(filter_size, "unfold", "filter_size", low=1),
        stride=_static_ints(stride, "unfold", "stride", low=1),
        padding=_static_ints(padding, "unfold", "padding"),
        dilation=_static_ints(dilation, "unfold", "dilation", low=1),
    )


def _static_ints(value: Any, api: str, name: str, low: int = 0) -> int | tuple:
    """A checked int or tuple of ints (lists become tuples, for the compile
    cache's key). Floats and bools raise ``TypeError`` here, at every call,
    before the lifted op is reached (its cache would take ``2.0`` for ``2``).
    The pure function checks the tuple's length against the input."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return tuple(_core_args.integer(v, api, name, low) for v in value)
    return _core_args.integer(value, api, name, low)


def _make_pool(kind: str, n: int) -> Any:
    name = f"{kind}_pool{n}d"
    op = lift(getattr(_core, name), name)

    def call(input, kernel_size, stride, padding, **mode):  # noqa: A002
        return op(
            input,
            kernel_size=_static_ints(kernel_size, name, "kernel_size", low=1),
            stride=_static_ints(stride, name, "stride", low=1),
            padding=_static_ints(padding, name, "padding"),
            **{key: _core_args.flag(value, name, key) for key, value in mode.items()},
        )

    def max_pool(input, kernel_size=1, stride=1, padding=0, *, ceil_mode=False):  # noqa: A002
        return call(input, kernel_size, stride, padding, ceil_mode=ceil_mode)

    def avg_pool(
        input,  # noqa: A002
        kernel_size=1,
        stride=1,
        padding=0,
        *,
        ceil_mode=False,
        count_include_pad=True,
    ):
        return call(
            input,
            kernel_size,
            stride,
            padding,
            ceil_mode=ceil_mode,
            count_include_pad=count_include_pad,
        )

    pool = max_pool if kind == "max" else avg_pool
    pool.__name__ = pool.__qualname__ = name
    pool.__doc__ = f"""{"Max" if kind == "max" else "Average"} pooling on a Tensor or \
array; see :func:`lucid_fx.functional.{name}` (lucid's defaults: kernel_size=1,
    stride=1, padding=0). A float or bool size raises ``TypeError`` (as PyTorch).
    PyTorch's options are keyword-only here (its positional orders differ
    between max and average pooling): ``ceil_mode=False``{
        "" if kind == "max" else ", ``count_include_pad=True``"
    }.

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> F.{name}(Tensor([[[1.0, 3.0, 2.0]]]).reshape((1, 1) + (3,) + (1,) * {n - 1}),
      ...          kernel_size=(2,) + (1,) * {n - 1}).reshape(-1)
      Tensor([{"3.0, 3.0" if kind == "max" else "2.0, 2.5"}])
    """
    return pool


avg_pool1d = _make_pool("avg", 1)
avg_pool2d = _make_pool("avg", 2)
avg_pool3d = _make_pool("avg", 3)
max_pool1d = _make_pool("max", 1)
max_pool2d = _make_pool("max", 2)
max_pool3d = _make_pool("max", 3)


# ---------------------------------------------------------------------- dropout
def _make_dropout(name: str) -> Any:
    pure = getattr(_core, name)

    def keyed(x: jax.Array, raw: jax.Array, *, p: float) -> jax.Array:
        # The key travels as raw uint32 data: jit's fast path (see random).
        return pure(x, jax.random.wrap_key_data(raw), p=p)

    op = lift(keyed, name)

    def drop(input: Any, p: float = 0.5, training: bool = True) -> Any:  # noqa: A002
        p = _core_args.probability(p, name)
        if not _core_args.flag(training, name, "training") or p == 0.0:
            return input
        # A fresh key per call from the global generator (never cached), so a
        # compiled step that threads the generator state draws a new mask.
        return op(input, random.next_key_data(), p=p)

    drop.__name__ = drop.__qualname__ = name
    shape = {"dropout1d": (1, 1, 2), "dropout3d": (1, 1, 2, 2, 2)}.get(name, (1, 1, 2))
    drop.__doc__ = f"""{name} on a Tensor or array, keyed by :mod:`lucid_fx.random`.

    See :func:`lucid_fx.functional.{name}` for the math. Each call draws a new
    key with ``lucid_fx.random.next_key()``: ``lucid_fx.random.seed(n)`` makes
    the masks reproducible. ``training=False`` (or ``p == 0``) returns the
    input itself.

    Args:
      input: floating Tensor or array.
      p: drop probability in [0, 1]. Default 0.5.
      training: apply dropout. Default ``True``.

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> import jax.numpy as jnp
      >>> x = Tensor(jnp.ones({shape}))
      >>> F.{name}(x, p=0.5, training=False) is x
      True
      >>> float(F.{name}(x, p=1.0).sum())
      0.0
    """
    return drop


dropout = _make_dropout("dropout")
dropout1d = _make_dropout("dropout1d")
dropout2d = _make_dropout("dropout2d")
dropout3d = _make_dropout("dropout3d")
alpha_dropout = _make_dropout("alpha_dropout")


# ---------------------------------------------------------------- normalization
_batch_norm_op = lift(_core.batch_norm, "batch_norm")
_instance_norm_op = lift(_core.instance_norm, "instance_norm")


def _layer_norm(
    x: jax.Array, weight: Any, bias: Any, *, normalized_shape: Any, eps: float
) -> jax.Array:
    return _core.layer_norm(x, normalized_shape, weight, bias, eps)


_layer_norm_op = lift(_layer_norm, "layer_norm")
_norm_stats_op = lift(_core.batch_norm_stats, "batch_norm")


def update_running_stats(
    input: Any,  # noqa: A002
    running_mean: Any,
    running_var: Any,
    momentum: float,
    per_instance: bool = False,
) -> None:
    """Write the new running statistics into the buffers' arrays (in place).

    The buffers' arrays are replaced (not mutated), so a compiled step or a
    functionalized apply that carries buffers sees and returns the new values.
    Under a plain ``jax.jit`` of a module called with arrays the buffers are
    left unchanged (see :func:`writable`).
    """
    if not isinstance(running_mean, Tensor) or not isinstance(running_var, Tensor):
        return
    if isinstance(input, Tensor):
        with no_grad():
            stats = _norm_stats_op(
                input.detach(),
                running_mean,
                running_var,
                momentum,
                per_instance=per_instance,
            ).data
    else:  # pure mode (arrays or tracers): plain JAX, no tape
        stats = _core.batch_norm_stats(
            input, running_mean.data, running_var.data, momentum, per_instance
        )
    if writable(running_mean, stats):
        running_mean.data = stats[0]
        running_var.data = stats[1]


# While functionalize's apply runs, the ids of the buffers it installed: their
# arrays are the pure function's inputs, read back as its outputs and restored
# on exit, so a traced update may be written into them (see writable).
PURE_BUFFERS: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar(
    "lucid_fx_pure_buffers", default=frozenset()
)


def writable(buffer: Tensor, value: Any) -> bool:
    """Whether ``value`` may replace ``buffer``'s array.

    Not when ``value`` is traced but the buffer holds a concrete array: that is
    a plain ``jax.jit`` of a module called with arrays, where writing would
    leak the tracer into the module. ``lucid_fx.compile`` traces the buffers
    themselves, and ``functionalize`` installs them for one call
    (``PURE_BUFFERS``), reads the new values back as outputs and restores the
    module's own arrays, so their updates go through: there the batch
    statistics may be traced (``jax.grad`` of the parameters) while the
    buffers passed in are concrete.
    """
    traced = isinstance(value, jax.core.Tracer)
    if (
        not traced
        or isinstance(buffer.data, jax.core.Tracer)
        or id(buffer) in PURE_BUFFERS.get()
    ):
        return True
    if _tape.tracing():  # a compile trace that does not carry this buffer
        what = f"a buffer of shape {buffer.shape} (running statistics)"
        _tape.check_writable(buffer, buffer._birth, what)  # raises if not new
    return False


def _check_floating(input: Any, api: str) -> None:  # noqa: A002
    """Integer and bool inputs raise ``TypeError`` (as PyTorch); read from the
    Tensor's dtype, without computing a deferred value."""
    dtype = getattr(input, "dtype", None)
    check_floating(np.asarray(input).dtype if dtype is None else dtype, api)


def _normalized(
    op: Any,
    api: str,
    args: tuple,
    training: Any,
    momentum: Any,
    eps: Any,
    per_instance: bool = False,
) -> Any:
    """``batch_norm``/``instance_norm``: check the options, normalize, and in
    training update Tensor running statistics in place (per instance for
    ``instance_norm``)."""
    training = _core_args.flag(training, api, "training")
    momentum = _core_args.number(momentum, api, "momentum", low=0.0)
    eps = _core_args.number(eps, api, "eps", low=0.0)
    _check_floating(args[0], api)  # before any running statistic changes
    out = op(*args, training=training, momentum=momentum, eps=eps)
    if training:
        x, running_mean, running_var = args[:3]
        update_running_stats(x, running_mean, running_var, momentum, per_instance)
    return out


def batch_norm(
    input: Any,  # noqa: A002
    running_mean: Any,
    running_var: Any,
    weight: Any = None,
    bias: Any = None,
    training: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Any:
    r"""Batch normalization in lucid's signature, as PyTorch's
    ``F.batch_norm``.

    .. math::

        y = \frac{x - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}}\,\gamma_c + \beta_c

    In training the batch statistics are used and, when ``running_mean`` and
    ``running_var`` are Tensors, they are updated in place with ``momentum``
    (unbiased variance, as PyTorch); otherwise the running statistics
    normalize. See :func:`lucid_fx.functional.batch_norm`.

    Args:
      input: ``(N, C, *)``.
      running_mean: ``(C,)`` Tensor, array or ``None``.
      running_var: ``(C,)`` Tensor, array or ``None``.
      weight: ``(C,)`` or ``None``.
      bias: ``(C,)`` or ``None``.
      training: use (and record) batch statistics. Default ``True``.
      momentum: running-statistics factor. Default 0.1.
      eps: added to the variance. Default ``1e-5``.

    Raises:
      TypeError: ``input`` is not floating (integer or bool, as PyTorch); the
        running statistics are then left unchanged.

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> rm, rv = Tensor([0.0]), Tensor([1.0])
      >>> F.batch_norm(Tensor([[1.0], [3.0]]), rm, rv, eps=0.0)
      Tensor([[-1.0], [1.0]])
      >>> rm, rv
      (Tensor([0.2]), Tensor([1.1]))
    """
    args = (input, running_mean, running_var, weight, bias)
    return _normalized(_batch_norm_op, "batch_norm", args, training, momentum, eps)


def instance_norm(
    input: Any,  # noqa: A002
    running_mean: Any = None,
    running_var: Any = None,
    weight: Any = None,
    bias: Any = None,
    training: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Any:
    r"""Instance normalization (per sample and channel over the spatial axes),
    in lucid's signature; running statistics (Tensors) are updated in training.
    See :func:`lucid_fx.functional.instance_norm`. A non-floating input raises
    ``TypeError`` before any statistic changes (as PyTorch).

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> F.instance_norm(Tensor([[[1.0, 3.0]]]), eps=0.0)
      Tensor([[[-1.0, 1.0]]])
    """
    args = (input, running_mean, running_var, weight, bias)
    return _normalized(
        _instance_norm_op, "instance_norm", args, training, momentum, eps, True
    )


def layer_norm(
    input: Any,  # noqa: A002
    normalized_shape: Any,
    weight: Any = None,
    bias: Any = None,
    eps: float = 1e-5,
) -> Any:
    r"""Layer normalization over the trailing ``normalized_shape`` axes; see
    :func:`lucid_fx.functional.layer_norm`. ``normalized_shape`` is an int
    (numpy integers too) or a tuple of ints; floats, bools and non-floating
    inputs raise ``TypeError`` (as PyTorch).

    Examples:
      >>> import lucid_fx.nn.functional as F
      >>> from lucid_fx import Tensor
      >>> F.layer_norm(Tensor([[1.0, 3.0]]), (2,), eps=0.0)
      Tensor([[-1.0, 1.0]])
    """
    shape = normalized_shape_arg(normalized_shape, "layer_norm")
    eps = _core_args.number(eps, "layer_norm", "eps", low=0.0)
    _check_floating(input, "layer_norm")
    return _layer_norm_op(input, weight, bias, normalized_shape=shape, eps=eps)


# ----------------------------------------------------- lucid's keyword names
# lucid 0.13 names the input ``input_`` (``input_1``/``input_2`` in bilinear),
# PyTorch ``input`` (``input1``/``input2``): both are taken as keywords, and
# positional calls are the same. The signatures shown are PyTorch's.
def _lucid_keywords(fn: Any, renames: dict[str, str]) -> Any:
    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        if kwargs:
            for lucid_name, name in renames.items():
                if lucid_name in kwargs:
                    if name in kwargs:
                        raise TypeError(
                            f"{fn.__name__}: got both {lucid_name}= (lucid's "
                            f"name) and {name}=; pass one."
                        )
                    kwargs[name] = kwargs.pop(lucid_name)
        return fn(*args, **kwargs)

    return call


_INPUT_ = {"input_": "input"}
for _name in (
    "elu gelu leaky_relu relu selu sigmoid tanh conv1d conv2d conv3d unfold "
    "alpha_dropout dropout dropout1d dropout2d dropout3d linear "
    "binary_cross_entropy cross_entropy huber_loss mse_loss nll_loss "
    "batch_norm instance_norm layer_norm avg_pool1d avg_pool2d avg_pool3d "
    "max_pool1d max_pool2d max_pool3d"
).split():
    globals()[_name] = _lucid_keywords(globals()[_name], _INPUT_)
bilinear = _lucid_keywords(bilinear, {"input_1": "input1", "input_2": "input2"})
del _name
