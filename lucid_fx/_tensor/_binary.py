"""Elementwise functions of two tensors, with NumPy broadcasting.

The gradient of a broadcast operand is summed over the broadcast axes (JAX's
VJP of the broadcast). Ties in ``maximum``/``minimum`` send half the gradient to
each operand, and a NaN operand sends all of it to both, as PyTorch does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx._tensor import _checks, _tape
from lucid_fx._tensor._ops import lift

_TEMPLATE = r"""{summary}

    .. math::

        y = {forward} \qquad {derivative}

    {note}
    Args:
      a: a Tensor, array or number.
      b: a Tensor, array or number broadcastable with ``a``.

    Returns:
      A Tensor of the broadcast shape (an array if neither is a Tensor).

    Raises:
      ValueError: if the shapes do not broadcast.
      TypeError: if an operand is not numeric.

    Examples:
      >>> import lucid_fx
      >>> a = lucid_fx.Tensor({a}, requires_grad=True)
      >>> b = lucid_fx.Tensor({b}, requires_grad=True)
      >>> y = lucid_fx.{name}(a, b)
      >>> y.tolist()
      {y}
      >>> y.sum().backward()
      >>> r = lambda t: [round(v, 4) for v in t.tolist()]
      >>> r(a.grad), r(b.grad)
      ({ga}, {gb})
    """


_FLUSHED = (jnp.dtype(jnp.float32), jnp.dtype(jnp.bfloat16), jnp.dtype(jnp.float64))


def _daz(x: jax.Array) -> jax.Array:
    """``x`` as XLA:CPU reads it: a float32's, bfloat16's or float64's
    subnormals as zeros of their sign."""
    if x.dtype not in _FLUSHED:
        return x
    # x * 0 is the zero of x's sign and keeps a Python number's weak type.
    # Zeros themselves pass as they are: their derivative stays 1 (a grad of
    # grad of x ** 2.0 at 0 was 0, PyTorch's is 2). Told apart by their bits:
    # XLA:CPU compares a subnormal as 0 (x != 0 was False, so none flushed).
    uint = _UINTS[x.dtype.itemsize]
    magnitude = jax.lax.bitcast_convert_type(x, uint) & uint(_SIGNLESS[x.dtype])
    normal = jax.lax.bitcast_convert_type(
        jnp.asarray(jnp.finfo(x.dtype).tiny, x.dtype), uint
    )
    subnormal = (magnitude != 0) & (magnitude < normal)
    return jnp.where(subnormal, x * 0, x)


_UINTS = {2: jnp.uint16, 4: jnp.uint32, 8: jnp.uint64}
_SIGNLESS = {
    jnp.dtype(jnp.bfloat16): 0x7FFF,
    jnp.dtype(jnp.float32): 0x7FFFFFFF,
    jnp.dtype(jnp.float64): 0x7FFFFFFFFFFFFFFF,
}


def _as_read(a: jax.Array, b: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``power``'s operands as this backend reads them elsewhere.

    XLA:CPU computes a ** b through log(a), which reads a subnormal as about
    half the smallest one (neither a nor the flushed 0): 1e-40 ** 0.5 gave
    2.6e-23 in float32 (bfloat16 alike), 1e-310 ** 0.5 1.6e-162 in float64.
    There both operands are flushed to a signed 0 first, as XLA:CPU flushes
    subnormals elsewhere (sqrt(1e-40) is 0 too; a subnormal exponent then
    gives a ** 0 = 1, its value to its precision), for the value and its
    gradient alike. XLA:GPU keeps subnormals, as PyTorch: nothing to flush.
    """
    if jnp.result_type(a, b) not in _FLUSHED:
        return a, b
    return jax.lax.platform_dependent(
        a, b, cpu=lambda a, b: (_daz(a), _daz(b)), default=lambda a, b: (a, b)
    )


_ROOTED = (jnp.dtype(jnp.float32), jnp.dtype(jnp.bfloat16), jnp.dtype(jnp.float64))


def _pow(a: jax.Array, b: jax.Array) -> jax.Array:
    """``a ** b`` as PyTorch's CPU kernels compute it.

    A Python-number exponent (weakly typed ``b``) of 0.5 or -0.5 is sqrt or
    rsqrt there for float32, bfloat16 and float64 (its float16 kernel and a
    tensor exponent call C's pow): (-0) ** 0.5 is -0, (-0) ** -0.5 is -inf,
    (-inf) ** +-0.5 NaN, where pow gives +0, +inf and +inf or +0.
    """
    y = jnp.power(a, b)
    if not (b.weak_type and y.dtype in _ROOTED):
        return y
    a = a.astype(y.dtype)
    half, minus_half = b == 0.5, b == -0.5
    # Each branch reads 1 where it is not taken: its derivative there is then
    # finite, and 0 times it stays 0 (a grad of grad through x ** 2.0 at x <= 0
    # was NaN: 0 * d sqrt(x)).
    y = jnp.power(jnp.where(half | minus_half, 1, a), b)
    root = jnp.sqrt(jnp.where(half, a, 1))
    inverse_root = jax.lax.rsqrt(jnp.where(minus_half, a, 1))
    return jnp.where(half, root, jnp.where(minus_half, inverse_root, y))


