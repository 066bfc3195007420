"""Turning user data into JAX arrays, with the errors lucid users need.

The rules (lucid's, PyTorch's where lucid is silent):

- Python numbers and (nested) lists of numbers become float32, lucid's default
  dtype; Python bools stay bool (PyTorch), so masks from lists keep working.
- NumPy, JAX and PyTorch (CPU) arrays keep their dtype, except that float64
  without ``jax_enable_x64`` becomes float32 with one :class:`Float64Warning`,
  and int64 without ``jax_enable_x64`` becomes int32.
- Integer values out of range for the target dtype raise ``OverflowError``
  naming the value and the dtype (never a silent wrap-around); a Python int too
  large for float32 raises too. Floats out of float32's range become ``inf``,
  as in PyTorch.
- Strings, ``None`` and other foreign objects raise ``TypeError`` naming the
  object's type and module.
- Host data is read when the call is made, as ``torch.tensor`` and lucid do:
  NumPy (and PyTorch) memory is copied on the host before JAX sees it
  (:func:`snapshot`), so changing the source afterwards never reaches the
  Tensor.
"""

from __future__ import annotations

import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx._typing import DTypeLike

_MSG_RAGGED = (
    "Tensor: data must be rectangular, got nested sequences of unequal lengths "
    "({detail}). Pad or trim the rows so every row has the same length."
)
_MSG_NON_NUMERIC = (
    "Tensor: data must be numbers, nested lists of numbers or an array, got "
    "{kind}. Convert it first, e.g. Tensor([1.0, 2.0])."
)
_MSG_OVERFLOW = (
    "Tensor: value {value} is out of range for dtype {dtype} (range {lo} to "
    "{hi}); it cannot be stored without overflow. Use a wider dtype{hint}."
)
_MSG_FLOAT64 = (
    "Tensor: float64 data became float32 because JAX runs without 64-bit types. "
    "Enable them with jax.config.update('jax_enable_x64', True) before creating "
    "arrays, or pass float32 data to silence this warning."
)
_MSG_TORCH_DEVICE = (
    "Tensor: a PyTorch tensor on device {device!r} cannot be read here; move it "
    "to the CPU first with t.cpu()."
)
_MSG_OPERAND = (
    "Tensor.{op}: unsupported operand of type {kind}; expected a Tensor, a "
    "number, a list of numbers, or a NumPy, JAX or PyTorch (CPU) array."
)


class Float64Warning(UserWarning):
    """float64 data was stored as float32 (JAX runs without ``jax_enable_x64``).

    Examples:
      >>> import warnings
      >>> import numpy as np
      >>> import lucid_fx
      >>> with warnings.catch_warnings(record=True) as caught:
      ...     warnings.simplefilter("always")
      ...     t = lucid_fx.Tensor(np.array([0.5]))
      >>> t.dtype, caught[0].category.__name__
      (dtype('float32'), 'Float64Warning')
    """


_IS_FLOAT: dict[Any, bool] = {}


def is_float(dtype: Any) -> bool:
    """True for floating dtypes (bfloat16 included); cached per dtype, since
    ``jnp.issubdtype`` costs about a microsecond on the eager hot path."""
    known = _IS_FLOAT.get(dtype)
    if known is None:
        known = _IS_FLOAT[dtype] = bool(jnp.issubdtype(dtype, jnp.floating))
    return known


def is_inexact(dtype: Any) -> bool:
    """True for floating or complex dtypes (``jnp.inexact``), through the
    cached :func:`is_float` (bfloat16's NumPy kind is ``"V"``, not ``"f"``).

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx._tensor._convert import is_inexact
      >>> is_inexact(jnp.dtype(jnp.bfloat16)), is_inexact(jnp.dtype("int32"))
      (True, False)
    """
    return is_float(dtype) or np.dtype(dtype).kind == "c"


def _x64() -> bool:
    return bool(jax.config.read("jax_enable_x64"))


def _describe_type(value: Any) -> str:
    kind = type(value)
    module = kind.__module__
    return (
        kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"
    )


def is_torch(value: Any) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "numpy")


def from_torch(value: Any) -> np.ndarray:
    """A CPU PyTorch tensor as a NumPy array sharing its memory (no copy)."""
    if value.device.type != "cpu":
        raise TypeError(_MSG_TORCH_DEVICE.format(device=str(value.device)))
    value = value.detach()
    if str(value.dtype) == "torch.bfloat16":  # NumPy has no bfloat16: exact widen
        return value.float().numpy().astype(jnp.bfloat16)
    return value.resolve_conj().resolve_neg().numpy()


