"""Argument checks shared by every layer; each raises a message in the style guide.

Messages name the public API, show what was received and what is expected.
"""

from __future__ import annotations

import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np

_MSG_SLOPE_TYPE = (
    "{api}: negative_slope must be a real number or array, got {kind} {value!r}. "
    "Pass a number, e.g. negative_slope=0.1."
)
_MSG_SLOPE_FINITE = (
    "{api}: negative_slope must be finite, got {value!r}. "
    "Pass a finite number, e.g. negative_slope=0.1."
)
_MSG_SLOPE_RANGE = (
    "{api}: negative_slope={value!r} overflows {dtype} (largest finite value "
    "{limit:.4g}), the dtype {api} multiplies in. PyTorch refuses such a slope "
    "too. Pass a slope within that range."
)
_MSG_SLOPE_SHAPE = (
    "{api}: negative_slope of shape {slope_shape} does not broadcast to the input "
    "shape {x_shape} without enlarging it. Pass a scalar or a per-channel array "
    "whose shape broadcasts to {x_shape}."
)
_MSG_REAL_INPUT = (
    "{api}: {name} must be a real (floating, integer or bool) array, got {kind}. "
    "{api} is defined for real inputs only; pass e.g. jnp.real(x) or abs(x)."
)
_MSG_TRACED = (
    "{api}: {name} must be a concrete Python value, got a traced {aval} (a "
    "Python number passed to a lucid_fx.compile'd or jax.jit'd function is "
    "traced). Pass it as a static argument: name the argument that carries it "
    "in static_argnames, e.g. lucid_fx.compile(fn, static_argnames=('{name}',))."
)


class TracedArgumentError(TypeError):
    """A traced number reached an argument that needs a concrete Python value.

    ``lucid_fx.compile`` treats it as untraceable (as JAX's
    ``ConcretizationTypeError``): the step falls back to the eager path with one
    warning. Elsewhere (``jax.jit``) it is an ordinary ``TypeError``.
    """


def check_concrete(value: object, api: str, name: str) -> None:
    """Raise :class:`TracedArgumentError` if ``value`` (or an element of a list
    or tuple ``value``) is a JAX tracer.

    Examples:
      >>> from lucid_fx._validate import check_concrete
      >>> check_concrete((2, -1), "reshape", "shape")
    """
    items = value if isinstance(value, list | tuple) else (value,)
    for item in items:
        if isinstance(item, jax.core.Tracer):
            aval = jax.typeof(item).str_short()
            raise TracedArgumentError(_MSG_TRACED.format(api=api, name=name, aval=aval))


def is_python_scalar(value: object) -> bool:
    """True for a concrete Python or numpy scalar (not an array, not a tracer)."""
    return isinstance(value, numbers.Number | np.generic) and not isinstance(
        value, np.ndarray
    )


def _describe(value: object) -> str:
    dtype = getattr(value, "dtype", None)
    if dtype is not None:
        return f"{type(value).__name__} of dtype {dtype}"
    return type(value).__name__


def check_slope_number(value: object, api: str) -> float:
    """Validate a concrete slope and return it as a Python float.

    ``-0.0`` is normalised to ``0.0``: the two compare equal, so they would share
    a jit cache entry, and the sign of zero outputs would depend on call order.
    """
    bad_kind = isinstance(value, bool | np.bool_ | complex | np.complexfloating)
    if bad_kind or not is_python_scalar(value):
        raise TypeError(
            _MSG_SLOPE_TYPE.format(api=api, kind=type(value).__name__, value=value)
        )
    slope = float(value)  # type: ignore[arg-type]
    if not math.isfinite(slope):
        raise ValueError(_MSG_SLOPE_FINITE.format(api=api, value=value))
    return slope + 0.0


def check_slope_range(slope: float, dtype: object, api: str) -> None:
    """A concrete slope must be finite in ``dtype`` (the multiply's dtype).

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx._validate import check_slope_range
      >>> check_slope_range(0.5, jnp.float32, "leaky_relu")
    """
    limit = float(jnp.finfo(dtype).max)
    if abs(slope) > limit:
        raise ValueError(
            _MSG_SLOPE_RANGE.format(
                api=api, value=slope, dtype=jnp.dtype(dtype).name, limit=limit
            )
        )


def check_slope_array(value: object, api: str) -> jax.Array:
    """Validate an array (or traced) slope: real dtype; finite when concrete.

    Integer arrays become the default float dtype. A traced slope cannot be
    checked for finiteness; a NaN there propagates to the outputs.
    """
    if value is None or isinstance(value, str | bytes):
        raise TypeError(
            _MSG_SLOPE_TYPE.format(api=api, kind=type(value).__name__, value=value)
        )
    if not isinstance(value, jax.core.Tracer):
        try:
            host = np.asarray(value)
        except (TypeError, ValueError) as err:
            raise TypeError(
                _MSG_SLOPE_TYPE.format(api=api, kind=type(value).__name__, value=value)
            ) from err
        if host.dtype.kind in "fiu" and not np.isfinite(host).all():
            raise ValueError(_MSG_SLOPE_FINITE.format(api=api, value=value))
    slope = jnp.asarray(value)
    if jnp.issubdtype(slope.dtype, jnp.integer):
        return slope.astype(jnp.result_type(float))
    if not jnp.issubdtype(slope.dtype, jnp.floating):
        raise TypeError(
            _MSG_SLOPE_TYPE.format(api=api, kind=_describe(slope), value=value)
        )
    return slope


def check_slope_shape(slope_shape: tuple, x_shape: tuple, api: str) -> None:
    """The slope must broadcast to ``x_shape`` without enlarging it."""
    try:
        ok = np.broadcast_shapes(slope_shape, x_shape) == tuple(x_shape)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            _MSG_SLOPE_SHAPE.format(api=api, slope_shape=slope_shape, x_shape=x_shape)
        )


def as_real_float_array(x: object, api: str, name: str = "x") -> jax.Array:
    """Convert ``x`` to a floating JAX array; integers and bools become the
    default float dtype, complex and non-numeric inputs raise ``TypeError``."""
    if isinstance(x, str | bytes) or x is None:
        raise TypeError(
            _MSG_REAL_INPUT.format(api=api, name=name, kind=type(x).__name__)
        )
    try:
        arr = jnp.asarray(x)
    except (TypeError, ValueError) as err:
        raise TypeError(
            _MSG_REAL_INPUT.format(api=api, name=name, kind=type(x).__name__)
        ) from err
    if jnp.issubdtype(arr.dtype, jnp.floating):
        return arr
    if jnp.issubdtype(arr.dtype, jnp.integer) or arr.dtype == jnp.bool_:
        return arr.astype(jnp.result_type(float))
    raise TypeError(_MSG_REAL_INPUT.format(api=api, name=name, kind=_describe(arr)))