@jax.custom_jvp
def _power(a: jax.Array, b: jax.Array) -> jax.Array:
    a, b = _as_read(jnp.asarray(a), jnp.asarray(b))
    y = _pow(a, b)
    if a.dtype.kind == "i" and b.dtype.kind == "i":
        # PyTorch's integer 1 / a ** -b, truncated: 1 for a == 1, +-1 for
        # a == -1 by b's parity, else 0 (0 ** -b too); XLA returns garbage.
        odd = (b & 1) == 1
        y = jnp.where(
            b < 0,
            jnp.where(a == 1, 1, jnp.where(a == -1, jnp.where(odd, -1, 1), 0)),
            y,
        ).astype(y.dtype)
    return y


@_power.defjvp
def _power_jvp(primals: tuple, tangents: tuple) -> tuple[jax.Array, jax.Array]:
    # PyTorch's pow_backward: 0 for a where b == 0 (JAX gives NaN at a == 0),
    # and 0 for b where a == 0 and b >= 0 (0 ** b does not move with b there).
    a, b = _as_read(*map(jnp.asarray, primals))
    da, db = tangents
    y = _power(a, b)
    zero = jnp.zeros_like(y)
    out = zero
    # An integer operand (a Python int exponent) has a float0 tangent: no term.
    if da.dtype != jax.dtypes.float0:
        out = out + jnp.where(b == 0, zero, b * _pow(a, b - 1)) * da
    if db.dtype != jax.dtypes.float0:
        out = out + jnp.where((a == 0) & (b >= 0), zero, y * jnp.log(a)) * db
    return y, out


def _extremum(pick: Callable, loses: Callable) -> Callable:
    """``maximum`` or ``minimum`` with PyTorch's gradient: ties give each operand
    half, and where one operand is NaN both get the whole gradient (JAX's rule
    gives both 0 there). ``loses(a, b)`` is true where ``a`` is not picked."""

    @jax.custom_jvp
    def extremum(a: jax.Array, b: jax.Array) -> jax.Array:
        return pick(a, b)

    @extremum.defjvp
    def extremum_jvp(primals: tuple, tangents: tuple) -> tuple[jax.Array, jax.Array]:
        (a, b), (da, db) = primals, tangents
        y = extremum(a, b)
        tie = a == b
        out = None
        for d, lost in ((da, loses(a, b)), (db, loses(b, a))):
            if d.dtype != jax.dtypes.float0:  # an integer operand: no term
                weight = jnp.where(tie, 0.5, jnp.where(lost, 0.0, 1.0))
                term = weight.astype(d.dtype) * d
                out = term if out is None else out + term
        return y, jnp.zeros_like(y) if out is None else jnp.broadcast_to(out, y.shape)

    return extremum


_maximum = _extremum(jnp.maximum, jnp.less)
_minimum = _extremum(jnp.minimum, jnp.greater)

_D = r"\frac{{\partial y}}{{\partial {v}}} = {e}"