def _show(value: Any) -> str:
    """A value for a message: huge integers abbreviated."""
    text = str(value)
    return text if len(text) <= 24 else f"{text[:12]}...({len(text)} digits)"


def _check_range(host: np.ndarray, dtype: Any) -> None:
    """OverflowError when integer values do not fit ``dtype`` (an int dtype)."""
    info = np.iinfo(dtype)
    if host.size == 0:
        return
    if host.dtype == object:
        values = [int(v) for v in host.flat]
        lo, hi = min(values), max(values)
    else:
        lo, hi = host.min().item(), host.max().item()
    for value in (lo, hi):
        if not info.min <= value <= info.max:
            hint = "" if _x64() else " or enable jax_enable_x64 for int64"
            raise OverflowError(
                _MSG_OVERFLOW.format(
                    value=value,
                    dtype=np.dtype(dtype),
                    lo=info.min,
                    hi=info.max,
                    hint=hint,
                )
            )


def _python_host(data: Any) -> np.ndarray:
    """Python numbers / nested lists as a NumPy array, rejecting non-numbers."""
    try:
        host = np.asarray(data)
    except ValueError as err:
        raise ValueError(_MSG_RAGGED.format(detail=err)) from None
    except OverflowError:  # mixed huge ints: let the object path report it
        host = np.asarray(data, dtype=object)
    if host.dtype == object:
        if not all(
            isinstance(v, int | float | np.integer | np.floating) for v in host.flat
        ):
            raise TypeError(_MSG_NON_NUMERIC.format(kind=_describe(data, host)))
    elif host.dtype.kind not in "biuf":
        raise TypeError(_MSG_NON_NUMERIC.format(kind=_describe(data, host)))
    return host


def _huge_int_to_float(host: np.ndarray, dtype: Any) -> np.ndarray:
    """Python ints beyond int64 (an object array) as float64, or OverflowError
    when one does not fit ``dtype`` (Python compares int and float exactly)."""
    limit = float(jnp.finfo(dtype).max)
    for v in host.flat:
        if isinstance(v, int) and abs(v) > limit:
            raise OverflowError(
                _MSG_OVERFLOW.format(
                    value=_show(v), dtype=np.dtype(dtype), lo=-limit, hi=limit, hint=""
                )
            )
    return host.astype(np.float64)


def _target(host: np.ndarray, dtype: Any, python_data: bool) -> Any:
    """The dtype to store ``host`` as, before 64-bit canonicalisation."""
    if dtype is not None:
        return np.dtype(dtype)
    if python_data and host.dtype.kind != "b":
        return np.dtype(np.float32)  # lucid's default for Python numbers
    if host.dtype == object:
        return np.dtype(np.float32)
    return host.dtype


def _canonical(target: Any) -> Any:
    """``target`` as JAX will store it (64-bit types need jax_enable_x64)."""
    if _x64() or target.itemsize < 8:
        return target
    if target.kind == "f":
        warnings.warn(_MSG_FLOAT64, Float64Warning, stacklevel=4)
        return np.dtype(np.float32)
    if target.kind == "i":
        return np.dtype(np.int32)
    if target.kind == "u":
        return np.dtype(np.uint32)
    return target


def snapshot(host: Any, dtype: DTypeLike | None = None) -> jax.Array:
    """A JAX array of the values ``host`` (a NumPy array) holds now.

    On the CPU, JAX copies NumPy memory to its buffer asynchronously, when the
    device gets to it, or aliases it outright (jax-ml/jax#37830; the same for
    ``jnp.array(copy=True)`` and ``device_put(may_alias=False)``). A change
    to the source after the call (a reused batch buffer, a PyTorch model
    trained on after its ``state_dict()`` was loaded) may then reach the
    array, depending on timing. A private host copy, which nothing else can
    write, closes that window; it costs one ``memcpy``, as ``torch.tensor``
    does. ``dtype``, if given, is cast on the host in the same copy.

    Examples:
      >>> import numpy as np
      >>> from lucid_fx._tensor._convert import snapshot
      >>> batch = np.zeros(3, np.float32)
      >>> x = snapshot(batch)
      >>> batch[:] = 7.0  # refilled for the next step
      >>> x.tolist()
      [0.0, 0.0, 0.0]
    """
    return jnp.asarray(np.array(host, dtype=dtype, copy=True))


