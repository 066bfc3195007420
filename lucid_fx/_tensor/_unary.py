"""Elementwise functions of one tensor: pure JAX math lifted into eager ops.

Each op is one pure function of an array (usable under ``jit``/``vmap``/
``grad``) lifted once by :func:`lucid_fx._tensor.lift`; its gradient is JAX's
derivative of that function, which matches PyTorch's at the edges noted in the
docstrings (``sqrt`` and ``log`` at 0 give ``inf``, ``abs`` at 0 gives 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from lucid_fx._tensor import _checks, _tape
from lucid_fx._tensor._ops import lift

_TEMPLATE = r"""{summary}

    .. math::

        y = {forward} \qquad \frac{{\partial y}}{{\partial x}} = {derivative}

    {note}
    Args:
      a: a Tensor, array or number (integers {ints}).

    Returns:
      A Tensor of ``a``'s shape (an array if no argument is a Tensor).

    Raises:
      TypeError: if ``a`` is not numeric.

    Examples:
      >>> import lucid_fx
      >>> x = lucid_fx.Tensor({x}, requires_grad=True)
      >>> y = lucid_fx.{name}(x)
      >>> [round(v, 4) for v in y.tolist()]
      {y}
      >>> y.sum().backward()
      >>> [round(v, 4) for v in x.grad.tolist()]
      {g}
    """


@jax.custom_jvp
def _abs(x: jax.Array) -> jax.Array:
    return jnp.abs(x)


@_abs.defjvp
def _abs_jvp(primals: tuple, tangents: tuple) -> tuple[jax.Array, jax.Array]:
    # PyTorch's sgn(x) * dx, with sgn(x) = [x > 0] - [x < 0]: 0 at x == 0 (JAX's
    # abs gives 1 there) and 0 at NaN (jnp.sign(NaN) * dx would be NaN).
    (x,), (dx,) = primals, tangents
    # One float residual (two where()s on dx would keep two masks and x).
    sgn = (x > 0).astype(dx.dtype) - (x < 0).astype(dx.dtype)
    return _abs(x), sgn * dx


# ln 2 split for Cody and Waite's reduction: _LN2_HI has 15 significant bits, so
# k * _LN2_HI is exact for |k| <= 2**8 and x - k * _LN2_HI is exact near x.
_LN2_HI = 0.693145751953125
_LN2_LO = 1.4286067653e-06


@jax.custom_jvp
def _exp(x: jax.Array) -> jax.Array:
    """``e**x``; float32 in [64, 89) reduced as ``e**r * 2**k``, ``|r| <= ln2/2``.

    XLA:CPU's float32 exp is within 1.01 ulp below 64 but up to 5.5 ulp on
    [64, 88.72] (measured at every float32 there); PyTorch stays within 1. There
    ``k = round(x / ln 2)``, ``r = (x - k ln2_hi) - k ln2_lo`` (error ~0.1 ulp),
    XLA's exp of ``r`` (within 1 ulp), and two exact scalings by powers of 2
    (``2**k`` alone overflows at k = 128), the last one rounding once.
    """
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.inexact):  # as jnp.exp: the default float
        x = x.astype(jax.dtypes.canonicalize_dtype(jnp.float64))
    if x.dtype != jnp.float32:
        return jnp.exp(x)
    big = (x >= 64.0) & (x < 89.0)  # e**89 overflows: XLA's exp gives inf
    xb = jnp.where(big, x, 64.0)  # the other branch stays finite (its grad too)
    k = jnp.round(xb * (1.0 / math.log(2.0)))
    r = (xb - k * _LN2_HI) - k * _LN2_LO
    k = jnp.where(big, k.astype(jnp.int32), 0)  # 2**0 = 1: the rest as is
    half = k // 2
    # One exp for every element; a product by 1.0 is exact (inf and NaN too).
    return jnp.exp(jnp.where(big, r, x)) * _pow2(half) * _pow2(k - half)


def _pow2(n: jax.Array) -> jax.Array:
    """``2.0**n`` in float32, exactly, for integer ``-126 <= n <= 127``."""
    return lax.bitcast_convert_type((n + 127) << 23, jnp.float32)


@_exp.defjvp
def _exp_jvp(primals: tuple, tangents: tuple) -> tuple[jax.Array, jax.Array]:
    (x,), (dx,) = primals, tangents
    y = _exp(x)
    return y, y * dx


def _cube(x: jax.Array) -> jax.Array:
    # Integers stay integer (wrapping around), as PyTorch's x ** 3; bools count.
    x = jnp.asarray(x)
    return lax.integer_pow(x if x.dtype != jnp.bool_ else _float(x), 3)


# name: (math, summary, forward, derivative, note, x, y, dy/dx); y and dy/dx were
# computed by PyTorch in float64 and rounded to 4 places.
_TABLE: dict[str, tuple[Callable, str, str, str, str, list, list, list]] = {
    "exp": (_exp, "Exponential", r"e^x", r"e^x",
            "float32 is within 1.1 ulp where the result is normal (XLA's exp alone: 5.5"
            " near overflow); results below float32's smallest normal may be 0 on CPU.",
            [0.0, 1.0, 2.0], [1.0, 2.7183, 7.3891], [1.0, 2.7183, 7.3891]),
    "log": (jnp.log, "Natural logarithm", r"\ln x", r"1 / x",
            "At 0 the value is ``-inf`` and the gradient ``inf``, as in PyTorch.",
            [1.0, 2.0, 4.0], [0.0, 0.6931, 1.3863], [1.0, 0.5, 0.25]),
    "sqrt": (jnp.sqrt, "Square root", r"\sqrt{x}", r"\frac{1}{2\sqrt{x}}",
             "At 0 the gradient is ``inf``, as in PyTorch.",
             [1.0, 4.0, 9.0], [1.0, 2.0, 3.0], [0.5, 0.25, 0.1667]),
    "sin": (jnp.sin, "Sine", r"\sin x", r"\cos x", "",
            [0.0, 0.5, 1.0], [0.0, 0.4794, 0.8415], [1.0, 0.8776, 0.5403]),
    "cos": (jnp.cos, "Cosine", r"\cos x", r"-\sin x", "",
            [0.0, 0.5, 1.0], [1.0, 0.8776, 0.5403], [-0.0, -0.4794, -0.8415]),
    "tan": (jnp.tan, "Tangent", r"\tan x", r"1 + \tan^2 x", "",
            [0.0, 0.5, 1.0], [0.0, 0.5463, 1.5574], [1.0, 1.2984, 3.4255]),
    "arcsin": (jnp.arcsin, "Inverse sine", r"\arcsin x", r"\frac{1}{\sqrt{1-x^2}}",
               "Outside [-1, 1] the value is NaN.",
               [0.0, 0.5, -0.5], [0.0, 0.5236, -0.5236], [1.0, 1.1547, 1.1547]),
    "arccos": (jnp.arccos, "Inverse cosine", r"\arccos x",
               r"-\frac{1}{\sqrt{1-x^2}}", "Outside [-1, 1] the value is NaN.",
               [0.0, 0.5, -0.5], [1.5708, 1.0472, 2.0944], [-1.0, -1.1547, -1.1547]),
    "arctan": (jnp.arctan, "Inverse tangent", r"\arctan x", r"\frac{1}{1+x^2}", "",
               [0.0, 1.0, 2.0], [0.0, 0.7854, 1.1071], [1.0, 0.5, 0.2]),
    "sinh": (jnp.sinh, "Hyperbolic sine", r"\sinh x", r"\cosh x", "",
             [0.0, 1.0, 2.0], [0.0, 1.1752, 3.6269], [1.0, 1.5431, 3.7622]),
    "cosh": (jnp.cosh, "Hyperbolic cosine", r"\cosh x", r"\sinh x", "",
             [0.0, 1.0, 2.0], [1.0, 1.5431, 3.7622], [0.0, 1.1752, 3.6269]),
    "tanh": (jnp.tanh, "Hyperbolic tangent", r"\tanh x", r"1 - \tanh^2 x", "",
             [0.0, 1.0, 2.0], [0.0, 0.7616, 0.964], [1.0, 0.42, 0.0707]),
    "abs": (_abs, "Absolute value", r"|x|", r"\operatorname{sign}(x)",
            "The gradient at 0 and at NaN is 0, as in PyTorch.",
            [-2.0, 0.0, 3.0], [2.0, 0.0, 3.0], [-1.0, 0.0, 1.0]),
    "reciprocal": (jnp.reciprocal, "Reciprocal", r"1 / x", r"-1 / x^2",
                   "At 0 the value is ``inf`` and the gradient ``-inf``.",
                   [1.0, 2.0, 4.0], [1.0, 0.5, 0.25], [-1.0, -0.25, -0.0625]),
    "square": (jnp.square, "Square", r"x^2", r"2x", "",
               [-2.0, 0.5, 3.0], [4.0, 0.25, 9.0], [-4.0, 1.0, 6.0]),
    "cube": (_cube, "Cube", r"x^3", r"3x^2", "",
             [-2.0, 0.5, 3.0], [-8.0, 0.125, 27.0], [12.0, 0.75, 27.0]),
}  # fmt: skip


_KEEPS_INTS = dict.fromkeys(
    ("abs", "square", "cube"), "keep their dtype, wrapping around on overflow"
)


def _float(x: jax.Array) -> jax.Array:
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.inexact) else x.astype(jnp.float32)


def _make(name: str) -> Callable:
    math, summary, fwd, der, note, x, y, g = _TABLE[name]

    def pure(a: jax.Array) -> jax.Array:
        _checks.numeric(name, "a", a)
        return math(a)

    pure.__name__ = pure.__qualname__ = name
    pure.__doc__ = _TEMPLATE.format(
        summary=f"{summary}, elementwise.",
        forward=fwd,
        derivative=der,
        note=note + "\n" if note else "",
        ints=_KEEPS_INTS.get(name, "compute in the default float"),
        name=name,
        x=x,
        y=y,
        g=g,
    )
    return lift(pure, name, operands=("a",))


exp = _make("exp")
log = _make("log")
sqrt = _make("sqrt")
sin = _make("sin")
cos = _make("cos")
tan = _make("tan")
arcsin = _make("arcsin")
arccos = _make("arccos")
arctan = _make("arctan")
sinh = _make("sinh")
cosh = _make("cosh")
tanh = _make("tanh")
abs = _make("abs")  # noqa: A001
reciprocal = _make("reciprocal")
square = _make("square")
cube = _make("cube")
_MSG_BOOL_SIGN = (
    "{op}: a bool tensor has no {what}, as in PyTorch. To invert a mask use ~t "
    "or lucid_fx.bitwise_not(t); for numbers convert first (t.int())."
)


def _neg(a: jax.Array) -> jax.Array:
    if jnp.asarray(a).dtype == jnp.bool_:  # jnp.negative says only "bool"
        raise TypeError(_MSG_BOOL_SIGN.format(op="neg", what="negation (-t)"))
    return jnp.negative(a)


neg = lift(_neg, "neg")


def _sign(a: jax.Array) -> jax.Array:
    _checks.numeric("sign", "a", a)
    s = jnp.sign(a)
    # XLA's sign(-0.0) is -0.0; PyTorch and NumPy give 0.0.
    return jnp.where(s == 0, jnp.zeros_like(s), s)


_sign_op = lift(_sign, "sign")


def sign(a: Any) -> Any:
    r"""The sign of each element: -1, 0 or 1 (``-0.0`` gives ``0.0``; NaN stays NaN).

    .. math::

        y = \operatorname{sign}(x)

    ``sign`` has no gradient: the result never requires grad (PyTorch's gradient
    is zero everywhere, so nothing is lost).

    Args:
      a: a Tensor, array or number.

    Returns:
      A Tensor of ``a``'s shape and dtype that does not require grad.

    Examples:
      >>> import lucid_fx
      >>> x = lucid_fx.Tensor([-1.5, 0.0, 2.0], requires_grad=True)
      >>> y = lucid_fx.sign(x)
      >>> y.tolist(), y.requires_grad
      ([-1.0, 0.0, 1.0], False)
    """
    with _tape.no_grad():
        return _sign_op(a)


def _clip(
    a: jax.Array,
    *,
    min_value: float | None,
    max_value: float | None,
    float_bounds: bool = False,
) -> jax.Array:
    _checks.numeric("clip", "a", a)
    a = jnp.asarray(a)
    if not jnp.issubdtype(a.dtype, jnp.inexact) and (
        float_bounds or a.dtype == jnp.bool_
    ):
        # PyTorch's promotion: an integer tensor with a float bound becomes the
        # default float; a bool tensor with an integer bound an integer.
        a = a.astype(jnp.float32 if float_bounds else jnp.int32)
    # where (not jnp.clip, whose min/max split ties) so the gradient is 1 on the
    # closed interval [min, max], as PyTorch's clamp; the outer where gives 0 at
    # NaN (PyTorch's mask min <= x <= max is false there), keeping NaN's value.
    out, inside = lax.stop_gradient(a), jnp.ones(a.shape, bool)
    if min_value is not None:
        out = jnp.where(a < min_value, jnp.asarray(min_value, a.dtype), out)
        inside = inside & (a >= min_value)
    if max_value is not None:
        out = jnp.where(a > max_value, jnp.asarray(max_value, a.dtype), out)
        inside = inside & (a <= max_value)
    return jnp.where(inside, a, out)


_clip_op = lift(_clip, "clip")

_MSG_CLIP_BOUND = (
    "clip: {arg} must be a real number or None, got {kind} {value!r}. Pass e.g. "
    "{arg}=0.0."
)
_MSG_CLIP_ORDER = (
    "clip: min_value ({lo!r}) is greater than max_value ({hi!r}). Pass "
    "min_value <= max_value."
)


def clip(a: Any, min_value: float | None = None, max_value: float | None = None) -> Any:
    r"""Limit each element to the interval ``[min_value, max_value]``.

    .. math::

        y = \min(\max(x, \text{min\_value}), \text{max\_value}) \qquad
        \frac{\partial y}{\partial x} =
        \begin{cases} 1 & \text{min\_value} \le x \le \text{max\_value} \\
        0 & \text{otherwise} \end{cases}

    At a bound the gradient is 1, as PyTorch's ``clamp``. Either bound may be
    ``None`` (no limit on that side). NaN stays NaN, with gradient 0 (PyTorch).
    An integer tensor with a float bound is clipped in the default float
    (``clip(int32 [-3], -1.5)`` is ``[-1.5]``), as PyTorch's type promotion;
    with integer bounds it keeps its dtype.

    Args:
      a: a Tensor, array or number.
      min_value: the lower bound, a real number or ``None``. Default ``None``.
      max_value: the upper bound, a real number or ``None``. Default ``None``.

    Returns:
      A Tensor of ``a``'s shape and dtype (float32 for an integer ``a`` with a
      float bound; int32 for a bool ``a``).

    Raises:
      TypeError: if a bound is not a real number.
      ValueError: if ``min_value > max_value``.

    Examples:
      >>> import lucid_fx
      >>> x = lucid_fx.Tensor([-1.0, 0.0, 1.0, 2.0, 3.0], requires_grad=True)
      >>> y = lucid_fx.clip(x, min_value=0.0, max_value=2.0)
      >>> y.tolist()
      [0.0, 0.0, 1.0, 2.0, 2.0]
      >>> y.sum().backward()
      >>> x.grad.tolist()
      [0.0, 1.0, 1.0, 1.0, 0.0]
    """
    for arg, value in (("min_value", min_value), ("max_value", max_value)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float)
        ):
            raise TypeError(
                _MSG_CLIP_BOUND.format(arg=arg, kind=type(value).__name__, value=value)
            )
    if min_value is not None and max_value is not None and min_value > max_value:
        raise ValueError(_MSG_CLIP_ORDER.format(lo=min_value, hi=max_value))
    # float_bounds is part of the compile key: 1 and 1.0 are equal keys.
    float_bounds = isinstance(min_value, float) or isinstance(max_value, float)
    return _clip_op(
        a, min_value=min_value, max_value=max_value, float_bounds=float_bounds
    )
