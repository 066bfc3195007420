"""``lucid_fx.nn.utils``: gradient clipping, as ``torch.nn.utils``.

Both functions rescale or clamp the ``.grad`` of the given parameters in place
(every reference to a grad Tensor sees the new values, as PyTorch's in-place
``mul_``/``clamp_``), with one compiled call for all of them. They work in an
eager loop and inside ``lucid_fx.compile``'d steps, where the grads are traced.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx._tensor import Tensor
from lucid_fx._validate import check_concrete


def _grads_of(api: str, parameters: Any) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(
                f"{api}: parameters[{i}] must be a Tensor (e.g. a Parameter), got "
                f"{type(p).__name__}."
            )
    return [p.grad for p in params if p.grad is not None]


def _number(api: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        check_concrete(value, api, name)
        raise TypeError(f"{api}: {name} must be a number, got {type(value).__name__}.")
    return float(value)


def _norm_type(api: str, value: Any) -> float:
    """``p`` of the norm: a number, or the string ``"inf"`` (any case), as
    PyTorch's ``float(norm_type)``."""
    if isinstance(value, str):
        if value.strip().lower() == "inf":
            return math.inf
        raise ValueError(
            f"{api}: norm_type as a string must be 'inf' (the infinity norm), got "
            f"{value!r}. Pass a number for any other norm."
        )
    return _number(api, "norm_type", value)


def _foreach(api: str, value: Any) -> None:
    """PyTorch's ``foreach`` only picks its kernel: ``None``/``True``/``False``
    are all accepted and change nothing here."""
    if value is not None and not isinstance(value, bool | np.bool_):
        check_concrete(value, api, "foreach")
        raise TypeError(
            f"{api}: foreach must be None, True or False, got "
            f"{type(value).__name__} {value!r}."
        )


