"""Losses (mse, huber, binary cross-entropy, nll, cross-entropy): pure math.

Class-index targets are checked: out-of-range labels raise ``ValueError`` when
the target is concrete. A traced target cannot raise; there an invalid label
counts as ignored (no loss, no gradient), so it never makes a model NaN. An
in-program check (``checkify.debug_check``) was measured at ~67 us per call of
any jitted function holding it (it takes jit off its C++ fast path), more than
a whole small training step, so it is not built in; check a dataset's labels
once, eagerly, instead.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx._typing import Array, ArrayLike
from lucid_fx.functional import _args

_MSG_LABEL = (
    "{api}: target holds class index {label} but the input has {classes} "
    "classes: labels must be in [0, {last}] or equal ignore_index={ignore}."
)
_MSG_NOT_INTEGRAL = (
    "{api}: a floating class-index target must hold whole numbers, got {label}. "
    "Pass class indices, or probabilities of the input's shape."
)


def _reduce(values: Array, reduction: str) -> Array:
    if reduction == "mean":
        return values.mean()
    return values.sum() if reduction == "sum" else values


def _floating(x: ArrayLike, api: str, name: str = "input") -> Array:
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(f"{api}: {name} must be floating, got dtype {x.dtype}.")
    return x


def _paired(x: ArrayLike, target: ArrayLike, api: str) -> tuple[Array, Array]:
    """Floating ``x`` and a ``target`` of its shape, cast to its dtype."""
    x = _floating(x, api)
    target = jnp.asarray(target)
    if x.shape != target.shape:
        raise ValueError(
            f"{api}: input shape {tuple(x.shape)} and target shape "
            f"{tuple(target.shape)} must match."
        )
    return x, target.astype(x.dtype)


def _rescaled(loss: Array, weight: ArrayLike | None, dtype: jnp.dtype) -> Array:
    if weight is None:
        return loss
    return loss * jnp.asarray(weight).astype(dtype)


def mse_loss(x: ArrayLike, target: ArrayLike, reduction: str | None = "mean") -> Array:
    r"""Mean squared error, :math:`\ell_i = (x_i - t_i)^2`, then reduced.

    Gradient :math:`2 (x_i - t_i)` (divided by the element count for
    ``"mean"``); the target gets the negative.

    Args:
      x: floating array.
      target: array of ``x``'s shape.
      reduction: ``"mean"`` (default), ``"sum"``, ``"none"`` or ``None``
        (lucid's spelling of ``"none"``).

    Returns:
      A scalar, or the elementwise losses for ``"none"``.

    Raises:
      ValueError: shapes differ, or an unknown reduction.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional import mse_loss
      >>> mse_loss(jnp.array([1.0, 3.0]), jnp.array([0.0, 0.0])).tolist()
      5.0
    """
    reduction = _args.reduction(reduction, "mse_loss")
    x, t = _paired(x, target, "mse_loss")
    return _reduce((x - t) ** 2, reduction)


def huber_loss(
    x: ArrayLike,
    target: ArrayLike,
    delta: float = 1.0,
    reduction: str | None = "mean",
) -> Array:
    r"""Huber loss: squared near zero, linear beyond ``delta``.

    .. math::

        \ell_i = \begin{cases} \tfrac12 d_i^2 & |d_i| < \delta \\
        \delta (|d_i| - \tfrac12 \delta) & \text{otherwise} \end{cases}
        \qquad
        \frac{\partial \ell_i}{\partial x_i} = \begin{cases} d_i & |d_i| <
        \delta \\ \delta\,\mathrm{sign}(d_i) & \text{otherwise} \end{cases}

    with :math:`d = x - t`; both branches meet at :math:`|d| = \delta`.

    Args:
      x: floating array.
      target: array of ``x``'s shape.
      delta: threshold, a number > 0. Default ``1.0``.
      reduction: ``"mean"`` (default), ``"sum"``, ``"none"`` or ``None``.

    Returns:
      A scalar, or the elementwise losses for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional import huber_loss
      >>> huber_loss(jnp.array([0.5, 3.0]), jnp.zeros(2), reduction="none").tolist()
      [0.125, 2.5]
    """
    reduction = _args.reduction(reduction, "huber_loss")
    delta = _args.number(delta, "huber_loss", "delta")
    if not delta > 0.0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta!r}.")
    x, t = _paired(x, target, "huber_loss")
    d = x - t
    small = jnp.abs(d) < delta
    linear = delta * (jnp.abs(d) - 0.5 * delta)
    return _reduce(jnp.where(small, 0.5 * d * d, linear).astype(x.dtype), reduction)


def binary_cross_entropy(
    x: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    reduction: str | None = "mean",
    eps: float = 1e-7,
) -> Array:
    r"""Binary cross-entropy of probabilities.

    .. math::

        \ell_i = -w_i \left(t_i \log \hat x_i + (1 - t_i) \log(1 - \hat x_i)
        \right), \qquad \hat x = \mathrm{clip}(x, \epsilon, 1 - \epsilon)

    Gradient :math:`w_i (\hat x_i - t_i) / (\hat x_i (1 - \hat x_i))` inside
    the clip range, 0 outside. The clip is lucid's (``eps=1e-7``); PyTorch
    instead clamps each log at -100. The two agree for
    ``eps <= x <= 1 - eps``.

    Args:
      x: probabilities in [0, 1], any shape.
      target: array of ``x``'s shape (0/1 labels or soft targets).
      weight: rescaling broadcastable to ``x``, or ``None``.
      reduction: ``"mean"`` (default), ``"sum"``, ``"none"`` or ``None``.
      eps: clip margin, a number >= 0. Default ``1e-7``.

    Returns:
      A scalar, or the elementwise losses for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional import binary_cross_entropy
      >>> x, t = jnp.array([0.5, 0.5]), jnp.array([1.0, 0.0])
      >>> round(binary_cross_entropy(x, t).item(), 6)
      0.693147
    """
    reduction = _args.reduction(reduction, "binary_cross_entropy")
    eps = _args.number(eps, "binary_cross_entropy", "eps", low=0.0)
    x, t = _paired(x, target, "binary_cross_entropy")
    p = jnp.clip(x, eps, 1.0 - eps)
    loss = _rescaled(-(t * jnp.log(p) + (1 - t) * jnp.log1p(-p)), weight, x.dtype)
    return _reduce(loss.astype(x.dtype), reduction)


def binary_cross_entropy_with_logits(
    x: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    reduction: str | None = "mean",
    pos_weight: ArrayLike | None = None,
) -> Array:
    r"""Binary cross-entropy of logits (sigmoid inside, numerically stable).

    .. math::

        \ell_i = -w_i \left(p\, t_i \log\sigma(x_i) + (1 - t_i)
        \log\sigma(-x_i)\right)

    with :math:`p` = ``pos_weight`` (1 by default); as
    ``torch.nn.functional.binary_cross_entropy_with_logits``.

    Args:
      x: logits, any shape.
      target: array of ``x``'s shape.
      weight: rescaling broadcastable to ``x``, or ``None``.
      reduction: ``"mean"`` (default), ``"sum"``, ``"none"`` or ``None``.
      pos_weight: weight of positive examples, broadcastable, or ``None``.

    Returns:
      A scalar, or the elementwise losses for ``"none"``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional import binary_cross_entropy_with_logits
      >>> x, t = jnp.zeros(2), jnp.array([1.0, 0.0])
      >>> round(binary_cross_entropy_with_logits(x, t).item(), 6)
      0.693147
    """
    api = "binary_cross_entropy_with_logits"
    reduction = _args.reduction(reduction, api)
    x, t = _paired(x, target, api)
    positive = _rescaled(t * jax.nn.log_sigmoid(x), pos_weight, x.dtype)
    loss = _rescaled(-(positive + (1 - t) * jax.nn.log_sigmoid(-x)), weight, x.dtype)
    return _reduce(loss.astype(x.dtype), reduction)


def check_class_target(
    target: ArrayLike, num_classes: int, ignore_index: int, api: str
) -> None:
    """Raise ``ValueError`` for a concrete out-of-range or fractional label.

    Examples:
      >>> import numpy as np
      >>> from lucid_fx.functional import check_class_target
      >>> check_class_target(np.array([0, 2, -100]), 3, -100, "nll_loss")
      >>> try:
      ...     check_class_target(np.array([0, 3]), 3, -100, "nll_loss")
      ... except ValueError as err:
      ...     print(str(err)[:52])
      nll_loss: target holds class index 3 but the input h
    """
    t = np.asarray(target)
    if t.dtype.kind in "iu" and t.size and t.min() >= 0 and t.max() < num_classes:
        return  # the common case: two reductions, no temporaries
    if t.dtype.kind == "f":
        fractional = t != np.round(t)
        if fractional.any():
            label = t[fractional].flat[0]
            raise ValueError(_MSG_NOT_INTEGRAL.format(api=api, label=label))
    bad = ((t < 0) | (t >= num_classes)) & (t != ignore_index)
    if bad.any():
        label = t[bad].flat[0]
        label = int(label) if float(label).is_integer() else label
        raise ValueError(
            _MSG_LABEL.format(
                api=api,
                label=label,
                classes=num_classes,
                last=num_classes - 1,
                ignore=ignore_index,
            )
        )


def _labels(
    target: Array, num_classes: int, ignore_index: int, api: str
) -> tuple[Array, Array]:
    """Labels as int32 and which count: concrete bad labels raise; traced ones
    are dropped (a traced value cannot raise without checkify's cost)."""
    t = target
    if not isinstance(target, jax.core.Tracer):
        check_class_target(target, num_classes, ignore_index, api)
    valid = (t >= 0) & (t < num_classes)
    if jnp.issubdtype(t.dtype, jnp.floating):
        valid = valid & (t == jnp.round(t))
    return t.astype(jnp.int32), valid & (t != ignore_index)


def _check_logits(x: Array, api: str) -> None:
    if x.ndim < 2:
        raise ValueError(
            f"{api}: input must be (batch, classes, ...) scores, got shape "
            f"{tuple(x.shape)}."
        )


def _picked_nll(
    logp: Array,
    target: ArrayLike,
    weight: ArrayLike | None,
    ignore_index: int,
    api: str,
) -> tuple[Array, Array]:
    """Per-sample ``-w[t] * logp[t]`` and the per-sample weights ``w[t]``."""
    target = jnp.asarray(target)
    expected = logp.shape[:1] + logp.shape[2:]
    if target.shape != expected:
        raise ValueError(
            f"{api}: class-index target must have shape {expected} for input of "
            f"shape {tuple(logp.shape)}, got {tuple(target.shape)}."
        )
    classes = logp.shape[1]
    t, keep = _labels(target, classes, ignore_index, api)
    safe = jnp.clip(jnp.where(keep, t, 0), 0, classes - 1)
    picked = jnp.take_along_axis(logp, safe[:, None], axis=1)[:, 0]
    w = jnp.ones((classes,), logp.dtype) if weight is None else jnp.asarray(weight)
    if w.shape != (classes,):
        raise ValueError(
            f"{api}: weight must have shape ({classes},), one per class, got "
            f"{tuple(w.shape)}."
        )
    w_t = jnp.where(keep, w.astype(logp.dtype)[safe], jnp.zeros((), logp.dtype))
    # An ignored row reads class 0, which may be -inf (a masked class): 0 there,
    # not -0 * -inf = NaN, as PyTorch.
    return jnp.where(keep, -w_t * picked, jnp.zeros((), logp.dtype)), w_t


def _reduce_weighted(loss: Array, w_t: Array, reduction: str) -> Array:
    # PyTorch's weighted mean: divide by the summed weights of the kept targets.
    # With none kept (a batch of padding) the loss is 0/0 = NaN, as PyTorch's,
    # but the gradient is 0, as PyTorch's: a plain division would send
    # 1/0 * 0 = NaN into every input.
    if reduction == "mean":
        total = w_t.sum()
        empty = total == 0
        mean = loss.sum() / jnp.where(empty, jnp.ones_like(total), total)
        return jnp.where(empty, jnp.full_like(mean, jnp.nan), mean)
    return _reduce(loss, reduction)


def nll_loss(
    x: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    reduction: str | None = "mean",
    ignore_index: int = -100,
) -> Array:
    r"""Negative log-likelihood of log-probabilities and class indices.

    .. math::

        \ell_n = -w_{t_n} x_{n, t_n}, \qquad
        \text{mean} = \frac{\sum_n \ell_n}{\sum_n w_{t_n}}

    over the samples whose target is not ``ignore_index`` (as PyTorch). The
    gradient is :math:`-w_{t_n}` at :math:`(n, t_n)` (over the weight sum for
    ``"mean"``), 0 elsewhere.

    Args:
      x: log-probabilities of shape ``(N, C)`` or ``(N, C, d1, ...)``.
      target: class indices of shape ``(N,)`` or ``(N, d1, ...)``, integer or
        floating holding whole numbers (lucid users pass floats).
      weight: per-class weights of shape ``(C,)``, or ``None``.
      reduction: ``"mean"`` (default), ``"sum"``, ``"none"`` or ``None``.
      ignore_index: a label that contributes nothing. Default ``-100``.

    Returns:
      A scalar, or per-sample losses for ``"none"``.

    Raises:
      ValueError: bad shapes, or a concrete label outside ``[0, C)`` that is
        not ``ignore_index`` (the message names the label and ``C``).

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional import nll_loss
      >>> logp = jnp.log(jnp.array([[0.5, 0.25, 0.25], [0.125, 0.5, 0.375]]))
      >>> nll_loss(logp, jnp.array([0, 1]), reduction="none").tolist()
      [0.6931471824645996, 0.6931471824645996]
    """
    reduction = _args.reduction(reduction, "nll_loss")
    ignore_index = _args.integer(ignore_index, "nll_loss", "ignore_index", -(2**31))
    x = _floating(x, "nll_loss")
    _check_logits(x, "nll_loss")
    loss, w_t = _picked_nll(x, target, weight, ignore_index, "nll_loss")
    return _reduce_weighted(loss, w_t, reduction)


def cross_entropy(
    x: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    reduction: str | None = "mean",
    eps: float = 1e-7,
    ignore_index: int = -100,
) -> Array:
    r"""Softmax cross-entropy of logits, with class-index or probability targets.

    .. math::

        \ell_n = -w_{t_n} \log \frac{e^{x_{n,t_n}}}{\sum_c e^{x_{n,c}}}
        \qquad
        \frac{\partial \ell_n}{\partial x_{n,c}} =
        w_{t_n}\left(\mathrm{softmax}(x_n)_c - [c = t_n]\right)

    A target of the input's shape but without the class axis holds class
    indices (integer, or floating holding whole numbers); a floating target of
    the input's shape holds probabilities, :math:`\ell_n = -\sum_c w_c t_{n,c}
    \log\mathrm{softmax}(x_n)_c`. Reductions and ``ignore_index`` as
    :func:`nll_loss`. ``eps`` is accepted for lucid's signature and unused:
    lucid adds it inside ``log(softmax + eps)``; the log-softmax here is
    computed exactly, as in PyTorch.

    Args:
      x: logits of shape ``(N, C)`` or ``(N, C, d1, ...)``.
      target: class indices ``(N, d1, ...)`` or probabilities of ``x``'s shape.
      weight: per-class weights of shape ``(C,)``, or ``None``.
      reduction: ``"mean"`` (default), ``"sum"``, ``"none"`` or ``None``.
      eps: lucid's argument, unused (see above). Default ``1e-7``.
      ignore_index: a label that contributes nothing. Default ``-100``.

    Returns:
      A scalar, or per-sample losses for ``"none"``.

    Raises:
      ValueError: bad shapes, or a concrete out-of-range label.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional import cross_entropy
      >>> round(cross_entropy(jnp.zeros((1, 4)), jnp.array([3])).item(), 6)
      1.386294
      >>> round(cross_entropy(jnp.zeros((1, 4)), jnp.array([3.0])).item(), 6)
      1.386294
    """
    reduction = _args.reduction(reduction, "cross_entropy")
    _args.number(eps, "cross_entropy", "eps", low=0.0)
    ignore_index = _args.integer(
        ignore_index, "cross_entropy", "ignore_index", -(2**31)
    )
    x = _floating(x, "cross_entropy")
    _check_logits(x, "cross_entropy")
    logp = jax.nn.log_softmax(x, axis=1)
    target = jnp.asarray(target)
    if target.shape == x.shape and jnp.issubdtype(target.dtype, jnp.floating):
        probs = target.astype(x.dtype)
        if weight is not None:
            shape = (1, -1) + (1,) * (x.ndim - 2)
            probs = probs * jnp.asarray(weight).astype(x.dtype).reshape(shape)
        return _reduce(-(probs * logp).sum(1), reduction)
    loss, w_t = _picked_nll(logp, target, weight, ignore_index, "cross_entropy")
    return _reduce_weighted(loss, w_t, reduction)
