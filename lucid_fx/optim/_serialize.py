"""State dicts with Python values (optimizers, schedulers) as safetensors entries.

safetensors holds flat ``name -> array`` plus ``str -> str`` metadata. An
optimizer's or a scheduler's state dict also holds ints, floats, tuples and
dicts with int keys; those travel as one JSON document in the metadata, with
each array replaced by the name of its entry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np

_ARRAY, _DICT, _TUPLE = "__array__", "__dict__", "__tuple__"
_SHAPE = "__shape__"
LAYOUT = "__layout__"


def flatten_state_dict(
    state_dict: Mapping[str, Any], prefix: str = "optim."
) -> tuple[dict[str, Any], dict[str, str]]:
    """Split a state dict into arrays and metadata for :func:`lucid_fx.save`.

    Arrays are named ``prefix`` + their dotted path (``optim.state.0.exp_avg``);
    everything else (with dict keys of any type, tuples, ``inf``) goes into
    one JSON string under ``prefix + "__layout__"``. Merge the results of
    several calls (model, optimizer, scheduler) to save one file.

    Args:
      state_dict: an optimizer's or a scheduler's ``state_dict()``.
      prefix: the name prefix, unique per object in one file. Default
        ``"optim."``.

    Returns:
      ``(arrays, metadata)``.

    Raises:
      TypeError: if a value is not an array, number, string, bool, ``None``,
        list, tuple or dict.

    Examples:
      >>> import numpy as np
      >>> from lucid_fx import optim
      >>> arrays, meta = optim.flatten_state_dict(
      ...     {"state": {0: {"step": np.float32(2)}}, "lr": 0.5}, prefix="opt.")
      >>> list(arrays), list(meta)
      (['opt.state.0.step'], ['opt.__layout__'])
      >>> sd = optim.unflatten_state_dict(arrays, meta, prefix="opt.")
      >>> sd["state"][0]["step"].shape, sd["lr"]
      ((), 0.5)
    """
    arrays: dict[str, Any] = {}

    def encode(value: Any, path: str) -> Any:
        if isinstance(value, jax.Array | np.ndarray | np.generic):
            arrays[prefix + path] = value
            # lucid_fx.save stores a 0-d array as shape (1,) (np.ascontiguousarray
            # makes it 1-d); keep the shape here to restore it.
            return {_ARRAY: prefix + path, _SHAPE: list(np.shape(value))}
        if isinstance(value, Mapping):
            return {
                _DICT: [
                    [k, encode(v, f"{path}.{k}".lstrip("."))] for k, v in value.items()
                ]
            }
        if isinstance(value, tuple):
            return {_TUPLE: [encode(v, f"{path}.{i}") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [encode(v, f"{path}.{i}") for i, v in enumerate(value)]
        if value is None or isinstance(value, bool | int | float | str):
            return value
        raise TypeError(
            f"flatten_state_dict: {path!r} is a {type(value).__name__}, which a "
            f"checkpoint cannot hold; state dicts hold arrays, numbers, strings, "
            f"lists, tuples and dicts."
        )

    layout = json.dumps(encode(state_dict, ""))
    return arrays, {prefix + LAYOUT: layout}


def unflatten_state_dict(
    arrays: Mapping[str, Any], metadata: Mapping[str, str], prefix: str = "optim."
) -> dict[str, Any]:
    """Rebuild a state dict saved with :func:`flatten_state_dict`.

    Args:
      arrays: the loaded file (e.g. ``lucid_fx.load(path)``), other entries
        ignored.
      metadata: its metadata (``lucid_fx.load(path).metadata``).
      prefix: the prefix it was saved with. Default ``"optim."``.

    Returns:
      The state dict, ready for ``load_state_dict``.

    Raises:
      ValueError: if the metadata has no layout for ``prefix`` or an array it
        names is missing.

    Examples:
      >>> from lucid_fx import optim
      >>> arrays, meta = optim.flatten_state_dict({"best": float("inf")}, "s.")
      >>> optim.unflatten_state_dict(arrays, meta, "s.")
      {'best': inf}
    """
    if prefix + LAYOUT not in metadata:
        raise ValueError(
            f"unflatten_state_dict: the metadata has no {prefix + LAYOUT!r}; was "
            f"this state saved with flatten_state_dict(..., prefix={prefix!r})?"
        )

    def decode(value: Any) -> Any:
        if isinstance(value, list):
            return [decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        if _ARRAY in value:
            if value[_ARRAY] not in arrays:
                raise ValueError(
                    f"unflatten_state_dict: the array {value[_ARRAY]!r} is missing."
                )
            return np.reshape(arrays[value[_ARRAY]], value[_SHAPE])
        if _TUPLE in value:
            return tuple(decode(v) for v in value[_TUPLE])
        return {k: decode(v) for k, v in value[_DICT]}

    return decode(json.loads(metadata[prefix + LAYOUT]))