def _bound(api: str, name: str, value: Any) -> jax.Array:
    """A number as a float32 scalar. A Python or NumPy number, or a 0-d real
    Tensor / JAX / NumPy array (as PyTorch's ``float(max_norm)``). A traced
    real scalar (a Python number or 0-d Tensor argument of a compiled step) is
    kept: it is only multiplied or compared, so one program serves every
    value."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, jax.Array | np.ndarray | np.generic):
        dtype = value.dtype
        if value.shape != ():
            raise ValueError(
                f"{api}: {name} must be a number or a 0-d tensor, got a tensor of "
                f"shape {tuple(value.shape)}."
            )
        if dtype == np.bool_ or not (
            jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.integer)
        ):
            raise TypeError(
                f"{api}: {name} must be a real number, got a 0-d tensor of dtype "
                f"{dtype}."
            )
        return jnp.asarray(value).astype(jnp.float32)
    return jnp.float32(_number(api, name, value))


@functools.partial(jax.jit, static_argnums=(2,))
def _clip_norm(
    grads: list[jax.Array], max_norm: jax.Array, norm_type: float
) -> tuple[list[jax.Array], jax.Array]:
    # Each grad's norm in float32 (or wider), then the norm of those norms.
    norms = [
        jnp.linalg.norm(
            g.ravel().astype(jnp.promote_types(g.dtype, jnp.float32)), norm_type
        )
        for g in grads
    ]
    total = jnp.linalg.norm(jnp.stack(norms), norm_type)
    scale = jnp.minimum(max_norm / (total + 1e-6), 1.0)
    return [(g * scale).astype(g.dtype) for g in grads], total


@jax.jit
def _clip_value(grads: list[jax.Array], clip: jax.Array) -> list[jax.Array]:
    return [jnp.clip(g, -clip, clip).astype(g.dtype) for g in grads]


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float | Tensor,
    norm_type: float | str = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    r"""Rescale the gradients so that their joint norm is at most ``max_norm``.

    With :math:`N = \lVert (\lVert g_1 \rVert_p, \ldots, \lVert g_k
    \rVert_p) \rVert_p` over the parameters' gradients (``p = inf``: the
    largest absolute entry), every gradient is multiplied in place by
    :math:`\min(1, \text{max\_norm} / (N + 10^{-6}))`, as PyTorch's
    ``torch.nn.utils.clip_grad_norm_``. Parameters without a gradient are
    skipped.

    Args:
      parameters: a Tensor or an iterable of Tensors (e.g.
        ``model.parameters()``).
      max_norm: the largest norm allowed: a Python or NumPy number.
        Also a 0-d real Tensor, JAX or NumPy array, as PyTorch accepts.
        In a compiled step it may be a Python number or 0-d Tensor argument
        of the step (traced): the step stays compiled and one program serves
        every value.
      norm_type: ``p`` of the norm; ``float("inf")`` for the max norm.
        Also the string ``"inf"`` (any case), as PyTorch documents; no other
        string. Default 2. A concrete number: traced, it makes a compiled
        step fall back to eager (mark it in ``static_argnames``).
      error_if_nonfinite: raise if the total norm is NaN or infinite (reads
        it on the host: not inside a compiled step). Default ``False``.
      foreach: PyTorch's choice of kernel; ``None``, ``True`` or ``False``
        are accepted and change nothing here (one compiled call clips every
        gradient). Default ``None``.

    Returns:
      The total norm :math:`N` before clipping, a 0-d float32 Tensor.

    Raises:
      TypeError: if a parameter is not a Tensor, a number is not a number,
        or ``foreach`` is not ``None``/``True``/``False``.
      ValueError: if ``max_norm`` is a tensor that is not 0-d, or
        ``norm_type`` is a string other than ``"inf"``.
      RuntimeError: with ``error_if_nonfinite``, if the norm is NaN or
        infinite.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> w = nn.Parameter([3.0, 4.0])
      >>> w.grad = Tensor([3.0, 4.0])
      >>> nn.utils.clip_grad_norm_([w], max_norm=1.0).item()
      5.0
      >>> [round(v, 4) for v in w.grad.tolist()]
      [0.6, 0.8]
      >>> w.grad = Tensor([3.0, -4.0])
      >>> nn.utils.clip_grad_norm_(w, Tensor(2.0), "inf", foreach=True).item()
      4.0
      >>> [round(v, 4) for v in w.grad.tolist()]
      [1.5, -2.0]
    """
    api = "clip_grad_norm_"
    _foreach(api, foreach)
    max_norm = _bound(api, "max_norm", max_norm)
    norm_type = _norm_type(api, norm_type)
    grads = _grads_of(api, parameters)
    if not grads:
        return Tensor(0.0)
    new, total = _clip_norm([g.data for g in grads], max_norm, norm_type)
    if error_if_nonfinite and not math.isfinite(float(total)):
        raise RuntimeError(
            f"{api}: the total norm of order {norm_type} of the gradients is "
            f"{float(total)}, so they cannot be clipped; pass "
            f"error_if_nonfinite=False to clip them anyway (as PyTorch)."
        )
    for g, v in zip(grads, new, strict=True):
        g.set_data(v)
    return Tensor._wrap(total)


def clip_grad_value_(
    parameters: Tensor | Iterable[Tensor],
    clip_value: float | Tensor,
    foreach: bool | None = None,
) -> None:
    r"""Clamp every gradient entry to :math:`[-c, c]` in place, as PyTorch's
    ``torch.nn.utils.clip_grad_value_``. Parameters without a gradient are
    skipped.

    Args:
      parameters: a Tensor or an iterable of Tensors.
      clip_value: :math:`c`, the largest absolute value kept: a Python or
        NumPy number. Also a 0-d real Tensor, JAX or NumPy array, as PyTorch
        accepts. May be traced (a Python number or 0-d Tensor argument of a
        compiled step), as ``max_norm``.
      foreach: PyTorch's choice of kernel; ``None``, ``True`` or ``False``
        are accepted and change nothing here. Default ``None``.

    Raises:
      TypeError: if a parameter is not a Tensor, ``clip_value`` is not a
        number, or ``foreach`` is not ``None``/``True``/``False``.
      ValueError: if ``clip_value`` is a tensor that is not 0-d.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> from lucid_fx import Tensor
      >>> w = nn.Parameter([1.0, 1.0, 1.0])
      >>> w.grad = Tensor([-3.0, 0.5, 2.0])
      >>> nn.utils.clip_grad_value_(w, 1.0)
      >>> w.grad.tolist()
      [-1.0, 0.5, 1.0]
    """
    api = "clip_grad_value_"
    _foreach(api, foreach)
    clip = _bound(api, "clip_value", clip_value)
    grads = _grads_of(api, parameters)
    if grads:
        for g, v in zip(grads, _clip_value([g.data for g in grads], clip), strict=True):
            g.set_data(v)


__all__ = ["clip_grad_norm_", "clip_grad_value_"]
