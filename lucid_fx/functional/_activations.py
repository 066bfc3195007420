"""Parameter-free activations (relu, elu, selu, gelu, sigmoid, tanh): pure math.

Gradients come from JAX autodiff of the expressions below; each expression is
written so that autodiff gives PyTorch's gradient at the kinks (noted per
function) and never ``0 * inf`` on the branch ``where`` does not select.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from lucid_fx import _validate
from lucid_fx._typing import Array, ArrayLike
from lucid_fx.functional import _args

# SELU's constants (Klambauer et al. 2017), to PyTorch's digits.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_GELU_APPROXIMATIONS = ("tanh", "none")


def relu(x: ArrayLike) -> Array:
    r"""Rectified linear unit, :math:`y = \max(x, 0)`.

    .. math::

        \frac{\partial y}{\partial x} = \begin{cases} 1 & x > 0 \\ 0 &
        \text{otherwise} \end{cases}

    The gradient at ``x == 0`` is 0, as in PyTorch and lucid. Every
    ``x <= 0`` (``-inf`` and ``-0.0`` too) gives ``+0.0``; NaN stays NaN.

    Args:
      x: real array of any shape (integers become the default float dtype).

    Returns:
      An array with the shape and dtype of ``x``.

    Examples:
      >>> import jax
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional import relu
      >>> x = jnp.array([-1.0, 0.0, 2.0])
      >>> relu(x).tolist(), jax.grad(lambda v: relu(v).sum())(x).tolist()
      ([0.0, 0.0, 2.0], [0.0, 0.0, 1.0])
    """
    x = _validate.as_real_float_array(x, "relu")
    return jnp.where((x > 0) | jnp.isnan(x), x, jnp.zeros((), x.dtype))


def elu(x: ArrayLike, alpha: float = 1.0) -> Array:
    r"""Exponential linear unit.

    .. math::

        y = \begin{cases} x & x > 0 \\ \alpha (e^x - 1) & \text{otherwise}
        \end{cases}
        \qquad
        \frac{\partial y}{\partial x} = \begin{cases} 1 & x > 0 \\
        \alpha e^x & \text{otherwise} \end{cases}

    At ``x == 0`` the gradient is ``alpha`` (the left branch), as in PyTorch;
    at NaN the output is NaN and the gradient 1 (PyTorch's ``x <= 0`` test
    picks the linear branch).

    Args:
      x: real array of any shape.
      alpha: scale of the negative branch, a finite number. Default ``1.0``.

    Returns:
      An array with the shape and dtype of ``x``.

    Raises:
      TypeError, ValueError: if ``alpha`` is not a finite real number.

    Examples:
      >>> import jax
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional import elu
      >>> x = jnp.array([-1.0, 0.0, 2.0])
      >>> [round(v, 4) for v in elu(x, alpha=2.0).tolist()]
      [-1.2642, 0.0, 2.0]
      >>> jax.grad(lambda v: elu(v, 2.0).sum())(x)[1:].tolist()
      [2.0, 1.0]
    """
    alpha = _args.number(alpha, "elu", "alpha")
    x = _validate.as_real_float_array(x, "elu")
    return _elu(x, alpha, 1.0)


def _elu(x: Array, alpha: float, scale: float) -> Array:
    # PyTorch's elu_backward tests x <= 0, so NaN takes the linear branch
    # (gradient scale, not NaN). expm1 of where(positive, 0, x): finite on the
    # unselected branch for large x and NaN, and (unlike minimum, which splits
    # a tie) the full alpha * e^0 at x == 0.
    positive = ~(x <= 0)
    negative = alpha * jnp.expm1(jnp.where(positive, jnp.zeros((), x.dtype), x))
    out = jnp.where(positive, x, negative.astype(x.dtype))
    return out if scale == 1.0 else (scale * out).astype(x.dtype)


def selu(x: ArrayLike) -> Array:
    r"""Scaled exponential linear unit, :math:`\lambda\,\mathrm{elu}(x, \alpha)`.

    .. math::

        y = \lambda \begin{cases} x & x > 0 \\ \alpha (e^x - 1) &
        \text{otherwise} \end{cases}
        \qquad
        \frac{\partial y}{\partial x} = \lambda \begin{cases} 1 & x > 0 \\
        \alpha e^x & \text{otherwise} \end{cases}

    with :math:`\alpha \approx 1.6733` and :math:`\lambda \approx 1.0507`
    (``SELU_ALPHA``, ``SELU_SCALE``). The gradient at 0 is
    :math:`\lambda\alpha` and at NaN :math:`\lambda` (the linear branch), as
    in PyTorch.

    Args:
      x: real array of any shape.

    Returns:
      An array with the shape and dtype of ``x``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional import selu
      >>> [round(v, 4) for v in selu(jnp.array([-1.0, 0.0, 1.0])).tolist()]
      [-1.1113, 0.0, 1.0507]
    """
    x = _validate.as_real_float_array(x, "selu")
    return _elu(x, SELU_ALPHA, SELU_SCALE)


def gelu(x: ArrayLike, approximate: str = "tanh") -> Array:
    r"""Gaussian error linear unit; lucid's default is the tanh approximation.

    .. math::

        y_{\text{tanh}} = \tfrac{x}{2}\left(1 + \tanh\left(\sqrt{2/\pi}\,
        (x + 0.044715 x^3)\right)\right)
        \qquad
        y_{\text{none}} = x\,\Phi(x) = \tfrac{x}{2}\left(1 +
        \operatorname{erf}(x/\sqrt{2})\right)

    The gradient is the derivative of the chosen form (smooth everywhere;
    0.5 at 0). ``approximate="tanh"`` is lucid's ``gelu``; PyTorch's default
    is ``"none"`` (erf): pass it to match ``torch.nn.functional.gelu(x)``.

    Args:
      x: real array of any shape.
      approximate: ``"tanh"`` (default, lucid) or ``"none"`` (exact erf).

    Returns:
      An array with the shape and dtype of ``x``.

    Raises:
      ValueError: if ``approximate`` is not ``"tanh"`` or ``"none"``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional import gelu
      >>> x = jnp.array([-1.0, 0.0, 1.0])
      >>> [round(v, 4) for v in gelu(x).tolist()]
      [-0.1588, 0.0, 0.8412]
      >>> [round(v, 4) for v in gelu(x, approximate="none").tolist()]
      [-0.1587, 0.0, 0.8413]
    """
    if approximate not in _GELU_APPROXIMATIONS:
        raise ValueError(
            f"gelu: approximate must be 'tanh' or 'none', got {approximate!r}."
        )
    x = _validate.as_real_float_array(x, "gelu")
    if approximate == "tanh":
        inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)
        return (0.5 * x * (1.0 + jnp.tanh(inner))).astype(x.dtype)
    return (0.5 * x * (1.0 + jax.lax.erf(x * (1.0 / math.sqrt(2.0))))).astype(x.dtype)


def sigmoid(x: ArrayLike) -> Array:
    r"""Logistic sigmoid :math:`y = 1 / (1 + e^{-x})`, gradient :math:`y(1-y)`.

    Args:
      x: real array of any shape.

    Returns:
      An array with the shape and dtype of ``x``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional import sigmoid
      >>> sigmoid(jnp.array([0.0])).tolist()
      [0.5]
    """
    return jax.nn.sigmoid(_validate.as_real_float_array(x, "sigmoid"))


def tanh(x: ArrayLike) -> Array:
    r"""Hyperbolic tangent, gradient :math:`1 - \tanh^2 x`.

    Args:
      x: real array of any shape.

    Returns:
      An array with the shape and dtype of ``x``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional import tanh
      >>> tanh(jnp.array([0.0])).tolist()
      [0.0]
    """
    return jnp.tanh(_validate.as_real_float_array(x, "tanh"))


def _softmax_axis(api: str, x: jax.Array, axis: object) -> int:
    if isinstance(axis, bool) or not isinstance(axis, int):
        _validate.check_concrete(axis, api, "axis")
        raise TypeError(
            f"{api}: axis (dim) must be an int, got {type(axis).__name__} {axis!r}."
        )
    if not -max(x.ndim, 1) <= axis < max(x.ndim, 1):
        raise ValueError(
            f"{api}: axis {axis} is out of range for an input of {x.ndim} dimensions."
        )
    return axis


def softmax(x: ArrayLike, axis: int = -1) -> Array:
    r"""Softmax along ``axis``: :math:`y_i = e^{x_i} / \sum_j e^{x_j}`.

    Computed as :math:`e^{x_i - m} / \sum_j e^{x_j - m}` with :math:`m = \max_j
    x_j`, so large inputs do not overflow. Gradient :math:`\partial L/\partial
    x = y \odot (g - \langle g, y \rangle)`.

    Args:
      x: real array of any shape.
      axis: the axis that sums to 1. Default -1.

    Returns:
      An array with the shape and dtype of ``x``.

    Raises:
      TypeError: if ``axis`` is not an int.
      ValueError: if ``axis`` is out of range.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional import softmax
      >>> y = softmax(jnp.array([[0.0, 0.0], [0.0, 2.0]]), axis=0)
      >>> [[round(v, 4) for v in row] for row in y.tolist()]
      [[0.5, 0.1192], [0.5, 0.8808]]
    """
    x = _validate.as_real_float_array(x, "softmax")
    return jax.nn.softmax(x, axis=_softmax_axis("softmax", x, axis))


def log_softmax(x: ArrayLike, axis: int = -1) -> Array:
    r"""Log of :func:`softmax` along ``axis``: :math:`x_i - \log \sum_j
    e^{x_j}`, computed without forming the softmax (stable for large
    inputs). Gradient :math:`g - \mathrm{softmax}(x) \sum_j g_j`.

    Args:
      x: real array of any shape.
      axis: the normalised axis. Default -1.

    Returns:
      An array with the shape and dtype of ``x``.

    Raises:
      TypeError: if ``axis`` is not an int.
      ValueError: if ``axis`` is out of range.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional import log_softmax
      >>> [round(v, 4) for v in log_softmax(jnp.array([0.0, 0.0])).tolist()]
      [-0.6931, -0.6931]
    """
    x = _validate.as_real_float_array(x, "log_softmax")
    return jax.nn.log_softmax(x, axis=_softmax_axis("log_softmax", x, axis))