# name: (math, summary, forward, derivatives, note, a, b, y, dy/da, dy/db); the
# values were worked out by hand (exact in float32).
_TABLE: dict[str, tuple] = {
    "add": (jnp.add, "Elementwise sum", "a + b",
            _D.format(v="a", e="1") + r",\ " + _D.format(v="b", e="1"), "",
            [1.0, 2.0], [4.0], [5.0, 6.0], [1.0, 1.0], [2.0]),
    "sub": (jnp.subtract, "Elementwise difference", "a - b",
            _D.format(v="a", e="1") + r",\ " + _D.format(v="b", e="-1"), "",
            [1.0, 2.0], [4.0], [-3.0, -2.0], [1.0, 1.0], [-2.0]),
    "mul": (jnp.multiply, "Elementwise product", r"a \cdot b",
            _D.format(v="a", e="b") + r",\ " + _D.format(v="b", e="a"), "",
            [1.0, 2.0], [4.0], [4.0, 8.0], [4.0, 4.0], [3.0]),
    "div": (jnp.divide, "Elementwise true division", "a / b",
            _D.format(v="a", e="1/b") + r",\ " + _D.format(v="b", e="-a/b^2"),
            "Integers divide into floats. Division by 0 gives ``inf`` or NaN.",
            [1.0, 2.0], [4.0], [0.25, 0.5], [0.25, 0.25], [-0.1875]),
    "power": (_power, "Elementwise power", "a^b",
              _D.format(v="a", e=r"b\,a^{b-1}") + r",\ "
              + _D.format(v="b", e=r"a^b \ln a"),
              "Where ``a == 0`` and ``b >= 0`` the gradient for ``b`` is 0, as in "
              "PyTorch. Integers to negative integer powers: a Python int "
              "exponent raises ``ValueError`` (PyTorch raises too); an array "
              "exponent gives PyTorch's truncated values (``1 ** -n == 1``, "
              "``(-1) ** -n == +-1``, else 0), also when traced. A Python "
              "number exponent 0.5 or -0.5 is sqrt or rsqrt in float32, "
              "bfloat16 and float64, as PyTorch's kernel: ``(-0.0) ** 0.5`` is "
              "-0.0 (a tensor exponent: C's pow, +0.0). On XLA:CPU, "
              "which reads subnormals as 0 elsewhere, subnormal operands are "
              "flushed first, for the value and the gradient (a GPU keeps "
              "them, as PyTorch).",
              [1.0, 2.0], [2.0], [1.0, 4.0], [2.0, 4.0], [2.7726]),
    "remainder": (jnp.remainder, "Elementwise remainder of floor division",
                  r"a - b \lfloor a / b \rfloor",
                  _D.format(v="a", e="1") + r",\ "
                  + _D.format(v="b", e=r"-\lfloor a / b \rfloor"),
                  "The result has the sign of ``b``, as Python's ``%`` and "
                  "``torch.remainder``. Integers: a Python-number 0 divisor "
                  "raises ``ZeroDivisionError`` (Python's and PyTorch's rule); a "
                  "tensor divisor holding zeros is not checked (see the docs).",
                  [7.0, -7.0], [2.0], [1.0, 1.0], [1.0, 1.0], [1.0]),
    "maximum": (_maximum, "Elementwise maximum", r"\max(a, b)",
                _D.format(v="a", e=r"[a > b] + \tfrac12 [a = b]"),
                "Where ``a == b`` each operand gets half the gradient, and where "
                "one is NaN (the result is NaN) each gets the whole gradient, as "
                "in PyTorch.",
                [1.0, 4.0, 3.0], [3.0], [3.0, 4.0, 3.0], [0.0, 1.0, 0.5], [1.5]),
    "minimum": (_minimum, "Elementwise minimum", r"\min(a, b)",
                _D.format(v="a", e=r"[a < b] + \tfrac12 [a = b]"),
                "Where ``a == b`` each operand gets half the gradient, and where "
                "one is NaN (the result is NaN) each gets the whole gradient, as "
                "in PyTorch.",
                [1.0, 4.0, 3.0], [3.0], [1.0, 3.0, 3.0], [1.0, 0.0, 0.5], [1.5]),
}  # fmt: skip


def _checked(name: str, math: Callable) -> Callable:
    """``math(a, b)`` after the checks every binary op makes, named ``name``."""

    def pure(a: jax.Array, b: jax.Array) -> jax.Array:
        _checks.numeric(name, "a", a)
        _checks.numeric(name, "b", b)
        _checks.broadcast(name, a, b)
        return math(a, b)

    pure.__name__ = pure.__qualname__ = name
    return pure


def _make(name: str) -> Callable:
    math, summary, fwd, der, note, a, b, y, ga, gb = _TABLE[name]
    pure = _checked(name, math)
    pure.__doc__ = _TEMPLATE.format(
        summary=f"{summary}, broadcasting ``a`` and ``b``.",
        forward=fwd,
        derivative=der,
        note=note + "\n" if note else "",
        name=name,
        a=a,
        b=b,
        y=y,
        ga=ga,
        gb=gb,
    )
    return lift(pure, name, operands=("a", "b"))


add = _make("add")
sub = _make("sub")
mul = _make("mul")
div = _make("div")
_power_op = _make("power")

_MSG_NEGATIVE_POWER = (
    "power: integers to negative integer powers are not allowed (PyTorch's "
    "rule), got an integer base and exponent {b!r}. Pass a float exponent, e.g. "
    "{f!r}, or a float base."
)


def power(a: Any, b: Any) -> Any:
    # A Python int exponent is concrete here, before lifting makes it a tracer.
    if (
        isinstance(b, int | np.integer)
        and not isinstance(b, bool)
        and b < 0
        and _is_integer(a)
    ):
        raise ValueError(_MSG_NEGATIVE_POWER.format(b=int(b), f=float(b)))
    return _power_op(a, b)