def to_array(data: Any, dtype: DTypeLike | None) -> jax.Array:
    """A JAX array from an array, a number or nested lists (rules above)."""
    if isinstance(data, jax.Array):
        if dtype is None or data.dtype == dtype:
            return data
        target = _canonical(np.dtype(dtype))
        if jnp.issubdtype(target, jnp.integer) and not jnp.issubdtype(
            data.dtype, jnp.floating
        ):
            if not isinstance(data, jax.core.Tracer):
                _check_range(np.asarray(data), target)
        return data.astype(target)
    python_data = not isinstance(data, np.ndarray | np.generic)
    if python_data and is_torch(data):
        data, python_data = from_torch(data), False
    if python_data and hasattr(data, "__jax_array__"):
        return to_array(data.__jax_array__(), dtype)
    if python_data and isinstance(data, str | bytes) or data is None:
        raise TypeError(
            _MSG_NON_NUMERIC.format(kind=f"{_describe_type(data)} {data!r}"[:120])
        )
    host = _python_host(data) if python_data else np.asarray(data)
    if not python_data and host.dtype.kind not in "biuf" and host.dtype != jnp.bfloat16:
        raise TypeError(_MSG_NON_NUMERIC.format(kind=_describe(data, host)))
    target = _canonical(_target(host, dtype, python_data))
    if jnp.issubdtype(target, jnp.integer) and host.dtype.kind in "iuO":
        _check_range(host, target)
    elif host.dtype == object:
        host = _huge_int_to_float(host, target)
    if host.dtype != target:
        if python_data and target.kind == "f":
            with np.errstate(over="ignore"):  # 1e39 -> inf, as in PyTorch
                host = host.astype(target)
        else:
            host = host.astype(target)
    elif type(data) not in _BUILT:  # may be the caller's memory: a snapshot
        return snapshot(host)
    # Cast on the host first: jnp.asarray(host, dtype=...) is ~2x slower.
    return jnp.asarray(host)


# Data that ``np.asarray`` always copies into a new array nobody else holds.
_BUILT = frozenset({list, tuple, int, float, bool})


def operand(value: Any, like: Any, op: str) -> Any:
    """A binary operator's other operand in a form the lifted op accepts.

    Lists become arrays (of ``like``'s dtype when their numbers fit its kind,
    as Python scalars do); PyTorch tensors become arrays; anything that is not
    numeric raises ``TypeError`` naming its type.
    """
    if isinstance(value, np.ndarray | np.generic):
        if value.dtype.kind not in "biuf" and value.dtype != jnp.bfloat16:
            raise TypeError(_MSG_OPERAND.format(op=op, kind=_describe_type(value)))
        return value
    if is_torch(value):
        return to_array(value, None)
    if isinstance(value, list | tuple):
        try:
            host = _python_host(value)
        except TypeError:
            kind = _describe(value, np.asarray(value, dtype=object))
            raise TypeError(_MSG_OPERAND.format(op=op, kind=kind)) from None
        kind = np.dtype(like.dtype).kind if hasattr(like, "dtype") else "f"
        if (
            host.dtype.kind in "biu"
            and kind in "iuf"
            or (host.dtype.kind == "f" and kind == "f")
        ):
            return to_array(host if host.dtype != object else value, like.dtype)
        return to_array(value, None)
    if isinstance(value, jax.Array) or hasattr(value, "__jax_array__"):
        return value  # a JAX array, or a tracer (a module run on arrays)
    raise TypeError(
        _MSG_OPERAND.format(op=op, kind=f"{_describe_type(value)} ({value!r:.40})")
    )


def _describe(data: Any, host: np.ndarray) -> str:
    if host.ndim == 0 and host.dtype == object:
        return f"an object of type {_describe_type(data)}"
    if host.dtype == object:
        odd = next(
            (v for v in host.flat if not isinstance(v, int | float | np.number)), None
        )
        return f"{_describe_type(data)} holding {_describe_type(odd)} values"
    names = {"U": "str", "S": "bytes"}
    if host.dtype.kind in names:
        return f"{_describe_type(data)} holding {names[host.dtype.kind]} values"
    return f"{type(data).__name__} of dtype {host.dtype}"
