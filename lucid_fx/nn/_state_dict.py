"""Validation of a state dict against a module's parameters, before any write.

Every problem is collected and reported in one error; nothing is changed unless
everything checks out.
"""

from __future__ import annotations

import copy
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


class ConfigPlan(NamedTuple):
    """What :func:`plan_configs` found: the new ``__dict__`` entries of each
    module whose configs change, and the problems (type problems apart)."""

    commits: list[tuple[Any, dict[str, Any]]]
    problems: list[str]
    type_problems: list[str]


def _same(a: Any, b: Any) -> bool:
    """Config equality: a bool equals only a bool; arrays compare by value."""
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    try:
        return bool(np.array_equal(a, b))
    except (TypeError, ValueError):
        return False


def _disagreement(name: str, value: Any, current: Any, override: bool) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return f"config {name!r} is not finite: {value!r}"
    if override:
        return None
    return (
        f"config {name!r} is {value!r} in the state dict but {current!r} in the "
        f"module (pass override_configs=True to take the state dict's)"
    )


def _try_configs(
    module: Any, fields: dict[str, tuple[str, Any]], plan: ConfigPlan
) -> None:
    """Assign ``fields`` (field -> (dotted name, value)) to a shallow copy of
    ``module``, so its own setters check each value and the module is untouched;
    record the copy's ``__dict__`` if every value passed."""
    probe = copy.copy(module)
    failed = False
    for field, (name, value) in fields.items():
        try:
            setattr(probe, field, value)
        except (TypeError, ValueError) as err:
            failed = True
            listing = (
                plan.type_problems if isinstance(err, TypeError) else plan.problems
            )
            listing.append(f"config {name!r} = {value!r} is not accepted: {err}")
    if not failed:
        plan.commits.append((module, dict(vars(probe))))


def plan_configs(
    modules: Mapping[str, Any], file_configs: Any, override: bool
) -> ConfigPlan:
    """Check the state dict's configs against ``modules`` (``named_modules()``).

    Without ``override`` a config that differs from the module's is a problem;
    with it the value is tried on a copy of its module, so a value the module
    refuses is a problem too, and nothing is assigned here.
    """
    plan = ConfigPlan([], [], [])
    if not isinstance(file_configs, Mapping):
        plan.type_problems.append(
            f"state_dict.configs must map config names to values, got "
            f"{_type_name(file_configs)}"
        )
        return plan
    owners = {
        f"{path}.{field}" if path else field: (path, field)
        for path, module in modules.items()
        for field in module._config_fields
    }
    changes: dict[str, dict[str, tuple[str, Any]]] = {}
    for name, value in file_configs.items():
        if name not in owners:
            plan.problems.append(f"config {name!r} in the state dict has no module")
            continue
        path, field = owners[name]
        current = getattr(modules[path], field)
        if _same(value, current):
            continue
        problem = _disagreement(name, value, current, override)
        if problem:
            plan.problems.append(problem)
        else:
            changes.setdefault(path, {})[field] = (name, value)
    for path, fields in changes.items():
        _try_configs(modules[path], fields, plan)
    return plan


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
    configs: ConfigPlan | None = None,
) -> tuple[dict[str, jax.Array], IncompatibleKeys]:
    """Check ``state_dict`` against ``current``; return the arrays to write.

    Raises:
      TypeError: a value is not an array or has a non-floating dtype, or a
        config value has a type its module refuses (the message also lists
        every other problem found).
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
    type_problems: list[str] = list(configs.type_problems if configs else [])
    problems: list[str] = list(configs.problems if configs else [])
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
