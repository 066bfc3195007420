"""N-d convolution (``conv1d/2d/3d``) and ``unfold``: pure math on XLA's conv.

Layouts are PyTorch's: input ``(N, C_in, *spatial)``, weight
``(C_out, C_in / groups, *kernel)``. Gradients are JAX's (the transposed
convolutions), which match PyTorch's.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx._typing import Array, ArrayLike
from lucid_fx.functional import _args
from lucid_fx.functional._opmath import exact_products

Padding = str | int | tuple


def _dims(n: int) -> jax.lax.ConvDimensionNumbers:
    spatial = "DHW"[3 - n :] if n <= 3 else None
    if spatial is None:
        raise ValueError(f"conv: only 1-3 spatial dimensions, got {n}.")
    return jax.lax.conv_dimension_numbers(
        (1, 1) + (1,) * n,
        (1, 1) + (1,) * n,
        ("NC" + spatial, "OI" + spatial, "NC" + spatial),
    )


def conv_padding(
    padding: Padding,
    kernel: tuple,
    stride: tuple,
    dilation: tuple,
    api: str,
) -> tuple:
    """``'valid'``, ``'same'``, an int or a tuple as explicit (low, high) pairs."""
    n = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding != "same":
            raise ValueError(
                f"{api}: padding must be 'same', 'valid', an int or a tuple of "
                f"{n} ints, got {padding!r}."
            )
        if any(s != 1 for s in stride):
            raise ValueError(
                f"{api}: padding='same' needs stride 1 (as PyTorch), got "
                f"stride={stride}."
            )
        # PyTorch's split: the extra pixel of an even total goes on the high side.
        totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        return tuple((t // 2, t - t // 2) for t in totals)
    return tuple((p, p) for p in _args.ints(padding, n, api, "padding"))


def conv_args(
    n: int,
    stride: object,
    padding: object,
    dilation: object,
    groups: object,
    kernel: tuple,
    api: str,
) -> dict:
    """Validated static arguments of an n-d convolution."""
    stride = _args.ints(stride, n, api, "stride", low=1)
    dilation = _args.ints(dilation, n, api, "dilation", low=1)
    return {
        "stride": stride,
        "padding": conv_padding(padding, kernel, stride, dilation, api),
        "dilation": dilation,
        "groups": _args.integer(groups, api, "groups", low=1),
    }


def _check_fits(
    api: str, spatial: tuple, kernel: tuple, dilation: tuple, padding: tuple
) -> None:
    """Raise (as PyTorch) when the dilated kernel spans more than the padded
    input: there would be no output position."""
    for size, k, d, (lo, hi) in zip(spatial, kernel, dilation, padding, strict=True):
        if size + lo + hi < d * (k - 1) + 1:
            raise ValueError(
                f"{api}: the kernel {tuple(kernel)} with dilation {dilation} "
                f"spans more than the padded input {tuple(spatial)} (padding "
                f"{padding}): no output position. Use a smaller kernel or "
                f"dilation, or pad more."
            )


@exact_products
def _conv(
    x: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None,
    n: int,
    stride: object,
    padding: object,
    dilation: object,
    groups: object,
) -> Array:
    api = f"conv{n}d"
    x, weight = jnp.asarray(x), jnp.asarray(weight)
    if weight.ndim != n + 2:
        raise ValueError(
            f"{api}: weight must be {n + 2}-D (out_channels, in_channels/groups, "
            f"*kernel), got shape {tuple(weight.shape)}."
        )
    if x.ndim == n + 1:  # unbatched (channels, *spatial), as PyTorch
        return _conv(x[None], weight, bias, n, stride, padding, dilation, groups)[0]
    if x.ndim != n + 2:
        raise ValueError(
            f"{api}: input must be {n + 2}-D (batch, channels, *spatial) or "
            f"{n + 1}-D (channels, *spatial), got shape {tuple(x.shape)}."
        )
    kw = conv_args(n, stride, padding, dilation, groups, weight.shape[2:], api)
    g = kw["groups"]
    if x.shape[1] != weight.shape[1] * g or weight.shape[0] % g:
        raise ValueError(
            f"{api}: input of shape {tuple(x.shape)} has {x.shape[1]} channels but "
            f"weight of shape {tuple(weight.shape)} with groups={g} expects "
            f"{weight.shape[1] * g} (and out_channels divisible by groups)."
        )
    _check_fits(api, x.shape[2:], weight.shape[2:], kw["dilation"], kw["padding"])
    if bias is not None and tuple(jnp.shape(bias)) != weight.shape[:1]:
        raise ValueError(
            f"{api}: bias must have shape ({weight.shape[0]},), one per output "
            f"channel, got {tuple(jnp.shape(bias))}."
        )
    # One dtype for both operands, as nn.Linear: an integer image batch is
    # promoted to the weights' float dtype (casting the weights to uint8
    # truncated them), float16 with float32 weights computes in float32.
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        dtype = weight.dtype
    else:  # explicit: no implicit promotion (strict mode stays usable)
        dtype = np.promote_types(x.dtype, weight.dtype)
    out = jax.lax.conv_general_dilated(
        x.astype(dtype),
        weight.astype(dtype),
        window_strides=kw["stride"],
        padding=kw["padding"],
        rhs_dilation=kw["dilation"],
        dimension_numbers=_dims(n),
        feature_group_count=g,
    )
    if bias is not None:
        out = out + jnp.asarray(bias).astype(dtype).reshape((1, -1) + (1,) * n)
    return out


_CONV_DOC = r"""{n}-D convolution (cross-correlation), as PyTorch's ``conv{n}d``.

    .. math::

        y_{{b,o,\mathbf p}} = \beta_o + \sum_{{c \in g(o)}} \sum_{{\mathbf k}}
        w_{{o,c,\mathbf k}}\, x_{{b,c,\mathbf s \odot \mathbf p + \mathbf d
        \odot \mathbf k - \mathbf{{pad}}}}

    Gradients: the transposed convolution for ``x``, the correlation of ``x``
    with the output cotangent for ``w``, its sum for the bias.

    Args:
      x: input ``(N, C_in, {spatial})``, or unbatched ``(C_in, {spatial})``.
      weight: ``(C_out, C_in / groups, {kernel})``.
      bias: ``(C_out,)`` or ``None``.
      stride: int or tuple of {n} ints >= 1. Default 1.
      padding: ``'valid'``, ``'same'`` (stride 1 only; an odd total puts
        the extra on the high side, as PyTorch), an int or a tuple. Default 0.
      dilation: int or tuple of {n} ints >= 1. Default 1.
      groups: channel groups dividing both channel counts. Default 1.

    Returns:
      ``(N, C_out, {spatial_out})`` in ``x``'s dtype.

    Raises:
      ValueError: shapes or channels do not match, a bad stride/padding, or
        a (dilated) kernel larger than the padded input.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional import conv{n}d
      >>> x = jnp.ones((1, 1) + (3,) * {n})
      >>> w = jnp.ones((1, 1) + (2,) * {n})
      >>> conv{n}d(x, w).reshape(-1)[:2].tolist()
      [{value}, {value}]
    """


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: D103
    return _conv(x, weight, bias, 1, stride, padding, dilation, groups)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: D103
    return _conv(x, weight, bias, 2, stride, padding, dilation, groups)


def conv3d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: D103
    return _conv(x, weight, bias, 3, stride, padding, dilation, groups)


for _n, _fn, _spatial in (
    (1, conv1d, "L"),
    (2, conv2d, "H, W"),
    (3, conv3d, "D, H, W"),
):
    _fn.__doc__ = _CONV_DOC.format(
        n=_n,
        spatial=_spatial,
        kernel=", ".join(f"k{i}" for i in range(_n)),
        spatial_out=_spatial.replace("L", "L_out").replace("H", "H_out"),
        value=float(2**_n),
    )


def unfold(
    x: ArrayLike,
    filter_size: int | tuple,
    stride: int | tuple = 1,
    padding: int | tuple = 0,
    dilation: int | tuple = 1,
) -> Array:
    r"""Sliding patches as columns (im2col), in lucid's argument order.

    For input ``(N, C, *spatial)`` the result is ``(N, C * prod(filter_size),
    L)``: column ``l`` holds patch ``l`` (row-major over the output
    positions), channel-major then kernel-position order, as
    ``torch.nn.functional.unfold``. Note lucid's positional order
    ``(filter_size, stride, padding, dilation)`` differs from PyTorch's
    ``(kernel_size, dilation, padding, stride)``: pass keywords to be safe.
    The gradient scatters each column entry back onto its input pixel (sums
    where patches overlap).

    Args:
      x: input ``(N, C, *spatial)``, 1-3 spatial dimensions.
      filter_size: int or tuple, one per spatial dimension.
      stride: int or tuple, >= 1. Default 1.
      padding: int or tuple of zero padding, >= 0. Default 0.
      dilation: int or tuple, >= 1. Default 1.

    Returns:
      ``(N, C * prod(filter_size), L)``.

    Raises:
      ValueError: a bad argument, or a (dilated) filter larger than the padded
        input (as PyTorch).

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx.functional import unfold
      >>> x = jnp.arange(1.0, 10.0).reshape(1, 1, 3, 3)
      >>> for row in unfold(x, (2, 2))[0].tolist():
      ...     print(row)
      [1.0, 2.0, 4.0, 5.0]
      [2.0, 3.0, 5.0, 6.0]
      [4.0, 5.0, 7.0, 8.0]
      [5.0, 6.0, 8.0, 9.0]
    """
    x = jnp.asarray(x)
    n = x.ndim - 2
    if not 1 <= n <= 3:
        raise ValueError(
            f"unfold: input must be (batch, channels, *spatial) with 1-3 spatial "
            f"dimensions, got shape {tuple(x.shape)}."
        )
    kernel = _args.ints(filter_size, n, "unfold", "filter_size", low=1)
    strides = _args.ints(stride, n, "unfold", "stride", low=1)
    pads = _args.ints(padding, n, "unfold", "padding")
    dil = _args.ints(dilation, n, "unfold", "dilation", low=1)
    pairs = tuple((p, p) for p in pads)
    _check_fits("unfold", x.shape[2:], kernel, dil, pairs)
    patches = jax.lax.conv_general_dilated_patches(
        x,
        kernel,
        strides,
        list(pairs),
        rhs_dilation=dil,
        dimension_numbers=_dims(n),
        precision=jax.lax.Precision.HIGHEST,
    )
    return patches.reshape(patches.shape[0], patches.shape[1], -1)
