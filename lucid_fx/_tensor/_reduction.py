"""Reductions: ``sum mean var max min argmax argmin trace``.

Each takes lucid's ``axis=``/``keepdims=`` or PyTorch's ``dim=``/``keepdim=``.
Ties in ``max``/``min`` split the gradient evenly among the tied elements, as
PyTorch's ``amax``/``amin`` (JAX's derivative of ``reduce_max`` does the same).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx._tensor import _checks, _tape
from lucid_fx._tensor._ops import lift

Axis = int | tuple[int, ...] | None


def _reducer(name: str, math: Any) -> Any:
    def pure(
        a: jax.Array, *, axis: Axis = None, keepdims: bool = False, **options: Any
    ) -> jax.Array:
        _checks.numeric(name, "a", a)
        _checks.in_range(name, axis, jnp.ndim(a))
        _checks.distinct(name, axis, jnp.ndim(a))
        if jnp.ndim(a) == 0:
            axis = None  # axis 0 or -1 of a 0-d tensor: itself, as PyTorch
        if name in _NEEDS_ELEMENTS:
            shape = jnp.shape(a)
            axes = range(len(shape)) if axis is None else _as_tuple(axis)
            if any(shape[i] == 0 for i in axes):
                raise ValueError(
                    f"{name}: cannot reduce over an empty axis (shape {shape}, "
                    f"axis {axis}): it has no elements to pick from, as in PyTorch."
                )
        return math(a, axis=axis, keepdims=keepdims, **options)

    pure.__name__ = name
    return lift(pure, name)


_NEEDS_ELEMENTS = ("max", "min", "argmax", "argmin")


def _as_tuple(axis: int | tuple[int, ...]) -> tuple[int, ...]:
    return axis if isinstance(axis, tuple) else (axis,)


def _var(a: jax.Array, *, axis: Axis, keepdims: bool, correction: int = 0) -> jax.Array:
    population = jnp.var(a, axis=axis, keepdims=keepdims)
    n = np.size(a) // np.size(population) if np.size(population) else 0
    if correction < n:
        return jnp.var(a, axis=axis, keepdims=keepdims, ddof=correction)
    # N - c <= 0: PyTorch's divisor max(0, N - c) is 0, so the sum of squares
    # over 0 is inf (NaN where it is 0), and its gradient 2 (x - mean) / 0 is
    # +-inf by the sign of x - mean (NaN at the mean); jnp.var gives NaN. The
    # mean is held constant: its term of the gradient is 0 in exact math, and
    # inf - inf (NaN) through the division by 0.
    centered = a - jax.lax.stop_gradient(jnp.mean(a, axis=axis, keepdims=True))
    squares = jnp.real(centered * jnp.conj(centered))
    return jnp.sum(squares, axis=axis, keepdims=keepdims) / 0


_sum = _reducer("sum", jnp.sum)
_mean = _reducer("mean", jnp.mean)
_max = _reducer("max", jnp.max)
_min = _reducer("min", jnp.min)
_argmax = _reducer("argmax", jnp.argmax)
_argmin = _reducer("argmin", jnp.argmin)
_var_op = _reducer("var", _var)


_OVER_ALL: dict = {}  # never mutated: passed as **_OVER_ALL, which copies


def _static(name: str, axis: Any, keepdims: bool, dim: Any, keepdim: Any) -> dict:
    if dim is None and keepdim is None and (axis is None or type(axis) is int):
        if axis is None and not keepdims:
            return _OVER_ALL  # the op's defaults: no keyword to key its programs by
        return {"axis": axis, "keepdims": bool(keepdims)}  # the common, fast case
    return {
        "axis": _checks.axis_arg(name, axis, dim),
        "keepdims": _checks.keepdims_arg(keepdims, keepdim),
    }


def sum(  # noqa: A001
    a: Any,
    axis: Axis = None,
    keepdims: bool = False,
    *,
    dim: Axis = None,
    keepdim: bool | None = None,
) -> Any:
    r"""Sum of the elements over ``axis`` (all of them by default).

    .. math::

        y = \sum_{i \in \text{axis}} x_i \qquad
        \frac{\partial y}{\partial x_i} = 1

    Args:
      a: a Tensor or array.
      axis: an int, a tuple of ints or ``None`` (all axes). ``dim`` is an alias.
      keepdims: keep the reduced axes with size 1. ``keepdim`` is an alias.
        Default ``False``.

    Returns:
      A Tensor with the reduced axes removed (or of size 1).

    Raises:
      TypeError: for a non-integer axis, or both ``axis`` and ``dim``.
      ValueError: for an axis out of range.

    Examples:
      >>> import lucid_fx
      >>> x = lucid_fx.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
      >>> lucid_fx.sum(x).item(), lucid_fx.sum(x, axis=0).tolist()
      (10.0, [4.0, 6.0])
      >>> x.sum(dim=1, keepdim=True).tolist()
      [[3.0], [7.0]]
    """
    return _sum(a, **_static("sum", axis, keepdims, dim, keepdim))


def mean(
    a: Any,
    axis: Axis = None,
    keepdims: bool = False,
    *,
    dim: Axis = None,
    keepdim: bool | None = None,
) -> Any:
    r"""Arithmetic mean over ``axis`` (all elements by default).

    .. math::

        y = \frac{1}{N} \sum_{i \in \text{axis}} x_i \qquad
        \frac{\partial y}{\partial x_i} = \frac{1}{N}

    with :math:`N` the number of reduced elements.

    Args:
      a: a Tensor or array.
      axis: an int, a tuple of ints or ``None``. ``dim`` is an alias.
      keepdims: keep reduced axes with size 1. ``keepdim`` is an alias.

    Returns:
      A floating Tensor with the reduced axes removed (or of size 1).

    Raises:
      TypeError: for a non-integer axis, or both ``axis`` and ``dim``.
      ValueError: for an axis out of range.

    Examples:
      >>> import lucid_fx
      >>> x = lucid_fx.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
      >>> y = lucid_fx.mean(x)
      >>> y.item()
      2.5
      >>> y.backward()
      >>> x.grad.tolist()
      [[0.25, 0.25], [0.25, 0.25]]
    """
    return _mean(a, **_static("mean", axis, keepdims, dim, keepdim))


def var(
    a: Any,
    axis: Axis = None,
    keepdims: bool = False,
    *,
    dim: Axis = None,
    keepdim: bool | None = None,
    correction: int = 0,
) -> Any:
    r"""Variance over ``axis``: the population variance by default, as lucid.

    .. math::

        y = \frac{1}{N - c} \sum_i (x_i - \bar x)^2 \qquad
        \frac{\partial y}{\partial x_i} = \frac{2 (x_i - \bar x)}{N - c}

    with :math:`c` = ``correction``. lucid divides by :math:`N` (``correction=0``,
    our default); PyTorch's ``var`` defaults to ``correction=1``: pass it for
    the unbiased estimate.

    Args:
      a: a Tensor or array.
      axis: an int, a tuple of ints or ``None``. ``dim`` is an alias.
      keepdims: keep reduced axes with size 1. ``keepdim`` is an alias.
      correction: subtracted from :math:`N` in the divisor. Default 0.

    Returns:
      A floating Tensor with the reduced axes removed (or of size 1).

    Raises:
      TypeError: for a non-integer axis, or both ``axis`` and ``dim``.
      ValueError: for an axis out of range.

    Examples:
      >>> import lucid_fx
      >>> x = lucid_fx.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
      >>> lucid_fx.var(x).item(), round(lucid_fx.var(x, correction=1).item(), 4)
      (1.25, 1.6667)
      >>> lucid_fx.var(x).backward()
      >>> x.grad.tolist()
      [[-0.75, -0.25], [0.25, 0.75]]
    """
    if isinstance(correction, bool) or not isinstance(correction, int):
        raise TypeError(
            f"var: correction must be an int, got {type(correction).__name__} "
            f"{correction!r}. Pass 0 (population) or 1 (unbiased)."
        )
    static = _static("var", axis, keepdims, dim, keepdim)
    return _var_op(a, correction=correction, **static)


_EXTREMUM_DOC = r"""The {word} over ``axis`` (all elements by default).

    .. math::

        y = \{op}_{{i \in \text{{axis}}}} x_i \qquad
        \frac{{\partial y}}{{\partial x_i}} = \frac{{[x_i = y]}}{{\#\{{j : x_j = y\}}}}

    The gradient goes to the element(s) equal to the result, split evenly among
    ties, as PyTorch's ``a{op}``. Like lucid it returns the values only (PyTorch's
    ``max(dim=...)`` also returns indices): use :func:`arg{op}` for those.

    Args:
      a: a Tensor or array.
      axis: an int, a tuple of ints or ``None``. ``dim`` is an alias.
      keepdims: keep reduced axes with size 1. ``keepdim`` is an alias.

    Returns:
      A Tensor of ``a``'s dtype with the reduced axes removed (or of size 1).

    Raises:
      TypeError: for a non-integer axis, or both ``axis`` and ``dim``.
      ValueError: for an axis out of range or an empty tensor.

    Examples:
      >>> import lucid_fx
      >>> x = lucid_fx.Tensor([[{v1}, 1.0], [{v1}, 0.0]], requires_grad=True)
      >>> y = lucid_fx.{op}(x)
      >>> y.item()
      {v1}
      >>> y.backward()
      >>> x.grad.tolist()
      [[0.5, 0.0], [0.5, 0.0]]
      >>> x.{op}(dim=1).tolist()
      {rows}
    """


def max(  # noqa: A001
    a: Any,
    axis: Axis = None,
    keepdims: bool = False,
    *,
    dim: Axis = None,
    keepdim: bool | None = None,
) -> Any:
    return _max(a, **_static("max", axis, keepdims, dim, keepdim))


def min(  # noqa: A001
    a: Any,
    axis: Axis = None,
    keepdims: bool = False,
    *,
    dim: Axis = None,
    keepdim: bool | None = None,
) -> Any:
    return _min(a, **_static("min", axis, keepdims, dim, keepdim))


max.__doc__ = _EXTREMUM_DOC.format(word="maximum", op="max", v1=2.0, rows=[2.0, 2.0])
min.__doc__ = _EXTREMUM_DOC.format(word="minimum", op="min", v1=-2.0, rows=[-2.0, -2.0])

_ARG_DOC = r"""The index of the {word} over ``axis`` (flattened by default).

    The first index wins a tie (NumPy's and PyTorch's rule). Indices have no
    gradient: the result is an integer Tensor that never requires grad.

    Args:
      a: a Tensor or array.
      axis: an int or ``None`` (flattened). ``dim`` is an alias.
      keepdims: keep the reduced axis with size 1. ``keepdim`` is an alias.

    Returns:
      An int32 Tensor (int64 under ``jax_enable_x64``) that does not require
      grad.

    Raises:
      TypeError: for a non-integer axis, or both ``axis`` and ``dim``.
      ValueError: for an axis out of range.

    Examples:
      >>> import lucid_fx
      >>> x = lucid_fx.Tensor([[1.0, 5.0, 5.0], [7.0, 0.0, 2.0]], requires_grad=True)
      >>> lucid_fx.{op}(x).item(), x.{op}(dim=1).tolist()
      ({flat}, {rows})
      >>> lucid_fx.{op}(x).requires_grad
      False
    """


def _one_axis(op: str, static: dict[str, Any]) -> dict[str, Any]:
    """``static`` if its axis is one axis or None (PyTorch and NumPy take one
    axis for argmax/argmin), else a TypeError naming ``op``."""
    if isinstance(static.get("axis"), tuple):
        raise TypeError(
            f"{op}: axis must be an int or None (one axis, or the flattened "
            f"tensor), got the tuple {static['axis']}."
        )
    return static


def argmax(
    a: Any,
    axis: int | None = None,
    keepdims: bool = False,
    *,
    dim: int | None = None,
    keepdim: bool | None = None,
) -> Any:
    static = _one_axis("argmax", _static("argmax", axis, keepdims, dim, keepdim))
    with _tape.no_grad():
        return _argmax(a, **static)


def argmin(
    a: Any,
    axis: int | None = None,
    keepdims: bool = False,
    *,
    dim: int | None = None,
    keepdim: bool | None = None,
) -> Any:
    static = _one_axis("argmin", _static("argmin", axis, keepdims, dim, keepdim))
    with _tape.no_grad():
        return _argmin(a, **static)


argmax.__doc__ = _ARG_DOC.format(word="maximum", op="argmax", flat=3, rows=[1, 0])
argmin.__doc__ = _ARG_DOC.format(word="minimum", op="argmin", flat=4, rows=[0, 1])


def _trace(a: jax.Array) -> jax.Array:
    _checks.numeric("trace", "a", a)
    if jnp.ndim(a) == 0:
        raise ValueError("trace: needs at least 1 dimension, got a 0-d tensor.")
    if jnp.ndim(a) == 1:
        return jnp.sum(a)
    return jnp.trace(a, axis1=-2, axis2=-1)


_trace_op = lift(_trace, "trace")


def trace(a: Any) -> Any:
    r"""Sum of the main diagonal, batched over leading axes.

    .. math::

        y = \sum_i x_{ii} \qquad
        \frac{\partial y}{\partial x_{ij}} = [i = j]

    For more than two dimensions each matrix over the last two axes is traced
    (lucid's "2D slices"); a 1-D tensor gives the sum of its elements, as lucid
    documents. lucid's page prints ``[5 15]`` for ``[[[1, 2], [3, 4]], [[5, 6],
    [7, 8]]]``: the traces are 5 and 13, which lucid_fx returns.

    Args:
      a: a Tensor or array with at least 1 dimension.

    Returns:
      A Tensor of shape ``a.shape[:-2]`` (a scalar for a matrix).

    Raises:
      ValueError: for a 0-d tensor.

    Examples:
      >>> import lucid_fx
      >>> x = lucid_fx.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
      >>> y = lucid_fx.trace(x)
      >>> y.item()
      5.0
      >>> y.backward()
      >>> x.grad.tolist()
      [[1.0, 0.0], [0.0, 1.0]]
    """
    return _trace_op(a)
