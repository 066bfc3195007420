"""Bitwise and logical operators ``& | ^ ~`` on bool and integer tensors.

PyTorch's rules (lucid 0.13 documents no such operators): on bool tensors they
are the logical and/or/xor/not, on integers the bitwise ones (two's
complement); mixed bool and integer operands promote to the integer dtype.
Floating operands raise ``TypeError`` naming the operator and both dtypes. The
results are bool or integer, so they never require grad.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx._tensor import _checks
from lucid_fx._tensor._ops import lift

_MSG_DTYPE = (
    "{name} (the {symbol} operator): expects bool or integer operands, got "
    "{dtypes}. Bitwise and logical operators are not defined on floating "
    "tensors (as in PyTorch); compare first (e.g. {hint}) or "
    "cast with .astype(jnp.int32)."
)

_TEMPLATE = r"""{summary}

    On bool tensors this is the logical {logic}; on integer tensors the bitwise
    {logic} of the two's-complement bits (PyTorch's ``{torch_name}``). A bool
    and an integer operand promote to the integer dtype. The result has no
    gradient.

    Args:
      {args}

    Returns:
      A Tensor of the broadcast shape and the promoted bool or integer dtype (an
      array if no operand is a Tensor).

    Raises:
      TypeError: if an operand is floating, complex or not numeric.
      ValueError: if the shapes do not broadcast.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx import Tensor
      >>> p = Tensor([True, True, False])
      >>> q = Tensor([True, False, False])
      >>> i = Tensor([12, 10, -1], dtype=jnp.int32)
      >>> {bool_example}
      {bool_out}
      >>> {int_example}
      {int_out}
    """


def _dtype(x: Any) -> np.dtype:
    return np.dtype(x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype)


def _kind(x: Any) -> str:
    """The operand's dtype, or "Python float" for a number (lift turns Python
    numbers into weakly typed scalars, so both spellings land here)."""
    if isinstance(x, bool | int | float | complex):
        return f"Python {type(x).__name__}"
    dtype = _dtype(x)
    if isinstance(x, jax.Array) and jax.typeof(x).weak_type:
        return "Python float" if dtype.kind in "fc" else "Python int"
    return str(dtype)


def _check(name: str, symbol: str, *operands: Any) -> None:
    for i, x in enumerate(operands):
        _checks.numeric(name, "ab"[i] if len(operands) > 1 else "a", x)
    if any(_dtype(x).kind not in "biu" for x in operands):
        dtypes = " and ".join(_kind(x) for x in operands)
        hint = "~(x > 0)" if symbol == "~" else f"(x > 0) {symbol} (y > 0)"
        raise TypeError(
            _MSG_DTYPE.format(name=name, symbol=symbol, dtypes=dtypes, hint=hint)
        )
    if len(operands) == 2:
        _checks.broadcast(name, *operands)


# name: (math, operator symbol, logic word, bool example, its output, int
# example, its output); the outputs were worked out by hand.
_TABLE: dict[str, tuple[Callable, str, str, str, str, str, str]] = {
    "bitwise_and": (jnp.bitwise_and, "&", "and", "(p & q).tolist()",
                    "[True, False, False]", "(i & 6).tolist()", "[4, 2, 6]"),
    "bitwise_or": (jnp.bitwise_or, "|", "or", "(p | q).tolist()",
                   "[True, True, False]", "(i | 1).tolist()", "[13, 11, -1]"),
    "bitwise_xor": (jnp.bitwise_xor, "^", "xor", "(p ^ q).tolist()",
                    "[False, True, False]", "(i ^ 6).tolist()", "[10, 12, -7]"),
    "bitwise_not": (jnp.invert, "~", "not", "(~p).tolist()",
                    "[False, False, True]", "(~i).tolist()", "[-13, -11, 0]"),
}  # fmt: skip


def _make(name: str) -> Callable:
    math, symbol, logic, bool_example, bool_out, int_example, int_out = _TABLE[name]

    if name == "bitwise_not":

        def pure(a: jax.Array) -> jax.Array:
            _check(name, symbol, a)
            return math(a)

        args = "a: a bool or integer Tensor, array or number."
    else:

        def pure(a: jax.Array, b: jax.Array) -> jax.Array:  # type: ignore[misc]
            _check(name, symbol, a, b)
            return math(a, b)

        args = (
            "a: a bool or integer Tensor, array or number.\n"
            "      b: the same, broadcastable with ``a``."
        )
    pure.__name__ = pure.__qualname__ = name
    pure.__doc__ = _TEMPLATE.format(
        summary=f"Elementwise ``{symbol}``: logical or bitwise {logic}.",
        logic=logic,
        torch_name=f"torch.{name}",
        args=args,
        bool_example=bool_example,
        bool_out=bool_out,
        int_example=int_example,
        int_out=int_out,
    )
    return lift(pure, name)


bitwise_and = _make("bitwise_and")
bitwise_or = _make("bitwise_or")
bitwise_xor = _make("bitwise_xor")
bitwise_not = _make("bitwise_not")
