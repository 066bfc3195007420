"""Validation of a state dict against a module's parameters, before any write.

Every problem is collected and reported in one error; nothing is changed unless
everything checks out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx._tensor import Tensor
from lucid_fx._tensor._convert import from_torch, is_torch, snapshot


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` skipped, as in PyTorch.

    Examples:
      >>> import numpy as np
      >>> import lucid_fx.nn as nn
      >>> nn.Linear(2, 1).load_state_dict({"bias": np.zeros(1)}, strict=False)
      IncompatibleKeys(missing_keys=['weight'], unexpected_keys=[])
    """

    missing_keys: list[str]
    unexpected_keys: list[str]


def _as_array(value: Any) -> jax.Array | np.ndarray | None:
    """The array in a state-dict value: a Tensor, a JAX, NumPy or PyTorch (CPU)
    array, so a PyTorch ``state_dict()`` loads directly; else ``None``."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, jax.Array | np.ndarray | np.generic):
        return value
    if is_torch(value):
        return from_torch(value)  # TypeError for a tensor not on the CPU
    return None


def _type_name(value: Any) -> str:
    kind = type(value)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


def _dtype_kind_ok(source: Any, target: Any) -> bool:
    """Floating loads into floating, integer into integer (any width: PyTorch's
    int64 ``num_batches_tracked`` loads into our int32 buffer)."""
    return any(
        jnp.issubdtype(source, kind) and jnp.issubdtype(target, kind)
        for kind in (jnp.floating, jnp.integer)
    )


def plan_configs(
    module_configs: Mapping[str, Any], file_configs: Mapping[str, Any], override: bool
) -> tuple[dict[str, float], list[str]]:
    """Configs to set (when overriding) and disagreements (when not)."""
    updates: dict[str, float] = {}
    problems: list[str] = []
    for name, value in file_configs.items():
        if name not in module_configs:
            problems.append(f"config {name!r} in the state dict has no module")
        elif not math.isfinite(value):
            problems.append(f"config {name!r} is not finite: {value!r}")
        elif value != module_configs[name]:
            if override:
                updates[name] = value
            else:
                problems.append(
                    f"config {name!r} is {value!r} in the state dict but "
                    f"{module_configs[name]!r} in the module (pass "
                    f"override_configs=True to take the state dict's)"
                )
    return updates, problems


def _overflows(value: Any, dtype: Any) -> bool:
    """Whether integer ``value`` has an element ``dtype`` cannot hold."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "iu" or np.dtype(value.dtype).kind not in "iu":
        return False
    values = np.asarray(value)
    if values.size == 0:
        return False
    info = np.iinfo(dtype)
    return bool(values.min() < info.min or values.max() > info.max)


def plan_load(
    current: Mapping[str, Tensor],
    state_dict: Mapping[str, Any],
    strict: bool,
    config_problems: list[str] | None = None,
) -> tuple[dict[str, jax.Array], IncompatibleKeys]:
    """Check ``state_dict`` against ``current``; return the arrays to write.

    Raises:
      TypeError: a value is not an array or has a non-floating dtype (the
        message also lists every other problem found).
      ValueError: missing or unexpected keys (when ``strict``) or shape
        mismatches.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"load_state_dict: state_dict must be a mapping of names to arrays, "
            f"got {type(state_dict).__name__}."
        )
    missing = [k for k in current if k not in state_dict]
    unexpected = [k for k in state_dict if k not in current]
    type_problems: list[str] = []
    problems: list[str] = list(config_problems or [])
    if strict:
        problems += [f"missing key {k!r}" for k in missing]
        problems += [f"unexpected key {k!r}" for k in unexpected]
    updates: dict[str, jax.Array] = {}
    for name, param in current.items():
        if name not in state_dict:
            continue
        try:
            value = _as_array(state_dict[name])
        except TypeError as err:
            type_problems.append(f"{name!r}: {err}")
            continue
        if value is None:
            type_problems.append(
                f"{name!r}: expected a Tensor, a NumPy, JAX or PyTorch (CPU) "
                f"array, got {_type_name(state_dict[name])}"
            )
            continue
        if tuple(value.shape) != param.shape:
            problems.append(
                f"{name!r}: shape {tuple(value.shape)} in the state dict, "
                f"{param.shape} in the module"
            )
        if not _dtype_kind_ok(value.dtype, param.dtype):
            type_problems.append(
                f"{name!r}: dtype {value.dtype} cannot load into a {param.dtype} "
                f"parameter (only floating values load into floating parameters)"
            )
        elif _overflows(value, param.dtype):
            # PyTorch's int64 num_batches_tracked loads into an int32 buffer
            # (x64 off): a count past int32 would wrap around silently.
            problems.append(
                f"{name!r}: a value outside the range of the module's "
                f"{param.dtype} (enable jax_enable_x64 for int64)"
            )
        updates[name] = value
    if type_problems or problems:
        error = TypeError if type_problems else ValueError
        listing = "\n  ".join(type_problems + problems)
        raise error(
            f"load_state_dict: {len(type_problems) + len(problems)} problem(s); "
            f"the module was not changed:\n  {listing}"
        )
    # Copies, placed like each parameter: the module must own its buffers (a
    # compiled training step donates them) and keep its device and sharding.
    # Host memory is copied now (snapshot): a PyTorch model trained on after
    # its state_dict() was loaded must not reach ours.
    arrays = {
        name: jax.device_put(
            jnp.array(value, dtype=current[name].dtype, copy=True)
            if isinstance(value, jax.Array)
            else snapshot(value, current[name].dtype),
            current[name].data.sharding,
        )
        for name, value in updates.items()
    }
    return arrays, IncompatibleKeys(missing, unexpected)