def _is_integer(v: Any) -> bool:
    dtype = getattr(v, "dtype", None)
    return np.dtype(dtype if dtype is not None else np.asarray(v).dtype).kind in "biu"


power.__doc__ = _power_op.__doc__
_remainder_op = _make("remainder")

_MSG_ZERO_DIVISOR = (
    "{op}: integer division by zero (the divisor is {b!r} and the dividend "
    "has an integer dtype, {dtype}); Python raises ZeroDivisionError and "
    "PyTorch RuntimeError here. Divide by a nonzero number, or make the "
    "dividend floating first (t.float()) for inf and NaN."
)


def _check_divisor(op: str, a: Any, b: Any) -> None:
    """Raise ``ZeroDivisionError`` for a Python or NumPy integer 0 (or
    ``False``) dividing an integer or bool operand. A tensor divisor is not
    read (that would wait for the device on every op): see the docs."""
    if isinstance(b, int | np.integer | np.bool_) and b == 0 and _is_integer(a):
        dtype = getattr(a, "dtype", None)
        dtype = np.asarray(a).dtype if dtype is None else dtype
        raise ZeroDivisionError(_MSG_ZERO_DIVISOR.format(op=op, b=b, dtype=dtype))


def remainder(a: Any, b: Any) -> Any:
    _check_divisor("remainder", a, b)
    return _remainder_op(a, b)


remainder.__doc__ = _remainder_op.__doc__


def _floor_divide_float(a: jax.Array, b: jax.Array) -> jax.Array:
    """PyTorch's ``div_floor_floating`` (ATen): ``a // b`` from ``fmod``, with
    the sign of ``a / b`` on a zero quotient (``-1.0 // -3.0`` is 0.0, ``-0.0
    // 3.0`` -0.0) and IEEE ``a / b`` for ``b == 0``. Every step is rounded
    to the operands' dtype, float16 and bfloat16 too, as in PyTorch's kernel
    (10,000 random 16-bit pairs: all equal to torch's). Its gradient is 0."""
    dtype = jnp.result_type(a, b)
    a, b = (jax.lax.stop_gradient(jnp.asarray(v, dtype)) for v in (a, b))
    mod = jnp.fmod(a, b)
    div = (a - mod) / b
    div = jnp.where((mod != 0) & ((b < 0) != (mod < 0)), div - 1, div)
    floor = jnp.floor(div)
    floor = jnp.where(div - floor > 0.5, floor + 1, floor)
    quotient = a / b
    floor = jnp.where(div != 0, floor, jnp.copysign(jnp.zeros_like(div), quotient))
    return jnp.where(b == 0, quotient, floor).astype(dtype)


def _floor_divide(a: jax.Array, b: jax.Array) -> jax.Array:
    if jnp.issubdtype(jnp.result_type(a, b), jnp.floating):
        return _floor_divide_float(a, b)
    return jnp.floor_divide(a, b)


_floor_divide_op = lift(_checked("floor_divide", _floor_divide), "floor_divide")


def floor_divide(a: Any, b: Any) -> Any:
    r"""Elementwise floor division :math:`\lfloor a / b \rfloor`, broadcasting
    ``a`` and ``b``: Python's ``//`` and ``torch.floor_divide`` (rounds toward
    :math:`-\infty`).

    It has no gradient: the result does not require grad (PyTorch raises at
    ``backward()``). :func:`remainder` is differentiable.

    Floats follow PyTorch's kernel: a zero quotient has the sign of ``a / b``
    (``-1.0 // -3.0`` is ``0.0``, ``-0.0 // 3.0`` is ``-0.0``), and a zero
    divisor gives ``a / b`` (inf or NaN). Integers: a Python-number zero
    divisor raises ``ZeroDivisionError``, as in Python and PyTorch; a tensor
    divisor holding zeros is not checked (see the ops docs for its values).

    Args:
      a: a Tensor, array or number.
      b: a Tensor, array or number broadcastable with ``a``.

    Returns:
      A Tensor of the broadcast shape that does not require grad.

    Raises:
      ValueError: if the shapes do not broadcast.
      TypeError: if an operand is not numeric.
      ZeroDivisionError: for integers divided by a Python-number 0.

    Examples:
      >>> import lucid_fx
      >>> a = lucid_fx.Tensor([7.0, -7.0], requires_grad=True)
      >>> y = lucid_fx.floor_divide(a, 2.0)
      >>> y.tolist(), y.requires_grad
      ([3.0, -4.0], False)
    """
    _check_divisor("floor_divide", a, b)
    with _tape.no_grad():
        return _floor_divide_op(a, b)


maximum = _make("maximum")
minimum = _make("minimum")
pow = power  # noqa: A001  (the ``**`` operator)
